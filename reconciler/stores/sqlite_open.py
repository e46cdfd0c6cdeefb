"""Opening the SQLite store's file: refuse what must not be touched, then migrate under the lock.

Kept apart from `sqlite.py`, which reads, writes, locks and journals on a connection this
module hands it: every way a file can be wrong (a directory, another kind of file, a corrupt
database, a read-only location, a newer schema) is decided here, before anything is written,
so a file insomnia-sso cannot use is left exactly as it was found.

The schema to reach is passed in rather than imported, so this module stays the mechanism and
`sqlite.py` names the schema its store runs (and tests can offer it a future migration).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import StoreError

BUSY_TIMEOUT = 10.0
"""Seconds a statement waits for another process's write transaction before failing."""

SQLITE_HEADER = b"SQLite format 3\x00"

Migrations = Sequence[Sequence[str]]


@contextmanager
def transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    """BEGIN … COMMIT, rolled back on any error (IMMEDIATE takes the write lock up front)."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def open_store(path: Path, migrations: Migrations, schema_version: int) -> sqlite3.Connection:
    """A connection to `path` in autocommit mode, its schema brought to `schema_version`.

    Creates the file and its folder when missing; refuses, untouched, a file that is not a
    database, is corrupt, is newer than `schema_version`, or sits where SQLite cannot write.
    """
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a store file")
    if path.exists():
        _check_header(path)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"cannot create the store's folder {path.parent}: {err.strerror}"
            ) from err
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise StoreError(
            f"{path}: the store's location is read-only (SQLite writes the file and its "
            "-wal and -shm files beside it); choose a writable --store path"
        )
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as err:
        raise store_error(path, "open the store", err) from err
    try:
        _prepare(path, conn, migrations, schema_version)
    except BaseException:
        conn.close()
        raise
    return conn


def store_error(path: Path, doing: str, err: sqlite3.Error) -> StoreError:
    """SQLite's message for a failure at `path`, with a hint when the cause is a usual one."""
    text = str(err)
    hint = ""
    if "readonly" in text or "unable to open" in text:
        hint = "; is the store's location writable?"
    elif "locked" in text or "busy" in text:
        hint = f"; another process kept the store busy for over {BUSY_TIMEOUT:g} s"
    return StoreError(f"{path}: cannot {doing}: {text}{hint}")


def _check_header(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that is not a database at all."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as err:
        raise StoreError(f"{path}: cannot read the store: {err.strerror}") from err
    if header and header != SQLITE_HEADER[: len(header)]:
        raise StoreError(
            f"{path} is not an SQLite database (corrupted, or another kind of file); "
            "it was left untouched: restore it from a backup or point --store elsewhere"
        )


def _prepare(
    path: Path, conn: sqlite3.Connection, migrations: Migrations, schema_version: int
) -> None:
    """Set the PRAGMAs and run the missing migrations in one write transaction."""
    try:  # reads only: a damaged or newer file is refused before anything is written
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as err:
        raise StoreError(
            f"{path} is corrupted or not an SQLite database ({err}); it was left "
            "untouched: restore it from a backup or point --store elsewhere"
        ) from err
    _refuse_newer(path, version, schema_version)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if version < schema_version:
            with transaction(conn):
                # Re-read under the write lock: another process may have migrated meanwhile.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                _refuse_newer(path, version, schema_version)
                for statements in migrations[version:]:
                    for statement in statements:
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {schema_version}")
    except sqlite3.Error as err:
        raise store_error(path, "prepare the store", err) from err


def _refuse_newer(path: Path, version: int, schema_version: int) -> None:
    """A newer insomnia-sso's file is never downgraded: its schema may mean what ours cannot."""
    if version > schema_version:
        raise StoreError(
            f"{path} was written by a newer insomnia-sso (schema {version} > "
            f"{schema_version}); upgrade insomnia-sso to use it"
        )
