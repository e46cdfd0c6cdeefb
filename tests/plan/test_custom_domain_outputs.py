"""Stack outputs of a company that signs in on its own domain (`spec.sso.okta.customDomain`).

The issuer is then `https://{customDomain}/oauth2/{id}`: accepted. An issuer on any other
host is still another stack's. An issuer on the Okta org's host is this stack's from before it
picked the custom domain up: accepted with a warning, because the next `pulumi up` moves the
issuer Insomnia holds, and the SSO connection step reopens then.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.errors import OutputsError
from reconciler.outputs import OktaOutputs, custom_domain_pending_warning
from reconciler.plan import plan
from reconciler.spec import Enterprise, load_text
from reconciler.state import ActualState
from tests.conftest import MINIMAL
from tests.plan import test_plan as plan_helpers

ORG_ISSUER = "https://acme.okta.com/oauth2/aus1issuer"
CUSTOM_ISSUER = "https://login.acme.com/oauth2/aus1issuer"
PENDING = (
    "the stack has not picked up customDomain login.acme.com: its issuer "
    "https://acme.okta.com/oauth2/aus1issuer is still on the Okta org's domain; the next "
    "`pulumi up` moves the issuer Insomnia holds to login.acme.com, and the sso_connection "
    "step reopens then"
)
CUSTOM_SPEC = MINIMAL.replace(
    "      orgUrl: https://acme.okta.com\n",
    "      orgUrl: https://acme.okta.com\n      customDomain: login.acme.com\n",
)


@pytest.fixture
def acme() -> Enterprise:
    return load_text(CUSTOM_SPEC)


def outputs(enterprise: Enterprise, issuer: str) -> OktaOutputs:
    return plan_helpers.outputs(enterprise, issuer=issuer)


def test_an_issuer_on_the_custom_domain_is_accepted_without_a_word(acme: Enterprise) -> None:
    okta = outputs(acme, CUSTOM_ISSUER)
    assert (okta.issuer, okta.warnings) == (CUSTOM_ISSUER, ())
    assert plan(acme, okta, plan_helpers.converged(acme, okta)).warnings == ()


def test_the_custom_domain_matches_whatever_the_case_of_the_issuers_host(
    acme: Enterprise,
) -> None:
    okta = outputs(acme, "https://LOGIN.Acme.com/oauth2/aus1issuer")
    assert okta.warnings == ()


@pytest.mark.parametrize(
    "issuer",
    [
        "https://login.globex.com/oauth2/aus1issuer",  # another company's domain
        "https://globex.okta.com/oauth2/aus1issuer",  # another Okta org
        "https://acme.login.acme.com/oauth2/aus1issuer",  # a name under the custom domain
    ],
)
def test_an_issuer_on_a_third_host_is_still_another_stacks(acme: Enterprise, issuer: str) -> None:
    with pytest.raises(OutputsError) as raised:
        outputs(acme, issuer)
    assert str(raised.value) == (
        f"outputs.json: issuer {issuer} is not in enterprise 'acme''s Okta org (acme.okta.com); "
        "these outputs belong to another stack"
    )


def test_without_a_custom_domain_in_the_spec_an_issuer_on_one_is_refused() -> None:
    enterprise = load_text(MINIMAL)
    with pytest.raises(OutputsError) as raised:
        outputs(enterprise, CUSTOM_ISSUER)
    assert str(raised.value) == (
        f"outputs.json: issuer {CUSTOM_ISSUER} is not in enterprise 'acme''s Okta org "
        "(acme.okta.com); these outputs belong to another stack"
    )


def test_an_issuer_still_on_the_org_host_is_accepted_with_a_warning(acme: Enterprise) -> None:
    okta = outputs(acme, ORG_ISSUER)
    assert okta.issuer == ORG_ISSUER
    assert okta.warnings == (PENDING,)
    assert custom_domain_pending_warning("login.acme.com", ORG_ISSUER) == PENDING
    # Without a custom domain in the spec the same outputs say nothing.
    assert outputs(load_text(MINIMAL), ORG_ISSUER).warnings == ()


def test_the_warning_reaches_the_plan_and_the_sso_step_reopens_after_the_next_up(
    acme: Enterprise,
) -> None:
    before_up = outputs(acme, ORG_ISSUER)
    # An owner pasted today's values into Insomnia and confirmed them.
    state = plan_helpers.converged(acme, before_up)
    result = plan(acme, before_up, state)
    assert result.warnings == (PENDING,)
    assert result.manual_steps == ()  # Insomnia holds today's issuer: logins work today
    # `pulumi up` moves the issuer onto the custom domain: the step is open again.
    after_up = outputs(acme, CUSTOM_ISSUER)
    result = plan(acme, after_up, state)
    assert result.warnings == ()
    [step] = result.manual_steps
    assert (step.kind.value, step.key, step.after["issuer"]) == (
        "sso_connection",
        "acme",
        CUSTOM_ISSUER,
    )


def test_plan_prints_the_warning_in_text_and_on_stderr_beside_json(tmp_path: Path) -> None:
    spec = tmp_path / "enterprise.yaml"
    spec.write_text(CUSTOM_SPEC, encoding="utf-8")
    okta = tmp_path / "outputs.json"
    okta.write_text(json.dumps({**plan_helpers.OUTPUTS_JSON, "issuer": ORG_ISSUER}))
    common = [str(spec), "--okta-outputs", str(okta), "--store", f"sqlite:///{tmp_path}/s.db"]
    text = CliRunner().invoke(main, ["plan", *common])
    assert text.exit_code == 2, text.output
    assert f"  ! {PENDING}" in text.output.splitlines()
    as_json = CliRunner().invoke(main, ["plan", *common, "--format", "json"])
    assert as_json.exit_code == 2, as_json.output
    assert f"warning: {PENDING}" in as_json.stderr.splitlines()
    assert "warnings" not in json.loads(as_json.stdout)  # the JSON contract keeps its shape


def test_a_first_plan_shows_the_issuer_the_outputs_hold_today(acme: Enterprise) -> None:
    result = plan(acme, outputs(acme, ORG_ISSUER), ActualState("acme", plan_helpers.NOW))
    [step] = [s for s in result.manual_steps if s.kind.value == "sso_connection"]
    assert step.after["issuer"] == ORG_ISSUER
