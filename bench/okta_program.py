"""Benchmark: the Okta Pulumi program under mocks, for 10 and 10,000 people.

Prints, per size: wall time of one offline preview (the real `infra.program.run` under Pulumi
mocks), peak Python memory during a second run (tracemalloc), the process's peak RSS, the
number of Okta resources declared and the number of `getUsers` lookups.

Targets: under 5 s for 10,000 people; the same resource count at every size.

    .venv/bin/python -m bench.okta_program
"""

from __future__ import annotations

import resource
import sys
from functools import partial

from bench.common import spec_text, timed, traced_peak
from reconciler.okta_preview import preview
from reconciler.spec import Enterprise, load_text

SIZES = (10, 10_000)
TARGET_SECONDS = 5.0


def enterprise(people: int) -> Enterprise:
    """A generated spec with `people` members, loaded like any spec file."""
    return load_text(spec_text(people), f"<bench {people}>")


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main() -> int:
    preview(enterprise(1))  # warm up imports (pulumi, pulumi_okta) outside the timings
    print(f"{'people':>7} {'wall s':>7} {'peak MiB':>9} {'RSS MiB':>8} {'resources':>9} lookups")
    counts: set[int] = set()
    slow = False
    for people in SIZES:
        spec = enterprise(people)
        result, wall = timed(partial(preview, spec))
        peak = traced_peak(partial(preview, spec))
        counts.add(len(result.resources))
        slow = slow or wall >= TARGET_SECONDS
        print(
            f"{people:>7} {wall:>7.2f} {peak:>9.1f} {peak_rss_mib():>8.1f} "
            f"{len(result.resources):>9} {result.user_lookups:>7}"
        )
    same = len(counts) == 1
    print(f"resource count constant across sizes: {'yes' if same else 'NO'}")
    print(f"under {TARGET_SECONDS:.0f} s at {SIZES[-1]:,} people: {'yes' if not slow else 'NO'}")
    return 0 if same and not slow else 1


if __name__ == "__main__":
    sys.exit(main())
