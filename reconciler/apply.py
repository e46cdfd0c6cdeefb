"""Apply: carry out a plan's changes under the enterprise's lock, in crash-safe batches.

    lock (record) → read record (+ directory) → plan → check (shown, approved, not stale)
        → check removals → write in batches

People go to the SCIM directory when one is given (each batch journaled in the record with
its outcome, and the users it created or adopted remembered as managed), or to the record's
ledger otherwise (each batch one transaction with its journal rows). Either way a process
killed at any moment leaves whole batches behind, or changes the directory already holds;
the next apply reads again and plans only what remains, which is how it resumes without
duplicates. The lock's lease is renewed between batches, so a live apply is never taken
for a crashed one. Manual steps are never carried out here: they stay in the plan.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from reconciler.directory.base import Directory, WriteReport
from reconciler.errors import LockHeldError
from reconciler.manual import ManualStep, open_steps
from reconciler.outputs import OktaOutputs
from reconciler.plan import Action, Kind, Plan, PlanChange, plan
from reconciler.refusals import refusal_error, refusals
from reconciler.spec import Enterprise
from reconciler.state import ActualState, ManagedTeam
from reconciler.stores.base import Store, Written, utcnow


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did: its plan, how many changes were carried out, which failed."""

    plan: Plan
    applied: int
    failed: tuple[tuple[PlanChange, str], ...] = ()
    """Changes the directory refused or never answered for, each with a one-line reason;
    the next apply plans them again."""
    requests: int = 0
    """HTTP requests made to the SCIM directory (0 for the ledger)."""
    waiting: tuple[PlanChange, ...] = ()
    """Changes not carried out: each waits on the manual step it names."""
    steps_after: tuple[ManualStep, ...] | None = None
    """The manual steps open once the changes were made (without SCIM, what the ledger
    recorded becomes steps: invitations to send); None when they are the plan's."""
    done: tuple[PlanChange, ...] = ()
    """The changes carried out (recorded in the ledger, or made in the directory)."""


DIRECTORY_BATCH = 2000
"""Changes sent to a SCIM directory between two renewals of the lock's lease."""
LEDGER_BATCH = 20_000
"""Changes the ledger records in one transaction: a batch of 20,000 takes a fraction of a
second, so the lease is renewed and progress shown often enough."""


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


def check_removals(plan: Plan, *, allow_mass_removal: bool) -> None:
    """Refuse a plan that could lose people by accident; raises PlanRefusedError.

    Any removal (revoked invitation, removed member, team membership or deactivated user) is
    refused after an incomplete read. Removals past `prune.maxFraction` of an organization's
    current people are refused, for the whole apply, unless `allow_mass_removal`. `plan`
    shows the same refusals (`reconciler.refusals`) before anyone applies.
    """
    error = refusal_error(refusals(plan, allow_mass_removal=allow_mass_removal))
    if error is not None:
        raise error


def read_actual(
    store: Store, directory: Directory | None, enterprise: str, now: datetime
) -> ActualState:
    """One read of the record and, when people live there, of the directory."""
    actual = store.read(enterprise=enterprise, now=now)
    if directory is None:
        return actual
    return replace(actual, directory=directory.read(enterprise=enterprise))


