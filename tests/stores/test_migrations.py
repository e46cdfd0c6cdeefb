"""The record's schema history on both databases: Alembic revisions, legacy records, refusals.

Records made by the hand-written stores (schema 2, `fixtures/`, made by that code) upgrade
in place and read back exactly what that code read; a read refuses a record that is behind
and writes nothing; a write, or a store opened for a command that writes, upgrades it; the
tables declared in `tables.py` are what the migrations make.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.errors import StoreError
from reconciler.manual import DOMAIN_DIGEST
from reconciler.stores import migrate, open_store
from reconciler.stores.migrations import LOCATION
from reconciler.stores.record import SqlStore
from reconciler.stores.schema import ALEMBIC_TABLE, SCHEMA_VERSION, SHIPPED, Migrations
from reconciler.stores.tables import metadata
from tests.conftest import spec_yaml
from tests.stores.fixtures.legacy import READ_AT, snapshot
from tests.stores.test_contract import FOUNDATION, MARKS, NOW, POSTGRES_URL, postgres_schema

FIXTURES = Path(__file__).parent / "fixtures"
LEGACY = json.loads((FIXTURES / "schema2.json").read_text(encoding="utf-8"))


def with_revision(folder: Path, number: int, upgrade: str) -> Migrations:
    """The shipped history plus one revision of a test's own, `upgrade` its body's code."""
    location = folder / "migrations"
    shutil.copytree(LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))
    body = textwrap.indent(textwrap.dedent(upgrade).strip(), "    ")
    (location / "versions" / f"schema_{number}_test.py").write_text(
        f'revision = "{number:04d}"\ndown_revision = "{number - 1:04d}"\n\n'
        f"from alembic import op\n\n\ndef upgrade() -> None:\n{body}\n",
        encoding="utf-8",
    )
    return Migrations(location, number)


# -- one backing per database: a record's location, how to open it, and how to look inside ---


@dataclass
class Backing:
    """Where a record lives, for one test: a file or a schema of its own."""

    name: str
    url: str
    where: str
    engine: sa.Engine

    def store(self, **options: Any) -> SqlStore:
        if self.name == "sqlite":
            return SqlStore.sqlite(self.where, **options)
        return SqlStore.postgres(self.url, **options)

    def tables(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(sa.inspect(conn).get_table_names())

    def marker(self) -> int:
        with self.engine.connect() as conn:
            if self.name == "sqlite":
                return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
            return int(
                conn.exec_driver_sql("SELECT max(version) FROM insomnia_sso_schema").scalar() or 0
            )

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(
                conn, opts={"version_table": ALEMBIC_TABLE}
            ).get_current_revision()

    def load_legacy(self) -> None:
        """Today's schema-2 record, as the hand-written store of this database left it."""
        if self.name == "sqlite":
            shutil.copyfile(FIXTURES / "schema2.db", self.where)
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute((FIXTURES / "schema2.sql").read_text(encoding="utf-8"))  # type: ignore[arg-type]

    def fingerprint(self) -> object:
        """What a read must leave as it was: the file's bytes, or the schema's tables."""
        if self.name == "sqlite":
            return {p.name: p.read_bytes() for p in Path(self.where).parent.iterdir()}
        return self.tables()


@contextmanager
def sqlite_backing(tmp_path: Path) -> Iterator[Backing]:
    path = tmp_path / "state.db"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.NullPool)
    yield Backing("sqlite", f"sqlite:///{path}", str(path), engine)
    engine.dispose()


@contextmanager
def postgres_backing(tmp_path: Path) -> Iterator[Backing]:
    with postgres_schema("migrations") as url:
        schema = url.rpartition("%3D")[2]
        engine = sa.create_engine(
            POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
            poolclass=sa.NullPool,
            connect_args={"options": f"-csearch_path={schema}"},
        )
        yield Backing("postgres", url, SqlStore.postgres(url).where, engine)
        engine.dispose()


BACKINGS: dict[str, Callable[[Path], Any]] = {
    "sqlite": sqlite_backing,
    "postgres": postgres_backing,
}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in BACKINGS])
def backing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backing]:
    with BACKINGS[request.param](tmp_path) as found:
        yield found


@contextmanager
def opened(backing: Backing, **options: Any) -> Iterator[SqlStore]:
    store = backing.store(**options)
    try:
        yield store
    finally:
        store.close()


