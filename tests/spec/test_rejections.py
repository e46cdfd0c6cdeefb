"""Every rejection DESIGN.md lists, with the exact `path:line: message` a user sees.

Each case edits the minimal valid spec in one place, so the line in the message is the
line that was edited.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import load_file, load_specs
from reconciler.spec.loader import MAX_SPEC_BYTES
from tests.conftest import MINIMAL


def edited(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_file(path)
    return str(caught.value).splitlines()


CUSTOM_DOMAIN_AT_13 = "      orgUrl: https://acme.okta.com\n      customDomain: "
"""The line after orgUrl (12) holds spec.sso.okta.customDomain."""

CASES = {
    "unknown key, with a hint": (
        edited("          role: admin", "          rol: admin"),
        ["{p}:20: spec.organizations[0].members[0].rol: unknown key 'rol' (did you mean 'role'?)"],
    ),
    "wrong apiVersion": (
        edited("apiVersion: insomnia-sso/v1", "apiVersion: insomnia-sso/v2"),
        ["{p}:1: apiVersion: must be 'insomnia-sso/v1', got 'insomnia-sso/v2'"],
    ),
    "wrong kind": (
        edited("kind: Enterprise", "kind: Organization"),
        ["{p}:2: kind: must be 'Enterprise', got 'Organization'"],
    ),
    "malformed email": (
        edited("- email: bob@acme.io", "- email: bob@@acme.io"),
        [
            "{p}:21: spec.organizations[0].members[1].email: 'bob@@acme.io' is not a valid "
            "email address"
        ],
    ),
    "email outside the claimed domains": (
        edited("- email: bob@acme.io", "- email: bob@gmail.com"),
        [
            "{p}:21: spec.organizations[0].members[1].email: 'bob@gmail.com' is not in a "
            "claimed domain (acme.com, acme.io)"
        ],
    ),
    "duplicate member, whatever the case": (
        edited("- email: bob@acme.io", "- email: Alice@ACME.com"),
        [
            "{p}:21: spec.organizations[0].members[1].email: duplicate member 'alice@acme.com' "
            "in organization 'platform'"
        ],
    ),
    "duplicate organization": (
        MINIMAL + "    - name: platform\n",
        ["{p}:22: spec.organizations[1].name: duplicate organization 'platform'"],
    ),
    "duplicate domain, whatever the case": (
        edited("domains: [acme.com, acme.io]", "domains: [acme.com, ACME.com, acme.io]"),
        ["{p}:6: spec.domains[1]: duplicate domain 'acme.com'"],
    ),
    "unknown role": (
        edited("role: admin", "role: superuser"),
        [
            "{p}:20: spec.organizations[0].members[0].role: unknown role 'superuser'; "
            "expected owner, admin or member"
        ],
    ),
    "non-https SSO URL": (
        edited("ssoUrl: https://", "ssoUrl: http://"),
        [
            "{p}:10: spec.sso.ssoUrl: 'http://insomnia-dev.us.auth0.com/login/callback' "
            "must use https"
        ],
    ),
    "non-https Okta org URL": (
        edited("orgUrl: https://acme.okta.com", "orgUrl: http://acme.okta.com"),
        ["{p}:12: spec.sso.okta.orgUrl: 'http://acme.okta.com' must use https"],
    ),
    "a custom domain that is not a domain name": (
        edited(
            "      orgUrl: https://acme.okta.com\n",
            CUSTOM_DOMAIN_AT_13 + "https://login.acme.com\n",
        ),
        ["{p}:13: spec.sso.okta.customDomain: 'https://login.acme.com' is not a valid domain name"],
    ),
    "a custom domain that is the Okta org's own host": (
        edited("      orgUrl: https://acme.okta.com\n", CUSTOM_DOMAIN_AT_13 + "ACME.okta.com\n"),
        [
            "{p}:13: spec.sso.okta.customDomain: customDomain 'acme.okta.com' is the orgUrl's "
            "own host; a custom domain is a name of your own (e.g. login.acme.com): leave it "
            "out to sign in on the Okta org's domain"
        ],
    ),
    "domainIdentifier outside the domains": (
        edited("domainIdentifier: acme.com", "domainIdentifier: acme.org"),
        [
            "{p}:9: spec.sso.domainIdentifier: domainIdentifier 'acme.org' is not one of the "
            "claimed domains (acme.com, acme.io)"
        ],
    ),
    "a client secret in the spec": (
        edited("    type: oidc\n", "    type: oidc\n    clientSecret: hunter2\n"),
        [
            "{p}:9: spec.sso.clientSecret: 'clientSecret' looks like a secret; secrets never "
            "belong in a spec (the client secret comes from the Pulumi stack, Okta credentials "
            "from its config)"
        ],
    ),
    "an API token in the spec": (
        edited("      orgUrl:", "      api_token: 00abc\n      orgUrl:"),
        [
            "{p}:12: spec.sso.okta.api_token: 'api_token' looks like a secret; secrets never "
            "belong in a spec (the client secret comes from the Pulumi stack, Okta credentials "
            "from its config)"
        ],
    ),
    "YAML syntax error": (
        edited("domains: [acme.com, acme.io]", "domains: [acme.com, acme.io"),
        [
            "{p}:7: YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
            "sequence that starts at line 6)"
        ],
    ),
    "duplicate key": (
        edited("  name: acme\n", "  name: acme\n  name: beta\n"),
        ["{p}:5: duplicate key 'name'"],
    ),
    "a list instead of a mapping": (
        "- apiVersion: insomnia-sso/v1\n",
        ["{p}:1: expected a mapping at the top level, got a sequence"],
    ),
    "a bare scalar": (
        "just words\n",
        ["{p}:1: expected a mapping at the top level, got a scalar"],
    ),
    "two documents in one file": (
        MINIMAL + "---\n" + MINIMAL,
        ["{p}:23: one Enterprise spec per file; found 2 documents"],
    ),
    "a merge conflict left in the file": (
        edited("  name: acme\n", "<<<<<<< HEAD\n  name: acme\n=======\n  name: beta\n>>>>>>> b\n"),
        ["{p}:4: merge conflict marker: resolve the conflict first"],
    ),
    "an empty file": (
        "",
        ["{p}: empty document; expected an Enterprise spec"],
    ),
    "a missing key": (
        edited("    domainIdentifier: acme.com\n", ""),
        ["{p}:8: spec.sso.domainIdentifier: required key is missing"],
    ),
    "a list where a mapping belongs": (
        edited("metadata:\n  name: acme", "metadata: [acme]"),
        ["{p}:3: metadata: expected a mapping, got a list"],
    ),
    "a string where true/false belongs": (
        MINIMAL + "  prune:\n    enabled: 'yes'\n",
        ["{p}:23: spec.prune.enabled: expected true or false, got a string 'yes'"],
    ),
}

PRUNE = MINIMAL + "  prune:\n    {}\n"
"""The minimal spec with one prune setting, on line 23."""

PLAIN_WORDS = {
    # Every pydantic error type a spec can raise, in the project's words.
    "a fraction above 1 (less_than_equal)": (
        PRUNE.format("maxFraction: 1.5"),
        ["{p}:23: spec.prune.maxFraction: must be at most 1, got 1.5"],
    ),
    "a negative fraction (greater_than_equal)": (
        PRUNE.format("maxFraction: -0.1"),
        ["{p}:23: spec.prune.maxFraction: must be at least 0, got -0.1"],
    ),
    "a fraction that is not a number (.nan)": (
        PRUNE.format("maxFraction: .nan"),
        ["{p}:23: spec.prune.maxFraction: must be at most 1, got .nan"],
    ),
    "a quoted number where a number belongs (strict float)": (
        PRUNE.format("maxFraction: '0.5'"),
        ["{p}:23: spec.prune.maxFraction: expected a number, got a string '0.5'"],
    ),
    "true where a number belongs (strict float)": (
        PRUNE.format("maxFraction: true"),
        ["{p}:23: spec.prune.maxFraction: expected a number, got true"],
    ),
    "an empty value where a number belongs": (
        PRUNE.format("maxFraction:"),
        ["{p}:23: spec.prune.maxFraction: expected a number, got nothing"],
    ),
    "a number where true/false belongs (strict bool)": (
        PRUNE.format("enabled: 1"),
        ["{p}:23: spec.prune.enabled: expected true or false, got a number 1"],
    ),
    "an empty name (string_too_short)": (
        edited("- email: bob@acme.io", "- email: bob@acme.io\n          givenName: ''"),
        ["{p}:22: spec.organizations[0].members[1].givenName: must not be empty"],
    ),
    "a name of 201 characters (string_too_long)": (
        edited("- email: bob@acme.io", "- email: bob@acme.io\n          familyName: " + "x" * 201),
        [
            "{p}:22: spec.organizations[0].members[1].familyName: is 201 characters long; at "
            "most 200 are allowed"
        ],
    ),
    "a number where a string belongs (string_type)": (
        edited("  name: acme", "  name: 42"),
        ["{p}:4: metadata.name: expected a string, got a number 42"],
    ),
    "another SSO type (literal_error)": (
        edited("type: oidc", "type: saml"),
        ["{p}:8: spec.sso.type: must be 'oidc', got 'saml'"],
    ),
    "an empty apiVersion (literal_error)": (
        edited("apiVersion: insomnia-sso/v1", "apiVersion:"),
        ["{p}:1: apiVersion: must be 'insomnia-sso/v1', got nothing"],
    ),
    "a role that is not a string (enum)": (
        edited("role: admin", "role: 3"),
        [
            "{p}:20: spec.organizations[0].members[0].role: expected owner, admin or member, "
            "got a number 3"
        ],
    ),
    "no domains at all (too_short)": (
        edited("domains: [acme.com, acme.io]", "domains: []"),
        ["{p}:6: spec.domains: must not be an empty list"],
    ),
    "one domain where a list belongs (tuple_type)": (
        edited("domains: [acme.com, acme.io]", "domains: acme.com"),
        ["{p}:6: spec.domains: expected a list, got a string 'acme.com'"],
    ),
    "a person written as a bare email (model_type)": (
        edited("- email: bob@acme.io", "- bob@acme.io"),
        [
            "{p}:21: spec.organizations[0].members[1]: expected a mapping, got a string "
            "'bob@acme.io'"
        ],
    ),
    "a key that is a number (invalid_key)": (
        edited("  name: acme", "  name: acme\n  7: seven"),
        ["{p}:5: metadata.7: a key must be text, got a number 7"],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rejection_names_file_line_and_key(case: str, write_spec) -> None:
    text, expected = CASES[case]
    path = write_spec(text)
    assert problems_of(path) == [line.format(p=path) for line in expected]


@pytest.mark.parametrize("case", PLAIN_WORDS)
def test_each_kind_of_field_error_is_said_in_plain_words(case: str, write_spec) -> None:
    text, expected = PLAIN_WORDS[case]
    path = write_spec(text)
    assert problems_of(path) == [line.format(p=path) for line in expected]


def test_the_yaml_syntax_error_line_matches_what_the_parser_reports(write_spec) -> None:
    # The fast parser reports unclosed brackets where the document ends; the message keeps
    # its line so editors can jump there.
    path = write_spec("a: [1, 2\nb: 3\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:")
    assert "YAML syntax error" in problem


def test_several_problems_are_reported_at_once(write_spec) -> None:
    text = edited("role: admin", "role: root").replace("bob@acme.io", "bob@")
    text = text.replace("apiVersion: insomnia-sso/v1", "apiVersion: v1")
    path = write_spec(text)
    lines = problems_of(path)
    assert [line.split(": ", 2)[1] for line in lines] == [
        "apiVersion",
        "spec.organizations[0].members[0].role",
        "spec.organizations[0].members[1].email",
    ]


def test_cross_field_problems_are_reported_together(write_spec) -> None:
    text = edited("domainIdentifier: acme.com", "domainIdentifier: acme.org")
    text = text.replace("bob@acme.io", "bob@gmail.com")
    assert len(problems_of(write_spec(text))) == 2


def test_field_and_cross_field_problems_come_out_in_one_run(write_spec) -> None:
    # The first hour's five mistakes: three in fields, two between fields. A wrong
    # maxFraction must not hide the domainIdentifier or the email outside the domains.
    text = edited("domainIdentifier: acme.com", "domainIdentifier: acme.org")
    text = text.replace("role: admin", "rol: admin").replace("bob@acme.io", "bob@gmail.com")
    text += "        - email: carol@acme.com\n          role: boss\n"
    text += "  prune:\n    maxFraction: 1.5\n"
    path = write_spec(text)
    assert problems_of(path) == [
        f"{path}:9: spec.sso.domainIdentifier: domainIdentifier 'acme.org' is not one of the "
        "claimed domains (acme.com, acme.io)",
        f"{path}:20: spec.organizations[0].members[0].rol: unknown key 'rol' (did you mean "
        "'role'?)",
        f"{path}:21: spec.organizations[0].members[1].email: 'bob@gmail.com' is not in a "
        "claimed domain (acme.com, acme.io)",
        f"{path}:23: spec.organizations[0].members[2].role: unknown role 'boss'; expected "
        "owner, admin or member",
        f"{path}:25: spec.prune.maxFraction: must be at most 1, got 1.5",
    ]


def test_a_value_that_did_not_parse_is_not_judged_again_by_the_cross_field_rules(
    write_spec,
) -> None:
    # A malformed email is not also "outside the domains"; a malformed domain leaves the rules
    # that need every domain unjudged rather than wrong; the person with a bad role is still
    # a duplicate.
    text = edited("- email: bob@acme.io", "- email: bob@@acme.io")
    text = text.replace("domains: [acme.com, acme.io]", "domains: [acme.com, 'acme io']")
    text += "        - email: Alice@acme.com\n          role: boss\n"
    path = write_spec(text)
    assert problems_of(path) == [
        f"{path}:6: spec.domains[1]: 'acme io' is not a valid domain name",
        f"{path}:21: spec.organizations[0].members[1].email: 'bob@@acme.io' is not a valid "
        "email address",
        f"{path}:22: spec.organizations[0].members[2].email: duplicate member 'alice@acme.com' "
        "in organization 'platform'",
        f"{path}:23: spec.organizations[0].members[2].role: unknown role 'boss'; expected "
        "owner, admin or member",
    ]


def test_the_cross_field_rules_read_what_parsed_under_either_key_name(write_spec) -> None:
    # populate_by_name: `domain_identifier` is accepted as well as `domainIdentifier`.
    text = edited("domainIdentifier: acme.com", "domain_identifier: acme.org")
    text += "  prune:\n    maxFraction: 2\n"
    lines = [line.split(": ", 1)[1] for line in problems_of(write_spec(text))]
    assert lines == [
        "spec.sso.domainIdentifier: domainIdentifier 'acme.org' is not one of the claimed "
        "domains (acme.com, acme.io)",
        "spec.prune.maxFraction: must be at most 1, got 2",
    ]


def test_an_alias_bomb_is_refused_fast_with_bounded_memory(write_spec) -> None:
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
    path = write_spec(bomb)
    tracemalloc.start()
    started = time.perf_counter()
    [problem] = problems_of(path)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problem == (
        f"{path}: YAML aliases expand past 200,000 nodes (refusing a possible alias bomb)"
    )
    # A billion "lol"s, had they been expanded; a refusal costs next to nothing.
    assert elapsed < 2.0
    assert peak < 50 * 1024 * 1024


def test_modest_alias_reuse_is_fine(write_spec) -> None:
    text = edited("  organizations:\n", "  organizations:\n") + (
        "    - name: security\n      members: &sec\n        - email: carol@acme.com\n"
        "    - name: audit\n      members: *sec\n"
    )
    enterprise = load_file(write_spec(text))
    assert [org.name for org in enterprise.spec.organizations] == ["platform", "security", "audit"]


def test_an_oversized_document_is_refused_unread(write_spec, tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_SPEC_BYTES + 1)
    assert problems_of(path) == [
        f"{path}: file is {MAX_SPEC_BYTES + 1:,} bytes; specs are limited to {MAX_SPEC_BYTES:,}"
    ]


def test_non_utf8_bytes_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"apiVersion: insomnia-sso/v1\nkind: Enterpr\xefse\n")
    assert problems_of(path) == [f"{path}:2: not UTF-8 text"]


def test_one_enterprise_in_two_files_is_refused(write_spec) -> None:
    first = write_spec(MINIMAL, "a.yaml")
    write_spec(MINIMAL, "b.yaml")
    with pytest.raises(SpecError) as caught:
        load_specs([first.parent])
    assert str(caught.value) == f"{first.parent / 'b.yaml'}: enterprise 'acme' is also in {first}"


def test_a_missing_path_and_an_empty_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file or folder"):
        load_specs([tmp_path / "nope.yaml"])
    with pytest.raises(SpecError, match=r"no \*\.yaml spec files in this folder"):
        load_specs([tmp_path])


def test_two_organizations_cannot_share_a_team_name(write_spec) -> None:
    path = write_spec(
        MINIMAL.replace(
            "  organizations:\n",
            "  organizations:\n    - name: qa\n      teams: {member: platform-admins}\n",
        )
    )
    with pytest.raises(SpecError) as caught:
        load_file(path)
    assert str(caught.value) == (
        f"{path}:19: spec.organizations[1]: team name 'platform-admins' is also the team "
        "of qa members: names are unique"
    )


def test_one_person_has_one_name_across_organizations(write_spec) -> None:
    path = write_spec(
        MINIMAL.replace("- email: bob@acme.io", "- email: bob@acme.io\n          givenName: Bob")
        + "    - name: qa\n      members:\n        - email: bob@acme.io\n          givenName: Rob\n"
    )
    with pytest.raises(SpecError) as caught:
        load_file(path)
    assert "givenName: 'bob@acme.io' has another name in another organization" in str(caught.value)
