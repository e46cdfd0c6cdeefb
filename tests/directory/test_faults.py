"""Faults between the directory and a real scim2-server, injected by our own proxy."""

from __future__ import annotations

import time
from typing import Any

import pytest

from reconciler.directory.scim_types import Profile
from reconciler.directory.transport import TOKEN_REJECTED
from reconciler.errors import DirectoryAuthError
from reconciler.outputs import OktaOutputs
from reconciler.plan import plan
from tests.directory.changes import Record, enterprise, read, reconcile
from tests.directory.conftest import ENTERPRISE, TOKEN, Tenant, directory
from tests.directory.fault_proxy import Fault, FaultProxy

PEOPLE = ["alice@acme.com:admin", "bob@acme.io", "carol@acme.com"]
SPEC = enterprise({"platform": PEOPLE})
ONCE = {"alice@acme.com": 1, "bob@acme.io": 1, "carol@acme.com": 1}
TEAMS = {"platform-admins": 1, "platform-members": 1}
PROFILES = [Profile.OKTA, Profile.RFC7644]


def converged(proxy: FaultProxy, tenant: Tenant, record: Record, profile: Profile) -> None:
    """A re-run carries out whatever is left; nothing is ever created twice."""
    assert reconcile(proxy.url, SPEC, record, profile=profile).report.failed == ()
    assert tenant.user_names() == ONCE
    assert tenant.group_names() == TEAMS
    state = read(proxy.url, profile=profile)
    assert state.complete
    assert reconcile(proxy.url, SPEC, record, profile=profile).plan.changes == ()


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("profile", PROFILES)
def test_busy_answers_are_waited_out_as_asked(
    proxy: FaultProxy, full_tenant: Tenant, status: int, profile: Profile
) -> None:
    path = "/Bulk" if profile is Profile.RFC7644 else "/Users"
    proxy.add(Fault("POST", path, "status", status=status, headers={"Retry-After": "1"}))
    lines: list[str] = []
    start = time.monotonic()
    record = Record()
    run = reconcile(proxy.url, SPEC, record, profile=profile, notify=lines.append)
    assert run.report.failed == ()
    assert 1 <= time.monotonic() - start < 3
    assert lines == [f"SCIM busy ({status}) on POST {path}: waiting 1 s as asked, try 2 of 4"]
    converged(proxy, full_tenant, record, profile)


def test_a_wait_longer_than_the_cap_is_not_waited_out(
    proxy: FaultProxy, full_tenant: Tenant
) -> None:
    proxy.add(
        Fault("POST", "/Users", "status", status=429, times=99, headers={"Retry-After": "86400"})
    )
    start = time.monotonic()
    run = reconcile(proxy.url, SPEC, Record())
    assert time.monotonic() - start < 1
    reasons = {reason for _, reason in run.report.failed}
    assert reasons == {
        "POST /Users: SCIM busy (429): asked to wait 86400 s, longer than the 2 s this tool "
        "waits; try again later",
        "alice@acme.com is not in the directory",
        "bob@acme.io is not in the directory",
        "carol@acme.com is not in the directory",
    }
    assert full_tenant.user_names() == {}


@pytest.mark.parametrize(
    "fault",
    [
        Fault("GET", "/Users", "reset"),
        Fault("GET", "/Users", "slow", delay=3.0),
        Fault("GET", "/Groups", "status", status=502, times=2),
    ],
    ids=["reset", "slow", "502"],
)
def test_reads_retry_through_transient_faults(
    proxy: FaultProxy, full_tenant: Tenant, fault: Fault
) -> None:
    assert reconcile(proxy.url, SPEC, Record()).report.failed == ()
    proxy.add(fault)
    state = read(proxy.url)
    assert state.complete, state.incomplete_reason
    assert set(state.users) == set(ONCE)


