"""The whole process, timed from outside: the CLI as a pipeline or an editor runs it.

    .venv/bin/python -m bench.cli [--people 1000,10000,100000,300000] [--repeat 5]

For each size, in a temporary folder (a SQLite record in `.insomnia-sso/`, the Okta outputs
in a file, the plan written to a file as a pipeline's log would be):
  - floor: PyYAML's C loader only parsing the same spec, in-process (no validation, no
    start-up): the yardstick every figure below is divided by, parsed once before each
    first apply and each no-op plan (its median), so a slow moment weighs on both;
  - first apply: `insomnia-sso apply SPEC --yes` into an empty record (median of runs);
  - plan, all to invite: `insomnia-sso plan SPEC` right after it, every person's
    invitation an open step;
  - accept all: `insomnia-sso confirm acceptance --keys-from FILE`, everyone at once;
  - no-op plan: `insomnia-sso plan SPEC` once everyone is a member (median of runs), every
    size's records ready first and the sizes then taking turns, round after round (3 x
    --repeat rounds; 100,000 in every third, 300,000 in every sixth);
  - the CPU time (user and system) of each first apply and no-op plan (medians): what the
    wall time holds beyond it is waiting, on the disk or on the machine;
  - peak RSS of each command (the child's own high-water mark, from wait4; the specs are
    made and parsed in a helper process, so this one stays smaller than any command);
  - µs per person, and how that cost grows: from 1,000 to 10,000 against 10,000 to 100,000,
    each the median of the differences between two sizes' runs in the same round.
Start-up first: `insomnia-sso validate` of the 13-person example spec against
`python -c "import click, pydantic"`, and against click with one pydantic model of one field
(the least any command validating with pydantic costs: `import pydantic` alone loads none of
its model machinery), taking turns (medians of 5 x --repeat runs each, at least 21).

The package's bytecode is compiled first (`compileall`), as installing it does.

Targets: validate within 2x click+pydantic; at 100,000 people the no-op plan within 0.35x
and the first apply within 0.55x of the floor; the per-person cost from 10,000 to 100,000
within 1.3x that from 1,000 to 10,000.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from bench.common import ROOT, memberships, outputs_json, spec_text

CLI = [str(Path(sys.executable).with_name("insomnia-sso"))]
EXAMPLE_SPEC = ROOT / "specs" / "enterprise.yaml"

VALIDATE_TARGET = 2.0
NOOP_TARGET = 0.35
APPLY_TARGET = 0.55
GROWTH_TARGET = 1.3


class Ran(NamedTuple):
    """One child process: wall seconds, peak RSS in MiB, exit code, and CPU seconds (user
    and system): the wall time beyond the CPU time is waiting, on the disk or the machine."""

    seconds: float
    rss: float
    code: int
    cpu: float


def run(command: list[str], output: Path | None = None) -> Ran:
    """Run one child process and measure it."""
    sink = open(output, "w") if output else open(os.devnull, "w")  # noqa: SIM115
    with sink:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE, cwd=ROOT)
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command[2:5])}… exited {child.returncode}: {err[-500:]!r}")
    cpu = usage.ru_utime + usage.ru_stime
    return Ran(seconds, usage.ru_maxrss / 1024, child.returncode, cpu)


def median_run(command: list[str], repeat: int, output: Path | None = None) -> tuple[float, float]:
    runs = [run(command, output) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def outputs_path(spec: Path) -> Path:
    """Where `outputs_file` writes a spec's Okta outputs."""
    return spec.with_name(f"outputs-{spec.stem}.json")


def outputs_file(spec: Path) -> Path:
    """The spec's Okta outputs, everyone in it assigned, written beside it (`outputs_path`)."""
    path = outputs_path(spec)
    path.write_text(outputs_json(sorted({email for _, email in memberships(spec)})))
    return path