def ids_and_teams(store: SqlStore) -> dict[str, Any]:
    """What schema 3 reads beside schema 2's snapshot: managed user ids and teams."""
    return {
        name: (
            dict(store.read(enterprise=name, now=READ_AT).managed_user_ids),
            dict(store.read(enterprise=name, now=READ_AT).managed_teams),
        )
        for name in ("acme", "globex")
    }


# -- the history itself ----------------------------------------------------------------------


def test_the_head_revision_is_the_schema_this_insomnia_sso_runs() -> None:
    script = ScriptDirectory(str(LOCATION))
    assert script.get_heads() == [f"{SCHEMA_VERSION:04d}"]
    revisions = sorted(script.walk_revisions(), key=lambda r: r.revision)
    assert [r.revision for r in revisions] == ["0002", "0003", "0004"]  # the baseline is 2
    assert [r.down_revision for r in revisions] == [None, "0002", "0003"]


def test_the_migrations_ship_inside_the_package() -> None:
    from setuptools import find_packages

    root = Path(__file__).resolve().parents[2]
    packages = find_packages(root, include=["reconciler*", "infra*"])
    assert {"reconciler.stores.migrations", "reconciler.stores.migrations.versions"} <= set(
        packages
    )
    shipped = {p.name for p in (LOCATION / "versions").glob("*.py")}
    assert {
        "schema_2_baseline.py",
        "schema_3_directory_ids.py",
        "schema_4_sqlite_checks.py",
    } <= shipped
    assert (LOCATION / "env.py").is_file()


def test_the_baseline_keeps_its_own_copy_of_the_domain_digest() -> None:
    baseline = ScriptDirectory(str(LOCATION)).get_revision("0002")
    assert baseline is not None
    assert baseline.module.DOMAIN_DIGEST == DOMAIN_DIGEST  # equal today; never imported


# -- a new record ----------------------------------------------------------------------------


def test_a_new_record_is_made_at_the_head_with_its_markers(backing: Backing) -> None:
    with opened(backing) as store:
        store.write(enterprise="acme", changes=FOUNDATION, actor="ci", now=NOW)
    assert backing.marker() == SCHEMA_VERSION  # what the hand-written stores read
    assert backing.revision() == f"{SCHEMA_VERSION:04d}"
    assert "alembic_version" not in backing.tables()  # another tool's name, not ours


def test_the_tables_declared_once_are_what_the_migrations_make(backing: Backing) -> None:
    with opened(backing) as store:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
    with backing.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"version_table": ALEMBIC_TABLE, "compare_type": True},
        )
        differences = compare_metadata(context, metadata)
    ours = {"insomnia_sso_schema"}  # the legacy marker is kept by the runner, not declared
    assert [d for d in differences if not (d[0] == "remove_table" and d[1].name in ours)] == []


def test_a_new_record_is_made_at_once_as_the_history_would_make_it(
    backing: Backing, tmp_path: Path
) -> None:
    """A first write makes the record from `tables.py` without Alembic (`schema.create`):
    the same tables, columns, keys, indexes and checks, to the column type and DDL, as the
    revisions replayed from the baseline, and the same markers."""
    with opened(backing) as store:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
    (tmp_path / "replayed").mkdir()
    with BACKINGS[backing.name](tmp_path / "replayed") as replayed:
        with replayed.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            migrate.upgrade(conn, replayed.where, SHIPPED)
        assert exact_shape(backing.engine) == exact_shape(replayed.engine)
        assert (backing.marker(), backing.revision()) == (replayed.marker(), replayed.revision())


def exact_shape(engine: sa.Engine) -> dict[str, Any]:
    """`shape`, with each column's exact type, default and nullability, each foreign key's
    rule, and SQLite's own text of every table and index."""
    found = shape(engine)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in inspector.get_table_names():
            found[table]["types"] = [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ]
            found[table]["rules"] = sorted(
                str(f.get("options")) for f in inspector.get_foreign_keys(table)
            )
        if conn.dialect.name == "sqlite":
            found["ddl"] = sorted(
                (kind, name, " ".join((sql or "").split()))  # as written, spacing aside
                for kind, name, sql in conn.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master"
                )
            )
    return found


def test_an_upgraded_legacy_record_has_the_shape_of_a_new_one(
    backing: Backing, tmp_path: Path
) -> None:
    backing.load_legacy()
    with opened(backing, writes=True) as store:
        store.enterprises()
    legacy = shape(backing.engine)
    (tmp_path / "new").mkdir()
    with BACKINGS[backing.name](tmp_path / "new") as fresh:
        with opened(fresh) as store:
            store.try_lock(enterprise="acme", holder="ci", now=NOW)
        assert shape(fresh.engine) == legacy


