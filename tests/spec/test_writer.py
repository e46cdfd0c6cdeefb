"""The spec writer: what it writes reads back as what it was given, in the project's style,
and what it cannot know fails validation with a line saying what to fill in."""

from __future__ import annotations

import pytest
import yaml
import yaml_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.errors import SpecError
from reconciler.spec import Member, Organization, Prune, Role, TeamNames, load_text
from reconciler.spec.writer import SpecDocument, scalar, spec_text
from tests.conftest import EXAMPLE_SPEC


@settings(derandomize=True, max_examples=500)
@given(st.text())
def test_every_string_reads_back_as_itself_in_both_parsers(text: str) -> None:
    line = f"key: {scalar(text)}\n"
    assert yaml_rs.loads(line) == {"key": text}
    assert yaml.safe_load(line) == {"key": text}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("alice@acme.com", "alice@acme.com"),
        ("https://acme.okta.com", "https://acme.okta.com"),
        ("api://insomnia", "api://insomnia"),
        ("Payments Admins", "Payments Admins"),
        ("O'Brien", "O'Brien"),
        ("José", "José"),
        ("yes", '"yes"'),
        ("Null", '"Null"'),
        ("1password@acme.com", '"1password@acme.com"'),
        ("FILL IN: the SSO URL", '"FILL IN: the SSO URL"'),
        ("a #tag", '"a #tag"'),
        ("tab\there", '"tab\\x09here"'),
        (0.1, "0.1"),
        (False, "false"),
    ],
)
def test_scalars_are_plain_unless_yaml_would_read_something_else(
    value: object, written: str
) -> None:
    assert scalar(value) == written


def test_the_example_enterprise_reads_back_as_itself() -> None:
    example = load_text(EXAMPLE_SPEC.read_text())
    text = spec_text(
        SpecDocument(
            name=example.name,
            domains=example.spec.domains,
            organizations=example.spec.organizations,
            sso=example.spec.sso,
            prune=example.spec.prune,
        )
    )
    assert load_text(text) == example
    assert (
        text.splitlines()[0] == "# yaml-language-server: $schema=../schema/insomnia-sso.schema.json"
    )
    assert "          role: member" not in text  # the default is left out


def test_members_teams_and_an_empty_organization_in_the_projects_style() -> None:
    organizations = [
        Organization(
            name="payments",
            teams=TeamNames(member="Payments Crew"),
            members=(
                Member(
                    email="bob@acme.io",
                    role=Role.OWNER,
                    okta_login="bob.smith@acme.com",
                    given_name="Bob",
                    family_name="Smith",
                ),
                Member(email="carol@acme.com"),
            ),
        ),
        Organization(name="research"),
    ]
    text = spec_text(
        SpecDocument(
            name="acme",
            domains=("acme.com", "acme.io"),
            organizations=organizations,
            header=("Made by hand.",),
        )
    )
    assert text.splitlines()[:4] == [
        "# yaml-language-server: $schema=../schema/insomnia-sso.schema.json",
        "#",
        "# Made by hand.",
        "apiVersion: insomnia-sso/v1",
    ]
    assert text.split("  organizations:\n")[1] == (
        "    - name: payments\n"
        "      teams:\n"
        "        member: Payments Crew\n"
        "      members:\n"
        "        - email: bob@acme.io\n"
        "          role: owner\n"
        "          oktaLogin: bob.smith@acme.com\n"
        "          givenName: Bob\n"
        "          familyName: Smith\n"
        "        - email: carol@acme.com\n"
        "    - name: research\n"
        "      members: []\n"
        "  prune:\n"
        "    enabled: false\n"
        "    maxFraction: 0.1\n"
    )
    nobody = spec_text(SpecDocument(name="acme", domains=("acme.com",), organizations=()))
    assert "  organizations: []\n" in nobody


def test_what_the_writer_cannot_know_fails_validation_saying_what_to_fill_in() -> None:
    text = spec_text(
        SpecDocument(name=None, domains=("acme.com", "acme.io"), organizations=(), prune=Prune())
    )
    with pytest.raises(SpecError) as raised:
        load_text(text, "imported.yaml")
    assert [str(p) for p in raised.value.problems] == [
        "imported.yaml:5: metadata.name: fill in the enterprise's name, a slug that keys the "
        "record, the lock and the stack",
        "imported.yaml:14: spec.sso.domainIdentifier: fill in the domain identifier, one of the "
        "domains",
        "imported.yaml:16: spec.sso.ssoUrl: fill in the SSO URL Insomnia shows",
        "imported.yaml:18: spec.sso.okta.orgUrl: fill in your Okta org's URL (https://….okta.com)",
    ]
    # One domain can only be the domain identifier: nothing to fill in there.
    single = spec_text(SpecDocument(name="acme", domains=("acme.com",), organizations=()))
    assert "    domainIdentifier: acme.com\n" in single
