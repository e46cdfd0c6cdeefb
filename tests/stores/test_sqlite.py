"""What is particular to the embedded SQLite store: the file, its schema, its failures, its URL."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.errors import StoreError
from reconciler.plan import Action, Kind, PlanChange
from reconciler.state import InvitationStatus
from reconciler.stores import DEFAULT_STORE_URL, connect, open_store
from reconciler.stores.record import SqlStore
from reconciler.stores.schema import SCHEMA_VERSION
from tests.stores.test_contract import FOUNDATION, NOW, invite
from tests.stores.test_migrations import with_revision

SOON = NOW + timedelta(minutes=1)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / ".insomnia-sso" / "state.db"  # the folder a first write may make


@pytest.fixture
def store(db: Path) -> Iterator[SqlStore]:
    opened = SqlStore.sqlite(db)
    yield opened
    opened.close()


def write(store: SqlStore, *changes: PlanChange) -> None:
    store.write(enterprise="acme", changes=changes, actor="ci", now=NOW)


def siblings(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir())


def pragma(db: Path, name: str) -> object:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


# -- the file --------------------------------------------------------------------------------


def test_reading_a_store_that_does_not_exist_creates_nothing(db: Path, store: SqlStore) -> None:
    assert not store.read(enterprise="acme", now=NOW).exists
    assert store.journal(enterprise="acme") == []
    assert not db.parent.exists()  # `plan` never writes


def test_the_first_write_creates_the_file_and_its_folder_in_wal_mode(
    db: Path, store: SqlStore
) -> None:
    write(store, *FOUNDATION)
    assert db.is_file()
    assert pragma(db, "journal_mode") == "wal"
    assert pragma(db, "user_version") == SCHEMA_VERSION


def test_foreign_keys_are_enforced_and_commits_are_synchronous_normal(store: SqlStore) -> None:
    write(store, *FOUNDATION)
    conn = store._session.ready(write=True)
    assert conn is not None
    assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL, beside WAL
    # a batch's dirty pages stay in memory until it commits: no statement journal spilled
    # to a temporary file as the batch goes
    assert conn.exec_driver_sql("PRAGMA cache_spill").scalar() == 0
    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY constraint failed"):
        conn.exec_driver_sql(
            "INSERT INTO invitations VALUES "
            "('acme', 'no-such-team', 'alice@acme.com', 'member', 'pending', 'x', 'x', 'x')"
        )
    conn.rollback()


def test_a_failed_batch_is_journaled_as_failed(store: SqlStore) -> None:
    write(store, *FOUNDATION)
    with pytest.raises(StoreError, match="CHECK constraint failed"):
        write(store, invite("data/alice@acme.com", role="owner"))  # never granted by invitation
    [failed] = store.journal(enterprise="acme", limit=1)
    assert (failed.key, failed.outcome) == ("data/alice@acme.com", "failed")
    actual = store.read(enterprise="acme", now=NOW)
    assert "data/alice@acme.com" not in actual.invitations
    assert actual.organizations == {"platform"}  # the batch's organization row went too


def test_a_change_the_store_cannot_make_is_refused(store: SqlStore) -> None:
    write(store, *FOUNDATION)
    drop = PlanChange(Action.DELETE, Kind.TEAM, "platform-admins", {"name": "x"}, None)
    with pytest.raises(StoreError, match="the record cannot delete a team"):
        write(store, drop)
    [failed] = store.journal(enterprise="acme", limit=1)
    assert (failed.kind, failed.outcome) == ("team", "failed")


def test_naive_datetimes_are_a_bug_not_a_guess(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.try_lock(enterprise="acme", holder="ci", now=datetime(2025, 1, 6, 9, 0))


def test_one_hundred_thousand_invitations_read_back_whole(store: SqlStore) -> None:
    # How fast is bench/reconcile.py's to say (its floor row); here, that all come back.
    people = [invite(f"team-{i % 50:02d}/person{i}@acme.com") for i in range(100_000)]
    write(store, *people)  # the 50 organizations' rows come with the invitations
    actual = store.read(enterprise="acme", now=NOW)
    assert len(actual.invitations) == 100_000
    assert len(actual.organizations) == 50


# -- the schema ------------------------------------------------------------------------------


def test_an_empty_file_is_migrated_to_the_current_schema(db: Path) -> None:
    db.parent.mkdir()
    db.touch()
    store = SqlStore.sqlite(db)
    write(store, *FOUNDATION)
    store.close()
    assert pragma(db, "user_version") == SCHEMA_VERSION
    conn = sqlite3.connect(db)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert {"enterprises", "organizations", "invitations", "members", "locks", "journal"} <= tables
    assert {"confirmations", "managed_users"} <= tables


def test_migrating_waits_for_another_process_s_write_transaction(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlStore.sqlite(db)
    write(store, *FOUNDATION)
    store.close()
    later = with_revision(tmp_path, SCHEMA_VERSION + 1, 'op.execute("SELECT 1")')
    monkeypatch.setattr(connect, "BUSY_TIMEOUT", 0.05)  # how long it waits, cut short
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    upgrading = SqlStore.sqlite(db, migrations=later)
    with pytest.raises(StoreError, match="cannot upgrade the store: database is locked"):
        upgrading.try_lock(enterprise="acme", holder="ci", now=NOW)
    assert pragma(db, "user_version") == SCHEMA_VERSION
    other.execute("ROLLBACK")
    other.close()
    assert upgrading.try_lock(enterprise="acme", holder="ci", now=NOW) is None
    upgrading.close()
    assert pragma(db, "user_version") == SCHEMA_VERSION + 1


def test_a_store_from_a_newer_version_is_refused_untouched(db: Path) -> None:
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 6}")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreError) as raised:
        SqlStore.sqlite(db).read(enterprise="acme", now=NOW)
    assert str(raised.value) == (
        f"{db} was written by a newer insomnia-sso (schema {SCHEMA_VERSION + 6} > "
        f"{SCHEMA_VERSION}); upgrade insomnia-sso to use it"
    )
    assert db.read_bytes() == before
    assert siblings(db) == ["state.db"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,email\nalice,alice@acme.com\n" * 200, "is not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xde\xad\xbe\xef" * 1024, "is corrupted or not an SQLite"),
    ],
    ids=["another-kind-of-file", "damaged-database"],
)
def test_a_corrupted_file_is_refused_and_left_untouched(
    db: Path, content: bytes, message: str
) -> None:
    db.parent.mkdir()
    db.write_bytes(content)
    store = SqlStore.sqlite(db)
    with pytest.raises(StoreError, match=message) as raised:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
    assert "left untouched" in str(raised.value)
    assert db.read_bytes() == content
    assert siblings(db) == ["state.db"]


# -- a read-only location --------------------------------------------------------------------


def without_privileges(func: Callable[[], str]) -> str:
    """Run `func` where file permissions apply: as is, or as `nobody` in a child when root."""
    if os.geteuid() != 0:
        return func()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, report, never return into pytest
        code = 1
        try:
            os.close(reader)
            os.setgid(65534)
            os.setuid(65534)
            os.write(writer, func().encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        result = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the unprivileged child failed"
    return result


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder nobody may write to (made outside tmp_path, which is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="insomnia-sso-ro-"))
    try:
        yield folder
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)


def opening_error(path: Path) -> str:
    store = SqlStore.sqlite(path)
    try:
        store.try_lock(enterprise="acme", holder="ci", now=NOW)
    except StoreError as err:
        return str(err)
    finally:
        store.close()
    return "no error"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX permissions")
def test_a_new_store_in_a_read_only_folder_is_refused(read_only_folder: Path) -> None:
    db = read_only_folder / "state.db"
    os.chmod(read_only_folder, 0o555)
    assert without_privileges(lambda: opening_error(db)) == (
        f"{db}: the store's location is read-only (SQLite writes the file and its -wal and "
        "-shm files beside it); choose a writable --store path"
    )
    assert list(read_only_folder.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX permissions")
def test_an_existing_store_in_a_read_only_folder_is_refused(read_only_folder: Path) -> None:
    db = read_only_folder / "state.db"
    store = SqlStore.sqlite(db)
    write(store, *FOUNDATION)
    store.close()
    os.chmod(read_only_folder, 0o555)
    assert "the store's location is read-only" in without_privileges(lambda: opening_error(db))


# -- locks left by crashed processes ---------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lock_held_by_a_dead_process_on_this_host_is_stale(store: SqlStore) -> None:
    crashed = f"ci@{socket.gethostname()} pid {dead_pid()}"
    assert store.try_lock(enterprise="acme", holder=crashed, now=NOW) is None
    assert store.try_lock(enterprise="acme", holder="next-run", now=SOON) is None
    [takeover] = store.journal(enterprise="acme")
    assert (takeover.action, takeover.outcome, takeover.actor) == ("lock", "taken over", "next-run")
    assert crashed in takeover.detail
    assert "its process is no longer running" in takeover.detail


@pytest.mark.parametrize(
    "holder",
    [
        f"ci@{socket.gethostname()} pid {os.getpid()}",  # alive: this very process
        f"ci@another-host.example pid {dead_pid()}",  # a pid elsewhere proves nothing here
        "someone without a pid",
    ],
    ids=["alive-on-this-host", "other-host", "unparsable"],
)
def test_a_lock_whose_holder_may_be_alive_is_not_stale(store: SqlStore, holder: str) -> None:
    assert store.try_lock(enterprise="acme", holder=holder, now=NOW) is None
    held = store.try_lock(enterprise="acme", holder="next-run", now=SOON)
    assert held is not None
    assert held.holder == holder


# -- URLs ------------------------------------------------------------------------------------


def test_sqlite_urls_name_relative_and_absolute_files() -> None:
    relative = open_store("sqlite:///.insomnia-sso/state.db")
    absolute = open_store("sqlite:////var/lib/insomnia-sso/state.db")
    assert (relative.dialect, absolute.dialect) == ("sqlite", "sqlite")
    assert relative.where == ".insomnia-sso/state.db"
    assert absolute.where == "/var/lib/insomnia-sso/state.db"
    assert relative.url == "sqlite:///.insomnia-sso/state.db"
    assert DEFAULT_STORE_URL == "sqlite:///.insomnia-sso/state.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://admin:hunter2@db.acme.com/insomnia",
            "unknown store URL scheme 'mysql' (expected sqlite:///PATH or postgresql://…)",
        ),
        (
            "scim+https://acme.insomnia.rest/scim/v2",
            "the SCIM 2.0 store (scim+https://) is not available in this version of "
            "insomnia-sso; use sqlite:///PATH",
        ),
        (
            "sqlite://admin:hunter2@db.acme.com/state.db",
            "sqlite store URLs name a file, not db.acme.com: use sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db",
        ),
        ("sqlite:///", "sqlite store URL names no file (expected sqlite:///PATH)"),
        (
            "state.db",
            "store URL has no scheme (expected sqlite:///PATH or postgresql://…, "
            "e.g. sqlite:///.insomnia-sso/state.db)",
        ),
    ],
)
def test_unusable_store_urls_are_refused_without_echoing_passwords(url: str, message: str) -> None:
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert str(raised.value) == message
    assert "hunter2" not in str(raised.value)


def test_an_accepted_invitation_survives_reopening(db: Path, store: SqlStore) -> None:
    write(store, *FOUNDATION)
    store.accept_invitation(
        enterprise="acme", organization="platform", email="bob@acme.io", actor="bob", now=NOW
    )
    store.close()
    reopened = SqlStore.sqlite(db)
    actual = reopened.read(enterprise="acme", now=NOW)
    reopened.close()
    assert actual.invitations["platform/bob@acme.io"].status is InvitationStatus.ACCEPTED
    assert actual.members["platform/bob@acme.io"].joined_at == NOW.astimezone(UTC)


def test_accepting_in_a_store_that_does_not_exist_creates_nothing(db: Path) -> None:
    store = SqlStore.sqlite(db)
    with pytest.raises(StoreError, match="there is no store here yet"):
        store.accept_invitation(
            enterprise="acme", organization="platform", email="bob@acme.io", actor="b", now=NOW
        )
    assert not db.parent.exists()
