"""What the Pulumi program declares in Okta for a spec, checked under mocks.

Every test runs the real program (`infra.program.run`, which `infra/__main__.py` calls) after
the mocks are set, and reads the resources it registered with their inputs.
"""

from __future__ import annotations

import json
import logging
import math
import runpy
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest

from infra.component import (
    LOOKUP_BATCH_SIZE,
    LOOKUP_MAX_EXPRESSION,
    login_batches,
    search_expression,
)
from infra.program import OUTPUT_NAMES
from reconciler.okta_preview import OktaPreviewError, ProgramRun, run_under_mocks
from reconciler.outputs import parse_outputs
from reconciler.spec import Enterprise, load_file
from tests.conftest import CUSTOM_DOMAIN, EXAMPLE_SPEC, ROOT, example_with_custom_domain
from tests.infra.fake_okta import (
    AUTH_SERVER,
    CLIENT_ID,
    CLIENT_SECRET,
    GROUP,
    GROUP_ASSIGNMENT,
    GROUP_MEMBERSHIPS,
    OAUTH_APP,
    ORG_URL,
    SERVER_POLICY,
    SERVER_POLICY_RULE,
    FakeOkta,
    RunProgram,
    enterprise_with,
    resource_id,
    the,
    user_id,
)

EVERY_TYPE = {
    AUTH_SERVER,
    OAUTH_APP,
    SERVER_POLICY,
    SERVER_POLICY_RULE,
    GROUP,
    GROUP_MEMBERSHIPS,
    GROUP_ASSIGNMENT,
}


@pytest.fixture
def acme() -> Enterprise:
    return load_file(EXAMPLE_SPEC)


# --- the trap: a test that checks nothing ------------------------------------------------------


def test_the_program_really_registers_its_resources(
    run_program: RunProgram, acme: Enterprise
) -> None:
    run = run_program(acme)
    assert {r.type for r in run.resources} == EVERY_TYPE
    assert len(run.resources) == len(EVERY_TYPE)


def test_a_program_that_registers_nothing_fails_instead_of_passing_vacuously() -> None:
    # What a program that declared its resources at import time, before set_mocks, looks like.
    with pytest.raises(OktaPreviewError, match="registered no resources"):
        run_under_mocks(lambda: None, FakeOkta())


# --- the issuer and the app ------------------------------------------------------------------


def test_the_issuer_is_a_custom_authorization_server_with_the_spec_audience(
    run_program: RunProgram, acme: Enterprise
) -> None:
    server = the(run_program(acme), AUTH_SERVER).properties
    assert server["name"] == "insomnia"
    assert server["audiences"] == ["api://insomnia"]
    assert server["description"] == "Issuer for Insomnia Enterprise SSO"


def test_without_a_custom_domain_the_issuer_is_on_the_org_url_and_the_mode_says_so(
    run_program: RunProgram, acme: Enterprise
) -> None:
    okta = FakeOkta()
    run = run_program(acme, okta)
    [server] = [args for args in okta.registered if args.typ == AUTH_SERVER]
    # Said explicitly, not left to the provider's default (which is the same value).
    assert server.inputs["issuerMode"] == "ORG_URL"
    assert run.outputs["issuer"] == f"{ORG_URL}/oauth2/{resource_id('acme-issuer')}"


def test_a_custom_domain_puts_the_issuer_on_it_with_issuer_mode_custom_url(
    run_program: RunProgram,
) -> None:
    enterprise = example_with_custom_domain()
    okta = FakeOkta(custom_domain=CUSTOM_DOMAIN)
    run = run_program(enterprise, okta)
    [server] = [args for args in okta.registered if args.typ == AUTH_SERVER]
    assert server.inputs["issuerMode"] == "CUSTOM_URL"
    assert the(run, AUTH_SERVER).properties["issuerMode"] == "CUSTOM_URL"
    issuer = f"https://login.acme.com/oauth2/{resource_id('acme-issuer')}"
    assert run.outputs["issuer"] == issuer
    # The custom domain is the org's, shared with other apps: nothing declares it.
    assert len(run.resources) == len(EVERY_TYPE)
    # The reconciler takes these outputs as they are, with nothing to warn about.
    outputs = parse_outputs(json.dumps(run.outputs), "stack prod", enterprise)
    assert (outputs.issuer, outputs.warnings) == (issuer, ())


def test_the_app_is_an_oidc_web_app_redirecting_to_the_insomnia_sso_url(
    run_program: RunProgram, acme: Enterprise
) -> None:
    app = the(run_program(acme), OAUTH_APP).properties
    assert app["label"] == "Insomnia"
    assert app["type"] == "web"
    assert app["redirectUris"] == [acme.spec.sso.sso_url]
    assert app["redirectUris"] == ["https://insomnia-dev.us.auth0.com/login/callback"]


def test_the_app_uses_the_authorization_code_flow_only(
    run_program: RunProgram, acme: Enterprise
) -> None:
    app = the(run_program(acme), OAUTH_APP).properties
    assert app["grantTypes"] == ["authorization_code"]
    assert app["responseTypes"] == ["code"]  # no token / id_token: no implicit flow


