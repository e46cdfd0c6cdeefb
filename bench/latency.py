"""A loopback HTTP proxy that adds a fixed round-trip time to every request.

Insomnia's connector is a remote service: each request costs a network round trip that a
server on loopback does not. The SCIM bench measures both, so what requests in flight buy
(and what they cannot buy on loopback, where the server's own CPU is the limit) shows in one
run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_KEPT = ("authorization", "content-type", "accept")
_BACK = ("content-type", "location", "retry-after")


@contextmanager
def delayed(upstream: str, rtt: float) -> Iterator[str]:
    """A proxy in front of `upstream` (a root URL) adding `rtt` seconds to each request;
    yields the proxy's root URL."""
    client = httpx.Client(base_url=upstream, timeout=300, limits=httpx.Limits(max_connections=64))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            time.sleep(rtt)
            headers = {k: v for k, v in self.headers.items() if k.lower() in _KEPT}
            answer = client.request(self.command, self.path, content=body, headers=headers)
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() in _BACK:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()
