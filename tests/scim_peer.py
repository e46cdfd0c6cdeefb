"""Real scim2-server processes on loopback, a full-featured one and one without Bulk or
PATCH, each test getting a fresh empty tenant. A pytest plugin (tests/conftest.py loads it),
so the directory's, the CLI's and doctor's tests share one server per kind per session."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

TOKEN = "test-scim-token-5f1c9a0e"
ENTERPRISE = "acme"
PLAIN_CONFIG = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "patch": {"supported": False},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": True, "maxResults": 2},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
    "authenticationSchemes": [
        {"type": "oauthbearertoken", "name": "bearer_token", "description": "HTTP Bearer Token"}
    ],
}


def scim2_server_command() -> str:
    """The scim2-server script installed beside this interpreter."""
    found = Path(sys.executable).with_name("scim2-server")
    return str(found) if found.exists() else (shutil.which("scim2-server") or "scim2-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScimServer:
    """One scim2-server process serving a fresh, empty tenant to each test."""

    def __init__(self, tmp: Path, config: dict[str, object] | None) -> None:
        self.args = [scim2_server_command(), "--bearer-token", TOKEN, "--dynamic-tenants"]
        if config is not None:
            path = tmp / "spc.json"
            path.write_text(json.dumps(config))
            self.args += ["--service-provider-config", str(path)]
        self.full = config is None
        self.proc: subprocess.Popen[bytes] | None = None
        self.root = ""

    def start(self) -> None:
        port = free_port()
        self.root = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [*self.args, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.root}/ServiceProviderConfig", timeout=1)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise RuntimeError("scim2-server exited at start") from None
                time.sleep(0.05)
        raise RuntimeError("scim2-server did not answer within 30 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@dataclass
class Tenant:
    """An empty SCIM service provider: one tenant of a running scim2-server."""

    url: str
    full: bool

    def raw(self) -> httpx.Client:
        """A plain client for arranging and checking the server's contents."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )

    def listed(self, path: str) -> list[dict[str, Any]]:
        """Every resource under `path` (`Users`, `Groups`), page by page."""
        found: list[dict[str, Any]] = []
        with self.raw() as raw:
            while True:
                body = raw.get(path, params={"startIndex": len(found) + 1}).json()
                found += body.get("Resources") or []
                if not body.get("Resources") or len(found) >= body["totalResults"]:
                    return found

    def user_names(self) -> Counter[str]:
        """How many users hold each (lower-cased) userName: a duplicate shows as 2."""
        return Counter(u["userName"].lower() for u in self.listed("Users"))

    def group_names(self) -> Counter[str]:
        """How many groups hold each displayName: a duplicate shows as 2."""
        return Counter(g["displayName"] for g in self.listed("Groups"))


def _serve(tmp: Path, config: dict[str, object] | None) -> Iterator[ScimServer]:
    server = ScimServer(tmp, config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def full_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimServer]:
    """scim2-server announcing Bulk, PATCH and filters (its defaults)."""
    yield from _serve(tmp_path_factory.mktemp("full"), None)


@pytest.fixture(scope="session")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimServer]:
    """scim2-server announcing neither Bulk nor PATCH, with pages of 2."""
    yield from _serve(tmp_path_factory.mktemp("plain"), PLAIN_CONFIG)


@pytest.fixture(params=["full", "plain"])
def server(request: pytest.FixtureRequest) -> Tenant:
    """A fresh tenant on each kind of server."""
    running: ScimServer = request.getfixturevalue(f"{request.param}_server")
    return Tenant(f"{running.root}/t{uuid.uuid4().hex[:12]}", running.full)


@pytest.fixture
def full_tenant(full_server: ScimServer) -> Tenant:
    return Tenant(f"{full_server.root}/t{uuid.uuid4().hex[:12]}", True)
