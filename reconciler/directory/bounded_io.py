"""Bounds below httpx: each try's deadline on every socket operation, and answers read in
bounded chunks.

httpx's timeouts are per socket operation, so a server that drips one byte a second never
trips them. Here every connect, read, write and TLS handshake is cut to what is left of the
try's deadline (set per thread by `deadline`), through a network backend httpcore takes. An
answer is read raw in chunks and decompressed here with a cap, so a small body that inflates
to gigabytes is stopped after the cap, never held whole.
"""

from __future__ import annotations

import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

_deadline = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation of this thread ends within `seconds` from now, together."""
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = None


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` cut to what is left of this thread's deadline; past it, `error`."""
    deadline: float | None = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("past the request's deadline")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def transport(max_connections: int) -> httpx.HTTPTransport:
    """httpx's transport over a connection pool whose sockets keep each try's deadline."""
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=max_connections))
    # httpx builds its pool without a way to name the network backend; httpcore takes one.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=max_connections,
        network_backend=_DeadlineBackend(),
    )
    return transport


class UnaskedEncodingError(Exception):
    """The answer is compressed in a way that was not asked for (only gzip is)."""


class TooLargeError(Exception):
    """The answer is larger than the cap."""


def bounded_body(response: httpx.Response, cap: int) -> bytes:
    """The answer's bytes, decompressed, never holding more than `cap` + one chunk."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        inflate = None
    elif encoding in ("gzip", "x-gzip"):
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflate = zlib.decompressobj()
    else:
        raise UnaskedEncodingError(encoding)
    out = bytearray()
    for chunk in response.iter_raw(chunk_size=64 * 1024):
        if inflate is None:
            out += chunk
        else:
            data = chunk
            while data:
                out += inflate.decompress(data, cap - len(out) + 1)
                data = inflate.unconsumed_tail
                if len(out) > cap:
                    break
        if len(out) > cap:
            raise TooLargeError
    return bytes(out)
