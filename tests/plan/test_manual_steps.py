"""Manual steps: what only Insomnia's web UI can do, listed until an owner confirms each one.

A step is closed by a confirmation carrying its digest; when the values it asks for change
(a new Okta app), the digest changes and the step is open again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.confirm import txt_value
from reconciler.errors import InsomniaSsoError
from reconciler.manual import DOMAIN_DIGEST, SECRET_HINT, StepKind, digest, ledger_steps, sso_step
from reconciler.outputs import UNKNOWN, OktaOutputs, load_outputs_file
from reconciler.plan import plan
from reconciler.render import plan_json
from reconciler.state import (
    ActualState,
    Confirmation,
    DirectoryState,
    InvitationState,
    InvitationStatus,
    MemberState,
)
from tests.conftest import MINIMAL
from tests.plan.test_plan import NOW, OUTPUTS_JSON, SECRET, converged, outputs, spec, steps

PRUNE = MINIMAL + "  prune:\n    enabled: true\n"


def confirmation(kind: str, key: str, digest: str, **detail: str) -> Confirmation:
    return Confirmation(kind, key, digest, "owner@acme.com", NOW, detail)


def with_confirmations(state: ActualState, *found: Confirmation) -> ActualState:
    return replace(
        state, confirmations={**state.confirmations, **{(c.kind, c.key): c for c in found}}
    )


def test_a_fresh_record_lists_each_domain_the_sso_connection_then_each_organization() -> None:
    enterprise = spec()
    result = plan(enterprise, outputs(enterprise), ActualState("acme", NOW))
    assert steps(result) == [
        ("domain", "acme.com"),
        ("domain", "acme.io"),
        ("sso_connection", "acme"),
        ("organization", "platform"),
    ]
    domain = result.manual_steps[0]
    assert domain.after["domain"] == "acme.com"
    assert domain.digest == DOMAIN_DIGEST
    assert "insomnia-sso confirm domain acme.com" in domain.instructions
    assert not any(step.removal for step in result.manual_steps)


def test_without_outputs_the_sso_step_is_not_ready_and_shows_unknown_values() -> None:
    enterprise = spec()
    step = sso_step(enterprise, OktaOutputs())
    assert not step.ready
    assert step.public_digest == ""
    assert dict(step.after) == {
        "type": "oidc",
        "domain_identifier": "acme.com",
        "sso_url": "https://insomnia-dev.us.auth0.com/login/callback",
        "client_id": UNKNOWN,
        "issuer": UNKNOWN,
        "client_secret": UNKNOWN,
    }


def test_with_outputs_the_sso_step_is_ready_and_the_secret_is_only_a_hint() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    step = sso_step(enterprise, okta)
    assert step.ready
    assert (step.after["client_id"], step.after["issuer"]) == (
        "0oa1client",
        "https://acme.okta.com/oauth2/aus1issuer",
    )
    assert step.after["client_secret"] == SECRET_HINT
    assert "insomnia-sso confirm sso_connection acme" in step.instructions
    everything = repr(step) + json.dumps(step.to_json())
    assert SECRET not in everything
    assert str(okta.secret_fingerprint) not in everything


def test_a_confirmation_with_the_steps_digest_closes_it() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    step = sso_step(enterprise, okta)
    state = with_confirmations(
        ActualState("acme", NOW),
        confirmation("domain", "acme.com", DOMAIN_DIGEST),
        confirmation("sso_connection", "acme", step.digest, values=step.public_digest),
    )
    assert steps(plan(enterprise, okta, state)) == [
        ("domain", "acme.io"),
        ("organization", "platform"),
    ]


def test_a_confirmation_with_another_digest_does_not_close_a_step() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    state = with_confirmations(
        converged(enterprise, okta), confirmation("domain", "acme.io", "sha256:something-else")
    )
    assert steps(plan(enterprise, okta, state)) == [("domain", "acme.io")]


def test_a_new_client_id_reopens_the_sso_step_as_stale() -> None:
    enterprise = spec()
    old = outputs(enterprise)
    state = converged(enterprise, old)
    assert plan(enterprise, old, state).empty
    new = outputs(enterprise, client_id="0oa2replaced", app_id="0oa2replaced")
    [step] = plan(enterprise, new, state).manual_steps
    assert (step.kind, step.key, step.ready) == (StepKind.SSO_CONNECTION, "acme", True)
    assert step.after["client_id"] == "0oa2replaced"
    assert not step.done_by(state.confirmations["sso_connection", "acme"])


def test_an_adopted_app_without_a_readable_secret_stays_closed_by_its_public_values() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    adopted = replace(okta, secret_fingerprint=None)  # Pulumi could not read the secret back
    step = sso_step(enterprise, adopted)
    assert step.ready
    assert step.digest != sso_step(enterprise, okta).digest  # the secret is part of the digest
    # Confirmed earlier, when the secret was known: the public values still match.
    earlier = sso_step(enterprise, okta)
    found = confirmation("sso_connection", "acme", earlier.digest, values=earlier.public_digest)
    state = with_confirmations(converged(enterprise, okta), found)
    assert plan(enterprise, adopted, state).empty
    # The public values differ (another client id): open again.
    moved = replace(adopted, client_id="0oa2replaced")
    assert steps(plan(enterprise, moved, state)) == [("sso_connection", "acme")]
    # Without the public digest in the detail, nothing vouches for these values.
    bare = with_confirmations(state, confirmation("sso_connection", "acme", earlier.digest))
    assert steps(plan(enterprise, adopted, bare)) == [("sso_connection", "acme")]


def test_team_link_steps_appear_only_with_a_directory() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    state = converged(enterprise, okta)
    assert plan(enterprise, okta, state).manual_steps == ()
    with_directory = plan(enterprise, okta, replace(state, directory=DirectoryState()))
    assert steps(with_directory) == [
        ("team_link", "platform-admins"),
        ("team_link", "platform-members"),
    ]
    admins = with_directory.manual_steps[0]
    assert dict(admins.after) == {
        "team": "platform-admins",
        "organization": "platform",
        "role": "admin",
    }
    linked = with_confirmations(
        replace(state, directory=DirectoryState()),
        confirmation("team_link", "platform-admins", admins.digest),
    )
    assert steps(plan(enterprise, okta, linked)) == [("team_link", "platform-members")]


def test_a_confirmed_domain_that_left_the_spec_is_a_removal_step_only_with_prune() -> None:
    old = confirmation("domain", "old.com", DOMAIN_DIGEST)
    kept = spec()
    okta = outputs(kept)
    assert plan(kept, okta, with_confirmations(converged(kept, okta), old)).manual_steps == ()

    pruning = spec(PRUNE)
    state = with_confirmations(converged(pruning, okta), old)
    [step] = plan(pruning, okta, state).manual_steps
    assert (step.kind, step.key, step.removal) == (StepKind.DOMAIN, "old.com", True)
    assert step.after["claimed"] is False
    assert "remove old.com" in step.instructions
    # Not confirmed (never claimed): nothing to remove.
    assert plan(pruning, okta, converged(pruning, okta)).manual_steps == ()
    # After a partial read, no removal either.
    partial = replace(state, complete=False, incomplete_reason="timeout")
    assert plan(pruning, okta, partial).manual_steps == ()


def test_plan_json_carries_the_manual_steps_and_their_count() -> None:
    enterprise = spec()
    result = plan(enterprise, outputs(enterprise), ActualState("acme", NOW))
    data = json.loads(plan_json(result))
    assert data["summary"]["manual"] == 4 == len(data["manual_steps"])
    for step in data["manual_steps"]:
        assert set(step) == {"kind", "key", "after", "instructions"}
    assert [(s["kind"], s["key"]) for s in data["manual_steps"]] == steps(result)
    assert data["manual_steps"][2]["after"]["client_secret"] == SECRET_HINT
    assert all(c["kind"] in ("invitation", "member") for c in data["changes"])


def test_a_step_open_again_names_what_changed_since_it_was_confirmed() -> None:
    enterprise = spec()
    okta = outputs(enterprise)
    step = sso_step(enterprise, okta)
    detail = {"values": step.public_digest, **{f"field:{k}": v for k, v in step.fields.items()}}
    then = confirmation("sso_connection", "acme", step.digest, **detail)
    rotated = outputs(enterprise, client_secret="rotated-client-secret")
    [reopened] = [
        s
        for s in plan(
            enterprise, rotated, with_confirmations(ActualState("acme", NOW), then)
        ).manual_steps
        if s.kind is StepKind.SSO_CONNECTION
    ]
    assert reopened.instructions.startswith(
        "Open again: client secret changed since owner@acme.com confirmed it on 2026-11-28. "
        "Insomnia › Enterprise Controls › SSO Connection"
    )
    moved = outputs(enterprise, client_id="0oaNEW", issuer="https://acme.okta.com/oauth2/ausNEW")
    [both] = [
        s
        for s in plan(
            enterprise, moved, with_confirmations(ActualState("acme", NOW), then)
        ).manual_steps
        if s.kind is StepKind.SSO_CONNECTION
    ]
    assert both.instructions.startswith(
        "Open again: client_id, issuer have changed since owner@acme.com confirmed it on "
        "2026-11-28."
    )
    # a confirmation from before fingerprints were kept cannot say which
    old = confirmation("sso_connection", "acme", "sha256:old", values=step.public_digest)
    [vague] = [
        s
        for s in plan(
            enterprise, rotated, with_confirmations(ActualState("acme", NOW), old)
        ).manual_steps
        if s.kind is StepKind.SSO_CONNECTION
    ]
    assert vague.instructions.startswith("Open again: its values have changed since")


def test_the_secret_is_said_to_come_from_where_the_outputs_came_from(tmp_path: Path) -> None:
    enterprise = spec()
    path = tmp_path / "prod-outputs.json"
    path.write_text(json.dumps(OUTPUTS_JSON))
    step = sso_step(enterprise, load_outputs_file(path, enterprise))
    assert step.after["client_secret"] == f"copy client_secret from {path} and paste it"
    assert SECRET not in json.dumps(step.to_json())


@pytest.mark.parametrize(
    ("txt", "message"),
    [
        (
            "VALUE",
            "--txt 'VALUE' is a placeholder: give the TXT value Insomnia shows for the domain",
        ),
        ("<the TXT value>", "--txt '<the TXT value>' is a placeholder: give the TXT value"),
        ("short", "--txt must be the TXT value Insomnia shows: 8 to 255 printable characters"),
        ("has a space in it", "--txt must be the TXT value Insomnia shows: 8 to 255"),
    ],
)
def test_a_txt_value_that_is_no_value_is_refused(txt: str, message: str) -> None:
    with pytest.raises(InsomniaSsoError) as caught:
        txt_value(txt)
    assert str(caught.value).startswith(message)
    assert txt_value(" 'insomnia-verify=8f2c1e' ") == "insomnia-verify=8f2c1e"


def test_an_invitation_steps_digest_is_the_one_confirmations_were_recorded_with() -> None:
    """The digest is taken only when asked for, and it is still sha256 of the step's values
    and when the invitation was recorded: confirmations recorded before stay valid."""
    invited = NOW - timedelta(days=1)
    invitation = InvitationState(
        "platform", "alice@acme.com", "admin", InvitationStatus.PENDING, invited, NOW
    )
    actual = ActualState("acme", NOW, invitations={invitation.key: invitation})
    (step,) = ledger_steps(spec(), actual, frozenset())
    values = {"organization": "platform", "email": "alice@acme.com", "role": "admin"}
    assert dict(step.after) == {**values, "action": "send"}
    assert step.digest == digest({**values, "action": "send", "recorded": invited.isoformat()})
    again = ledger_steps(spec(), actual, frozenset())[0]
    assert again == step  # steps made from the same read are equal


def test_a_ledger_step_opened_again_keeps_its_values_and_digest() -> None:
    """`reopened` makes a plain step of a ledger one: the same values and digest, with the
    note before its words."""
    invited = NOW - timedelta(days=1)
    invitation = InvitationState(
        "platform", "alice@acme.com", "admin", InvitationStatus.PENDING, invited, NOW
    )
    actual = ActualState("acme", NOW, invitations={invitation.key: invitation})
    (step,) = ledger_steps(spec(), actual, frozenset())
    earlier = Confirmation("invitation", step.key, "sha256:old", "ops@acme.com", invited, {})
    again = step.reopened(earlier)
    assert (dict(again.after), again.digest) == (dict(step.after), step.digest)
    assert again.instructions.startswith("Open again: its values have changed since ops@acme.com")
    assert again.instructions.endswith(step.instructions)


def _accepted(*members: MemberState, invited_as: str = "admin") -> ActualState:
    """alice accepted an invitation `invited_as` a day ago; `members` is what the record
    holds of her now."""
    invited = NOW - timedelta(days=1)
    invitation = InvitationState(
        "platform", "alice@acme.com", invited_as, InvitationStatus.ACCEPTED, invited, NOW
    )
    return ActualState(
        "acme",
        NOW,
        invitations={invitation.key: invitation},
        members={m.key: m for m in members},
    )


def _member_steps(actual: ActualState) -> list[tuple[str, str, str]]:
    return [
        (step.kind.value, step.after["action"], step.after.get("role", ""))
        for step in ledger_steps(spec(), actual, frozenset())
    ]


ALICE = MemberState("platform", "alice@acme.com", "admin", NOW)


def test_a_member_at_the_role_they_accepted_has_nothing_open() -> None:
    assert _member_steps(_accepted(ALICE)) == []


def test_a_role_apply_recorded_is_an_owners_step_until_confirmed() -> None:
    """apply recorded alice's new role (member); Insomnia still has the one she accepted."""
    now_member = replace(ALICE, role="member")
    assert _member_steps(_accepted(now_member)) == [("member", "role", "member")]
    done = confirmation("member", ALICE.key, "sha256:x", action="role", role="member")
    assert _member_steps(with_confirmations(_accepted(now_member), done)) == []


def test_a_role_changed_back_after_a_confirmed_change_is_open_again() -> None:
    """alice went admin → member (confirmed in Insomnia), then back to admin in the spec:
    the record's role is the invited one again, yet Insomnia holds member."""
    done = confirmation("member", ALICE.key, "sha256:x", action="role", role="member")
    actual = with_confirmations(_accepted(ALICE), done)
    assert _member_steps(actual) == [("member", "role", "admin")]


def test_a_member_apply_removed_is_an_owners_step_until_confirmed() -> None:
    assert _member_steps(_accepted()) == [("member", "remove", "")]
    done = confirmation("member", ALICE.key, "sha256:x", action="remove")
    assert _member_steps(with_confirmations(_accepted(), done)) == []
