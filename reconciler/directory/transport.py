"""One SCIM request, bounded in every way a server can stretch it: the transport under the
directory.

Bounds (`Bounds`, defaults below, each a setting where a user may want another):
  * each try of a request ends within `request_seconds`, whatever the server does: every
    socket read, write and connect is cut to what is left of that deadline (a server that
    drips one byte a second cannot hold it longer);
  * each answer is at most `answer_bytes`, counted after decompression, read in chunks;
  * one request is tried at most `attempts` times within `request_retry_seconds`, and all
    the retries of one run wait at most `run_retry_seconds` together; a `Retry-After` above
    `retry_after_cap` is not waited out at all;
  * a redirect is an error naming its status and target: never followed, so the token stays
    with the host it was given for, and a write answered 3xx never counts as done.

Failures come out as one of these, each with a one-line `reason` that never holds the token:

    DirectoryError
    ├── DirectoryAuthError      401/403: this client sends nothing more, from any thread
    └── ScimRequestError        a request that did not succeed
        ├── ScimStatusError     the server refused it (4xx, 3xx, or 5xx after every retry)
        ├── ScimUnreachableError  DNS, TLS, or a refused first connection: said plainly, at once
        ├── ScimGaveUpError     no usable answer after every retry (connection, timeout)
        └── AnswerLostError     a POST may have been carried out, its answer is lost, and
                                the caller gave no way to look the resource up

429 and 503 wait as `Retry-After` says; other 5xx and connection failures wait with
exponential backoff and jitter (stamina). Each wait is announced in one plain line.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import math
import os
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import stamina
import stamina.instrumentation

from reconciler.directory import bounded_io
from reconciler.directory.bounded_io import (
    TooLargeError,
    UnaskedEncodingError,
    bounded_body,
    deadline,
)
from reconciler.errors import DirectoryAuthError, DirectoryError

TOKEN_REJECTED = (
    "SCIM token rejected (expired or revoked?): "  # noqa: S105 (a message, not a secret)
    "refresh it in Insomnia › Enterprise Controls › SCIM"
)
SCIM_JSON = "application/scim+json"
MAX_DETAIL = 160
_MIB = 1024 * 1024

Notify = Callable[[str], None]
"""Where the one-line announcements of waits go (stderr in the CLI)."""


@dataclass(frozen=True)
class Bounds:
    """Every limit one directory run keeps. Tests shrink the waits; the CLI reads the
    settings a user may change from the environment (`Bounds.from_env`)."""

    request_seconds: float = 60.0
    """One try of one request, from connecting to the last byte of the answer."""
    connect_seconds: float = 10.0
    answer_bytes: int = 32 * _MIB
    """The largest answer read, after decompression."""
    attempts: int = 5
    request_retry_seconds: float = 120.0
    """All the tries of one request, waits included."""
    run_retry_seconds: float = 600.0
    """All the waits between retries of one run, together."""
    retry_after_cap: float = 60.0
    """A `Retry-After` longer than this is not waited out: the request gives up at once."""
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    max_resources: int = 1_000_000
    """The most users, or groups, one listing reads; past it the read is partial."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Bounds:
        """Defaults, with the settings in SETTINGS taken from the environment when set."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (field, kind, scale) in SETTINGS.items():
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                number = kind(raw)
            except ValueError:
                number = -1
            if number <= 0:
                raise DirectoryError(f"{name} must be a positive number, not {raw!r}")
            values[field] = number * scale
        return cls(**values)


SETTINGS: dict[str, tuple[str, Callable[[str], float], int]] = {
    "INSOMNIA_SSO_SCIM_TIMEOUT": ("request_seconds", float, 1),
    "INSOMNIA_SSO_SCIM_RETRY_BUDGET": ("run_retry_seconds", float, 1),
    "INSOMNIA_SSO_SCIM_MAX_ANSWER_MB": ("answer_bytes", int, _MIB),
    "INSOMNIA_SSO_SCIM_MAX_RESOURCES": ("max_resources", int, 1),
}
"""Environment variable → (Bounds field, type, multiplier): the bounds a user may change."""


class ScimRequestError(DirectoryError):
    """A request that did not succeed; `reason` is one line, without the token."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ScimStatusError(ScimRequestError):
    """The server answered with an error status (or a redirect, which is never followed)."""

    def __init__(self, reason: str, status: int, scim_type: str | None = None) -> None:
        super().__init__(reason, status)
        self.scim_type = scim_type


class ScimUnreachableError(ScimRequestError):
    """The server cannot be reached at all: its name, TLS, or a refused first connection."""


class ScimGaveUpError(ScimRequestError):
    """Every try failed without an answer (connection refused or reset, timeout)."""


class AnswerLostError(ScimRequestError):
    """A POST reached the server but its answer did not come back: it may have been done."""


@dataclass(frozen=True)
class ScimResult:
    """A successful answer; `recovered` when a lost create was found by looking it up."""

    status: int
    body: Mapping[str, Any] | None
    recovered: bool = False


