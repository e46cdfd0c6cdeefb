"""The directory's own fixtures: a fault proxy in front of a fresh tenant, and a directory
with short waits. The scim2-server processes come from tests/scim_peer.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.directory.scim import ScimDirectory
from reconciler.directory.scim_http import RetryPolicy
from tests.directory.fault_proxy import FaultProxy
from tests.scim_peer import ENTERPRISE, TOKEN, Tenant

__all__ = ["ENTERPRISE", "FAST", "TOKEN", "Tenant", "directory"]

FAST = RetryPolicy(
    attempts=4,
    total_seconds=5.0,
    wait_initial=0.01,
    wait_max=0.05,
    wait_jitter=0.01,
    retry_after_cap=0.05,
)


@pytest.fixture
def proxy(full_tenant: Tenant) -> Iterator[FaultProxy]:
    """A fault proxy in front of a fresh full-featured tenant."""
    with FaultProxy(full_tenant.url) as p:
        yield p


def directory(url: str, *, token: str = TOKEN, timeout: float = 2.0, **kw: object) -> ScimDirectory:
    return ScimDirectory(url, token, timeout=timeout, retry=FAST, **kw)  # type: ignore[arg-type]
