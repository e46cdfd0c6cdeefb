"""People planned against the SCIM directory: users, managed teams and their members.

Pure: every test builds an `ActualState` with a `DirectoryState` the way the SCIM reader
would (userNames lower-cased, every group by id) and the record's managed users and teams.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.manual import all_steps
from reconciler.plan import Action, Plan, plan
from reconciler.plan_types import ENTERPRISE_WIDE
from reconciler.spec import load_text
from reconciler.state import (
    ActualState,
    Confirmation,
    DirectoryState,
    DirectoryTeam,
    DirectoryUser,
    ManagedTeam,
)
from tests.conftest import okta_outputs, spec_yaml
from tests.plan.test_plan import NOW, keys


def user(email: str, *, active: bool = True, external_id: str | None = None) -> DirectoryUser:
    return DirectoryUser(email, email if external_id is None else external_id, active, f"u-{email}")


def team(org: str, role: str, *members: str, name: str | None = None) -> DirectoryTeam:
    return DirectoryTeam(f"g-{org}-{role}", name or f"{org}-{role}s", frozenset(members))


def directory(
    users: Iterable[DirectoryUser] = (), teams: Iterable[DirectoryTeam] = (), **more: object
) -> DirectoryState:
    return DirectoryState(
        users={u.user_name: u for u in users},
        teams={t.id: t for t in teams},
        **more,  # type: ignore[arg-type]
    )


def recorded(found: DirectoryState) -> dict[tuple[str, str], ManagedTeam]:
    """The record of a converged run: every team `team()` made is the tool's."""
    out = {}
    for t in found.teams.values():
        _, org, role = t.id.split("-", 2)
        out[(org, role)] = ManagedTeam(org, role, t.id, t.display_name)
    return out


def scim_plan(
    organizations: dict[str, list[str]],
    found: DirectoryState,
    *,
    prune: bool = False,
    managed: Iterable[str] = (),
    record_teams: bool = True,
    linked: Iterable[str] = (),
) -> Plan:
    """The plan against `found`, its teams recorded as the tool's (unless `record_teams` is
    False) and the team links named in `linked` confirmed."""
    enterprise = load_text(spec_yaml(organizations, prune=prune, max_fraction=1.0))
    outputs = okta_outputs(enterprise)
    bare = ActualState("acme", NOW)
    links = {
        (s.kind.value, s.key): Confirmation(s.kind.value, s.key, s.digest, "owner", NOW)
        for s in all_steps(enterprise, outputs, bare, teams=True)
        if s.kind.value == "team_link" and s.key in set(linked)
    }
    actual = ActualState(
        "acme",
        NOW,
        directory=found,
        managed_users=frozenset(managed),
        managed_teams=recorded(found) if record_teams else {},
        confirmations=links,
    )
    return plan(enterprise, outputs, actual)


def deletes(result: Plan) -> list[tuple[str, str, str]]:
    return [k for k in keys(result) if k[0] == "delete"]


def waiting(result: Plan) -> list[tuple[str, str | None]]:
    return [(c.key, c.waiting_on) for c in result.changes if c.waiting_on]


# -- creating --------------------------------------------------------------------------------


def test_an_empty_directory_gets_users_then_teams_then_memberships() -> None:
    result = scim_plan({"platform": ["alice@acme.com:admin", "bob@acme.io"]}, directory())
    assert result.scim
    assert keys(result) == [
        ("create", "user", "alice@acme.com"),
        ("create", "user", "bob@acme.io"),
        ("create", "team", "platform-admins"),
        ("create", "team", "platform-members"),
        ("create", "team_member", "platform-admins/alice@acme.com"),
        ("create", "team_member", "platform-members/bob@acme.io"),
    ]
    alice, _, admins, *_ = result.changes
    assert alice.to_json()["after"] == {
        "userName": "alice@acme.com",
        "externalId": "alice@acme.com",
        "active": True,
    }
    assert admins.to_json()["after"] == {
        "displayName": "platform-admins",
        "organization": "platform",
        "role": "admin",
        "externalId": "insomnia-sso:acme:platform:admin",  # sent by rfc7644 only
    }
    assert result.removed == {}


def test_one_user_for_a_person_in_several_organizations() -> None:
    result = scim_plan(
        {"platform": ["alice@acme.com:admin"], "data": ["alice@acme.com"]}, directory()
    )
    assert [k for k in keys(result) if k[1] == "user"] == [("create", "user", "alice@acme.com")]
    assert ("create", "team", "data-members") in keys(result)
    assert ("create", "team_member", "data-members/alice@acme.com") in keys(result)