def yardstick_process() -> None:
    """The helper process's loop (`--yardstick`), one request a line, its words separated by
    tabs (a folder may hold spaces): on `spec PEOPLE FOLDER` it writes a spec and its Okta
    outputs and answers the spec's path; on `parse PATH`, PyYAML's C loader parses that
    spec's text (read once, kept) in-process, and it answers the seconds."""
    texts: dict[str, str] = {}
    for line in sys.stdin:
        verb, *words = line.rstrip("\n").split("\t")
        if verb == "spec":
            people, folder = int(words[0]), Path(words[1])
            spec = folder / f"spec-{people}.yaml"
            spec.write_text(spec_text(people, max(1, people // 2000)))
            outputs_file(spec)
            print(spec, flush=True)
        else:
            text = texts.setdefault(words[0], Path(words[0]).read_text())
            start = time.perf_counter()
            yaml.load(text, Loader=yaml.CSafeLoader)
            print(time.perf_counter() - start, flush=True)


class Yardstick:
    """The floor's parses and the specs' making, in a helper process started while this one
    is small. A child's peak RSS from wait4 is at least its parent's at the fork (Linux
    carries the forked image's high-water mark across exec), so this process must never hold
    a parsed spec: a 300,000-person parse here would show as every later command's peak."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.cli", "--yardstick"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def ask(self, *words: object) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("\t".join(map(str, words)) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise SystemExit(f"the yardstick process exited on {words}")
        return answer.strip()

    def spec(self, people: int, folder: Path) -> Path:
        return Path(self.ask("spec", people, folder))

    def parse(self, spec: Path) -> float:
        """Seconds PyYAML's C loader takes to parse the spec, in-process."""
        return float(self.ask("parse", spec))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def prepare_size(people: int, repeat: int, folder: Path, yardstick: Yardstick) -> dict[str, Any]:
    """A size's spec, record and outputs, its first applies (each into an empty record,
    after a parse of the floor; the last one kept), the plan with everyone to invite, and
    everyone's acceptance: the record its no-op plans then read."""
    spec = yardstick.spec(people, folder)
    outputs = outputs_path(spec)
    record = folder / ".insomnia-sso" / f"state-{people}.db"
    record.parent.mkdir(exist_ok=True)
    common = ["--store", f"sqlite:///{record}", "--okta-outputs", str(outputs)]
    log = folder / "out.txt"
    floors: list[float] = []
    applies = []
    for attempt in range(repeat):
        if attempt:
            for path in record.parent.glob(f"{record.name}*"):
                path.unlink()
        floors.append(yardstick.parse(spec))
        applies.append(run([*CLI, "apply", str(spec), *common, "--yes"], log))
    plan_command = [*CLI, "plan", str(spec), *common]
    todo_s, todo_rss = median_run(plan_command, repeat, log)
    keys = folder / "accepted.txt"
    write_invitation_keys(log, keys)
    accept_s = run(
        [*CLI, "confirm", "acceptance", "--keys-from", str(keys), str(spec), *common]
    ).seconds
    return {
        "people": people,
        "spec": spec,
        "plan_command": plan_command,
        "log": log,
        "floors": floors,
        "apply": statistics.median(a.seconds for a in applies),
        "apply_cpu": statistics.median(a.cpu for a in applies),
        "apply_rss": max(a.rss for a in applies),
        "todo": todo_s,
        "todo_rss": todo_rss,
        "accept": accept_s,
        "plans": {},
        "plan_cpus": [],
        "plan_rss": 0.0,
    }


def repeats(people: int, repeat: int) -> int:
    """How many first applies a size gets: 300,000 half as many (each takes a minute with
    its floor)."""
    return repeat if people <= 100_000 else max(1, repeat // 2)


def every(people: int) -> int:
    """In how many rounds of no-op plans a size takes part once: the small sizes take a
    fraction of a second a run and are in every round, so that their difference (the
    growth's small side) has many pairs; the large ones fewer, for the bench's length."""
    if people <= 10_000:
        return 1
    return 3 if people <= 100_000 else 6


def noop_rounds(sizes: list[dict[str, Any]], rounds: int, yardstick: Yardstick) -> None:
    """No-op plans of every size taking turns, round after round: each round parses the
    floors of its sizes first, then runs their plans back to back, forwards in one round
    and backwards in the next. A slow stretch of the machine then lands on all sizes of a
    round alike, and the sizes' differences are taken within a round (`per_added_person`)."""
    for number in range(rounds):
        taking_part = [size for size in sizes if number % every(size["people"]) == 0]
        if number % 2:
            taking_part.reverse()
        for size in taking_part:
            size["floors"].append(yardstick.parse(size["spec"]))
        for size in taking_part:
            ran = run(size["plan_command"], size["log"])
            size["plans"][number] = ran.seconds
            size["plan_cpus"].append(ran.cpu)
            size["plan_rss"] = max(size["plan_rss"], ran.rss)


def per_added_person(smaller: dict[str, Any], larger: dict[str, Any]) -> float:
    """Seconds a no-op plan costs per person added from one size to the other: the median,
    over the rounds both took part in, of the difference between their two runs in that
    round. Paired runs seconds apart keep the machine's drift out of a difference of a few
    hundredths of a second, which two medians taken minutes apart would not."""
    rounds = smaller["plans"].keys() & larger["plans"].keys()
    differences = [larger["plans"][n] - smaller["plans"][n] for n in rounds]
    people: int = larger["people"] - smaller["people"]
    return float(statistics.median(differences)) / people


def write_invitation_keys(plan_text: Path, keys: Path) -> None:
    """The keys of the invitation steps a text plan lists (`N. invitation ORG/EMAIL: …`),
    one a line, streamed: this process holds no list of 300,000 keys (see `Yardstick`)."""
    with plan_text.open() as lines, keys.open("w") as out:
        for line in lines:
            words = line.split(maxsplit=3)
            if len(words) > 2 and words[1] == "invitation":
                out.write(words[2].rstrip(":") + "\n")


ONE_MODEL = """\
import click
from pydantic import BaseModel
class One(BaseModel):
    x: int
One(x=1)
"""
"""The least a command validating with pydantic can cost: click, and one model of one
field used once (`import pydantic` alone loads none of its model machinery)."""


def startup(repeat: int) -> tuple[float, float, float]:
    """Medians of `repeat` runs each of validate, `import click, pydantic` and ONE_MODEL,
    taking turns: a busy moment of the machine weighs on all alike (start-up is a few tens
    of milliseconds)."""
    commands = [
        [*CLI, "validate", str(EXAMPLE_SPEC)],
        [sys.executable, "-c", "import click, pydantic"],
        [sys.executable, "-c", ONE_MODEL],
    ]
    times: list[list[float]] = [[], [], []]
    for _ in range(repeat):
        for command, runs in zip(commands, times, strict=True):
            runs.append(run(command)[0])
    validate, base, one_model = (statistics.median(runs) for runs in times)
    return validate, base, one_model


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def compiled() -> None:
    """The package's bytecode written first, as installing it does: a checkout run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile every module on every run."""
    compileall.compile_dir(ROOT / "reconciler", quiet=1)


def main() -> int:
    if sys.argv[1:] == ["--yardstick"]:
        yardstick_process()
        return 0
    compiled()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="1000,10000,100000,300000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(n) for n in args.people.split(",")]
    print(
        f"whole process, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    validate, base, one_model = startup(max(args.repeat * 5, 21))
    ok = validate <= VALIDATE_TARGET * base
    print(
        f"  validate (13 people) {validate * 1000:6.1f} ms   import click, pydantic "
        f"{base * 1000:6.1f} ms   ratio {validate / base:4.2f}x  "
        f"(target <= {VALIDATE_TARGET}x: {verdict(ok)})\n"
        f"  click + one pydantic model {one_model * 1000:6.1f} ms "
        f"({one_model / base:4.2f}x import click, pydantic); validate is "
        f"{validate / one_model:4.2f}x that"
    )
    yardstick = Yardstick()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            prepare_size(people, repeats(people, args.repeat), Path(tmp), yardstick)
            for people in sizes
        ]
        noop_rounds(rows, args.repeat * 3, yardstick)
    yardstick.close()
    for row in rows:
        row["floor"] = statistics.median(row["floors"])
        row["plan"] = statistics.median(row["plans"].values())
        row["plan_cpu"] = statistics.median(row["plan_cpus"])
    print(
        f"  {'people':>8} {'floor':>7} {'first apply':>21} {'plan, all to invite':>20} "
        f"{'accept all':>10} {'no-op plan':>21} {'µs/person':>9}"
    )
    for row in rows:
        print(
            f"  {row['people']:>8,} {row['floor']:6.2f}s "
            f"{row['apply']:6.2f}s {row['apply'] / row['floor']:5.2f}x {row['apply_rss']:5.0f} MiB "
            f"{row['todo']:6.2f}s {row['todo_rss']:7.0f} MiB {row['accept']:9.2f}s "
            f"{row['plan']:6.2f}s {row['plan'] / row['floor']:5.2f}x {row['plan_rss']:5.0f} MiB "
            f"{row['plan'] / row['people'] * 1e6:9.1f}"
        )
    print(
        "  CPU (user + system), first apply and no-op plan: "
        + ", ".join(
            f"{row['people']:,} {row['apply_cpu']:.2f} s and {row['plan_cpu']:.2f} s"
            for row in rows
        )
    )
    by_size = {row["people"]: row for row in rows}
    if 100_000 in by_size:
        row = by_size[100_000]
        ok &= row["plan"] <= NOOP_TARGET * row["floor"]
        ok &= row["apply"] <= APPLY_TARGET * row["floor"]
        print(
            f"  at 100,000: no-op plan {row['plan'] / row['floor']:.2f}x the floor "
            f"(target <= {NOOP_TARGET}x: {verdict(row['plan'] <= NOOP_TARGET * row['floor'])}), "
            f"first apply {row['apply'] / row['floor']:.2f}x "
            f"(target <= {APPLY_TARGET}x: {verdict(row['apply'] <= APPLY_TARGET * row['floor'])})"
        )
    if {1_000, 10_000, 100_000} <= by_size.keys():
        small = per_added_person(by_size[1_000], by_size[10_000])
        large = per_added_person(by_size[10_000], by_size[100_000])
        growth = large / small
        ok &= growth <= GROWTH_TARGET
        print(
            f"  no-op plan, cost per added person: {small * 1e6:.1f} µs (1k→10k), "
            f"{large * 1e6:.1f} µs (10k→100k): {growth:.2f}x "
            f"(target <= {GROWTH_TARGET}x: {verdict(growth <= GROWTH_TARGET)})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
