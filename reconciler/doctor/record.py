"""`record.lock` and `record.last_apply`: the record's own view, read without changing it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.doctor.checks import CheckResult, failed, passed, warned
from reconciler.errors import StoreError
from reconciler.plan import Action
from reconciler.state import ActualState
from reconciler.stores.base import JournalEntry, LockInfo, Store, stale_reason

LOCK = "record.lock"
LAST_APPLY = "record.last_apply"
IDS = (LOCK, LAST_APPLY)

JOURNAL_ROWS = 1000
"""Journal rows read to find the last apply: far more than any one apply's newest rows."""

_CHANGE_ACTIONS = frozenset(action.value for action in Action)


@dataclass(frozen=True)
class RecordFacts:
    """One read of the record for one enterprise."""

    actual: ActualState
    lock: LockInfo | None
    journal: Sequence[JournalEntry]


def read_record(open_store: Callable[[], Store], enterprise: str, now: datetime) -> RecordFacts:
    """Snapshot, current lock and latest journal rows; StoreError when the record cannot be
    read. Takes no lock and creates nothing."""
    store = open_store()
    try:
        return RecordFacts(
            actual=store.read(enterprise=enterprise, now=now),
            lock=store.current_lock(enterprise=enterprise),
            journal=store.journal(enterprise=enterprise, limit=JOURNAL_ROWS),
        )
    finally:
        store.close()


def record_unreadable(err: StoreError) -> list[CheckResult]:
    """Both record checks fail with the store's message."""
    fix = "check --store (env INSOMNIA_SSO_STORE) and that this runner can reach it"
    return [failed(check, f"cannot read the record: {err}", fix) for check in IDS]


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def check_lock(lock: LockInfo | None, now: datetime) -> CheckResult:
    """Free, held by a live apply, or held by one that is gone (stale: the next apply takes
    it over)."""
    if lock is None:
        return passed(LOCK, "free")
    reason = stale_reason(lock, now)
    if reason is None:
        return passed(
            LOCK, f"held by {lock.holder} since {_stamp(lock.acquired_at)} (an apply is running)"
        )
    return warned(
        LOCK,
        f"held by {lock.holder} since {_stamp(lock.acquired_at)}, stale: {reason}",
        "nothing to do: the next apply takes a stale lock over (and journals it)",
    )


@dataclass(frozen=True)
class LastApply:
    """The newest apply found in the journal: its newest run of rows by one actor (the
    actor names a process, so one apply's batches share it)."""

    at: datetime
    actor: str
    applied: int
    failed: int
    error: str | None
    more: bool = False
    """True when the journal read ended inside this apply: the counts are lower bounds."""
    recorded_only: bool = False
    """True when its changes went to the record's ledger only (no SCIM): nothing reached
    Insomnia, and the report says "recorded", not "applied"."""


def last_apply(journal: Sequence[JournalEntry]) -> LastApply | None:
    """The newest apply's changes in a journal read newest first, or None."""
    rows = [row for row in journal if row.action in _CHANGE_ACTIONS]
    if not rows:
        return None
    actor = rows[0].actor
    count = next((i for i, row in enumerate(rows) if row.actor != actor), len(rows))
    batch = rows[:count]
    failures = [row for row in batch if row.outcome == "failed"]
    return LastApply(
        at=rows[0].at,
        actor=actor,
        applied=len(batch) - len(failures),
        failed=len(failures),
        error=_error(failures[0]) if failures else None,
        more=count == len(rows) and len(journal) >= JOURNAL_ROWS,
        recorded_only=all(row.outcome == "recorded" for row in batch),
    )


def _error(row: JournalEntry) -> str:
    try:
        detail = json.loads(row.detail)
    except ValueError:
        return row.outcome
    error = detail.get("error") if isinstance(detail, dict) else None
    return str(error) if error else row.outcome


def check_last_apply(journal: Sequence[JournalEntry], enterprise: str) -> CheckResult:
    """When the last apply ran, by whom, and whether its changes were written."""
    found = last_apply(journal)
    if found is None:
        return warned(
            LAST_APPLY,
            f"no apply recorded for enterprise '{enterprise}'",
            "run `insomnia-sso apply` (the pipeline does it after `pulumi up`)",
        )
    when = f"last apply {_stamp(found.at)} by {found.actor}"
    more = "+" if found.more else ""
    if found.failed:
        return failed(
            LAST_APPLY,
            f"{when} failed ({found.failed}{more} change(s)): {found.error}",
            "fix the cause, then run `insomnia-sso apply` again: it resumes where it stopped",
        )
    done = "recorded in the ledger" if found.recorded_only else "applied"
    return passed(LAST_APPLY, f"{when}: {found.applied}{more} change(s) {done}")
