"""What one check finds, the report of a run, and the runner that keeps a run within its time.

Every check says pass, warn, fail or skip, in one line, with one line saying what to fix.
Checks run concurrently, each in a thread of its own, against one shared deadline: a peer
that accepts a connection and never answers costs at most the timeout, not the timeout per
check, and a check still running when the deadline (and a short grace) passes is reported
as failed and left behind.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

GRACE = 0.5
"""Seconds past the deadline a check may take to report its own timeout before it is cut."""


class Status(StrEnum):
    """How a check went; a str enum, so it is its own JSON."""

    PASS = "pass"  # noqa: S105  (a status, not a password)
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: its id (`issuer.discovery`, `domain.acme.com`), status, summary and fix.

    `fix` is None when there is nothing to do."""

    id: str
    status: Status
    summary: str
    fix: str | None = None

    def to_json(self) -> dict[str, str | None]:
        """`{"id", "status", "summary", "fix"}`, the documented shape."""
        return {
            "id": self.id,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
        }


def passed(check: str, summary: str) -> CheckResult:
    """A passing check."""
    return CheckResult(check, Status.PASS, summary)


def warned(check: str, summary: str, fix: str) -> CheckResult:
    """A check that found something to do, but nothing broken yet."""
    return CheckResult(check, Status.WARN, summary, fix)


def failed(check: str, summary: str, fix: str) -> CheckResult:
    """A check that found something broken."""
    return CheckResult(check, Status.FAIL, summary, fix)


def skipped(check: str, summary: str) -> CheckResult:
    """A check that could not run with what was given."""
    return CheckResult(check, Status.SKIP, summary)


@dataclass(frozen=True)
class DoctorReport:
    """Every check of one run, in a fixed order."""

    enterprise: str
    checks: tuple[CheckResult, ...]

    def counts(self) -> dict[str, int]:
        """How many checks ended in each status, every status named."""
        found = Counter(check.status for check in self.checks)
        return {status.value: found[status] for status in Status}

    @property
    def failed(self) -> bool:
        """True when any check failed: `doctor` then exits 1."""
        return any(check.status is Status.FAIL for check in self.checks)


@dataclass(frozen=True)
class Deadline:
    """One moment, on the monotonic clock, by which every check of a run must be done."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline `seconds` from now."""
        return cls(time.monotonic() + seconds)

    def remaining(self, floor: float = 0.05) -> float:
        """Seconds left, never less than `floor` (a zero timeout means "no timeout" to some
        libraries)."""
        return max(floor, self.at - time.monotonic())


@dataclass(frozen=True)
class Task:
    """Checks that run in one thread, one after another: `run` returns a result for each id
    in `ids`, in that order (the ids stand in for the results when the task is cut)."""

    ids: tuple[str, ...]
    run: Callable[[Deadline], Sequence[CheckResult]]


def run_tasks(tasks: Sequence[Task], timeout: float) -> list[CheckResult]:
    """Run every task concurrently within `timeout` seconds (plus GRACE); results in task order.

    A task that raises, or is still running at the end, fails each of its checks with what
    happened. Threads are daemons: one stuck in a peer is left behind, never waited for.
    """
    deadline = Deadline.after(timeout)
    outcomes: list[Sequence[CheckResult] | BaseException | None] = [None] * len(tasks)

    def work(index: int, task: Task) -> None:
        try:
            outcomes[index] = task.run(deadline)
        except Exception as err:  # a bug in one check must not hide the others' results
            outcomes[index] = err

    threads = [
        threading.Thread(target=work, args=(i, task), name=f"doctor-{task.ids[0]}", daemon=True)
        for i, task in enumerate(tasks)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline.at + GRACE - time.monotonic()))
    results: list[CheckResult] = []
    for task, outcome in zip(tasks, outcomes, strict=True):
        if outcome is None:
            results += [
                failed(
                    check,
                    f"did not finish within {timeout:g}s",
                    "a peer accepted the connection but never answered: check that host, "
                    "or raise --timeout",
                )
                for check in task.ids
            ]
        elif isinstance(outcome, BaseException):
            reason = f"{type(outcome).__name__}: {outcome}"
            results += [
                failed(check, f"the check itself failed ({reason})", "report this as a bug")
                for check in task.ids
            ]
        else:
            results += outcome
    return results
