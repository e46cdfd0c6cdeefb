"""When Python's cyclic garbage collector runs: the one place that decides it.

A command loads the spec, reads the record (and the directory) and plans: hundreds of
thousands of long-lived objects, none of them garbage, and no reference cycles among them
that outlive the command. Each full collection walks all of them; at 100,000 people the
collector was the largest single cost of a plan and made the cost per person grow with the
size of the enterprise. So a command runs with the collector paused (`command`); reference
counting still frees everything that is not a cycle.

Talking to a SCIM server one request per change is different: each request leaves a few
dozen objects in cycles (about 77 per request, measured), so before the writes start the
sender calls `resume`: what was loaded is frozen out of the collector's sight (`gc.freeze`)
and the collector runs again, over the new objects only.

Measured by `bench/cli.py` (the README has the figures); `gc.freeze()` after loading alone
and a raised first threshold each gave less than pausing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_state = {"paused": False}


@contextmanager
def command() -> Iterator[None]:
    """Run one command with the collector paused (unless `resume` is called), and leave the
    collector as it was found: the CLI also runs inside test processes."""
    if not gc.isenabled() or _state["paused"]:
        yield
        return
    gc.disable()
    _state["paused"] = True
    try:
        yield
    finally:
        if _state["paused"]:
            _state["paused"] = False
            # Frozen first: the young generation holds everything made while paused, and
            # the first allocation after `enable` would otherwise walk all of it.
            gc.freeze()
            gc.enable()
        gc.unfreeze()


@contextmanager
def paused() -> Iterator[None]:
    """The collector paused for one stretch of work in memory (a snapshot of the record
    becoming objects), and restored however it ends; inside a paused command, nothing
    changes."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def resume() -> None:
    """Before many network requests: freeze what is alive and let the collector run again.
    Does nothing outside a paused command."""
    if _state["paused"]:
        _state["paused"] = False
        gc.freeze()
        gc.enable()
