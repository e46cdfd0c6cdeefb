"""A loopback HTTP proxy in front of a real SCIM server, with scripted faults.

Each request is read whole, matched against the faults in order (method, path prefix, the
n-th matching request), and either forwarded to the server or answered with the fault:
a status with headers, a reset connection, a slow answer, a POST carried out by the server
whose answer is then dropped, a redirect, an answer dripped a byte at a time, or one that
inflates to far more than it weighs. Every request is counted, by method and path.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx


@dataclass
class Fault:
    """What to do to the `nth` (1-based) request matching `method` and `path` (prefix);
    `times` consecutive matches from there."""

    method: str
    path: str
    action: str
    """"status", "reset", "slow", "drop_after_forward", "bulk_fail_op", "edit",
    "redirect" (status + Location, not forwarded), "forward_then_redirect" (carried out,
    answered 3xx), "drip" (the real answer, one byte every `delay` s), "bomb" (a gzip body
    inflating to `size` bytes)."""
    nth: int = 1
    times: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    op_index: int = 0
    edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    location: str = "https://elsewhere.example/scim/v2/"
    size: int = 0
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if method != self.method or not path.startswith(self.path):
            return False
        self.seen += 1
        if self.seen >= self.nth and self.fired < self.times:
            self.fired += 1
            return True
        return False


class FaultProxy:
    """`with FaultProxy(upstream) as proxy:` then point a client at `proxy.url`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: list[Fault] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self._client = httpx.Client(timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                proxy.serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            path_only = path.split("?")[0]
            self.counts[(method, path_only.strip("/").split("/")[0])] += 1
            for fault in self.faults:
                if fault.matches(method, path_only):
                    return fault
        return None

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, path = handler.command, handler.path
        fault = self._fault_for(method, path)
        if fault is not None and fault.action == "reset":
            _reset(handler)
            return
        if fault is not None and fault.action == "status":
            data = json.dumps(
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": str(fault.status),
                    "detail": "injected fault",
                }
            ).encode()
            self._reply(
                handler,
                fault.status,
                {"Content-Type": "application/scim+json", **fault.headers},
                data,
            )
            return
        if fault is not None and fault.action == "redirect":
            self._reply(handler, fault.status, {"Location": fault.location}, b"")
            return
        if fault is not None and fault.action == "bomb":
            bomb = _inflating(fault.size)
            headers = {"Content-Type": "application/scim+json", "Content-Encoding": "gzip"}
            self._reply(handler, 200, headers, bomb)
            return
        if fault is not None and fault.action == "slow":
            time.sleep(fault.delay)
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() in ("authorization", "content-type", "accept")
        }
        answer = self._client.request(method, self.upstream + path, content=body, headers=headers)
        if fault is not None and fault.action == "drop_after_forward":
            _reset(handler)
            return
        content = answer.content
        if fault is not None and fault.action == "bulk_fail_op":
            data = answer.json()
            data["Operations"][fault.op_index] = {
                "method": data["Operations"][fault.op_index].get("method"),
                "status": "500",
                "response": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "500",
                    "detail": "injected failure of one operation",
                },
            }
            content = json.dumps(data).encode()
        if fault is not None and fault.action == "edit" and fault.edit is not None:
            content = json.dumps(fault.edit(answer.json())).encode()
        if fault is not None and fault.action == "forward_then_redirect":
            self._reply(handler, fault.status, {"Location": fault.location}, b"")
            return
        if fault is not None and fault.action == "drip":
            _drip(handler, answer.status_code, content, fault.delay)
            return
        self._reply(
            handler,
            answer.status_code,
            {
                k: v
                for k, v in answer.headers.items()
                if k.lower() in ("content-type", "retry-after", "location", "etag")
            },
            content,
        )

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _inflating(size: int) -> bytes:
    """A gzip body of `size` spaces (about a thousandth of that on the wire), made in chunks."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    parts = [squeeze.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + squeeze.flush()


def _drip(handler: BaseHTTPRequestHandler, status: int, body: bytes, delay: float) -> None:
    """The whole answer, announced in full, one byte every `delay` seconds."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/scim+json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(delay)
    except OSError:  # the client gave up: as it should
        handler.close_connection = True


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Close with RST, so the client sees the connection dropped without an answer."""
    connection: socket.socket = handler.connection
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.rfile.close()
    handler.wfile.close()
    connection.close()
