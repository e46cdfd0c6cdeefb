"""The directory's own fixtures: fast bounds, a fault proxy in front of a fresh tenant, and
the peers each profile is tested against. The scim2-server processes come from
tests/scim_peer.py, the strict Okta-profile server from tests/strict_scim.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from reconciler.directory.scim import ScimDirectory
from reconciler.directory.scim_types import Profile
from reconciler.directory.transport import Bounds
from tests.directory.fault_proxy import FaultProxy
from tests.scim_peer import ENTERPRISE, TOKEN, ScimServer, Tenant

__all__ = ["ENTERPRISE", "FAST", "TOKEN", "Peer", "Tenant", "directory"]

FAST = Bounds(
    request_seconds=2.0,
    connect_seconds=1.0,
    attempts=4,
    request_retry_seconds=5.0,
    run_retry_seconds=10.0,
    retry_after_cap=2.0,
    wait_initial=0.01,
    wait_max=0.05,
    wait_jitter=0.01,
)


@dataclass
class Peer:
    """A fresh scim2-server tenant and the profile a test speaks to it."""

    tenant: Tenant
    profile: Profile

    @property
    def url(self) -> str:
        return self.tenant.url


@pytest.fixture(params=["full-okta", "full-rfc7644", "plain-rfc7644"])
def peer(request: pytest.FixtureRequest) -> Peer:
    """Profile okta against scim2-server with PATCH; rfc7644 against it with and without
    Bulk/PATCH. (Okta's client always PATCHes groups, so okta needs a server that PATCHes.)"""
    kind, profile = request.param.split("-")
    running: ScimServer = request.getfixturevalue(f"{kind}_server")
    tenant = Tenant(f"{running.root}/t{__import__('uuid').uuid4().hex[:12]}", running.full)
    return Peer(tenant, Profile(profile))


@pytest.fixture
def proxy(full_tenant: Tenant) -> Iterator[FaultProxy]:
    """A fault proxy in front of a fresh full-featured tenant."""
    with FaultProxy(full_tenant.url) as p:
        yield p


def directory(
    url: str,
    *,
    token: str = TOKEN,
    profile: Profile = Profile.RFC7644,
    bounds: Bounds = FAST,
    **kw: object,
) -> ScimDirectory:
    return ScimDirectory(url, token, profile=profile, bounds=bounds, **kw)  # type: ignore[arg-type]
