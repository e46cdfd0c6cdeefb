"""Onboarding status: where each person stands, and whether SSO can work at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from reconciler.outputs import OktaOutputs
from reconciler.render import status_text
from reconciler.state import (
    ActualState,
    DirectoryState,
    DirectoryTeam,
    DirectoryUser,
    DomainState,
    InvitationStatus,
    MemberState,
)
from reconciler.status import Stage, onboarding_status
from tests.plan.test_plan import NOW, converged, outputs, spec


def test_each_person_is_at_the_furthest_stage_reached() -> None:
    enterprise = spec()
    okta = outputs(enterprise, assigned_users=["alice@acme.com"])
    state = converged(enterprise, okta)
    alice = "platform/alice@acme.com"
    state = replace(
        state,
        members={alice: MemberState("platform", "alice@acme.com", "admin", NOW)},
        invitations={
            **state.invitations,
            alice: replace(state.invitations[alice], status=InvitationStatus.ACCEPTED),
            "platform/bob@acme.io": replace(
                state.invitations["platform/bob@acme.io"], expires_at=NOW - timedelta(seconds=1)
            ),
        },
    )
    report = onboarding_status(enterprise, okta, state)
    assert [(p.email, p.assigned_in_okta, p.stage) for p in report.people] == [
        ("alice@acme.com", True, Stage.ACCEPTED),
        ("bob@acme.io", False, Stage.EXPIRED),
    ]
    assert report.counts() == {
        "platform": {
            "people": 2,
            "assigned in okta": 1,
            "not invited": 0,
            "invited": 0,
            "expired": 1,
            "accepted": 1,
        }
    }


def test_with_a_directory_people_are_provisioned_inactive_or_not_yet() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    directory = DirectoryState(
        users={
            "alice@acme.com": DirectoryUser("alice@acme.com", "alice@acme.com", True, "u1"),
            "bob@acme.io": DirectoryUser("bob@acme.io", "bob@acme.io", False, "u2"),
        },
        teams={"g1": DirectoryTeam("g1", "platform-admins", frozenset({"alice@acme.com"}))},
    )
    report = onboarding_status(enterprise, okta, ActualState("acme", NOW, directory=directory))
    assert [(p.email, p.stage) for p in report.people] == [
        ("alice@acme.com", Stage.PROVISIONED),
        ("bob@acme.io", Stage.INACTIVE),
    ]
    nobody = onboarding_status(
        enterprise, okta, ActualState("acme", NOW, directory=DirectoryState())
    )
    assert {p.stage for p in nobody.people} == {Stage.NOT_PROVISIONED}


def test_nobody_invited_yet_and_okta_unknown() -> None:
    report = onboarding_status(spec(), OktaOutputs(), ActualState("acme", NOW))
    assert {(p.assigned_in_okta, p.stage) for p in report.people} == {(None, Stage.NOT_INVITED)}
    assert report.domains == (("acme.com", False), ("acme.io", False))
    assert report.sso_connection == "not confirmed (a manual step: see plan)"


def test_the_sso_connection_is_out_of_date_when_okta_moved_on() -> None:
    enterprise = spec()
    old = outputs(enterprise)
    state = converged(enterprise, old)
    state = replace(state, domains={"acme.com": DomainState("acme.com", verified=True)})
    current = onboarding_status(enterprise, old, state)
    assert current.sso_connection == (
        "confirmed by owner@acme.com (issuer https://acme.okta.com/oauth2/aus1issuer)"
    )
    assert current.domains == (("acme.com", True), ("acme.io", False))
    rotated = outputs(enterprise, client_secret="rotated")
    assert onboarding_status(enterprise, rotated, state).sso_connection == (
        "out of date: the Okta values changed since it was confirmed (see plan)"
    )
    unknown = onboarding_status(enterprise, OktaOutputs(), state)
    assert unknown.sso_connection == (
        "confirmed by owner@acme.com (pass the Okta outputs to check it is current)"
    )


def test_the_text_report_leads_with_domains_and_sso() -> None:
    enterprise = spec()
    text = status_text(onboarding_status(enterprise, OktaOutputs(), ActualState("acme", NOW)))
    assert text.splitlines()[:3] == [
        "enterprise acme",
        "  domains:        acme.com (NOT verified), acme.io (NOT verified)",
        "  SSO connection: not confirmed (a manual step: see plan)",
    ]
    assert "platform: 2 people: 0 assigned in okta, 2 not invited" in text
