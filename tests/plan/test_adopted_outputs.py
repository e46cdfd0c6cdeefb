"""Stack outputs of an adopted app: no secret in the stack, said so by `client_secret_adopted`.

Okta hands an app's secret out only at creation and pulumi-okta never reads it back, so a
stack that adopted a hand-made app exports an empty secret and the flag. The reconciler then
knows the client id and issuer but not the secret, and keeps the one Insomnia holds; an empty
secret without the flag is refused as before.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.errors import OutputsError
from reconciler.outputs import (
    ADOPTED_APP_WARNING,
    ADOPTED_FLAG,
    OktaOutputs,
    fingerprint,
    parse_outputs,
)
from reconciler.plan import plan
from reconciler.spec import Enterprise, load_file
from reconciler.state import ActualState
from reconciler.status import onboarding_status
from tests.conftest import EXAMPLE_SPEC, outputs_json
from tests.plan import test_plan as plan_helpers


@pytest.fixture
def acme() -> Enterprise:
    return load_file(EXAMPLE_SPEC)


def parse(acme: Enterprise, **overrides: Any) -> OktaOutputs:
    data = outputs_json("okta-client-secret-1", acme.assigned_logins(), **overrides)
    data = {key: value for key, value in data.items() if value is not ...}
    return parse_outputs(json.dumps(data), "outputs.json", acme)


@pytest.mark.parametrize("secret", ["", ...], ids=["empty", "absent"])
def test_an_adopted_apps_outputs_are_known_but_carry_no_secret(
    acme: Enterprise, secret: Any
) -> None:
    outputs = parse(acme, client_secret=secret, client_secret_adopted=True)
    assert outputs.known
    assert (outputs.client_id, outputs.issuer) == (
        "0oaCLIENT0001",
        "https://acme.okta.com/oauth2/aus0001",
    )
    assert outputs.secret_fingerprint is None
    assert not outputs.secret_known
    assert outputs.secret_adopted


def test_outputs_with_a_secret_know_it_and_are_not_adopted(acme: Enterprise) -> None:
    outputs = parse(acme, client_secret_adopted=False)
    assert outputs.secret_known
    assert not outputs.secret_adopted
    assert outputs.secret_fingerprint == fingerprint("okta-client-secret-1", "acme")
    # Stacks from before the flag existed have no such output: the same as false.
    older = parse(acme)
    assert older == outputs


@pytest.mark.parametrize("secret", ["", ...], ids=["empty", "absent"])
def test_a_missing_secret_without_the_flag_is_still_refused(acme: Enterprise, secret: Any) -> None:
    with pytest.raises(OutputsError) as raised:
        parse(acme, client_secret=secret)
    assert str(raised.value) == (
        "outputs.json: client_secret must be a non-empty string "
        "(an adopted app's stack says so with client_secret_adopted: true)"
        if secret == ""
        else "outputs.json: missing stack output(s) client_secret; "
        "is this the output of the insomnia-sso Pulumi stack?"
    )


def test_the_flag_beside_a_secret_is_refused_not_half_trusted(acme: Enterprise) -> None:
    with pytest.raises(OutputsError, match="client_secret_adopted is true but client_secret"):
        parse(acme, client_secret_adopted=True)


def test_a_flag_that_is_not_a_boolean_is_refused(acme: Enterprise) -> None:
    with pytest.raises(OutputsError) as raised:
        parse(acme, client_secret="", client_secret_adopted="true")
    assert str(raised.value) == "outputs.json: client_secret_adopted must be true or false"


def test_a_masked_secret_asks_for_show_secrets_even_when_adopted(acme: Enterprise) -> None:
    with pytest.raises(OutputsError, match="--show-secrets"):
        parse(acme, client_secret="[secret]", client_secret_adopted=True)


def test_the_warning_the_planner_shows_names_what_happens() -> None:
    assert ADOPTED_FLAG == "client_secret_adopted"
    assert ADOPTED_APP_WARNING == (
        "client secret not known from Okta (adopted app): keeping the secret Insomnia holds"
    )


def test_status_does_not_call_a_kept_secret_out_of_date() -> None:
    enterprise = plan_helpers.spec()
    known = plan_helpers.outputs(enterprise)
    # An owner entered the client id, issuer and secret, and confirmed it.
    state = plan_helpers.converged(enterprise, known)
    adopted = plan_helpers.outputs(enterprise, client_secret="", client_secret_adopted=True)
    status = onboarding_status(enterprise, adopted, state)
    assert status.sso_connection == (
        "confirmed by owner@acme.com (issuer https://acme.okta.com/oauth2/aus1issuer)"
    )
    moved = plan_helpers.outputs(
        enterprise,
        client_secret="",
        client_secret_adopted=True,
        issuer="https://acme.okta.com/oauth2/aus2other",
    )
    assert onboarding_status(enterprise, moved, state).sso_connection == (
        "out of date: the Okta values changed since it was confirmed (see plan)"
    )


def test_the_plan_keeps_the_secret_insomnia_holds_and_says_so() -> None:
    enterprise = plan_helpers.spec()
    state = plan_helpers.converged(enterprise, plan_helpers.outputs(enterprise))
    adopted = plan_helpers.outputs(enterprise, client_secret="", client_secret_adopted=True)
    result = plan(enterprise, adopted, state)
    assert ADOPTED_APP_WARNING in result.warnings
    assert result.manual_steps == ()  # same client id and issuer: nothing to paste again


def test_a_first_sso_step_for_an_adopted_app_asks_to_leave_the_secret_alone() -> None:
    enterprise = plan_helpers.spec()
    adopted = plan_helpers.outputs(enterprise, client_secret="", client_secret_adopted=True)
    result = plan(enterprise, adopted, ActualState("acme", plan_helpers.NOW))
    [sso] = [s for s in result.manual_steps if s.kind == "sso_connection"]
    assert sso.ready
    assert sso.after["client_secret"] == (
        "leave the secret Insomnia holds (adopted app: Okta gave the stack none)"
    )
    closed = plan_helpers.confirmed(enterprise, adopted, ActualState("acme", plan_helpers.NOW))
    assert "sso_connection" not in [s.kind for s in plan(enterprise, adopted, closed).manual_steps]
