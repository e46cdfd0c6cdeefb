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
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import groupby

import sqlalchemy as sa

from reconciler import gc_policy
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
from reconciler.stores import dialects, ledger, statements
from reconciler.stores.base import (
    LOCK_LEASE,
    JournalEntry,
    LockInfo,
    Store,
    Written,
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
from reconciler.stores.schema import SHIPPED, Migrations
from reconciler.stores.session import Session
from reconciler.stores.statements import (
    CONFIRMATIONS,
    ENTERPRISES,
    EXISTS,
    HELD_LOCK,
    INVITATIONS,
    LOCK,
    MANAGED_TEAMS,
    MANAGED_USERS,
    MEMBERS,
    ORGANIZATIONS,
)
from reconciler.stores.tables import journal

_STATUSES = {status.value: status for status in InvitationStatus}


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
        self._session = Session(target, migrations, writes=writes)

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

    def close(self) -> None:
        """Close the connection; the next call opens it again."""
        self._session.close()

    # -- reading -------------------------------------------------------------------------------

    def read(self, *, enterprise: str, now: datetime) -> ActualState:
        """One consistent snapshot: one query per table, rows turned straight into dataclasses."""
        statuses = _STATUSES
        where = {"enterprise": enterprise}
        with self._session.reading("read the store") as conn, gc_policy.paused():
            if conn is None:
                return ActualState(enterprise=enterprise, as_of=now)
            times = dialects.time_reader(conn)
            exists = conn.execute(EXISTS, where).first()
            held = frozenset(conn.scalars(ORGANIZATIONS, where))
            invited = {
                key: InvitationState(
                    org, email, role, statuses[status], times(invited_at), times(expires)
                )
                for key, org, email, role, status, invited_at, expires in dialects.driver_rows(
                    conn, INVITATIONS, where
                )
            }
            joined = {
                key: MemberState(org, email, role, times(at))
                for key, org, email, role, at in dialects.driver_rows(conn, MEMBERS, where)
            }
            confirmed = {
                (kind, key): Confirmation(kind, key, digest, actor, at, confirmation_detail(detail))
                for kind, key, digest, actor, at, detail in conn.execute(CONFIRMATIONS, where)
            }
            user_ids = dict(dialects.driver_rows(conn, MANAGED_USERS, where))
            teams = {
                (org, role): ManagedTeam(org, role, scim_id, name)
                for org, role, scim_id, name in conn.execute(MANAGED_TEAMS, where)
            }
        return ActualState(
            enterprise=enterprise,
            as_of=now,
            exists=exists is not None,
            domains=verified_domains(confirmed),
            organizations=held,
            invitations=invited,
            members=joined,
            confirmations=confirmed,
            managed_users=frozenset(user_ids),
            managed_user_ids=user_ids,
            managed_teams=teams,
        )

    def enterprises(self) -> list[str]:
        """Names of the enterprises the record holds, sorted; reading creates nothing."""
        with self._session.reading("list the enterprises") as conn:
            if conn is None:
                return []
            return list(conn.scalars(ENTERPRISES))

    def journal(
        self, *, enterprise: str, limit: int = 100, since: datetime | None = None
    ) -> list[JournalEntry]:
        """The latest journal rows of one enterprise, newest first; with `since`, only rows
        at or after it (SQLite's fixed-width UTC text compares as the moments do)."""
        j = journal.c
        query = (
            sa.select(j.id, j.enterprise, j.at, j.actor, j.action, j.kind, j.key, j.outcome)
            .add_columns(j.detail)
            .where(j.enterprise == enterprise)
            .order_by(j.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(j.at >= _aware(since))
        with self._session.reading("read the journal") as conn:
            return [] if conn is None else [JournalEntry(*row) for row in conn.execute(query)]

    def current_lock(self, *, enterprise: str) -> LockInfo | None:
        """The lock row as it stands, stale or not; never creates the store."""
        with self._session.reading("read the lock") as conn:
            row = None if conn is None else conn.execute(LOCK, {"enterprise": enterprise}).first()
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
        statements = ledger.writes(self.dialect)
        try:
            with self._session.writing("write changes") as conn:
                stamp = dialects.driver_time(conn, now)
                expires = dialects.driver_time(conn, now + INVITATION_TTL)
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
                    dialects.driver_many(conn, statements[kind, action], ledger.PARAMS, rows)
                dialects.add_journal(
                    conn, journal_rows(enterprise, stamp, actor, changes, "recorded")
                )
        except StoreError as err:
            cause = err.__cause__
            if cause is None or self._session.target.journals_failures_of(cause):
                self._journal_failure(enterprise, now, actor, changes, str(err))
            raise

    def recorded(
        self, before: ActualState, written: Sequence[Written], *, now: datetime
    ) -> ActualState:
        """The ledger's writes replayed in memory (`ledger.replayed`), not read back."""
        return ledger.replayed(before, written, now)

    def _ensure(
        self, conn: sa.Connection, enterprise: str, now: datetime, orgs: Sequence[str] = ()
    ) -> None:
        """The enterprise's row, and its organizations' rows, made when missing."""
        insert = dialects.upsert(conn)
        row = {"enterprise": enterprise, "created_at": now}
        conn.execute(statements.ensure_enterprise(insert), {"name": enterprise, "created_at": now})
        if orgs:
            conn.execute(
                statements.ensure_organization(insert), [{**row, "name": org} for org in orgs]
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
        conn = self._session.usable()
        if conn is None:
            return
        rows = journal_rows(
            enterprise, dialects.driver_time(conn, now), actor, changes, "failed", error
        )
        try:
            with self._session.doing("journal the failure"), transaction(conn, write=True):
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
        with self._session.writing("write the journal") as conn:
            stamp = dialects.driver_time(conn, now)
            rows = journal_rows(enterprise, stamp, actor, changes, outcome, error)
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
        where = {"enterprise": enterprise}
        with self._session.writing("take the lock") as conn:
            for _ in range(5):  # loops only while other runners insert and release the row
                row = conn.execute(HELD_LOCK, where).first()
                if row is None:
                    taken = conn.execute(
                        statements.new_lock(dialects.upsert(conn)),
                        {**where, "holder": holder, "acquired_at": now, "expires_at": now + lease},
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
                moved = {"holder": holder, "acquired_at": acquired, "expires_at": now + lease}
                conn.execute(statements.moved_lock(enterprise, **moved))
                return None
        raise StoreError(f"{self.where}: cannot take the lock: it kept changing hands; retry")

    def unlock(self, *, enterprise: str, holder: str) -> None:
        """Release the lock if `holder` still holds it."""
        if self._session.ready(write=True, create=False) is None:
            return  # no record, so no lock
        with self._session.writing("release the lock") as conn:
            conn.execute(statements.released_lock(enterprise, holder))

    # -- people, confirmations and the directory's resources -----------------------------------

    def accept_invitations(
        self,
        *,
        enterprise: str,
        people: Sequence[tuple[str, str]],
        actor: str,
        now: datetime,
    ) -> None:
        """Pending, unexpired invitations become accepted and their people members, all in
        one transaction (each row checked first, so one refusal records nothing)."""
        _aware(now)
        found, accepted = ledger.acceptance()
        rows: list[dict[str, object]] = []
        events = []
        with self._session.writing("record the acceptance", create=False) as conn:
            stamp = dialects.driver_time(conn, now)
            for organization, email in dict.fromkeys((o, e.lower()) for o, e in people):
                key = member_key(organization, email)
                where = {
                    "p_enterprise": enterprise,
                    "p_organization": organization,
                    "p_email": email,
                }
                row = conn.execute(found, where).first()
                role, status, expires_at = row or (None, None, None)
                refuse_acceptance(enterprise, key, status, expires_at, now)
                rows.append({**where, "p_role": role, "p_now": now})
                detail = {"before": {"status": status}, "after": {"status": "accepted"}}
                what = ("accept", "invitation", key)
                events.append(journal_event(enterprise, stamp, actor, what, "recorded", detail))
            if not rows:
                return
            conn.execute(accepted, [{k: v for k, v in r.items() if k != "p_role"} for r in rows])
            conn.execute(ledger.membership(dialects.upsert(conn)), rows)
            dialects.add_journal(conn, events)

    def invitation_sent(
        self, *, enterprise: str, organization: str, email: str, actor: str, now: datetime
    ) -> None:
        """The pending invitation's dates start from `now`, journaled in one transaction."""
        _aware(now)
        email = email.lower()
        key = member_key(organization, email)
        where = {"p_enterprise": enterprise, "p_organization": organization, "p_email": email}
        with self._session.writing("record the invitation as sent", create=False) as conn:
            stamp = dialects.driver_time(conn, now)
            params = {**where, "p_now": now, "p_expires": now + INVITATION_TTL}
            if conn.execute(ledger.sent(), params).rowcount != 1:
                raise StoreError(f"no pending invitation for {key} in enterprise '{enterprise}'")
            detail = {"after": {"status": "pending", "sent": now.isoformat()}}
            what = ("send", "invitation", key)
            event = journal_event(enterprise, stamp, actor, what, "recorded", detail)
            dialects.add_journal(conn, [event])

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
        what = ("confirm", kind, key)
        with self._session.writing("record the confirmation") as conn:
            stamp = dialects.driver_time(conn, now)
            event = journal_event(enterprise, stamp, actor, what, "confirmed", detail)
            self._ensure(conn, enterprise, now)
            row: dict[str, object] = {"enterprise": enterprise, "kind": kind, "key": key}
            row["digest"] = digest
            row |= {"detail": to_json(dict(detail)), "actor": actor, "confirmed_at": now}
            conn.execute(statements.confirmation(dialects.upsert(conn)), row)
            dialects.add_journal(conn, [event])

    def unconfirm(self, *, enterprise: str, kind: str, key: str, actor: str, now: datetime) -> None:
        """Delete the confirmation and journal it, in one transaction."""
        _aware(now)
        with self._session.writing("record the confirmation") as conn:
            stamp = dialects.driver_time(conn, now)
            event = journal_event(enterprise, stamp, actor, ("remove", kind, key), "confirmed", {})
            conn.execute(statements.unconfirmed(enterprise, kind, key))
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
        with self._session.writing("record the managed users") as conn:
            conn.execute(statements.managed_user(dialects.upsert(conn)), rows)

    def remember_teams(
        self, *, enterprise: str, teams: Sequence[ManagedTeam], actor: str, now: datetime
    ) -> None:
        """Record teams the tool created or adopted; a team already recorded for its
        (organization, role) takes the new SCIM id and displayName."""
        if not teams:
            return
        _aware(now)
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
        with self._session.writing("record the managed teams") as conn:
            conn.execute(statements.managed_team(dialects.upsert(conn)), rows)

    def forget_teams(
        self, *, enterprise: str, teams: Collection[tuple[str, str]], actor: str, now: datetime
    ) -> None:
        """Forget the teams of these (organization, role) pairs: the tool deleted them."""
        if not teams:
            return
        _aware(now)
        rows = [{"organization_": org, "role_": role} for org, role in sorted(teams)]
        with self._session.writing("forget the managed teams") as conn:
            conn.execute(statements.forgotten_team(enterprise), rows)
