"""The story `make demo` tells: plan, pulumi up, apply, people accept, status, in sync.

Also where the Okta half's outputs come from (a file, `--stack`, or not yet), and the ways
of naming the store and running the tool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import confirm_all, outputs_json, run

RECORDED = (
    "Apply complete: {n} change(s) recorded in the ledger. Nothing was sent to Insomnia: send "
    "the invitations from Insomnia's web UI, then record each acceptance with "
    "`insomnia-sso confirm invitation ORG/EMAIL`."
)


def test_from_first_plan_to_everyone_onboarded(spec: Path, store_url: str, outputs: Path) -> None:
    okta = ("--store", store_url, "--okta-outputs", outputs)

    first = run("plan", spec, *okta)
    assert first.exit_code == 2
    assert first.stdout.endswith("Plan: 3 to create, 0 to update, 0 to delete, 5 manual steps.\n")

    applied = run("apply", "--yes", spec, *okta)
    assert applied.exit_code == 0
    assert applied.stdout.splitlines()[-2:] == [
        RECORDED.format(n=3),
        "5 manual steps wait for an owner (listed above; `insomnia-sso confirm`).",
    ]

    assert run("store", "accept", "platform", "alice@acme.com", "--store", store_url).exit_code == 0
    accepted = run("confirm", "invitation", "payments/carol@acme.com", spec, *okta)
    assert accepted.stdout.startswith("Recorded: payments/carol@acme.com accepted")
    confirm_all(spec, store_url, outputs)

    status = run("status", spec, *okta, "--format", "json")
    assert status.exit_code == 0
    report = json.loads(status.stdout)
    assert report["enterprise"] == "acme"
    assert report["people"] == [
        {
            "organization": "platform",
            "email": "alice@acme.com",
            "role": "admin",
            "assigned_in_okta": True,
            "stage": "accepted",
        },
        {
            "organization": "platform",
            "email": "bob@acme.io",
            "role": "member",
            "assigned_in_okta": True,
            "stage": "invited",
        },
        {
            "organization": "payments",
            "email": "carol@acme.com",
            "role": "member",
            "assigned_in_okta": True,
            "stage": "accepted",
        },
    ]
    assert report["organizations"] == {
        "platform": {
            "people": 2,
            "assigned in okta": 2,
            "not invited": 0,
            "invited": 1,
            "expired": 0,
            "accepted": 1,
        },
        "payments": {
            "people": 1,
            "assigned in okta": 1,
            "not invited": 0,
            "invited": 0,
            "expired": 0,
            "accepted": 1,
        },
    }

    again = run("plan", spec, *okta)
    assert again.exit_code == 0
    assert again.stdout.startswith("No changes.")
    assert again.stdout.endswith("Plan: 0 to create, 0 to update, 0 to delete, 0 manual steps.\n")


def test_status_text_and_markdown_count_people_per_organization(
    spec: Path, store_url: str, outputs: Path
) -> None:
    run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
    run("store", "accept", "platform", "alice@acme.com", "--store", store_url)

    text = run("status", spec, "--store", store_url, "--okta-outputs", outputs)
    assert text.exit_code == 0
    assert text.stdout.splitlines()[-2:] == [
        "platform: 2 people: 2 assigned in okta, 0 not invited, 1 invited, 0 expired, 1 accepted",
        "payments: 1 people: 1 assigned in okta, 0 not invited, 1 invited, 0 expired, 0 accepted",
    ]
    markdown = run("status", spec, "--store", store_url, "--format", "markdown")
    assert markdown.exit_code == 0
    assert "| platform | 2 | 0 | 0 | 1 | 0 | 1 |" in markdown.stdout.splitlines()


def test_status_without_outputs_does_not_know_who_is_assigned_in_okta(
    spec: Path, store_url: str
) -> None:
    result = run("status", spec, "--store", store_url, "--format", "json")
    assert [
        (p["email"], p["assigned_in_okta"], p["stage"]) for p in json.loads(result.stdout)["people"]
    ] == [
        ("alice@acme.com", None, "not invited"),
        ("bob@acme.io", None, "not invited"),
        ("carol@acme.com", None, "not invited"),
    ]


class TestBeforePulumiUp:
    def test_plan_shows_okta_values_as_known_after_pulumi_up(
        self, spec: Path, store_url: str
    ) -> None:
        result = run("plan", spec, "--store", store_url, "--format", "json")
        [sso] = [
            s for s in json.loads(result.stdout)["manual_steps"] if s["kind"] == "sso_connection"
        ]
        assert sso["after"] == {
            "type": "oidc",
            "domain_identifier": "acme.com",
            "sso_url": "https://insomnia-dev.us.auth0.com/login/callback",
            "client_id": "(known after pulumi up)",
            "issuer": "(known after pulumi up)",
            "client_secret": "(known after pulumi up)",
        }

    def test_the_sso_connection_cannot_be_confirmed_until_outputs_are_given(
        self, spec: Path, store_url: str, outputs: Path
    ) -> None:
        early = run("apply", "--yes", spec, "--store", store_url)
        assert early.exit_code == 0
        assert early.stdout.splitlines()[-2] == RECORDED.format(n=3)
        too_early = run("confirm", "sso_connection", "acme", spec, "--store", store_url)
        assert too_early.exit_code == 1
        assert too_early.stderr == (
            "error: the sso_connection values are not known yet: confirm with the Okta outputs "
            "you entered (--okta-outputs FILE or --stack NAME)\n"
        )

        okta = ("--store", store_url, "--okta-outputs", outputs)
        waiting = run("plan", spec, *okta, "--format", "json")
        assert waiting.exit_code == 2
        assert json.loads(waiting.stdout)["changes"] == []
        [sso] = [
            s for s in json.loads(waiting.stdout)["manual_steps"] if s["kind"] == "sso_connection"
        ]
        assert sso["after"]["client_id"] == "0oaCLIENT0001"
        assert sso["after"]["client_secret"] == (
            "run `pulumi stack output --show-secrets client_secret` and paste it"
        )
        done = run("confirm", "sso_connection", "acme", spec, *okta)
        assert done.stdout == (
            "Recorded: sso_connection acme confirmed as done in Insomnia (the record only; this "
            "command changes nothing in Insomnia).\n"
        )

        # Later runs without outputs (a scheduled drift check) do not reopen it.
        for command in ("plan", "drift"):
            later = run(command, spec, "--store", store_url, "--format", "json")
            assert [s["kind"] for s in json.loads(later.stdout)["manual_steps"]] == [
                "domain",
                "domain",
                "organization",
                "organization",
            ]


class TestStackOutputs:
    """`--stack NAME` runs `pulumi stack output --json --show-secrets --stack NAME`."""

    @pytest.fixture
    def fake_pulumi(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str) -> Path:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        script = bin_dir / "pulumi"
        outputs = json.dumps(outputs_json(secret))
        script.write_text(
            "#!/bin/sh\n"
            'echo "$@" > "$(dirname "$0")/argv"\n'
            'if [ "$6" = acme-prod ]; then\n'
            f"  echo '{outputs}'\n"
            "else\n"
            "  echo \"error: no stack named '$6' found\" >&2; exit 255\n"
            "fi\n"
        )
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        return bin_dir

    def test_reads_the_outputs_from_the_pulumi_cli(
        self, fake_pulumi: Path, spec: Path, store_url: str
    ) -> None:
        result = run("plan", spec, "--store", store_url, "--stack", "acme-prod")
        assert result.exit_code == 2
        assert "      client_id         = 0oaCLIENT0001\n" in result.stdout
        assert (fake_pulumi / "argv").read_text() == (
            "stack output --json --show-secrets --stack acme-prod\n"
        )

    def test_a_failing_pulumi_cli_is_a_one_line_error(
        self, fake_pulumi: Path, spec: Path, store_url: str, db: Path
    ) -> None:
        result = run("apply", "--yes", spec, "--store", store_url, "--stack", "acme-dev")
        assert result.exit_code == 1
        assert result.stderr == (
            "error: pulumi stack output --stack acme-dev failed: "
            "error: no stack named 'acme-dev' found\n"
        )
        assert not db.exists()


def test_the_same_spec_named_twice_is_one_enterprise(spec: Path, store_url: str) -> None:
    result = run("plan", spec, spec.parent, "--store", store_url)
    assert result.exit_code == 2, result.stderr
    assert result.stdout.startswith("Enterprise acme: apply will record these in the ledger;")


def test_the_store_can_come_from_insomnia_sso_store(
    spec: Path, store_url: str, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_STORE", store_url)
    assert run("apply", "--yes", spec).exit_code == 0
    assert db.exists()
    assert run("store", "accept", "platform", "alice@acme.com").exit_code == 0
    assert not Path(".insomnia-sso").exists()  # the default store was never touched


def test_store_option_wins_over_the_environment(
    spec: Path, store_url: str, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_STORE", f"sqlite:///{tmp_path}/other.db")
    assert run("apply", "--yes", spec, "--store", store_url).exit_code == 0
    assert db.exists()
    assert not (tmp_path / "other.db").exists()


def test_without_store_the_default_is_under_dot_insomnia_sso(spec: Path, tmp_path: Path) -> None:
    assert run("apply", "--yes", spec).exit_code == 0
    assert (tmp_path / ".insomnia-sso" / "state.db").exists()


def test_python_dash_m_reconciler_is_the_same_cli(spec: Path, store_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(spec), "--store", store_url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == run("plan", spec, "--store", store_url).stdout
    usage = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--format", "yaml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.stderr.startswith("Usage: insomnia-sso plan [OPTIONS] [SPECS]...\n")


def test_a_long_apply_shows_progress_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.cli import terminal

    with terminal.write_progress() as quiet:
        assert quiet is None  # pipelines (no terminal) get no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with terminal.write_progress() as update:
        assert update is not None
        update(2000, 5000)
        update(5000, 5000)
    shown = capsys.readouterr().err
    assert "Applying" in shown
    assert "100%" in shown
