"""One store's connection to its record, kept at the schema this insomnia-sso runs.

Kept apart from `record.py`, which reads and writes the rows: here is when a connection is
made (never to create a record a read only looks for), when the schema is checked (once
per connection), when it is upgraded or refused (`schema.py` says which), and how every
driver failure becomes one StoreError line naming the file or the server, never the URL.

    with session.reading("read the journal") as conn:    # None: no record here, nothing made
    with session.writing("record the confirmation") as conn:   # makes the record if need be
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from reconciler.errors import StoreError
from reconciler.stores.connect import Target
from reconciler.stores.dialects import transaction
from reconciler.stores.schema import (
    Migrations,
    behind,
    marker,
    refuse_foreign,
    refuse_newer,
)
from reconciler.stores.schema import create as create_record


class Session:
    """A record's connection: opened on first use, closed with the store; see the module
    docstring. `writes`: the command writes, so even a read may upgrade an older record."""

    def __init__(self, target: Target, migrations: Migrations, *, writes: bool) -> None:
        self.target = target
        self.where = target.where
        self.dialect = target.dialect
        self.writes = writes
        self._migrations = migrations
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self._current = False

    @contextmanager
    def reading(self, what: str) -> Iterator[sa.Connection | None]:
        """A read snapshot of the record, or None when there is none (nothing is created)."""
        conn = self.ready(write=False)
        if conn is None:
            yield None
            return
        with self.doing(what), transaction(conn, write=False):
            yield conn

    @contextmanager
    def writing(self, what: str, *, create: bool = True) -> Iterator[sa.Connection]:
        """A write transaction on the record, made first when missing (unless `create` is
        False: then a missing record is an error and nothing is made)."""
        conn = self.ready(write=True, create=create)
        if conn is None:
            raise StoreError(f"{self.where}: there is no store here yet (run apply first)")
        with self.doing(what), transaction(conn, write=True):
            yield conn

    def ready(self, *, write: bool, create: bool | None = None) -> sa.Connection | None:
        """The connection with the record at the current schema, or None when there is no
        record and this call may not create one (`create`, by default `write`)."""
        create = write if create is None else create
        conn = self._conn
        if conn is not None and (conn.closed or conn.invalidated):
            self.close()
            conn = None
        if conn is None:
            if not self.target.may_hold_a_record():
                if not create:
                    return None
                self.target.make_room()
            if self._engine is None:
                self._engine = self.target.engine()
            with self.doing("connect"):
                conn = self._conn = self._engine.connect()
        if not self._current and not self._check(conn, write=write, create=create):
            return None
        return conn

    def _check(self, conn: sa.Connection, *, write: bool, create: bool) -> bool:
        """Bring the record to the current schema, or refuse it; False when there is none
        and none may be made. A read of a record behind that reads the same
        (`Migrations.readable`) goes on without upgrading it, and is checked again next
        time: a later write of the same store upgrades it."""
        with self.doing("read the schema"), transaction(conn, write=False):
            version, foreign = marker(conn)
        head = self._migrations.head
        if foreign:
            refuse_foreign(self.where, foreign)
        refuse_newer(self.where, version or 0, head)
        if version is None and not create:
            return False
        if version != head:
            if version is not None and not (write or self.writes):
                if self._migrations.readable(version):
                    return True
                raise behind(self.where, version, head)
            with self.doing("upgrade the store"), transaction(conn, write=True):
                made = version is None and create_record(conn, self.where, self._migrations)
                if not made:
                    from reconciler.stores import migrate  # Alembic is loaded only to migrate

                    migrate.upgrade(conn, self.where, self._migrations)
        self._current = True
        return True

    def usable(self) -> sa.Connection | None:
        """The open connection when it still works (for best-effort writes after a failure)."""
        conn = self._conn
        return None if conn is None or conn.closed or conn.invalidated else conn

    @contextmanager
    def doing(self, what: str) -> Iterator[None]:
        """The driver's failure while doing `what`, as one StoreError line."""
        try:
            yield
        except sa.exc.DBAPIError as err:
            cause = err.orig or err
            raise self.target.error(what, cause) from cause
        except self.target.driver_errors as err:
            raise self.target.error(what, err) from err

    def close(self) -> None:
        """Close the connection; the next use opens it again."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._current = False
