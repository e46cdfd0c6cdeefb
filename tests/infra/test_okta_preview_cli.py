"""`insomnia-sso okta-preview [SPEC] [--format text|json]`: output, exit codes, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import okta_cmds  # noqa: F401  (registers okta-preview on the group)
from reconciler.cli.base import main
from tests.conftest import EXAMPLE_SPEC, ROOT


def okta_preview(*args: str) -> Result:
    return CliRunner().invoke(main, ["okta-preview", *args])


@pytest.fixture(autouse=True)
def _in_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # where the default SPEC, specs/enterprise.yaml, is


def test_text_lists_resources_then_outputs_for_the_default_spec() -> None:
    result = okta_preview()
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Okta resources declared by infra/ for enterprise 'acme' (offline preview"
    )
    assert result.stdout.index("+ okta:auth/server:Server") < result.stdout.index("stack outputs:")
    assert "    redirectUris: [https://insomnia-dev.us.auth0.com/login/callback]\n" in result.stdout
    assert "    client_secret: (sensitive)\n" in result.stdout


def test_json_is_the_preview_data() -> None:
    result = okta_preview(str(EXAMPLE_SPEC), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {
        "format_version",
        "enterprise",
        "placeholders",
        "resources",
        "outputs",
        "user_lookups",
    }
    assert (data["format_version"], data["enterprise"], data["user_lookups"]) == (1, "acme", 1)
    [app] = [r for r in data["resources"] if r["type"] == "okta:app/oAuth:OAuth"]
    assert app["properties"]["grantTypes"] == ["authorization_code"]
    assert data["outputs"]["client_secret"] == "(sensitive)"
    assert len(data["outputs"]["assigned_users"]) == 12


def test_a_bad_spec_is_reported_as_path_line_message_with_exit_1(
    write_spec: Callable[[str], Path],
) -> None:
    spec = write_spec(EXAMPLE_SPEC.read_text().replace("type: oidc", "type: saml"))
    result = okta_preview(str(spec))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{spec}:15: spec.sso.type: must be 'oidc', got 'saml'",
        "1 problem(s) found; nothing was written.",
    ]


def test_a_missing_spec_is_an_error_not_a_traceback() -> None:
    result = okta_preview("specs/nope.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("specs/nope.yaml: cannot read: ")


def test_the_command_explains_itself() -> None:
    result = okta_preview("--help")
    assert result.exit_code == 0
    assert "Run infra/ under Pulumi mocks" in result.stdout
    assert "--format [text|json]" in result.stdout


# --- adopting a hand-made setup ------------------------------------------------------------------

APP = "0oa1b2c3d4e5f6g7h8i9"
SERVER = "aus1b2c3d4e5f6g7h8i9"
GROUP_ID = "00g1b2c3d4e5f6g7h8i9"


@pytest.fixture
def stack_config(tmp_path: Path) -> Path:
    """A Pulumi.<stack>.yaml as `pulumi config set --path insomnia-sso:adopt.…` leaves it."""
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(
        "config:\n"
        "  insomnia-sso:spec: specs/enterprise.yaml\n"
        "  okta:orgName: acme\n"
        "  insomnia-sso:adopt:\n"
        f"    appId: {APP}\n"
        f"    authServerId: {SERVER}\n"
    )
    return path


def test_text_marks_adopted_resources_as_imports_and_the_rest_as_creates(
    stack_config: Path,
) -> None:
    result = okta_preview("--adopt-config", str(stack_config))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"= okta:auth/server:Server  acme-issuer  = import {SERVER}" in lines
    assert f"= okta:app/oAuth:OAuth  acme-app  = import {APP}" in lines
    assert "+ okta:group/group:Group  acme-group" in lines
    assert "    client_id: (unchanged: the client id of app 0oa1b2c3d4e5f6g7h8i9)" in lines
    assert f"    issuer: https://acme.okta.com/oauth2/{SERVER}" in lines
    assert '    client_secret: ""' in lines
    assert "    client_secret_adopted: true" in lines
    assert lines[-1] == (
        "7 Okta resources (2 adopted by import, then updated to these inputs; 5 created); "
        "12 people looked up in 1 getUsers search(es)."
    )


def test_json_carries_each_resources_action_and_import_id(stack_config: Path) -> None:
    result = okta_preview(
        "--adopt-config", str(stack_config), "--adopt", f"groupId={GROUP_ID}", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {r["name"]: (r["action"], r["import_id"]) for r in data["resources"]} == {
        "acme-issuer": ("import", SERVER),
        "acme-app": ("import", APP),
        "acme-access-policy": ("create", None),
        "acme-access-rule": ("create", None),
        "acme-group": ("import", GROUP_ID),
        "acme-members": ("import", f"{GROUP_ID}/true"),
        "acme-assignment": ("import", f"{APP}/{GROUP_ID}"),
    }
    assert data["outputs"]["client_secret"] == ""
    assert data["outputs"]["client_secret_adopted"] is True


def test_adopt_pairs_alone_and_overriding_the_file(stack_config: Path) -> None:
    alone = json.loads(okta_preview("--adopt", f"appId={APP}", "--format", "json").stdout)
    assert [r["name"] for r in alone["resources"] if r["action"] == "import"] == ["acme-app"]
    other = "0oa9z8y7x6w5v4u3t2s1"
    result = okta_preview(
        "--adopt-config", str(stack_config), "--adopt", f"appId={other}", "--format", "json"
    )
    [app] = [r for r in json.loads(result.stdout)["resources"] if r["name"] == "acme-app"]
    assert app["import_id"] == other


def test_without_adopt_everything_is_created() -> None:
    data = json.loads(okta_preview("--format", "json").stdout)
    assert {(r["action"], r["import_id"]) for r in data["resources"]} == {("create", None)}
    assert data["outputs"]["client_secret_adopted"] is False


def test_a_stack_config_without_an_adopt_block_adopts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  okta:orgName: acme\n")
    result = okta_preview("--adopt-config", str(path))
    assert result.exit_code == 0, result.output
    assert "= import" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--adopt", "policyId=00p1b2c3d4e5f6g7h8i9"],
            "error: insomnia-sso:adopt.policyId needs insomnia-sso:adopt.authServerId: "
            "an access policy is imported as <auth_server_id>/<policy_id>",
        ),
        (
            ["--adopt", "appid=0oa1"],
            "error: insomnia-sso:adopt: unknown key 'appid' (did you mean 'appId'?); "
            "known keys: appId, authServerId, policyId, ruleId, groupId",
        ),
        (
            ["--adopt", "appId=0oa/1"],
            "error: insomnia-sso:adopt.appId: '0oa/1' is not an Okta id "
            "(1 to 64 letters and digits, e.g. 0oa1b2c3d4e5f6g7h8i9)",
        ),
        (
            ["--adopt", APP],
            f"error: --adopt '{APP}': expected KEY=ID, e.g. appId=0oa1b2c3d4e5f6g7h8i9",
        ),
    ],
)
def test_a_bad_adopt_block_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = okta_preview(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [message]


def test_a_stack_config_that_is_not_one_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("config:\n  insomnia-sso:adopt: [\n")
    not_object = tmp_path / "Pulumi.x.yaml"
    not_object.write_text(f"config:\n  insomnia-sso:adopt: {APP}\n")
    for path, message in [
        (listed, f"error: {listed}: not a Pulumi stack config (expected a 'config:' mapping)"),
        (broken, f"error: {broken}:3: not a Pulumi stack config: invalid YAML"),
        (not_object, f"error: {not_object}: insomnia-sso:adopt must be an object of Okta ids"),
        (tmp_path / "nope.yaml", f"error: {tmp_path / 'nope.yaml'}: cannot read stack config: "),
    ]:
        result = okta_preview("--adopt-config", str(path))
        assert result.exit_code == 1, path
        assert result.stderr.startswith(message), result.stderr


def test_the_help_names_the_adopt_options() -> None:
    result = okta_preview("--help")
    assert "--adopt-config FILE" in result.stdout
    assert "--adopt KEY=ID" in result.stdout