def test_a_converged_directory_plans_no_change() -> None:
    found = directory(
        [user("alice@acme.com"), user("bob@acme.io")],
        [team("platform", "admin", "alice@acme.com"), team("platform", "member", "bob@acme.io")],
    )
    result = scim_plan({"platform": ["alice@acme.com:admin", "bob@acme.io"]}, found)
    assert result.changes == ()
    assert result.warnings == ()


# -- matching existing users -----------------------------------------------------------------


def test_an_existing_user_is_matched_by_email_whatever_its_case() -> None:
    # The spec says Alice@ACME.com; the reader lower-cased the directory's userName.
    found = directory([user("alice@acme.com")], [team("platform", "admin")])
    result = scim_plan({"platform": ["Alice@ACME.com:admin"]}, found)
    assert keys(result) == [("create", "team_member", "platform-admins/alice@acme.com")]


def test_an_existing_user_is_updated_only_where_it_differs() -> None:
    found = directory(
        [user("alice@acme.com", external_id="00u-old-login"), user("bob@acme.io", active=False)],
        [team("platform", "admin", "alice@acme.com"), team("platform", "member", "bob@acme.io")],
    )
    result = scim_plan({"platform": ["alice@acme.com:admin", "bob@acme.io"]}, found)
    assert [c.to_json() for c in result.changes] == [
        {
            "action": "update",
            "kind": "user",
            "key": "alice@acme.com",
            "before": {"externalId": "00u-old-login"},
            "after": {"externalId": "alice@acme.com"},
        },
        {  # a deactivated user back in the spec is reactivated
            "action": "update",
            "kind": "user",
            "key": "bob@acme.io",
            "before": {"active": False},
            "after": {"active": True},
        },
    ]


def test_an_owner_goes_to_the_admins_team_and_owning_is_a_manual_step() -> None:
    result = scim_plan({"platform": ["alice@acme.com:owner"]}, directory())
    assert ("create", "team", "platform-admins") in keys(result)
    assert ("create", "team_member", "platform-admins/alice@acme.com") in keys(result)
    assert not any("owner" in key for _, _, key in keys(result))
    [step] = [s for s in result.manual_steps if s.kind.value == "owner"]
    assert (step.key, dict(step.after)) == (
        "platform/alice@acme.com",
        {"organization": "platform", "email": "alice@acme.com", "role": "owner"},
    )
    assert not any("owner" in w for w in result.warnings)


# -- moving and removing ---------------------------------------------------------------------


def test_a_role_change_moves_between_teams_without_prune_and_is_no_removal() -> None:
    found = directory(
        [user("alice@acme.com"), user("bob@acme.io")],
        [team("platform", "admin"), team("platform", "member", "alice@acme.com", "bob@acme.io")],
    )
    spec = {"platform": ["alice@acme.com:admin", "bob@acme.io"]}
    result = scim_plan(spec, found, linked=["platform-admins"])
    assert keys(result) == [
        ("create", "team_member", "platform-admins/alice@acme.com"),
        ("delete", "team_member", "platform-members/alice@acme.com"),
    ]
    assert waiting(result) == []
    assert result.removed == {}


def test_a_move_into_a_team_not_linked_yet_waits_for_its_link() -> None:
    found = directory(
        [user("alice@acme.com"), user("bob@acme.io")],
        [team("platform", "admin"), team("platform", "member", "alice@acme.com", "bob@acme.io")],
    )
    result = scim_plan({"platform": ["alice@acme.com:admin", "bob@acme.io"]}, found)
    assert waiting(result) == [("platform-members/alice@acme.com", "team_link platform-admins")]
    [held] = result.waiting
    assert held.to_json()["waiting_on"] == "team_link platform-admins"
    assert result.ready == result.changes[:1]
    assert result.summary()["waiting"] == 1


def leaving() -> DirectoryState:
    """bob is in platform's members team but no longer in the spec."""
    return directory(
        [user("alice@acme.com"), user("bob@acme.io"), user("carol@acme.com")],
        [
            team("platform", "admin", "alice@acme.com"),
            team("platform", "member", "bob@acme.io", "carol@acme.com"),
        ],
    )


SPEC_WITHOUT_BOB = {"platform": ["alice@acme.com:admin", "carol@acme.com"]}


