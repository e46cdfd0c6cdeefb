"""Real peers on loopback for doctor's checks, each started by a fixture on a free port.

oidc_provider   oidc-provider-mock (a real OpenID provider: discovery document, JWKS)
custom_domain_provider  the same provider over https at 127.0.0.2, with a test CA's
                certificate for login.acme.test: the company's own sign-in domain
fault_proxy     a tiny HTTP proxy of our own in front of it that rewrites the document
dns_server      dnslib's DNSServer answering from a dict of records (UDP)
silent_tcp      a socket that accepts connections and never answers
silent_udp      a UDP socket that never answers (a nameserver that is gone)
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme
import werkzeug.serving
from dnslib import QTYPE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

from tests.conftest import spec_yaml

with warnings.catch_warnings(record=True):
    # Its authlib dependency warns about its own modules on import, with a filter of its own
    # that outranks an "ignore": recording them is what keeps them out of the run.
    import oidc_provider_mock

LOOPBACK = "127.0.0.1"

Records = dict[tuple[str, str], list[str]]
"""(name, type) → values, e.g. ("acme.com", "TXT") → ["insomnia-verify=abc"]."""


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[str]:
    """A real OpenID provider on loopback; its issuer is this base URL (no trailing slash)."""
    with warnings.catch_warnings(record=True):
        app = oidc_provider_mock.app()
    server = werkzeug.serving.make_server(LOOPBACK, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


Rewrite = Callable[[dict[str, Any]], dict[str, Any]]

CUSTOM_HOST = "login.acme.test"
"""The company's own sign-in domain in these tests; only the test DNS server knows it."""
CUSTOM_ADDRESS = "127.0.0.2"
"""A second loopback address, where the provider answers for the custom domain."""


@dataclass
class CustomDomainProvider:
    """The OpenID provider over https at CUSTOM_ADDRESS, certified for CUSTOM_HOST."""

    port: int
    ca: trustme.CA
    rewrite: Rewrite | None = None
    """Set by a test to edit the discovery document the provider serves."""

    @property
    def issuer(self) -> str:
        """The issuer the provider names when asked as the custom domain."""
        return f"https://{CUSTOM_HOST}:{self.port}"

    def client(self) -> httpx.Client:
        """An HTTP client that trusts the test CA, as a real one trusts Okta's certificate."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return httpx.Client(verify=context, follow_redirects=False)


def _rewriting(app: Any, provider: CustomDomainProvider) -> Any:
    """WSGI middleware: the discovery document passes through `provider.rewrite`, if set."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        rewrite = provider.rewrite
        if rewrite is None or not environ["PATH_INFO"].endswith("/openid-configuration"):
            return app(environ, start_response)  # type: ignore[no-any-return]
        answered: list[Any] = []
        body = b"".join(app(environ, lambda *args: answered.append(args)))
        body = json.dumps(rewrite(json.loads(body))).encode()
        status, headers = answered[0][:2]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


@pytest.fixture(scope="session")
def _custom_domain_server() -> Iterator[CustomDomainProvider]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(CUSTOM_HOST).configure_cert(context)
    provider = CustomDomainProvider(0, ca)
    with warnings.catch_warnings(record=True):
        app = _rewriting(oidc_provider_mock.app(), provider)
    server = werkzeug.serving.make_server(
        CUSTOM_ADDRESS, 0, app, threaded=True, ssl_context=context
    )
    provider.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def custom_domain_provider(
    _custom_domain_server: CustomDomainProvider,
) -> Iterator[CustomDomainProvider]:
    """The provider on the custom domain, with its discovery document unedited."""
    _custom_domain_server.rewrite = None
    yield _custom_domain_server
    _custom_domain_server.rewrite = None