def shape(engine: sa.Engine) -> dict[str, Any]:
    """Each table's columns (name, type affinity, nullable), keys and indexes.

    A primary key column's nullability is left out: SQLite lets a one-column key of a rowid
    table hold NULL unless it says NOT NULL, which the hand-written schema did not and the
    baseline does; no key was ever written NULL.
    """
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        found: dict[str, Any] = {}
        for table in inspector.get_table_names():
            key = set(inspector.get_pk_constraint(table)["constrained_columns"])
            columns = [
                (c["name"], _affinity(c["type"]), c["nullable"] and c["name"] not in key)
                for c in inspector.get_columns(table)
            ]
            found[table] = {
                "columns": sorted(columns),
                "primary": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)
                ),
                "checks": sorted(
                    " ".join(c["sqltext"].split()) for c in inspector.get_check_constraints(table)
                ),
            }
        return found


def _affinity(kind: Any) -> str:
    text = str(kind).upper()
    if "INT" in text:
        return "integer"
    if "BOOL" in text:
        return "boolean"
    return "timestamp" if "TIME" in text else "text"


# -- a record of the hand-written stores, upgraded in place ----------------------------------


def test_a_read_refuses_a_record_behind_and_writes_nothing(backing: Backing) -> None:
    backing.load_legacy()
    before = backing.fingerprint()
    with opened(backing) as store:
        for read in (
            lambda: store.read(enterprise="acme", now=NOW),
            store.enterprises,
            lambda: store.journal(enterprise="acme"),
            lambda: store.current_lock(enterprise="acme"),
        ):
            with pytest.raises(StoreError) as raised:
                read()
            assert str(raised.value) == (
                f"{store.where}: the record is at schema 2, this insomnia-sso needs "
                f"{SCHEMA_VERSION}: run apply or confirm once to upgrade it"
            )
    assert backing.fingerprint() == before
    assert backing.marker() == 2


def test_a_record_of_schema_2_upgrades_in_place_with_everything_it_held(
    backing: Backing,
) -> None:
    backing.load_legacy()
    with opened(backing) as store:
        assert store.try_lock(enterprise="globex", holder="ci", now=READ_AT) is None  # a write
        store.unlock(enterprise="globex", holder="ci")
        found, added = snapshot(store), ids_and_teams(store)
    assert found == LEGACY  # exactly what the hand-written store read from it
    assert added == {
        "acme": (dict.fromkeys(LEGACY["acme"]["managed_users"], ""), {}),
        "globex": ({}, {}),
    }
    assert (backing.marker(), backing.revision()) == (SCHEMA_VERSION, f"{SCHEMA_VERSION:04d}")


def test_a_store_opened_to_write_upgrades_before_its_first_read(backing: Backing) -> None:
    backing.load_legacy()
    with opened(backing, writes=True) as store:
        assert store.enterprises() == ["acme", "globex"]
        assert snapshot(store) == LEGACY
    assert backing.marker() == SCHEMA_VERSION


def test_an_upgraded_record_takes_the_new_schema_s_writes(backing: Backing) -> None:
    backing.load_legacy()
    with opened(backing, writes=True) as store:
        store.remember_users(
            enterprise="acme",
            user_names=["bob@acme.io"],
            actor="ci",
            now=READ_AT,
            ids={"bob@acme.io": "bob-1"},
        )
        ids = store.read(enterprise="acme", now=READ_AT).managed_user_ids
    assert ids == {"alice@acme.com": "", "bob@acme.io": "bob-1", "carol@acme.com": ""}