@pytest.mark.parametrize(
    ("path", "profile"),
    [("/Users", Profile.OKTA), ("/Groups", Profile.OKTA), ("/Bulk", Profile.RFC7644)],
)
def test_a_create_whose_answer_is_lost_is_looked_up_not_repeated(
    proxy: FaultProxy, full_tenant: Tenant, path: str, profile: Profile
) -> None:
    proxy.add(Fault("POST", path, "drop_after_forward"))
    record = Record()
    run = reconcile(proxy.url, SPEC, record, profile=profile)
    assert run.report.failed == ()
    assert full_tenant.user_names() == ONCE
    assert full_tenant.group_names() == TEAMS
    converged(proxy, full_tenant, record, profile)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_failed_page_makes_the_read_partial(
    proxy: FaultProxy, full_tenant: Tenant, profile: Profile
) -> None:
    reconcile(proxy.url, SPEC, Record(), profile=profile)

    def one_per_page(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"] = body["Resources"][:1]
        body["itemsPerPage"] = 1
        return body

    proxy.add(
        Fault("GET", "/Users", "edit", edit=one_per_page),
        Fault("GET", "/Users", "status", times=99, status=500),  # pages after the first
    )
    state = read(proxy.url, profile=profile)
    assert not state.users_complete
    assert state.teams_complete
    assert "Users page at 2 failed: GET /Users: 500 injected fault (gave up after retrying)" in (
        state.incomplete_reason
    )
    assert len(state.users) == 1  # the first page only


def test_a_short_page_makes_the_read_partial(proxy: FaultProxy, full_tenant: Tenant) -> None:
    reconcile(proxy.url, SPEC, Record())

    def drop_all(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"] = []
        return body

    proxy.add(Fault("GET", "/Users", "edit", edit=drop_all))
    state = read(proxy.url)
    assert not state.complete
    assert "Users page at 1 is short: 0 resources, 3 expected from totalResults 3" in (
        state.incomplete_reason
    )


def test_one_failed_bulk_operation_fails_only_its_change(
    proxy: FaultProxy, full_tenant: Tenant
) -> None:
    proxy.add(Fault("POST", "/Bulk", "bulk_fail_op", op_index=1))
    record = Record()
    run = reconcile(proxy.url, SPEC, record, profile=Profile.RFC7644)
    first = run.report.failed[0][0]
    assert (first.kind.value, first.key) == ("user", "bob@acme.io")
    assert "500 injected failure of one operation" in run.report.failed[0][1]
    # bob's membership cannot be made without bob; everything else holds
    assert {c.key for c, _ in run.report.failed} == {"bob@acme.io", "platform-members/bob@acme.io"}
    assert len(run.report.done) == 6
    converged(proxy, full_tenant, record, Profile.RFC7644)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_rejected_token_stops_at_once(
    proxy: FaultProxy, full_tenant: Tenant, profile: Profile
) -> None:
    with directory(proxy.url, token="wrong-token-93c2f", profile=profile) as d:
        with pytest.raises(DirectoryAuthError) as caught:
            d.read(enterprise=ENTERPRISE)
        assert str(caught.value) == TOKEN_REJECTED
        assert "wrong-token-93c2f" not in repr(d) + str(caught.value)
    # okta: the first page of users ends it; rfc7644: ServiceProviderConfig needs no token
    # on scim2-server, the first /Users ends it
    assert proxy.total == (1 if profile is Profile.OKTA else 2)


def test_a_token_revoked_during_a_write_sends_nothing_more(
    proxy: FaultProxy, full_tenant: Tenant
) -> None:
    proxy.add(Fault("POST", "/Users", "status", status=401, nth=2))
    spec = enterprise({"platform": [f"p{i}@acme.com" for i in range(20)]})
    with directory(proxy.url, profile=Profile.OKTA) as d:
        result = plan(spec, OktaOutputs(), Record().actual(spec, d.read(enterprise=ENTERPRISE)))
        with pytest.raises(DirectoryAuthError, match="refresh it in Insomnia"):
            d.write(enterprise=ENTERPRISE, changes=result.ready)
        sent = proxy.total
        with pytest.raises(DirectoryAuthError):
            d.read(enterprise=ENTERPRISE)
        assert proxy.total == sent
    assert sent < 2 + 1 + 8 + 1  # 2 pages, the POSTs already in flight


def test_the_token_is_in_no_failure_text(proxy: FaultProxy, full_tenant: Tenant) -> None:
    proxy.add(Fault("POST", "/", "status", status=500, times=99))
    run = reconcile(proxy.url, SPEC, Record())
    assert run.report.failed
    texts = [reason for _, reason in run.report.failed]
    assert all(TOKEN not in text and "\n" not in text for text in texts)
    assert "POST /Users: 500 injected fault (gave up after retrying)" in texts
