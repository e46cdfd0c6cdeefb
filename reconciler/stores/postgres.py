"""The shared store: PostgreSQL, for many pipeline runners applying to one database.

    postgresql://user:password@host:5432/dbname?options=-csearch_path%3Dinsomnia_sso

Any libpq URI works (`postgres://` too); its query parameters reach libpq unchanged, so a
deployment picks the schema with `options=-csearch_path%3D…` and TLS with `sslmode=…`. The
tables are the SQLite store's, with the same meaning, typed for PostgreSQL (TIMESTAMPTZ,
read back as aware UTC datetimes). The client secret is never held: only its keyed
fingerprint, and the journal holds neither.

Reading a schema with no store in it gives an empty snapshot and creates nothing, so `plan`
never writes. The first call that writes creates the tables. MIGRATIONS run in order inside
one transaction under `pg_advisory_xact_lock`, so runners starting at once migrate once; a
schema from a newer insomnia-sso is refused, never downgraded. `read` takes one REPEATABLE
READ, read-only snapshot across the tables; `write` is one transaction per batch.

Error messages name the server as `postgresql://host:port/dbname`, never the whole URL, and
the URL's password is struck out of any text that reaches one: a URL may hold a password.
Connecting, migrating and that scrubbing live in `postgres_connect.py`; this module names the
schema to reach.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from reconciler.errors import StoreError
from reconciler.plan import Action, Kind, PlanChange
from reconciler.state import (
    INVITATION_TTL,
    ActualState,
    Confirmation,
    InvitationState,
    InvitationStatus,
    MemberState,
    member_key,
)
from reconciler.stores import postgres_schema as sql
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
from reconciler.stores.postgres_connect import CONNECT_TIMEOUT, Connection, Server, migrate
from reconciler.stores.postgres_schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore"]

_STATUSES = {status.value: status for status in InvitationStatus}

Row = tuple[Any, ...]


def _aware(moment: datetime) -> datetime:
    """A naive datetime is a bug, not a guess about the server's time zone."""
    if moment.tzinfo is None:
        raise ValueError("stores take timezone-aware datetimes")
    return moment


