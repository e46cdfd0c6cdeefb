"""Schema 3: the SCIM ids of the users the tool manages, and the teams it manages.

`managed_users.scim_id` is "" for users recorded before ids were kept; `managed_teams`
holds each team the tool created or adopted by (organization, role), with its SCIM id and
displayName: the directory finds its resources again by these.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.Text().with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.add_column("managed_users", sa.Column("scim_id", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "managed_teams",
        *(
            sa.Column(name, sa.Text, nullable=False, primary_key=True)
            for name in ("enterprise", "organization", "role")
        ),
        sa.Column("scim_id", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("since", TIMESTAMP, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    raise NotImplementedError("insomnia-sso never downgrades a record")
