"""Benchmark the Insomnia side at scale: 100,000 people across 50 organizations, this code
beside the hand-written stores it replaced, in one run.

    .venv/bin/python -m bench.reconcile [--people N] [--organizations N] [--postgres URL]

The record is SQLite in a temporary folder and, with `--postgres URL`, also that PostgreSQL
database (throwaway schemas, dropped afterwards). Each database is measured twice, each time
in a child process of its own: with this checkout's `reconciler`, and with the one of commit
BASELINE (the last with the hand-written SQLite and PostgreSQL stores), which this script
checks out into a temporary git worktree (this bench's own files copied beside it, so both
run the same measurement). Without git history the baseline is left out, and said so.

Phases, each timed on its own (wall clock, `time.perf_counter`), each in a process of its
own as the commands run them (this code's under its garbage-collection policy, the
baseline's with the collector on, as its CLI ran):
  (a) first apply into an empty record (read + plan + write + journal, under the lock);
  (b) a plan with nothing to do: load the spec + read the record + plan;
  (c) a plan after 1% of the spec changed (a third re-roled, a third removed, a third new).
(b), (c) and the floor are best of three runs in each of three rounds, the two versions'
rounds interleaved, so that a busy moment of the machine weighs on both alike.
The floor for (b) is the bare cost of loading the spec plus `store.read`, measured in the
same run; the ratio (b) / floor shows what planning adds on top of reading.

Targets for this code: first apply < 10 s; the no-op plan at most 10% slower than the
baseline's in the same run, and within 1.5x its own floor. Memory is the tracemalloc peak of
Python allocations (SQLite's or libpq's C heap is not counted), in a second, untimed run of
each phase, because tracing slows allocation down.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.common import ROOT, outputs_json, spec_text, timed, traced_peak, worktree
from reconciler.outputs import OktaOutputs, parse_outputs
from reconciler.spec import Enterprise

BASELINE = "00ef813"
"""The last commit whose record was the hand-written SQLite and PostgreSQL stores."""

FIRST_APPLY_TARGET = 10.0
MAX_SLOWDOWN = 1.10
MAX_RATIO = 1.5
PHASES = ("first apply", "no-op plan", "floor: load + read", "1% changed plan")


def outputs_for(enterprise: Enterprise) -> OktaOutputs:
    """Okta outputs as `pulumi stack output --json --show-secrets` would give them."""
    return parse_outputs(outputs_json(enterprise.assigned_logins()), "bench outputs", enterprise)


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


# -- one measurement, in a child process, with whichever `reconciler` is on its path --------


@contextmanager
def as_the_command_runs() -> Iterator[None]:
    """The garbage-collection policy the version's commands run under: this code's CLI
    pauses the cyclic collector for a command (`reconciler.gc_policy`); the baseline's ran
    with it on, and has no such module."""
    try:
        from reconciler import gc_policy
    except ImportError:
        yield
        return
    with gc_policy.command():
        yield


def measure_apply(folder: Path, urls: list[str]) -> dict[str, Any]:
    """Phase (a) on two empty records (`urls`: one timed, one for memory), as `apply` runs
    it: in a process of its own, under its version's collector policy. Uses only what both
    versions of the package have."""
    from reconciler.apply import apply
    from reconciler.spec import load_file
    from reconciler.stores import open_store

    enterprise = load_file(folder / "enterprise.yaml")
    outputs = outputs_for(enterprise)

    def first_apply(url: str) -> Any:
        store = open_store(url)
        try:
            return apply(enterprise, outputs, store, actor="bench@localhost pid 0")
        finally:
            store.close()

    with as_the_command_runs():
        result, seconds = timed(lambda: first_apply(urls[0]))
        peak = traced_peak(lambda: first_apply(urls[1]))
    return {"applied": result.applied, "phases": {"first apply": (seconds, peak)}}


def measure_plans(folder: Path, url: str, *, traced: bool) -> dict[str, Any]:
    """Phases (b), (c) and the floor on the record `url` holds, best of three each, as
    `plan` runs them: in a process of its own (one that never migrated anything), under its
    version's collector policy."""
    with as_the_command_runs():
        return _measure_plans(folder, url, traced=traced)


