"""What a first apply is made of: each phase timed where the command calls it, in-process.

    .venv/bin/python -m bench.phases [--people 100000] [--runs 5]

Each run is a fresh process (`--child`) that imports the CLI, wraps the functions the
`apply` command calls for each phase with a timer, and runs `apply SPEC --yes` into an
empty SQLite record, as bench/cli.py times it from outside. It prints the median of each
phase over the runs, and each run's figure beside it:
  - imports: the CLI's modules, before the command starts;
  - load spec: yaml-rs, pydantic and the cross-checks;
  - read record, plan, print plan;
  - write: the ledger's transactions (invitations and journal rows);
  - recorded (replay): the writes replayed in memory for the to-do list;
  - to-do list after: the owner's steps the apply leaves;
  - the command: from its start to its end, all of the above and the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cli import Yardstick, outputs_path
from bench.common import ROOT

PHASES = (
    ("reconciler.cli.reconcile_cmds", None, "load_specs", "load spec"),
    ("reconciler.apply", None, "read_actual", "read record"),
    ("reconciler.apply", None, "plan", "plan"),
    ("reconciler.cli.apply_cmds", None, "emit_plan", "print plan"),
    ("reconciler.stores.record", "SqlStore", "write", "write"),
    ("reconciler.stores.record", "SqlStore", "recorded", "recorded (replay)"),
    ("reconciler.apply", None, "open_steps", "to-do list after"),
)
"""(module, class or None, function, phase): where the apply command calls each phase
from, so the timer wraps the name that call looks up."""


def wrap(owner: Any, name: str, spent: dict[str, float], phase: str) -> None:
    if not hasattr(owner, name):
        raise SystemExit(f"{owner!r} has no {name}: bench/phases.py's PHASES need updating")
    function: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[phase] += time.perf_counter() - start

    setattr(owner, name, timed)


def child(spec: str, outputs: str, record: str, answer: str) -> None:
    """One first apply in this process, its phases written to `answer` as JSON."""
    import importlib

    spent: dict[str, float] = defaultdict(float)
    start = time.perf_counter()
    from reconciler.cli.base import main

    for module, cls, name, phase in PHASES:
        owner = importlib.import_module(module)
        wrap(getattr(owner, cls) if cls else owner, name, spent, phase)
    spent["imports"] = time.perf_counter() - start
    start = time.perf_counter()
    arguments = ["apply", spec, "--store", f"sqlite:///{record}", "--okta-outputs", outputs]
    try:  # click returns the command's exit code when not standalone, or raises it
        code = main([*arguments, "--yes"], standalone_mode=False)
    except SystemExit as exit_:
        code = exit_.code
    if code not in (0, 2, None):
        raise SystemExit(f"apply exited {code}: no phases to show")
    spent["the command"] = time.perf_counter() - start
    Path(answer).write_text(json.dumps(spent))


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:6])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    yardstick = Yardstick()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = yardstick.spec(args.people, folder)
        yardstick.close()
        outputs = outputs_path(spec)
        record, answer = folder / "record.db", folder / "phases.json"
        paths = (spec, outputs, record, answer)
        for _ in range(args.runs):
            for path in folder.glob("record.db*"):
                path.unlink()
            subprocess.run(
                [sys.executable, "-m", "bench.phases", "--child", *map(str, paths)],
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                check=True,
            )
            runs.append(json.loads(answer.read_text()))
    print(f"first apply of {args.people:,} people, in-process, median of {args.runs} runs")
    for phase in ["imports", *(p[3] for p in PHASES), "the command"]:
        each = [run.get(phase, 0.0) for run in runs]
        print(
            f"  {phase:<20} {statistics.median(each):6.2f} s   "
            f"({', '.join(f'{s:.2f}' for s in each)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
