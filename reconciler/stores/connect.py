"""Reaching the record: an SQLite file or a PostgreSQL server, as a SQLAlchemy Engine.

Each target names itself for messages (`where`), says whether a record may be there
without touching anything, and hands SQLAlchemy a `creator` that makes the driver's
connection its own way: the one place the two databases are opened differently.

    SqliteFile      the path as given; the file is checked before SQLite touches it (a
                    directory, another kind of file, a damaged database, a newer schema,
                    another tool's tables, a read-only location: refused, left untouched),
                    then WAL, synchronous=NORMAL, foreign keys on, a busy timeout, a
                    transaction's pages kept in memory until it commits; the
                    driver stays in autocommit, and each transaction is begun explicitly.
    PostgresServer  any libpq URI, read once; messages name `postgresql://host:port/db`,
                    never the URL, and every spelling of its password is struck out of any
                    driver text that reaches one. Sessions run in UTC.

Both use no pool: a store holds one connection and closes it with itself.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from reconciler.errors import StoreError
from reconciler.stores.schema import refuse_foreign, refuse_newer

BUSY_TIMEOUT = 10.0
"""Seconds an SQLite statement waits for another process's write transaction."""

CONNECT_TIMEOUT = 10
"""Seconds to wait for a PostgreSQL server unless the URL sets `connect_timeout` itself."""

SQLITE_HEADER = b"SQLite format 3\x00"


DEFAULT_FOLDER = ".insomnia-sso"
"""The default record's folder (`sqlite:///.insomnia-sso/state.db`): made when missing."""


class SqliteFile:
    """One SQLite file; see the module docstring."""

    dialect = "sqlite"
    driver_errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: str | os.PathLike[str], head: int) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._head = head

    def may_hold_a_record(self) -> bool:
        """False when there is no file: nothing is opened, so nothing is created."""
        return self.path.exists()

    def make_room(self) -> None:
        """Make ready for a first write: the file's folder must exist (a typo in --store
        must not start a record over somewhere new), but for the default `.insomnia-sso/`."""
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a store file")
        folder = self.path.parent
        if not folder.is_dir() and DEFAULT_FOLDER not in self.path.parts[:-1]:
            raise StoreError(
                f"{folder} does not exist: create it for a new record, or check --store (a "
                f"record is made in a folder that exists, or under {DEFAULT_FOLDER}/)"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"cannot create the store's folder {self.path.parent}: {err.strerror}"
            ) from err

    def engine(self) -> sa.Engine:
        engine = sa.create_engine("sqlite+pysqlite://", creator=self._connect, poolclass=NullPool)
        return engine.execution_options(compiled_cache=_COMPILED)

    def _connect(self) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a store file")
        if path.exists():
            _check_header(path)
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise StoreError(
                f"{path}: the store's location is read-only (SQLite writes the file and its "
                "-wal and -shm files beside it); choose a writable --store path"
            )
        try:  # autocommit: `dialects.transaction` begins each transaction itself
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise self.error("open the store", err) from err
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Refuse what must stay untouched (reads only), then set the connection's PRAGMAs."""
        path = self.path
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
                )
            ]
        except sqlite3.DatabaseError as err:
            raise StoreError(
                f"{path} is corrupted or not an SQLite database ({err}); it was left "
                "untouched: restore it from a backup or point --store elsewhere"
            ) from err
        refuse_newer(self.where, version, self._head)
        if version == 0 and tables:
            refuse_foreign(self.where, tables)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # A batch's dirty pages stay in memory until its commit. With spilling on, a
            # first apply of 100,000 also wrote 20,130 pages to a temporary file of
            # SQLite's (its statement journal, one file per batch) on top of the WAL and
            # the database; without, none, for 2 MiB more at the command's peak.
            conn.execute("PRAGMA cache_spill = OFF")
        except sqlite3.Error as err:
            raise self.error("prepare the store", err) from err

    def error(self, doing: str, err: BaseException) -> StoreError:
        """SQLite's message for a failure, with a hint when the cause is a usual one."""
        text = str(err)
        hint = ""
        if "readonly" in text or "unable to open" in text:
            hint = "; is the store's location writable?"
        elif "locked" in text or "busy" in text:
            hint = f"; another process kept the store busy for over {BUSY_TIMEOUT:g} s"
        return StoreError(f"{self.path}: cannot {doing}: {text}{hint}")

    def journals_failures_of(self, err: BaseException) -> bool:
        """A batch that failed for being locked out is not journaled: the journal is too."""
        return not (isinstance(err, sqlite3.OperationalError) and "locked" in str(err))


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


