"""What a valid spec means: defaults, normalisation, and the example enterprise."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.spec import Role, load_file, load_specs, load_text
from reconciler.spec.schema import json_schema
from tests.conftest import EXAMPLE_SPEC, MINIMAL, ROOT


def test_roles_default_to_member_and_emails_are_lower_cased() -> None:
    enterprise = load_text(MINIMAL.replace("bob@acme.io", "Bob.Smith@ACME.io"))
    [platform] = enterprise.spec.organizations
    alice, bob = platform.members
    assert (alice.email, alice.role) == ("alice@acme.com", Role.ADMIN)
    assert (bob.email, bob.role) == ("bob.smith@acme.io", Role.MEMBER)


def test_okta_login_defaults_to_the_email() -> None:
    text = MINIMAL.replace(
        "- email: bob@acme.io", "- email: bob@acme.io\n          oktaLogin: Bob.S@acme.com"
    )
    enterprise = load_text(text)
    assert enterprise.assigned_logins() == ["alice@acme.com", "bob.s@acme.com"]


def test_prune_is_off_and_bounded_by_default() -> None:
    prune = load_text(MINIMAL).spec.prune
    assert (prune.enabled, prune.max_fraction) == (False, 0.1)


def test_the_example_enterprise_is_realistic() -> None:
    enterprise = load_file(EXAMPLE_SPEC)
    assert len(enterprise.spec.organizations) == 2
    assert len(enterprise.spec.domains) == 2
    assert len(enterprise.assigned_logins()) >= 12


def test_a_custom_domain_is_optional_lower_cased_and_where_the_issuer_lives() -> None:
    okta = load_text(MINIMAL).spec.sso.okta
    assert (okta.custom_domain, okta.org_host, okta.issuer_host) == (
        None,
        "acme.okta.com",
        "acme.okta.com",
    )
    text = MINIMAL.replace(
        "      orgUrl: https://acme.okta.com\n",
        "      orgUrl: https://ACME.okta.com\n      customDomain: Login.Acme.COM\n",
    )
    okta = load_text(text).spec.sso.okta
    assert (okta.custom_domain, okta.org_host, okta.issuer_host) == (
        "login.acme.com",
        "acme.okta.com",
        "login.acme.com",
    )


def test_a_folder_loads_every_spec_in_it(write_spec) -> None:
    write_spec(MINIMAL, "acme.yaml")
    path = write_spec(MINIMAL.replace("name: acme", "name: beta"), "beta.yml")
    write_spec("not a spec", "notes.txt")
    names = [spec.enterprise.name for spec in load_specs([path.parent])]
    assert names == ["acme", "beta"]


def test_validate_reports_each_spec_and_exits_zero() -> None:
    result = CliRunner().invoke(main, ["validate", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{EXAMPLE_SPEC}: ok: enterprise 'acme', 2 organization(s), 12 people, 2 domain(s)\n"
    )


def test_validate_exits_one_with_every_problem_and_no_traceback(write_spec) -> None:
    path = write_spec(MINIMAL.replace("role: admin", "role: boss"))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:20: spec.organizations[0].members[0].role: unknown role 'boss'; expected "
        "owner, admin or member\n1 problem(s) found; nothing was written.\n"
    )
    assert "Traceback" not in result.output


def test_schema_prints_the_json_schema_of_the_models() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["apiVersion", "kind", "metadata", "spec"]
    assert schema["additionalProperties"] is False


def test_the_committed_schema_is_up_to_date() -> None:
    committed = json.loads((ROOT / "schema" / "insomnia-sso.schema.json").read_text())
    assert committed == json_schema(), "schema is stale: run `make schema` and commit it"


def test_the_example_spec_points_editors_at_the_schema() -> None:
    first_line = EXAMPLE_SPEC.read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../schema/insomnia-sso.schema.json"
    assert (EXAMPLE_SPEC.parent / "../schema/insomnia-sso.schema.json").resolve().is_file()


def test_every_command_has_help_text() -> None:
    def walk(group: object, prefix: str = "") -> list[tuple[str, object]]:
        found = []
        for name, command in getattr(group, "commands", {}).items():
            found.append((prefix + name, command))
            found += walk(command, prefix + name + " ")
        return found

    for name, command in walk(main):
        assert getattr(command, "help", None), f"`{name}` has no help text"


def test_python_dash_m_runs_the_same_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(EXAMPLE_SPEC)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr
    assert "ok: enterprise 'acme'" in done.stdout


def test_no_spec_key_looks_like_a_secret() -> None:
    # The loader reports a secret-looking key only among unknown keys; that holds only
    # while no real key of the spec looks like one.
    from pydantic import BaseModel

    from reconciler.spec.models import Enterprise, looks_secret

    def keys(model: type[BaseModel]) -> list[str]:
        found = []
        for name, field in model.model_fields.items():
            found.append(field.alias or name)
            for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    found += keys(arg)
        return found

    assert "audience" in keys(Enterprise)
    assert [key for key in keys(Enterprise) if looks_secret(key)] == []


def test_an_organization_may_name_its_teams_else_they_are_organization_role_s() -> None:
    text = MINIMAL.replace(
        "    - name: platform\n",
        "    - name: platform\n      teams: {admin: Platform Admins}\n",
    )
    [platform] = load_text(text).spec.organizations
    assert platform.team_name("admin") == "Platform Admins"
    assert platform.team_name("member") == "platform-members"


def test_names_are_optional_and_kept_as_written() -> None:
    text = MINIMAL.replace(
        "- email: bob@acme.io",
        "- email: bob@acme.io\n          givenName: Bob\n          familyName: Smith",
    )
    alice, bob = load_text(text).spec.organizations[0].members
    assert (alice.given_name, alice.family_name) == (None, None)
    assert (bob.given_name, bob.family_name) == ("Bob", "Smith")
