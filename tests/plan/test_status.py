"""Onboarding status: where each person stands, and whether SSO can work at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from reconciler.outputs import OktaOutputs
from reconciler.render import status_text
from reconciler.state import (
    ActualState,
    Confirmation,
    DirectoryState,
    DirectoryTeam,
    DirectoryUser,
    DomainState,
    InvitationStatus,
    MemberState,
)
from reconciler.status import Stage, onboarding_status
from tests.conftest import MINIMAL
from tests.plan.test_plan import NOW, confirmed, converged, outputs, spec


def sent(state: ActualState, key: str, role: str, at: datetime = NOW) -> ActualState:
    """`state` with an owner's confirmation that the invitation `key` was sent as `role`."""
    confirmed = Confirmation(
        "invitation", key, "sha256:x", "owner", at, {"action": "send", "role": role}
    )
    return replace(state, confirmations={**state.confirmations, ("invitation", key): confirmed})


def test_each_person_is_at_the_furthest_stage_confirmed() -> None:
    enterprise = spec(MINIMAL + "        - email: carol@acme.com\n        - email: dan@acme.com\n")
    okta = outputs(
        enterprise,
        assigned_users=["alice@acme.com", "bob@acme.io", "carol@acme.com", "dan@acme.com"],
    )
    state = converged(enterprise, okta)
    alice, bob, carol = "platform/alice@acme.com", "platform/bob@acme.io", "platform/carol@acme.com"
    state = replace(
        state,
        members={alice: MemberState("platform", "alice@acme.com", "admin", NOW)},
        invitations={
            key: i
            for key, i in {
                **state.invitations,
                alice: replace(state.invitations[alice], status=InvitationStatus.ACCEPTED),
                carol: replace(state.invitations[carol], expires_at=NOW - timedelta(seconds=1)),
            }.items()
            if key != "platform/dan@acme.com"
        },
    )
    state = sent(sent(state, bob, "member"), carol, "member")
    report = onboarding_status(enterprise, okta, state)
    assert [(p.email, p.stage, p.next) for p in report.people] == [
        ("alice@acme.com", Stage.ACCEPTED, "none: a member"),
        (  # recorded, and an owner said it was sent
            "bob@acme.io",
            Stage.SENT,
            "they sign in with Okta, set their passphrase, accept; then confirm acceptance",
        ),
        ("carol@acme.com", Stage.EXPIRED, "an owner sends the invitation again (see plan)"),
        ("dan@acme.com", Stage.NOT_RECORDED, "insomnia-sso apply records the invitation"),
    ]
    unsent = onboarding_status(enterprise, okta, converged(enterprise, okta))
    assert {p.stage for p in unsent.people} == {Stage.RECORDED}  # never "invited" unsent
    assert report.counts()["platform"] == {
        "people": 4,
        "assigned in okta": 4,
        "waiting for okta": 0,
        "not recorded": 1,
        "recorded": 0,
        "sent": 1,
        "expired": 1,
        "accepted": 1,
    }


def test_someone_okta_does_not_let_in_waits_for_it() -> None:
    enterprise = spec()
    okta = outputs(enterprise, assigned_users=["alice@acme.com"])
    report = onboarding_status(enterprise, okta, ActualState("acme", NOW))
    assert [(p.email, p.assigned_in_okta, p.stage) for p in report.people] == [
        ("alice@acme.com", True, Stage.NOT_RECORDED),
        ("bob@acme.io", False, Stage.WAITING_FOR_OKTA),
    ]


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
        ("alice@acme.com", Stage.IN_TEAM),  # not linked yet: no access to the organization
        ("bob@acme.io", Stage.INACTIVE),
    ]
    linked = confirmed(enterprise, okta, ActualState("acme", NOW, directory=directory), teams=True)
    access = onboarding_status(enterprise, okta, linked)
    assert [(p.email, p.stage) for p in access.people] == [
        ("alice@acme.com", Stage.HAS_ACCESS),
        ("bob@acme.io", Stage.INACTIVE),
    ]
    no_team = DirectoryState(users=directory.users)
    provisioned = onboarding_status(enterprise, okta, ActualState("acme", NOW, directory=no_team))
    assert provisioned.people[0].stage is Stage.PROVISIONED
    nobody = onboarding_status(
        enterprise, okta, ActualState("acme", NOW, directory=DirectoryState())
    )
    assert {p.stage for p in nobody.people} == {Stage.NOT_PROVISIONED}


def test_nobody_invited_yet_and_okta_unknown() -> None:
    report = onboarding_status(spec(), OktaOutputs(), ActualState("acme", NOW))
    assert {(p.assigned_in_okta, p.stage) for p in report.people} == {(None, Stage.NOT_RECORDED)}
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
    assert "platform: 2 people: 0 assigned in okta, 0 waiting for okta, 2 not recorded," in text
    assert text.endswith(
        "Each person's own part, last: sign in to Insomnia with Okta (SSO), set their "
        "encryption passphrase, and accept the invitation to each organization."
    )
