"""Where people and teams live: the SCIM 2.0 directory Insomnia's connector exposes.

The record (`reconciler.stores`) keeps what the tool itself knows (lock, journal,
confirmations, the users it manages); a directory holds the people and teams. Directories
never import each other nor the stores' implementations.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.errors import DirectoryError
from reconciler.outputs import is_loopback

if TYPE_CHECKING:
    from reconciler.directory.scim import ScimDirectory
    from reconciler.directory.scim_read import ReadProgress
    from reconciler.directory.transport import Notify

PROFILE_ENV = "INSOMNIA_SSO_SCIM_PROFILE"
"""Which SCIM requests to send: okta (the default) or rfc7644."""

TOKEN_ENV = "INSOMNIA_SSO_SCIM_TOKEN"  # noqa: S105 (a variable name, not a secret)
"""Where the SCIM bearer token comes from when no token file is given."""


def check_scim_url(url: str) -> str:
    """The SCIM base URL, refused unless it is https:// (http:// only for loopback hosts)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DirectoryError(f"SCIM URL must be an https:// URL, got {url.strip()!r}")
    if parts.username or parts.password:
        raise DirectoryError("SCIM URL must not carry credentials: the token goes in the env")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise DirectoryError(
            f"SCIM URL must use https:// (http:// only for a loopback host), got {url.strip()!r}"
        )
    return url.strip()


def scim_token(token_file: str | None = None) -> str:
    """The SCIM bearer token: from `token_file` when given, else from INSOMNIA_SSO_SCIM_TOKEN."""
    if token_file is not None:
        path = Path(token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise DirectoryError(f"SCIM token file {token_file} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise DirectoryError(f"SCIM token file {token_file} cannot be read: {reason}") from None
        if not token:
            raise DirectoryError(f"SCIM token file {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise DirectoryError(
            f"no SCIM token: set {TOKEN_ENV} or pass --scim-token-file FILE "
            "(Insomnia › Enterprise Controls › SCIM shows it)"
        )
    return token


def open_directory(
    url: str,
    token: str,
    *,
    profile: str | None = None,
    timeout: float | None = None,
    notify: Notify | None = None,
    progress: ReadProgress | None = None,
) -> ScimDirectory:
    """A SCIM directory for a checked URL and a non-empty token, speaking `profile` (okta
    unless named, see `Profile`), within the bounds the environment sets (`Bounds.from_env`).
    With `timeout`, each request and all its retries together stay within it (doctor's
    one-timeout promise). `progress` is told of each page a read lists."""
    from reconciler.directory.scim import ScimDirectory
    from reconciler.directory.scim_types import Profile
    from reconciler.directory.transport import Bounds

    if not token or not token.strip():
        raise DirectoryError(
            f"no SCIM token: set {TOKEN_ENV} or pass --scim-token-file FILE "
            "(Insomnia › Enterprise Controls › SCIM shows it)"
        )
    chosen = Profile.named(profile or os.environ.get(PROFILE_ENV))
    bounds = Bounds.from_env()
    if timeout is not None:
        bounds = replace(
            bounds,
            attempts=2,
            request_seconds=timeout,
            connect_seconds=min(bounds.connect_seconds, timeout),
            request_retry_seconds=timeout,
            run_retry_seconds=timeout,
            retry_after_cap=timeout / 4,
            wait_max=timeout / 4,
        )
    return ScimDirectory(
        check_scim_url(url),
        token.strip(),
        profile=chosen,
        bounds=bounds,
        notify=notify,
        progress=progress,
    )