class _ProxyHandler(BaseHTTPRequestHandler):
    upstream: str
    rewrite: Rewrite

    def do_GET(self) -> None:
        # The Host header goes upstream as sent, so the provider names the proxy's own URLs.
        answer = httpx.get(
            self.upstream + self.path, headers={"Host": self.headers["Host"]}, timeout=5
        )
        body = answer.content
        if self.path.endswith("/.well-known/openid-configuration"):
            body = json.dumps(self.rewrite(answer.json())).encode()
        self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoopbackServers:
    """HTTP servers on loopback for one test: `start` serves a handler class and returns the
    base URL; `stop` shuts every one down."""

    def __init__(self) -> None:
        self.running: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(self, handler: type[BaseHTTPRequestHandler]) -> str:
        server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        self.running.append((server, thread))
        return f"http://{LOOPBACK}:{server.server_address[1]}"

    def stop(self) -> None:
        for server, thread in self.running:
            server.shutdown()
            server.server_close()
            thread.join(5)


@pytest.fixture
def fault_proxy(oidc_provider: str) -> Iterator[Callable[[Rewrite], str]]:
    """Start a proxy in front of the provider that rewrites its discovery document; returns
    the proxy's base URL (the issuer its document then names)."""
    servers = LoopbackServers()

    def start(rewrite: Rewrite) -> str:
        attributes = {"upstream": oidc_provider, "rewrite": staticmethod(rewrite)}
        return servers.start(type("Handler", (_ProxyHandler,), attributes))

    yield start
    servers.stop()


class DictResolver(BaseResolver):  # type: ignore[misc]
    """Answers from `records`; a name it does not hold is NXDOMAIN."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        if not any(held == name for held, _ in self.records):
            reply.header.rcode = 3  # NXDOMAIN
            return reply
        for value in self.records.get((name, qtype), []):
            rdata = TXT(value) if qtype == "TXT" else A(value)
            reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=60))
        return reply


@pytest.fixture
def dns_server() -> Iterator[tuple[str, Records]]:
    """A DNS server on a free loopback UDP port: ("127.0.0.1:PORT", records to fill)."""
    records: Records = {}
    server = DNSServer(
        DictResolver(records), address=LOOPBACK, port=0, logger=DNSLogger(logf=lambda _: None)
    )
    server.start_thread()
    try:
        yield f"{LOOPBACK}:{server.server.server_address[1]}", records
    finally:
        server.stop()
        server.server.server_close()


@pytest.fixture
def silent_tcp() -> Iterator[str]:
    """`http://127.0.0.1:PORT`: accepts every connection, reads, never answers."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture
def silent_udp() -> Iterator[str]:
    """`127.0.0.1:PORT` of a UDP socket that receives and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    try:
        yield f"{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        sock.close()


# -- the enterprise these tests check ----------------------------------------------------------

SSO_HOST = "sso.insomnia.test"
# The issuer is a local provider on loopback: the same-org check compares the orgUrl's host.
DOCTOR_SPEC = spec_yaml(
    {"platform": ["alice@acme.com:admin", "bob@acme.io"]},
    sso_url=f"https://{SSO_HOST}/login/callback",
    org_url=f"https://{LOOPBACK}",
)


CUSTOM_DOCTOR_SPEC = DOCTOR_SPEC.replace(
    f"      orgUrl: https://{LOOPBACK}\n",
    f"      orgUrl: https://{LOOPBACK}\n      customDomain: {CUSTOM_HOST}\n",
)
"""The same enterprise signing in on its own domain."""


def doctor_outputs(issuer: str) -> dict[str, Any]:
    """Stack outputs whose issuer is a loopback provider."""
    return {
        "app_id": "0oaAPP0001",
        "assigned_users": ["alice@acme.com", "bob@acme.io"],
        "auth_server_id": "aus0001",
        "client_id": "0oaCLIENT0001",
        "client_secret": "doctor-test-client-secret",
        "issuer": issuer,
    }


def healthy_records() -> Records:
    """DNS for a healthy setup: the SSO host resolves, both domains publish a TXT record."""
    return {
        (SSO_HOST, "A"): [LOOPBACK],
        ("acme.com", "TXT"): ["v=spf1 -all", "insomnia-verification=acme-com-1f2e"],
        ("acme.io", "TXT"): ["insomnia-verification=acme-io-9c8b"],
    }
