"""The policy pack wiring: each check runs as a pulumi-policy policy, without the Pulumi CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("pulumi_policy")

from oidc_hardening import AUTH_SERVER, CHECKS, OAUTH_APP, SERVER_POLICY_RULE
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)
from resource_policies import resource_policies

POLICY_PACK = Path(__file__).resolve().parents[2] / "policy"


def run(policy: Policy, resource_type: str, props: dict[str, Any]) -> list[str]:
    """Validate one resource the way the policy analyzer does, collecting violation messages."""
    assert isinstance(policy, ResourceValidationPolicy)
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs(
        resource_type, unknown_checking_proxy(props), "urn:pulumi:s::p::t::n", "n", options, None
    )
    reported: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        reported.append(message)

    policy.validate(args, report_violation)
    return reported


def policy_named(name: str) -> Policy:
    return next(policy for policy in resource_policies() if policy.name == name)


def test_every_check_becomes_one_policy_with_its_name() -> None:
    assert [policy.name for policy in resource_policies()] == [check.name for check in CHECKS]


def test_a_violation_is_reported_through_pulumi_policy() -> None:
    props = {"type": "native", "grantTypes": ["authorization_code"], "responseTypes": ["code"]}
    assert run(policy_named("oidc-app-web-only"), OAUTH_APP, props) == [
        "type is 'native': only 'web' is allowed; browser, native and service apps "
        "cannot keep a client secret or are not meant for user sign-in"
    ]


def test_a_dynamic_issuer_is_reported_through_pulumi_policy() -> None:
    props = {"name": "insomnia", "audiences": ["api://insomnia"], "issuerMode": "DYNAMIC"}
    assert run(policy_named("auth-server-fixed-issuer"), AUTH_SERVER, props) == [
        "issuerMode is 'DYNAMIC': the issuer would depend on the host each request came "
        "through, not be one fixed value Insomnia's SSO connection can hold; use 'ORG_URL', "
        "or 'CUSTOM_URL' with spec.sso.okta.customDomain"
    ]
    assert (
        run(
            policy_named("auth-server-fixed-issuer"),
            AUTH_SERVER,
            {"issuerMode": UNKNOWN_STRING_VALUE},
        )
        == []
    )


def test_a_policy_ignores_resource_types_it_does_not_govern() -> None:
    props = {"grantTypeWhitelists": ["implicit"]}
    assert run(policy_named("oidc-app-authorization-code-only"), SERVER_POLICY_RULE, props) == []
    assert run(policy_named("auth-server-rule-authorization-code-only"), OAUTH_APP, props) == []


def test_an_unknown_value_skips_only_what_it_hides() -> None:
    # The pulumi-policy proxy raises on unknown values; the wrapper turns them into data.
    props = {
        "redirectUris": [UNKNOWN_STRING_VALUE, "http://insecure.example"],
        "postLogoutRedirectUris": UNKNOWN_ARRAY_VALUE,
    }
    assert run(policy_named("oidc-app-https-redirects"), OAUTH_APP, props) == [
        "redirectUris[1] 'http://insecure.example' is not an https URL: the authorization "
        "code and session would travel in clear text"
    ]


def test_an_unknown_client_secret_is_not_plain_text() -> None:
    props = {"clientBasicSecret": UNKNOWN_STRING_VALUE}
    assert run(policy_named("oidc-app-no-client-secret-in-program"), OAUTH_APP, props) == []


def test_the_pack_is_a_python_pack_with_a_pinned_sdk() -> None:
    manifest = yaml.safe_load((POLICY_PACK / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    requirements = (POLICY_PACK / "requirements.txt").read_text().splitlines()
    assert "pulumi-policy>=1.21,<2" in requirements


def test_the_pack_is_mandatory_and_named() -> None:
    # __main__.py starts the analyzer's gRPC server when run, so it is read, not imported.
    source = (POLICY_PACK / "__main__.py").read_text()
    assert 'name="insomnia-sso-oidc-hardening"' in source
    assert "enforcement_level=EnforcementLevel.MANDATORY" in source
