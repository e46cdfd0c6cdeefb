"""Spec loading: the chosen parser against the alternatives, then load + validate at scale.

Prints wall time and peak traced memory. Targets: a 20,000-member spec across 20
organizations loads and validates in under 2 s.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml
import yaml_rs

from bench.common import spec_text, timed, traced_peak
from reconciler.spec import load_file


def measure(label: str, func: Callable[[], Any], *, memory: bool = True) -> float:
    """Wall time of one untraced run; peak traced memory from a second, traced run."""
    _, elapsed = timed(func)
    mem = f"  peak {traced_peak(func):7.1f} MiB" if memory else ""
    print(f"  {label:<48} {elapsed:7.3f} s{mem}")
    return elapsed


def parsers(text: str) -> None:
    print(f"parse only, {len(text) / 2**20:.1f} MB spec (100,000 people):")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    base = measure(
        "PyYAML CSafeLoader (baseline)", lambda: yaml.load(text, Loader=loader), memory=False
    )
    fast = measure(
        "yaml-rs (chosen: objects, alias limits)", lambda: yaml_rs.loads(text), memory=False
    )
    try:
        import ryml  # type: ignore[import-not-found]

        buf = text.encode()
        tree = measure(
            "rapidyaml (tree only, no Python objects)",
            lambda: ryml.parse_in_arena(buf),
            memory=False,
        )
        print(f"  rapidyaml vs baseline: {base / tree:5.1f}x faster (objects still to build)")
    except ImportError:
        print("  rapidyaml not installed (pip install rapidyaml) - skipped")
    print(f"  yaml-rs vs baseline:   {base / fast:5.1f}x faster")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        parsers(spec_text(100_000, 50))
        print("load + validate (yaml-rs, pydantic, cross-checks):")
        for people, orgs in ((20_000, 20), (100_000, 50)):
            path = Path(tmp) / f"spec-{people}.yaml"
            path.write_text(spec_text(people, orgs))
            took = measure(f"{people:,} members / {orgs} organizations", partial(load_file, path))
            if people == 20_000:
                verdict = "ok" if took < 2.0 else "OVER TARGET"
                print(f"  target < 2 s for 20,000 members: {verdict}")


if __name__ == "__main__":
    main()
