"""The record's statements besides the people ledger's (`ledger.py`), written once with Core.

Reads of the snapshot, the lock, confirmations, and the directory's resources the tool
manages. Upserts take the dialect's `insert` (`dialects.upsert`): SQLite's and
PostgreSQL's ON CONFLICT take the same arguments, so each statement is still written once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from reconciler.stores.tables import (
    confirmations,
    enterprises,
    invitations,
    locks,
    managed_teams,
    managed_users,
    members,
    organizations,
)

if TYPE_CHECKING:
    from reconciler.stores.dialects import Insert

    InsertOf = Callable[[sa.Table], Insert]

_ENTERPRISE: sa.BindParameter[str] = sa.bindparam("enterprise")

# -- the snapshot ----------------------------------------------------------------------------

EXISTS = sa.select(enterprises.c.name).where(enterprises.c.name == _ENTERPRISE)
ENTERPRISES = sa.select(enterprises.c.name).order_by(enterprises.c.name)
ORGANIZATIONS = sa.select(organizations.c.name).where(organizations.c.enterprise == _ENTERPRISE)
INVITATIONS = sa.select(
    invitations.c.organization + "/" + invitations.c.email,
    *(invitations.c[name] for name in ("organization", "email", "role", "status")),
    invitations.c.invited_at,
    invitations.c.expires_at,
).where(invitations.c.enterprise == _ENTERPRISE)
"""(key, organization, email, role, status, invited_at, expires_at): a hot read."""
MEMBERS = sa.select(
    members.c.organization + "/" + members.c.email,
    *(members.c[name] for name in ("organization", "email", "role", "joined_at")),
).where(members.c.enterprise == _ENTERPRISE)
"""(key, organization, email, role, joined_at): a hot read."""
_c = confirmations.c
CONFIRMATIONS = sa.select(_c.kind, _c.key, _c.digest, _c.actor, _c.confirmed_at, _c.detail).where(
    _c.enterprise == _ENTERPRISE
)
MANAGED_USERS = sa.select(managed_users.c.user_name, managed_users.c.scim_id).where(
    managed_users.c.enterprise == _ENTERPRISE
)
"""(userName, SCIM id): a hot read with SCIM."""
_t = managed_teams.c
MANAGED_TEAMS = sa.select(_t.organization, _t.role, _t.scim_id, _t.display_name).where(
    _t.enterprise == _ENTERPRISE
)


def ensure_enterprise(insert: InsertOf) -> Insert:
    """The enterprise's row (`name`, `created_at`), made when missing."""
    return insert(enterprises).on_conflict_do_nothing()


def ensure_organization(insert: InsertOf) -> Insert:
    """An organization's row (`enterprise`, `name`, `created_at`), made when missing."""
    return insert(organizations).on_conflict_do_nothing()


# -- the lock --------------------------------------------------------------------------------

LOCK = sa.select(locks.c.holder, locks.c.acquired_at, locks.c.expires_at).where(
    locks.c.enterprise == _ENTERPRISE
)
HELD_LOCK = LOCK.with_for_update()
"""The lock row, held until the deciding transaction ends (rendered for PostgreSQL; SQLite's
write transaction holds the whole file)."""


def new_lock(insert: InsertOf) -> Insert:
    """The lock row inserted, unless another runner's insert came first (rowcount 0)."""
    return (
        insert(locks).on_conflict_do_nothing().execution_options(preserve_rowcount=True)
    )  # rowcount is kept for INSERTs only when asked


def moved_lock(enterprise: str, **values: Any) -> sa.Update:
    """The lock row given to a holder (`holder`, `acquired_at`, `expires_at`)."""
    return sa.update(locks).where(locks.c.enterprise == enterprise).values(**values)


def released_lock(enterprise: str, holder: str) -> sa.Delete:
    """The lock row gone, if `holder` still holds it."""
    return sa.delete(locks).where(locks.c.enterprise == enterprise, locks.c.holder == holder)


# -- confirmations and the directory's resources ---------------------------------------------


def confirmation(insert: InsertOf) -> Insert:
    """A confirmation, replacing the one of the same (enterprise, kind, key)."""
    statement = insert(confirmations)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["enterprise", "kind", "key"],
        set_={name: new[name] for name in ("digest", "detail", "actor", "confirmed_at")},
    )


def unconfirmed(enterprise: str, kind: str, key: str) -> sa.Delete:
    """A confirmation gone."""
    c = confirmations.c
    return sa.delete(confirmations).where(c.enterprise == enterprise, c.kind == kind, c.key == key)


def managed_user(insert: InsertOf) -> Insert:
    """A managed user (`enterprise`, `user_name`, `since`, `scim_id`): kept since it was first
    recorded; a known SCIM id replaces an earlier one, "" never erases one."""
    statement = insert(managed_users)
    new, old = statement.excluded, managed_users.c
    return statement.on_conflict_do_update(
        index_elements=[old.enterprise, old.user_name],
        set_={"scim_id": new.scim_id},
        where=sa.and_(new.scim_id != "", new.scim_id != old.scim_id),
    )


def managed_team(insert: InsertOf) -> Insert:
    """A managed team by (enterprise, organization, role): its SCIM id and displayName
    replaced, its `since` kept."""
    statement = insert(managed_teams)
    new, old = statement.excluded, managed_teams.c
    return statement.on_conflict_do_update(
        index_elements=[old.enterprise, old.organization, old.role],
        set_={"scim_id": new.scim_id, "display_name": new.display_name},
    )


def forgotten_team(enterprise: str) -> sa.Delete:
    """A managed team gone, by `organization_` and `role_` (one row per team)."""
    t = managed_teams.c
    return sa.delete(managed_teams).where(
        t.enterprise == enterprise,
        t.organization == sa.bindparam("organization_"),
        t.role == sa.bindparam("role_"),
    )