def test_a_person_leaving_an_organization_stays_without_prune() -> None:
    result = scim_plan(SPEC_WITHOUT_BOB, leaving())
    assert result.changes == ()
    # named in every plan and drift, with what prune would do
    assert [u.to_json() for u in result.unmanaged] == [
        {
            "organization": "platform",
            "email": "bob@acme.io",
            "role": "member",
            "team": "platform-members",
            "outcome": "stays: prune is off",
        }
    ]
    assert not result.empty
    assert result.removed == {}


def test_a_person_leaving_an_organization_is_dropped_with_prune_and_counted() -> None:
    result = scim_plan(SPEC_WITHOUT_BOB, leaving(), prune=True)
    assert keys(result) == [("delete", "team_member", "platform-members/bob@acme.io")]
    assert [u.outcome for u in result.unmanaged] == ["removed by this plan"]
    assert result.removed == {"platform": 1}
    assert result.current["platform"] == 3


def test_a_managed_user_who_left_the_spec_is_deactivated_only_with_prune() -> None:
    kept = scim_plan(SPEC_WITHOUT_BOB, leaving(), managed=["bob@acme.io"])
    assert not any(kind == "user" for _, kind, _ in keys(kept))
    assert "1 managed user(s) left the spec and stay active (prune is off)" in kept.warnings

    pruned = scim_plan(SPEC_WITHOUT_BOB, leaving(), prune=True, managed=["bob@acme.io"])
    assert keys(pruned) == [
        ("delete", "team_member", "platform-members/bob@acme.io"),
        ("delete", "user", "bob@acme.io"),  # carried out as active: false
    ]
    deactivate = pruned.changes[-1]
    assert deactivate.to_json()["before"] == {
        "userName": "bob@acme.io",
        "externalId": "bob@acme.io",
        "active": True,
    }
    assert deactivate.after is None
    assert pruned.removed == {"platform": 1, ENTERPRISE_WIDE: 1}


def test_an_unmanaged_user_is_never_deactivated() -> None:
    result = scim_plan(SPEC_WITHOUT_BOB, leaving(), prune=True, managed=["alice@acme.com"])
    assert ("delete", "user", "bob@acme.io") not in keys(result)
    assert not any(kind == "user" for _, kind, _ in keys(result))


def test_an_already_deactivated_managed_user_is_not_deactivated_again() -> None:
    found = directory([user("alice@acme.com"), user("bob@acme.io", active=False)])
    result = scim_plan(
        {"platform": ["alice@acme.com"]},
        found,
        prune=True,
        managed=["alice@acme.com", "bob@acme.io"],
    )
    assert ("delete", "user", "bob@acme.io") not in keys(result)


def test_a_hand_added_user_in_a_managed_team_is_dropped_only_with_prune() -> None:
    found = directory(
        [user("alice@acme.com"), user("mallory@acme.com")],
        [team("platform", "admin", "alice@acme.com", "mallory@acme.com")],
    )
    kept = scim_plan({"platform": ["alice@acme.com:admin"]}, found)
    assert kept.changes == ()
    pruned = scim_plan({"platform": ["alice@acme.com:admin"]}, found, prune=True)
    assert keys(pruned) == [("delete", "team_member", "platform-admins/mallory@acme.com")]
    # mallory is no managed user: her account is never touched.
    assert ("delete", "user", "mallory@acme.com") not in keys(pruned)


def test_a_managed_team_nobody_is_left_in_is_deleted_after_its_members() -> None:
    found = directory(
        [user("alice@acme.com"), user("bob@acme.io")],
        [team("platform", "admin", "alice@acme.com"), team("platform", "member", "bob@acme.io")],
    )
    spec = {"platform": ["alice@acme.com:admin"]}
    kept = scim_plan(spec, found)
    assert kept.changes == ()
    pruned = scim_plan(spec, found, prune=True, managed=["alice@acme.com", "bob@acme.io"])
    assert keys(pruned) == [
        ("delete", "team_member", "platform-members/bob@acme.io"),
        ("delete", "team", "platform-members"),
        ("delete", "user", "bob@acme.io"),
    ]
    [drop] = [c for c in pruned.changes if c.key == "platform-members"]
    assert drop.to_json()["before"] == {
        "id": "g-platform-member",
        "displayName": "platform-members",
        "organization": "platform",
        "role": "member",
    }


