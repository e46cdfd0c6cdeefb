"""A broken or hostile directory never gives anyone the wrong access, never hangs, and never
claims a write it did not make.

Each case puts a misbehaving server on loopback (the strict server with a hostile knob, or our
fault proxy in front of a real one) and checks: no exception but the documented ones, time
and memory bounded, nobody adopted or removed wrongly, and a healthy re-run converges.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from reconciler.directory.scim import ScimDirectory
from reconciler.directory.scim_types import Profile
from reconciler.directory.transport import Bounds
from reconciler.errors import DirectoryError
from reconciler.outputs import OktaOutputs
from reconciler.plan import plan
from tests.directory.changes import Record, enterprise, read, reconcile
from tests.directory.conftest import ENTERPRISE, FAST, Tenant, directory
from tests.directory.fault_proxy import Fault, FaultProxy
from tests.strict_scim import TOKEN, StrictScim

PEOPLE = ["alice@acme.com:admin", "bob@acme.io"]
SPEC = enterprise({"platform": PEOPLE})


@pytest.fixture
def behind(strict: StrictScim) -> Iterator[FaultProxy]:
    """A fault proxy in front of the strict Okta-profile server."""
    with FaultProxy(strict.url) as proxy:
        yield proxy


def healthy(strict: StrictScim, spec: Any, record: Record) -> None:
    """The misbehaviour gone, a re-run converges and a second one plans nothing."""
    assert reconcile(strict.url, spec, record, token=TOKEN).report.failed == ()
    assert reconcile(strict.url, spec, record, token=TOKEN).plan.changes == ()
    assert strict.violations == []


def add_user(strict: StrictScim, email: str, **extra: object) -> str:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email, **extra}
    status, made = strict.handle("POST", "/scim/v2/Users", f"Bearer {TOKEN}", _json(body))
    assert status == 201
    return str(made["id"])


def _json(body: object) -> bytes:
    return json.dumps(body).encode()


# -- identity: a look-up hands nobody's identity to anyone else ---------------------------------


def test_a_look_up_answered_with_somebody_else_adopts_nobody(strict: StrictScim) -> None:
    zed = add_user(strict, "zed@acme.com", externalId="zed")
    strict.filter_answers_first = True  # announces nothing, answers with whoever comes first
    record = Record()
    spec = enterprise({"platform": ["frank@acme.com"]})
    with directory(strict.url, token=TOKEN, profile=Profile.OKTA) as d:
        result = plan(spec, OktaOutputs(), record.actual(spec, d.read(enterprise=ENTERPRISE)))
        add_user(strict, "frank@acme.com")  # made meanwhile: the POST meets a 409
        report = d.write(enterprise=ENTERPRISE, changes=result.ready)
    reasons = {c.key: why for c, why in report.failed}
    assert reasons["frank@acme.com"] == (
        "GET /Users: the look-up for 'frank@acme.com' returned 'zed@acme.com' instead; not adopted"
    )
    assert "frank@acme.com" not in report.user_ids
    assert strict.users[zed]["externalId"] == "zed"  # zed untouched, in no team
    assert all(zed not in g["members"] for g in strict.groups.values())
    strict.filter_answers_first = False
    healthy(strict, spec, record)
    assert strict.teams()["platform-members"] == {"frank@acme.com"}


def test_a_lost_bulk_answer_looked_up_on_a_lying_filter_adopts_nobody(
    full_tenant: Tenant,
) -> None:
    with full_tenant.raw() as raw:
        zed = raw.post("/Users", json={"userName": "zed@acme.com", "externalId": "zed"}).json()

    def zed_whatever_was_asked(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "totalResults": 1, "Resources": [zed]}

    record = Record()
    with FaultProxy(full_tenant.url) as proxy:
        proxy.add(
            Fault("POST", "/Bulk", "drop_after_forward"),
            Fault("GET", "/Users", "edit", nth=2, times=99, edit=zed_whatever_was_asked),
        )
        run = reconcile(proxy.url, SPEC, record, profile=Profile.RFC7644)
    failed = {c.key: why for c, why in run.report.failed}
    assert failed["alice@acme.com"] == (
        "GET /Users: the look-up for 'alice@acme.com' returned 'zed@acme.com' instead; not adopted"
    )
    assert failed["platform-admins/alice@acme.com"] == "alice@acme.com is not in the directory"
    assert "zed@acme.com" not in record.users
    assert [u for u in full_tenant.listed("Users") if u["userName"] == "zed@acme.com"] == [zed]
    # healthy again: the users the lost Bulk made are found by name, never made twice
    assert reconcile(full_tenant.url, SPEC, record, profile=Profile.RFC7644).report.failed == ()
    assert full_tenant.user_names() == {"alice@acme.com": 1, "bob@acme.io": 1, "zed@acme.com": 1}
    assert full_tenant.group_names() == {"platform-admins": 1, "platform-members": 1}


# -- honest reads ---------------------------------------------------------------------------------


def test_a_user_without_id_makes_the_read_partial_and_is_named(
    strict: StrictScim, behind: FaultProxy
) -> None:
    record = Record()
    pruning = enterprise({"platform": PEOPLE}, prune=True)
    reconcile(strict.url, pruning, record, token=TOKEN)

    def bob_without_id(body: dict[str, Any]) -> dict[str, Any]:
        for user in body["Resources"]:
            if user["userName"] == "bob@acme.io":
                del user["id"]
        return body

    behind.add(Fault("GET", "/Users", "edit", edit=bob_without_id))
    only_alice = enterprise({"platform": ["alice@acme.com:admin"]}, prune=True)
    run = reconcile(behind.url, only_alice, record, token=TOKEN)
    assert not run.state.users_complete
    assert "Users holds 'bob@acme.io' without a usable id" in run.state.incomplete_reason
    assert not any(c.action.value == "delete" for c in run.plan.changes)
    assert strict.user("bob@acme.io")["active"] is True
    healthy(strict, pruning, record)


def test_a_group_that_does_not_parse_stops_team_creates_and_removals(
    strict: StrictScim, behind: FaultProxy
) -> None:
    record = Record()
    reconcile(strict.url, SPEC, record, token=TOKEN)

    def unnamed(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"][0]["displayName"] = 42
        return body

    behind.add(Fault("GET", "/Groups", "edit", edit=unnamed))
    run = reconcile(
        behind.url, enterprise({"platform": PEOPLE, "qa": ["bob@acme.io"]}), Record(), token=TOKEN
    )
    assert not run.state.teams_complete
    assert "without a usable displayName" in run.state.incomplete_reason
    assert not any(c.kind.value == "team" and c.action.value == "create" for c in run.plan.changes)
    assert sorted(strict.group_names()) == ["platform-admins", "platform-members"]


def test_the_enterprise_user_extension_is_a_valid_user(full_tenant: Tenant) -> None:
    extension = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    with full_tenant.raw() as raw:
        raw.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", extension],
                "userName": "alice@acme.com",
                extension: {"employeeNumber": "701984", "department": "Platform"},
            },
        ).raise_for_status()
    state = read(full_tenant.url)
    assert state.complete, state.incomplete_reason
    assert set(state.users) == {"alice@acme.com"}


# -- bounds: time and memory, whatever the server does -------------------------------------------


def test_a_billion_reported_users_are_not_paged_through(
    strict: StrictScim, behind: FaultProxy
) -> None:
    def a_billion(body: dict[str, Any]) -> dict[str, Any]:
        body["totalResults"] = 1_000_000_000
        return body

    behind.add(Fault("GET", "/Users", "edit", times=99, edit=a_billion))
    start = time.monotonic()
    with directory(behind.url, token=TOKEN, profile=Profile.OKTA) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert d.requests == 2  # one page of users, one of groups
    assert time.monotonic() - start < 2
    assert state.incomplete_reason == (
        "Users: the server reports 1,000,000,000 resources, more than the 1,000,000 this tool "
        "reads (INSOMNIA_SSO_SCIM_MAX_RESOURCES)"
    )


def test_pages_of_fresh_ids_that_shrink_make_a_short_read(
    strict: StrictScim, behind: FaultProxy
) -> None:
    for i in range(10):
        add_user(strict, f"p{i}@acme.com")
    pages = 0

    def one_fresh_id_after_the_first(body: dict[str, Any]) -> dict[str, Any]:
        nonlocal pages
        pages += 1
        if pages > 1:
            body["Resources"] = [{"id": uuid.uuid4().hex, "userName": f"{uuid.uuid4().hex}@x.io"}]
        body["totalResults"] = 500_000
        return body

    behind.add(Fault("GET", "/Users", "edit", times=999, edit=one_fresh_id_after_the_first))
    with directory(behind.url, token=TOKEN, profile=Profile.OKTA) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert d.requests == 2 + 1  # two pages of users, one of groups
    assert "Users page at 8 is short: 1 resources, 499993 expected" in state.incomplete_reason


def test_a_server_that_ignores_start_index_ends_the_read(
    strict: StrictScim, behind: FaultProxy
) -> None:
    for i in range(10):
        add_user(strict, f"p{i}@acme.com")

    def always_the_first_page(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"] = sorted(strict.users.values(), key=lambda u: u["id"])[:7]
        body["totalResults"] = 500_000
        return body

    behind.add(Fault("GET", "/Users", "edit", times=999, edit=always_the_first_page))
    with directory(behind.url, token=TOKEN, profile=Profile.OKTA) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert d.requests == 2 + 1
    assert state.incomplete_reason == (
        "Users changed during the read (a resource listed twice); "
        "Users page at 8 added nothing new; the read stops"
    )


CLIENT = """
import json, sys
from reconciler.directory.scim import ScimDirectory
from reconciler.directory.transport import Bounds

