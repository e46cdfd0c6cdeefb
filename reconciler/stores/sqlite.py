"""The embedded store: one SQLite file, the default `sqlite:///.insomnia-sso/state.db`.

The file (and its folder) is created by the first call that writes; reading a store that does
not exist yet gives an empty snapshot and creates nothing, so `plan` never writes. WAL mode
lets readers run beside the one writer; `synchronous=NORMAL` keeps every committed batch
across a killed process (a power cut may lose the last batches, which the next apply redoes).

The schema is versioned with `PRAGMA user_version`: MIGRATIONS run in order inside one
transaction, and a file from a newer insomnia-sso is refused, never downgraded (opening and
migrating live in `sqlite_open.py`; this module names the schema to reach). Timestamps are
fixed-width ISO-8601 UTC text (`2025-01-31T09:00:00.000000+00:00`), so SQL compares them as
text. The client secret is never held: only its keyed fingerprint, and the journal holds
neither.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

from reconciler.errors import StoreError
from reconciler.plan import PlanChange
from reconciler.state import (
    INVITATION_TTL,
    ActualState,
    Confirmation,
    InvitationState,
    InvitationStatus,
    MemberState,
    member_key,
)
from reconciler.stores.base import (
    CHANGE_PARAMS,
    LOCK_LEASE,
    JournalEntry,
    LockInfo,
    Store,
    confirmation_detail,
    journal_event,
    journal_rows,
    ledger_organizations,
    refuse_acceptance,
    stale_reason,
    to_json,
    verified_domains,
)
from reconciler.stores.sqlite_open import open_store, store_error, transaction
from reconciler.stores.sqlite_schema import (
    DELETE_CONFIRMATION,
    ENSURE_ENTERPRISE,
    ENSURE_ORGANIZATION,
    INSERT_JOURNAL,
    MIGRATIONS,
    READ_CONFIRMATIONS,
    REMEMBER_USER,
    SCHEMA_VERSION,
    UPSERT_CONFIRMATION,
    WRITES,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteStore"]

_STATUSES = {status.value: status for status in InvitationStatus}

Row = tuple[Any, ...]


def _ts(moment: datetime) -> str:
    """Fixed-width UTC text; a naive datetime is a bug, not a guess about the local zone."""
    if moment.tzinfo is None:
        raise ValueError("stores take timezone-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class _Times(dict[str, datetime]):
    """Timestamps parsed once per distinct text: a batch shares one `now` across its rows."""

    def __missing__(self, text: str) -> datetime:
        moment = self[text] = datetime.fromisoformat(text)
        return moment


class SqliteStore(Store):
    """Actual state in one SQLite file; see the module docstring for the file's rules."""

    def __init__(self, path: str | os.PathLike[str], *, url: str | None = None) -> None:
        self.path = Path(path)
        self.url = url or f"sqlite:///{self.path}"
        self._conn: sqlite3.Connection | None = None

    # -- opening -------------------------------------------------------------------------------

    def _connection(self, *, create: bool = True) -> sqlite3.Connection:
        # MIGRATIONS and SCHEMA_VERSION are read here, at call time: this module names the schema.
        if self._conn is None:
            if not create and not self.path.exists():
                raise StoreError(f"{self.path}: there is no store here yet (run apply first)")
            self._conn = open_store(self.path, MIGRATIONS, SCHEMA_VERSION)
        return self._conn

    def close(self) -> None:
        """Close the connection; the next call opens it again."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- reading -------------------------------------------------------------------------------

    def read(self, *, enterprise: str, now: datetime) -> ActualState:
        """One consistent snapshot: one query per table, rows turned straight into dataclasses."""
        if self._conn is None and not self.path.exists():
            return ActualState(enterprise=enterprise, as_of=now)
        conn = self._connection()
        times = _Times()
        statuses = _STATUSES
        where = (enterprise,)
        try:
            with transaction(conn, "DEFERRED"):
                exists = (
                    conn.execute("SELECT 1 FROM enterprises WHERE name = ?", where).fetchone()
                    is not None
                )
                organizations = frozenset(
                    name
                    for (name,) in conn.execute(
                        "SELECT name FROM organizations WHERE enterprise = ?", where
                    )
                )
                invitations = {
                    key: InvitationState(
                        org, email, role, statuses[status], times[invited], times[expires]
                    )
                    for key, org, email, role, status, invited, expires in conn.execute(
                        "SELECT organization || '/' || email, organization, email, role, "
                        "status, invited_at, expires_at FROM invitations WHERE enterprise = ?",
                        where,
                    )
                }
                members = {
                    key: MemberState(org, email, role, times[joined])
                    for key, org, email, role, joined in conn.execute(
                        "SELECT organization || '/' || email, organization, email, role, "
                        "joined_at FROM members WHERE enterprise = ?",
                        where,
                    )
                }
                confirmations = {
                    (kind, key): Confirmation(
                        kind, key, digest, actor, times[at], confirmation_detail(detail)
                    )
                    for kind, key, digest, actor, at, detail in conn.execute(
                        READ_CONFIRMATIONS, where
                    )
                }
                managed = frozenset(
                    name
                    for (name,) in conn.execute(
                        "SELECT user_name FROM managed_users WHERE enterprise = ?", where
                    )
                )
        except sqlite3.Error as err:
            raise store_error(self.path, "read the store", err) from err
        return ActualState(
            enterprise=enterprise,
            as_of=now,
            exists=exists,
            domains=verified_domains(confirmations),
            organizations=organizations,
            invitations=invitations,
            members=members,
            confirmations=confirmations,
            managed_users=managed,
        )

    # -- writing -------------------------------------------------------------------------------

    def enterprises(self) -> list[str]:
        """Names of the enterprises in the file, sorted; reading creates no file."""
        if self._conn is None and not self.path.exists():
            return []
        try:
            rows = self._connection().execute("SELECT name FROM enterprises ORDER BY name")
            return [name for (name,) in rows]
        except sqlite3.Error as err:
            raise store_error(self.path, "list the enterprises", err) from err

    def write(
        self, *, enterprise: str, changes: Sequence[PlanChange], actor: str, now: datetime
    ) -> None:
        """Carry out `changes` in one transaction, one journal row each; idempotent per change.

        Runs of changes of one kind and action go to one `executemany`, keeping plan order.
        Every write is an upsert or a guarded update keyed by natural keys, so a change that
        was already applied changes nothing. On failure nothing is kept and the attempt is
        journaled with outcome `failed`.
        """
        if not changes:
            return
        conn = self._connection()
        stamp, expires = _ts(now), _ts(now + INVITATION_TTL)
        try:
            with transaction(conn):
                conn.execute(ENSURE_ENTERPRISE, (enterprise, stamp))
                conn.executemany(
                    ENSURE_ORGANIZATION,
                    [(enterprise, org, stamp) for org in ledger_organizations(changes)],
                )
                for (kind, action), run in groupby(changes, key=lambda c: (c.kind, c.action)):
                    if (kind, action) not in WRITES:
                        raise StoreError(f"the SQLite store cannot {action.value} a {kind.value}")
                    params = CHANGE_PARAMS[kind, action]
                    rows = [params(enterprise, c, stamp, expires) for c in run]
                    conn.executemany(WRITES[kind, action], rows)
                conn.executemany(
                    INSERT_JOURNAL, journal_rows(enterprise, stamp, actor, changes, "recorded")
                )
        except StoreError as err:
            self._journal_failure(conn, enterprise, stamp, actor, changes, str(err))
            raise
        except sqlite3.Error as err:
            error = store_error(self.path, "write changes", err)
            if not isinstance(err, sqlite3.OperationalError) or "locked" not in str(err):
                self._journal_failure(conn, enterprise, stamp, actor, changes, str(error))
            raise error from err

    def _journal_failure(
        self,
        conn: sqlite3.Connection,
        enterprise: str,
        stamp: str,
        actor: str,
        changes: Sequence[PlanChange],
        error: str,
    ) -> None:
        """Best effort: the audit trail shows failed attempts too, unless the disk is gone."""
        rows = journal_rows(enterprise, stamp, actor, changes, "failed", error)
        try:
            with transaction(conn):
                conn.executemany(INSERT_JOURNAL, rows)
        except sqlite3.Error:
            pass

    # -- the lock ------------------------------------------------------------------------------

    def try_lock(
        self, *, enterprise: str, holder: str, now: datetime, lease: timedelta = LOCK_LEASE
    ) -> LockInfo | None:
        """Take the lock when free or stale (see `stale_reason`), or renew our own lease.

        Atomic: the row is read and written under SQLite's write lock (BEGIN IMMEDIATE).
        Taking over a stale lock is journaled, naming the previous holder.
        """
        conn = self._connection()
        stamp = _ts(now)
        try:
            with transaction(conn):
                row = conn.execute(
                    "SELECT holder, acquired_at, expires_at FROM locks WHERE enterprise = ?",
                    (enterprise,),
                ).fetchone()
                acquired = stamp
                if row is not None:
                    current = LockInfo(
                        row[0], datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2])
                    )
                    if current.holder == holder:
                        acquired = row[1]
                    else:
                        reason = stale_reason(current, now)
                        if reason is None:
                            return current
                        detail = {"previous_holder": current.holder, "reason": reason}
                        what = ("lock", "enterprise", enterprise)
                        conn.execute(
                            INSERT_JOURNAL,
                            journal_event(enterprise, stamp, holder, what, "taken over", detail),
                        )
                conn.execute(
                    "INSERT INTO locks (enterprise, holder, acquired_at, expires_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (enterprise) DO UPDATE SET "
                    "holder = excluded.holder, acquired_at = excluded.acquired_at, "
                    "expires_at = excluded.expires_at",
                    (enterprise, holder, acquired, _ts(now + lease)),
                )
        except sqlite3.Error as err:
            raise store_error(self.path, "take the lock", err) from err
        return None

    def unlock(self, *, enterprise: str, holder: str) -> None:
        """Release the lock if `holder` still holds it."""
        if self._conn is None and not self.path.exists():
            return
        conn = self._connection()
        try:
            with transaction(conn):
                conn.execute(
                    "DELETE FROM locks WHERE enterprise = ? AND holder = ?", (enterprise, holder)
                )
        except sqlite3.Error as err:
            raise store_error(self.path, "release the lock", err) from err

    def current_lock(self, *, enterprise: str) -> LockInfo | None:
        """The lock row as it stands, stale or not; never creates the store."""
        if self._conn is None and not self.path.exists():
            return None
        conn = self._connection()
        try:
            row = conn.execute(
                "SELECT holder, acquired_at, expires_at FROM locks WHERE enterprise = ?",
                (enterprise,),
            ).fetchone()
        except sqlite3.Error as err:
            raise store_error(self.path, "read the lock", err) from err
        if row is None:
            return None
        return LockInfo(row[0], datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2]))

    # -- people and the journal ----------------------------------------------------------------

    def accept_invitation(
        self, *, enterprise: str, organization: str, email: str, actor: str, now: datetime
    ) -> None:
        """A pending, unexpired invitation becomes accepted and the person a member."""
        email = email.lower()
        key = member_key(organization, email)
        conn = self._connection(create=False)
        where = (enterprise, organization, email)
        stamp = _ts(now)
        try:
            with transaction(conn):
                row = conn.execute(
                    "SELECT role, status, expires_at FROM invitations "
                    "WHERE enterprise = ? AND organization = ? AND email = ?",
                    where,
                ).fetchone()
                role, status, expires_at = row or (None, None, None)
                expires = datetime.fromisoformat(expires_at) if expires_at else None
                refuse_acceptance(enterprise, key, status, expires, now)
                conn.execute(
                    "UPDATE invitations SET status = 'accepted', updated_at = ? "
                    "WHERE enterprise = ? AND organization = ? AND email = ?",
                    (stamp, *where),
                )
                conn.execute(
                    "INSERT INTO members (enterprise, organization, email, role, joined_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET role = excluded.role",
                    (*where, role, stamp),
                )
                detail = {"before": {"status": status}, "after": {"status": "accepted"}}
                what = ("accept", "invitation", key)
                conn.execute(
                    INSERT_JOURNAL,
                    journal_event(enterprise, stamp, actor, what, "recorded", detail),
                )
        except sqlite3.Error as err:
            raise store_error(self.path, "record the acceptance", err) from err

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
        """Upsert the confirmation and journal it, in one transaction."""
        conn = self._connection()
        stamp = _ts(now)
        try:
            with transaction(conn):
                conn.execute(ENSURE_ENTERPRISE, (enterprise, stamp))
                conn.execute(
                    UPSERT_CONFIRMATION,
                    (enterprise, kind, key, digest, to_json(dict(detail)), actor, stamp),
                )
                conn.execute(
                    INSERT_JOURNAL,
                    journal_event(
                        enterprise, stamp, actor, ("confirm", kind, key), "confirmed", detail
                    ),
                )
        except sqlite3.Error as err:
            raise store_error(self.path, "record the confirmation", err) from err

    def unconfirm(self, *, enterprise: str, kind: str, key: str, actor: str, now: datetime) -> None:
        """Delete the confirmation and journal it, in one transaction."""
        conn = self._connection()
        stamp = _ts(now)
        try:
            with transaction(conn):
                conn.execute(DELETE_CONFIRMATION, (enterprise, kind, key))
                conn.execute(
                    INSERT_JOURNAL,
                    journal_event(enterprise, stamp, actor, ("remove", kind, key), "confirmed", {}),
                )
        except sqlite3.Error as err:
            raise store_error(self.path, "record the confirmation", err) from err

    def remember_users(
        self, *, enterprise: str, user_names: Collection[str], actor: str, now: datetime
    ) -> None:
        """Insert the user names not yet recorded as managed."""
        if not user_names:
            return
        conn = self._connection()
        stamp = _ts(now)
        try:
            with transaction(conn):
                conn.executemany(
                    REMEMBER_USER, [(enterprise, name, stamp) for name in sorted(user_names)]
                )
        except sqlite3.Error as err:
            raise store_error(self.path, "record the managed users", err) from err

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
        """One journal row per change carried out in the directory."""
        if not changes:
            return
        conn = self._connection()
        rows = journal_rows(enterprise, _ts(now), actor, changes, outcome, error)
        try:
            with transaction(conn):
                conn.executemany(INSERT_JOURNAL, rows)
        except sqlite3.Error as err:
            raise store_error(self.path, "write the journal", err) from err

    def journal(self, *, enterprise: str, limit: int = 100) -> list[JournalEntry]:
        """The latest journal rows of one enterprise, newest first."""
        if self._conn is None and not self.path.exists():
            return []
        conn = self._connection()
        try:
            rows = conn.execute(
                "SELECT id, enterprise, at, actor, action, kind, key, outcome, detail "
                "FROM journal WHERE enterprise = ? ORDER BY id DESC LIMIT ?",
                (enterprise, limit),
            ).fetchall()
        except sqlite3.Error as err:
            raise store_error(self.path, "read the journal", err) from err
        return [
            JournalEntry(id_, name, datetime.fromisoformat(at), *rest)
            for id_, name, at, *rest in rows
        ]
