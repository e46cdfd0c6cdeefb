"""Faults between the directory and a real scim2-server, injected by our own proxy."""

from __future__ import annotations

import time
from typing import Any

import pytest

from reconciler.directory.scim_http import TOKEN_REJECTED
from reconciler.errors import DirectoryAuthError
from tests.directory.changes import ENTERPRISE, onboarding, user_create
from tests.directory.conftest import TOKEN, Tenant, directory
from tests.directory.fault_proxy import Fault, FaultProxy

PEOPLE = {"alice@acme.com": "admin", "bob@acme.io": "member", "carol@acme.com": "member"}
ONCE = {"alice@acme.com": 1, "bob@acme.io": 1, "carol@acme.com": 1}
TEAMS = {"platform-admins": 1, "platform-members": 1}


def small_pages(body: dict[str, Any]) -> dict[str, Any]:
    body["filter"] = {"supported": True, "maxResults": 1}
    return body


def onboard(proxy: FaultProxy, **kw: Any) -> Any:
    with directory(proxy.url, **kw) as d:
        return d.write(enterprise=ENTERPRISE, changes=onboarding(PEOPLE))


def converged(proxy: FaultProxy, tenant: Tenant, **kw: Any) -> None:
    """A re-run carries out whatever is left; nothing is ever created twice."""
    assert onboard(proxy, **kw).failed == ()
    assert tenant.user_names() == ONCE
    assert tenant.group_names() == TEAMS
    with directory(proxy.url) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert state.complete
    assert state.teams["platform-members"].members == {"bob@acme.io", "carol@acme.com"}


@pytest.mark.parametrize("status", [429, 503])
def test_busy_answers_are_waited_out(proxy: FaultProxy, full_tenant: Tenant, status: int) -> None:
    proxy.add(Fault("POST", "/Bulk", "status", status=status, headers={"Retry-After": "1"}))
    start = time.monotonic()
    report = onboard(proxy)
    assert report.failed == ()
    assert time.monotonic() - start < 2  # Retry-After is capped (at 0.05 s in these tests)
    assert proxy.counts[("POST", "Bulk")] == 3  # users, then teams; one retried
    converged(proxy, full_tenant)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("GET", "/Users", "reset"),
        Fault("GET", "/Users", "slow", delay=1.0),
        Fault("GET", "/Groups", "status", status=502, times=2),
    ],
    ids=["reset", "slow", "502"],
)
def test_reads_retry_through_transient_faults(
    proxy: FaultProxy, full_tenant: Tenant, fault: Fault
) -> None:
    assert onboard(proxy).failed == ()
    proxy.add(fault)
    with directory(proxy.url, timeout=0.5) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert state.complete, state.incomplete_reason
    assert set(state.users) == set(PEOPLE)


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/Bulk"])
def test_a_create_whose_answer_is_lost_is_looked_up_not_repeated(
    proxy: FaultProxy, full_tenant: Tenant, path: str
) -> None:
    proxy.add(Fault("POST", path, "drop_after_forward"))
    report = onboard(proxy, use_bulk=path == "/Bulk")
    assert report.failed == ()
    assert full_tenant.user_names() == ONCE
    assert full_tenant.group_names() == TEAMS
    converged(proxy, full_tenant, use_bulk=path == "/Bulk")


def test_a_failed_page_makes_the_read_incomplete(proxy: FaultProxy, full_tenant: Tenant) -> None:
    assert onboard(proxy).failed == ()
    proxy.add(
        Fault("GET", "/ServiceProviderConfig", "edit", edit=small_pages),
        Fault("GET", "/Users", "status", nth=2, times=99, status=500),
    )
    with directory(proxy.url) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert not state.complete
    assert "Users page at 2 failed: GET /Users: 500" in state.incomplete_reason
    assert len(state.users) == 1  # the first page only


def test_a_short_page_makes_the_read_incomplete(proxy: FaultProxy, full_tenant: Tenant) -> None:
    assert onboard(proxy).failed == ()

    def drop_one(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"] = body["Resources"][:-1]
        return body

    proxy.add(Fault("GET", "/Users", "edit", edit=drop_one))
    with directory(proxy.url) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert not state.complete
    assert "Users page at 1 is short" in state.incomplete_reason


def test_one_failed_bulk_operation_fails_only_its_change(
    proxy: FaultProxy, full_tenant: Tenant
) -> None:
    proxy.add(Fault("POST", "/Bulk", "bulk_fail_op", op_index=1))
    report = onboard(proxy)
    first = report.failed[0][0]
    assert (first.kind.value, first.key) == ("user", "bob@acme.io")
    assert "500 injected failure of one operation" in report.failed[0][1]
    # bob's membership cannot be made without bob; everything else holds
    assert {c.key for c, _ in report.failed} == {"bob@acme.io", "platform-members/bob@acme.io"}
    assert len(report.done) == 6
    converged(proxy, full_tenant)


def test_a_rejected_token_stops_at_once(proxy: FaultProxy, full_tenant: Tenant) -> None:
    with directory(proxy.url, token="wrong-token-93c2f") as d:
        with pytest.raises(DirectoryAuthError) as caught:
            d.read(enterprise=ENTERPRISE)
        assert str(caught.value) == TOKEN_REJECTED
        assert "wrong-token-93c2f" not in repr(d) + str(caught.value)
        # ServiceProviderConfig needs no token on scim2-server; the first /Users ends it
        assert proxy.total == 2


def test_a_token_revoked_during_a_write_sends_nothing_more(
    proxy: FaultProxy, full_tenant: Tenant
) -> None:
    proxy.add(Fault("POST", "/Users", "status", status=401, nth=2))
    people = [f"p{i}@acme.com" for i in range(20)]
    with directory(proxy.url, use_bulk=False) as d:
        d.read(enterprise=ENTERPRISE)
        with pytest.raises(DirectoryAuthError, match="refresh it in Insomnia"):
            d.write(enterprise=ENTERPRISE, changes=[user_create(p) for p in people])
        sent = proxy.total
        with pytest.raises(DirectoryAuthError):
            d.read(enterprise=ENTERPRISE)
        assert proxy.total == sent
    assert sent < 3 + 1 + 8 + 1  # config, 2 pages, the POSTs already in flight


def test_the_token_is_in_no_failure_text(proxy: FaultProxy, full_tenant: Tenant) -> None:
    proxy.add(Fault("POST", "/", "status", status=500, times=99))
    report = onboard(proxy, use_bulk=False)
    assert report.failed
    texts = [reason for _, reason in report.failed]
    assert all(TOKEN not in text and "\n" not in text for text in texts)
    assert "POST /Users: 500 injected fault (gave up after retrying)" in texts
