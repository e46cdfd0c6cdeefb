"""What `plan` prints: the JSON contract, the Terraform-like text, and Markdown for PRs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import confirm_all, run


@pytest.fixture
def changed_spec(
    write_spec: Callable[..., Path],
    write_outputs: Callable[..., Path],
    spec: Path,
    store_url: str,
    outputs: Path,
) -> Path:
    """After a first apply: alice demoted, carol gone, dave added (one of each symbol), and
    `pulumi up` run, so Okta lets dave in."""
    assert (
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0
    )
    confirm_all(spec, store_url, outputs)
    people = ["alice@acme.com", "bob@acme.io", "carol@acme.com", "dave@acme.com"]
    write_outputs(assigned_users=people)
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
            "manual_steps": [
                {
                    "kind": "domain",
                    "key": "acme.com",
                    "after": {"domain": "acme.com", "txt": "<the TXT value Insomnia shows>"},
                    "instructions": "Insomnia › Enterprise Controls › Domains › Add Domain: "
                    "enter acme.com; publish the TXT record Insomnia shows in acme.com's DNS "
                    "zone; click Verify. Then: insomnia-sso confirm domain acme.com --txt "
                    "'<the TXT value>'",
                },
                {
                    "kind": "sso_connection",
                    "key": "acme",
                    "after": {
                        "type": "oidc",
                        "domain_identifier": "acme.com",
                        "sso_url": "https://insomnia-dev.us.auth0.com/login/callback",
                        "client_id": "0oaCLIENT0001",
                        "issuer": "https://acme.okta.com/oauth2/aus0001",
                        "client_secret": f"copy client_secret from {outputs} and paste it",
                    },
                    "instructions": "Insomnia › Enterprise Controls › SSO Connection (the page "
                    "that showed the SSO URL the spec's sso.ssoUrl holds; create the connection "
                    "there first if there is none): choose OpenID Connect, enter the client id, "
                    "the client secret and the issuer below, with the domain identifier; check "
                    "the SSO URL matches the one Insomnia shows. Then: insomnia-sso confirm "
                    "sso_connection acme (with the same --stack or --okta-outputs as now)",
                },
                {
                    "kind": "organization",
                    "key": "platform",
                    "after": {"organization": "platform"},
                    "instructions": "Insomnia › Enterprise Controls › Organizations › New "
                    "organization (Owner or Co-owner only): name it platform. Then: "
                    "insomnia-sso confirm organization platform",
                },
            ],
            "waiting_for_okta": [],
            "unmanaged_access": [],
            "refusals": [],
            "summary": {"create": 1, "update": 0, "delete": 0, "waiting": 0, "manual": 3},
        }

    def test_stdout_is_only_json_and_warnings_go_to_stderr(
        self, changed_spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run(
            "plan", changed_spec, "--store", store_url, "--okta-outputs", outputs,
            "--format", "json",
        )  # fmt: skip
        plan = json.loads(result.stdout)  # the whole of stdout parses
        assert plan["summary"] == {
            "create": 1,
            "update": 1,
            "delete": 1,
            "waiting": 0,
            "manual": 0,  # what is recorded becomes a step: after apply (see the story)
        }
        assert result.stderr == ""
        text = run("plan", changed_spec, "--store", store_url, "--format", "json")
        assert text.stderr == (
            "warning: no Okta outputs given (--okta-outputs or --stack): nobody is checked "
            "against Okta's assignments, so people who cannot sign in yet are not held back\n"
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

    def test_nothing_to_do_is_empty_lists_and_exit_0(
        self, spec: Path, store_url: str, outputs: Path
    ) -> None:
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
        confirm_all(spec, store_url, outputs)
        result = run(
            "plan", spec, "--store", store_url, "--okta-outputs", outputs, "--format", "json"
        )
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {
            "format_version": 1,
            "enterprise": "acme",
            "changes": [],
            "manual_steps": [],
            "waiting_for_okta": [],
            "unmanaged_access": [],
            "refusals": [],
            "summary": {"create": 0, "update": 0, "delete": 0, "waiting": 0, "manual": 0},
        }


class TestText:
    def test_shows_plus_tilde_minus_lines_warnings_and_the_summary(
        self, changed_spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run("plan", changed_spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 2
        assert result.stdout.splitlines() == [
            "Enterprise acme: apply will record these in the ledger; nothing is sent to Insomnia "
            "(send the invitations from Insomnia's web UI):",
            "",
            "  ~ invitation platform/alice@acme.com  (role: admin → member)",
            "  + invitation platform/dave@acme.com  (role member)",
            "  - invitation payments/carol@acme.com",
            "",
            "Plan: 1 to create, 1 to update, 1 to delete, 0 manual steps.",
        ]
        assert result.stderr == ""

    def test_a_first_plan_lists_the_manual_steps_numbered_with_their_values(
        self, spec: Path, store_url: str, outputs: Path
    ) -> None:
        result = run("plan", spec, "--store", store_url, "--okta-outputs", outputs)
        lines = result.stdout.splitlines()
        start = lines.index("Manual steps, in Insomnia's web UI (confirm each one when done):")
        assert lines[start + 2].startswith("  1. domain acme.com")
        sso = lines.index("  3. sso_connection acme")
        assert lines[sso + 2 : sso + 8] == [
            "       type              = oidc",
            "       domain_identifier = acme.com",
            "       sso_url           = https://insomnia-dev.us.auth0.com/login/callback",
            "       client_id         = 0oaCLIENT0001",
            "       issuer            = https://acme.okta.com/oauth2/aus0001",
            f"       client_secret     = copy client_secret from {outputs} and paste it",
        ]
        assert result.stdout.endswith(
            "\nPlan: 3 to create, 0 to update, 0 to delete, 5 manual steps.\n"
        )

    def test_nothing_to_do(self, spec: Path, store_url: str, outputs: Path) -> None:
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
        confirm_all(spec, store_url, outputs)
        result = run("plan", spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 0
        assert result.stdout.startswith("No changes. Enterprise acme's people match the spec.\n")
        assert result.stdout.endswith(
            "\nPlan: 0 to create, 0 to update, 0 to delete, 0 manual steps.\n"
        )


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
            "**Plan: 1 to create, 1 to update, 1 to delete, 0 manual steps.**",
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
            "### insomnia-sso drift: `acme`\n\n"
            "**Plan: 3 to create, 0 to update, 0 to delete, 5 manual steps.**\n"
        )
