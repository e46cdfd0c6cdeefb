"""From a directory's state to organizations: the mapping rules, pure, on states built here.

The CLI's tests (tests/cli/test_import_scim.py) read real directories; these pin down the
cases a real server makes awkward to arrange: two teams of one name, ids of no listed user,
userNames that are no email, logins two people would share.
"""

from __future__ import annotations

import pytest

from reconciler.errors import ImportInputError
from reconciler.import_spec import from_directory, parse_team_option
from reconciler.outputs import OktaOutputs
from reconciler.spec import Role, load_text
from reconciler.state import DirectoryState, DirectoryTeam, DirectoryUser
from tests.conftest import spec_yaml


def state(
    teams: dict[str, list[str]], *, inactive: tuple[str, ...] = (), **users: str
) -> DirectoryState:
    """Teams by name holding these userNames; `users` maps a userName to its externalId."""
    names = {u for members in teams.values() for u in members} | set(users) | set(inactive)
    return DirectoryState(
        users={u: DirectoryUser(u, users.get(u, u), u not in inactive, id=f"u-{u}") for u in names},
        teams={
            f"g{i}": DirectoryTeam(f"g{i}", name, frozenset(members))
            for i, (name, members) in enumerate(teams.items())
        },
    )


def people(imported: object) -> dict[str, list[tuple[str, str, str | None]]]:
    return {
        org.name: [(m.email, m.role.value, m.okta_login) for m in org.members]
        for org in imported.organizations  # type: ignore[attr-defined]
    }


def test_default_names_map_by_name_and_others_are_reported_with_their_members() -> None:
    found = from_directory(
        state(
            {
                "platform-admins": ["a@acme.com"],
                "platform-members": ["b@acme.com"],
                "Platform-Members": ["c@acme.com"],
                "x-owners": ["d@acme.com"],
            }
        )
    )
    assert people(found) == {
        "platform": [("a@acme.com", "admin", None), ("b@acme.com", "member", None)]
    }
    assert found.reports == (
        "unmapped team 'Platform-Members' (1 member(s): c@acme.com): not in the spec; map it "
        'with --team "Platform-Members=ORGANIZATION:ROLE"',
        "unmapped team 'x-owners' (1 member(s): d@acme.com): not in the spec; map it with "
        '--team "x-owners=ORGANIZATION:ROLE"',
        "NOT IN THE SPEC: c@acme.com is only in unmapped teams ('Platform-Members')",
        "NOT IN THE SPEC: d@acme.com is only in unmapped teams ('x-owners')",
    )
    assert (found.left_out, found.people, found.domains) == (2, 2, ("acme.com",))


def test_a_team_named_for_a_role_makes_the_default_named_team_an_unmapped_one() -> None:
    found = from_directory(
        state({"Platform Admins": ["a@acme.com"], "platform-admins": ["b@acme.com"]}),
        teams=["Platform Admins=platform:admin"],
    )
    [org] = found.organizations
    assert (org.teams.admin, org.teams.member) == ("Platform Admins", None)
    assert found.reports[0] == (
        "unmapped team 'platform-admins' (1 member(s): b@acme.com): platform's admin team is "
        "'Platform Admins' (--team); not in the spec; map it with --team "
        '"platform-admins=ORGANIZATION:ROLE"'
    )


def test_a_given_specs_team_names_map_its_teams_and_its_owners_stay_owners() -> None:
    base = load_text(
        spec_yaml({"platform": ["a@acme.com:owner", "gone@acme.com"]}).replace(
            "    - name: platform\n", "    - name: platform\n      teams: {admin: Leads}\n"
        )
    )
    found = from_directory(
        state({"Leads": ["a@acme.com", "b@acme.com"], "platform-members": ["c@acme.com"]}),
        base=base,
    )
    [org] = found.organizations
    assert org.teams.admin == "Leads"
    assert [(m.email, m.role) for m in org.members] == [
        ("a@acme.com", Role.OWNER),
        ("b@acme.com", Role.ADMIN),
        ("c@acme.com", Role.MEMBER),
    ]
    assert found.domains == base.spec.domains


def test_a_login_two_people_would_share_is_written_for_neither() -> None:
    okta = OktaOutputs(assigned_users=frozenset({"shared@acme.com", "own.login@acme.com"}))
    found = from_directory(
        state(
            {"platform-members": ["a@acme.com", "b@acme.com", "c@acme.com"]},
            **{
                "a@acme.com": "shared@acme.com",
                "b@acme.com": "shared@acme.com",
                "c@acme.com": "own.login@acme.com",
            },
        ),
        outputs=okta,
    )
    assert people(found) == {
        "platform": [
            ("a@acme.com", "member", None),
            ("b@acme.com", "member", None),
            ("c@acme.com", "member", "own.login@acme.com"),
        ]
    }
    assert found.reports[:3] == (
        "oktaLogin not written for a@acme.com: its externalId shared@acme.com is also "
        "b@acme.com's login",
        "oktaLogin not written for b@acme.com: its externalId shared@acme.com is also "
        "a@acme.com's login",
        "oktaLogin own.login@acme.com written for c@acme.com: its SCIM externalId, assigned in "
        "Okta",
    )


def test_who_cannot_be_in_a_spec_is_named_and_counted() -> None:
    directory = state(
        {"platform-members": ["a@acme.com", "jdoe", "old@acme.com"]},
        inactive=("old@acme.com",),
        **{"loner@acme.com": "loner@acme.com"},
    )
    team = directory.teams["g0"]
    teams = {"g0": DirectoryTeam("g0", team.display_name, team.members, other_members=2)}
    found = from_directory(DirectoryState(users=directory.users, teams=teams))
    assert found.reports == (
        "team 'platform-members' holds 2 member(s) that are no user Insomnia listed (deleted "
        "users, nested groups): left out",
        "NOT IN THE SPEC: 'jdoe' is not an email address (a userName the spec cannot hold)",
        "NOT IN THE SPEC: loner@acme.com is in no team",
        "left out 1 inactive user(s), deactivated in Insomnia: old@acme.com",
    )
    assert found.left_out == 2


@pytest.mark.parametrize(
    ("directory", "teams", "message"),
    [
        (
            DirectoryState(users_complete=False, incomplete_reason="page 3 failed: 503"),
            [],
            "the read of the SCIM directory was incomplete (page 3 failed: 503): a spec from a "
            "partial read would leave people out; nothing written",
        ),
        (
            DirectoryState(
                teams={
                    "g1": DirectoryTeam("g1", "platform-admins"),
                    "g2": DirectoryTeam("g2", "platform-admins"),
                }
            ),
            [],
            "Insomnia holds 2 teams named 'platform-admins': the first plan could adopt "
            "neither; keep one by hand, then import again",
        ),
        (
            DirectoryState(teams={"g1": DirectoryTeam("g1", "Crew")}),
            ["Crew=payments:member", "Crew=payments:admin"],
            "--team maps 'Crew' twice, to two organizations or roles",
        ),
    ],
)
def test_what_cannot_hold_is_refused(
    directory: DirectoryState, teams: list[str], message: str
) -> None:
    with pytest.raises(ImportInputError) as raised:
        from_directory(directory, teams=teams)
    assert str(raised.value) == message


def test_a_team_name_may_hold_equals_signs_and_colons() -> None:
    name, target = parse_team_option("QA: a=b team=qa:Member")
    assert (name, target.organization, target.role) == ("QA: a=b team", "qa", "member")
