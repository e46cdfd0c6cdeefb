"""The CLI end to end against a server that serves only what Okta's SCIM client sends.

What DESIGN calls done for the Okta profile: from a fresh record, `plan`, `apply` and
`confirm` work with no request refused, teams are never made twice, a role change never
leaves anyone outside their organization, and the plan asks for each organization.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.cli.conftest import run, tables
from tests.directory.fault_proxy import Fault, FaultProxy
from tests.strict_scim import TOKEN, StrictScim

TEAM = {"platform": ["alice@acme.com:admin", "bob@acme.io"], "payments": ["carol@acme.com"]}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)
    monkeypatch.delenv("INSOMNIA_SSO_SCIM_PROFILE", raising=False)


def sso(url: str, store_url: str, outputs: Path, command: str, *args: object) -> Result:
    return run(command, *args, "--scim", url, "--store", store_url, "--okta-outputs", outputs)


def test_plan_apply_confirm_with_nothing_outside_the_profile(
    strict: StrictScim, write_spec: Callable[..., Path], store_url: str, outputs: Path
) -> None:
    spec = write_spec(TEAM)
    planned = sso(strict.url, store_url, outputs, "plan", spec, "--format", "json")
    assert planned.exit_code == 2, planned.output
    steps = [(s["kind"], s["key"]) for s in json.loads(planned.stdout)["manual_steps"]]
    assert steps[3:] == [
        ("organization", "platform"),
        ("team_link", "platform-admins"),
        ("team_link", "platform-members"),
        ("organization", "payments"),
        ("team_link", "payments-members"),
    ]

    applied = sso(strict.url, store_url, outputs, "apply", "--yes", spec)
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 9 change(s) made in Insomnia through SCIM (6 request(s))." in (
        applied.stdout
    )
    again = sso(strict.url, store_url, outputs, "plan", spec, "--format", "json")
    assert json.loads(again.stdout)["changes"] == []

    for kind, key in steps[3:]:
        confirmed = sso(strict.url, store_url, outputs, "confirm", kind, key, spec)
        assert confirmed.exit_code == 0, confirmed.output

    promoted = write_spec({**TEAM, "platform": ["alice@acme.com:admin", "bob@acme.io:admin"]})
    strict.history.clear()
    moved = sso(strict.url, store_url, outputs, "apply", "--yes", promoted)
    assert moved.exit_code == 0, moved.output
    assert "Apply complete: 3 change(s) made in Insomnia through SCIM" in moved.stdout
    assert strict.teams() == {
        "platform-admins": {"alice@acme.com", "bob@acme.io"},
        "payments-members": {"carol@acme.com"},
    }
    for _request, snapshot in strict.history:
        assert "bob@acme.io" in snapshot.get("platform-admins", set()) | snapshot.get(
            "platform-members", set()
        )

    status = sso(strict.url, store_url, outputs, "status", promoted, "--format", "json")
    assert {p["stage"] for p in json.loads(status.stdout)["people"]} == {"has access"}
    assert strict.violations == []
    assert sorted(strict.group_names()) == ["payments-members", "platform-admins"]


def test_a_team_link_is_confirmed_by_the_team_the_record_knows_even_renamed(
    strict: StrictScim, write_spec: Callable[..., Path], store_url: str, outputs: Path
) -> None:
    spec = write_spec(TEAM)
    assert sso(strict.url, store_url, outputs, "apply", "--yes", spec).exit_code == 0
    [gid] = [i for i, g in strict.groups.items() if g["displayName"] == "payments-members"]
    strict.groups[gid]["displayName"] = "Payments"  # someone renamed it in Insomnia
    done = sso(strict.url, store_url, outputs, "confirm", "team_link", "payments-members", spec)
    assert done.exit_code == 0, done.output
    planned = sso(strict.url, store_url, outputs, "plan", spec, "--format", "json")
    renames = [c for c in json.loads(planned.stdout)["changes"] if c["kind"] == "team"]
    assert [(c["action"], c["key"], c["before"]["displayName"]) for c in renames] == [
        ("update", "payments-members", "Payments")
    ]
    assert sso(strict.url, store_url, outputs, "apply", "--yes", spec).exit_code == 0
    assert "payments-members" in strict.group_names()
    assert strict.violations == []


def test_a_write_the_server_redirects_is_failed_in_output_and_journal(
    strict: StrictScim, write_spec: Callable[..., Path], store_url: str, outputs: Path, db: Path
) -> None:
    spec = write_spec(TEAM)
    assert sso(strict.url, store_url, outputs, "apply", "--yes", spec).exit_code == 0
    grown = write_spec({**TEAM, "payments": ["carol@acme.com", "bob@acme.io"]})
    with FaultProxy(strict.url) as proxy:
        proxy.add(Fault("PATCH", "/Groups/", "redirect", status=307, times=99))
        result = sso(proxy.url, store_url, outputs, "apply", "--yes", grown)
    assert result.exit_code == 1
    assert "Apply incomplete: 0 change(s) made in Insomnia through SCIM, 1 failed" in result.stdout
    assert "  failed: team_member payments-members/bob@acme.io: PATCH /Groups/" in result.stdout
    journal = [row for row in tables(db)["journal"] if row[6] == "payments-members/bob@acme.io"]
    assert [(row[4], row[7]) for row in journal] == [("create", "failed")]
    assert "redirected (307)" in journal[0][8]
    assert strict.teams()["payments-members"] == {"carol@acme.com"}  # as the journal says
    assert (
        sso(strict.url, store_url, outputs, "apply", "--yes", grown).exit_code == 0
    )  # healthy: converges
    assert strict.teams()["payments-members"] == {"bob@acme.io", "carol@acme.com"}
