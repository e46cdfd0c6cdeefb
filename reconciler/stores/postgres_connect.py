"""Reaching the PostgreSQL store: the URL read once, the connection, the schema migrated.

Kept apart from `postgres.py`, which reads, writes, locks and journals on a connection made
here. Everything that holds the URL lives here because a URL may hold a password: messages
name the server as `postgresql://host:port/dbname`, and any text from libpq that reaches one
has every spelling of the password struck out (`Server.clean`).

Migrating takes `pg_advisory_xact_lock` for the schema, so runners starting at once migrate
once; a schema from a newer insomnia-sso is refused untouched. The schema to reach is passed
in rather than imported, so `postgres.py` names the schema its store runs (and tests can offer
it a future migration).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from reconciler.errors import StoreError
from reconciler.stores import postgres_schema as sql

CONNECT_TIMEOUT = 10
"""Seconds to wait for the server unless the URL sets `connect_timeout` itself."""

Connection = psycopg.Connection[TupleRow]
Migrations = Sequence[Sequence[str]]


class Server:
    """A store URL parsed once: how to name the server, how to connect, what to strike out."""

    def __init__(self, url: str, *, connect_timeout: int = CONNECT_TIMEOUT) -> None:
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
        self._options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in params:
            self._options["connect_timeout"] = connect_timeout
        if "application_name" not in params:
            self._options["application_name"] = "insomnia-sso"

    def connect(self) -> Connection:
        """A new autocommit connection whose timestamps come back in UTC."""
        try:
            conn = psycopg.connect(self._url, **self._options)
        except psycopg.Error as err:
            raise self.error("connect", err) from err
        try:
            conn.execute("SET TIME ZONE 'UTC'")  # timestamps come back in UTC, not local time
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

    def error(self, doing: str, err: psycopg.Error) -> StoreError:
        """The driver's failure as one clean line naming the server, never the URL."""
        return StoreError(f"{self.where}: cannot {doing}: {self.clean(str(err))}")


def migrate(
    conn: Connection, where: str, migrations: Migrations, schema_version: int, *, create: bool
) -> bool:
    """Bring the schema to `schema_version`; False when absent and `create` is False."""
    version = _version(conn)  # reads only: a newer schema is refused untouched
    if version is None and not create:
        return False
    _refuse_newer(where, version or 0, schema_version)
    if version is None or version < schema_version:
        with conn.transaction():
            # One migrator per schema at a time; the others wait here, then find it done.
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))",
                (sql.MIGRATION_LOCK,),
            )
            conn.execute(sql.CREATE_VERSION_TABLE)
            version = _version(conn) or 0
            _refuse_newer(where, version, schema_version)
            for number in range(version, schema_version):
                for statement in migrations[number]:
                    conn.execute(statement)
                conn.execute(sql.RECORD_VERSION, (number + 1,))
    return True


def _version(conn: Connection) -> int | None:
    """The schema's version, or None when the search_path holds no store at all."""
    row = conn.execute(sql.HAS_STORE).fetchone()
    if row is None or not row[0]:
        return None
    found = conn.execute(sql.SELECT_VERSION).fetchone()
    return int(found[0]) if found is not None else 0


def _refuse_newer(where: str, version: int, schema_version: int) -> None:
    """A newer insomnia-sso's schema is never downgraded: it may mean what ours cannot."""
    if version > schema_version:
        raise StoreError(
            f"{where} was written by a newer insomnia-sso (schema {version} > "
            f"{schema_version}); upgrade insomnia-sso to use it"
        )


def _passwords_in(url: str) -> set[str]:
    """Every spelling of a password the URL holds (raw and decoded, userinfo or query)."""
    parts = urlsplit(url)
    found = {parts.password or ""}
    found |= {value for key, value in parse_qsl(parts.query) if key == "password"}
    found |= {unquote(text) for text in found}  # libpq quotes it raw when it cannot decode it
    return {text for text in found if text}
