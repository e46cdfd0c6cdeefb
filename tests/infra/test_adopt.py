"""Adopting a hand-made Okta setup: `insomnia-sso:adopt` turns into Pulumi `import_` ids.

Every test runs the real program under mocks with the adopt block as stack config, the way
`pulumi up` hands it over, and reads the import id each resource was registered with (Pulumi's
mocks receive it as `MockResourceArgs.resource_id`).
"""

from __future__ import annotations

import json
import runpy
from typing import Any

import pulumi
import pytest
import yaml

from infra import program
from infra.adopt import Adoption, parse_adoption
from reconciler.okta_preview import ProgramRun, run_under_mocks
from reconciler.outputs import parse_outputs
from reconciler.spec import Enterprise, load_file
from tests.conftest import EXAMPLE_SPEC, ROOT, example_with_custom_domain
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
    resource_id,
    the,
)

APP = "0oa1b2c3d4e5f6g7h8i9"
SERVER = "aus1b2c3d4e5f6g7h8i9"
POLICY = "00p1b2c3d4e5f6g7h8i9"
RULE = "0pr1b2c3d4e5f6g7h8i9"
GROUP_ID = "00g1b2c3d4e5f6g7h8i9"

FULL = {
    "appId": APP,
    "authServerId": SERVER,
    "policyId": POLICY,
    "ruleId": RULE,
    "groupId": GROUP_ID,
}


@pytest.fixture
def acme() -> Enterprise:
    return load_file(EXAMPLE_SPEC)


def run_adopting(enterprise: Enterprise, block: Any, okta: FakeOkta | None = None) -> ProgramRun:
    """Run the program with `insomnia-sso:adopt` set to `block` (as JSON, as Pulumi passes it)."""
    config = {} if block is None else {"insomnia-sso:adopt": json.dumps(block)}
    return run_under_mocks(lambda: program.run(enterprise), okta or FakeOkta(), config=config)


def import_ids(run: ProgramRun) -> dict[str, str | None]:
    return {resource.type: resource.import_id for resource in run.resources}


# --- what is imported, with which id ------------------------------------------------------------


def test_a_full_block_imports_every_resource_with_the_provider_id_format(acme: Enterprise) -> None:
    okta = FakeOkta()
    run = run_adopting(acme, FULL, okta)
    assert import_ids(run) == {
        AUTH_SERVER: SERVER,
        OAUTH_APP: APP,
        SERVER_POLICY: f"{SERVER}/{POLICY}",
        SERVER_POLICY_RULE: f"{SERVER}/{POLICY}/{RULE}",
        GROUP: GROUP_ID,
        GROUP_MEMBERSHIPS: f"{GROUP_ID}/true",  # the form for track_all_users, which we set
        GROUP_ASSIGNMENT: f"{APP}/{GROUP_ID}",
    }
    # What the mocks were handed, not only what the recorder wrote down.
    custom = {args.typ: args.resource_id for args in okta.registered if args.custom}
    assert custom == import_ids(run)


def test_adopted_resources_are_wired_by_the_ids_they_already_have(acme: Enterprise) -> None:
    run = run_adopting(acme, FULL)
    assert the(run, SERVER_POLICY).properties["authServerId"] == SERVER
    assert the(run, SERVER_POLICY).properties["clientWhitelists"] == [APP]
    rule = the(run, SERVER_POLICY_RULE).properties
    assert (rule["authServerId"], rule["policyId"], rule["groupWhitelists"]) == (
        SERVER,
        POLICY,
        [GROUP_ID],
    )
    assert the(run, GROUP_ASSIGNMENT).properties == {"appId": APP, "groupId": GROUP_ID}
    assert the(run, GROUP_MEMBERSHIPS).properties["groupId"] == GROUP_ID
    # The app is still declared with the spec's settings: the import is followed by an update.
    assert the(run, OAUTH_APP).properties["redirectUris"] == [acme.spec.sso.sso_url]


def test_the_client_id_and_issuer_stay_and_the_secret_is_empty_not_made_up(
    acme: Enterprise,
) -> None:
    run = run_adopting(acme, FULL)
    assert run.outputs["client_id"] == APP
    assert run.outputs["app_id"] == APP
    assert run.outputs["auth_server_id"] == SERVER
    assert run.outputs["issuer"] == f"{ORG_URL}/oauth2/{SERVER}"
    assert run.outputs["client_secret"] == ""
    assert run.outputs["client_secret_adopted"] is True
    assert run.secret_outputs == {"client_secret"}  # the flag itself is plain


