"""What `plan` prints: the JSON contract, the Terraform-like text, and Markdown for PRs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import run

UNVERIFIED = (
    "domain acme.com is not verified yet: add Insomnia's DNS TXT record; "
    "SSO logins fail until it is"
)


@pytest.fixture
def changed_spec(
    write_spec: Callable[..., Path], spec: Path, store_url: str, outputs: Path
) -> Path:
    """After a first apply: alice demoted, carol gone, dave added (one of each symbol)."""
    assert run("apply", spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0
    return write_spec(
        {"platform": ["alice@acme.com", "bob@acme.io", "dave@acme.com"], "payments": []}
    )


class TestJson:
    def test_is_exactly_the_documented_shape(
        self, write_spec: Callable[..., Path], store_url: str, outputs: Path
    ) -> None:
        spec = write_spec({"platform": ["alice@acme.com:admin"]}, domains=["acme.com"])

        result = run(
            "plan", spec, "--store", store_url, "--okta-outputs", outputs, "--format", "json"
        )

        assert result.exit_code == 2
        assert json.loads(result.stdout) == {
            "format_version": 1,
            "enterprise": "acme",
            "changes": [
                {
                    "action": "create",
                    "kind": "enterprise",
                    "key": "acme",
                    "before": None,
                    "after": {"name": "acme"},
                },
                {
                    "action": "create",
                    "kind": "domain",
                    "key": "acme.com",
                    "before": None,
                    "after": {"name": "acme.com", "verified": False},
                },
                {
                    "action": "create",
                    "kind": "sso_connection",
                    "key": "acme",
                    "before": None,
                    "after": {
                        "type": "oidc",
                        "domain_identifier": "acme.com",
                        "sso_url": "https://insomnia-dev.us.auth0.com/login/callback",
                        "client_id": "0oaCLIENT0001",
                        "issuer": "https://acme.okta.com/oauth2/aus0001",
                        "client_secret": "(sensitive)",
                    },
                },
                {
                    "action": "create",
                    "kind": "organization",
                    "key": "platform",
                    "before": None,
                    "after": {"name": "platform"},
                },
                {
                    "action": "create",
                    "kind": "invitation",
                    "key": "platform/alice@acme.com",
                    "before": None,
                    "after": {
                        "organization": "platform",
                        "email": "alice@acme.com",
                        "role": "admin",
                        "status": "pending",
                    },
                },
            ],
            "summary": {"create": 5, "update": 0, "delete": 0},
        }

    def test_stdout_is_only_json_and_warnings_go_to_stderr(
        self, changed_spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run(
            "plan", changed_spec, "--store", store_url, "--okta-outputs", outputs,
            "--format", "json",
        )  # fmt: skip
        plan = json.loads(result.stdout)  # the whole of stdout parses
        assert plan["summary"] == {"create": 1, "update": 1, "delete": 1}
        assert result.stderr == (
            f"warning: {UNVERIFIED}\n"
            "warning: 1 person in the spec is not assigned in Okta yet (dave@acme.com); "
            "run `pulumi up` first or they cannot log in\n"
        )

    def test_updates_and_deletes_carry_before_and_after(
        self, changed_spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run(
            "plan", changed_spec, "--store", store_url, "--okta-outputs", outputs,
            "--format", "json",
        )  # fmt: skip
        assert json.loads(result.stdout)["changes"] == [
            {
                "action": "update",
                "kind": "invitation",
                "key": "platform/alice@acme.com",
                "before": {"role": "admin", "status": "pending"},
                "after": {"role": "member", "status": "pending"},
            },
            {
                "action": "create",
                "kind": "invitation",
                "key": "platform/dave@acme.com",
                "before": None,
                "after": {
                    "organization": "platform",
                    "email": "dave@acme.com",
                    "role": "member",
                    "status": "pending",
                },
            },
            {
                "action": "delete",
                "kind": "invitation",
                "key": "payments/carol@acme.com",
                "before": {
                    "organization": "payments",
                    "email": "carol@acme.com",
                    "role": "member",
                    "status": "pending",
                },
                "after": None,
            },
        ]

    def test_no_changes_is_an_empty_list_and_exit_0(
        self, spec: Path, store_url: str, outputs: Path
    ) -> None:
        run("apply", spec, "--store", store_url, "--okta-outputs", outputs)
        result = run(
            "plan", spec, "--store", store_url, "--okta-outputs", outputs, "--format", "json"
        )
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {
            "format_version": 1,
            "enterprise": "acme",
            "changes": [],
            "summary": {"create": 0, "update": 0, "delete": 0},
        }


class TestText:
    def test_shows_plus_tilde_minus_lines_warnings_and_the_summary(
        self, changed_spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run("plan", changed_spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 2
        assert result.stdout.splitlines() == [
            "Enterprise acme: apply will make these changes:",
            "",
            "  ~ invitation platform/alice@acme.com  (role: admin → member)",
            "  + invitation platform/dave@acme.com  (role member)",
            "  - invitation payments/carol@acme.com",
            "",
            f"  ! {UNVERIFIED}",
            "  ! 1 person in the spec is not assigned in Okta yet (dave@acme.com); "
            "run `pulumi up` first or they cannot log in",
            "",
            "Plan: 1 to create, 1 to update, 1 to delete.",
        ]
        assert result.stderr == ""

    def test_a_first_plan_lists_the_sso_connection_attributes(
        self, spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run("plan", spec, "--store", store_url, "--okta-outputs", outputs)
        assert "\n".join(result.stdout.splitlines()[5:12]) == "\n".join(
            [
                "  + sso_connection acme",
                "      type              = oidc",
                "      domain_identifier = acme.com",
                "      sso_url           = https://insomnia-dev.us.auth0.com/login/callback",
                "      client_id         = 0oaCLIENT0001",
                "      issuer            = https://acme.okta.com/oauth2/aus0001",
                "      client_secret     = (sensitive)",
            ]
        )
        assert result.stdout.endswith("\nPlan: 9 to create, 0 to update, 0 to delete.\n")

    def test_no_changes(self, spec: Path, store_url: str, outputs: Path) -> None:
        run("apply", spec, "--store", store_url, "--okta-outputs", outputs)
        result = run("plan", spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 0
        assert result.stdout.startswith("No changes. Enterprise acme matches the spec.\n")
        assert result.stdout.endswith("\nPlan: 0 to create, 0 to update, 0 to delete.\n")


class TestMarkdown:
    def test_leads_with_the_summary_then_a_collapsed_table(
        self, changed_spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run(
            "plan", changed_spec, "--store", store_url, "--okta-outputs", outputs,
            "--format", "markdown",
        )  # fmt: skip
        assert result.exit_code == 2
        lines = result.stdout.splitlines()
        assert lines[:3] == [
            "### insomnia-sso plan: `acme`",
            "",
            "**Plan: 1 to create, 1 to update, 1 to delete.**",
        ]
        assert lines[-9:] == [
            "<details><summary>Changes</summary>",
            "",
            "| | kind | key | detail |",
            "|---|---|---|---|",
            "| ~ | invitation | `platform/alice@acme.com` | (role: admin → member) |",
            "| + | invitation | `platform/dave@acme.com` | (role member) |",
            "| - | invitation | `payments/carol@acme.com` |  |",
            "",
            "</details>",
        ]

    def test_drift_titles_its_report(self, spec: Path, store_url: str) -> None:
        result = run("drift", spec, "--store", store_url, "--format", "markdown")
        assert result.exit_code == 2
        assert result.stdout.startswith(
            "### insomnia-sso drift: `acme`\n\n**Plan: 9 to create, 0 to update, 0 to delete.**\n"
        )
