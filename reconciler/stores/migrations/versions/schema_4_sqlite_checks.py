"""Schema 4: SQLite checks a role or a status as ORs, not as an IN list.

SQLite builds a temporary index for an IN list of more than two constants each time a
statement runs, and the ledger writes invitations with one executemany, which runs its
INSERT once per row: `status IN ('pending', 'accepted', 'expired', 'revoked')` cost more than
the rest of an invitation's insert (33,000 of 55,000 instructions a row, measured). The same
rule as ORs is a few comparisons. SQLite cannot change a table's checks in place, so
`invitations` and `members` are made again and their rows copied, in the migration's
transaction. PostgreSQL checks an IN list cheaply: nothing changes there.

Nothing a read sees changes: an insomnia-sso at schema 4 reads a schema-3 record as it is
(`schema.READS_FROM`), and its first write upgrades it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

KEY = ("enterprise", "organization", "email")
INVITATIONS = (*KEY, "role", "status", "invited_at", "expires_at", "updated_at")
MEMBERS = (*KEY, "role", "joined_at")


def one_of(column: str, *values: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(" OR ".join(f"{column} = '{value}'" for value in values))


def columns(names: tuple[str, ...]) -> list[sa.Column[str]]:
    """SQLite's columns of a ledger table: text, its key the person in an organization."""
    return [sa.Column(n, sa.Text, nullable=False, primary_key=n in KEY) for n in names]


def in_organization() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["enterprise", "organization"],
        ["organizations.enterprise", "organizations.name"],
        ondelete="CASCADE",
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    tables = {
        "invitations": (
            INVITATIONS,
            [
                one_of("role", "admin", "member"),
                one_of("status", "pending", "accepted", "expired", "revoked"),
            ],
        ),
        "members": (MEMBERS, [one_of("role", "owner", "admin", "member")]),
    }
    for name, (names, checks) in tables.items():
        kept = f"{name}_schema_3"
        op.rename_table(name, kept)
        op.create_table(name, *columns(names), *checks, in_organization(), sqlite_with_rowid=False)
        listed = ", ".join(names)
        op.execute(f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {kept}")  # noqa: S608
        op.drop_table(kept)


def downgrade() -> None:
    raise NotImplementedError("insomnia-sso never downgrades a record")
