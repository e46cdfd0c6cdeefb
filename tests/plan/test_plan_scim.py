"""People planned against the SCIM directory: users, managed teams and their members.

Pure: every test builds an `ActualState` with a `DirectoryState` the way the SCIM reader
would (userNames lower-cased, only teams carrying this enterprise's marker) and the record's
`managed_users`.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.plan import Action, Plan, plan
from reconciler.plan_types import ENTERPRISE_WIDE
from reconciler.spec import load_text
from reconciler.state import ActualState, DirectoryState, DirectoryTeam, DirectoryUser
from tests.conftest import okta_outputs, spec_yaml
from tests.plan.test_plan import NOW, keys


def user(email: str, *, active: bool = True, external_id: str | None = None) -> DirectoryUser:
    return DirectoryUser(email, email if external_id is None else external_id, active)


def team(org: str, role: str, *members: str) -> DirectoryTeam:
    return DirectoryTeam(f"{org}-{role}s", f"insomnia-sso:acme:{org}:{role}", frozenset(members))


def directory(
    users: Iterable[DirectoryUser] = (), teams: Iterable[DirectoryTeam] = (), **more: object
) -> DirectoryState:
    return DirectoryState(
        users={u.user_name: u for u in users},
        teams={t.display_name: t for t in teams},
        **more,  # type: ignore[arg-type]
    )


def scim_plan(
    organizations: dict[str, list[str]],
    found: DirectoryState,
    *,
    prune: bool = False,
    managed: Iterable[str] = (),
) -> Plan:
    enterprise = load_text(spec_yaml(organizations, prune=prune, max_fraction=1.0))
    actual = ActualState("acme", NOW, directory=found, managed_users=frozenset(managed))
    return plan(enterprise, okta_outputs(enterprise), actual)


def deletes(result: Plan) -> list[tuple[str, str, str]]:
    return [k for k in keys(result) if k[0] == "delete"]


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
        "externalId": "insomnia-sso:acme:platform:admin",
        "organization": "platform",
        "role": "admin",
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


def test_an_owner_goes_to_the_admins_team_with_a_warning() -> None:
    result = scim_plan({"platform": ["alice@acme.com:owner"]}, directory())
    assert ("create", "team", "platform-admins") in keys(result)
    assert ("create", "team_member", "platform-admins/alice@acme.com") in keys(result)
    assert not any("owner" in key for _, _, key in keys(result))
    assert (
        "platform/alice@acme.com: owner cannot be granted through Insomnia's teams; "
        "in the admins team: transfer ownership in Insomnia"
    ) in result.warnings


# -- moving and removing ---------------------------------------------------------------------


def test_a_role_change_moves_between_teams_without_prune_and_is_no_removal() -> None:
    found = directory(
        [user("alice@acme.com"), user("bob@acme.io")],
        [team("platform", "admin"), team("platform", "member", "alice@acme.com", "bob@acme.io")],
    )
    result = scim_plan({"platform": ["alice@acme.com:admin", "bob@acme.io"]}, found)
    assert keys(result) == [
        ("create", "team_member", "platform-admins/alice@acme.com"),
        ("delete", "team_member", "platform-members/alice@acme.com"),
    ]
    assert result.removed == {}


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
    assert "1 team membership(s) are not in the spec and stay (prune is off)" in result.warnings
    assert result.removed == {}


def test_a_person_leaving_an_organization_is_dropped_with_prune_and_counted() -> None:
    result = scim_plan(SPEC_WITHOUT_BOB, leaving(), prune=True)
    assert keys(result) == [("delete", "team_member", "platform-members/bob@acme.io")]
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
        "displayName": "platform-members",
        "externalId": "insomnia-sso:acme:platform:member",
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
    assert result.removed == {}


def test_nothing_is_deleted_after_an_incomplete_directory_read() -> None:
    found = directory(
        [user("alice@acme.com"), user("bob@acme.io"), user("carol@acme.com", active=False)],
        [
            team("platform", "member", "alice@acme.com", "bob@acme.io"),
            team("old", "member", "bob@acme.io"),
        ],
        complete=False,
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
    # "designers" carries no insomnia-sso marker, so the reader leaves it out of `teams`;
    # whoever is in it, with prune on, no change ever names it.
    found = directory(
        [user("alice@acme.com"), user("dave@acme.com")],
        [team("platform", "admin", "alice@acme.com")],
    )
    result = scim_plan({"platform": ["alice@acme.com:admin"]}, found, prune=True)
    assert result.changes == ()
    assert not any("designers" in key for _, _, key in keys(result))
