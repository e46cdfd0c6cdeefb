"""People and teams reach Insomnia through SCIM: the CLI end to end against scim2-server.

Each test gets a fresh, empty tenant of a real scim2-server on loopback: full-featured,
spoken to in profile okta (the default), and, for the first story, one announcing neither
Bulk nor PATCH, spoken to in profile rfc7644. The record is a SQLite file; the spec is the
story's (platform: alice admin, bob; payments: carol).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.cli.conftest import run
from tests.directory.fault_proxy import Fault, FaultProxy
from tests.scim_peer import TOKEN, Tenant

TEAM_NAMES = {"platform-admins": 1, "platform-members": 1, "payments-members": 1}
PEOPLE = {"alice@acme.com": 1, "bob@acme.io": 1, "carol@acme.com": 1}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)


def sso(spec: Path, tenant: Tenant, store_url: str, outputs: Path, *args: str) -> Result:
    """`insomnia-sso COMMAND SPEC --scim URL --store … --okta-outputs …` (command first)."""
    command, *rest = args
    scim = ("--scim", tenant.url, "--store", store_url, "--okta-outputs", str(outputs))
    return run(command, spec, *scim, *rest)


def changes(result: Result) -> list[tuple[str, str, str]]:
    return [(c["action"], c["kind"], c["key"]) for c in json.loads(result.stdout)["changes"]]


def user(tenant: Tenant, email: str) -> dict[str, Any]:
    [found] = [u for u in tenant.listed("Users") if u["userName"].lower() == email]
    return found


def members(tenant: Tenant, team: str) -> set[str]:
    names = {u["id"]: u["userName"].lower() for u in tenant.listed("Users")}
    [group] = [g for g in tenant.listed("Groups") if g["displayName"] == team]
    return {names.get(m["value"], m["value"]) for m in group.get("members") or []}


def test_plan_apply_plan_puts_people_and_teams_in_insomnia(
    server: Tenant,
    spec: Path,
    store_url: str,
    outputs: Path,
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not server.full:  # no PATCH: Okta's client could not work with it; rfc7644 can
        monkeypatch.setenv("INSOMNIA_SSO_SCIM_PROFILE", "rfc7644")
    first = sso(spec, server, store_url, outputs, "plan", "--format", "json")
    assert first.exit_code == 2
    planned = json.loads(first.stdout)
    assert planned["summary"] == {"create": 9, "update": 0, "delete": 0, "waiting": 0, "manual": 8}
    assert [(s["kind"], s["key"]) for s in planned["manual_steps"]] == [
        ("domain", "acme.com"),
        ("domain", "acme.io"),
        ("sso_connection", "acme"),
        ("organization", "platform"),
        ("team_link", "platform-admins"),
        ("team_link", "platform-members"),
        ("organization", "payments"),
        ("team_link", "payments-members"),
    ]

    applied = sso(spec, server, store_url, outputs, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 9 change(s) made in Insomnia through SCIM" in applied.stdout
    assert applied.stdout.endswith(
        "8 manual steps wait for an owner (listed above; `insomnia-sso confirm`).\n"
    )
    assert server.user_names() == PEOPLE
    assert server.group_names() == TEAM_NAMES
    assert members(server, "platform-admins") == {"alice@acme.com"}
    assert user(server, "bob@acme.io")["externalId"] == "bob@acme.io"

    again = sso(spec, server, store_url, outputs, "plan", "--format", "json")
    assert changes(again) == []
    assert again.exit_code == 2  # the manual steps are still open

    # A second apply sends nothing new: no user or team twice.
    assert sso(spec, server, store_url, outputs, "apply", "--yes").exit_code == 0
    assert (server.user_names(), server.group_names()) == (PEOPLE, TEAM_NAMES)

    status = sso(spec, server, store_url, outputs, "status", "--format", "json")
    # in their teams, which no owner has linked yet: no access to the organizations yet
    assert {p["stage"] for p in json.loads(status.stdout)["people"]} == {"in team"}

    # The token is in no output and in no file of the record.
    record = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert TOKEN.encode() not in record
    assert TOKEN not in first.output + applied.output + again.output + status.output


def test_confirming_every_step_leaves_nothing_to_do(
    full_tenant: Tenant, spec: Path, store_url: str, outputs: Path
) -> None:
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    planned = json.loads(
        sso(spec, full_tenant, store_url, outputs, "plan", "--format", "json").stdout
    )
    for step in planned["manual_steps"]:
        done = run(
            "confirm", step["kind"], step["key"], spec, "--store", store_url,
            "--okta-outputs", outputs,
        )  # fmt: skip
        assert done.stdout.startswith(f"Recorded: {step['kind']} {step['key']} confirmed")
    drift = sso(spec, full_tenant, store_url, outputs, "drift")
    assert drift.exit_code == 0
    assert drift.stdout.endswith("Plan: 0 to create, 0 to update, 0 to delete, 0 manual steps.\n")


def test_a_team_link_is_confirmed_only_once_the_team_exists(
    full_tenant: Tenant, spec: Path, store_url: str, outputs: Path
) -> None:
    scim = ("--scim", full_tenant.url, "--store", store_url)
    early = run("confirm", "team_link", "platform-admins", spec, *scim)
    assert early.exit_code == 1
    assert early.stderr == (
        "error: team platform-admins is not in Insomnia yet (run apply first), so it cannot "
        "have been linked; nothing recorded\n"
    )
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    done = run("confirm", "team_link", "platform-admins", spec, *scim)
    assert done.stdout.startswith("Recorded: team_link platform-admins confirmed")


def test_an_existing_user_in_other_case_is_adopted_not_duplicated(
    full_tenant: Tenant, spec: Path, store_url: str, outputs: Path
) -> None:
    with full_tenant.raw() as raw:
        raw.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "Alice@ACME.com",
                "active": False,
            },
        ).raise_for_status()
    planned = sso(spec, full_tenant, store_url, outputs, "plan", "--format", "json")
    assert ("update", "user", "alice@acme.com") in changes(planned)
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    assert full_tenant.user_names() == PEOPLE
    adopted = user(full_tenant, "alice@acme.com")
    assert (adopted["active"], adopted["externalId"]) == (True, "alice@acme.com")


def hand_made(tenant: Tenant) -> None:
    """An unrelated user in a team made by hand, of a name the spec does not use."""
    with tenant.raw() as raw:
        zoe = raw.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "zoe@acme.com",
                "active": True,
            },
        ).json()
        raw.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "designers",
                "members": [{"value": zoe["id"]}],
            },
        ).raise_for_status()


def add_to_team(tenant: Tenant, team: str, email: str) -> None:
    """Someone adds a person to a managed team by hand, in Insomnia."""
    person = user(tenant, email)
    [group] = [g for g in tenant.listed("Groups") if g["displayName"] == team]
    with tenant.raw() as raw:
        raw.patch(
            f"/Groups/{group['id']}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": person["id"]}]}
                ],
            },
        ).raise_for_status()


def test_with_prune_a_leaver_is_dropped_and_deactivated_never_deleted_and_comes_back(
    full_tenant: Tenant,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
) -> None:
    everyone = {"platform": ["alice@acme.com:admin", "bob@acme.io"], "payments": ["carol@acme.com"]}
    spec = write_spec(everyone, prune=True, max_fraction=1.0)
    hand_made(full_tenant)
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    add_to_team(full_tenant, "platform-members", "zoe@acme.com")

    without_carol = write_spec(
        {"platform": ["alice@acme.com:admin", "bob@acme.io"], "payments": []},
        prune=True,
        max_fraction=1.0,
    )
    planned = sso(without_carol, full_tenant, store_url, outputs, "plan", "--format", "json")
    assert changes(planned) == [
        ("delete", "team_member", "payments-members/carol@acme.com"),
        ("delete", "team_member", "platform-members/zoe@acme.com"),
        ("delete", "team", "payments-members"),
        ("delete", "user", "carol@acme.com"),
    ]
    assert sso(without_carol, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    assert user(full_tenant, "carol@acme.com")["active"] is False  # deactivated, still there
    assert user(full_tenant, "zoe@acme.com")["active"] is True  # not ours: only dropped
    assert members(full_tenant, "platform-members") == {"bob@acme.io"}
    assert members(full_tenant, "designers") == {"zoe@acme.com"}  # a hand-made team
    assert "payments-members" not in full_tenant.group_names()

    spec = write_spec(everyone, prune=True, max_fraction=1.0)  # carol is back
    back = sso(spec, full_tenant, store_url, outputs, "plan", "--format", "json")
    assert ("update", "user", "carol@acme.com") in changes(back)  # reactivation
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    assert user(full_tenant, "carol@acme.com")["active"] is True
    assert full_tenant.user_names() == {**PEOPLE, "zoe@acme.com": 1}


def test_without_prune_leavers_stay_and_a_role_change_moves_teams_once_linked(
    full_tenant: Tenant, write_spec: Callable[..., Path], store_url: str, outputs: Path
) -> None:
    spec = write_spec()
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    changed = write_spec({"platform": ["alice@acme.com", "bob@acme.io:admin"], "payments": []})
    planned = sso(changed, full_tenant, store_url, outputs, "plan", "--format", "json")
    assert changes(planned) == [
        ("create", "team_member", "platform-admins/bob@acme.io"),
        ("create", "team_member", "platform-members/alice@acme.com"),
        ("delete", "team_member", "platform-admins/alice@acme.com"),
        ("delete", "team_member", "platform-members/bob@acme.io"),
    ]
    waits = [c.get("waiting_on") for c in json.loads(planned.stdout)["changes"]]
    assert waits == [None, None, "team_link platform-members", "team_link platform-admins"]
    assert json.loads(planned.stdout)["unmanaged_access"] == [
        {
            "organization": "payments",
            "email": "carol@acme.com",
            "role": "member",
            "team": "payments-members",
            "outcome": "stays: prune is off",
        }
    ]
    applied = sso(changed, full_tenant, store_url, outputs, "apply", "--yes")
    assert applied.exit_code == 0
    assert (
        "2 change(s) not carried out: they wait for team_link platform-admins, team_link "
        "platform-members (confirm, then apply again)."
    ) in applied.stdout
    # both stay in both teams until the teams they move into are linked
    assert members(full_tenant, "platform-admins") == {"alice@acme.com", "bob@acme.io"}
    for team in ("platform-admins", "platform-members"):
        confirmed = run("confirm", "team_link", team, changed, "--store", store_url)
        assert confirmed.exit_code == 0, confirmed.output
    assert sso(changed, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    assert members(full_tenant, "platform-admins") == {"bob@acme.io"}
    assert members(full_tenant, "platform-members") == {"alice@acme.com"}
    assert members(full_tenant, "payments-members") == {"carol@acme.com"}


def test_removing_more_than_max_fraction_is_refused_and_nothing_changes(
    full_tenant: Tenant, write_spec: Callable[..., Path], store_url: str, outputs: Path
) -> None:
    spec = write_spec(prune=True, max_fraction=0.1)
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    fewer = write_spec({"platform": ["alice@acme.com:admin"], "payments": ["carol@acme.com"]},
                       prune=True, max_fraction=0.1)  # fmt: skip
    # plan says what apply will refuse, in the same words, and exits 1.
    planned = sso(fewer, full_tenant, store_url, outputs, "plan", "--format", "json")
    assert planned.exit_code == 1
    assert [(r["reason"], r["organization"], r["removed"], r["current"], r["message"])
            for r in json.loads(planned.stdout)["refusals"]] == [
        ("mass_removal", None, 1, 3, "deactivate 1 of 3 managed user(s): more than "
         "prune.maxFraction (10%) of an organization at once"),
        ("mass_removal", "platform", 1, 2, "remove 1 of 2 member(s) from 'platform': more "
         "than prune.maxFraction (10%) of an organization at once"),
    ]  # fmt: skip
    allowed = sso(fewer, full_tenant, store_url, outputs, "plan", "--allow-mass-removal")
    assert allowed.exit_code == 2
    assert "Apply would refuse" not in allowed.stdout
    refused = sso(fewer, full_tenant, store_url, outputs, "apply", "--yes")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: refusing to deactivate 1 of 3 managed user(s); remove 1 of 2 member(s) from "
        "'platform': more than prune.maxFraction (10%) of an organization at once; nothing was "
        "changed. If this is intended, apply with --allow-mass-removal\n"
    )
    assert members(full_tenant, "platform-members") == {"bob@acme.io"}
    assert user(full_tenant, "bob@acme.io")["active"] is True


def test_a_short_page_is_a_partial_read_and_nobody_is_removed(
    full_tenant: Tenant, write_spec: Callable[..., Path], store_url: str, outputs: Path
) -> None:
    spec = write_spec(prune=True, max_fraction=1.0)
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    fewer = write_spec({"platform": ["alice@acme.com:admin"], "payments": []}, prune=True,
                       max_fraction=1.0)  # fmt: skip

    def drop_one(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"] = body["Resources"][:-1]
        return body

    with FaultProxy(full_tenant.url) as proxy:
        proxy.add(Fault("GET", "/Users", "edit", edit=drop_one, times=99))  # every page
        behind = Tenant(proxy.url, True)
        result = sso(fewer, behind, store_url, outputs, "apply", "--yes")
    assert result.exit_code == 0, result.output
    assert "the read of the SCIM directory was incomplete" in result.stdout
    assert "nobody will be removed in this run" in result.stdout
    # Which user the short page hid varies: one or both leavers are seen, and both stay.
    assert "managed user(s) left the spec and stay active (the read was incomplete)" in (
        result.stdout
    )
    assert full_tenant.user_names() == PEOPLE
    assert {u["active"] for u in full_tenant.listed("Users")} == {True}
    assert members(full_tenant, "payments-members") == {"carol@acme.com"}


def test_an_expired_token_exits_1_says_what_to_do_and_changes_nothing(
    full_tenant: Tenant,
    spec: Path,
    store_url: str,
    outputs: Path,
    monkeypatch: pytest.MonkeyPatch,
    db: Path,
) -> None:
    expired = "expired-scim-token-0b5e"
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", expired)
    for command in ("plan", "apply", "status"):
        result = sso(spec, full_tenant, store_url, outputs, command)
        assert result.exit_code == 1
        assert result.stderr == (
            "error: SCIM token rejected (expired or revoked?): refresh it in Insomnia › "
            "Enterprise Controls › SCIM\n"
        )
        assert expired not in result.output
    assert full_tenant.user_names() == {}
    record = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert expired.encode() not in record


def test_plain_http_to_another_host_is_refused_before_anything_is_sent(
    spec: Path, store_url: str, outputs: Path
) -> None:
    result = run(
        "plan", spec, "--scim", "http://insomnia.example.com/scim/v2", "--store", store_url,
        "--okta-outputs", outputs,
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        "error: SCIM URL must use https:// (http:// only for a loopback host), got "
        "'http://insomnia.example.com/scim/v2'\n"
    )


def test_stages_reach_access_only_once_a_team_is_linked(
    full_tenant: Tenant, spec: Path, store_url: str, outputs: Path
) -> None:
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0

    def stages() -> dict[str, str]:
        status = sso(spec, full_tenant, store_url, outputs, "status", "--format", "json")
        return {p["email"]: p["stage"] for p in json.loads(status.stdout)["people"]}

    assert set(stages().values()) == {"in team"}
    linked = run("confirm", "team_link", "platform-admins", spec, "--store", store_url)
    assert linked.exit_code == 0
    assert stages() == {
        "alice@acme.com": "has access",
        "bob@acme.io": "in team",
        "carol@acme.com": "in team",
    }


def test_a_hand_added_admin_is_named_and_drift_flags_it(
    full_tenant: Tenant, spec: Path, store_url: str, outputs: Path
) -> None:
    assert sso(spec, full_tenant, store_url, outputs, "apply", "--yes").exit_code == 0
    hand_made(full_tenant)
    add_to_team(full_tenant, "platform-admins", "zoe@acme.com")
    drift = sso(spec, full_tenant, store_url, outputs, "drift")
    assert drift.exit_code == 2
    assert "Access the spec does not give:\n\n  platform/zoe@acme.com, admin through team " in (
        drift.stdout
    )
    assert "platform-admins: stays: prune is off" in drift.stdout
    assert ", 1 with access the spec does not give." in drift.stdout


def test_nobody_okta_does_not_let_in_is_provisioned(
    full_tenant: Tenant, spec: Path, store_url: str, write_outputs: Callable[..., Path]
) -> None:
    partial = write_outputs("partial.json", assigned_users=["alice@acme.com", "bob@acme.io"])
    assert sso(spec, full_tenant, store_url, partial, "apply", "--yes").exit_code == 0
    assert full_tenant.user_names() == {"alice@acme.com": 1, "bob@acme.io": 1}
    assert "payments-members" not in full_tenant.group_names()  # nobody to put in it yet
    waiting = sso(spec, full_tenant, store_url, partial, "plan", "--format", "json")
    assert waiting.exit_code == 2
    assert [p["email"] for p in json.loads(waiting.stdout)["waiting_for_okta"]] == [
        "carol@acme.com"
    ]
    everyone = write_outputs("all.json")
    assert sso(spec, full_tenant, store_url, everyone, "apply", "--yes").exit_code == 0
    assert full_tenant.user_names() == PEOPLE
    assert members(full_tenant, "payments-members") == {"carol@acme.com"}