def test_a_schema_1_record_keeps_its_verified_domains_as_confirmations(backing: Backing) -> None:
    baseline = ScriptDirectory(str(LOCATION)).get_revision("0002")
    assert baseline is not None
    stamp = NOW if backing.name == "postgres" else NOW.isoformat(timespec="microseconds")
    with backing.engine.begin() as conn:
        with Operations.context(MigrationContext.configure(conn)):
            baseline.module.schema_1()
        if backing.name == "sqlite":
            conn.exec_driver_sql("PRAGMA user_version = 1")
        else:
            conn.exec_driver_sql(
                "CREATE TABLE insomnia_sso_schema (version INTEGER PRIMARY KEY, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            conn.exec_driver_sql("INSERT INTO insomnia_sso_schema (version) VALUES (1)")
        conn.execute(sa.text("INSERT INTO enterprises VALUES ('acme', :at)"), {"at": stamp})
        conn.execute(
            sa.text(
                "INSERT INTO domains (enterprise, name, verified, created_at) "
                "VALUES ('acme', :name, :verified, :at)"
            ),
            [
                {"name": "acme.com", "verified": True, "at": stamp},
                {"name": "acme.io", "verified": False, "at": stamp},
            ],
        )
    with opened(backing) as store, pytest.raises(StoreError, match="at schema 1, this"):
        store.read(enterprise="acme", now=NOW)
    with opened(backing, writes=True) as store:
        actual = store.read(enterprise="acme", now=NOW)
    # Verified domains stay confirmed; the unverified one becomes a manual step to confirm.
    [(key, found)] = actual.confirmations.items()
    assert key == ("domain", "acme.com")
    assert (found.digest, found.actor, found.at) == (DOMAIN_DIGEST, "migrated", NOW)
    assert set(actual.domains) == {"acme.com"}
    assert (backing.marker(), backing.revision()) == (SCHEMA_VERSION, f"{SCHEMA_VERSION:04d}")


# -- a record of schema 3: read as it is, upgraded by a write ---------------------------------


def history_to(folder: Path, number: int) -> Migrations:
    """The shipped history as it stood at schema `number`: its later revisions left out."""
    location = folder / "migrations"
    shutil.copytree(LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))
    for revision in (location / "versions").glob("schema_*.py"):
        if int(revision.name.split("_")[1]) > number:
            revision.unlink()
    return Migrations(location, number)


def test_a_schema_3_record_is_read_as_it_is_and_upgraded_by_a_write(
    backing: Backing, tmp_path: Path
) -> None:
    """Schema 4 changed only how SQLite checks the rows it inserts: commands that only read
    use a schema-3 record as it is, and the first write upgrades it with every person."""
    with opened(backing, migrations=history_to(tmp_path, 3)) as store:
        store.write(enterprise="acme", changes=FOUNDATION, actor="ci", now=NOW)
        store.accept_invitations(
            enterprise="acme", people=[("platform", "bob@acme.io")], actor="ci", now=NOW
        )
        before = store.read(enterprise="acme", now=NOW)
    assert (backing.marker(), backing.revision()) == (3, "0003")
    with opened(backing) as store:
        assert store.read(enterprise="acme", now=NOW) == before
        assert store.enterprises() == ["acme"]
    assert (backing.marker(), backing.revision()) == (3, "0003")  # a read upgrades nothing
    with opened(backing) as store:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)  # a write: upgraded first
        after = store.read(enterprise="acme", now=NOW)
    assert (after.invitations, after.members) == (before.invitations, before.members)
    assert set(after.members) == {"platform/bob@acme.io"}
    assert (backing.marker(), backing.revision()) == (SCHEMA_VERSION, f"{SCHEMA_VERSION:04d}")
    (tmp_path / "new").mkdir()
    with BACKINGS[backing.name](tmp_path / "new") as fresh:
        with opened(fresh) as store:
            store.try_lock(enterprise="acme", holder="ci", now=NOW)
        assert exact_shape(backing.engine) == exact_shape(fresh.engine)


@pytest.mark.parametrize("history", [4, 3])
def test_the_ledger_s_checks_refuse_what_no_status_or_role_is(
    backing: Backing, tmp_path: Path, history: int
) -> None:
    """A new record, and one upgraded from schema 3, refuse an unknown status or role, and
    an owner invited (owners join as admins): on SQLite as ORs, on PostgreSQL as IN lists."""
    migrations = SHIPPED if history == SCHEMA_VERSION else history_to(tmp_path, history)
    with opened(backing, migrations=migrations) as store:
        store.write(enterprise="acme", changes=FOUNDATION, actor="ci", now=NOW)
    with opened(backing) as store:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
    stamp = NOW if backing.name == "postgres" else NOW.isoformat(timespec="microseconds")
    rows = {
        "invitations": "('acme', 'platform', 'new@acme.com', '{role}', '{status}', :t, :t, :t)",
        "members": "('acme', 'platform', 'new@acme.com', '{role}', :t)",
    }
    wrong = [
        ("invitations", "member", "sent"),
        ("invitations", "owner", "pending"),
        ("members", "guest", ""),
    ]
    for table, role, status in wrong:
        values = rows[table].format(role=role, status=status)
        with backing.engine.connect() as conn, pytest.raises(sa.exc.IntegrityError) as raised:
            conn.execute(sa.text(f"INSERT INTO {table} VALUES {values}"), {"t": stamp})
        assert "check constraint" in str(raised.value).lower()
    for table, role, status in [("invitations", "admin", "expired"), ("members", "owner", "")]:
        values = rows[table].format(role=role, status=status)
        with backing.engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {table} VALUES {values}"), {"t": stamp})


