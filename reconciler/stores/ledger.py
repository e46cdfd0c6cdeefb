"""The people ledger's statements: one per change kind and action, written once (Core).

Each is an upsert or a guarded update keyed by natural keys, so a replayed change is a
no-op, and each takes the same parameters (`params`), so a run of changes goes to one
executemany. Bind names carry a `p_` prefix: SQLAlchemy keeps plain column names for the
SET clause it builds itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from reconciler.plan_types import Action, Kind, PlanChange
from reconciler.state import (
    INVITATION_TTL,
    ActualState,
    InvitationState,
    InvitationStatus,
    split_member_key,
)
from reconciler.stores.dialects import insert_for
from reconciler.stores.tables import invitations, members

if TYPE_CHECKING:
    from reconciler.stores.dialects import Insert


def p(name: str) -> sa.BindParameter[Any]:
    """A bound parameter of the ledger's statements."""
    return sa.bindparam(f"p_{name}")


PARAMS = ("p_enterprise", "p_organization", "p_email", "p_role", "p_now", "p_expires")
"""The names of `params`' values, in its order."""


def params(enterprise: str, change: PlanChange, now: Any, expires: Any) -> tuple[Any, ...]:
    """What every ledger statement takes for one change, named by PARAMS (times in the
    driver's form): a tuple, not a dict, as a batch makes 100,000 of them."""
    organization, email = split_member_key(change.key)
    after = change.after
    role = None if after is None else after.get("role")
    return (enterprise, organization, email, role, now, expires)


def _is(column: sa.Column[str], *values: str) -> sa.ColumnElement[bool]:
    """`column` holds one of `values`, written into the statement (a run of changes is one
    executemany, which takes no list-valued parameters)."""
    return column.in_([sa.literal_column(f"'{value}'", sa.Text) for value in values])


_PENDING = sa.literal_column("'pending'", sa.Text)


def _row(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.enterprise == p("enterprise"),
        table.c.organization == p("organization"),
        table.c.email == p("email"),
    )


