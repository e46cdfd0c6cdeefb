"""The record in an SQL database: one implementation for SQLite and PostgreSQL (SQLAlchemy Core).

    SqlStore.sqlite(".insomnia-sso/state.db")      the embedded default, one file
    SqlStore.postgres("postgresql://…")            shared by many pipeline runners

The tables are declared once (`tables.py`), the statements written once, here and in
`ledger.py`; the few places the databases differ are named in `dialects.py` (transactions,
upsert, the hot read, bulk loading) and `connect.py` (opening). The schema's history is
Alembic's (`migrations/`); when a store may upgrade a record and when it refuses is
`schema.py`'s to say. The client secret is never held: only its keyed fingerprint, and the
journal holds neither.

Reading a record that does not exist yet gives an empty snapshot and creates nothing, so
`plan` never writes; the first call that writes creates it. `read` is one consistent
snapshot (one query per table); `write` is one transaction per batch.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import groupby

import sqlalchemy as sa

from reconciler.errors import StoreError
from reconciler.plan_types import PlanChange
from reconciler.state import (
    INVITATION_TTL,
    ActualState,
    Confirmation,
    InvitationState,
    InvitationStatus,
    ManagedTeam,
    MemberState,
    member_key,
)
from reconciler.stores import dialects, ledger
from reconciler.stores.base import (
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
from reconciler.stores.connect import PostgresServer, SqliteFile, Target
from reconciler.stores.dialects import transaction
from reconciler.stores.schema import (
    SHIPPED,
    Migrations,
    behind,
    marker,
    refuse_foreign,
    refuse_newer,
)
from reconciler.stores.tables import (
    confirmations,
    enterprises,
    invitations,
    journal,
    locks,
    managed_teams,
    managed_users,
    members,
    organizations,
)

_STATUSES = {status.value: status for status in InvitationStatus}
_ENTERPRISE: sa.BindParameter[str] = sa.bindparam("enterprise")

# The hot read's statements: their rows come from the driver's cursor (`driver_rows`).
_INVITATIONS = sa.select(
    invitations.c.organization + "/" + invitations.c.email,
    *(invitations.c[name] for name in ("organization", "email", "role", "status")),
    invitations.c.invited_at,
    invitations.c.expires_at,
).where(invitations.c.enterprise == _ENTERPRISE)
_MEMBERS = sa.select(
    members.c.organization + "/" + members.c.email,
    *(members.c[name] for name in ("organization", "email", "role", "joined_at")),
).where(members.c.enterprise == _ENTERPRISE)
_MANAGED_USERS = sa.select(managed_users.c.user_name, managed_users.c.scim_id).where(
    managed_users.c.enterprise == _ENTERPRISE
)
_LOCK = sa.select(locks.c.holder, locks.c.acquired_at, locks.c.expires_at).where(
    locks.c.enterprise == _ENTERPRISE
)


def _aware(moment: datetime) -> datetime:
    """A naive datetime is a bug, not a guess about a time zone."""
    if moment.tzinfo is None:
        raise ValueError("stores take timezone-aware datetimes")
    return moment


class SqlStore(Store):
    """The record in one SQLite file or one PostgreSQL schema; see the module docstring.

    `writes=True` says the command using the store writes to it: a record at an older
    schema is then upgraded on first use, reads included. Without it, reads refuse an older
    schema (one line saying how to upgrade) and only a write upgrades it.
    """

    def __init__(
        self,
        target: Target,
        *,
        url: str,
        writes: bool = False,
        migrations: Migrations = SHIPPED,
    ) -> None:
        self.url = url
        self.where = target.where
        self.dialect = target.dialect
        self.writes = writes
        self._target = target
        self._migrations = migrations
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self._current = False

    @classmethod
    def sqlite(
        cls,
        path: str | os.PathLike[str],
        *,
        url: str | None = None,
        writes: bool = False,
        migrations: Migrations = SHIPPED,
    ) -> SqlStore:
        """The record in the SQLite file at `path` (created by the first write)."""
        target = SqliteFile(path, migrations.head)
        url = url or f"sqlite:///{target.path}"
        return cls(target, url=url, writes=writes, migrations=migrations)

    @classmethod
    def postgres(
        cls, url: str, *, writes: bool = False, migrations: Migrations = SHIPPED
    ) -> SqlStore:
        """The record in the PostgreSQL schema a libpq URI's search_path names."""
        return cls(PostgresServer(url), url=url, writes=writes, migrations=migrations)

    # -- connecting and the schema -------------------------------------------------------------

    def _ready(self, *, write: bool, create: bool | None = None) -> sa.Connection | None:
        """The connection with the record at the current schema, or None when there is no
        record and this call may not create one (`create`, by default `write`): nothing is
        created then."""
        create = write if create is None else create
        conn = self._conn
        if conn is not None and (conn.closed or conn.invalidated):
            self.close()
            conn = None
        if conn is None:
            if not self._target.may_hold_a_record():
                if not create:
                    return None
                self._target.make_room()
            if self._engine is None:
                self._engine = self._target.engine()
            with self._doing("connect"):
                conn = self._conn = self._engine.connect()
        if not self._current:
            with self._doing("read the schema"), transaction(conn, write=False):
                version, foreign = marker(conn)
            if foreign:
                refuse_foreign(self.where, foreign)
            refuse_newer(self.where, version or 0, self._migrations.head)
            if version is None and not create:
                return None
            if version != self._migrations.head:
                if version is not None and not (write or self.writes):
                    raise behind(self.where, version, self._migrations.head)
                self._upgrade(conn)
            self._current = True
        return conn

    def _upgrade(self, conn: sa.Connection) -> None:
        from reconciler.stores import migrate  # Alembic is loaded only to migrate

        with self._doing("upgrade the store"), transaction(conn, write=True):
            migrate.upgrade(conn, self.where, self._migrations)

    def _live(self) -> sa.Connection:
        conn = self._ready(write=True)
        assert conn is not None  # a write always gets one, or raises
        return conn

    def _existing(self) -> sa.Connection:
        conn = self._ready(write=True, create=False)
        if conn is None:
            raise StoreError(f"{self.where}: there is no store here yet (run apply first)")
        return conn

    @contextmanager
    def _doing(self, what: str) -> Iterator[None]:
        """The driver's failure while doing `what`, as one StoreError line."""
        try:
            yield
        except sa.exc.DBAPIError as err:
            cause = err.orig or err
            raise self._target.error(what, cause) from cause
        except self._target.driver_errors as err:
            raise self._target.error(what, err) from err

    def close(self) -> None:
        """Close the connection; the next call opens it again."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._current = False

    # -- reading -------------------------------------------------------------------------------

    def read(self, *, enterprise: str, now: datetime) -> ActualState:
        """One consistent snapshot: one query per table, rows turned straight into dataclasses."""
        conn = self._ready(write=False)
        if conn is None:
            return ActualState(enterprise=enterprise, as_of=now)
        statuses = _STATUSES
        where = {"enterprise": enterprise}
        with self._doing("read the store"), transaction(conn, write=False):
            times = dialects.time_reader(conn)
            exists = conn.execute(
                sa.select(enterprises.c.name).where(enterprises.c.name == enterprise)
            ).first()
            organizations_held = frozenset(
                conn.scalars(
                    sa.select(organizations.c.name).where(organizations.c.enterprise == enterprise)
                )
            )
            invited = {
                key: InvitationState(
                    org, email, role, statuses[status], times(invited_at), times(expires)
                )
                for key, org, email, role, status, invited_at, expires in dialects.driver_rows(
                    conn, _INVITATIONS, where
                )
            }
            joined = {
                key: MemberState(org, email, role, times(at))
                for key, org, email, role, at in dialects.driver_rows(conn, _MEMBERS, where)
            }
            c = confirmations.c
            confirmed = {
                (kind, key): Confirmation(kind, key, digest, actor, at, confirmation_detail(detail))
                for kind, key, digest, actor, at, detail in conn.execute(
                    sa.select(c.kind, c.key, c.digest, c.actor, c.confirmed_at, c.detail).where(
                        c.enterprise == enterprise
                    )
                )
            }
            user_ids = dict(dialects.driver_rows(conn, _MANAGED_USERS, where))
            t = managed_teams.c
            teams = {
                (org, role): ManagedTeam(org, role, scim_id, name)
                for org, role, scim_id, name in conn.execute(
                    sa.select(t.organization, t.role, t.scim_id, t.display_name).where(
                        t.enterprise == enterprise
                    )
                )
            }
        return ActualState(
            enterprise=enterprise,
            as_of=now,
            exists=exists is not None,
            domains=verified_domains(confirmed),
            organizations=organizations_held,
            invitations=invited,
            members=joined,
            confirmations=confirmed,
            managed_users=frozenset(user_ids),
            managed_user_ids=user_ids,
            managed_teams=teams,
        )

    def enterprises(self) -> list[str]:
        """Names of the enterprises the record holds, sorted; reading creates nothing."""
        conn = self._ready(write=False)
        if conn is None:
            return []
        with self._doing("list the enterprises"), transaction(conn, write=False):
            return list(conn.scalars(sa.select(enterprises.c.name).order_by(enterprises.c.name)))

    def journal(self, *, enterprise: str, limit: int = 100) -> list[JournalEntry]:
        """The latest journal rows of one enterprise, newest first."""
        conn = self._ready(write=False)
        if conn is None:
            return []
        j = journal.c
        query = (
            sa.select(j.id, j.enterprise, j.at, j.actor, j.action, j.kind, j.key, j.outcome)
            .add_columns(j.detail)
            .where(j.enterprise == enterprise)
            .order_by(j.id.desc())
            .limit(limit)
        )
        with self._doing("read the journal"), transaction(conn, write=False):
            return [JournalEntry(*row) for row in conn.execute(query)]

    def current_lock(self, *, enterprise: str) -> LockInfo | None:
        """The lock row as it stands, stale or not; never creates the store."""
        conn = self._ready(write=False)
        if conn is None:
            return None
        with self._doing("read the lock"), transaction(conn, write=False):
            row = conn.execute(_LOCK, {"enterprise": enterprise}).first()
        return None if row is None else LockInfo(*row)

    # -- writing -------------------------------------------------------------------------------

    def write(
        self, *, enterprise: str, changes: Sequence[PlanChange], actor: str, now: datetime
    ) -> None:
        """Carry out `changes` in one transaction, one journal row each; idempotent per change.

        Runs of changes of one kind and action go to one executemany, keeping plan order.
        On failure nothing is kept and the attempt is journaled with outcome `failed`.
        """
        if not changes:
            return
        _aware(now)
        conn = self._live()
        statements = ledger.writes(conn.dialect.name)
        stamp = dialects.driver_time(conn, now)
        expires = dialects.driver_time(conn, now + INVITATION_TTL)
        try:
            with self._doing("write changes"), transaction(conn, write=True):
                self._ensure(conn, enterprise, now, ledger_organizations(changes))
                for (kind, action), run in groupby(changes, key=lambda c: (c.kind, c.action)):
                    if (kind, action) not in statements:
                        raise StoreError(f"the record cannot {action.value} a {kind.value}")
                    batch = list(run)
                    many = ledger.many_params(
                        self.dialect, kind, action, enterprise, batch, stamp, expires
                    )
                    if many is not None:
                        dialects.driver_execute(conn, ledger.invite_many(), many)
                        continue
                    rows = [ledger.params(enterprise, c, stamp, expires) for c in batch]
                    dialects.driver_many(conn, statements[kind, action], rows)
                dialects.add_journal(
                    conn, journal_rows(enterprise, stamp, actor, changes, "recorded")
                )
        except StoreError as err:
            cause = err.__cause__
            if cause is None or self._target.journals_failures_of(cause):
                self._journal_failure(enterprise, now, actor, changes, str(err))
            raise

    def _ensure(
        self, conn: sa.Connection, enterprise: str, now: datetime, orgs: Sequence[str] = ()
    ) -> None:
        """The enterprise's row, and its organizations' rows, made when missing."""
        insert = dialects.upsert(conn)
        conn.execute(
            insert(enterprises).values(name=enterprise, created_at=now).on_conflict_do_nothing()
        )
        if orgs:
            conn.execute(
                insert(organizations).on_conflict_do_nothing(),
                [{"enterprise": enterprise, "name": org, "created_at": now} for org in orgs],
            )

    def _journal_failure(
        self,
        enterprise: str,
        now: datetime,
        actor: str,
        changes: Sequence[PlanChange],
        error: str,
    ) -> None:
        """Best effort: the audit trail shows failed attempts too, unless the record is gone."""
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            return
        rows = journal_rows(
            enterprise, dialects.driver_time(conn, now), actor, changes, "failed", error
        )
        try:
            with self._doing("journal the failure"), transaction(conn, write=True):
                dialects.add_journal(conn, rows)
        except StoreError:
            pass

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
        _aware(now)
        conn = self._live()
        stamp = dialects.driver_time(conn, now)
        rows = journal_rows(enterprise, stamp, actor, changes, outcome, error)
        with self._doing("write the journal"), transaction(conn, write=True):
            dialects.add_journal(conn, rows)

    # -- the lock ------------------------------------------------------------------------------

    def try_lock(
        self, *, enterprise: str, holder: str, now: datetime, lease: timedelta = LOCK_LEASE
    ) -> LockInfo | None:
        """Take the lock when free or stale (see `stale_reason`), or renew our own lease.

        Decided in one write transaction holding the lock row (PostgreSQL: `FOR UPDATE`;
        SQLite: the whole file), or inserting it (`ON CONFLICT DO NOTHING`, which waits for
        a concurrent insert and then loses to it). Taking over a stale lock is journaled,
        naming the previous holder.
        """
        _aware(now)
        conn = self._live()
        held = _LOCK.with_for_update()
        with self._doing("take the lock"), transaction(conn, write=True):
            insert = dialects.upsert(conn)
            for _ in range(5):  # loops only while other runners insert and release the row
                row = conn.execute(held, {"enterprise": enterprise}).first()
                if row is None:
                    taken = conn.execute(
                        insert(locks)
                        .values(
                            enterprise=enterprise,
                            holder=holder,
                            acquired_at=now,
                            expires_at=now + lease,
                        )
                        .on_conflict_do_nothing()
                        .execution_options(preserve_rowcount=True)  # kept for INSERTs too
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
                    stamp = dialects.driver_time(conn, now)
                    event = journal_event(enterprise, stamp, holder, what, "taken over", detail)
                    dialects.add_journal(conn, [event])
                conn.execute(
                    sa.update(locks)
                    .where(locks.c.enterprise == enterprise)
                    .values(holder=holder, acquired_at=acquired, expires_at=now + lease)
                )
                return None
        raise StoreError(f"{self.where}: cannot take the lock: it kept changing hands; retry")

    def unlock(self, *, enterprise: str, holder: str) -> None:
        """Release the lock if `holder` still holds it."""
        conn = self._ready(write=True, create=False)
        if conn is None:
            return
        with self._doing("release the lock"), transaction(conn, write=True):
            conn.execute(
                sa.delete(locks).where(locks.c.enterprise == enterprise, locks.c.holder == holder)
            )

    # -- people, confirmations and the directory's resources -----------------------------------

    def accept_invitation(
        self, *, enterprise: str, organization: str, email: str, actor: str, now: datetime
    ) -> None:
        """A pending, unexpired invitation becomes accepted and the person a member."""
        _aware(now)
        email = email.lower()
        key = member_key(organization, email)
        conn = self._existing()
        stamp = dialects.driver_time(conn, now)
        found, accepted = ledger.acceptance()
        where = {"p_enterprise": enterprise, "p_organization": organization, "p_email": email}
        with self._doing("record the acceptance"), transaction(conn, write=True):
            row = conn.execute(found, where).first()
            role, status, expires_at = row or (None, None, None)
            refuse_acceptance(enterprise, key, status, expires_at, now)
            conn.execute(accepted, {**where, "p_now": now})
            conn.execute(
                ledger.membership(dialects.upsert(conn)), {**where, "p_role": role, "p_now": now}
            )
            detail = {"before": {"status": status}, "after": {"status": "accepted"}}
            what = ("accept", "invitation", key)
            dialects.add_journal(
                conn,
                [journal_event(enterprise, stamp, actor, what, "recorded", detail)],
            )

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
        stamp = dialects.driver_time(conn, now)
        event = journal_event(enterprise, stamp, actor, ("confirm", kind, key), "confirmed", detail)
        with self._doing("record the confirmation"), transaction(conn, write=True):
            self._ensure(conn, enterprise, now)
            statement = dialects.upsert(conn)(confirmations).values(
                enterprise=enterprise,
                kind=kind,
                key=key,
                digest=digest,
                detail=to_json(dict(detail)),
                actor=actor,
                confirmed_at=now,
            )
            new = statement.excluded
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["enterprise", "kind", "key"],
                    set_={
                        "digest": new.digest,
                        "detail": new.detail,
                        "actor": new.actor,
                        "confirmed_at": new.confirmed_at,
                    },
                )
            )
            dialects.add_journal(conn, [event])

    def unconfirm(self, *, enterprise: str, kind: str, key: str, actor: str, now: datetime) -> None:
        """Delete the confirmation and journal it, in one transaction."""
        _aware(now)
        conn = self._live()
        stamp = dialects.driver_time(conn, now)
        event = journal_event(enterprise, stamp, actor, ("remove", kind, key), "confirmed", {})
        c = confirmations.c
        with self._doing("record the confirmation"), transaction(conn, write=True):
            conn.execute(
                sa.delete(confirmations).where(
                    c.enterprise == enterprise, c.kind == kind, c.key == key
                )
            )
            dialects.add_journal(conn, [event])

    def remember_users(
        self,
        *,
        enterprise: str,
        user_names: Collection[str],
        actor: str,
        now: datetime,
        ids: Mapping[str, str] | None = None,
    ) -> None:
        """Record the user names not yet recorded as managed, with the SCIM ids `ids` gives
        (by lower-cased userName): a known id replaces an earlier one, "" erases none."""
        if not user_names:
            return
        _aware(now)
        conn = self._live()
        ids = ids or {}
        rows = [
            {
                "enterprise": enterprise,
                "user_name": name,
                "since": now,
                "scim_id": ids.get(name.lower(), ""),
            }
            for name in sorted(user_names)
        ]
        statement = dialects.upsert(conn)(managed_users)
        new, old = statement.excluded, managed_users.c
        with self._doing("record the managed users"), transaction(conn, write=True):
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[old.enterprise, old.user_name],
                    set_={"scim_id": new.scim_id},
                    where=sa.and_(new.scim_id != "", new.scim_id != old.scim_id),
                ),
                rows,
            )

    def remember_teams(
        self, *, enterprise: str, teams: Sequence[ManagedTeam], actor: str, now: datetime
    ) -> None:
        """Record teams the tool created or adopted; a team already recorded for its
        (organization, role) takes the new SCIM id and displayName."""
        if not teams:
            return
        _aware(now)
        conn = self._live()
        rows = [
            {
                "enterprise": enterprise,
                "organization": team.organization,
                "role": team.role,
                "scim_id": team.scim_id,
                "display_name": team.display_name,
                "since": now,
            }
            for team in teams
        ]
        statement = dialects.upsert(conn)(managed_teams)
        new, old = statement.excluded, managed_teams.c
        with self._doing("record the managed teams"), transaction(conn, write=True):
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[old.enterprise, old.organization, old.role],
                    set_={"scim_id": new.scim_id, "display_name": new.display_name},
                ),
                rows,
            )

    def forget_teams(
        self, *, enterprise: str, teams: Collection[tuple[str, str]], actor: str, now: datetime
    ) -> None:
        """Forget the teams of these (organization, role) pairs: the tool deleted them."""
        if not teams:
            return
        _aware(now)
        conn = self._live()
        t = managed_teams.c
        statement = sa.delete(managed_teams).where(
            t.enterprise == enterprise,
            t.organization == sa.bindparam("organization_"),
            t.role == sa.bindparam("role_"),
        )
        rows = [{"organization_": org, "role_": role} for org, role in sorted(teams)]
        with self._doing("forget the managed teams"), transaction(conn, write=True):
            conn.execute(statement, rows)
