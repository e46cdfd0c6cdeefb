"""The record's interface, and its rules that are not SQL.

The record is what the tool itself keeps: the lock, the journal, confirmed manual steps,
the directory users and teams it manages and, without a SCIM directory, the people ledger.
`reconciler.stores.record.SqlStore` keeps it in SQLite or PostgreSQL; test doubles and any
later store implement the same ABC. Shared behaviour (waiting for the lock, its error
message, when a lock is stale, what a journal row holds) lives here, in the base.
"""

from __future__ import annotations

import os
import re
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import orjson

from reconciler.errors import LockHeldError, StoreError
from reconciler.outputs import SENSITIVE
from reconciler.plan_types import Kind, PlanChange
from reconciler.state import (
    ActualState,
    Confirmation,
    DomainState,
    InvitationStatus,
    ManagedTeam,
)

Written = tuple[Sequence[PlanChange], datetime]
"""One batch `Store.write` carried out, and the moment it was given."""

LOCK_LEASE = timedelta(minutes=10)
"""A lock not renewed for this long is stale: its holder crashed or hung."""

_HOLDER = re.compile(r"@(?P<host>[^@\s]+) pid (?P<pid>[0-9]{1,10})$")


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds an enterprise's write lock, since when, and until when it is leased."""

    holder: str
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One audit row: who did what, when, and how it went. Never holds a secret."""

    id: int
    enterprise: str
    at: datetime
    actor: str
    action: str
    kind: str
    key: str
    outcome: str
    detail: str


def to_json(value: object) -> str:
    """Compact JSON for journal details, non-ASCII kept as it is. orjson: a journal row per
    change, 100,000 of them in a first apply, at a third of the standard library's cost."""
    return orjson.dumps(value).decode()


def _plain(attrs: Mapping[str, object] | None) -> dict[str, object] | None:
    """A change's before or after as a dict, for orjson: a planner's read-only mapping is
    copied whole (`MappingProxyType.copy`, a sixth of what `dict()` costs it, key by key)."""
    if attrs is None:
        return None
    return attrs.copy() if isinstance(attrs, MappingProxyType) else dict(attrs)


def journal_rows(
    enterprise: str,
    stamp: object,
    actor: str,
    changes: Sequence[PlanChange],
    outcome: str,
    error: str | None = None,
) -> list[tuple[object, ...]]:
    """One journal row per change: (enterprise, stamp, actor, action, kind, key, outcome,
    detail). The detail is the change's before/after, which never hold a secret; a
    fingerprint that slipped into them is masked all the same."""
    rows: list[tuple[object, ...]] = []
    for change in changes:
        detail: dict[str, object] = {
            "before": _plain(change.before),
            "after": _plain(change.after),
        }
        if error is not None:
            detail["error"] = error
        text = to_json(detail)
        if change.secret_fingerprint:  # only SSO changes carry one; it is never journaled
            text = text.replace(change.secret_fingerprint, SENSITIVE)
        # Action and Kind are str enums: bound as their text, without `.value`'s cost per row.
        rows.append(
            (enterprise, stamp, actor, change.action, change.kind, change.key, outcome, text)
        )
    return rows


def journal_event(
    enterprise: str,
    stamp: object,
    actor: str,
    what: tuple[str, str, str],
    outcome: str,
    detail: Mapping[str, object],
) -> tuple[object, ...]:
    """One journal row for an event that is not a plan change: (action, kind, key) = `what`."""
    return (enterprise, stamp, actor, *what, outcome, to_json(detail))


def refuse_acceptance(
    enterprise: str, key: str, status: str | None, expires_at: datetime | None, now: datetime
) -> None:
    """Raise StoreError unless `key` holds a pending invitation that has not expired."""
    if status is None or expires_at is None:
        raise StoreError(f"no invitation for {key} in enterprise '{enterprise}'")
    if status != InvitationStatus.PENDING:
        raise StoreError(f"the invitation for {key} is {status}, not pending")
    if expires_at <= now:
        expired = expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        raise StoreError(f"the invitation for {key} expired at {expired}Z; run apply to re-send it")


def ledger_organizations(changes: Sequence[PlanChange]) -> list[str]:
    """The organizations a batch of ledger changes names, each once: their record rows are
    made before the invitations that point at them."""
    ledger = (Kind.INVITATION, Kind.MEMBER)
    # `PlanChange.organization`, inline: a batch holds 20,000 changes
    return sorted({c.key.partition("/")[0] for c in changes if c.kind in ledger})


def confirmation_detail(text: str) -> Mapping[str, str]:
    """A confirmation's detail column (compact JSON) as the mapping it was written from."""
    data = orjson.loads(text)
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def verified_domains(
    confirmations: Mapping[tuple[str, str], Confirmation],
) -> dict[str, DomainState]:
    """Domains an owner confirmed as claimed and verified in Insomnia."""
    return {key: DomainState(key, True) for kind, key in confirmations if kind == "domain"}


def utcnow() -> datetime:
    """Timezone-aware now, the only clock stores and apply use."""
    return datetime.now(UTC)


def stale_reason(lock: LockInfo, now: datetime) -> str | None:
    """Why a lock may be taken over, or None while its holder may still be working.

    A lock is stale when either
      * its lease expired: the holder did not renew it within the lease (LOCK_LEASE), which
        a live apply does between every batch; or
      * its holder string (`user@host pid 1234`, see `reconciler.apply.default_actor`) names
        this very host and a process id that is no longer alive (on POSIX only).
    Anything else is live, including a holder on another host or a holder string that does
    not parse: only its lease can free it. Hosts are compared by name, so runners that share
    one store must not share one hostname across process namespaces (two containers both
    called `runner`): each would take the other's live lock for a dead process's.
    """
    if lock.expires_at <= now:
        return f"its lease expired at {lock.expires_at.isoformat(timespec='seconds')}"
    if _holder_process_ended(lock.holder):
        return "its process is no longer running"
    return None