def test_the_reconciler_accepts_the_adopted_stacks_outputs_and_keeps_the_secret(
    acme: Enterprise,
) -> None:
    run = run_adopting(acme, FULL)
    outputs = parse_outputs(json.dumps(run.outputs), "stack prod", acme)
    assert (outputs.client_id, outputs.issuer) == (APP, f"{ORG_URL}/oauth2/{SERVER}")
    assert outputs.secret_adopted
    assert outputs.secret_fingerprint is None


@pytest.mark.parametrize(
    ("custom_domain", "mode", "issuer"),
    [
        (None, "ORG_URL", f"{ORG_URL}/oauth2/{SERVER}"),
        ("login.acme.com", "CUSTOM_URL", f"https://login.acme.com/oauth2/{SERVER}"),
    ],
    ids=["org-url", "custom-url"],
)
def test_an_adopted_server_keeps_its_issuer_in_either_mode_when_the_spec_matches_it(
    custom_domain: str | None, mode: str, issuer: str
) -> None:
    # A hand-made server issuing on the custom domain is adopted by a spec naming that domain;
    # one on the org's host by a spec naming none. Either way the issuer Insomnia holds stays.
    enterprise = example_with_custom_domain() if custom_domain else load_file(EXAMPLE_SPEC)
    okta = FakeOkta(custom_domain="login.acme.com")
    run = run_adopting(enterprise, {"appId": APP, "authServerId": SERVER}, okta)
    [server] = [args for args in okta.registered if args.typ == AUTH_SERVER]
    assert (server.resource_id, server.inputs["issuerMode"]) == (SERVER, mode)
    assert run.outputs["issuer"] == issuer
    outputs = parse_outputs(json.dumps(run.outputs), "stack prod", enterprise)
    assert (outputs.issuer, outputs.warnings) == (issuer, ())


def test_without_an_adopt_block_nothing_is_imported(acme: Enterprise) -> None:
    okta = FakeOkta()
    run = run_adopting(acme, None, okta)
    assert set(import_ids(run).values()) == {None}
    assert all(not args.resource_id for args in okta.registered)
    assert run.outputs["client_secret"] == CLIENT_SECRET
    assert run.outputs["client_secret_adopted"] is False


def test_an_empty_block_is_no_adoption(acme: Enterprise) -> None:
    assert set(import_ids(run_adopting(acme, {})).values()) == {None}


def test_a_block_with_only_the_app_adopts_the_app_alone(acme: Enterprise) -> None:
    run = run_adopting(acme, {"appId": APP})
    ids = import_ids(run)
    assert ids.pop(OAUTH_APP) == APP
    assert set(ids.values()) == {None}
    assert run.outputs["client_id"] == APP
    assert run.outputs["issuer"] == f"{ORG_URL}/oauth2/{resource_id('acme-issuer')}"  # created
    assert run.outputs["client_secret_adopted"] is True


def test_the_issuer_alone_and_the_default_server_can_be_adopted(acme: Enterprise) -> None:
    run = run_adopting(acme, {"authServerId": "default"})
    ids = import_ids(run)
    assert ids.pop(AUTH_SERVER) == "default"
    assert set(ids.values()) == {None}
    assert run.outputs["issuer"] == f"{ORG_URL}/oauth2/default"
    assert run.outputs["client_id"] == CLIENT_ID  # a new app, with its own secret
    assert run.outputs["client_secret_adopted"] is False


def test_a_group_without_the_app_imports_no_assignment(acme: Enterprise) -> None:
    ids = import_ids(run_adopting(acme, {"groupId": GROUP_ID}))
    assert ids[GROUP] == GROUP_ID
    assert ids[GROUP_MEMBERSHIPS] == f"{GROUP_ID}/true"
    assert ids[GROUP_ASSIGNMENT] is None  # a new app has no assignment to take over


def test_infra_main_reads_the_block_from_stack_config() -> None:
    okta = FakeOkta()
    run = run_under_mocks(
        lambda: runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__"),
        okta,
        config={"insomnia-sso:spec": str(EXAMPLE_SPEC), "insomnia-sso:adopt": json.dumps(FULL)},
    )
    assert import_ids(run)[SERVER_POLICY_RULE] == f"{SERVER}/{POLICY}/{RULE}"
    assert set(run.outputs) == set(program.OUTPUT_NAMES)


# --- malformed blocks stop the program before anything is registered ----------------------------

