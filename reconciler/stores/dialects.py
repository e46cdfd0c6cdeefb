"""Where SQLite and PostgreSQL really differ, each in one small, named function.

Everything else in `record.py` is one statement for both. What differs:

    transaction    SQLite begins IMMEDIATE to write (the write lock up front, so two
                   writers queue instead of deadlocking) and DEFERRED to read; a PostgreSQL
                   read is one REPEATABLE READ, READ ONLY snapshot across the tables. Row
                   locks (`FOR UPDATE`) are rendered for PostgreSQL only; SQLite's write
                   transaction already holds the whole file.
    upsert         each dialect has its own `insert()` with ON CONFLICT; they take the
                   same arguments.
    driver_rows    the hot read (100,000 invitations): rows straight from the driver's
                   cursor, no SQLAlchemy Row and no type processing per value; PostgreSQL's
                   cursor is binary, so timestamps arrive as datetimes, not text to parse.
    driver_many    bulk loading: a batch's rows straight to the driver, with its timestamps
    driver_time    converted once per batch, not once per value; back from the driver,
    time_reader    SQLite's text is parsed once per distinct value. SQLite takes an
                   INSERT's rows ROWS_PER_INSERT to a statement (`VALUES (…), (…), …`).
    invite_many    (in `ledger.py`) PostgreSQL takes a run of invitations as three arrays.
    add_journal    PostgreSQL streams a batch's journal rows with COPY; SQLite inserts them
                   ROWS_PER_INSERT to a statement.

The statements the driver runs are still Core statements, compiled once per dialect; only
SQLAlchemy's per-row work (parameter processing, Row objects) is skipped where a batch or a
snapshot holds 100,000 rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from reconciler.stores.tables import journal, timestamp_text

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

    Insert = postgresql.Insert | sqlite.Insert

JOURNAL_COLUMNS = ("enterprise", "at", "actor", "action", "kind", "key", "outcome", "detail")
"""The order of `stores.base.journal_rows`' tuples."""


def _postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


