"""`preview(enterprise)`: the real program run offline, returned as plain, comparable data."""

from __future__ import annotations

import json

from reconciler.okta_preview import (
    SENSITIVE,
    DeclaredResource,
    OktaPreview,
    preview,
    render_text,
    unknown,
)
from reconciler.spec import load_file
from tests.conftest import EXAMPLE_SPEC, example_with_custom_domain
from tests.infra.fake_okta import (
    AUTH_SERVER,
    GROUP,
    GROUP_ASSIGNMENT,
    GROUP_MEMBERSHIPS,
    OAUTH_APP,
    SERVER_POLICY,
    SERVER_POLICY_RULE,
    enterprise_with,
)


def test_the_preview_lists_issuer_app_access_rules_then_people() -> None:
    result = preview(load_file(EXAMPLE_SPEC))
    assert isinstance(result, OktaPreview)
    assert result.enterprise == "acme"
    assert [(r.type, r.name) for r in result.resources] == [
        (AUTH_SERVER, "acme-issuer"),
        (OAUTH_APP, "acme-app"),
        (SERVER_POLICY, "acme-access-policy"),
        (SERVER_POLICY_RULE, "acme-access-rule"),
        (GROUP, "acme-group"),
        (GROUP_MEMBERSHIPS, "acme-members"),
        (GROUP_ASSIGNMENT, "acme-assignment"),
    ]
    assert result.user_lookups == 1


def test_values_okta_assigns_later_are_placeholders_and_the_secret_is_hidden() -> None:
    result = preview(load_file(EXAMPLE_SPEC))
    assert result.outputs == {
        "app_id": unknown("acme-app.id"),
        "assigned_users": load_file(EXAMPLE_SPEC).assigned_logins(),
        "assigned_names": {},  # the preview knows nobody's profile
        "auth_server_id": unknown("acme-issuer.id"),
        "client_id": unknown("acme-app.client_id"),
        "client_secret": SENSITIVE,
        "client_secret_adopted": False,
        "issuer": "https://acme.okta.com/oauth2/(known after pulumi up: acme-issuer.id)",
    }
    [policy] = [r for r in result.resources if r.type == SERVER_POLICY]
    assert policy.properties["clientWhitelists"] == ["(known after pulumi up: acme-app.client_id)"]


def test_the_preview_is_json_ready_sorted_and_the_same_every_time() -> None:
    enterprise = load_file(EXAMPLE_SPEC)
    first, second = preview(enterprise), preview(enterprise)
    assert first == second
    data = first.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["format_version"] == 1
    for resource in data["resources"]:
        assert list(resource["properties"]) == sorted(resource["properties"])


def test_the_text_names_each_resource_and_what_a_reviewer_checks() -> None:
    text = render_text(preview(load_file(EXAMPLE_SPEC)))
    assert "+ okta:app/oAuth:OAuth  acme-app\n" in text
    for line in (
        "    type: web",
        "    redirectUris: [https://insomnia-dev.us.auth0.com/login/callback]",
        "    grantTypes: [authorization_code]",
        "    responseTypes: [code]",
        "    tokenEndpointAuthMethod: client_secret_basic",
        "    implicitAssignment: false",
        "    audiences: [api://insomnia]",
        "    scopeWhitelists: [openid, profile, email]",
        "    users: 12 users",
        "    client_secret: (sensitive)",
    ):
        assert line + "\n" in text
    assert text.endswith("7 Okta resources; 12 people looked up in 1 getUsers search(es).\n")


def test_the_issuer_mode_is_shown_and_a_custom_domain_moves_the_issuer_onto_it() -> None:
    text = render_text(preview(load_file(EXAMPLE_SPEC)))
    assert "    issuerMode: ORG_URL\n" in text
    assert "    issuer: https://acme.okta.com/oauth2/(known after pulumi up: acme-issuer.id)\n" in (
        text
    )
    assert "custom domain" not in text

    result = preview(example_with_custom_domain())
    [server] = [r for r in result.resources if r.type == AUTH_SERVER]
    assert server.properties["issuerMode"] == "CUSTOM_URL"
    assert result.outputs["issuer"] == (
        "https://login.acme.com/oauth2/(known after pulumi up: acme-issuer.id)"
    )
    text = render_text(result)
    assert "    issuerMode: CUSTOM_URL\n" in text
    assert (
        "    (the issuer is on the custom domain login.acme.com: it must exist and be verified "
        "in Okta before pulumi up; this program does not declare it)\n"
    ) in text


def test_ten_thousand_people_keep_seven_resources_and_are_summarised_in_text() -> None:
    # How fast is measured by bench/okta_program.py, not here: a shared runner's load
    # would make a time limit flaky. What stays constant with size is asserted.
    enterprise = enterprise_with(10_000)
    result = preview(enterprise)
    assert len(result.resources) == 7
    assert result.user_lookups == 200
    [members] = [r for r in result.resources if r.type == GROUP_MEMBERSHIPS]
    assert len(members.properties["users"]) == 10_000  # all of them in the data and JSON
    text = render_text(result)
    assert "    users: 10000 users\n" in text
    assert "    assigned_users: 10000 users\n" in text
    assert "person00042" not in text
    assert len(text.splitlines()) < 80


def test_a_declared_resource_is_plain_data() -> None:
    resource = DeclaredResource("okta:group/group:Group", "acme-group", {"name": "g"})
    assert resource.to_json() == {
        "type": "okta:group/group:Group",
        "name": "acme-group",
        "action": "create",
        "import_id": None,
        "properties": {"name": "g"},
    }
    adopted = DeclaredResource("okta:group/group:Group", "acme-group", {}, "00g1a2b3c4d5e6f7g8h9")
    assert (adopted.action, adopted.to_json()["import_id"]) == ("import", "00g1a2b3c4d5e6f7g8h9")
