"""Plan changes of the shapes `reconciler.directory.base` documents, for the tests."""

from __future__ import annotations

from reconciler.plan import Action, Kind, PlanChange
from reconciler.state import team_external_id, team_name

ENTERPRISE = "acme"


def user_create(email: str, external_id: str | None = None) -> PlanChange:
    after = {"userName": email, "externalId": external_id or email, "active": True}
    return PlanChange(Action.CREATE, Kind.USER, email, None, after)


def user_update(email: str, **after: object) -> PlanChange:
    return PlanChange(Action.UPDATE, Kind.USER, email, None, after)


def user_delete(email: str) -> PlanChange:
    before = {"userName": email, "externalId": email, "active": True}
    return PlanChange(Action.DELETE, Kind.USER, email, before, None)


def _team(org: str, role: str) -> dict[str, str]:
    return {
        "displayName": team_name(org, role),
        "externalId": team_external_id(ENTERPRISE, org, role),
        "organization": org,
        "role": role,
    }


def team_create(org: str, role: str) -> PlanChange:
    return PlanChange(Action.CREATE, Kind.TEAM, team_name(org, role), None, _team(org, role))


def team_delete(org: str, role: str) -> PlanChange:
    return PlanChange(Action.DELETE, Kind.TEAM, team_name(org, role), _team(org, role), None)


def member_add(team: str, email: str) -> PlanChange:
    attrs = {"team": team, "email": email}
    return PlanChange(Action.CREATE, Kind.TEAM_MEMBER, f"{team}/{email}", None, attrs)


def member_remove(team: str, email: str) -> PlanChange:
    attrs = {"team": team, "email": email}
    return PlanChange(Action.DELETE, Kind.TEAM_MEMBER, f"{team}/{email}", attrs, None)


def onboarding(people: dict[str, str], org: str = "platform") -> list[PlanChange]:
    """Users, their teams and memberships for `people` (email → role), in plan order."""
    changes = [user_create(email) for email in people]
    roles = sorted(set(people.values()))
    changes += [team_create(org, role) for role in roles]
    changes += [member_add(team_name(org, role), email) for email, role in people.items()]
    return changes
