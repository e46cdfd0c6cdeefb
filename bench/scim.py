"""Benchmark the SCIM directory against scim2-server on loopback: 5,000 people, 10 organizations,
in both request profiles.

    .venv/bin/python -m bench.scim [--people N] [--organizations N]

Each phase runs what users run: the real planner (`reconciler.plan.plan`) against the
directory's read, and for applies `reconciler.apply.apply` with a throwaway SQLite record
(journal and managed ids included) and a `ScimDirectory`. Each first apply gets its own
empty tenant of one scim2-server process; requests are counted by the directory itself
(every request sent, retries included) and time by the wall clock:
  profile okta (Insomnia's): first apply (at most 8 in flight), no-op plan, and its floor:
  listing every page of users and groups with plain httpx as Okta does (count=100);
  profile rfc7644: first apply with Bulk, and without (8 in flight), no-op plan, and its
  floor (the announced page size, `attributes=`);
  baseline: the first plan's changes, one request each, sequentially, with plain httpx
  (what a naive sync does);
  the okta first apply and the baseline again through a proxy adding a round-trip time
  (`--rtt-ms`, default 20): Insomnia is remote, and on loopback the server's own CPU, not
  the network, is what requests in flight wait for;
  plan + apply after 1% of the spec changed, profile okta.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import spec_text, timed
from bench.latency import delayed
from bench.reconcile import outputs_for
from reconciler.apply import ApplyResult, apply, read_actual
from reconciler.directory.scim import ScimDirectory
from reconciler.directory.scim_read import GROUP_ATTRIBUTES, USER_ATTRIBUTES
from reconciler.directory.scim_types import OKTA_PAGE, Profile
from reconciler.directory.transport import Bounds
from reconciler.outputs import OktaOutputs
from reconciler.plan import Kind, PlanChange, plan
from reconciler.spec import Enterprise, load_text
from reconciler.stores import open_store
from reconciler.stores.base import utcnow

TOKEN = "bench-token-not-secret"
ACTOR = "bench@localhost pid 0"
BOUNDS = Bounds(request_seconds=300.0)


@contextmanager
def scim2_server() -> Iterator[str]:
    """A scim2-server process on a free loopback port; yields its root URL."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = str(Path(sys.executable).with_name("scim2-server"))
    args = [command, "--port", str(port), "--bearer-token", TOKEN, "--dynamic-tenants"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{root}/ServiceProviderConfig", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield root
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def tenant(root: str) -> str:
    return f"{root}/b{uuid.uuid4().hex[:10]}"


def naive_apply(url: str, changes: Sequence[PlanChange]) -> int:
    """The baseline: one request per change, one after the other."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    ids: dict[str, str] = {}
    sent = 0
    with httpx.Client(base_url=url + "/", headers=headers, timeout=120) as client:
        for c in changes:
            sent += 1
            if c.kind is Kind.USER:
                body = {
                    "userName": c.key,
                    "externalId": (c.after or {})["externalId"],
                    "active": True,
                    "emails": [{"value": c.key, "type": "work", "primary": True}],
                }
                ids[c.key] = client.post("Users", json=body).json()["id"]
            elif c.kind is Kind.TEAM:
                ids[c.key] = client.post("Groups", json={"displayName": c.key}).json()["id"]
            else:
                team, _, email = c.key.partition("/")
                patch = {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": ids[email]}]}
                    ],
                }
                client.patch(f"Groups/{ids[team]}", json=patch)
    return sent


def listing_floor(url: str, page: int, *, attributes: bool) -> int:
    """Every page of users and groups with plain httpx: what any read must at least cost."""
    sent = 0
    with httpx.Client(base_url=url + "/", headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        for path, attrs in (("Users", USER_ATTRIBUTES), ("Groups", GROUP_ATTRIBUTES)):
            start = 1
            while True:
                sent += 1
                params: dict[str, str | int] = {"startIndex": start, "count": page}
                if attributes:
                    params["attributes"] = attrs
                body = c.get(path, params=params).json()
                start += len(body["Resources"])
                if not body["Resources"] or start > body["totalResults"]:
                    break
    return sent


def directory(url: str, profile: Profile, *, use_bulk: bool = True) -> ScimDirectory:
    return ScimDirectory(url, TOKEN, profile=profile, bounds=BOUNDS, use_bulk=use_bulk)


def apply_to(
    url: str,
    record: Path,
    enterprise: Enterprise,
    outputs: OktaOutputs,
    profile: Profile,
    *,
    use_bulk: bool = True,
) -> tuple[ApplyResult, int]:
    """`apply` into the SQLite record `record` and the tenant `url`: (result, requests)."""
    store = open_store(f"sqlite:///{record}", writes=True)
    try:
        with directory(url, profile, use_bulk=use_bulk) as d:
            result = apply(enterprise, outputs, store, actor=ACTOR, directory=d)
            assert not result.failed, result.failed[:3]
            return result, d.requests
    finally:
        store.close()


def noop_plan(
    url: str, record: Path, enterprise: Enterprise, outputs: OktaOutputs, profile: Profile
) -> int:
    """Read the record and the directory, plan, and find nothing to do; returns requests."""
    store = open_store(f"sqlite:///{record}", writes=True)
    try:
        with directory(url, profile) as d:
            actual = read_actual(store, d, enterprise.name, utcnow())
            result = plan(enterprise, outputs, actual)
            assert result.complete
            assert not result.changes, result.changes[:3]
            return d.requests
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--organizations", type=int, default=10)
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    args = parser.parse_args()
    spec = load_text(spec_text(args.people, args.organizations), "bench.yaml")
    changed_spec = load_text(spec_text(args.people, args.organizations, 0.01), "bench.yaml")
    outputs = outputs_for(spec)
    changed_outputs = outputs_for(changed_spec)  # as after `pulumi up`
    rows: dict[str, tuple[int, float]] = {}
    okta, rfc = Profile.OKTA, Profile.RFC7644
    with scim2_server() as root, tempfile.TemporaryDirectory(prefix="insomnia-sso-") as tmp:
        folder = Path(tmp)
        okta_url, okta_record = tenant(root), folder / "okta.db"
        (result, requests), seconds = timed(
            lambda: apply_to(okta_url, okta_record, spec, outputs, okta)
        )
        rows["okta: first apply (8 in flight)"] = requests, seconds
        first = result.plan.changes
        users = sum(1 for c in first if c.kind is Kind.USER)
        teams = sum(1 for c in first if c.kind is Kind.TEAM)
        print(
            f"{args.people} people, {args.organizations} organizations: {len(first)} changes "
            f"({users} users, {teams} teams)"
        )
        rows["okta: no-op plan (read record + directory, plan)"] = timed(
            lambda: noop_plan(okta_url, okta_record, spec, outputs, okta)
        )
        rows["okta: floor, list all pages (count=100)"] = timed(
            lambda: listing_floor(okta_url, OKTA_PAGE, attributes=False)
        )

        rfc_url, rfc_record = tenant(root), folder / "rfc.db"
        (_, requests), seconds = timed(lambda: apply_to(rfc_url, rfc_record, spec, outputs, rfc))
        rows["rfc7644: first apply, Bulk"] = requests, seconds
        (_, requests), seconds = timed(
            lambda: apply_to(
                tenant(root), folder / "no-bulk.db", spec, outputs, rfc, use_bulk=False
            )
        )
        rows["rfc7644: first apply, no Bulk (8 in flight)"] = requests, seconds
        rows["rfc7644: no-op plan"] = timed(
            lambda: noop_plan(rfc_url, rfc_record, spec, outputs, rfc)
        )
        with directory(rfc_url, rfc) as d:
            page = d.configure().page_size
        rows[f"rfc7644: floor, list all pages (count={page})"] = timed(
            lambda: listing_floor(rfc_url, page, attributes=True)
        )

        rows["baseline: 1 request/change, sequential"] = timed(
            lambda: naive_apply(tenant(root), first)
        )
        rtt = f"{args.rtt_ms:g} ms RTT"
        with delayed(root, args.rtt_ms / 1000) as remote:
            (_, requests), seconds = timed(
                lambda: apply_to(tenant(remote), folder / "remote.db", spec, outputs, okta)
            )
            rows[f"okta: first apply (8 in flight), {rtt}"] = requests, seconds
            rows[f"baseline: 1 request/change, sequential, {rtt}"] = timed(
                lambda: naive_apply(tenant(remote), first)
            )
        (result, requests), seconds = timed(
            lambda: apply_to(okta_url, okta_record, changed_spec, changed_outputs, okta)
        )
        count = len(result.plan.changes)
        rows[f"okta: plan + apply after 1% changed ({count} changes)"] = requests, seconds

    print(f"{'phase':52} {'requests':>9} {'seconds':>9}")
    for name, (requests, seconds) in rows.items():
        print(f"{name:52} {requests:>9} {seconds:>9.2f}")
    values = list(rows.values())
    okta_first, okta_noop, okta_floor = values[0], values[1], values[2]
    bulk, rfc_noop, rfc_floor, naive = values[3], values[5], values[6], values[7]
    remote_first, remote_naive = values[8], values[9]
    budget = math.ceil(users / OKTA_PAGE) + math.ceil(teams / OKTA_PAGE)
    checks = {
        f"okta no-op plan requests <= {budget}": okta_noop[0] <= budget,
        f"okta no-op plan <= 1.5x its floor ({okta_noop[1] / okta_floor[1]:.2f}x)": (
            okta_noop[1] <= 1.5 * okta_floor[1]
        ),
        f"okta first apply >= 3x faster than sequential, {args.rtt_ms:g} ms RTT "
        f"({remote_naive[1] / remote_first[1]:.1f}x; loopback {naive[1] / okta_first[1]:.1f}x)": (
            remote_first[1] * 3 <= remote_naive[1]
        ),
        f"rfc7644 no-op plan <= 1.5x its floor ({rfc_noop[1] / rfc_floor[1]:.2f}x)": (
            rfc_noop[1] <= 1.5 * rfc_floor[1]
        ),
        "rfc7644 Bulk apply >= 10x fewer requests": bulk[0] * 10 <= naive[0],
        f"rfc7644 Bulk apply >= 3x faster ({naive[1] / bulk[1]:.1f}x)": bulk[1] * 3 <= naive[1],
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