class _RetryError(Exception):
    """One try failed in a way worth another; `wait` overrides the backoff (Retry-After)."""

    def __init__(
        self, reason: str, *, label: str, wait: float | None = None, sent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.label = label  # how the wait is announced: "SCIM busy (429)"
        self.wait = wait
        self.sent = sent  # the request may have reached the server and been carried out
        self.announce: Callable[[float, int], None] | None = None


def _backoff(exc: Exception) -> bool | float:
    if isinstance(exc, _RetryError):
        return exc.wait if exc.wait is not None else True
    return False


def _announce_retry(details: stamina.instrumentation.RetryDetails) -> None:
    cause = details.caused_by
    if isinstance(cause, _RetryError) and cause.announce is not None:
        cause.announce(details.wait_for, details.retry_num)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


# -- the client -----------------------------------------------------------------------------


class ScimHttp:
    """An httpx client bound to one SCIM base URL and token, counting what it sends."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        bounds: Bounds,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 8,
        notify: Notify | None = None,
    ) -> None:
        self._token = token
        self.bounds = bounds
        self.notify = notify
        self.host = urlsplit(base_url).netloc
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": SCIM_JSON,
                "Accept-Encoding": "gzip",
            },
            timeout=httpx.Timeout(bounds.request_seconds, connect=bounds.connect_seconds),
            transport=transport or bounded_io.transport(max_connections),
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._requests = 0
        self._waited = 0.0
        self._rejected = False
        self._answered = False
        stamina.instrumentation.set_on_retry_hooks([_announce_retry])

    def __repr__(self) -> str:
        return f"ScimHttp({str(self._client.base_url)!r})"

    @property
    def requests(self) -> int:
        """Requests sent so far (each retry counts)."""
        return self._requests

    @property
    def waited(self) -> float:
        """Seconds this client has waited between retries so far."""
        return self._waited

    def close(self) -> None:
        """Release the connections."""
        self._client.close()

    def scrub(self, text: str) -> str:
        """`text` without the token, on one line, truncated."""
        if self._token:
            text = text.replace(self._token, "***")
        text = " ".join(text.split())
        return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        recover: Callable[[], Mapping[str, Any] | None] | None = None,
        lost_already: bool = False,
    ) -> ScimResult:
        """Send one request until it succeeds, is refused, or the bounds run out.

        A POST whose answer may be lost is sent again only after `recover` looked the
        resource up and did not find it (found: returned as `recovered`); without `recover`
        it raises AnswerLostError. `lost_already` makes the first try start with that look-up."""
        what = f"{method} /{path.lstrip('/').split('?')[0]}"
        maybe_done = lost_already
        bounds = self.bounds
        try:
            for attempt in stamina.retry_context(
                on=_backoff,
                attempts=bounds.attempts,
                timeout=bounds.request_retry_seconds,
                wait_initial=bounds.wait_initial,
                wait_max=bounds.wait_max,
                wait_jitter=bounds.wait_jitter,
            ):
                with attempt:
                    if maybe_done and recover is not None:
                        found = recover()
                        if found is not None:
                            return ScimResult(200, found, recovered=True)
                    try:
                        return self._send_once(method, path, json, params)
                    except _RetryError as again:
                        if again.sent and method == "POST":
                            if recover is None:
                                raise AnswerLostError(
                                    f"{what}: {again.reason}; it may have been carried out"
                                ) from None
                            maybe_done = True
                        self._may_wait(what, again, attempt.num)
                        raise
        except _RetryError as again:
            raise ScimGaveUpError(f"{what}: {again.reason} (gave up after retrying)") from None
        raise ScimGaveUpError(f"{what}: no try was made")  # pragma: no cover (attempts >= 1)

    def _may_wait(self, what: str, again: _RetryError, tried: int) -> None:
        """Give up now rather than wait past a bound; else set up the wait's announcement."""
        bounds = self.bounds
        if again.wait is not None and again.wait > bounds.retry_after_cap:
            raise ScimGaveUpError(
                f"{what}: {again.label}: asked to wait {again.wait:g} s, longer than the "
                f"{bounds.retry_after_cap:g} s this tool waits; try again later"
            ) from None
        if self._waited >= bounds.run_retry_seconds:
            raise ScimGaveUpError(
                f"{what}: {again.reason}; this run already waited {self._waited:.0f} s for "
                f"the SCIM server, its whole retry budget (INSOMNIA_SSO_SCIM_RETRY_BUDGET)"
            ) from None
        if tried >= bounds.attempts:
            return

        def announce(wait: float, retry: int) -> None:
            with self._lock:
                self._waited += wait
            if self.notify is not None:
                asked = " as asked" if again.wait is not None else ""
                self.notify(
                    f"{again.label} on {what}: waiting {_seconds(wait)}{asked}, "
                    f"try {retry + 1} of {bounds.attempts}"
                )

        again.announce = announce

    def _send_once(
        self, method: str, path: str, body: Any, params: Mapping[str, str | int] | None
    ) -> ScimResult:
        if self._rejected:
            raise DirectoryAuthError(TOKEN_REJECTED)
        with self._lock:
            self._requests += 1
        what = f"{method} /{path.lstrip('/').split('?')[0]}"
        headers = {"Content-Type": SCIM_JSON} if body is not None else None
        content = None if body is None else jsonlib.dumps(body).encode()
        try:
            with (
                deadline(self.bounds.request_seconds),
                self._client.stream(
                    method, path.lstrip("/"), content=content, params=params, headers=headers
                ) as response,
            ):
                self._answered = True
                status = response.status_code
                self._refuse(response, what)
                data = bounded_body(response, self.bounds.answer_bytes)
        except httpx.ConnectError as e:
            raise self._unreachable(e, what) from None
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as e:
            raise _RetryError(
                f"cannot connect ({type(e).__name__})", label="SCIM server not answering"
            ) from None
        except httpx.TimeoutException:
            raise _RetryError(
                f"no whole answer within {self.bounds.request_seconds:g} s",
                label="SCIM server too slow",
                sent=True,
            ) from None
        except httpx.TransportError as e:
            raise _RetryError(
                f"connection lost ({type(e).__name__})", label="SCIM connection lost", sent=True
            ) from None
        except UnaskedEncodingError as e:
            raise ScimStatusError(
                f"{what}: the answer is compressed with {e}, which was not asked for", status
            ) from None
        except TooLargeError:
            raise ScimStatusError(
                f"{what}: the answer is larger than {self.bounds.answer_bytes // _MIB} MiB "
                "(INSOMNIA_SSO_SCIM_MAX_ANSWER_MB); not read",
                status,
            ) from None
        return ScimResult(status, self._json(data, status, what))

    def _refuse(self, response: httpx.Response, what: str) -> None:
        """Raise for every status that is not a success (the body is read only for errors)."""
        status = response.status_code
        if status in (401, 403):
            self._rejected = True
            raise DirectoryAuthError(TOKEN_REJECTED)
        if 300 <= status < 400:
            target = self.scrub(response.headers.get("Location") or "nowhere")[:100]
            raise ScimStatusError(
                f"{what}: redirected ({status}) to {target}; not followed (the token stays "
                f"with {self.host}): give --scim the URL Insomnia shows",
                status,
            )
        if status < 400:
            return
        detail, scim_type = self._error(response)
        if status in (429, 503):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _RetryError(
                f"{status} {detail}".strip(), label=f"SCIM busy ({status})", wait=wait
            )
        if status >= 500 and status not in (501, 505):  # those two do not pass with time
            raise _RetryError(
                f"{status} {detail}".strip(), label=f"SCIM server error ({status})", sent=True
            )
        raise ScimStatusError(self.scrub(f"{what}: {status} {detail}".strip()), status, scim_type)

    def _unreachable(self, error: httpx.ConnectError, what: str) -> Exception:
        """A failed connection said plainly: a name, TLS or refused; refused later is retried."""
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, OSError):
            cause = cause.__cause__ or cause.__context__
        host = self.host
        if isinstance(cause, socket.gaierror):
            return ScimUnreachableError(f"{what}: cannot resolve the SCIM host {_name(host)}")
        if isinstance(cause, ssl.SSLCertVerificationError):
            return ScimUnreachableError(
                f"{what}: TLS with {host} failed: its certificate is not trusted "
                f"({cause.verify_message})"
            )
        if isinstance(cause, ssl.SSLError):
            return ScimUnreachableError(
                f"{what}: TLS with {host} failed ({cause.reason or 'handshake'}): is it an "
                "https server?"
            )
        if isinstance(cause, ConnectionRefusedError) and not self._answered:
            return ScimUnreachableError(
                f"{what}: connection to {host} refused: is the SCIM URL right?"
            )
        return _RetryError(
            f"cannot connect ({type(cause or error).__name__})", label="SCIM server unreachable"
        )

    def _json(self, data: bytes, status: int, what: str) -> Mapping[str, Any] | None:
        if not data.strip():
            return None
        try:
            parsed = jsonlib.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise ScimStatusError(f"{what}: {status} answer is not JSON", status) from None
        return parsed if isinstance(parsed, dict) else None

    def _error(self, response: httpx.Response) -> tuple[str, str | None]:
        try:
            data = jsonlib.loads(bounded_body(response, 64 * 1024))
        except (
            ValueError,
            UnicodeDecodeError,
            TooLargeError,
            UnaskedEncodingError,
            httpx.HTTPError,
        ):
            return "", None
        if not isinstance(data, dict):
            return "", None
        detail = str(data.get("detail") or "")
        scim_type = data.get("scimType")
        text = f"{scim_type}: {detail}" if scim_type else detail
        return self.scrub(text), str(scim_type) if scim_type else None


def _name(netloc: str) -> str:
    return netloc.rpartition("@")[2].rsplit(":", 1)[0] or netloc


def _seconds(wait: float) -> str:
    return f"{math.ceil(wait)} s" if wait >= 1 else f"{wait:.1f} s"