def _holder_process_ended(holder: str) -> bool:
    found = _HOLDER.search(holder)
    if found is None or os.name != "posix" or found["host"] != socket.gethostname():
        return False
    pid = int(found["pid"])
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


class Store(ABC):
    """Actual Insomnia-side state for any number of enterprises."""

    url: str

    @abstractmethod
    def read(self, *, enterprise: str, now: datetime) -> ActualState:
        """Snapshot one enterprise; mark it incomplete rather than guess when a read fails."""

    @abstractmethod
    def enterprises(self) -> list[str]:
        """Names of the enterprises the record holds, sorted; none when there is no store yet."""

    @abstractmethod
    def write(
        self, *, enterprise: str, changes: Sequence[PlanChange], actor: str, now: datetime
    ) -> None:
        """Carry out changes atomically (all or none), journaling each; idempotent per change."""

    def recorded(
        self, before: ActualState, written: Sequence[Written], *, now: datetime
    ) -> ActualState:
        """The record as `write` left it: `before` (read under the same lock, nothing else
        written since) after the batches `written`, each with the moment it was written at.
        Read back here; a store whose writes it can replay in memory gives the same state
        without reading it."""
        return self.read(enterprise=before.enterprise, now=now)

    @abstractmethod
    def try_lock(
        self, *, enterprise: str, holder: str, now: datetime, lease: timedelta = LOCK_LEASE
    ) -> LockInfo | None:
        """Take or renew the write lock; return the current holder's lock when it is taken."""

    @abstractmethod
    def unlock(self, *, enterprise: str, holder: str) -> None:
        """Release the write lock if `holder` still holds it."""

    @abstractmethod
    def current_lock(self, *, enterprise: str) -> LockInfo | None:
        """Who holds the write lock now (stale or not), or None when it is free; reads only."""

    @abstractmethod
    def journal(
        self, *, enterprise: str, limit: int = 100, since: datetime | None = None
    ) -> list[JournalEntry]:
        """The latest journal rows, newest first: at most `limit`, and with `since` (an aware
        datetime) only those at or after it. Reading creates nothing."""

    def accept_invitation(
        self, *, enterprise: str, organization: str, email: str, actor: str, now: datetime
    ) -> None:
        """Record that a person accepted their pending invitation and became a member."""
        self.accept_invitations(
            enterprise=enterprise, people=[(organization, email)], actor=actor, now=now
        )

    @abstractmethod
    def accept_invitations(
        self,
        *,
        enterprise: str,
        people: Sequence[tuple[str, str]],
        actor: str,
        now: datetime,
    ) -> None:
        """Record that each (organization, email) accepted their pending invitation and became
        a member, in one transaction: StoreError, and nothing recorded, when any of them has
        no pending, unexpired invitation."""

    @abstractmethod
    def invitation_sent(
        self, *, enterprise: str, organization: str, email: str, actor: str, now: datetime
    ) -> None:
        """Record that an owner sent a pending invitation from Insomnia's UI at `now`: it
        expires INVITATION_TTL from then, as Insomnia's does. StoreError when none is
        pending."""

    @abstractmethod
    def confirm(
        self,
        *,
        enterprise: str,
        kind: str,
        key: str,
        digest: str,
        detail: Mapping[str, str],
        actor: str,
        now: datetime,
    ) -> None:
        """Record that an owner did a manual step for the values `digest` fingerprints."""

    @abstractmethod
    def unconfirm(self, *, enterprise: str, kind: str, key: str, actor: str, now: datetime) -> None:
        """Forget a confirmation: an owner undid the step (a domain removed from Insomnia)."""

    @abstractmethod
    def remember_users(
        self,
        *,
        enterprise: str,
        user_names: Collection[str],
        actor: str,
        now: datetime,
        ids: Mapping[str, str] | None = None,
    ) -> None:
        """Record directory users the tool created or adopted: only these may be deactivated.

        `ids` maps a lower-cased userName to its SCIM id: a known id replaces an earlier
        one; "" or a missing id never erases a recorded one."""

    @abstractmethod
    def remember_teams(
        self, *, enterprise: str, teams: Sequence[ManagedTeam], actor: str, now: datetime
    ) -> None:
        """Record teams the tool created or adopted, by (organization, role): a team
        recorded before takes the new SCIM id and displayName."""

    @abstractmethod
    def forget_teams(
        self, *, enterprise: str, teams: Collection[tuple[str, str]], actor: str, now: datetime
    ) -> None:
        """Forget the teams of these (organization, role) pairs: the tool deleted them."""

    @abstractmethod
    def journal_changes(
        self,
        *,
        enterprise: str,
        changes: Sequence[PlanChange],
        outcome: str,
        actor: str,
        now: datetime,
        error: str | None = None,
    ) -> None:
        """Journal changes carried out elsewhere (in the SCIM directory), one row each."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @contextmanager
    def locked(
        self,
        *,
        enterprise: str,
        holder: str,
        timeout: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> Iterator[None]:
        """Hold the enterprise's write lock, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            other = self.try_lock(enterprise=enterprise, holder=holder, now=clock())
            if other is None:
                break
            if time.monotonic() >= deadline:
                raise LockHeldError(
                    f"enterprise '{enterprise}' is locked by {other.holder} since "
                    f"{other.acquired_at.isoformat(timespec='seconds')}"
                )
            time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))
        try:
            yield
        finally:
            self.unlock(enterprise=enterprise, holder=holder)
