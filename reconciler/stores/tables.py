"""The record's tables, declared once for SQLite and PostgreSQL (SQLAlchemy Core, no ORM).

This is the schema at the head of `migrations/` (schema 4): the statements in `record.py`
are built from these objects, and a test compares them with what the migrations make on
both databases. The migrations never import this module: each revision declares what it
changes as it was then.

Timestamps are the one type the two databases keep differently (`Timestamp` below): SQLite
holds fixed-width ISO-8601 UTC text (`2025-01-31T09:00:00.000000+00:00`), which sorts and
compares as text; PostgreSQL holds TIMESTAMPTZ. Either way a timezone-aware datetime goes
in and an aware UTC datetime comes out; a naive one is a bug, never a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

ROLES_INVITED = ("admin", "member")
ROLES = ("owner", "admin", "member")
STATUSES = ("pending", "accepted", "expired", "revoked")


def timestamp_text(moment: datetime) -> str:
    """SQLite's form of a moment: fixed-width UTC text."""
    if moment.tzinfo is None:
        raise ValueError("stores take timezone-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Timestamp(sa.types.TypeDecorator[datetime]):
    """An aware datetime: TIMESTAMPTZ on PostgreSQL, fixed-width UTC text on SQLite."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return timestamp_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value)


metadata = sa.MetaData()


def _text(name: str, *args: Any, **kwargs: Any) -> sa.Column[str]:
    return sa.Column(name, sa.Text, *args, nullable=False, **kwargs)


def _time(name: str) -> sa.Column[datetime]:
    return sa.Column(name, Timestamp, nullable=False)


def _key(*names: str) -> list[sa.Column[str]]:
    return [_text(name, primary_key=True) for name in names]


# Tables keyed by their natural key keep no separate rowid in SQLite (`sqlite_with_rowid`).


def _in(column: str, values: tuple[str, ...]) -> list[sa.CheckConstraint]:
    """`column` holds one of `values`. PostgreSQL checks it as an IN list. SQLite builds a
    temporary index for an IN list of more than two constants each time a statement runs,
    and an executemany runs its INSERT once per row: with `status IN (four values)` the
    check cost more than the rest of an invitation's insert. As ORs it is a few comparisons
    (schema 4)."""
    listed = ", ".join(f"'{value}'" for value in values)
    either = " OR ".join(f"{column} = '{value}'" for value in values)
    return [
        sa.CheckConstraint(f"{column} IN ({listed})").ddl_if(dialect="postgresql"),
        sa.CheckConstraint(either).ddl_if(dialect="sqlite"),
    ]


enterprises = sa.Table("enterprises", metadata, *_key("name"), _time("created_at"))

organizations = sa.Table(
    "organizations",
    metadata,
    _text("enterprise", sa.ForeignKey("enterprises.name", ondelete="CASCADE"), primary_key=True),
    _text("name", primary_key=True),
    _time("created_at"),
    sqlite_with_rowid=False,
)


def _in_organization() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["enterprise", "organization"],
        ["organizations.enterprise", "organizations.name"],
        ondelete="CASCADE",
    )


invitations = sa.Table(
    "invitations",
    metadata,
    *_key("enterprise", "organization", "email"),
    _text("role"),
    _text("status"),
    _time("invited_at"),
    _time("expires_at"),
    _time("updated_at"),
    *_in("role", ROLES_INVITED),
    *_in("status", STATUSES),
    _in_organization(),
    sqlite_with_rowid=False,
)

members = sa.Table(
    "members",
    metadata,
    *_key("enterprise", "organization", "email"),
    _text("role"),
    _time("joined_at"),
    *_in("role", ROLES),
    _in_organization(),
    sqlite_with_rowid=False,
)

locks = sa.Table(
    "locks",
    metadata,
    *_key("enterprise"),
    _text("holder"),
    _time("acquired_at"),
    _time("expires_at"),
)

journal = sa.Table(
    "journal",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.Identity(always=True),
        primary_key=True,
    ),
    _text("enterprise"),
    _time("at"),
    *(_text(name) for name in ("actor", "action", "kind", "key", "outcome", "detail")),
    sa.Index("journal_by_enterprise", "enterprise", "id"),
    sqlite_autoincrement=True,
)

confirmations = sa.Table(
    "confirmations",
    metadata,
    *_key("enterprise", "kind", "key"),
    _text("digest"),
    _text("detail"),
    _text("actor"),
    _time("confirmed_at"),
    sqlite_with_rowid=False,
)

managed_users = sa.Table(
    "managed_users",
    metadata,
    *_key("enterprise", "user_name"),
    _time("since"),
    _text("scim_id", server_default=""),
    sqlite_with_rowid=False,
)

managed_teams = sa.Table(
    "managed_teams",
    metadata,
    *_key("enterprise", "organization", "role"),
    _text("scim_id"),
    _text("display_name"),
    _time("since"),
    sqlite_with_rowid=False,
)

# Kept from schema 1, no longer written: verified domains became confirmations in schema 2,
# and the SSO connection a manual step an owner confirms.
domains = sa.Table(
    "domains",
    metadata,
    _text("enterprise", sa.ForeignKey("enterprises.name", ondelete="CASCADE"), primary_key=True),
    _text("name", primary_key=True),
    sa.Column(
        "verified",
        sa.Boolean().with_variant(sa.Integer(), "sqlite"),
        nullable=False,
        server_default=sa.false(),
    ),
    _time("created_at"),
    sa.CheckConstraint("verified IN (0, 1)").ddl_if(dialect="sqlite"),
    sqlite_with_rowid=False,
)
sso_connections = sa.Table(
    "sso_connections",
    metadata,
    _text("enterprise", sa.ForeignKey("enterprises.name", ondelete="CASCADE"), primary_key=True),
    *(_text(n) for n in ("domain_identifier", "sso_url", "client_id", "issuer")),
    _text("secret_fingerprint"),
    _time("updated_at"),
)
