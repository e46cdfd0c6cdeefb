"""A record made by the version before team ids were kept, beside the teams it made then.

The earlier version marked its teams with an externalId and kept no SCIM ids. Its record
upgrades on the first apply, which finds those teams by name and records them: nothing is
made twice, and the next plan has nothing to do.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import run
from tests.scim_peer import TOKEN, Tenant

FIXTURE = Path(__file__).resolve().parent.parent / "stores" / "fixtures" / "schema2.db"
PEOPLE = {"platform": ["alice@acme.com:admin", "bob@acme.io", "carol@acme.com"]}


def seed_as_the_earlier_version_did(tenant: Tenant) -> None:
    with tenant.raw() as raw:
        ids = {
            email: raw.post(
                "/Users", json={"userName": email, "externalId": email, "active": True}
            ).json()["id"]
            for email in ("alice@acme.com", "bob@acme.io", "carol@acme.com")
        }
        for role, members in (
            ("admin", ["alice@acme.com"]),
            ("member", ["bob@acme.io", "carol@acme.com"]),
        ):
            raw.post(
                "/Groups",
                json={
                    "displayName": f"platform-{role}s",
                    "externalId": f"insomnia-sso:acme:platform:{role}",
                    "members": [{"value": ids[m]} for m in members],
                },
            ).raise_for_status()


def test_the_first_apply_upgrades_the_record_and_adopts_its_teams_by_name(
    full_tenant: Tenant,
    write_spec: Callable[..., Path],
    tmp_path: Path,
    outputs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)
    record = tmp_path / "record" / "state.db"
    record.parent.mkdir()
    shutil.copy(FIXTURE, record)
    seed_as_the_earlier_version_did(full_tenant)
    spec = write_spec(PEOPLE)
    sides = ("--scim", full_tenant.url, "--store", f"sqlite:///{record}", "--okta-outputs", outputs)

    applied = run("apply", "--yes", spec, *sides, "--format", "json")
    assert applied.exit_code == 0, applied.output
    changes = [(c["action"], c["kind"], c["key"]) for c in json.loads(applied.stdout)["changes"]]
    assert changes == [
        ("update", "team", "platform-admins"),
        ("update", "team", "platform-members"),
    ]
    assert full_tenant.group_names() == {"platform-admins": 1, "platform-members": 1}

    again = run("plan", spec, *sides, "--format", "json")
    assert json.loads(again.stdout)["changes"] == []
    assert full_tenant.user_names() == {"alice@acme.com": 1, "bob@acme.io": 1, "carol@acme.com": 1}