def _measure_plans(folder: Path, url: str, *, traced: bool) -> dict[str, Any]:
    from reconciler.plan import plan
    from reconciler.spec import load_file
    from reconciler.stores import open_store
    from reconciler.stores.base import utcnow

    spec_path, changed_path = folder / "enterprise.yaml", folder / "changed.yaml"
    enterprise, load_time = timed(lambda: load_file(spec_path))
    outputs = outputs_for(enterprise)
    changed_outputs = outputs_for(load_file(changed_path))  # as after `pulumi up`
    store = open_store(url)

    def read() -> Any:
        return store.read(enterprise="bench", now=utcnow())

    def floor() -> Any:
        load_file(spec_path)
        return read()

    def noop_plan() -> Any:
        return plan(load_file(spec_path), outputs, read())

    def changed_plan() -> Any:
        return plan(load_file(changed_path), changed_outputs, read())

    read()  # warm the connection and the OS page cache, as a second run would be
    floors = [timed(floor)[1] for _ in range(3)]
    noop = [timed(noop_plan) for _ in range(3)]
    assert all(not p.changes for p, _ in noop), "the no-op plan has changes"
    changed, changed_seconds = min((timed(changed_plan) for _ in range(3)), key=lambda r: r[1])
    read_seconds = min(timed(read)[1] for _ in range(3))

    def peak(func: Any) -> float:
        return traced_peak(func) if traced else 0.0

    figures = {
        "no-op plan": (min(s for _, s in noop), peak(noop_plan)),
        "floor: load + read": (min(floors), peak(floor)),
        "1% changed plan": (changed_seconds, peak(changed_plan)),
    }
    store.close()
    return {
        "spec load": load_time,
        "store.read": read_seconds,
        "changed": len(changed.changes),
        "phases": figures,
    }


