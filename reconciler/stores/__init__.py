"""Insomnia-side stores, chosen by URL scheme: `open_store("sqlite:///.insomnia-sso/state.db")`.

    sqlite:///relative/path.db     the embedded default (a file beside the pipeline)
    sqlite:////absolute/path.db
    postgresql://… / postgres://…  shared by many runners: any libpq URI, e.g.
                                   postgresql://user:pw@db:5432/name?options=-csearch_path%3Dsso
    scim+https://…                 Insomnia's SCIM 2.0 connector (a later version)

Error messages name the scheme or the path, never the whole URL: a URL may hold a password.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from reconciler.errors import StoreError
from reconciler.stores.base import Store
from reconciler.stores.sqlite import SqliteStore

DEFAULT_STORE_URL = "sqlite:///.insomnia-sso/state.db"

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES = {"postgresql", "postgres"}
_LATER = {"scim+https": "the SCIM 2.0 store"}


def open_store(url: str) -> Store:
    """The store a URL names; StoreError for an unknown or unavailable scheme."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise StoreError(
            "store URL has no scheme (expected sqlite:///PATH or postgresql://…, "
            "e.g. sqlite:///.insomnia-sso/state.db)"
        )
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _open_sqlite(url)
    if scheme in _POSTGRES:
        # libpq knows the scheme in lower case only; the store connects on first use.
        # Imported on demand: psycopg and libpq are not needed by SQLite users.
        from reconciler.stores.postgres import PostgresStore

        return PostgresStore(scheme + url[len(scheme) :])
    if scheme in _LATER:
        raise StoreError(
            f"{_LATER[scheme]} ({scheme}://) is not available in this version of "
            "insomnia-sso; use sqlite:///PATH"
        )
    raise StoreError(
        f"unknown store URL scheme '{scheme}' (expected sqlite:///PATH or postgresql://…)"
    )


def _open_sqlite(url: str) -> Store:
    if not url.lower().startswith(_SQLITE_PREFIX):
        # sqlite://host/… or sqlite://user:password@host/…: never echo it, it may hold a password.
        netloc = urlsplit(url).hostname or "a host"
        raise StoreError(
            f"sqlite store URLs name a file, not {netloc}: use sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    path = url[len(_SQLITE_PREFIX) :]
    if not path or path.endswith("/"):
        raise StoreError("sqlite store URL names no file (expected sqlite:///PATH)")
    return SqliteStore(path, url=url)
