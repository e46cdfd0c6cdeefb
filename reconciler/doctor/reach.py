"""Reaching a host where doctor's DNS says it is, and saying why it could not be reached.

With `--nameserver`, every host doctor talks to is looked up through those nameservers and
its requests go to the address found, with the host's name kept for TLS (SNI and the
certificate) and in the Host header, as `curl --resolve` does; without, the system's
resolver finds it when connecting. Either way a failure comes back as one `FetchError`
naming its cause (the name, a refused connection, TLS, no answer in time, an HTTP status,
an answer that is no document), so each check can give the fix for that cause.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from enum import StrEnum

import httpx

from reconciler.doctor.checks import Deadline
from reconciler.doctor.dns import DnsLookupError, HostNotFoundError, Resolver

MAX_DOCUMENT_BYTES = 1024 * 1024

Pins = Mapping[str, str]
"""Host → the address its requests go to, as doctor's DNS answered."""


class Cause(StrEnum):
    """Why a fetch failed: each has a fix of its own."""

    DNS = "dns"
    """The name: no such domain, no address, or no DNS answer."""
    REFUSED = "refused"
    """Nothing accepts connections at that address and port."""
    TLS = "tls"
    """The TLS handshake failed: an untrusted certificate, or no TLS server there."""
    TIMEOUT = "timeout"
    """No whole answer within the time left."""
    CONNECTION = "connection"
    """Any other failure of the connection (reset, closed)."""
    STATUS = "status"
    """The server answered with a status other than 200."""
    ANSWER = "answer"
    """A 200 whose body is no JSON document (or too large)."""


@dataclass(frozen=True)
class Where:
    """The host a fetch went to, its port, and the address doctor's DNS pinned it to."""

    host: str
    port: int | None = None
    address: str | None = None

    def __str__(self) -> str:
        at = self.host if self.port is None else f"{self.host}:{self.port}"
        return at + (f" ({self.address})" if self.address else "")


class FetchError(Exception):
    """A document could not be fetched; the message is the check's summary.

    `cause` says why and `where` where; `status` is the HTTP status (Cause.STATUS), and
    `untrusted` True for a certificate that did not verify (Cause.TLS)."""

    def __init__(
        self,
        summary: str,
        cause: Cause,
        where: Where,
        *,
        status: int | None = None,
        untrusted: bool = False,
    ) -> None:
        super().__init__(summary)
        self.cause = cause
        self.where = where
        self.status = status
        self.untrusted = untrusted


def pinned(url: str, pins: Pins) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The request for `url`: to the pinned address of its host, if any, with the host's name
    kept in the Host header and for TLS (SNI, and the certificate's name); else as it is."""
    target = httpx.URL(url)
    address = pins.get(target.host)
    if address is None:
        return target, {}, {}
    return (
        target.copy_with(host=address),
        {"Host": target.netloc.decode("ascii")},
        {"sni_hostname": target.host},
    )


class PinnedTransport(httpx.BaseTransport):
    """Sends each request for a pinned host to its address (see `pinned`), through `inner`.

    For clients doctor does not build request by request (the SCIM directory's)."""

    def __init__(self, inner: httpx.BaseTransport, pins: Pins) -> None:
        self.inner = inner
        self.pins = dict(pins)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target, _, extensions = pinned(str(request.url), self.pins)
        if extensions:
            # The Host header was set from the URL when the request was built: it keeps the name.
            request.url = target
            request.extensions = {**request.extensions, **extensions}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def pin(host: str, resolver: Resolver, deadline: Deadline, pins: MutableMapping[str, str]) -> None:
    """With nameservers given, look `host` up through them and pin it to the first address
    (unless it is pinned already, or an address itself); without, leave it to the system.

    FetchError (Cause.DNS) when the name does not resolve or DNS does not answer."""
    if not resolver.nameservers or host in pins:
        return
    try:
        address = resolver.addresses(host, deadline)[0]
    except HostNotFoundError as err:
        raise FetchError(
            f"cannot resolve {host}: it {err.reason}", Cause.DNS, Where(host)
        ) from None
    except DnsLookupError as err:
        raise FetchError(f"cannot resolve {host}: {err}", Cause.DNS, Where(host)) from None
    if address != host:
        pins[host] = address


def fetch_json(
    client: httpx.Client, url: str, deadline: Deadline, pins: Pins | None = None
) -> object:
    """GET `url` as JSON within the deadline; FetchError with a one-line reason otherwise.

    A host in `pins` is reached at its pinned address (see `pinned`)."""
    parts = httpx.URL(url)
    where = Where(parts.host, parts.port or (443 if parts.scheme == "https" else 80))
    where = Where(where.host, where.port, (pins or {}).get(where.host))
    target, headers, extensions = pinned(url, pins or {})
    try:
        with client.stream(
            "GET", target, headers=headers, extensions=extensions, timeout=deadline.remaining()
        ) as response:
            if response.status_code != httpx.codes.OK:
                status = response.status_code
                summary = f"{url} answered HTTP {status}"
                if response.is_redirect:
                    summary += f", a redirect to {response.headers.get('Location', 'nowhere')}"
                raise FetchError(summary, Cause.STATUS, where, status=status)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    summary = f"{url} sent more than {MAX_DOCUMENT_BYTES:,} bytes"
                    raise FetchError(summary, Cause.ANSWER, where)
    except httpx.TimeoutException:
        netloc = parts.netloc.decode("ascii")
        summary = f"no answer from {netloc} within the timeout ({url})"
        raise FetchError(summary, Cause.TIMEOUT, where) from None
    except httpx.HTTPError as err:
        raise _failed_connection(err, url, where) from None
    try:
        return httpx.Response(200, content=bytes(body)).json()
    except ValueError:
        raise FetchError(f"{url} did not answer with JSON", Cause.ANSWER, where) from None


def _failed_connection(err: httpx.HTTPError, url: str, where: Where) -> FetchError:
    """A connection that failed, said by its cause: the name, refused, TLS, or other."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, socket.gaierror):
        return FetchError(f"cannot fetch {url}: cannot resolve {where.host}", Cause.DNS, where)
    if isinstance(cause, ssl.SSLCertVerificationError):
        summary = (
            f"cannot fetch {url}: TLS with {where.host} failed: its certificate is not trusted "
            f"({cause.verify_message})"
        )
        return FetchError(summary, Cause.TLS, where, untrusted=True)
    if isinstance(cause, ssl.SSLError):
        summary = f"cannot fetch {url}: TLS with {where} failed ({cause.reason or 'handshake'})"
        return FetchError(summary, Cause.TLS, where)
    if isinstance(cause, ConnectionRefusedError):
        return FetchError(
            f"cannot fetch {url}: connection to {where} refused", Cause.REFUSED, where
        )
    reason = str(err) or type(err).__name__
    return FetchError(f"cannot fetch {url}: {reason}", Cause.CONNECTION, where)
