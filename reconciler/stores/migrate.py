"""Upgrading a record to the head of its history with Alembic, in one transaction.

Imported only when a record must be created or upgraded: a store at the current schema
never loads Alembic. `upgrade` runs inside the caller's write transaction, which it first
makes exclusive (PostgreSQL: `pg_advisory_xact_lock` per schema, so runners starting at once
migrate once; SQLite: the transaction began IMMEDIATE, holding the write lock); it then
reads the marker again, since another process may have migrated meanwhile, and goes on
from what it finds:

    no record       every revision from the baseline on
    schema 1 or 2   a record of the hand-written stores: schema 1 is brought to 2 by the
                    baseline's `from_schema_1`, then the baseline is stamped, not re-run
    a revision      the revisions after it

and sets the marker to the head. Any failure rolls all of it back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from reconciler.errors import StoreError
from reconciler.stores.schema import (
    ALEMBIC_TABLE,
    Migrations,
    exclusive,
    marker,
    refuse_foreign,
    refuse_newer,
    set_marker,
)

BASELINE = "0002"
"""The first revision: schema 2, as the hand-written stores left it."""


def upgrade(conn: sa.Connection, where: str, migrations: Migrations) -> None:
    """Bring the record `conn` reaches to `migrations.head`, in its open write transaction."""
    exclusive(conn)
    version, foreign = marker(conn)
    if foreign:
        refuse_foreign(where, foreign)
    refuse_newer(where, version or 0, migrations.head)
    if version == migrations.head:
        return  # another process upgraded it while this one waited
    config = Config()
    config.set_main_option("script_location", str(migrations.location))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = conn
    config.attributes["version_table"] = ALEMBIC_TABLE
    revision = MigrationContext.configure(
        conn, opts={"version_table": ALEMBIC_TABLE}
    ).get_current_revision()
    if revision is None and version is not None:
        _adopt_legacy(conn, config, where, version)
    elif revision is not None:
        _refuse_unknown(config, where, revision, migrations.head)
    command.upgrade(config, "head")
    set_marker(conn, migrations.head)


def _adopt_legacy(conn: sa.Connection, config: Config, where: str, version: int) -> None:
    """A record the hand-written stores made: bring it to the baseline and stamp it."""
    if version > int(BASELINE):
        raise StoreError(
            f"{where}: the record says schema {version} but holds no revision table "
            f"({ALEMBIC_TABLE}); it was left untouched: restore it from a backup"
        )
    if version < int(BASELINE):
        baseline = ScriptDirectory.from_config(config).get_revision(BASELINE)
        assert baseline is not None  # shipped with the package
        with Operations.context(MigrationContext.configure(conn)):
            baseline.module.from_schema_1()
    command.stamp(config, BASELINE)


def _refuse_unknown(config: Config, where: str, revision: str, head: int) -> None:
    """A revision this insomnia-sso does not ship was written by a newer one."""
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if revision not in known:
        number = int(revision) if revision.isdigit() else 0
        refuse_newer(where, max(number, head + 1), head)
