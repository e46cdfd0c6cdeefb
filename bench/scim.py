"""Benchmark the SCIM directory against scim2-server on loopback: 5,000 people, 10 organizations.

    .venv/bin/python -m bench.scim [--people N] [--organizations N]

Each phase runs on its own empty tenant of one scim2-server process, counted by the
directory itself (every request sent, retries included) and timed with the wall clock:
  first apply with Bulk; first apply without Bulk (at most 8 in flight);
  baseline: one request per change, sequentially, with plain httpx (what a naive sync does);
  no-op read, beside its floor: listing every page of users and groups with plain httpx;
  read + write after 1% of the spec changed.
The change lists come from the spec through `desired_changes` below, a stand-in for the
planner's SCIM changes: swap in `reconciler.plan` once it plans users, teams and members.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import spec_text, timed
from reconciler.directory.scim import GROUP_ATTRIBUTES, USER_ATTRIBUTES, ScimDirectory
from reconciler.plan import Action, Kind, PlanChange
from reconciler.spec import Enterprise, load_text
from reconciler.state import DirectoryState, team_external_id, team_name

TOKEN = "bench-token-not-secret"


def desired(enterprise: Enterprise) -> tuple[set[str], dict[str, set[str]], dict[str, str]]:
    """(emails, team → members, team → externalId) the spec asks for."""
    name = enterprise.metadata.name
    people: set[str] = set()
    teams: dict[str, set[str]] = {}
    ids: dict[str, str] = {}
    for org in enterprise.spec.organizations:
        for member in org.members:
            role = "admin" if member.role.value == "owner" else member.role.value
            team = team_name(org.name, role)
            email = str(member.email).lower()
            people.add(email)
            teams.setdefault(team, set()).add(email)
            ids[team] = team_external_id(name, org.name, role)
    return people, teams, ids


def desired_changes(enterprise: Enterprise, state: DirectoryState) -> list[PlanChange]:
    """Users, teams and memberships to go from `state` to the spec, in plan order."""
    people, teams, ids = desired(enterprise)
    changes: list[PlanChange] = []
    for email in sorted(people - set(state.users)):
        after = {"userName": email, "externalId": email, "active": True}
        changes.append(PlanChange(Action.CREATE, Kind.USER, email, None, after))
    for team in sorted(set(teams) - set(state.teams)):
        org, _, role = ids[team].rsplit(":", 2)
        after = {"displayName": team, "externalId": ids[team], "organization": org, "role": role}
        changes.append(PlanChange(Action.CREATE, Kind.TEAM, team, None, after))
    for team, members in sorted(teams.items()):
        have = state.teams[team].members if team in state.teams else frozenset()
        for email in sorted(members - have):
            attrs = {"team": team, "email": email}
            changes.append(
                PlanChange(Action.CREATE, Kind.TEAM_MEMBER, f"{team}/{email}", None, attrs)
            )
    for team, current in sorted(state.teams.items()):
        for email in sorted(current.members - teams.get(team, set())):
            attrs = {"team": team, "email": email}
            changes.append(
                PlanChange(Action.DELETE, Kind.TEAM_MEMBER, f"{team}/{email}", attrs, None)
            )
    for email in sorted(set(state.users) - people):
        if state.users[email].active:
            before = {"userName": email, "externalId": email, "active": True}
            changes.append(PlanChange(Action.DELETE, Kind.USER, email, before, None))
    return changes


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
                    "externalId": c.key,
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--organizations", type=int, default=10)
    args = parser.parse_args()
    spec = load_text(spec_text(args.people, args.organizations), "bench.yaml")
    changed_spec = load_text(spec_text(args.people, args.organizations, 0.01), "bench.yaml")
    rows: list[tuple[str, int, float]] = []
    with scim2_server() as root:
        empty = DirectoryState()
        first = desired_changes(spec, empty)
        print(f"{args.people} people, {args.organizations} organizations: {len(first)} changes")

        bulk_url = tenant(root)
        with ScimDirectory(bulk_url, TOKEN, timeout=300) as d:
            report, seconds = timed(lambda: d.write(enterprise="bench", changes=first))
            assert not report.failed, report.failed[:3]
            rows.append(("first apply, Bulk", d.requests, seconds))

        with ScimDirectory(tenant(root), TOKEN, timeout=300, use_bulk=False) as d:
            report, seconds = timed(lambda: d.write(enterprise="bench", changes=first))
            assert not report.failed, report.failed[:3]
            rows.append(("first apply, no Bulk (8 in flight)", d.requests, seconds))

        sent, seconds = timed(lambda: naive_apply(tenant(root), first))
        rows.append(("baseline: 1 request/change, sequential", sent, seconds))

        with ScimDirectory(bulk_url, TOKEN, timeout=300) as d:
            state, seconds = timed(lambda: d.read(enterprise="bench"))
            assert state.complete
            assert len(state.users) == len(desired(spec)[0])
            assert d.features is not None
            page = d.features.page_size
            rows.append(("no-op read", d.requests, seconds))
            left = desired_changes(spec, state)
            assert not left, left[:3]
        sent, seconds = timed(lambda: listing_floor(bulk_url, page))
        rows.append(("floor: list all pages, plain httpx", sent, seconds))

        with ScimDirectory(bulk_url, TOKEN, timeout=300) as d:

            def read_and_write() -> int:
                now = d.read(enterprise="bench")
                changes = desired_changes(changed_spec, now)
                assert not d.write(enterprise="bench", changes=changes).failed
                return len(changes)

            count, seconds = timed(read_and_write)
            rows.append((f"read + write, 1% changed ({count} changes)", d.requests, seconds))

    print(f"{'phase':48} {'requests':>9} {'seconds':>9}")
    for name, requests, seconds in rows:
        print(f"{name:48} {requests:>9} {seconds:>9.2f}")
    bulk, naive, read, floor = rows[0], rows[2], rows[3], rows[4]
    users = len(desired(spec)[0])
    teams = len(desired(spec)[1])
    budget = math.ceil(users / page) + math.ceil(teams / page) + 3
    checks = {
        f"no-op read requests <= {budget}": read[1] <= budget,
        "no-op read <= 1.5x the floor": read[2] <= 1.5 * floor[2],
        "Bulk apply >= 10x fewer requests": bulk[1] * 10 <= naive[1],
        "Bulk apply >= 3x faster": bulk[2] * 3 <= naive[2],
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
