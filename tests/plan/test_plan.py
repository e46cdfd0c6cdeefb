"""The planner: desired × actual → an ordered plan. Pure; every test builds its own state."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.manual import SECRET_HINT, StepKind, all_steps
from reconciler.outputs import UNKNOWN, OktaOutputs, parse_outputs
from reconciler.plan import Action, Kind, plan
from reconciler.render import plan_json, plan_markdown, plan_text
from reconciler.spec import Enterprise, load_text
from reconciler.state import (
    INVITATION_TTL,
    ActualState,
    Confirmation,
    DomainState,
    InvitationState,
    InvitationStatus,
    MemberState,
)
from tests.conftest import MINIMAL

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SECRET = "s3cr3t-client-secret-value-0123456789"
OUTPUTS_JSON = {
    "client_id": "0oa1client",
    "client_secret": SECRET,
    "issuer": "https://acme.okta.com/oauth2/aus1issuer",
    "app_id": "0oa1client",
    "auth_server_id": "aus1issuer",
    "assigned_users": ["alice@acme.com", "bob@acme.io"],
}


def spec(text: str = MINIMAL) -> Enterprise:
    return load_text(text)


def outputs(enterprise: Enterprise, **overrides: object) -> OktaOutputs:
    return parse_outputs(json.dumps({**OUTPUTS_JSON, **overrides}), "outputs.json", enterprise)


def confirmed(
    enterprise: Enterprise, okta: OktaOutputs, state: ActualState, *, teams: bool = False
) -> ActualState:
    """`state` with every manual step the spec implies confirmed for `okta`'s values, the
    way `insomnia-sso confirm` records them (and `domains` derived, as a store's read does)."""
    confirmations = dict(state.confirmations)
    for step in all_steps(enterprise, okta, state, teams=teams):
        if step.removal:
            continue
        detail = {"values": step.public_digest} if step.public_digest else {}
        confirmations[step.kind.value, step.key] = Confirmation(
            step.kind.value, step.key, step.digest, "owner@acme.com", NOW, detail
        )
    domains = {key: DomainState(key, True) for kind, key in confirmations if kind == "domain"}
    return replace(state, confirmations=confirmations, domains=domains)


def converged(enterprise: Enterprise, okta: OktaOutputs, **overrides: object) -> ActualState:
    """The record as a successful apply and an owner's confirmations leave it, everyone
    still invited."""
    invitations = {
        f"{org.name}/{m.email}": InvitationState(
            org.name, m.email, m.role.value, InvitationStatus.PENDING, NOW, NOW + INVITATION_TTL
        )
        for org, m in enterprise.memberships()
    }
    state = ActualState(
        enterprise=enterprise.name,
        as_of=NOW,
        exists=True,
        organizations=frozenset(org.name for org in enterprise.spec.organizations),
        invitations=invitations,
    )
    return replace(confirmed(enterprise, okta, state), **overrides)  # type: ignore[arg-type]


def keys(result_plan) -> list[tuple[str, str, str]]:
    return [(c.action.value, c.kind.value, c.key) for c in result_plan.changes]


def steps(result_plan) -> list[tuple[str, str]]:
    return [(s.kind.value, s.key) for s in result_plan.manual_steps]


def test_an_empty_store_gets_the_invitations_and_every_manual_step() -> None:
    enterprise = spec()
    result = plan(enterprise, outputs(enterprise), ActualState("acme", NOW))
    assert keys(result) == [
        ("create", "invitation", "platform/alice@acme.com"),
        ("create", "invitation", "platform/bob@acme.io"),
    ]
    assert steps(result) == [
        ("domain", "acme.com"),
        ("domain", "acme.io"),
        ("sso_connection", "acme"),
        ("organization", "platform"),
    ]
    assert not result.scim
    assert result.summary() == {"create": 2, "update": 0, "delete": 0, "waiting": 0, "manual": 4}


def test_a_converged_store_plans_nothing() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    result = plan(enterprise, okta, converged(enterprise, okta))
    assert result.empty
    assert result.warnings == ()
    assert result.to_json() == {
        "format_version": 1,
        "enterprise": "acme",
        "changes": [],
        "manual_steps": [],
        "waiting_for_okta": [],
        "unmanaged_access": [],
        "summary": {"create": 0, "update": 0, "delete": 0, "waiting": 0, "manual": 0},
    }


def test_open_manual_steps_alone_make_a_plan_not_empty() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    state = converged(enterprise, okta)
    unconfirmed = {k: v for k, v in state.confirmations.items() if k != ("domain", "acme.io")}
    result = plan(enterprise, okta, replace(state, confirmations=unconfirmed))
    assert result.changes == ()
    assert steps(result) == [("domain", "acme.io")]
    assert not result.empty


def test_unknown_okta_values_show_as_known_after_pulumi_up() -> None:
    enterprise = spec()
    result = plan(enterprise, OktaOutputs(), ActualState("acme", NOW))
    [sso] = [s for s in result.manual_steps if s.kind is StepKind.SSO_CONNECTION]
    assert (sso.after["client_id"], sso.after["issuer"], sso.after["client_secret"]) == (
        UNKNOWN,
        UNKNOWN,
        UNKNOWN,
    )
    assert not sso.ready


def test_unknown_okta_values_never_cause_a_change_once_known() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    result = plan(enterprise, OktaOutputs(), converged(enterprise, okta))
    # Without outputs a confirmed SSO connection cannot be checked: it is not reopened.
    assert result.empty


def test_a_rotated_secret_reopens_the_sso_step_shown_only_as_a_hint() -> None:
    enterprise = spec()
    old = outputs(enterprise)
    new = outputs(enterprise, client_secret="rotated-" + SECRET)
    result = plan(enterprise, new, converged(enterprise, old))
    assert result.changes == ()
    [step] = result.manual_steps
    assert (step.kind, step.key) == (StepKind.SSO_CONNECTION, "acme")
    assert step.to_json()["after"]["client_secret"] == SECRET_HINT
    assert "rotated-" + SECRET not in repr(step)


def test_a_new_issuer_reopens_the_sso_step_with_the_new_issuer() -> None:
    enterprise = spec()
    old = outputs(enterprise)
    new = outputs(enterprise, issuer="https://acme.okta.com/oauth2/aus2new")
    [step] = plan(enterprise, new, converged(enterprise, old)).manual_steps
    assert step.kind is StepKind.SSO_CONNECTION
    assert step.after["issuer"] == "https://acme.okta.com/oauth2/aus2new"
    assert step.after["client_id"] == "0oa1client"


def test_the_secret_never_reaches_any_rendering() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    result = plan(enterprise, okta, ActualState("acme", NOW))
    assert any(s.kind is StepKind.SSO_CONNECTION for s in result.manual_steps)
    text = "\n".join(line for line, _ in plan_text(result))
    assert SECRET_HINT in text
    for rendered in (text, plan_json(result), plan_markdown(result), repr(result)):
        assert SECRET not in rendered
        assert okta.secret_fingerprint is not None
        assert okta.secret_fingerprint not in rendered
        assert okta.secret_fingerprint.partition(":")[2] not in rendered


def test_an_expired_invitation_is_re_sent() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    state = converged(enterprise, okta)
    key = "platform/bob@acme.io"
    old = state.invitations[key]
    invitations = {**state.invitations, key: replace(old, expires_at=NOW - timedelta(days=1))}
    [change] = plan(enterprise, okta, replace(state, invitations=invitations)).changes
    assert change.to_json() == {
        "action": "update",
        "kind": "invitation",
        "key": key,
        "before": {"role": "member", "status": "expired"},
        "after": {"role": "member", "status": "pending"},
    }


def test_a_role_change_updates_the_pending_invitation_or_the_membership() -> None:
    enterprise = spec(MINIMAL.replace("role: admin", "role: member"))
    okta = outputs(enterprise)
    state = converged(enterprise, okta)
    alice = "platform/alice@acme.com"
    invitations = {
        **state.invitations,
        alice: replace(state.invitations[alice], role="admin"),
    }
    [change] = plan(enterprise, okta, replace(state, invitations=invitations)).changes
    assert (change.kind, change.before, change.after) == (
        Kind.INVITATION,
        {"role": "admin", "status": "pending"},
        {"role": "member", "status": "pending"},
    )
    members = {alice: MemberState("platform", "alice@acme.com", "admin", NOW)}
    invitations[alice] = replace(invitations[alice], status=InvitationStatus.ACCEPTED)
    [change] = plan(
        enterprise, okta, replace(state, invitations=invitations, members=members)
    ).changes
    assert (change.kind, change.before, change.after) == (
        Kind.MEMBER,
        {"role": "admin"},
        {"role": "member"},
    )


def test_people_removed_from_the_spec_have_pending_invitations_revoked() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    state = converged(enterprise, okta)
    smaller = spec(MINIMAL.replace("        - email: bob@acme.io\n", ""))
    [change] = plan(smaller, okta, state).changes
    assert (change.action, change.kind, change.key) == (
        Action.DELETE,
        Kind.INVITATION,
        "platform/bob@acme.io",
    )


def member_left(prune: bool) -> tuple[Enterprise, OktaOutputs, ActualState]:
    text = MINIMAL + f"  prune:\n    enabled: {str(prune).lower()}\n"
    enterprise = spec(text.replace("        - email: bob@acme.io\n", ""))
    okta = outputs(enterprise)
    state = converged(enterprise, okta)
    members = {"platform/bob@acme.io": MemberState("platform", "bob@acme.io", "member", NOW)}
    return enterprise, okta, replace(state, members=members)


def test_a_member_who_left_the_spec_stays_unless_prune_is_on() -> None:
    result = plan(*member_left(prune=False))
    assert result.changes == ()
    # named, not counted: drift flags them until the spec has them or prune removes them
    assert [u.to_json() for u in result.unmanaged] == [
        {
            "organization": "platform",
            "email": "bob@acme.io",
            "role": "member",
            "team": None,
            "outcome": "stays: prune is off",
        }
    ]
    assert not result.empty
    assert result.removed == {}
    pruned = plan(*member_left(prune=True))
    assert keys(pruned) == [("delete", "member", "platform/bob@acme.io")]
    assert [u.outcome for u in pruned.unmanaged] == ["removed by this plan"]
    assert pruned.removed == {"platform": 1}
    assert pruned.current == {"platform": 1}
    assert pruned.max_fraction == 0.1


def test_nobody_is_removed_or_revoked_after_an_incomplete_read() -> None:
    enterprise, okta, state = member_left(prune=True)
    bob = InvitationState(
        "platform", "bob@acme.io", "member", InvitationStatus.PENDING, NOW, NOW + INVITATION_TTL
    )
    state = replace(state, invitations={**state.invitations, bob.key: bob})
    assert keys(plan(enterprise, okta, state)) == [
        ("delete", "member", "platform/bob@acme.io"),
        ("delete", "invitation", "platform/bob@acme.io"),
    ]
    partial = replace(state, complete=False, incomplete_reason="page 3 of members timed out")
    result = plan(enterprise, okta, partial)
    assert result.changes == ()
    assert [u.outcome for u in result.unmanaged] == ["stays: the read was incomplete"]
    assert not result.complete
    assert result.removed == {}
    assert result.warnings[0] == (
        "the read of the store was incomplete (page 3 of members timed out); "
        "nobody will be removed in this run"
    )


def test_owner_is_never_granted_by_invitation() -> None:
    enterprise = spec(MINIMAL.replace("role: admin", "role: owner"))
    result = plan(enterprise, outputs(enterprise), ActualState("acme", NOW))
    [alice] = [c for c in result.changes if c.key == "platform/alice@acme.com"]
    assert alice.after is not None
    assert alice.after["role"] == "admin"
    # an owner transfers ownership by hand once they accept: a manual step, not a warning
    assert ("owner", "platform/alice@acme.com") in steps(result)
    assert not any("owner" in w for w in result.warnings)


def test_people_not_yet_assigned_in_okta_wait_for_it_and_are_named() -> None:
    enterprise = spec()
    okta = outputs(enterprise, assigned_users=["alice@acme.com"])
    result = plan(enterprise, okta, ActualState("acme", NOW))
    assert keys(result) == [("create", "invitation", "platform/alice@acme.com")]
    assert [p.to_json() for p in result.held_back] == [
        {"email": "bob@acme.io", "okta_login": "bob@acme.io", "organizations": ["platform"]}
    ]
    assert result.to_json()["waiting_for_okta"] == [p.to_json() for p in result.held_back]
    assert not plan(enterprise, okta, converged(enterprise, okta)).empty  # drift: exit 2
    everyone = outputs(enterprise, assigned_users=["alice@acme.com", "bob@acme.io"])
    assert keys(plan(enterprise, everyone, ActualState("acme", NOW))) == [
        ("create", "invitation", "platform/alice@acme.com"),
        ("create", "invitation", "platform/bob@acme.io"),
    ]


def test_without_okta_outputs_nobody_is_held_back_and_the_plan_says_so() -> None:
    enterprise = spec()
    result = plan(enterprise, OktaOutputs(), ActualState("acme", NOW))
    assert result.held_back == ()
    assert len(result.changes) == 2
    assert result.warnings == (
        "the record holds nothing for enterprise 'acme' yet: a first run (if it is not, "
        "--store names the wrong record)",
        "no Okta outputs given (--okta-outputs or --stack): nobody is checked against Okta's "
        "assignments, so people who cannot sign in yet are not held back",
    )


def old_domain_confirmed(state: ActualState) -> ActualState:
    """`state` with old.com confirmed as claimed once (it has since left the spec)."""
    old = Confirmation("domain", "old.com", "sha256:whatever-it-was", "owner@acme.com", NOW)
    return replace(state, confirmations={**state.confirmations, ("domain", "old.com"): old})


def test_a_claimed_domain_no_longer_in_the_spec_is_only_a_warning_without_prune() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    result = plan(enterprise, okta, old_domain_confirmed(converged(enterprise, okta)))
    assert result.empty
    assert result.warnings == ("domain old.com is claimed but not in the spec (prune is off)",)


def test_removals_come_last_children_first() -> None:
    enterprise, _, state = member_left(prune=True)
    okta = outputs(enterprise, assigned_users=["alice@acme.com", "carol@acme.com"])
    state = old_domain_confirmed(state)
    state = replace(
        state,
        invitations={
            **state.invitations,
            "platform/zed@acme.com": InvitationState(
                "platform",
                "zed@acme.com",
                "member",
                InvitationStatus.PENDING,
                NOW,
                NOW + INVITATION_TTL,
            ),
        },
    )
    bigger = spec(
        MINIMAL.replace("        - email: bob@acme.io\n", "")
        + "    - name: new-team\n      members:\n        - email: carol@acme.com\n"
        + "  prune:\n    enabled: true\n"
    )
    assert keys(plan(bigger, okta, state)) == [
        ("create", "invitation", "new-team/carol@acme.com"),
        ("delete", "member", "platform/bob@acme.io"),
        ("delete", "invitation", "platform/zed@acme.com"),
    ]
    # The domain that left the spec is no change: removing it is a manual step (beside
    # creating the new organization).
    removal, _ = plan(bigger, okta, state).manual_steps
    assert (removal.kind, removal.key, removal.removal) == (StepKind.DOMAIN, "old.com", True)


def test_an_organization_not_in_the_spec_is_never_deleted() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    state = converged(enterprise, okta)
    result = plan(enterprise, okta, replace(state, organizations=state.organizations | {"old"}))
    assert result.empty
    assert result.warnings == (
        "organization old is not in the spec; it is never deleted by this tool",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issuer": "https://other.okta.com/oauth2/aus9"}, "these outputs belong to another stack"),
        ({"client_secret": "[secret]"}, "client_secret is masked"),
        ({"assigned_users": "alice"}, "assigned_users must be a list of logins"),
    ],
)
def test_foreign_or_masked_outputs_are_refused(change: dict[str, object], message: str) -> None:
    from reconciler.errors import OutputsError

    with pytest.raises(OutputsError, match=message) as caught:
        outputs(spec(), **change)
    assert SECRET not in str(caught.value)
