"""One SCIM request, sent with bounded retries: the transport under `ScimDirectory`.

Failures come out as one of these, each with a one-line `reason` that never holds the token:

    DirectoryError
    ├── DirectoryAuthError   401/403: this client sends nothing more, from any thread
    └── ScimRequestError          a request that did not succeed
        ├── ScimStatusError  the server refused it (4xx, or 5xx after every retry)
        ├── ScimGaveUpError       no usable answer after every retry (connection, timeout)
        └── AnswerLostError       a POST may have been carried out, its answer is lost, and
                             the caller gave no way to look the resource up

429 and 503 wait as `Retry-After` says (capped); other 5xx and connection failures wait
with exponential backoff and jitter (stamina), bounded in tries and in total time.
"""

from __future__ import annotations

import email.utils
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import stamina

from reconciler.errors import DirectoryAuthError, DirectoryError

log = logging.getLogger(__name__)

TOKEN_REJECTED = (
    "SCIM token rejected (expired or revoked?): "  # noqa: S105 (a message, not a secret)
    "refresh it in Insomnia › Enterprise Controls › SCIM"
)
SCIM_JSON = "application/scim+json"
MAX_DETAIL = 160


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request. Tests shrink the waits; production keeps these."""

    attempts: int = 6
    total_seconds: float = 90.0
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    retry_after_cap: float = 30.0


class ScimRequestError(DirectoryError):
    """A request that did not succeed; `reason` is one line, without the token."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ScimStatusError(ScimRequestError):
    """The server answered with an error status."""

    def __init__(self, reason: str, status: int, scim_type: str | None = None) -> None:
        super().__init__(reason, status)
        self.scim_type = scim_type


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

    def __init__(self, reason: str, *, wait: float | None = None, sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.sent = sent  # the request may have reached the server and been carried out


def _backoff(exc: Exception) -> bool | float:
    if isinstance(exc, _RetryError):
        return exc.wait if exc.wait is not None else True
    return False


def retry_after_seconds(value: str | None, cap: float, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap)


class ScimHttp:
    """An httpx client bound to one SCIM base URL and token, counting what it sends."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float,
        retry: RetryPolicy,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 8,
    ) -> None:
        self._token = token
        self.retry = retry
        self.timeout = timeout
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
        )
        self._lock = threading.Lock()
        self._requests = 0
        self._rejected = False

    def __repr__(self) -> str:
        return f"ScimHttp({str(self._client.base_url)!r})"

    @property
    def requests(self) -> int:
        """Requests sent so far (each retry counts)."""
        return self._requests

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
        """Send one request until it succeeds, is refused, or the retry bounds run out.

        A POST whose answer may be lost is sent again only after `recover` looked the
        resource up and did not find it (found: returned as `recovered`); without `recover`
        it raises AnswerLostError. `lost_already` makes the first try start with that look-up."""
        what = f"{method} /{path.lstrip('/').split('?')[0]}"
        maybe_done = lost_already
        try:
            for attempt in stamina.retry_context(
                on=_backoff,
                attempts=self.retry.attempts,
                timeout=self.retry.total_seconds,
                wait_initial=self.retry.wait_initial,
                wait_max=self.retry.wait_max,
                wait_jitter=self.retry.wait_jitter,
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
                        log.info("retrying %s: %s", what, again.reason)
                        raise
        except _RetryError as again:
            raise ScimGaveUpError(f"{what}: {again.reason} (gave up after retrying)") from None
        raise ScimGaveUpError(f"{what}: no try was made")  # pragma: no cover (attempts >= 1)

    def _send_once(
        self, method: str, path: str, body: Any, params: Mapping[str, str | int] | None
    ) -> ScimResult:
        if self._rejected:
            raise DirectoryAuthError(TOKEN_REJECTED)
        with self._lock:
            self._requests += 1
        headers = {"Content-Type": SCIM_JSON} if body is not None else None
        try:
            response = self._client.request(
                method, path.lstrip("/"), json=body, params=params, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
            raise _RetryError(f"cannot connect ({type(e).__name__})") from None
        except httpx.TimeoutException:
            raise _RetryError(f"no answer within {self.timeout:g}s", sent=True) from None
        except httpx.TransportError as e:
            raise _RetryError(f"connection lost ({type(e).__name__})", sent=True) from None
        status = response.status_code
        if status in (401, 403):
            self._rejected = True
            raise DirectoryAuthError(TOKEN_REJECTED)
        if status in (429, 503):
            wait = retry_after_seconds(
                response.headers.get("Retry-After"), self.retry.retry_after_cap
            )
            raise _RetryError(f"{status} {self._detail(response)}".strip(), wait=wait)
        if status >= 500:
            raise _RetryError(f"{status} {self._detail(response)}".strip(), sent=True)
        if status >= 400:
            detail, scim_type = self._error(response)
            raise ScimStatusError(
                self.scrub(f"{method} {path.split('?')[0]}: {status} {detail}".strip()),
                status,
                scim_type,
            )
        return ScimResult(status, self._json(response, method, path))

    def _json(self, response: httpx.Response, method: str, path: str) -> Mapping[str, Any] | None:
        if not response.content:
            return None
        try:
            data = response.json()
        except ValueError:
            raise ScimStatusError(
                f"{method} {path}: {response.status_code} answer is not JSON", response.status_code
            ) from None
        return data if isinstance(data, dict) else None

    def _error(self, response: httpx.Response) -> tuple[str, str | None]:
        try:
            data = response.json()
        except ValueError:
            return self.scrub(response.text), None
        if not isinstance(data, dict):
            return "", None
        detail = str(data.get("detail") or "")
        scim_type = data.get("scimType")
        text = f"{scim_type}: {detail}" if scim_type else detail
        return self.scrub(text), str(scim_type) if scim_type else None

    def _detail(self, response: httpx.Response) -> str:
        return self._error(response)[0]
