"""The runner: one deadline for every check, whatever a check does."""

from __future__ import annotations

import threading
import time

from reconciler.doctor.checks import CheckResult, Deadline, Status, Task, passed, run_tasks


def test_a_check_still_running_at_the_deadline_is_cut_and_fails() -> None:
    release = threading.Event()

    def stuck(deadline: Deadline) -> list[CheckResult]:
        release.wait(30)  # ignores its deadline, as a bug or a library might
        return [passed("stuck", "never seen")]

    started = time.monotonic()
    results = run_tasks(
        [Task(("stuck",), stuck), Task(("quick",), lambda d: [passed("quick", "ok")])], 0.3
    )
    release.set()
    assert time.monotonic() - started < 0.3 + 1.5
    assert [(r.id, r.status) for r in results] == [("stuck", Status.FAIL), ("quick", Status.PASS)]
    assert results[0].summary == "did not finish within 0.3s"


def test_a_check_that_raises_fails_alone() -> None:
    def broken(deadline: Deadline) -> list[CheckResult]:
        raise KeyError("jwks_uri")

    results = run_tasks(
        [Task(("a", "b"), broken), Task(("quick",), lambda d: [passed("quick", "ok")])], 1
    )
    assert [(r.id, r.status) for r in results] == [
        ("a", Status.FAIL),
        ("b", Status.FAIL),
        ("quick", Status.PASS),
    ]
    assert results[0].summary == "the check itself failed (KeyError: 'jwks_uri')"
