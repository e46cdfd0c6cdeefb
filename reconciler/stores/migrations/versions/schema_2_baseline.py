"""Baseline: schema 2, as the hand-written SQLite and PostgreSQL stores made it.

Schema 1 held the enterprises, organizations, the people ledger (invitations, members),
the lock and the journal; schema 2 added confirmed manual steps and the directory users
the tool manages, and turned the domains an owner had recorded as verified into
confirmations. A record of either is recognised by its marker and never re-created: a
schema-2 record is stamped with this revision, a schema-1 record is brought to schema 2
by `from_schema_1` first.

Revision ID: 0002
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = None
branch_labels = None
depends_on = None

DOMAIN_DIGEST = "sha256:1e2999b5f82db10d2807ae18379b9041cf77cd6fba7464a1c02e38834edf6f7b"
"""The digest of a confirmed domain step as schema 2 wrote it (`reconciler.manual`'s
DOMAIN_DIGEST then); kept here because history must not follow later changes."""

TIMESTAMP = sa.Text().with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")
"""Fixed-width ISO-8601 UTC text in SQLite, TIMESTAMPTZ in PostgreSQL."""
NO_ROWID = {"sqlite_with_rowid": False}


def text(name: str, *args: object, **kwargs: object) -> sa.Column[str]:
    return sa.Column(name, sa.Text, *args, nullable=False, **kwargs)  # type: ignore[arg-type]


def time(name: str) -> sa.Column[str]:
    return sa.Column(name, TIMESTAMP, nullable=False)


def one_of(column: str, *values: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})")


def in_organization() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["enterprise", "organization"],
        ["organizations.enterprise", "organizations.name"],
        ondelete="CASCADE",
    )


def of_enterprise(**kwargs: object) -> sa.Column[str]:
    return text("enterprise", sa.ForeignKey("enterprises.name", ondelete="CASCADE"), **kwargs)


def schema_1() -> None:
    """The first schema's tables."""
    op.create_table("enterprises", text("name", primary_key=True), time("created_at"))
    op.create_table(
        "domains",
        of_enterprise(primary_key=True),
        text("name", primary_key=True),
        sa.Column(
            "verified",
            sa.Boolean().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            server_default=sa.false(),
        ),
        time("created_at"),
        sa.CheckConstraint("verified IN (0, 1)").ddl_if(dialect="sqlite"),
        **NO_ROWID,
    )
    op.create_table(
        "sso_connections",
        of_enterprise(primary_key=True),
        *(text(name) for name in ("domain_identifier", "sso_url", "client_id", "issuer")),
        text("secret_fingerprint"),
        time("updated_at"),
    )
    op.create_table(
        "organizations",
        of_enterprise(primary_key=True),
        text("name", primary_key=True),
        time("created_at"),
        **NO_ROWID,
    )
    op.create_table(
        "invitations",
        *(text(name, primary_key=True) for name in ("enterprise", "organization", "email")),
        text("role"),
        text("status"),
        time("invited_at"),
        time("expires_at"),
        time("updated_at"),
        one_of("role", "admin", "member"),
        one_of("status", "pending", "accepted", "expired", "revoked"),
        in_organization(),
        **NO_ROWID,
    )
    op.create_table(
        "members",
        *(text(name, primary_key=True) for name in ("enterprise", "organization", "email")),
        text("role"),
        time("joined_at"),
        one_of("role", "owner", "admin", "member"),
        in_organization(),
        **NO_ROWID,
    )
    op.create_table(
        "locks",
        text("enterprise", primary_key=True),
        text("holder"),
        time("acquired_at"),
        time("expires_at"),
    )
    op.create_table(
        "journal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=True),
            primary_key=True,
        ),
        text("enterprise"),
        time("at"),
        *(text(name) for name in ("actor", "action", "kind", "key", "outcome", "detail")),
        sqlite_autoincrement=True,
    )
    op.create_index("journal_by_enterprise", "journal", ["enterprise", "id"])


def from_schema_1() -> None:
    """Schema 1 → 2: manual steps confirmed by owners, and the SCIM users the tool manages.

    Domains an owner recorded as verified stay confirmed; an SSO connection the earlier
    versions only recorded was never entered in Insomnia by the tool, so it becomes a
    manual step again, for an owner to confirm.
    """
    op.create_table(
        "confirmations",
        *(text(name, primary_key=True) for name in ("enterprise", "kind", "key")),
        text("digest"),
        text("detail"),
        text("actor"),
        time("confirmed_at"),
        **NO_ROWID,
    )
    op.create_table(
        "managed_users",
        *(text(name, primary_key=True) for name in ("enterprise", "user_name")),
        time("since"),
        **NO_ROWID,
    )
    domains = sa.table(
        "domains",
        sa.column("enterprise"),
        sa.column("name"),
        sa.column("verified", sa.Boolean()),
        sa.column("created_at"),
    )
    confirmations = sa.table(
        "confirmations",
        *(sa.column(name) for name in ("enterprise", "kind", "key", "digest", "detail")),
        sa.column("actor"),
        sa.column("confirmed_at"),
    )
    verified = sa.select(
        domains.c.enterprise,
        sa.literal("domain"),
        domains.c.name,
        sa.literal(DOMAIN_DIGEST),
        sa.literal("{}"),
        sa.literal("migrated"),
        domains.c.created_at,
    ).where(domains.c.verified == sa.true())
    op.execute(confirmations.insert().from_select(list(confirmations.c.keys()), verified))


def upgrade() -> None:
    schema_1()
    from_schema_1()


def downgrade() -> None:
    raise NotImplementedError("insomnia-sso never downgrades a record")
