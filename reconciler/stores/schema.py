"""Which schema a record is at, and what a store may do about it.

Every record carries a marker of its schema number, the one the hand-written stores kept
and insomnia-sso still keeps, so that an older insomnia-sso refuses a newer record instead
of writing to it: `PRAGMA user_version` in SQLite, the highest `version` of the table
`insomnia_sso_schema` in PostgreSQL. Alembic's own version table (`insomnia_sso_alembic`,
not `alembic_version`, which another tool may own in a shared schema) holds the revision
beside it. Reading the marker needs no Alembic, so a store at the current schema never
imports it.

What a store does with a record, by its marker:

    no record here     reads give an empty snapshot and create nothing; a write creates it,
                       at once as `tables.py` declares it (`create`), with the head
                       revision stamped: the schema the revisions build, step by step
    at SCHEMA_VERSION  used as it is
    older              a write upgrades it, in one transaction, under a lock (`migrate.py`);
                       a read uses it as it is from READS_FROM on (nothing a read sees
                       changed since), and below that refuses with one line saying how to
                       upgrade, unless the store was opened for a command that writes
                       (`writes=True`), which upgrades first, reads included
    newer              refused, untouched: never downgraded
    another tool's     tables but no marker: refused, untouched
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from reconciler.errors import StoreError
from reconciler.stores.migrations import LOCATION
from reconciler.stores.tables import metadata

SCHEMA_VERSION = 4
"""The schema this insomnia-sso runs: the head revision of `migrations/versions/`."""

READS_FROM = 3
"""The oldest schema a read uses as it is: the revisions after it change nothing a read
sees (schema 4 changed only how SQLite checks the rows it inserts), so commands that only
read keep working on such a record until a write upgrades it."""

MARKER_TABLE = "insomnia_sso_schema"
"""PostgreSQL's marker: one row per schema reached; the highest is the record's schema."""

ALEMBIC_TABLE = "insomnia_sso_alembic"
"""Where Alembic keeps the record's revision."""

MIGRATION_LOCK = 0x1550
"""First key of `pg_advisory_xact_lock(key, hashtext(schema))`: one migrator per schema.
The key the hand-written store took, so a runner of either waits for the other."""


@dataclass(frozen=True, slots=True)
class Migrations:
    """A history of revisions and its head: the shipped one, or a test's own."""

    location: Path = LOCATION
    head: int = SCHEMA_VERSION
    reads_from: int | None = None
    """The oldest schema a read may use without upgrading it (`READS_FROM`); None: only
    the head."""

    def readable(self, version: int) -> bool:
        """A read may use a record at `version` as it is."""
        return version >= (self.head if self.reads_from is None else self.reads_from)


SHIPPED = Migrations(reads_from=READS_FROM)


def refuse_newer(where: str, version: int, head: int) -> None:
    """A newer insomnia-sso's record is never downgraded: it may mean what ours cannot."""
    if version > head:
        raise StoreError(
            f"{where} was written by a newer insomnia-sso (schema {version} > {head}); "
            "upgrade insomnia-sso to use it"
        )


def refuse_foreign(where: str, tables: list[str]) -> None:
    """Tables with no marker belong to another tool: insomnia-sso adds nothing to them."""
    shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
    raise StoreError(
        f"{where} holds another tool's database (tables {shown}, and no insomnia-sso "
        "schema); it was left untouched: point --store elsewhere"
    )


def behind(where: str, version: int, head: int) -> StoreError:
    """A read of an older record: the commands that write upgrade it."""
    return StoreError(
        f"{where}: the record is at schema {version}, this insomnia-sso needs {head}: "
        "run apply or confirm once to upgrade it"
    )


OUR_TABLES = frozenset(
    {
        "enterprises",
        "organizations",
        "invitations",
        "members",
        "locks",
        "journal",
        "confirmations",
        "managed_users",
        "managed_teams",
        "domains",
        "sso_connections",
        ALEMBIC_TABLE,
    }
)


def marker(conn: sa.Connection) -> tuple[int | None, list[str]]:
    """(the record's schema number or None when no record is here, the tables in the way
    of one: those another tool made where ours would go). Reads only."""
    if conn.dialect.name == "postgresql":
        # The catalog read as a query, not through to_regclass: a runner that waited for
        # another's migration must see the tables it committed meanwhile.
        tables = set(
            conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).scalars()
        )
        if MARKER_TABLE in tables:
            found = conn.exec_driver_sql(
                f"SELECT coalesce(max(version), 0) FROM {MARKER_TABLE}"  # noqa: S608
            ).scalar()
            return int(found or 0), []
        return None, sorted(tables & OUR_TABLES)
    version = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    names = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).scalars()
    if version == 0:  # no record yet: an empty file, or another tool's tables
        return None, list(names)
    return version, []


def set_marker(conn: sa.Connection, reached: int) -> None:
    """Record that the record reached schema `reached` (in the migration's transaction)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} ("
            "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        conn.exec_driver_sql(
            f"INSERT INTO {MARKER_TABLE} (version) "  # noqa: S608
            f"SELECT v FROM generate_series(1, {int(reached)}) AS v "
            "ON CONFLICT (version) DO NOTHING"
        )
    else:
        conn.exec_driver_sql(f"PRAGMA user_version = {int(reached)}")


def exclusive(conn: sa.Connection) -> None:
    """Make the open write transaction the only one changing the schema: PostgreSQL takes
    `pg_advisory_xact_lock` per schema, so runners starting at once make or migrate a record
    once; SQLite's transaction began IMMEDIATE and holds the write lock already."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK}, "
            "hashtext(coalesce(current_schema(), '')))"
        )


_REVISIONS = sa.Table(
    ALEMBIC_TABLE,
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name=f"{ALEMBIC_TABLE}_pkc"),
)
"""Alembic's version table, declared as Alembic declares it (`alembic.runtime.migration`)."""


def create(conn: sa.Connection, where: str, migrations: Migrations) -> bool:
    """Make a record where there is none, in the open write transaction: the tables
    `tables.py` declares, the head revision in Alembic's table and the marker. That is the
    record the revisions build one by one (a test compares the two on both databases),
    made without loading Alembic or replaying the history, which took a fifth of a second
    of a first apply. Only for the shipped history, whose head `tables.py` declares; False,
    with nothing done, for any other history or when a record appeared meanwhile (another
    runner): `migrate.upgrade` takes it from there."""
    if migrations != SHIPPED:
        return False
    exclusive(conn)
    version, foreign = marker(conn)
    if foreign:
        refuse_foreign(where, foreign)
    if version is not None:
        return False
    metadata.create_all(conn)
    _REVISIONS.create(conn)
    conn.execute(_REVISIONS.insert(), {"version_num": f"{migrations.head:04d}"})
    set_marker(conn, migrations.head)
    return True
