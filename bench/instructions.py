"""Instructions the whole CLI process executes, this code against a baseline commit.

    .venv/bin/python -m bench.instructions [--people 20000] [--baseline COMMIT]
                                           [--growth 1000,10000,100000]

Wall time on a shared machine moves by a fifth or more between runs; the number of
instructions a process executes does not (valgrind's cachegrind, `--cache-sim=no`, with
PYTHONHASHSEED fixed). For this checkout and for BASELINE (checked out into a temporary
git worktree), each with its bytecode compiled first, it counts:
  - `insomnia-sso validate` of the 13-person example spec (start-up);
  - `insomnia-sso apply SPEC --yes` into an empty SQLite record: a first apply;
  - `insomnia-sso plan SPEC` once everyone has accepted: a no-op plan (the record is made
    by BASELINE's code, which both read);
  - `python -c pass`, the interpreter alone, as a yardstick.
and prints each count and this code's ratio to the baseline's. Then, for this code alone,
the no-op plan at each of the --growth sizes (1,000, 10,000 and 100,000 people): the
instructions per person added from one size to the next, and how that grows (what
bench/cli.py measures in wall time, where the small side is a few hundredths of a second).
No target: it says by how much a change made the work smaller, and whether the cost per
person stays flat, whatever the machine was doing. Needs valgrind.
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cli import outputs_file
from bench.common import ROOT, memberships, spec_text, worktree

EXAMPLE_SPEC = ROOT / "specs" / "enterprise.yaml"
BASELINE = "115462e"
"""The code before schema 4 and the multi-row inserts (the last landed before them)."""

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(tree: Path, *args: str) -> int:
    """Instructions of `python -m reconciler ARGS` run from `tree` (or `python ARGS` when
    the first is `-c`), under cachegrind; the command must succeed (exit 0 or 2)."""
    command = (
        [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", "reconciler", *args]
    )
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            *command,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),  # `-m` looks in the working directory first
        check=False,
    )
    found = _REFS.search(done.stderr)
    if done.returncode not in (0, 2) or found is None:
        raise SystemExit(
            f"{' '.join(args[:2])}… under valgrind: exit {done.returncode}: {done.stderr[-400:]}"
        )
    return int(found.group(1).replace(",", ""))


def run(tree: Path, *args: str) -> None:
    """`python -m reconciler ARGS` from `tree`, not counted."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),  # `-m` looks in the working directory first
        check=False,
    )
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args[:2])}… exited {done.returncode}: {done.stderr[-400:]}")


def measure(trees: dict[str, Path], people: int, folder: Path) -> dict[str, dict[str, int]]:
    spec = folder / "spec.yaml"
    spec.write_text(spec_text(people, max(1, people // 2000)))
    outputs = outputs_file(spec)
    okta = ["--okta-outputs", str(outputs)]
    counts: dict[str, dict[str, int]] = {name: {} for name in trees}
    for name, tree in trees.items():
        compileall.compile_dir(tree / "reconciler", quiet=1)
        record = f"sqlite:///{folder / f'{name}.db'}"
        found = counts[name]
        found["python -c pass"] = instructions(tree, "-c", "pass")
        found["validate (13 people)"] = instructions(tree, "validate", str(EXAMPLE_SPEC))
        found[f"first apply ({people:,})"] = instructions(
            tree, "apply", str(spec), "--store", record, *okta, "--yes"
        )
    # Everyone accepts in a record the baseline made: both read it (a later schema reads
    # an earlier one as it is).
    first = next(iter(trees.values()))
    record = f"sqlite:///{folder / f'{next(iter(trees))}.db'}"
    keys = folder / "keys.txt"
    keys.write_text("".join(f"{key}\n" for key in member_keys(spec)))
    run(
        first,
        "confirm",
        "acceptance",
        "--keys-from",
        str(keys),
        str(spec),
        "--store",
        record,
        *okta,
    )
    for name, tree in trees.items():
        counts[name][f"no-op plan ({people:,})"] = instructions(
            tree, "plan", str(spec), "--store", record, *okta
        )
    return counts


def noop_plan(tree: Path, people: int, folder: Path) -> int:
    """Instructions of this code's no-op plan of `people`: a first apply and everyone's
    acceptance made first, not counted."""
    spec = folder / f"growth-{people}.yaml"
    spec.write_text(spec_text(people, max(1, people // 2000)))
    common = ["--store", f"sqlite:///{folder / f'growth-{people}.db'}"]
    common += ["--okta-outputs", str(outputs_file(spec))]
    run(tree, "apply", str(spec), *common, "--yes")
    keys = folder / "keys.txt"
    keys.write_text("".join(f"{key}\n" for key in member_keys(spec)))
    run(tree, "confirm", "acceptance", "--keys-from", str(keys), str(spec), *common)
    return instructions(tree, "plan", str(spec), *common)


def growth(sizes: list[int], folder: Path) -> None:
    """The no-op plan's instructions at each size, per person added, and their growth."""
    counts = {people: noop_plan(ROOT, people, folder) for people in sizes}
    shown = "  ".join(f"{count:,} at {people:,}" for people, count in counts.items())
    print(f"  no-op plan, this code: {shown}")
    per_person = []
    for small, large in itertools.pairwise(sizes):
        per_person.append((counts[large] - counts[small]) / (large - small))
        print(f"    per person added from {small:,} to {large:,}: {per_person[-1]:,.0f}")
    for before, after in itertools.pairwise(per_person):
        print(f"    growth of the cost per added person: {after / before:.3f}x")


def member_keys(spec: Path) -> list[str]:
    """`organization/email` of every member of a bench spec."""
    return [f"{organization}/{email}" for organization, email in memberships(spec)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--growth", default="1000,10000,100000", help="sizes; empty: none")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instructions counted")
        return 1
    with tempfile.TemporaryDirectory() as tmp, worktree(args.baseline) as baseline:
        if baseline is None:
            print(f"git cannot check out {args.baseline}: no instructions counted")
            return 1
        counts = measure({"baseline": baseline, "now": ROOT}, args.people, Path(tmp))
    print(f"instructions (cachegrind), baseline {args.baseline}, Python {sys.version.split()[0]}")
    print(f"  {'command':<26} {'baseline':>16} {'now':>16} {'now ÷ baseline':>15}")
    for command, before in counts["baseline"].items():
        now = counts["now"][command]
        print(f"  {command:<26} {before:>16,} {now:>16,} {now / before:>14.3f}x")
    if args.growth:
        with tempfile.TemporaryDirectory() as tmp:
            growth([int(n) for n in args.growth.split(",")], Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
