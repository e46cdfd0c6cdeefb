"""Benchmark the Insomnia side at scale: 100,000 people across 50 organizations.

    .venv/bin/python -m bench.reconcile [--people N] [--organizations N] [--postgres URL]

The store is SQLite in a temporary folder, or with `--postgres URL` that PostgreSQL database:
two throwaway schemas are created in it (one timed, one for memory) and dropped afterwards.

Phases, each timed on its own (wall clock, `time.perf_counter`):
  (a) first apply into an empty store (read + plan + write + journal, under the lock);
  (b) a plan with nothing to do: load the spec + read the store + plan;
  (c) a plan after 1% of the spec changed (a third re-roled, a third removed, a third new).
The floor for (b) is the bare cost of loading the spec plus `store.read`, measured in the
same run; the ratio (b) / floor shows what planning adds on top of reading.

Memory is the tracemalloc peak of Python allocations (SQLite's or libpq's C heap is not counted),
taken in a second, untimed run of each phase, because tracing slows allocation down.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.common import spec_text, timed, traced_peak
from reconciler.apply import apply
from reconciler.outputs import OktaOutputs, parse_outputs
from reconciler.plan import plan
from reconciler.spec import Enterprise, load_file
from reconciler.stores.base import Store, utcnow
from reconciler.stores.postgres import PostgresStore
from reconciler.stores.sqlite import SqliteStore

TARGETS = {"first apply": 10.0, "no-op plan": 3.0}
MAX_RATIO = 1.5


def outputs_for(enterprise: Enterprise) -> OktaOutputs:
    """Okta outputs as `pulumi stack output --json --show-secrets` would give them."""
    text = json.dumps(
        {
            "client_id": "0oabench",
            "client_secret": "bench-secret-not-real",
            "issuer": "https://bench.okta.com/oauth2/ausbench",
            "app_id": "0oabench",
            "auth_server_id": "ausbench",
            "assigned_users": enterprise.assigned_logins(),
        }
    )
    return parse_outputs(text, "bench outputs", enterprise)


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A throwaway schema in the database `url` names; yields a URL that uses it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--organizations", type=int, default=50)
    parser.add_argument("--postgres", metavar="URL", help="bench PostgreSQL instead of SQLite")
    args = parser.parse_args()

    with ExitStack() as cleanup:
        folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="insomnia-sso-")))
        openers: list[Callable[[], Store]] = [
            lambda: SqliteStore(folder / "state.db"),
            lambda: SqliteStore(folder / "m.db"),
        ]
        if args.postgres:
            urls = [cleanup.enter_context(postgres_schema(args.postgres)) for _ in range(2)]
            openers = [lambda: PostgresStore(urls[0]), lambda: PostgresStore(urls[1])]
        spec_path = folder / "enterprise.yaml"
        spec_path.write_text(spec_text(args.people, args.organizations), encoding="utf-8")
        changed_path = folder / "changed.yaml"
        changed_path.write_text(
            spec_text(args.people, args.organizations, changed=0.01), encoding="utf-8"
        )
        enterprise, load_time = timed(lambda: load_file(spec_path))
        outputs = outputs_for(enterprise)
        rows: list[tuple[str, float, float]] = []

        def first_apply(opener: Callable[[], Store]) -> Any:
            store = opener()
            try:
                return apply(enterprise, outputs, store, actor="bench@localhost pid 0")
            finally:
                store.close()

        store = openers[0]()
        result, seconds = timed(lambda: first_apply(openers[0]))
        rows.append(("first apply", seconds, traced_peak(lambda: first_apply(openers[1]))))
        applied = result.applied

        def read() -> Any:
            return store.read(enterprise="bench", now=utcnow())

        def floor() -> Any:
            load_file(spec_path)
            return read()

        def noop_plan() -> Any:
            spec = load_file(spec_path)
            return plan(spec, outputs, read())

        changed_outputs = outputs_for(load_file(changed_path))  # as after `pulumi up`

        def changed_plan() -> Any:
            return plan(load_file(changed_path), changed_outputs, read())

        read()  # warm the connection and the OS page cache, as a second run would be
        floors = [timed(floor)[1] for _ in range(3)]
        noop = [timed(noop_plan) for _ in range(3)]
        assert all(not p.changes for p, _ in noop), "the no-op plan has changes"
        changed, changed_seconds = min((timed(changed_plan) for _ in range(3)), key=lambda r: r[1])
        rows.append(("no-op plan", min(s for _, s in noop), traced_peak(noop_plan)))
        rows.append(("floor: load + read", min(floors), traced_peak(floor)))
        rows.append(("1% changed plan", changed_seconds, traced_peak(changed_plan)))
        read_seconds = min(timed(read)[1] for _ in range(3))
        store.close()

    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.people:,} people in {args.organizations} organizations, {where} store")
    print(f"spec load: {load_time:.2f} s, store.read alone: {read_seconds:.2f} s")
    print(f"first apply wrote {applied:,} changes; the 1% plan has {len(changed.changes):,}")
    print(f"{'phase':<22}{'wall':>9}{'peak (tracemalloc)':>22}")
    for name, seconds, peak in rows:
        target = f"  (target < {TARGETS[name]:g} s)" if name in TARGETS else ""
        print(f"{name:<22}{seconds:>8.2f}s{peak:>18.0f} MiB{target}")
    ratio = rows[1][1] / rows[2][1]
    print(f"no-op plan / floor: {ratio:.2f}  (target < {MAX_RATIO})")
    met = rows[0][1] < TARGETS["first apply"] and rows[1][1] < TARGETS["no-op plan"]
    return 0 if met and ratio < MAX_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
