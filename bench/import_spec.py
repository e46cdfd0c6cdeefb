"""Benchmark `import` against scim2-server on loopback: 5,000 people in 10 organizations.

    .venv/bin/python -m bench.import_spec [--people N] [--organizations N] [--rounds N]

The directory is seeded by the real apply (profile rfc7644 with Bulk, the fastest way in),
then `import` reads it as the command does, in profile okta: one listing of users and teams
(`ScimDirectory.read`), the organizations (`from_directory`), the YAML (`document`) and the
check that it loads (`load_text`). Beside it, in the same run, the floor: listing every page
of users and groups once with plain httpx, as Okta's client pages (count=100). Rounds
alternate the two; each figure is the fastest of its rounds. Targets: no more requests than
the floor, and no more than 1.5x its wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import spec_text, timed
from bench.reconcile import outputs_for
from bench.scim import BOUNDS, TOKEN, apply_to, listing_floor, scim2_server, tenant
from reconciler.directory.scim import ScimDirectory
from reconciler.directory.scim_types import OKTA_PAGE, Profile
from reconciler.import_spec import document, from_directory
from reconciler.spec import load_text

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def import_once(url: str, enterprise: str) -> tuple[int, int, int]:
    """What `insomnia-sso import --scim URL --enterprise NAME` does, but for printing:
    (requests, organizations, people)."""
    with ScimDirectory(url, TOKEN, profile=Profile.OKTA, bounds=BOUNDS) as directory:
        state = directory.read(enterprise=enterprise)
        requests = directory.requests
    imported = from_directory(state)
    text = document(
        imported,
        base=None,
        name=enterprise,
        sources=[f"the SCIM directory {url} (profile okta)"],
        now=NOW,
    )
    # Placeholders stand where the SSO block goes: fill them as an owner would, then load.
    filled = (
        text.replace('"FILL IN: the domain identifier, one of the domains"', "bench.example.com")
        .replace('"FILL IN: the SSO URL Insomnia shows"', "https://sso.bench.example.com/cb")
        .replace('"FILL IN: your Okta org\'s URL (https://….okta.com)"', "https://bench.okta.com")
    )
    loaded = load_text(filled, "imported.yaml")
    return requests, len(loaded.spec.organizations), len(loaded.assigned_logins())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--organizations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    spec = load_text(spec_text(args.people, args.organizations), "bench.yaml")
    with scim2_server() as root, tempfile.TemporaryDirectory(prefix="insomnia-sso-") as tmp:
        url = tenant(root)
        _, seeded = timed(
            lambda: apply_to(url, Path(tmp) / "seed.db", spec, outputs_for(spec), Profile.RFC7644)
        )
        print(f"seeded {args.people} people in {args.organizations} organizations: {seeded:.1f} s")
        imports: list[float] = []
        floors: list[float] = []
        for _ in range(args.rounds):
            floor_requests, seconds = timed(lambda: listing_floor(url, OKTA_PAGE, attributes=False))
            floors.append(seconds)
            (requests, organizations, people), seconds = timed(lambda: import_once(url, "bench"))
            imports.append(seconds)
    assert (organizations, people) == (args.organizations, args.people), (organizations, people)
    floor, wall = min(floors), min(imports)
    print(f"{'phase':48} {'requests':>9} {'seconds':>9}")
    print(f"{'import (read, organizations, YAML, load)':48} {requests:>9} {wall:>9.2f}")
    print(f"{'floor: list every page once (count=100)':48} {floor_requests:>9} {floor:>9.2f}")
    checks = {
        f"import requests <= the floor's ({requests} <= {floor_requests})": (
            requests <= floor_requests
        ),
        f"import <= 1.5x the floor ({wall / floor:.2f}x)": wall <= 1.5 * floor,
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