MALFORMED = [
    (
        {"appid": APP},
        "insomnia-sso:adopt: unknown key 'appid' (did you mean 'appId'?); "
        "known keys: appId, authServerId, policyId, ruleId, groupId",
    ),
    (
        {"clientId": APP},
        "insomnia-sso:adopt: unknown key 'clientId' (did you mean 'appId'?); "
        "known keys: appId, authServerId, policyId, ruleId, groupId",
    ),
    (
        {"appId": f"{APP}/x"},
        f"insomnia-sso:adopt.appId: '{APP}/x' is not an Okta id "
        "(1 to 64 letters and digits, e.g. 0oa1b2c3d4e5f6g7h8i9)",
    ),
    (
        {"groupId": ""},
        "insomnia-sso:adopt.groupId: '' is not an Okta id "
        "(1 to 64 letters and digits, e.g. 0oa1b2c3d4e5f6g7h8i9)",
    ),
    (
        {"authServerId": 42},
        "insomnia-sso:adopt.authServerId: 42 is not an Okta id "
        "(1 to 64 letters and digits, e.g. 0oa1b2c3d4e5f6g7h8i9)",
    ),
    (
        {"appId": "x" * 65},
        f"insomnia-sso:adopt.appId: '{'x' * 65}' is not an Okta id "
        "(1 to 64 letters and digits, e.g. 0oa1b2c3d4e5f6g7h8i9)",
    ),
    (
        {"policyId": POLICY},
        "insomnia-sso:adopt.policyId needs insomnia-sso:adopt.authServerId: "
        "an access policy is imported as <auth_server_id>/<policy_id>",
    ),
    (
        {"authServerId": SERVER, "ruleId": RULE},
        "insomnia-sso:adopt.ruleId needs insomnia-sso:adopt.policyId: "
        "a rule is imported as <auth_server_id>/<policy_id>/<rule_id>",
    ),
    (
        APP,
        "insomnia-sso:adopt must be an object of Okta ids "
        "(appId, authServerId, policyId, ruleId, groupId), got str",
    ),
    (
        [APP],
        "insomnia-sso:adopt must be an object of Okta ids "
        "(appId, authServerId, policyId, ruleId, groupId), got list",
    ),
]


@pytest.mark.parametrize(("block", "message"), MALFORMED)
def test_a_malformed_block_stops_the_program_and_registers_nothing(
    acme: Enterprise, block: Any, message: str
) -> None:
    okta = FakeOkta()
    with pytest.raises(pulumi.RunError) as raised:
        run_adopting(acme, block, okta)
    assert str(raised.value) == message
    assert okta.registered == []


def test_an_id_set_without_path_is_refused_as_not_an_object(acme: Enterprise) -> None:
    # `pulumi config set insomnia-sso:adopt 0oa…` stores a bare string, not JSON.
    okta = FakeOkta()
    with pytest.raises(pulumi.RunError, match="must be an object of Okta ids"):
        run_under_mocks(lambda: program.run(acme), okta, config={"insomnia-sso:adopt": APP})
    assert okta.registered == []


def test_parsing_keeps_the_ids_and_builds_each_import_id() -> None:
    adoption = parse_adoption(FULL)
    assert adoption == Adoption(APP, SERVER, POLICY, RULE, GROUP_ID)
    assert (adoption.access_policy, adoption.access_rule, adoption.assignment) == (
        f"{SERVER}/{POLICY}",
        f"{SERVER}/{POLICY}/{RULE}",
        f"{APP}/{GROUP_ID}",
    )
    assert parse_adoption(None).empty
    assert parse_adoption({}).empty
    assert not adoption.empty


# --- the documents people follow ----------------------------------------------------------------


def test_the_example_stack_configs_adopt_block_is_valid_once_uncommented() -> None:
    text = (ROOT / "Pulumi.example.yaml").read_text()
    start = text.index("  # insomnia-sso:adopt:\n")
    lines = []
    for line in text[start:].splitlines():
        if not line.startswith("  # "):
            break
        lines.append(line.replace("  # ", "  ", 1).split("#")[0].rstrip())
    block = yaml.safe_load("config:\n" + "\n".join(lines))["config"]["insomnia-sso:adopt"]
    assert parse_adoption(block) == Adoption(APP, SERVER, POLICY, RULE, GROUP_ID)


def test_the_guide_is_linked_and_names_every_key_and_the_cli_version() -> None:
    guide = (ROOT / "docs" / "adopt.md").read_text()
    assert "(docs/adopt.md)" in (ROOT / "README.md").read_text()
    for key in ("appId", "authServerId", "policyId", "ruleId", "groupId"):
        assert f"insomnia-sso:adopt.{key}" in guide
    assert "3.174.0" in guide
    assert "pulumi config rm insomnia-sso:adopt" in guide