def test_the_app_is_a_confidential_client_assigned_to_nobody_implicitly(
    run_program: RunProgram, acme: Enterprise
) -> None:
    app = the(run_program(acme), OAUTH_APP).properties
    assert app["tokenEndpointAuthMethod"] == "client_secret_basic"
    assert app["implicitAssignment"] is False
    # Okta generates the secret; the program never writes one.
    assert not {"clientBasicSecret", "clientBasicSecretWo"} & set(app)


# --- who may get tokens ----------------------------------------------------------------------


def test_the_access_policy_is_bound_to_this_apps_client_id_only(
    run_program: RunProgram, acme: Enterprise
) -> None:
    policy = the(run_program(acme), SERVER_POLICY).properties
    assert policy["clientWhitelists"] == [CLIENT_ID]
    assert policy["authServerId"] == resource_id("acme-issuer")


def test_the_rule_allows_only_the_authorization_code_grant_and_the_oidc_scopes(
    run_program: RunProgram, acme: Enterprise
) -> None:
    rule = the(run_program(acme), SERVER_POLICY_RULE).properties
    assert rule["policyId"] == resource_id("acme-access-policy")
    assert rule["authServerId"] == resource_id("acme-issuer")
    assert rule["grantTypeWhitelists"] == ["authorization_code"]
    assert sorted(rule["scopeWhitelists"]) == ["email", "openid", "profile"]
    assert rule["groupWhitelists"] == [resource_id("acme-group")]


# --- people ------------------------------------------------------------------------------------


def test_the_group_holds_exactly_the_looked_up_ids_of_the_spec_people(
    run_program: RunProgram, acme: Enterprise
) -> None:
    run = run_program(acme)
    assert the(run, GROUP).properties["name"] == "insomnia-sso-acme"
    members = the(run, GROUP_MEMBERSHIPS).properties
    assert members["groupId"] == resource_id("acme-group")
    assert members["users"] == [user_id(login) for login in acme.assigned_logins()]
    assert len(members["users"]) == 12  # 13 memberships, alice is in both organizations
    assert members["trackAllUsers"] is True  # people added by hand are drift


def test_the_group_is_assigned_to_the_app_once(run_program: RunProgram, acme: Enterprise) -> None:
    assignment = the(run_program(acme), GROUP_ASSIGNMENT).properties
    assert assignment == {"appId": resource_id("acme-app"), "groupId": resource_id("acme-group")}


def test_okta_logins_match_whatever_their_case_in_okta(
    run_program: RunProgram, acme: Enterprise
) -> None:
    okta = FakeOkta(stored_as={"alice.nguyen@acme.com": "Alice.Nguyen@ACME.com"})
    run = run_program(acme, okta)
    assert user_id("alice.nguyen@acme.com") in the(run, GROUP_MEMBERSHIPS).properties["users"]
    assert "alice.nguyen@acme.com" in run.outputs["assigned_users"]


def test_people_okta_does_not_know_are_left_out_with_a_warning(
    run_program: RunProgram, acme: Enterprise, caplog: pytest.LogCaptureFixture
) -> None:
    okta = FakeOkta(missing={"carol.jones@acme.com"}, deprovisioned={"ivan.petrov@acme.com"})
    with caplog.at_level(logging.WARNING):
        run = run_program(acme, okta)
    users = the(run, GROUP_MEMBERSHIPS).properties["users"]
    assert user_id("carol.jones@acme.com") not in users
    assert user_id("ivan.petrov@acme.com") not in users
    assert len(users) == 10
    assert run.outputs["assigned_users"] == [
        login
        for login in acme.assigned_logins()
        if login not in {"carol.jones@acme.com", "ivan.petrov@acme.com"}
    ]
    assert "2 login(s) in the spec have no active Okta user" in caplog.text
    assert "carol.jones@acme.com, ivan.petrov@acme.com" in caplog.text


def test_an_enterprise_without_people_has_an_empty_group_and_no_lookups(
    run_program: RunProgram,
) -> None:
    okta = FakeOkta()
    run = run_program(enterprise_with(0), okta)
    # Okta requires at least one user in a memberships resource, so it is left out.
    assert {r.type for r in run.resources} == EVERY_TYPE - {GROUP_MEMBERSHIPS}
    assert okta.searches == []
    assert run.outputs["assigned_users"] == []


# --- scale: constant resources, batched lookups ------------------------------------------------


def test_the_resource_count_does_not_grow_with_the_member_list(run_program: RunProgram) -> None:
    few, many = run_program(enterprise_with(5)), run_program(enterprise_with(5_000))
    assert len(few.resources) == len(many.resources) == 7
    assert [(r.type, r.name) for r in few.resources] == [(r.type, r.name) for r in many.resources]
    assert len(the(many, GROUP_MEMBERSHIPS).properties["users"]) == 5_000


