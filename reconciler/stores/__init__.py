"""The record, opened by URL: `open_store("sqlite:///.insomnia-sso/state.db")`.

    sqlite:///relative/path.db     the embedded default (a file beside the pipeline)
    sqlite:////absolute/path.db
    postgresql://… / postgres://…  shared by many runners: any libpq URI, e.g.
                                   postgresql://user:pw@db:5432/name?options=-csearch_path%3Dsso
    scim+https://…                 Insomnia's SCIM 2.0 connector (a later version)

Both databases are one implementation, `reconciler.stores.record.SqlStore`; a command that
writes opens its store with `writes=True`, which lets even its reads upgrade an older record
(see `reconciler.stores.schema`). Error messages name the scheme or the path, never the whole
URL: a URL may hold a password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.errors import StoreError

if TYPE_CHECKING:
    from reconciler.stores.record import SqlStore

DEFAULT_STORE_URL = "sqlite:///.insomnia-sso/state.db"

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES = {"postgresql", "postgres"}
_LATER = {"scim+https": "the SCIM 2.0 store"}


def open_store(url: str, *, writes: bool = False) -> SqlStore:
    """The store a URL names; StoreError for an unknown or unavailable scheme.

    `writes`: the command writes to the record, so an older schema is upgraded on first use
    (reads included); without it reads refuse an older schema. Nothing connects yet.
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise StoreError(
            "store URL has no scheme (expected sqlite:///PATH or postgresql://…, "
            "e.g. sqlite:///.insomnia-sso/state.db)"
        )
    scheme = scheme.lower()
    # Imported on demand: SQLAlchemy is not needed by commands that never open the record.
    from reconciler.stores.record import SqlStore

    if scheme == "sqlite":
        return SqlStore.sqlite(_sqlite_path(url), url=url, writes=writes)
    if scheme in _POSTGRES:
        # libpq knows the scheme in lower case only; the store connects on first use.
        return SqlStore.postgres(scheme + url[len(scheme) :], writes=writes)
    if scheme in _LATER:
        raise StoreError(
            f"{_LATER[scheme]} ({scheme}://) is not available in this version of "
            "insomnia-sso; use sqlite:///PATH"
        )
    raise StoreError(
        f"unknown store URL scheme '{scheme}' (expected sqlite:///PATH or postgresql://…)"
    )


def _sqlite_path(url: str) -> str:
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
    return path