def apply(
    enterprise: Enterprise,
    outputs: OktaOutputs,
    store: Store,
    *,
    actor: str,
    directory: Directory | None = None,
    allow_mass_removal: bool = False,
    lock_timeout: float = 0.0,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
    check: Callable[[Plan, ActualState], None] | None = None,
) -> ApplyResult:
    """Carry out the plan's changes; a second run plans none of them again.

    People go to `directory` (SCIM) when given, to the record's ledger otherwise. `actor` is
    journaled and holds the lock (see `default_actor`). Changes go in plan order,
    `batch_size` at a time (by default 2,000 to a directory, 20,000 to the ledger, whose
    transactions are local and quick), renewing the lock's lease before each batch after the
    first and calling `progress(done, total)` after each. Raises
    LockHeldError when another apply holds the lock past `lock_timeout` seconds (or takes it
    over while this one ran), PlanRefusedError, before any write, for removals
    `check_removals` refuses, and DirectoryAuthError when the SCIM token is rejected.

    `check(plan, actual)` is called under the lock with the plan just made and the read it
    was made from, before anything is checked or written: it shows the plan, or raises to
    stop (an approval not given, a saved or shown plan that no longer matches the read).
    """
    if batch_size is None:
        batch_size = LEDGER_BATCH if directory is None else DIRECTORY_BATCH
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    name = enterprise.name
    with store.locked(enterprise=name, holder=actor, timeout=lock_timeout, clock=clock):
        actual = read_actual(store, directory, name, clock())
        result = plan(enterprise, outputs, actual)
        if check is not None:
            check(result, actual)
        check_removals(result, allow_mass_removal=allow_mass_removal)
        if directory is not None:
            _adopt_present(store, enterprise, actual, actor, clock)
        changes = result.ready
        done, requests = 0, 0
        carried_out: list[PlanChange] = []
        written: list[Written] = []
        failed: list[tuple[PlanChange, str]] = []
        for start in range(0, len(changes), batch_size):
            if start:
                _renew(store, name, actor, clock, start, len(changes))
            batch = changes[start : start + batch_size]
            if directory is None:
                moment = clock()
                store.write(enterprise=name, changes=batch, actor=actor, now=moment)
                written.append((batch, moment))
                done += len(batch)
                carried_out.extend(batch)
            else:
                report = directory.write(enterprise=name, changes=batch)
                _journal_report(store, name, report, actual, actor, clock)
                requests += report.requests
                done += len(report.done)
                carried_out.extend(report.done)
                failed.extend(report.failed)
            if progress is not None:
                progress(start + len(batch), len(changes))
        after = None
        if directory is None and done:  # what was recorded is now an owner's to do
            recorded = store.recorded(actual, written, now=clock())
            held = frozenset(p.email for p in result.held_back)
            after = open_steps(enterprise, outputs, recorded, teams=False, held=held)
    return ApplyResult(
        result, done, tuple(failed), requests, result.waiting, after, tuple(carried_out)
    )


def _adopt_present(
    store: Store,
    enterprise: Enterprise,
    actual: ActualState,
    actor: str,
    clock: Callable[[], datetime],
) -> None:
    """Users of the spec the directory holds already are the tool's from now on (adopted,
    never duplicated); recorded teams a whole read no longer shows are forgotten."""
    directory = actual.directory
    assert directory is not None  # read_actual read it
    users = directory.users
    present = {p.email for _, p in enterprise.memberships()} & set(users)
    ids = {
        email: users[email].id
        for email in present
        if actual.managed_user_ids.get(email) != users[email].id
    }
    if ids:
        store.remember_users(
            enterprise=enterprise.name, user_names=set(ids), ids=ids, actor=actor, now=clock()
        )
    if directory.teams_complete:
        gone = [
            k for k, team in actual.managed_teams.items() if team.scim_id not in directory.teams
        ]
        if gone:
            store.forget_teams(enterprise=enterprise.name, teams=gone, actor=actor, now=clock())


def _journal_report(
    store: Store,
    enterprise: str,
    report: WriteReport,
    actual: ActualState,
    actor: str,
    clock: Callable[[], datetime],
) -> None:
    """Journal what the directory did and refused; record the users and teams it created,
    adopted or renamed, and forget the teams it deleted."""
    store.journal_changes(
        enterprise=enterprise, changes=report.done, outcome="applied", actor=actor, now=clock()
    )
    for change, reason in report.failed:
        store.journal_changes(
            enterprise=enterprise,
            changes=(change,),
            outcome="failed",
            actor=actor,
            now=clock(),
            error=reason,
        )
    users = {
        c.key: report.user_ids[c.key]
        for c in report.done
        if c.kind is Kind.USER and c.key in report.user_ids
    }
    new = {e: i for e, i in users.items() if actual.managed_user_ids.get(e) != i}
    if new:
        store.remember_users(
            enterprise=enterprise, user_names=set(new), ids=new, actor=actor, now=clock()
        )
    teams, gone = [], []
    for change in report.done:
        if change.kind is not Kind.TEAM:
            continue
        attrs = change.after if change.after is not None else (change.before or {})
        where = (str(attrs["organization"]), str(attrs["role"]))
        if change.action is Action.DELETE:
            gone.append(where)
        elif change.key in report.team_ids:
            teams.append(ManagedTeam(*where, report.team_ids[change.key], change.key))
    if teams:
        store.remember_teams(enterprise=enterprise, teams=teams, actor=actor, now=clock())
    if gone:
        store.forget_teams(enterprise=enterprise, teams=gone, actor=actor, now=clock())


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