def run_child(code: Path, *args: str) -> dict[str, Any]:
    """A `measure_*` in a child process whose `reconciler` is the one in `code`."""
    environment = dict(os.environ, PYTHONPATH=str(code))
    command = [sys.executable, "-m", "bench.reconcile", "--measure", *args]
    done = subprocess.run(
        command, cwd=code, env=environment, check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def measure(codes: dict[str, Path], folder: Path, urls: dict[str, list[str]]) -> dict[str, Any]:
    """Every phase for every version of the code; the plan phases in ROUNDS interleaved
    rounds (baseline, this code, baseline, …), best of them, so that a busy moment of the
    machine weighs on both alike."""
    runs: dict[str, dict[str, Any]] = {}
    for name, code in codes.items():
        runs[name] = run_child(code, "apply", str(folder), *urls[name])
    for round_ in range(ROUNDS):
        for name, code in codes.items():
            plans = run_child(code, "plans", str(folder), urls[name][0], str(round_ == 0))
            run = runs[name]
            for phase, (seconds, peak) in plans.pop("phases").items():
                before = run["phases"].get(phase, (seconds, peak))
                run["phases"][phase] = (min(seconds, before[0]), max(peak, before[1]))
            for key in ("spec load", "store.read"):
                plans[key] = min(plans[key], run.get(key, plans[key]))
            run.update(plans)
    return runs


ROUNDS = 3


@contextmanager
def baseline_checkout() -> Iterator[Path | None]:
    """A temporary git worktree at BASELINE with this bench beside its `reconciler`."""
    with worktree(BASELINE) as tree:
        if tree is not None:
            shutil.rmtree(tree / "bench")
            shutil.copytree(ROOT / "bench", tree / "bench", ignore=shutil.ignore_patterns("__py*"))
        yield tree


# -- the comparison --------------------------------------------------------------------------


def records(database: str, folder: Path, cleanup: ExitStack, postgres: str | None) -> list[str]:
    """Two fresh record URLs (timed, traced) for one run on `database`."""
    if database == "SQLite":
        tag = uuid.uuid4().hex[:8]
        return [f"sqlite:///{folder / f'{tag}-{n}.db'}" for n in ("timed", "traced")]
    assert postgres is not None
    return [cleanup.enter_context(postgres_schema(postgres)) for _ in range(2)]


def report(database: str, runs: dict[str, dict[str, Any]], people: int, orgs: int) -> bool:
    """Print one database's figures side by side; True when this code meets its targets."""
    new = runs["this code"]
    print(f"\n{people:,} people in {orgs} organizations, {database} record")
    print(
        f"spec load {new['spec load']:.2f} s; store.read alone: "
        + ", ".join(f"{name} {run['store.read']:.2f} s" for name, run in runs.items())
    )
    print(f"first apply wrote {new['applied']:,} changes; the 1% plan has {new['changed']:,}")
    labels = {"baseline": f"baseline ({BASELINE})"}
    header = "".join(f"{labels.get(name, name):>26}" for name in runs)
    print(f"{'phase':<22}{header}")
    for phase in PHASES:
        cells = "".join(
            f"{run['phases'][phase][0]:>9.2f} s {run['phases'][phase][1]:>8.0f} MiB   "
            for run in runs.values()
        )
        print(f"{phase:<22}{cells}")
    noop, floor = new["phases"]["no-op plan"][0], new["phases"]["floor: load + read"][0]
    apply_seconds = new["phases"]["first apply"][0]
    ratio = noop / floor
    met: bool = apply_seconds < FIRST_APPLY_TARGET and ratio < MAX_RATIO
    print(f"this code: no-op plan / floor {ratio:.2f} (target < {MAX_RATIO})")
    print(f"this code: first apply {apply_seconds:.2f} s (target < {FIRST_APPLY_TARGET:g} s)")
    if "baseline" in runs:
        before = runs["baseline"]["phases"]["no-op plan"][0]
        print(
            f"this code: no-op plan {noop:.2f} s vs the baseline's {before:.2f} s: "
            f"{noop / before:.2f}x (target <= {MAX_SLOWDOWN})"
        )
        met = met and noop <= before * MAX_SLOWDOWN
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--organizations", type=int, default=50)
    parser.add_argument("--postgres", metavar="URL", help="bench PostgreSQL too")
    parser.add_argument("--no-baseline", action="store_true", help="this code only")
    parser.add_argument("--measure", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a child: apply FOLDER URL URL, or plans FOLDER URL TRACED
        what, folder, *rest = args.measure
        if what == "apply":
            print(json.dumps(measure_apply(Path(folder), rest)))
        else:
            print(json.dumps(measure_plans(Path(folder), rest[0], traced=rest[1] == "True")))
        return 0

    met = True
    with ExitStack() as cleanup:
        folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="insomnia-sso-")))
        (folder / "enterprise.yaml").write_text(
            spec_text(args.people, args.organizations), encoding="utf-8"
        )
        (folder / "changed.yaml").write_text(
            spec_text(args.people, args.organizations, changed=0.01), encoding="utf-8"
        )
        codes: dict[str, Path] = {"this code": ROOT}
        if not args.no_baseline:
            baseline = cleanup.enter_context(baseline_checkout())
            if baseline is None:
                print(f"(no git history here: the baseline {BASELINE} is left out)")
            else:
                codes = {"baseline": baseline, **codes}
        databases = ["SQLite", *(["PostgreSQL"] if args.postgres else [])]
        for database in databases:
            urls = {name: records(database, folder, cleanup, args.postgres) for name in codes}
            runs = measure(codes, folder, urls)
            met = report(database, runs, args.people, args.organizations) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