class PostgresStore(Store):
    """Actual state in one PostgreSQL schema; see the module docstring for its rules."""

    def __init__(self, url: str, *, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        self.url = url
        self._server = Server(url, connect_timeout=connect_timeout)
        self.where = self._server.where
        self._conn: Connection | None = None
        self._ready = False

    # -- connecting and migrating --------------------------------------------------------------

    def _connection(self, *, create: bool = True) -> Connection | None:
        """The open connection with the schema current, or None when there is no store and
        `create` is False (nothing is created then)."""
        conn = self._conn
        if conn is None or conn.closed:
            self._conn, self._ready = None, False
            conn = self._server.connect()
            self._conn = conn
        if not self._ready:
            try:  # MIGRATIONS and SCHEMA_VERSION are read at call time: this module names them
                if not migrate(conn, self.where, MIGRATIONS, SCHEMA_VERSION, create=create):
                    return None
            except psycopg.Error as err:
                raise self._server.error("prepare the store", err) from err
            self._ready = True
        return conn

    def close(self) -> None:
        """Close the connection; the next call opens it again."""
        if self._conn is not None:
            self._conn.close()
            self._conn, self._ready = None, False

    # -- reading -------------------------------------------------------------------------------

    def read(self, *, enterprise: str, now: datetime) -> ActualState:
        """One consistent snapshot: one query per table, in one REPEATABLE READ transaction."""
        conn = self._connection(create=False)
        if conn is None:
            return ActualState(enterprise=enterprise, as_of=now)
        statuses = _STATUSES
        where = (enterprise,)
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cur = conn.cursor(binary=True)  # no text parsing of 200,000 timestamps
                exists = cur.execute(sql.READ_EXISTS, where).fetchone() is not None
                organizations = frozenset(
                    name for (name,) in cur.execute(sql.READ_ORGANIZATIONS, where)
                )
                invitations = {
                    key: InvitationState(org, email, role, statuses[status], invited, expires)
                    for key, org, email, role, status, invited, expires in cur.execute(
                        sql.READ_INVITATIONS, where
                    )
                }
                members = {
                    key: MemberState(org, email, role, joined)
                    for key, org, email, role, joined in cur.execute(sql.READ_MEMBERS, where)
                }
                confirmations = {
                    (kind, key): Confirmation(kind, key, digest, actor, at, confirmation_detail(d))
                    for kind, key, digest, actor, at, d in cur.execute(
                        sql.READ_CONFIRMATIONS, where
                    )
                }
                managed = frozenset(name for (name,) in cur.execute(sql.READ_MANAGED_USERS, where))
        except psycopg.Error as err:
            raise self._server.error("read the store", err) from err
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
        """Names of the enterprises in the schema, sorted; reading creates nothing."""
        conn = self._connection(create=False)
        if conn is None:
            return []
        try:
            rows = conn.execute("SELECT name FROM enterprises ORDER BY name").fetchall()
        except psycopg.Error as err:
            raise self._server.error("list the enterprises", err) from err
        return [name for (name,) in rows]

    def write(
        self, *, enterprise: str, changes: Sequence[PlanChange], actor: str, now: datetime
    ) -> None:
        """Carry out `changes` in one transaction, one journal row each; idempotent per change.

        Runs of changes of one kind and action go to one statement, keeping plan order: the
        invitations of a run as arrays (`unnest`), other kinds as a pipelined `executemany`,
        and the journal rows as one COPY. Every write is an upsert or a guarded update keyed
        by natural keys, so a change that was already applied changes nothing. On failure
        nothing is kept and the attempt is journaled with outcome `failed`.
        """
        if not changes:
            return
        _aware(now)
        conn = self._live()
        expires = now + INVITATION_TTL
        try:
            with conn.transaction():
                cur = conn.cursor()
                cur.execute(sql.ENSURE_ENTERPRISE, (enterprise, now))
                cur.executemany(
                    sql.ENSURE_ORGANIZATION,
                    [(enterprise, org, now) for org in ledger_organizations(changes)],
                )
                for (kind, action), run in groupby(changes, key=lambda c: (c.kind, c.action)):
                    if (kind, action) not in sql.WRITES:
                        raise StoreError(
                            f"the PostgreSQL store cannot {action.value} a {kind.value}"
                        )
                    batch = list(run)
                    invites = kind is Kind.INVITATION and action is not Action.DELETE
                    if invites and _distinct_keys(batch):
                        cur.execute(sql.INVITE_MANY, _invitations(enterprise, batch, now, expires))
                        continue
                    params = CHANGE_PARAMS[kind, action]
                    rows = [params(enterprise, c, now, expires) for c in batch]
                    cur.executemany(sql.WRITES[kind, action], rows)
                _copy_journal(cur, journal_rows(enterprise, now, actor, changes, "recorded"))
        except StoreError as err:
            self._journal_failure(conn, enterprise, now, actor, changes, str(err))
            raise
        except psycopg.Error as err:
            error = self._server.error("write changes", err)
            self._journal_failure(conn, enterprise, now, actor, changes, str(error))
            raise error from err

    def _live(self) -> Connection:
        conn = self._connection()
        assert conn is not None  # create=True always gives one or raises
        return conn

    def _journal_failure(
        self,
        conn: Connection,
        enterprise: str,
        now: datetime,
        actor: str,
        changes: Sequence[PlanChange],
        error: str,
    ) -> None:
        """Best effort: the audit trail shows failed attempts too, unless the server is gone."""
        if conn.closed:
            return
        rows = journal_rows(enterprise, now, actor, changes, "failed", error)
        try:
            with conn.transaction():
                _copy_journal(conn.cursor(), rows)
        except psycopg.Error:
            pass

    # -- the lock ------------------------------------------------------------------------------

    def try_lock(
        self, *, enterprise: str, holder: str, now: datetime, lease: timedelta = LOCK_LEASE
    ) -> LockInfo | None:
        """Take the lock when free or stale (see `stale_reason`), or renew our own lease.

        Atomic across runners: the decision is made in one transaction holding the lock row
        (`SELECT … FOR UPDATE`), or inserting it (`ON CONFLICT DO NOTHING`, which waits for a
        concurrent insert and then loses to it). Taking over a stale lock is journaled,
        naming the previous holder.
        """
        _aware(now)
        conn = self._live()
        try:
            with conn.transaction():
                for _ in range(5):  # only loops while other runners insert and release the row
                    row = conn.execute(sql.SELECT_LOCK, (enterprise,)).fetchone()
                    if row is None:
                        taken = conn.execute(
                            sql.INSERT_LOCK, (enterprise, holder, now, now + lease)
                        )
                        if taken.rowcount == 1:
                            return None
                        continue  # another runner inserted it first: read and decide again
                    current = LockInfo(*row)
                    acquired = now
                    if current.holder == holder:
                        acquired = current.acquired_at
                    else:
                        reason = stale_reason(current, now)
                        if reason is None:
                            return current
                        detail = {"previous_holder": current.holder, "reason": reason}
                        what = ("lock", "enterprise", enterprise)
                        conn.execute(
                            sql.INSERT_JOURNAL,
                            journal_event(enterprise, now, holder, what, "taken over", detail),
                        )
                    conn.execute(sql.UPDATE_LOCK, (holder, acquired, now + lease, enterprise))
                    return None
        except psycopg.Error as err:
            raise self._server.error("take the lock", err) from err
        raise StoreError(f"{self.where}: cannot take the lock: it kept changing hands; retry")

    def unlock(self, *, enterprise: str, holder: str) -> None:
        """Release the lock if `holder` still holds it."""
        conn = self._connection(create=False)
        if conn is None:
            return
        try:
            conn.execute(sql.DELETE_LOCK, (enterprise, holder))
        except psycopg.Error as err:
            raise self._server.error("release the lock", err) from err

    def current_lock(self, *, enterprise: str) -> LockInfo | None:
        """The lock row as it stands, stale or not; never creates the store."""
        conn = self._connection(create=False)
        if conn is None:
            return None
        try:
            row = conn.execute(sql.SELECT_CURRENT_LOCK, (enterprise,)).fetchone()
        except psycopg.Error as err:
            raise self._server.error("read the lock", err) from err
        return None if row is None else LockInfo(*row)

    # -- people and the journal ----------------------------------------------------------------

    def _existing(self) -> Connection:
        conn = self._connection(create=False)
        if conn is None:
            raise StoreError(f"{self.where}: there is no store here yet (run apply first)")
        return conn

    def accept_invitation(
        self, *, enterprise: str, organization: str, email: str, actor: str, now: datetime
    ) -> None:
        """A pending, unexpired invitation becomes accepted and the person a member."""
        _aware(now)
        email = email.lower()
        key = member_key(organization, email)
        conn = self._existing()
        where = (enterprise, organization, email)
        try:
            with conn.transaction():
                row = conn.execute(sql.SELECT_INVITATION, where).fetchone()
                role, status, expires_at = row or (None, None, None)
                refuse_acceptance(enterprise, key, status, expires_at, now)
                conn.execute(sql.ACCEPT_INVITATION, (now, *where))
                conn.execute(sql.ADD_MEMBER, (*where, role, now))
                detail = {"before": {"status": status}, "after": {"status": "accepted"}}
                what = ("accept", "invitation", key)
                conn.execute(
                    sql.INSERT_JOURNAL,
                    journal_event(enterprise, now, actor, what, "recorded", detail),
                )
        except psycopg.Error as err:
            raise self._server.error("record the acceptance", err) from err

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
        _aware(now)
        conn = self._live()
        event = journal_event(enterprise, now, actor, ("confirm", kind, key), "confirmed", detail)
        try:
            with conn.transaction():
                conn.execute(sql.ENSURE_ENTERPRISE, (enterprise, now))
                conn.execute(
                    sql.UPSERT_CONFIRMATION,
                    (enterprise, kind, key, digest, to_json(dict(detail)), actor, now),
                )
                conn.execute(sql.INSERT_JOURNAL, event)
        except psycopg.Error as err:
            raise self._server.error("record the confirmation", err) from err

    def unconfirm(self, *, enterprise: str, kind: str, key: str, actor: str, now: datetime) -> None:
        """Delete the confirmation and journal it, in one transaction."""
        _aware(now)
        conn = self._live()
        event = journal_event(enterprise, now, actor, ("remove", kind, key), "confirmed", {})
        try:
            with conn.transaction():
                conn.execute(sql.DELETE_CONFIRMATION, (enterprise, kind, key))
                conn.execute(sql.INSERT_JOURNAL, event)
        except psycopg.Error as err:
            raise self._server.error("record the confirmation", err) from err

    def remember_users(
        self, *, enterprise: str, user_names: Collection[str], actor: str, now: datetime
    ) -> None:
        """Insert the user names not yet recorded as managed."""
        if not user_names:
            return
        _aware(now)
        conn = self._live()
        try:
            with conn.transaction():
                conn.cursor().executemany(
                    sql.REMEMBER_USER, [(enterprise, name, now) for name in sorted(user_names)]
                )
        except psycopg.Error as err:
            raise self._server.error("record the managed users", err) from err

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
        """One journal row per change carried out in the directory, as one COPY."""
        if not changes:
            return
        _aware(now)
        conn = self._live()
        try:
            with conn.transaction():
                _copy_journal(
                    conn.cursor(), journal_rows(enterprise, now, actor, changes, outcome, error)
                )
        except psycopg.Error as err:
            raise self._server.error("write the journal", err) from err

    def journal(self, *, enterprise: str, limit: int = 100) -> list[JournalEntry]:
        """The latest journal rows of one enterprise, newest first."""
        conn = self._connection(create=False)
        if conn is None:
            return []
        try:
            rows = conn.execute(sql.READ_JOURNAL, (enterprise, limit)).fetchall()
        except psycopg.Error as err:
            raise self._server.error("read the journal", err) from err
        return [JournalEntry(*row) for row in rows]


def _distinct_keys(changes: list[PlanChange]) -> bool:
    return len({change.key for change in changes}) == len(changes)


def _invitations(
    enterprise: str, changes: list[PlanChange], now: datetime, expires: datetime
) -> dict[str, Any]:
    """INVITE_MANY's parameters: the run's invitations as three parallel arrays."""
    organizations, emails, roles = [], [], []
    for change in changes:
        organization, _, email = change.key.partition("/")
        organizations.append(organization)
        emails.append(email)
        roles.append(str((change.after or {})["role"]))
    return {
        "enterprise": enterprise,
        "now": now,
        "expires": expires,
        "organizations": organizations,
        "emails": emails,
        "roles": roles,
    }


def _copy_journal(cur: psycopg.Cursor[TupleRow], rows: list[Row]) -> None:
    with cur.copy(sql.COPY_JOURNAL) as copy:
        for row in rows:
            copy.write_row(row)