@contextmanager
def transaction(conn: sa.Connection, *, write: bool) -> Iterator[sa.Connection]:
    """One transaction: a write takes SQLite's write lock up front, a read is a snapshot.

    SQLite's driver runs in autocommit (see `connect.py`), so SQLAlchemy's begin sends
    nothing and the BEGIN here is the transaction's; its commit and rollback end it.
    """
    with conn.begin():
        if not _postgres(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
        elif not write:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn


def upsert(conn: sa.Connection) -> Callable[[sa.Table], Insert]:
    """The dialect's INSERT … ON CONFLICT constructor."""
    return insert_for(conn.dialect.name)


def insert_for(dialect: str) -> Callable[[sa.Table], Insert]:
    """`upsert` by the dialect's name."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


_COMPILED: dict[tuple[int, str], tuple[sa.Executable, Any]] = {}
"""Statements the driver runs, compiled once per dialect: they are module constants (or
built once per dialect), kept here beside their compiled form so their ids stay theirs."""


def _compiled(conn: sa.Connection, statement: sa.Executable) -> Any:
    key = (id(statement), conn.dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        compiled = statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
        found = _COMPILED[key] = (statement, compiled)
    return found[1]


ROWS_PER_INSERT = 100
"""Rows one SQLite INSERT carries. SQLite prepares, opens its cursors on the table and its
indexes and, for the journal, reads and writes the AUTOINCREMENT sequence once per
statement it runs: one row each, as executemany runs them, cost the journal 42% and the
invitations 27% more instructions than 100 a statement (20, 4,000 a statement: more still).
100 rows of 8 columns also stay under the 999 parameters SQLite allowed before 3.32."""


@cache
def _rows_sql(sql: str, rows: int) -> str | None:
    """`sql`, an INSERT of one row (qmark parameters, every one of them in its VALUES
    list), made to insert `rows` rows; None for any other statement."""
    start = sql.find(" VALUES (")
    if not sql.startswith("INSERT INTO ") or start < 0:
        return None
    start += len(" VALUES ")
    end = sql.find(")", start) + 1
    values = sql[start:end]
    if "(" in values[1:] or values.count("?") != sql.count("?"):
        return None
    return sql[:start] + ", ".join([values] * rows) + sql[end:]


def _insert_rows(cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `sql` once per row, in order, as SQLite runs it fastest: ROWS_PER_INSERT rows
    to a statement where `sql` is a one-row INSERT (`_rows_sql`); the rows left over, and
    any other statement, through executemany. Each row is inserted (or its conflict rule
    applied) in order, as executemany does: the same rows, ids and conflicts."""
    many = _rows_sql(sql, ROWS_PER_INSERT)
    whole = 0 if many is None else len(rows) - len(rows) % ROWS_PER_INSERT
    for start in range(0, whole, ROWS_PER_INSERT):
        cursor.execute(many, list(chain.from_iterable(rows[start : start + ROWS_PER_INSERT])))
    if whole < len(rows):
        cursor.executemany(sql, rows[whole:])


def _driver(conn: sa.Connection) -> Any:
    """The driver's own connection (sqlite3's or psycopg's), inside SQLAlchemy's transaction."""
    return conn.connection.driver_connection


def driver_time(conn: sa.Connection, moment: datetime) -> Any:
    """A timestamp as the driver takes it: SQLite's fixed-width text, PostgreSQL's datetime."""
    return moment if _postgres(conn) else timestamp_text(moment)


class _Times(dict[str, datetime]):
    """SQLite's timestamps parsed once per distinct text: a batch shares one `now` across
    its rows, so 200,000 values are a few parses."""

    def __missing__(self, text: str) -> datetime:
        moment = self[text] = datetime.fromisoformat(text)
        return moment


def _same(moment: datetime) -> datetime:
    return moment


def time_reader(conn: sa.Connection) -> Callable[[Any], datetime]:
    """Turns `driver_rows`' timestamps into datetimes: SQLite's text is parsed (once per
    distinct value); PostgreSQL's binary cursor gave datetimes already (hashing them to
    share would cost more than it saves)."""
    return _same if _postgres(conn) else _Times().__getitem__


def driver_rows(
    conn: sa.Connection, statement: sa.Select[Any], params: Mapping[str, Any]
) -> Iterator[tuple[Any, ...]]:
    """The rows of `statement` from the driver's own cursor, in the open transaction; to be
    consumed there, whole.

    The statement is still built once, with Core, and compiled for the dialect; only the
    rows skip SQLAlchemy's processing (timestamps come back as the driver gives them: text
    in SQLite, datetimes in PostgreSQL). Rows are never all in one list (the garbage
    collector would walk 100,000 tuples again and again): SQLite's cursor is iterated as it
    is, in C; psycopg's, whose per-row step is Python, is fetched in chunks.
    """
    compiled = _compiled(conn, statement)
    values = compiled.construct_params(params)
    if compiled.positional:
        found: Iterator[tuple[Any, ...]] = _driver(conn).execute(
            str(compiled), tuple(values[name] for name in compiled.positiontup)
        )
        return found
    return _chunks(_driver(conn), str(compiled), values)


def _chunks(driver: Any, sql: str, values: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    with driver.cursor(binary=True) as cursor:  # binary: timestamps arrive as datetimes
        cursor.execute(sql, values)
        while rows := cursor.fetchmany(2000):
            yield from rows


def driver_execute(
    conn: sa.Connection, statement: sa.Executable, params: Mapping[str, Any]
) -> None:
    """Run `statement` once through the driver, parameters as given (in driver form)."""
    compiled = _compiled(conn, statement)
    args: Any = params
    if compiled.positional:
        args = tuple(params[name] for name in compiled.positiontup)
    cursor = _driver(conn).cursor()
    try:
        cursor.execute(str(compiled), args)
    finally:
        cursor.close()


def driver_many(
    conn: sa.Connection,
    statement: sa.Executable,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Run `statement` once per row through the driver (the bulk path for a batch of
    100,000 invitations; an INSERT goes to SQLite ROWS_PER_INSERT rows a statement): each
    row holds the values of the parameters `names`, in driver form (`driver_time`)."""
    if not rows:
        return
    compiled = _compiled(conn, statement)
    cursor = _driver(conn).cursor()
    try:
        if compiled.positional:  # SQLite's qmark style: the statement's order, picked in C
            pick = _picker([names.index(name) for name in compiled.positiontup or ()])
            _insert_rows(cursor, str(compiled), [pick(row) for row in rows])
        else:
            cursor.executemany(str(compiled), [dict(zip(names, row, strict=True)) for row in rows])
    finally:
        cursor.close()


def _picker(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A row's values at `positions`, as a tuple: one itemgetter, in C, for two or more."""
    if len(positions) > 1:
        return itemgetter(*positions)
    return lambda row: tuple(row[position] for position in positions)


_INSERT_JOURNAL = sa.insert(journal).values({name: sa.bindparam(name) for name in JOURNAL_COLUMNS})


def add_journal(conn: sa.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """Append journal rows (`stores.base.journal_rows`' tuples, timestamps in driver form),
    in order, so their ids follow plan order."""
    if not rows:
        return
    if _postgres(conn):
        columns = ", ".join(JOURNAL_COLUMNS)
        with (
            _driver(conn).cursor() as cursor,
            cursor.copy(f"COPY journal ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    compiled = _compiled(conn, _INSERT_JOURNAL)
    assert tuple(compiled.positiontup) == JOURNAL_COLUMNS  # the rows' own order
    cursor = _driver(conn).cursor()
    try:
        _insert_rows(cursor, str(compiled), rows)
    finally:
        cursor.close()
