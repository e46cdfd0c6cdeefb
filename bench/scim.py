"""Benchmark the SCIM directory against scim2-server on loopback: 5,000 people, 10 organizations.

    .venv/bin/python -m bench.scim [--people N] [--organizations N]

Each phase runs what users run: the real planner (`reconciler.plan.plan`) against the
directory's read, and for applies `reconciler.apply.apply` with a throwaway SQLite record
(journal and managed users included) and a `ScimDirectory`. Each first apply gets its own
empty tenant of one scim2-server process; requests are counted by the directory itself
(every request sent, retries included) and time by the wall clock:
  first apply with Bulk; first apply without Bulk (at most 8 in flight);
  baseline: the first plan's changes, one request each, sequentially, with plain httpx
  (what a naive sync does);
  no-op plan (read record + read directory + plan), beside its floor: listing every page
  of users and groups with plain httpx;
  plan + apply after 1% of the spec changed.
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
from bench.reconcile import outputs_for
from reconciler.apply import ApplyResult, apply, read_actual
from reconciler.directory.scim import GROUP_ATTRIBUTES, USER_ATTRIBUTES, ScimDirectory
from reconciler.outputs import OktaOutputs
from reconciler.plan import Kind, PlanChange, plan
from reconciler.spec import Enterprise, load_text
from reconciler.stores.base import utcnow
from reconciler.stores.record import SqlStore

TOKEN = "bench-token-not-secret"
ACTOR = "bench@localhost pid 0"
TIMEOUT = 300.0


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
                body = {"displayName": c.key, "externalId": (c.after or {})["externalId"]}
                ids[c.key] = client.post("Groups", json=body).json()["id"]
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


def listing_floor(url: str, page: int) -> int:
    """Every page of users and groups with plain httpx: what any read must at least cost."""
    sent = 0
    with httpx.Client(base_url=url + "/", headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        for path, attrs in (("Users", USER_ATTRIBUTES), ("Groups", GROUP_ATTRIBUTES)):
            start = 1
            while True:
                sent += 1
                body = c.get(
                    path, params={"startIndex": start, "count": page, "attributes": attrs}
                ).json()
                start += len(body["Resources"])
                if not body["Resources"] or start > body["totalResults"]:
                    break
    return sent


def apply_to(
    url: str, record: Path, enterprise: Enterprise, outputs: OktaOutputs, *, use_bulk: bool = True
) -> tuple[ApplyResult, int]:
    """`apply` into the SQLite record `record` and the tenant `url`: (result, requests)."""
    store = SqlStore.sqlite(record)
    try:
        with ScimDirectory(url, TOKEN, timeout=TIMEOUT, use_bulk=use_bulk) as d:
            result = apply(enterprise, outputs, store, actor=ACTOR, directory=d)
            assert not result.failed, result.failed[:3]
            return result, d.requests
    finally:
        store.close()


def noop_plan(url: str, record: Path, enterprise: Enterprise, outputs: OktaOutputs) -> int:
    """Read the record and the directory, plan, and find nothing to do; returns requests."""
    store = SqlStore.sqlite(record)
    try:
        with ScimDirectory(url, TOKEN, timeout=TIMEOUT) as d:
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
    args = parser.parse_args()
    spec = load_text(spec_text(args.people, args.organizations), "bench.yaml")
    changed_spec = load_text(spec_text(args.people, args.organizations, 0.01), "bench.yaml")
    outputs = outputs_for(spec)
    changed_outputs = outputs_for(changed_spec)  # as after `pulumi up`
    rows: list[tuple[str, int, float]] = []
    with scim2_server() as root, tempfile.TemporaryDirectory(prefix="insomnia-sso-") as tmp:
        folder = Path(tmp)
        record = folder / "bulk.db"  # the Bulk tenant's record, kept for the later phases
        bulk_url = tenant(root)
        (result, requests), seconds = timed(lambda: apply_to(bulk_url, record, spec, outputs))
        rows.append(("first apply, Bulk", requests, seconds))
        first = result.plan.changes
        users = sum(1 for c in first if c.kind is Kind.USER)
        teams = sum(1 for c in first if c.kind is Kind.TEAM)
        print(
            f"{args.people} people, {args.organizations} organizations: {len(first)} changes "
            f"({users} users, {teams} teams)"
        )

        (_, requests), seconds = timed(
            lambda: apply_to(tenant(root), folder / "no-bulk.db", spec, outputs, use_bulk=False)
        )
        rows.append(("first apply, no Bulk (8 in flight)", requests, seconds))

        sent, seconds = timed(lambda: naive_apply(tenant(root), first))
        rows.append(("baseline: 1 request/change, sequential", sent, seconds))

        requests, seconds = timed(lambda: noop_plan(bulk_url, record, spec, outputs))
        rows.append(("no-op plan (read record + directory, plan)", requests, seconds))
        with ScimDirectory(bulk_url, TOKEN, timeout=TIMEOUT) as d:
            d.read(enterprise=spec.name)  # learns the page size the read used
            assert d.features is not None
            page = d.features.page_size
        sent, seconds = timed(lambda: listing_floor(bulk_url, page))
        rows.append(("floor: list all pages, plain httpx", sent, seconds))

        (result, requests), seconds = timed(
            lambda: apply_to(bulk_url, record, changed_spec, changed_outputs)
        )
        count = len(result.plan.changes)
        rows.append((f"plan + apply after 1% changed ({count} changes)", requests, seconds))

    print(f"{'phase':48} {'requests':>9} {'seconds':>9}")
    for name, requests, seconds in rows:
        print(f"{name:48} {requests:>9} {seconds:>9.2f}")
    bulk, naive, noop, floor = rows[0], rows[2], rows[3], rows[4]
    budget = math.ceil(users / page) + math.ceil(teams / page) + 3
    checks = {
        f"no-op plan requests <= {budget}": noop[1] <= budget,
        "no-op plan <= 1.5x the floor": noop[2] <= 1.5 * floor[2],
        "Bulk apply >= 10x fewer requests": bulk[1] * 10 <= naive[1],
        "Bulk apply >= 3x faster": bulk[2] * 3 <= naive[2],
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
