"""The collector's policy: paused while a command works in memory, running again (over new
objects only) once it turns to many network requests, and always left as it was found."""

from __future__ import annotations

import gc

from reconciler import gc_policy


def test_a_command_runs_with_the_collector_paused_and_leaves_it_running() -> None:
    assert gc.isenabled()
    with gc_policy.command():
        assert not gc.isenabled()
        with gc_policy.paused():  # a record read inside a command changes nothing
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resume_freezes_what_was_loaded_and_runs_the_collector_again() -> None:
    loaded = [[n] for n in range(1000)]  # long-lived, tracked objects
    with gc_policy.command():
        gc_policy.resume()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(loaded)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # a host process (these tests) collects them again


def test_resume_outside_a_command_changes_nothing() -> None:
    gc_policy.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_failing_command_leaves_the_collector_running() -> None:
    try:
        with gc_policy.command():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_a_paused_stretch_restores_the_collector_however_it_ends() -> None:
    try:
        with gc_policy.paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()
