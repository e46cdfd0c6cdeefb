"""Profile okta against a strict server that serves only what Okta's SCIM client sends.

The story a company lives through: onboarding, a no-op, a promotion into a team that does
not exist yet, the owner linking it, someone leaving, and coming back. Nothing may be sent
outside the profile, no team may be made twice, and nobody who stays in an organization may
be, at any moment, in none of its teams.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

from reconciler import gc_policy
from reconciler.directory.scim_types import Profile
from reconciler.outputs import OktaOutputs
from reconciler.plan import Action, Kind, plan
from reconciler.spec import Enterprise
from tests.directory.changes import Record, Run, enterprise, read, reconcile
from tests.directory.conftest import ENTERPRISE, Tenant, directory
from tests.directory.fault_proxy import Fault, FaultProxy
from tests.strict_scim import TOKEN, StrictScim

PLATFORM = ["alice@acme.com:admin", "bob@acme.io"] + [f"p{i}@acme.com" for i in range(8)]


def apply(strict: StrictScim, spec: Enterprise, record: Record) -> Run:
    run = reconcile(strict.url, spec, record, token=TOKEN)
    assert run.report.failed == ()
    assert strict.violations == []
    return run


def changes(run: Run) -> list[tuple[str, str, str, str | None]]:
    return [(c.action.value, c.kind.value, c.key, c.waiting_on) for c in run.plan.changes]


def never_outside(strict: StrictScim, organization: str, teams: set[str], person: str) -> None:
    """`person` was in one of `teams` after every change of membership the server saw."""
    for request, snapshot in strict.history:
        held = [t for t in teams if person in snapshot.get(t, frozenset())]
        assert held, f"after {request}, {person} was in no team of {organization}"


def test_the_story_converges_with_nothing_outside_the_profile(strict: StrictScim) -> None:
    record = Record()
    before = enterprise({"platform": PLATFORM, "qa": ["bob@acme.io", "carol@acme.com"]}, prune=True)
    first = apply(strict, before, record)
    assert len(first.report.done) == 11 + 3 + 12
    assert sorted(strict.group_names()) == ["platform-admins", "platform-members", "qa-members"]
    # 11 users and 3 teams (their members inside): one request each, nothing else
    assert first.requests == 2 + 11 + 3

    again = apply(strict, before, record)
    assert again.plan.changes == ()
    assert again.report.requests == 0
    assert again.requests == 2 + 1  # users over two pages of 7 (the server's cap), groups

    promoted = enterprise(
        {"platform": PLATFORM, "qa": ["bob@acme.io:admin", "carol@acme.com"]}, prune=True
    )
    strict.history.clear()
    run = apply(strict, promoted, record)
    assert changes(run) == [
        ("create", "team", "qa-admins", None),
        ("create", "team_member", "qa-admins/bob@acme.io", None),
        ("delete", "team_member", "qa-members/bob@acme.io", "team_link qa-admins"),
    ]
    assert strict.teams()["qa-members"] == {"bob@acme.io", "carol@acme.com"}  # not yet
    assert apply(strict, promoted, record).plan.waiting == run.plan.waiting  # still waits

    record.linked.add("qa-admins")  # an owner linked it and confirmed
    run = apply(strict, promoted, record)
    assert changes(run) == [("delete", "team_member", "qa-members/bob@acme.io", None)]
    assert strict.teams()["qa-members"] == {"carol@acme.com"}
    never_outside(strict, "qa", {"qa-admins", "qa-members"}, "bob@acme.io")

    carol_left = enterprise({"platform": PLATFORM, "qa": ["bob@acme.io:admin"]}, prune=True)
    run = apply(strict, carol_left, record)
    assert changes(run) == [
        ("delete", "team_member", "qa-members/carol@acme.com", None),
        ("delete", "team", "qa-members", None),
        ("delete", "user", "carol@acme.com", None),
    ]
    assert strict.user("carol@acme.com")["active"] is False
    assert "qa-members" not in strict.teams()

    run = apply(strict, promoted, record)  # carol comes back
    assert changes(run) == [
        ("update", "user", "carol@acme.com", None),
        ("create", "team", "qa-members", None),
        ("create", "team_member", "qa-members/carol@acme.com", None),
    ]
    assert strict.user("carol@acme.com")["active"] is True
    assert strict.teams()["qa-members"] == {"carol@acme.com"}
    assert apply(strict, promoted, record).plan.changes == ()
    assert sorted(strict.group_names()) == sorted(set(strict.group_names()))
    assert not any("ServiceProviderConfig" in r or "attributes=" in r for r in strict.requests)


def test_a_demotion_out_of_a_team_that_empties_waits_then_deletes_it(strict: StrictScim) -> None:
    record = Record()
    apply(strict, enterprise({"platform": ["alice@acme.com:admin", "bob@acme.io"]}), record)
    record.linked |= {"platform-admins", "platform-members"}
    strict.history.clear()
    demoted = enterprise({"platform": ["alice@acme.com", "bob@acme.io"]})
    run = apply(strict, demoted, record)
    assert changes(run) == [
        ("create", "team_member", "platform-members/alice@acme.com", None),
        ("delete", "team_member", "platform-admins/alice@acme.com", None),
        ("delete", "team", "platform-admins", None),
    ]
    never_outside(strict, "platform", {"platform-admins", "platform-members"}, "alice@acme.com")
    assert strict.teams() == {"platform-members": {"alice@acme.com", "bob@acme.io"}}


def test_users_are_created_as_okta_creates_them(strict: StrictScim) -> None:
    spec = enterprise({"platform": ["alice@acme.com", "bob@acme.io"]})
    named = Enterprise.model_validate(
        spec.model_dump(by_alias=True)
        | {
            "spec": spec.spec.model_dump(by_alias=True)
            | {
                "organizations": [
                    {
                        "name": "platform",
                        "members": [
                            {
                                "email": "alice@acme.com",
                                "givenName": "Alice",
                                "familyName": "Nguyen",
                            },
                            {"email": "bob@acme.io"},
                        ],
                    }
                ]
            }
        }
    )
    outputs = OktaOutputs(names={"bob@acme.io": ("Bob", "Smith")})
    with directory(strict.url, token=TOKEN, profile=Profile.OKTA) as d:
        result = plan(named, outputs, Record().actual(named, d.read(enterprise=ENTERPRISE)))
        assert d.write(enterprise=ENTERPRISE, changes=result.ready).failed == ()
    alice = strict.user("alice@acme.com")
    assert {k: v for k, v in alice.items() if k != "id"} == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "alice@acme.com",
        "name": {"givenName": "Alice", "familyName": "Nguyen"},
        "emails": [{"primary": True, "value": "alice@acme.com", "type": "work"}],
        "displayName": "Alice Nguyen",
        "active": True,
        "externalId": "alice@acme.com",
    }
    assert strict.user("bob@acme.io")["name"] == {"givenName": "Bob", "familyName": "Smith"}
    assert strict.violations == []


def test_a_renamed_person_is_put_back_whole(strict: StrictScim) -> None:
    record = Record()
    apply(strict, enterprise({"platform": ["alice@acme.com"]}), record)
    outputs = OktaOutputs(names={"alice@acme.com": ("Alice", "Nguyen")})
    spec = enterprise({"platform": ["alice@acme.com"]})
    with directory(strict.url, token=TOKEN, profile=Profile.OKTA) as d:
        result = plan(spec, outputs, record.actual(spec, d.read(enterprise=ENTERPRISE)))
        [update] = result.changes
        assert (update.action, dict(update.after or {})) == (
            Action.UPDATE,
            {"givenName": "Alice", "familyName": "Nguyen", "displayName": "Alice Nguyen"},
        )
        assert d.write(enterprise=ENTERPRISE, changes=result.ready).failed == ()
    assert strict.user("alice@acme.com")["displayName"] == "Alice Nguyen"
    got, put = strict.requests[-2:]
    assert (got.startswith("GET /Users/"), put.startswith("PUT /Users/")) == (True, True)
    assert strict.violations == []


def test_teams_a_record_does_not_know_are_found_by_name(strict: StrictScim) -> None:
    """A record made before ids were kept (or a fresh one beside teams Okta pushed)."""
    apply(strict, enterprise({"platform": ["alice@acme.com:admin", "bob@acme.io"]}), Record())
    fresh = Record()
    spec = enterprise({"platform": ["alice@acme.com:admin", "bob@acme.io"]})
    run = apply(strict, spec, fresh)
    adopted = [(c.key, c.action) for c in run.plan.changes if c.kind is Kind.TEAM]
    assert adopted == [("platform-admins", Action.UPDATE), ("platform-members", Action.UPDATE)]
    assert run.report.requests == 0  # adopting is the record's business only
    assert set(fresh.teams) == {("platform", "admin"), ("platform", "member")}
    assert apply(strict, spec, fresh).plan.changes == ()


def test_a_team_made_meanwhile_is_adopted_after_a_409(strict: StrictScim) -> None:
    spec = enterprise({"platform": ["alice@acme.com", "bob@acme.io"]})
    record = Record()
    with directory(strict.url, token=TOKEN, profile=Profile.OKTA) as d:
        result = plan(spec, OktaOutputs(), record.actual(spec, d.read(enterprise=ENTERPRISE)))
        strict.handle(
            "POST",
            "/scim/v2/Groups",
            f"Bearer {TOKEN}",
            b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], '
            b'"displayName": "platform-members"}',
        )
        report = d.write(enterprise=ENTERPRISE, changes=result.ready)
    assert report.failed == ()
    assert strict.teams() == {"platform-members": {"alice@acme.com", "bob@acme.io"}}
    assert strict.violations == []


def test_a_spec_names_the_teams_okta_pushed(strict: StrictScim) -> None:
    strict.handle(
        "POST",
        "/scim/v2/Groups",
        f"Bearer {TOKEN}",
        b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Platform"}',
    )
    text = enterprise({"platform": ["alice@acme.com"]}).model_dump(by_alias=True)
    text["spec"]["organizations"][0]["teams"] = {"member": "Platform"}
    spec = Enterprise.model_validate(text)
    record = Record()
    run = apply(strict, spec, record)
    assert [(c.action.value, c.kind.value, c.key) for c in run.plan.changes] == [
        ("create", "user", "alice@acme.com"),
        ("update", "team", "Platform"),
        ("create", "team_member", "Platform/alice@acme.com"),
    ]
    assert strict.teams() == {"Platform": {"alice@acme.com"}}


@pytest.mark.parametrize("profile", [Profile.OKTA, Profile.RFC7644])
def test_no_team_is_made_after_a_partial_read_of_teams(
    full_tenant: Tenant, profile: Profile
) -> None:
    """scim2-server, pages of 2, the third page of /Groups fails: the teams not seen may
    exist, so none is made (issue: duplicate teams after a failed page)."""
    record = Record()
    many = {f"org{i}": ["alice@acme.com"] for i in range(6)}
    reconcile(full_tenant.url, enterprise(many), record, profile=profile)
    with FaultProxy(full_tenant.url) as proxy:

        def pages_of_two(body: dict[str, Any]) -> dict[str, Any]:
            body["Resources"] = body["Resources"][:2]
            body["itemsPerPage"] = len(body["Resources"])
            return body

        proxy.add(
            Fault("GET", "/Groups", "edit", edit=pages_of_two, times=2),
            Fault("GET", "/Groups", "status", status=404, times=99),
        )
        fresh = Record()  # a record that knows no team: everything must be found by name
        run = reconcile(
            proxy.url, enterprise(many | {"web": ["bob@acme.io"]}), fresh, profile=profile
        )
    assert not run.state.teams_complete
    assert not any(c.kind is Kind.TEAM and c.action is Action.CREATE for c in run.plan.changes)
    assert "team web-members was not seen in a partial read of teams" in " ".join(run.plan.warnings)
    assert full_tenant.group_names() == {f"org{i}-members": 1 for i in range(6)}


def test_rfc7644_never_relies_on_a_group_external_id(full_tenant: Tenant) -> None:
    record = Record()
    spec = enterprise({"platform": ["alice@acme.com:admin", "bob@acme.io"]})
    with FaultProxy(full_tenant.url) as proxy:

        def forget(body: dict[str, Any]) -> dict[str, Any]:
            for group in body.get("Resources", []):
                group.pop("externalId", None)
            return body

        proxy.add(Fault("GET", "/Groups", "edit", edit=forget, times=99))
        first = reconcile(proxy.url, spec, record, profile=Profile.RFC7644)
        assert first.report.failed == ()
        again = reconcile(proxy.url, spec, record, profile=Profile.RFC7644)
    assert again.plan.changes == ()
    assert full_tenant.group_names() == {"platform-admins": 1, "platform-members": 1}
    assert read(full_tenant.url, profile=Profile.RFC7644).complete


def test_writes_run_with_the_collector_on_inside_a_command(strict: StrictScim) -> None:
    """A command pauses the cyclic collector for its work in memory; one request per change
    leaves cycles behind, so the sender lets it run again before the first write."""
    with gc_policy.command():
        assert not gc.isenabled()
        apply(strict, enterprise({"platform": PLATFORM}), Record())
        assert gc.isenabled()
    assert gc.isenabled()