class PostgresServer:
    """A PostgreSQL store URL parsed once; see the module docstring."""

    dialect = "postgresql"

    def __init__(self, url: str, *, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        # Imported here: psycopg and libpq are not needed by SQLite users.
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        self.driver_errors: tuple[type[Exception], ...] = (psycopg.Error,)
        self._url = url
        self._secrets = _passwords_in(url)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as err:
            # Not chained: libpq quotes the offending part of the URL, which may be a password.
            raise StoreError(
                f"the PostgreSQL store URL is malformed: {self.clean(str(err))}"
            ) from None
        self._secrets |= {str(params["password"])} if params.get("password") else set()
        host, port, dbname = (str(params.get(k, "")) for k in ("host", "port", "dbname"))
        self.where = f"postgresql://{host}{':' + port if port else ''}/{dbname}"
        self._options: dict[str, Any] = {}
        if "connect_timeout" not in params:
            self._options["connect_timeout"] = connect_timeout
        if "application_name" not in params:
            self._options["application_name"] = "insomnia-sso"

    def may_hold_a_record(self) -> bool:
        """Only the server can say: connecting reads, it creates nothing."""
        return True

    def make_room(self) -> None:
        """Nothing to make before connecting: the first write creates the tables."""

    def engine(self) -> sa.Engine:
        """One Engine per URL in a process, as SQLAlchemy intends: its dialect asks the server
        what it is once, not for every store opened on it."""
        key = (self._url, repr(sorted(self._options.items())))
        engine = _POSTGRES_ENGINES.get(key)
        if engine is None:
            engine = _POSTGRES_ENGINES[key] = sa.create_engine(
                "postgresql+psycopg://", creator=self._connect, poolclass=NullPool
            ).execution_options(compiled_cache=_COMPILED)
        return engine

    def _connect(self) -> Any:
        """A new connection (psycopg's) whose timestamps come back in UTC."""
        import psycopg

        try:
            conn = psycopg.connect(self._url, **self._options)
        except psycopg.Error as err:
            raise self.error("connect", err) from err
        try:
            conn.execute("SET TIME ZONE 'UTC'")  # timestamps come back in UTC, not local time
            conn.commit()
        except psycopg.Error as err:
            conn.close()
            raise self.error("prepare the connection", err) from err
        return conn

    def clean(self, text: str) -> str:
        """One line, with any password from the URL struck out."""
        line = "; ".join(" ".join(part.split()) for part in text.splitlines() if part.strip())
        for secret in sorted(self._secrets, key=len, reverse=True):
            line = line.replace(secret, "***")
        return line.removeprefix("connection failed: ")

    def error(self, doing: str, err: BaseException) -> StoreError:
        """The driver's failure as one clean line naming the server, never the URL."""
        return StoreError(f"{self.where}: cannot {doing}: {self.clean(str(err))}")

    def journals_failures_of(self, err: BaseException) -> bool:
        """Any failed batch is journaled as failed while the server still answers."""
        return True


Target = SqliteFile | PostgresServer

_POSTGRES_ENGINES: dict[tuple[str, str], sa.Engine] = {}

_COMPILED: Any = sa.util.LRUCache(500)
"""Statements compiled once per dialect for every store in the process, not once per
Engine (the keys hold the dialect); the record's statements are a fixed few."""


def _passwords_in(url: str) -> set[str]:
    """Every spelling of a password the URL holds (raw and decoded, userinfo or query)."""
    parts = urlsplit(url)
    found = {parts.password or ""}
    found |= {value for key, value in parse_qsl(parts.query) if key == "password"}
    found |= {unquote(text) for text in found}  # libpq quotes it raw when it cannot decode it
    return {text for text in found if text}
