"""The OIDC hardening rules, read as documentation: what passes, and what each mistake says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from oidc_hardening import (
    AUTH_SERVER,
    CHECKS,
    OAUTH_APP,
    SERVER_POLICY_RULE,
    UNKNOWN,
    app_client_secret_not_in_program,
    app_grants_authorization_code_only,
    app_not_assigned_to_everyone,
    app_redirects_are_https,
    app_type_is_web,
    rule_grants_authorization_code_only,
    server_has_one_fixed_issuer,
    violations,
)

SSO_URL = "https://insomnia-dev.us.auth0.com/login/callback"

# What infra/ declares for the Insomnia app, as a policy sees it (camelCased inputs).
GOOD_APP: dict[str, Any] = {
    "label": "Insomnia",
    "type": "web",
    "grantTypes": ["authorization_code"],
    "responseTypes": ["code"],
    "redirectUris": [SSO_URL],
    "tokenEndpointAuthMethod": "client_secret_basic",
}

GOOD_RULE: dict[str, Any] = {
    "authServerId": "aus1",
    "policyId": "pol1",
    "priority": 1,
    "grantTypeWhitelists": ["authorization_code"],
    "scopeWhitelists": ["openid", "profile", "email"],
}


def app(**changes: Any) -> dict[str, Any]:
    """The good app with some inputs changed; a value of None removes the input."""
    props = {**GOOD_APP, **changes}
    return {key: value for key, value in props.items() if value is not None}


def test_the_app_infra_declares_passes_every_check() -> None:
    assert violations(OAUTH_APP, GOOD_APP) == []


def test_the_rule_infra_declares_passes_every_check() -> None:
    assert violations(SERVER_POLICY_RULE, GOOD_RULE) == []


def test_other_resource_types_are_not_judged() -> None:
    assert (
        violations("okta:group/group:Group", {"type": "native", "implicitAssignment": True}) == []
    )


def test_each_check_has_a_unique_policy_name() -> None:
    names = [check.name for check in CHECKS]
    assert len(names) == len(set(names))


# Web only -------------------------------------------------------------------------------


@pytest.mark.parametrize("app_type", ["browser", "native", "service"])
def test_an_app_that_is_not_web_is_refused(app_type: str) -> None:
    assert app_type_is_web(OAUTH_APP, app(type=app_type)) == [
        f"type is '{app_type}': only 'web' is allowed; browser, native and service apps "
        "cannot keep a client secret or are not meant for user sign-in"
    ]


def test_an_app_without_a_type_is_refused() -> None:
    assert app_type_is_web(OAUTH_APP, app(type=None)) == [
        "type is not set: OIDC apps must be of type 'web'"
    ]


# Authorization code only ----------------------------------------------------------------


def test_the_implicit_grant_is_refused_with_the_reason() -> None:
    props = app(grantTypes=["authorization_code", "implicit"])
    assert app_grants_authorization_code_only(OAUTH_APP, props) == [
        "grantTypes includes 'implicit': the implicit flow returns tokens in the browser's "
        "URL, where history and referrers leak them; only 'authorization_code' is allowed"
    ]


def test_any_grant_besides_authorization_code_is_refused() -> None:
    props = app(grantTypes=["authorization_code", "refresh_token", "client_credentials"])
    assert app_grants_authorization_code_only(OAUTH_APP, props) == [
        "grantTypes includes 'refresh_token': only 'authorization_code' is allowed",
        "grantTypes includes 'client_credentials': only 'authorization_code' is allowed",
    ]


def test_authorization_code_must_be_among_the_grants() -> None:
    props = app(grantTypes=["password"])
    assert app_grants_authorization_code_only(OAUTH_APP, props) == [
        "grantTypes includes 'password': only 'authorization_code' is allowed",
        "grantTypes must include 'authorization_code'",
    ]


def test_grants_left_to_the_provider_default_are_refused() -> None:
    assert app_grants_authorization_code_only(OAUTH_APP, app(grantTypes=None)) == [
        "grantTypes is not set: set it to ['authorization_code'], do not rely on provider defaults"
    ]


@pytest.mark.parametrize("response_type", ["token", "id_token"])
def test_token_response_types_are_refused_as_implicit(response_type: str) -> None:
    props = app(responseTypes=["code", response_type])
    assert app_grants_authorization_code_only(OAUTH_APP, props) == [
        f"responseTypes includes '{response_type}': the implicit flow returns tokens in the "
        "browser's URL, where history and referrers leak them; only 'code' is allowed"
    ]


def test_response_types_left_to_the_provider_default_are_refused() -> None:
    assert app_grants_authorization_code_only(OAUTH_APP, app(responseTypes=[])) == [
        "responseTypes is not set: set it to ['code'], do not rely on provider defaults"
    ]


# https redirects ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://insomnia-dev.us.auth0.com/login/callback",
        "insomnia://callback",
        "https:///login/callback",
        "/login/callback",
    ],
)
def test_a_sign_in_redirect_that_is_not_https_is_refused(uri: str) -> None:
    props = app(redirectUris=[SSO_URL, uri])
    assert app_redirects_are_https(OAUTH_APP, props) == [
        f"redirectUris[1] '{uri}' is not an https URL: the authorization code "
        "and session would travel in clear text"
    ]


def test_post_logout_redirects_are_checked_when_set() -> None:
    props = app(postLogoutRedirectUris=["https://app.insomnia.rest", "http://app.insomnia.rest"])
    assert app_redirects_are_https(OAUTH_APP, props) == [
        "postLogoutRedirectUris[1] 'http://app.insomnia.rest' is not an https URL: "
        "the authorization code and session would travel in clear text"
    ]


def test_an_app_without_redirect_uris_is_refused() -> None:
    assert app_redirects_are_https(OAUTH_APP, app(redirectUris=[])) == [
        "redirectUris is empty: set it to the SSO URL Insomnia shows"
    ]


def test_wildcard_redirects_are_refused() -> None:
    assert app_redirects_are_https(OAUTH_APP, app(wildcardRedirect="SUBDOMAIN")) == [
        "wildcardRedirect is 'SUBDOMAIN': redirect URIs must match exactly; "
        "leave it unset or 'DISABLED'"
    ]
    assert app_redirects_are_https(OAUTH_APP, app(wildcardRedirect="DISABLED")) == []


# Not assigned to everyone ---------------------------------------------------------------


def test_implicit_assignment_to_everyone_is_refused() -> None:
    assert app_not_assigned_to_everyone(OAUTH_APP, app(implicitAssignment=True)) == [
        "implicitAssignment is true: every user in the Okta org could sign in to Insomnia; "
        "assign people through the managed group instead"
    ]


def test_implicit_assignment_may_be_off_or_unset() -> None:
    assert app_not_assigned_to_everyone(OAUTH_APP, app(implicitAssignment=False)) == []
    assert app_not_assigned_to_everyone(OAUTH_APP, GOOD_APP) == []


# Client secret never in the program -----------------------------------------------------


@pytest.mark.parametrize("prop", ["clientBasicSecret", "clientBasicSecretWo"])
def test_a_client_secret_set_in_the_program_is_refused(prop: str) -> None:
    # Policies see secrets unwrapped, so even a `config.require_secret` value lands here.
    assert app_client_secret_not_in_program(OAUTH_APP, app(**{prop: "s3cr3t"})) == [
        f"{prop} is set: let Okta generate the client secret and read it from the stack "
        "output client_secret; a secret written into code or config leaks through git "
        "history, logs and plan output"
    ]


def test_the_refusal_never_repeats_the_secret() -> None:
    messages = app_client_secret_not_in_program(OAUTH_APP, app(clientBasicSecret="s3cr3t"))
    assert messages
    assert all("s3cr3t" not in message for message in messages)


def test_a_client_secret_generated_by_okta_passes() -> None:
    assert app_client_secret_not_in_program(OAUTH_APP, GOOD_APP) == []


# The authorization server policy rule ---------------------------------------------------


def test_a_rule_allowing_implicit_is_refused() -> None:
    rule = {**GOOD_RULE, "grantTypeWhitelists": ["authorization_code", "implicit"]}
    assert rule_grants_authorization_code_only(SERVER_POLICY_RULE, rule) == [
        "grantTypeWhitelists includes 'implicit': the implicit flow returns tokens in the "
        "browser's URL, where history and referrers leak them; only 'authorization_code' "
        "is allowed"
    ]


def test_a_rule_allowing_other_grants_is_refused() -> None:
    rule = {**GOOD_RULE, "grantTypeWhitelists": ["client_credentials", "password"]}
    assert rule_grants_authorization_code_only(SERVER_POLICY_RULE, rule) == [
        "grantTypeWhitelists includes 'client_credentials': only 'authorization_code' is allowed",
        "grantTypeWhitelists includes 'password': only 'authorization_code' is allowed",
        "grantTypeWhitelists must include 'authorization_code'",
    ]


def test_the_rule_check_ignores_apps_and_the_app_checks_ignore_rules() -> None:
    assert rule_grants_authorization_code_only(OAUTH_APP, {"grantTypeWhitelists": []}) == []
    assert violations(SERVER_POLICY_RULE, {**GOOD_RULE, "type": "native"}) == []


# One fixed issuer -----------------------------------------------------------------------

GOOD_SERVER: dict[str, Any] = {
    "name": "insomnia",
    "audiences": ["api://insomnia"],
    "issuerMode": "ORG_URL",
}


@pytest.mark.parametrize("mode", ["ORG_URL", "CUSTOM_URL", None], ids=["org", "custom", "unset"])
def test_a_server_on_the_org_url_or_the_custom_domain_passes(mode: str | None) -> None:
    # Unset is Okta's default, ORG_URL.
    props = {**GOOD_SERVER, "issuerMode": mode}
    assert violations(AUTH_SERVER, {k: v for k, v in props.items() if v is not None}) == []


def test_a_dynamic_issuer_is_refused_with_the_reason() -> None:
    assert server_has_one_fixed_issuer(AUTH_SERVER, {**GOOD_SERVER, "issuerMode": "DYNAMIC"}) == [
        "issuerMode is 'DYNAMIC': the issuer would depend on the host each request came "
        "through, not be one fixed value Insomnia's SSO connection can hold; use 'ORG_URL', "
        "or 'CUSTOM_URL' with spec.sso.okta.customDomain"
    ]


def test_an_issuer_mode_okta_does_not_know_is_refused() -> None:
    assert violations(AUTH_SERVER, {**GOOD_SERVER, "issuerMode": "custom_url"}) == [
        "issuerMode is 'custom_url': only 'ORG_URL' or 'CUSTOM_URL' is allowed"
    ]


def test_the_issuer_check_judges_servers_only() -> None:
    assert server_has_one_fixed_issuer(OAUTH_APP, {"issuerMode": "DYNAMIC"}) == []
    assert violations(SERVER_POLICY_RULE, {**GOOD_RULE, "issuerMode": "DYNAMIC"}) == []


# During preview -------------------------------------------------------------------------


def test_values_unknown_during_preview_are_left_for_pulumi_up() -> None:
    props = app(
        type=UNKNOWN,
        grantTypes=UNKNOWN,
        responseTypes=["code", UNKNOWN],
        redirectUris=[UNKNOWN],
        implicitAssignment=UNKNOWN,
        clientBasicSecret=UNKNOWN,
    )
    assert violations(OAUTH_APP, props) == []
    assert violations(AUTH_SERVER, {**GOOD_SERVER, "issuerMode": UNKNOWN}) == []


def test_known_values_are_still_judged_beside_unknown_ones() -> None:
    props = app(redirectUris=[UNKNOWN, "http://insecure.example"])
    assert violations(OAUTH_APP, props) == [
        "redirectUris[1] 'http://insecure.example' is not an https URL: the authorization "
        "code and session would travel in clear text"
    ]


# The program itself ---------------------------------------------------------------------


@pytest.mark.parametrize("custom_domain", [False, True], ids=["org-url", "custom-domain"])
def test_every_resource_infra_declares_for_the_example_spec_complies(custom_domain: bool) -> None:
    # The real program under Pulumi mocks: its inputs arrive camelCased, as policies see them.
    from reconciler.okta_preview import preview
    from reconciler.spec import load_file
    from tests.conftest import example_with_custom_domain

    spec = Path(__file__).resolve().parents[2] / "specs" / "enterprise.yaml"
    enterprise = example_with_custom_domain() if custom_domain else load_file(spec)
    resources = preview(enterprise).resources
    judged = {resource.type for resource in resources} & {
        OAUTH_APP,
        AUTH_SERVER,
        SERVER_POLICY_RULE,
    }
    assert judged == {OAUTH_APP, AUTH_SERVER, SERVER_POLICY_RULE}
    [server] = [resource for resource in resources if resource.type == AUTH_SERVER]
    assert server.properties["issuerMode"] == ("CUSTOM_URL" if custom_domain else "ORG_URL")
    assert {
        f"{resource.type} {resource.name}": violations(resource.type, resource.properties)
        for resource in resources
    } == {f"{resource.type} {resource.name}": [] for resource in resources}
