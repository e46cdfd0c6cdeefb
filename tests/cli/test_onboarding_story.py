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
from typing import Any

import pytest

from tests.cli.conftest import confirm_all, outputs_json, run

RECORDED = (
    "Apply complete: {n} change(s) recorded in the ledger. Nothing was sent to Insomnia: the "
    "plan lists each invitation to send (or revoke) from Insomnia's web UI; confirm them with "
    "`insomnia-sso confirm invitation KEY…`, and each acceptance with `insomnia-sso confirm "
    "acceptance KEY…`."
)
INVITATIONS = ["platform/alice@acme.com", "platform/bob@acme.io", "payments/carol@acme.com"]


def stages(spec: Path, *okta: object) -> dict[str, str]:
    people = json.loads(run("status", spec, *okta, "--format", "json").stdout)["people"]
    return {p["email"]: p["stage"] for p in people}


def test_from_first_plan_to_everyone_onboarded(spec: Path, store_url: str, outputs: Path) -> None:
    okta = ("--store", store_url, "--okta-outputs", outputs)

    first = run("plan", spec, *okta)
    assert first.exit_code == 2
    assert first.stdout.endswith("Plan: 3 to create, 0 to update, 0 to delete, 5 manual steps.\n")

    applied = run("apply", "--yes", spec, *okta)
    assert applied.exit_code == 0
    assert applied.stdout.splitlines()[-2:] == [
        RECORDED.format(n=3),
        "8 manual steps wait for an owner (`insomnia-sso plan` lists them; `insomnia-sso "
        "confirm`).",
    ]
    # recorded is not invited: nobody has sent anything yet, and the plan says what to send
    assert set(stages(spec, *okta).values()) == {"recorded"}
    todo = json.loads(run("plan", spec, *okta, "--format", "json").stdout)["manual_steps"]
    invites = [s for s in todo if s["kind"] == "invitation"]
    assert [s["key"] for s in invites] == ["platform/alice@acme.com", "platform/bob@acme.io",
                                           "payments/carol@acme.com"]  # fmt: skip
    assert invites[0]["after"] == {
        "organization": "platform",
        "email": "alice@acme.com",
        "role": "admin",
        "action": "send",
    }
    assert invites[0]["instructions"] == (
        "Insomnia › platform › Members › Invite: invite alice@acme.com as admin. Then: "
        "insomnia-sso confirm invitation platform/alice@acme.com"
    )

    sent = run("confirm", "invitation", *INVITATIONS, spec, *okta)
    assert sent.exit_code == 0, sent.output
    assert sent.stdout.splitlines()[0] == (
        "Recorded: invitation platform/alice@acme.com sent as admin in Insomnia (the record "
        "only; this command changes nothing there)."
    )
    assert set(stages(spec, *okta).values()) == {"sent"}

    assert run("store", "accept", "platform", "alice@acme.com", "--store", store_url).exit_code == 0
    accepted = run("confirm", "acceptance", "payments/carol@acme.com", spec, *okta)
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
            "next": "none: a member",
        },
        {
            "organization": "platform",
            "email": "bob@acme.io",
            "role": "member",
            "assigned_in_okta": True,
            "stage": "sent",
            "next": "they sign in with Okta, set their passphrase, accept; then confirm acceptance",
        },
        {
            "organization": "payments",
            "email": "carol@acme.com",
            "role": "member",
            "assigned_in_okta": True,
            "stage": "accepted",
            "next": "none: a member",
        },
    ]
    assert report["organizations"] == {
        "platform": {
            "people": 2,
            "assigned in okta": 2,
            "waiting for okta": 0,
            "not recorded": 0,
            "recorded": 0,
            "sent": 1,
            "expired": 0,
            "accepted": 1,
        },
        "payments": {
            "people": 1,
            "assigned in okta": 1,
            "waiting for okta": 0,
            "not recorded": 0,
            "recorded": 0,
            "sent": 0,
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
    assert text.stdout.splitlines()[-4:-2] == [
        "platform: 2 people: 2 assigned in okta, 0 waiting for okta, 0 not recorded, 1 recorded, "
        "0 sent, 0 expired, 1 accepted",
        "payments: 1 people: 1 assigned in okta, 0 waiting for okta, 0 not recorded, 1 recorded, "
        "0 sent, 0 expired, 0 accepted",
    ]
    assert text.stdout.splitlines()[-1].startswith("Each person's own part, last: sign in")
    markdown = run("status", spec, "--store", store_url, "--format", "markdown")
    assert markdown.exit_code == 0
    assert "| platform | 2 | 0 | 0 | 0 | 1 | 0 | 0 | 1 |" in markdown.stdout.splitlines()


def test_status_without_outputs_does_not_know_who_is_assigned_in_okta(
    spec: Path, store_url: str
) -> None:
    result = run("status", spec, "--store", store_url, "--format", "json")
    assert [
        (p["email"], p["assigned_in_okta"], p["stage"]) for p in json.loads(result.stdout)["people"]
    ] == [
        ("alice@acme.com", None, "not recorded"),
        ("bob@acme.io", None, "not recorded"),
        ("carol@acme.com", None, "not recorded"),
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
        assert sso["after"]["client_secret"] == f"copy client_secret from {outputs} and paste it"
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
                "invitation",
                "invitation",
                "organization",
                "invitation",
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
    assert usage.stderr.startswith("Usage: insomnia-sso plan [OPTIONS] [SPEC]\n")


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


def test_a_role_change_and_a_removal_become_steps_until_confirmed(
    spec: Path, write_spec: Any, store_url: str, outputs: Path
) -> None:
    okta = ("--store", store_url, "--okta-outputs", outputs)
    run("apply", "--yes", spec, *okta)
    assert run("confirm", "invitation", *INVITATIONS, spec, *okta).exit_code == 0
    changed = write_spec(
        {"platform": ["alice@acme.com:admin", "bob@acme.io:admin"], "payments": []}
    )
    assert run("apply", "--yes", changed, *okta).exit_code == 0
    todo = json.loads(run("plan", changed, *okta, "--format", "json").stdout)["manual_steps"]
    assert [
        (s["kind"], s["key"], s["instructions"]) for s in todo if s["kind"] == "invitation"
    ] == [
        (
            "invitation",
            "platform/bob@acme.io",
            "Insomnia › platform › Members › Invite: revoke the invitation sent as member, then "
            "invite bob@acme.io as admin. Then: insomnia-sso confirm invitation "
            "platform/bob@acme.io",
        ),
        (
            "invitation",
            "payments/carol@acme.com",
            "Insomnia › payments › Members › Pending invitations: revoke the one sent to "
            "carol@acme.com. Then: insomnia-sso confirm invitation payments/carol@acme.com",
        ),
    ]
    keys = "payments/carol@acme.com\nplatform/bob@acme.io\n"
    done = run("confirm", "invitation", "--keys-from", "-", changed, *okta, input=keys)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        "Recorded: invitation payments/carol@acme.com revoked in Insomnia (the record only; this "
        "command changes nothing there).",
        "Recorded: invitation platform/bob@acme.io sent as admin in Insomnia (the record only; "
        "this command changes nothing there).",
    ]
    after = json.loads(run("plan", changed, *okta, "--format", "json").stdout)
    assert [s for s in after["manual_steps"] if s["kind"] == "invitation"] == []
    assert stages(changed, *okta)["bob@acme.io"] == "sent"


def test_one_unknown_key_confirms_nothing(spec: Path, store_url: str, outputs: Path) -> None:
    okta = ("--store", store_url, "--okta-outputs", outputs)
    run("apply", "--yes", spec, *okta)
    result = run(
        "confirm", "invitation", "platform/bob@acme.io", "platform/zoe@acme.com", spec, *okta
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: enterprise 'acme' has no open invitation step 'platform/zoe@acme.com' (its open "
        "invitation steps: payments/carol@acme.com, platform/alice@acme.com, platform/bob@acme.io)"
    )
    assert set(stages(spec, *okta).values()) == {"recorded"}


def test_nobody_okta_does_not_let_in_is_invited(
    spec: Path, store_url: str, write_outputs: Any
) -> None:
    partial = write_outputs("partial.json", assigned_users=["alice@acme.com"])
    okta = ("--store", store_url, "--okta-outputs", partial)
    planned = run("plan", spec, *okta, "--format", "json")
    plan = json.loads(planned.stdout)
    assert [c["key"] for c in plan["changes"]] == ["platform/alice@acme.com"]
    assert [p["email"] for p in plan["waiting_for_okta"]] == ["bob@acme.io", "carol@acme.com"]
    text = run("plan", spec, *okta).stdout
    assert "Waiting for Okta (not assigned to the app yet: run pulumi up):" in text
    assert "  bob@acme.io (okta login bob@acme.io): platform" in text
    run("apply", "--yes", spec, *okta)
    assert stages(spec, *okta) == {
        "alice@acme.com": "recorded",
        "bob@acme.io": "waiting for okta",
        "carol@acme.com": "waiting for okta",
    }
    assert run("drift", spec, *okta).exit_code == 2  # while anyone waits
    everyone = write_outputs("all.json")
    released = run(
        "plan", spec, "--store", store_url, "--okta-outputs", everyone, "--format", "json"
    )
    assert [c["key"] for c in json.loads(released.stdout)["changes"]] == [
        "payments/carol@acme.com",
        "platform/bob@acme.io",
    ]
