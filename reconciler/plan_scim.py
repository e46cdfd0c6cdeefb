"""People and teams planned against the SCIM directory: users, managed teams, memberships.

Pure, like `reconciler.plan`, which calls it when people live in a directory. The mapping
(DESIGN, "SCIM mapping"): one User per person, one Team per (organization, role) holding
anyone, `{organization}-{role}s`, marked by its externalId. Only managed teams and users
the record says the tool manages are ever changed; others are at most dropped from a
managed team they were added to by hand (with prune).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from reconciler.manual import scim_role
from reconciler.plan_types import ENTERPRISE_WIDE, Action, Kind, PlanChange
from reconciler.spec import Enterprise, Role
from reconciler.state import (
    ActualState,
    DirectoryState,
    managed_team_prefix,
    team_external_id,
    team_name,
)


def _frozen(**attrs: Any) -> MappingProxyType[str, Any]:
    return MappingProxyType(attrs)


@dataclass
class PeoplePlan:
    """The people changes of one plan, its warnings and the counts apply bounds removals by."""

    changes: list[PlanChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    leaving: set[tuple[str, str]] = field(default_factory=set)
    """(organization, email) of people leaving an organization; deactivations under
    ENTERPRISE_WIDE."""
    current: Counter[str] = field(default_factory=Counter)
    """People in each organization now (managed active users: under ENTERPRISE_WIDE)."""


def scim_changes(
    enterprise: Enterprise, actual: ActualState, directory: DirectoryState, prune: bool
) -> PeoplePlan:
    """Users, teams and team memberships that make the directory match the spec."""
    out = PeoplePlan()
    name = enterprise.name
    logins: dict[str, str] = {}
    desired_teams: dict[str, tuple[str, str, set[str]]] = {}
    orgs_of: defaultdict[str, set[str]] = defaultdict(set)
    for org, person in enterprise.memberships():
        logins.setdefault(person.email, person.login)
        role = scim_role(person.role)
        if person.role is Role.OWNER:
            out.warnings.append(
                f"{org.name}/{person.email}: owner cannot be granted through Insomnia's teams; "
                "in the admins team: transfer ownership in Insomnia"
            )
        team = team_name(org.name, role)
        desired_teams.setdefault(team, (org.name, role, set()))[2].add(person.email)
        orgs_of[person.email].add(org.name)

    _user_changes(out, logins, actual, directory, prune)
    _team_changes(out, desired_teams, orgs_of, directory, prune, name)
    return out


def _user_changes(
    out: PeoplePlan,
    logins: dict[str, str],
    actual: ActualState,
    directory: DirectoryState,
    prune: bool,
) -> None:
    users = directory.users
    for email, login in logins.items():
        user = users.get(email)
        if user is None:
            after = _frozen(userName=email, externalId=login, active=True)
            out.changes.append(PlanChange(Action.CREATE, Kind.USER, email, None, after))
            continue
        before: dict[str, Any] = {}
        after_: dict[str, Any] = {}
        if user.external_id != login:
            before["externalId"], after_["externalId"] = user.external_id, login
        if not user.active:
            before["active"], after_["active"] = False, True
        if after_:
            out.changes.append(
                PlanChange(Action.UPDATE, Kind.USER, email, _frozen(**before), _frozen(**after_))
            )
    leavers = sorted(
        u for u in actual.managed_users if u not in logins and u in users and users[u].active
    )
    out.current[ENTERPRISE_WIDE] = sum(
        1 for u in actual.managed_users if u in users and users[u].active
    )
    if leavers and not (prune and directory.complete):
        why = "the read was incomplete" if not directory.complete else "prune is off"
        out.warnings.append(f"{len(leavers)} managed user(s) left the spec and stay active ({why})")
        return
    for email in leavers:
        user = users[email]
        before_ = _frozen(userName=email, externalId=user.external_id, active=True)
        out.changes.append(PlanChange(Action.DELETE, Kind.USER, email, before_, None))
        out.leaving.add((ENTERPRISE_WIDE, email))


def _team_changes(
    out: PeoplePlan,
    desired: dict[str, tuple[str, str, set[str]]],
    orgs_of: defaultdict[str, set[str]],
    directory: DirectoryState,
    prune: bool,
    enterprise: str,
) -> None:
    complete = directory.complete
    in_org: defaultdict[str, set[str]] = defaultdict(set)
    for existing in directory.teams.values():
        in_org[_organization(existing.external_id, enterprise)] |= existing.members
    for org, people in in_org.items():
        out.current[org] = len(people)

    kept = 0
    for team, (org, role, members) in sorted(desired.items()):
        current = directory.teams.get(team)
        if current is None:
            after = _frozen(
                displayName=team,
                externalId=team_external_id(enterprise, org, role),
                organization=org,
                role=role,
            )
            out.changes.append(PlanChange(Action.CREATE, Kind.TEAM, team, None, after))
            have: frozenset[str] = frozenset()
        else:
            have = current.members
        for email in sorted(members - have):
            key = f"{team}/{email}"
            out.changes.append(
                PlanChange(
                    Action.CREATE, Kind.TEAM_MEMBER, key, None, _frozen(team=team, email=email)
                )
            )
        for email in sorted(have - members):
            kept += _drop_member(out, team, org, email, orgs_of, prune, complete)

    for team, current in sorted(directory.teams.items()):
        if team in desired:
            continue
        org = _organization(current.external_id, enterprise)
        dropped = sum(
            1 - _drop_member(out, team, org, email, orgs_of, prune, complete)
            for email in sorted(current.members)
        )
        kept += len(current.members) - dropped
        if complete and dropped == len(current.members):
            before = _frozen(
                displayName=team,
                externalId=current.external_id,
                organization=org,
                role=current.external_id.rpartition(":")[2],
            )
            out.changes.append(PlanChange(Action.DELETE, Kind.TEAM, team, before, None))
    if kept:
        why = "the read was incomplete" if not complete else "prune is off"
        out.warnings.append(f"{kept} team membership(s) are not in the spec and stay ({why})")


def _drop_member(
    out: PeoplePlan,
    team: str,
    org: str,
    email: str,
    orgs_of: defaultdict[str, set[str]],
    prune: bool,
    complete: bool,
) -> int:
    """Plan dropping `email` from `team`; 1 when it must stay instead (0 when planned).

    Moving to another team of the same organization (a role change) is no removal and
    needs no prune; leaving the organization is, and does. Nothing goes on a partial read.
    """
    moving = org in orgs_of.get(email, ())
    if not complete or not (moving or prune):
        return 1
    before = _frozen(team=team, email=email)
    out.changes.append(PlanChange(Action.DELETE, Kind.TEAM_MEMBER, f"{team}/{email}", before, None))
    if not moving:
        out.leaving.add((org, email))
    return 0


def _organization(external_id: str, enterprise: str) -> str:
    """`insomnia-sso:{enterprise}:{organization}:{role}` → organization."""
    rest = external_id.removeprefix(managed_team_prefix(enterprise))
    return rest.rpartition(":")[0] or rest