def test_people_are_looked_up_in_batches_not_one_call_each(run_program: RunProgram) -> None:
    okta = FakeOkta()
    enterprise = enterprise_with(5_000)
    run = run_program(enterprise, okta)
    assert len(okta.searches) == math.ceil(5_000 / LOOKUP_BATCH_SIZE) == 100
    assert run.invokes.count("okta:user/getUsers:getUsers") == 100
    assert all(len(search) <= LOOKUP_MAX_EXPRESSION for search in okta.searches)
    searched = [clause for search in okta.searches for clause in search.split(" or ")]
    assert searched == [f'profile.login eq "{login}"' for login in enterprise.assigned_logins()]


def test_a_batch_is_cut_by_count_or_by_search_length_keeping_spec_order() -> None:
    short = [f"p{i}@acme.com" for i in range(120)]
    assert [len(batch) for batch in login_batches(short)] == [50, 50, 20]
    assert [login for batch in login_batches(short) for login in batch] == short
    long = [f"{'x' * 60}{i:03d}@acme.com" for i in range(100)]  # 95-character clauses
    batches = list(login_batches(long))
    assert [len(batch) for batch in batches] == [31, 31, 31, 7]
    assert all(len(search_expression(batch)) <= LOOKUP_MAX_EXPRESSION for batch in batches)
    assert list(login_batches([])) == []


def test_a_search_names_each_login_exactly() -> None:
    assert search_expression(["a@acme.com", "b@acme.io"]) == (
        'profile.login eq "a@acme.com" or profile.login eq "b@acme.io"'
    )
    with pytest.raises(ValueError, match="cannot be used in an Okta search"):
        search_expression(['a"b@acme.com'])


# --- the stack outputs, through infra/__main__.py ----------------------------------------------


def run_main(okta: FakeOkta, spec: str | Path, **okta_config: str) -> ProgramRun:
    """Run infra/__main__.py as `pulumi up` would, with `insomnia-sso:spec` set to `spec`."""
    return run_under_mocks(
        lambda: runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__"),
        okta,
        config={"insomnia-sso:spec": str(spec), **{f"okta:{k}": v for k, v in okta_config.items()}},
    )


def test_main_exports_exactly_the_eight_flat_outputs(acme: Enterprise) -> None:
    run = run_main(FakeOkta(), "specs/enterprise.yaml")  # relative to the project root
    assert (
        set(run.outputs)
        == set(OUTPUT_NAMES)
        == {
            "client_id",
            "client_secret",
            "issuer",
            "app_id",
            "auth_server_id",
            "assigned_users",
            "assigned_names",
            "client_secret_adopted",
        }
    )
    assert run.outputs["client_id"] == CLIENT_ID
    assert run.outputs["issuer"] == f"{ORG_URL}/oauth2/{resource_id('acme-issuer')}"
    assert run.outputs["app_id"] == resource_id("acme-app")
    assert run.outputs["auth_server_id"] == resource_id("acme-issuer")
    assert run.outputs["assigned_users"] == acme.assigned_logins()
    assert run.outputs["assigned_users"] == sorted(run.outputs["assigned_users"])
    assert run.outputs["client_secret_adopted"] is False  # a created app has its secret
    # the names Okta holds, for the SCIM users Insomnia gets
    assert run.outputs["assigned_names"]["alice.nguyen@acme.com"] == {
        "givenName": "Alice",
        "familyName": "Nguyen",
    }
    assert set(run.outputs["assigned_names"]) == set(acme.assigned_logins())


def test_the_client_secret_is_exported_as_a_secret_and_nothing_else_is() -> None:
    run = run_main(FakeOkta(), EXAMPLE_SPEC)
    assert run.outputs["client_secret"] == CLIENT_SECRET
    assert run.secret_outputs == {"client_secret"}


def test_a_bad_spec_stops_the_program_with_path_line_message(
    write_spec: Callable[[str], Path],
) -> None:
    spec = write_spec(EXAMPLE_SPEC.read_text().replace("appLabel:", "appLabell:"))
    with pytest.raises(pulumi.RunError) as raised:
        run_main(FakeOkta(), spec)
    assert str(raised.value) == (
        f"{spec}:21: spec.sso.okta.appLabell: unknown key 'appLabell' (did you mean 'appLabel'?)"
    )


def test_a_stack_pointing_at_another_okta_org_is_refused() -> None:
    with pytest.raises(pulumi.RunError) as raised:
        run_main(FakeOkta(), EXAMPLE_SPEC, orgName="globex", baseUrl="okta.com")
    assert str(raised.value) == (
        "the stack's Okta provider points at https://globex.okta.com but enterprise 'acme' "
        "declares orgUrl https://acme.okta.com; fix okta:orgName/okta:baseUrl or the spec"
    )


def test_a_stack_pointing_at_the_spec_org_runs() -> None:
    run = run_main(FakeOkta(), EXAMPLE_SPEC, orgName="acme", baseUrl="okta.com")
    assert run.outputs["assigned_users"]


# --- isolation ---------------------------------------------------------------------------------


def test_runs_in_one_process_do_not_see_each_other(
    run_program: RunProgram, acme: Enterprise
) -> None:
    first = run_program(acme)
    other = run_program(enterprise_with(3, name="globex"))
    again = run_program(acme)
    assert first == again
    assert {r.name for r in other.resources}.isdisjoint({r.name for r in first.resources})