def high_water_kib():  # VmHWM: a new process image's own peak (ru_maxrss survives exec)
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0])

bounds = Bounds(answer_bytes=int(sys.argv[3]), attempts=1)
before = high_water_kib()
with ScimDirectory(sys.argv[1], sys.argv[2], bounds=bounds) as directory:
    state = directory.read(enterprise="acme")
print(json.dumps({"reason": state.incomplete_reason, "grew_kib": high_water_kib() - before}))
"""


def read_in_a_process(url: str, answer_bytes: int) -> tuple[str, int]:
    """A read in a process of its own: (why it was partial, how much its peak RSS grew in MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, url, TOKEN, str(answer_bytes)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    return result["reason"], result["grew_kib"] // 1024


def test_an_answer_larger_than_the_cap_is_not_read_whole(
    strict: StrictScim, behind: FaultProxy
) -> None:
    add_user(strict, "alice@acme.com")

    def huge(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"][0]["title"] = "x" * (48 * 1024 * 1024)
        return body

    behind.add(Fault("GET", "/Users", "edit", times=99, edit=huge))
    reason, grew = read_in_a_process(behind.url, 1024 * 1024)
    assert "GET /Users: the answer is larger than 1 MiB (INSOMNIA_SSO_SCIM_MAX_ANSWER_MB)" in reason
    assert grew < 16
    _, uncapped = read_in_a_process(behind.url, 1024 * 1024 * 1024)  # what the cap saves
    assert uncapped > 48


def test_a_compressed_answer_that_inflates_past_the_cap_is_stopped(
    strict: StrictScim, behind: FaultProxy
) -> None:
    behind.add(Fault("GET", "/Users", "bomb", times=99, size=256 * 1024 * 1024))
    reason, grew = read_in_a_process(behind.url, 1024 * 1024)
    assert "GET /Users: the answer is larger than 1 MiB" in reason
    assert grew < 16


def test_an_answer_dripped_a_byte_a_second_ends_at_the_deadline(
    strict: StrictScim, behind: FaultProxy
) -> None:
    add_user(strict, "alice@acme.com")
    behind.add(Fault("GET", "/Users", "drip", times=99, delay=0.2))
    bounds = replace(FAST, request_seconds=0.5, attempts=2)
    start = time.monotonic()
    with directory(behind.url, token=TOKEN, profile=Profile.OKTA, bounds=bounds) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert time.monotonic() - start < 2.5
    assert "no whole answer within 0.5 s (gave up after retrying)" in state.incomplete_reason


def test_the_run_s_retry_budget_ends_a_server_that_always_fails(
    strict: StrictScim, behind: FaultProxy
) -> None:
    behind.add(Fault("POST", "/Users", "status", status=500, times=999))
    lines: list[str] = []
    bounds = replace(FAST, run_retry_seconds=0.1, wait_initial=0.05, wait_max=0.05)
    spec = enterprise({"platform": [f"p{i}@acme.com" for i in range(12)]})
    start = time.monotonic()
    run = reconcile(behind.url, spec, Record(), token=TOKEN, bounds=bounds, notify=lines.append)
    assert time.monotonic() - start < 3
    reasons = {why for _, why in run.report.failed}
    assert any("its whole retry budget (INSOMNIA_SSO_SCIM_RETRY_BUDGET)" in r for r in reasons)
    assert lines
    assert all(
        line.startswith("SCIM server error (500) on POST /Users: waiting ") for line in lines
    )
    assert strict.users == {}


# -- redirects are errors, never followed, never counted as done ---------------------------------


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_write_answered_with_a_redirect_is_a_failure(
    strict: StrictScim, behind: FaultProxy, method: str
) -> None:
    record = Record()
    qa = ["bob@acme.io:admin", "carol@acme.com"]
    reconcile(
        strict.url, enterprise({"platform": PEOPLE, "qa": qa}, prune=True), record, token=TOKEN
    )
    record.linked |= {"qa-admins", "qa-members"}
    behind.add(Fault(method, "/Groups/", "redirect", status=307, times=99))
    # carol moves to qa's admins (PATCH add, PATCH remove), and qa-members is deleted after
    promoted = enterprise(
        {"platform": PEOPLE, "qa": ["bob@acme.io:admin", "carol@acme.com:admin"]}, prune=True
    )
    run = reconcile(behind.url, promoted, record, token=TOKEN)
    done = {c.key for c in run.report.done}
    failed = {c.key: why for c, why in run.report.failed}
    redirected = re.compile(
        rf"{method} /Groups/[0-9a-f]+: redirected \(307\) to https://elsewhere.example/scim/v2/; "
        r"not followed \(the token stays with 127.0.0.1:[0-9]+\): give --scim the URL "
        "Insomnia shows"
    )
    assert not done & set(failed)
    teams = strict.teams()
    if method == "PATCH":
        assert redirected.fullmatch(failed["qa-admins/carol@acme.com"])
        assert failed["qa-members/carol@acme.com"] == (
            "kept in qa-members: carol@acme.com's move into another team of qa did not hold"
        )
        assert failed["qa-members"].startswith("team qa-members kept: not every removal")
        assert teams["qa-members"] == {"carol@acme.com"}  # she stays where she was
        assert teams["qa-admins"] == {"bob@acme.io"}
    else:
        # carol's removal rides with the DELETE: neither happened, and both say so
        assert set(failed) == {"qa-members", "qa-members/carol@acme.com"}
        assert redirected.fullmatch(failed["qa-members"])
        assert teams["qa-members"] == {"carol@acme.com"}
        assert teams["qa-admins"] == {"bob@acme.io", "carol@acme.com"}
    healthy(strict, promoted, record)
    assert "qa-members" not in strict.teams()


def test_a_redirected_read_names_the_redirect(strict: StrictScim, behind: FaultProxy) -> None:
    behind.add(Fault("GET", "/Users", "redirect", status=301, location="https://evil.example/"))
    state = read(behind.url, token=TOKEN)
    assert re.fullmatch(
        r"Users page at 1 failed: GET /Users: redirected \(301\) to https://evil.example/; not "
        r"followed \(the token stays with 127.0.0.1:[0-9]+\): give --scim the URL Insomnia shows",
        state.incomplete_reason,
    )


# -- servers out of reach: one plain line, at once -----------------------------------------------


def unreachable(url: str) -> str:
    start = time.monotonic()
    with ScimDirectory(url, TOKEN, bounds=FAST) as d, pytest.raises(DirectoryError) as caught:
        d.read(enterprise=ENTERPRISE)
    assert time.monotonic() - start < 1
    return str(caught.value)


def test_a_refused_first_connection_fails_at_once() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once it closes
    assert unreachable(f"http://127.0.0.1:{port}/scim/v2") == (
        f"GET /Users: connection to 127.0.0.1:{port} refused: is the SCIM URL right?"
    )


def test_https_to_a_plain_http_server_says_so(strict: StrictScim) -> None:
    url = strict.url.replace("http://", "https://")
    message = unreachable(url)
    assert message.startswith("GET /Users: TLS with 127.0.0.1:")
    assert message.endswith("is it an https server?")


def test_a_name_that_does_not_resolve_says_so() -> None:
    assert unreachable("https://no-such-host.invalid/scim/v2") == (
        "GET /Users: cannot resolve the SCIM host no-such-host.invalid"
    )


def test_bounds_hold_for_a_whole_read_of_a_slow_server(
    strict: StrictScim, behind: FaultProxy
) -> None:
    behind.add(Fault("GET", "/", "slow", delay=5.0, times=999))
    bounds: Bounds = replace(FAST, request_seconds=0.3, attempts=2, request_retry_seconds=1.0)
    start = time.monotonic()
    with directory(behind.url, token=TOKEN, profile=Profile.OKTA, bounds=bounds) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert time.monotonic() - start < 2.5
    assert not state.users_complete
    assert not state.teams_complete