# -- a history of a test's own: later revisions, broken ones ---------------------------------


def test_a_later_revision_upgrades_the_record_in_place(backing: Backing, tmp_path: Path) -> None:
    with opened(backing) as store:
        store.write(enterprise="acme", changes=FOUNDATION, actor="ci", now=NOW)
    later = with_revision(
        tmp_path,
        SCHEMA_VERSION + 1,
        "op.execute(\"ALTER TABLE members ADD COLUMN note TEXT NOT NULL DEFAULT ''\")",
    )
    with (
        opened(backing, migrations=later) as store,
        pytest.raises(StoreError, match=f"at schema {SCHEMA_VERSION}, this insomnia-sso needs"),
    ):
        store.read(enterprise="acme", now=NOW)
    with opened(backing, migrations=later) as store:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
        assert len(store.read(enterprise="acme", now=NOW).invitations) == 2
    assert backing.marker() == SCHEMA_VERSION + 1
    # The insomnia-sso of the shipped history now refuses it: never a downgrade.
    with opened(backing) as store, pytest.raises(StoreError) as raised:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
    assert str(raised.value) == (
        f"{store.where} was written by a newer insomnia-sso (schema {SCHEMA_VERSION + 1} > "
        f"{SCHEMA_VERSION}); upgrade insomnia-sso to use it"
    )


def test_a_failing_revision_leaves_the_record_as_it_was(backing: Backing, tmp_path: Path) -> None:
    with opened(backing) as store:
        store.write(enterprise="acme", changes=FOUNDATION, actor="ci", now=NOW)
    before = shape(backing.engine)
    broken = with_revision(
        tmp_path,
        SCHEMA_VERSION + 1,
        'op.execute("CREATE TABLE half_done (x INTEGER)")\nop.execute("THIS IS NOT SQL")',
    )
    with (
        opened(backing, migrations=broken) as store,
        pytest.raises(StoreError, match=r"cannot upgrade the store: .*syntax error"),
    ):
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
    assert shape(backing.engine) == before
    assert (backing.marker(), backing.revision()) == (SCHEMA_VERSION, f"{SCHEMA_VERSION:04d}")


def test_a_failing_first_revision_leaves_no_record_at_all(backing: Backing, tmp_path: Path) -> None:
    broken = with_revision(tmp_path, SCHEMA_VERSION + 1, 'op.execute("THIS IS NOT SQL")')
    with opened(backing, migrations=broken) as store, pytest.raises(StoreError, match="upgrade"):
        store.write(enterprise="acme", changes=FOUNDATION, actor="ci", now=NOW)
    assert backing.tables() == []


def test_another_tools_tables_are_refused_untouched(backing: Backing) -> None:
    with backing.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE journal (entry TEXT)")
    before = backing.fingerprint()
    with opened(backing) as store:
        for call in (
            lambda: store.read(enterprise="acme", now=NOW),
            lambda: store.try_lock(enterprise="acme", holder="ci", now=NOW),
        ):
            with pytest.raises(StoreError) as raised:
                call()
            assert str(raised.value) == (
                f"{store.where} holds another tool's database (tables journal, and no "
                "insomnia-sso schema); it was left untouched: point --store elsewhere"
            )
    assert backing.fingerprint() == before


# -- what the commands do with a record that is behind --------------------------------------


def test_reading_commands_refuse_a_record_behind_and_writing_commands_upgrade_it(
    backing: Backing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backing.load_legacy()
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "acme.yaml"
    spec.write_text(spec_yaml({"platform": ["alice@acme.com:admin"]}), encoding="utf-8")
    runner = CliRunner()
    store = ["--store", backing.url]
    for command in ("plan", "drift", "status"):
        result = runner.invoke(main, [command, str(spec), *store])
        assert result.exit_code == 1, result.output
        assert result.stderr == (
            f"error: {open_store(backing.url).where}: the record is at schema 2, this "
            f"insomnia-sso needs {SCHEMA_VERSION}: run apply or confirm once to upgrade it\n"
        )
    assert backing.marker() == 2
    result = runner.invoke(
        main, ["store", "verify-domain", "acme.com", "--enterprise", "acme", *store]
    )
    assert result.exit_code == 0, result.output
    assert backing.marker() == SCHEMA_VERSION
    result = runner.invoke(main, ["plan", str(spec), *store, "--format", "json"])
    assert result.exit_code == 2, result.output  # a plan again: changes and open steps