def _conflicting(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """The row in the way of an upsert, by name: a correlated subquery inside ON CONFLICT
    cannot name its target table as a FROM, or it would read the whole table."""
    return sa.literal_column(f"{column.table.name}.{column.name}", column.type)


def invite(statement: Insert) -> Insert:
    """Make sure a person holds a live invitation with a role: the conflict rule `statement`
    (an insert of invitations) needs.

    A pending, unexpired invitation keeps its dates (a replay is a no-op; a role change
    keeps them too); one that no longer invites anyone (revoked, expired, or accepted by
    someone no longer a member) is re-sent: pending again with fresh dates. The row's own
    state decides, not the plan's `before`, so a replayed re-send stays a no-op too.
    """
    i, new = invitations.c, statement.excluded
    still_a_member = sa.exists().where(
        members.c.enterprise == _conflicting(i.enterprise),
        members.c.organization == _conflicting(i.organization),
        members.c.email == _conflicting(i.email),
    )
    lapsed = sa.or_(
        _is(i.status, "revoked", "expired"),
        sa.and_(_is(i.status, "pending"), i.expires_at <= new.invited_at),
        sa.and_(_is(i.status, "accepted"), ~still_a_member),
    )
    return statement.on_conflict_do_update(
        index_elements=[i.enterprise, i.organization, i.email],
        set_={
            "role": new.role,
            "status": _PENDING,
            "invited_at": sa.case((lapsed, new.invited_at), else_=i.invited_at),
            "expires_at": sa.case((lapsed, new.expires_at), else_=i.expires_at),
            "updated_at": new.updated_at,
        },
        where=sa.or_(lapsed, sa.and_(_is(i.status, "pending"), i.role != new.role)),
    )


def _one_invitation(insert: Callable[[sa.Table], Insert]) -> Insert:
    return insert(invitations).values(
        enterprise=p("enterprise"),
        organization=p("organization"),
        email=p("email"),
        role=p("role"),
        status=_PENDING,
        invited_at=p("now"),
        expires_at=p("expires"),
        updated_at=p("now"),
    )


@cache
def invite_many() -> Insert:
    """PostgreSQL's bulk path: a whole run of invitations in one statement, its people as
    three arrays (`unnest`); row by row costs ~35 µs each. A statement may touch a row once
    only, so a run naming one person twice goes row by row (`many_params` says which)."""
    from sqlalchemy.dialects import postgresql

    texts = postgresql.ARRAY(sa.Text)
    people = (
        sa.func.unnest(
            sa.bindparam("p_organizations", type_=texts),
            sa.bindparam("p_emails", type_=texts),
            sa.bindparam("p_roles", type_=texts),
        )
        .table_valued("organization", "email", "role")
        .render_derived(name="people")
    )
    moment = sa.TIMESTAMP(timezone=True)
    now, expires = sa.bindparam("p_now", type_=moment), sa.bindparam("p_expires", type_=moment)
    rows = sa.select(
        sa.bindparam("p_enterprise", type_=sa.Text),
        people.c.organization,
        people.c.email,
        people.c.role,
        _PENDING,
        now,
        expires,
        now,
    )
    columns = ["enterprise", "organization", "email", "role", "status"]
    columns += ["invited_at", "expires_at", "updated_at"]
    return invite(postgresql.insert(invitations).from_select(columns, rows))


def many_params(
    dialect: str,
    kind: Kind,
    action: Action,
    enterprise: str,
    run: list[PlanChange],
    now: Any,
    expires: Any,
) -> dict[str, Any] | None:
    """`invite_many`'s parameters for a run, or None where it does not apply (SQLite, other
    kinds, a run naming one person twice)."""
    if dialect != "postgresql" or kind is not Kind.INVITATION or action is Action.DELETE:
        return None
    if len({change.key for change in run}) < len(run):
        return None
    people = [split_member_key(change.key) for change in run]
    return {
        "p_enterprise": enterprise,
        "p_organizations": [organization for organization, _ in people],
        "p_emails": [email for _, email in people],
        "p_roles": [str((change.after or {})["role"]) for change in run],
        "p_now": now,
        "p_expires": expires,
    }


@cache
def writes(dialect: str) -> dict[tuple[Kind, Action], sa.Executable]:
    """The statement for each kind and action the ledger carries out, built once per dialect
    (the driver runs them compiled once: `dialects.driver_many`)."""
    inviting = invite(_one_invitation(insert_for(dialect)))
    return {
        (Kind.INVITATION, Action.CREATE): inviting,
        (Kind.INVITATION, Action.UPDATE): inviting,
        (Kind.INVITATION, Action.DELETE): (  # a revocation: the row stays, for the record
            sa.update(invitations)
            .where(_row(invitations), _is(invitations.c.status, "pending", "expired"))
            .values(status=sa.literal_column("'revoked'", sa.Text), updated_at=p("now"))
        ),
        (Kind.MEMBER, Action.UPDATE): sa.update(members)
        .where(_row(members))
        .values(role=p("role")),
        (Kind.MEMBER, Action.DELETE): sa.delete(members).where(_row(members)),
    }


def acceptance() -> tuple[sa.Select[Any], sa.Executable]:
    """(the invitation's role, status and expiry, locked; its change to `accepted`)."""
    i = invitations.c
    found = sa.select(i.role, i.status, i.expires_at).where(_row(invitations)).with_for_update()
    accepted = (
        sa.update(invitations)
        .where(_row(invitations))
        .values(status=sa.literal_column("'accepted'", sa.Text), updated_at=p("now"))
    )
    return found, accepted


def sent() -> sa.Executable:
    """A pending invitation sent now: its dates start again from `now`."""
    i = invitations.c
    return (
        sa.update(invitations)
        .where(_row(invitations), i.status == _PENDING)
        .values(invited_at=p("now"), expires_at=p("expires"), updated_at=p("now"))
    )


def membership(insert: Callable[[sa.Table], Insert]) -> Insert:
    """The accepted person as a member with the invited role."""
    statement = insert(members).values(
        enterprise=p("enterprise"),
        organization=p("organization"),
        email=p("email"),
        role=p("role"),
        joined_at=p("now"),
    )
    return statement.on_conflict_do_update(
        index_elements=[members.c.enterprise, members.c.organization, members.c.email],
        set_={"role": statement.excluded.role},
    )


_LAPSED = (InvitationStatus.REVOKED, InvitationStatus.EXPIRED)
_REVOCABLE = (InvitationStatus.PENDING, InvitationStatus.EXPIRED)


def replayed(
    before: ActualState, written: Sequence[tuple[Sequence[PlanChange], datetime]], now: datetime
) -> ActualState:
    """The ledger as `writes`' statements leave it, replayed in memory: `before` (read under
    the same lock) after each batch, at the moment it was written. What `SqlStore.read`
    would give, without reading 100,000 rows back; each branch mirrors one of the statements
    above (`invite`'s conflict rule, the revocation, the member updates), and a contract test
    holds the two equal on both databases."""
    invitations = dict(before.invitations)
    members = dict(before.members)
    organizations = set(before.organizations)
    pending, invitation, delete = InvitationStatus.PENDING, Kind.INVITATION, Action.DELETE
    new = InvitationState
    for batch, moment in written:
        expires = moment + INVITATION_TTL
        for change in batch:
            key = change.key
            organization, _, email = key.partition("/")
            organizations.add(organization)  # `_ensure` makes the row of each one named
            after = change.after
            role: str = "" if after is None else after["role"]
            held = invitations.get(key)
            if change.kind is invitation and change.action is not delete:
                if (
                    held is None  # the usual case, a first invitation: one row inserted
                    or held.status in _LAPSED
                    or (held.status is pending and held.expires_at <= moment)
                    or (held.status is InvitationStatus.ACCEPTED and key not in members)
                ):
                    invitations[key] = new(organization, email, role, pending, moment, expires)
                elif held.status is pending and held.role != role:
                    invitations[key] = replace(held, role=role)  # its dates kept
            elif change.kind is invitation:
                if held is not None and held.status in _REVOCABLE:
                    invitations[key] = replace(held, status=InvitationStatus.REVOKED)
            elif change.kind is Kind.MEMBER and change.action is Action.UPDATE:
                if key in members:
                    members[key] = replace(members[key], role=role)
            elif change.kind is Kind.MEMBER and change.action is delete:
                members.pop(key, None)
            else:  # `SqlStore.write` refuses any other change before writing
                raise ValueError(f"the ledger does not {change.action} a {change.kind}")
    return replace(
        before,
        as_of=now,
        exists=True,
        organizations=frozenset(organizations),
        invitations=invitations,
        members=members,
    )
