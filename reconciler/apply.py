"""Apply: make a store match the spec, under the enterprise's lock, in crash-safe batches.

    lock → read actual → plan → check removals → defer what waits for Okta → write in batches

Each batch is one store transaction, so a process killed at any moment leaves whole batches
behind; the next apply reads again and plans only what remains (the writes are idempotent
upserts), which is how it resumes without duplicates. The lock's lease is renewed between
batches, so a live apply is never taken for a crashed one.
"""

from __future__ import annotations

import getpass
import math
import os
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reconciler.errors import LockHeldError, PlanRefusedError
from reconciler.outputs import UNKNOWN, OktaOutputs
from reconciler.plan import Action, Plan, PlanChange, plan
from reconciler.spec import Enterprise
from reconciler.state import ActualState
from reconciler.stores.base import Store, utcnow


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did: its plan, how many changes were written, and what waits for Okta."""

    plan: Plan
    applied: int
    deferred: tuple[PlanChange, ...]
    """SSO changes whose values are `(known after pulumi up)`: applied once outputs are given."""


def default_actor() -> str:
    """Who is applying, as `name@host pid N`; also the lock holder.

    The name is $INSOMNIA_SSO_ACTOR, else the CI login ($GITHUB_ACTOR, $GITLAB_USER_LOGIN),
    else the local user; `@host` is added when the name has none. The host and pid let a
    later apply on the same host see that a crashed holder's process is gone.
    """
    name = (
        os.environ.get("INSOMNIA_SSO_ACTOR")
        or os.environ.get("GITHUB_ACTOR")
        or os.environ.get("GITLAB_USER_LOGIN")
        or _local_user()
    )
    if "@" not in name:
        name = f"{name}@{socket.gethostname()}"
    return f"{name} pid {os.getpid()}"


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def check_removals(
    plan: Plan, actual: ActualState, enterprise: Enterprise, *, allow_mass_removal: bool
) -> None:
    """Refuse a plan that could lose people by accident; raises PlanRefusedError.

    Any removal (revoked invitation, removed member or domain) is refused after an incomplete
    read. Member removals past `prune.maxFraction` of an organization's current members are
    refused, for the whole apply, unless `allow_mass_removal`.
    """
    removals = [c for c in plan.changes if c.action is Action.DELETE]
    if removals and not actual.complete:
        counts = Counter(c.kind.value for c in removals)
        what = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(counts.items()))
        raise PlanRefusedError(
            f"the read of the store was incomplete ({actual.incomplete_reason or 'unknown'}); "
            f"refusing to remove {what} on a partial view; nothing was changed"
        )
    if allow_mass_removal:
        return
    max_fraction = enterprise.spec.prune.max_fraction
    current = Counter(member.organization for member in actual.members.values())
    # Exactly maxFraction is allowed; the epsilon absorbs float error (0.29 * 100 = 28.99…).
    too_many = [
        (org, removed, current[org])
        for org, removed in sorted(plan.removals_by_organization().items())
        if removed > math.floor(max_fraction * current[org] + 1e-9)
    ]
    if too_many:
        what = "; ".join(
            f"{removed} of {members} member(s) from '{org}'" for org, removed, members in too_many
        )
        raise PlanRefusedError(
            f"refusing to remove {what}: more than prune.maxFraction ({max_fraction:.0%}) of an "
            "organization at once; nothing was changed. If this is intended, apply with "
            "--allow-mass-removal"
        )


def _waits_for_okta(change: PlanChange) -> bool:
    return change.after is not None and UNKNOWN in change.after.values()


def apply(
    enterprise: Enterprise,
    outputs: OktaOutputs,
    store: Store,
    *,
    actor: str,
    allow_mass_removal: bool = False,
    lock_timeout: float = 0.0,
    batch_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ApplyResult:
    """Make `store` match the spec and the Okta outputs; a second run plans nothing.

    `actor` is journaled and holds the lock (see `default_actor`). Changes are written in
    plan order, `batch_size` per transaction, calling `progress(done, total)` after each.
    Raises LockHeldError when another apply holds the lock past `lock_timeout` seconds (or
    takes it over while this one ran), and PlanRefusedError, before any write, for removals
    `check_removals` refuses.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    name = enterprise.name
    with store.locked(enterprise=name, holder=actor, timeout=lock_timeout, clock=clock):
        actual = store.read(enterprise=name, now=clock())
        result = plan(enterprise, outputs, actual)
        check_removals(result, actual, enterprise, allow_mass_removal=allow_mass_removal)
        waiting = [_waits_for_okta(c) for c in result.changes]
        ready = [c for c, wait in zip(result.changes, waiting, strict=True) if not wait]
        deferred = tuple(c for c, wait in zip(result.changes, waiting, strict=True) if wait)
        done = 0
        for start in range(0, len(ready), batch_size):
            if start:
                _renew(store, name, actor, clock, done, len(ready))
            batch = ready[start : start + batch_size]
            store.write(enterprise=name, changes=batch, actor=actor, now=clock())
            done += len(batch)
            if progress is not None:
                progress(done, len(ready))
    return ApplyResult(result, done, deferred)


def _renew(
    store: Store, enterprise: str, actor: str, clock: Callable[[], datetime], done: int, total: int
) -> None:
    """Extend our lease; if another apply took the lock over, stop before writing more."""
    other = store.try_lock(enterprise=enterprise, holder=actor, now=clock())
    if other is not None:
        raise LockHeldError(
            f"enterprise '{enterprise}' was taken over by {other.holder} since "
            f"{other.acquired_at.isoformat(timespec='seconds')} after {done} of {total} "
            "change(s); run apply again once it is done"
        )