def test_a_team_whose_members_all_move_to_another_role_is_deleted_without_prune() -> None:
    found = directory([user("alice@acme.com")], [team("platform", "member", "alice@acme.com")])
    result = scim_plan({"platform": ["alice@acme.com:admin"]}, found)
    assert keys(result) == [
        ("create", "team", "platform-admins"),
        ("create", "team_member", "platform-admins/alice@acme.com"),
        ("delete", "team_member", "platform-members/alice@acme.com"),
        ("delete", "team", "platform-members"),
    ]
    # the new team cannot be linked before it exists: both removals wait for its link
    assert waiting(result) == [
        ("platform-members/alice@acme.com", "team_link platform-admins"),
        ("platform-members", "team_link platform-admins"),
    ]
    assert result.removed == {}


def test_nothing_is_deleted_after_an_incomplete_directory_read() -> None:
    found = directory(
        [user("alice@acme.com"), user("bob@acme.io"), user("carol@acme.com", active=False)],
        [
            team("platform", "member", "alice@acme.com", "bob@acme.io"),
            team("old", "member", "bob@acme.io"),
        ],
        users_complete=False,
        incomplete_reason="page 2 of /Users timed out",
    )
    result = scim_plan(
        {"platform": ["alice@acme.com:admin", "carol@acme.com"]},
        found,
        prune=True,
        managed=["alice@acme.com", "bob@acme.io", "carol@acme.com"],
    )
    assert not result.complete
    assert deletes(result) == []
    assert not any(c.action is Action.DELETE for c in result.changes)
    assert result.removed == {}
    # What only adds still happens: the new team, alice in it, carol reactivated.
    assert keys(result) == [
        ("update", "user", "carol@acme.com"),
        ("create", "team", "platform-admins"),
        ("create", "team_member", "platform-admins/alice@acme.com"),
        ("create", "team_member", "platform-members/carol@acme.com"),
    ]
    assert any("page 2 of /Users timed out" in w for w in result.warnings)


def test_a_hand_made_team_is_never_touched() -> None:
    # "designers" is no team of the record nor of the spec: whoever is in it, with prune on,
    # no change ever names it.
    found = directory(
        [user("alice@acme.com"), user("dave@acme.com")],
        [team("platform", "admin", "alice@acme.com")],
    )
    designers = DirectoryTeam("g-designers", "designers", frozenset({"dave@acme.com"}))
    found = directory(found.users.values(), [*found.teams.values(), designers])
    result = scim_plan(
        {"platform": ["alice@acme.com:admin"]}, found, prune=True, record_teams=False
    )
    assert keys(result) == [("update", "team", "platform-admins")]  # adopted by its name
    assert not any("designers" in key for _, _, key in keys(result))


# -- which team is the tool's ----------------------------------------------------------------


def test_a_team_is_found_by_the_record_s_id_even_when_renamed_by_hand() -> None:
    found = directory(
        [user("alice@acme.com")], [team("platform", "admin", "alice@acme.com", name="Admins!")]
    )
    result = scim_plan({"platform": ["alice@acme.com:admin"]}, found)
    [rename] = result.changes
    assert rename.to_json() == {
        "action": "update",
        "kind": "team",
        "key": "platform-admins",
        "before": {"id": "g-platform-admin", "displayName": "Admins!"},
        "after": {
            "id": "g-platform-admin",
            "displayName": "platform-admins",
            "organization": "platform",
            "role": "admin",
        },
    }


def test_two_teams_of_one_name_are_never_guessed_between() -> None:
    twins = [
        DirectoryTeam("g1", "platform-admins"),
        DirectoryTeam("g2", "platform-admins"),
    ]
    result = scim_plan(
        {"platform": ["alice@acme.com:admin"]}, directory(teams=twins), record_teams=False
    )
    assert keys(result) == [("create", "user", "alice@acme.com")]
    assert (
        "2 teams in Insomnia are named 'platform-admins': keep one by hand (or name the team "
        "in the spec); its people wait"
    ) in result.warnings


def test_a_partial_read_of_teams_makes_no_team() -> None:
    found = directory([user("alice@acme.com")], teams_complete=False, incomplete_reason="x")
    result = scim_plan({"platform": ["alice@acme.com:admin"]}, found)
    assert keys(result) == []
    assert (
        "team platform-admins was not seen in a partial read of teams: not created in this run "
        "(it may exist)"
    ) in result.warnings


def test_a_partial_read_of_users_makes_no_user() -> None:
    found = directory(users_complete=False, incomplete_reason="x")
    result = scim_plan({"platform": ["alice@acme.com:admin"]}, found)
    assert ("create", "user", "alice@acme.com") not in keys(result)
    assert (
        "1 person(s) not created in this run: the read of users was partial, so they may "
        "exist already"
    ) in result.warnings
