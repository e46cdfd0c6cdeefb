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
        f"{spec}:15: spec.sso.type: Input should be 'oidc' (got 'saml')",
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
