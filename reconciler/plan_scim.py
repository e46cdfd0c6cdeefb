"""People and teams planned against the SCIM directory: users, teams, memberships.

Pure, like `reconciler.plan`, which calls it when people live in a directory. The mapping
(DESIGN, "SCIM mapping"): one User per person; one Team per (organization, role) holding
anyone, named as the spec says (`{organization}-{role}s` by default).

Identity: a team is the tool's when the record holds its SCIM id; else a team of exactly
that name is adopted (the plan says so); else it is created, unless the read of teams was
partial (the team not seen may exist). Only the record's teams and users are ever changed;
anyone else is at most dropped from such a team (with prune).

Make before break: a person moving between two teams of one organization is removed from
the old team only once the new team's `team_link` step is confirmed; until then the removal
is in the plan with `waiting_on`, and so is the old team's deletion.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from reconciler.manual import scim_role
from reconciler.plan_types import (
    ENTERPRISE_WIDE,
    KEPT_PARTIAL,
    KEPT_PRUNE_OFF,
    REMOVED,
    Action,
    Kind,
    PlanChange,
    UnmanagedAccess,
)
from reconciler.spec import Enterprise, Member
from reconciler.state import (
    ActualState,
    DirectoryState,
    DirectoryTeam,
    team_external_id,
)

Names = Mapping[str, tuple[str, str]]
"""Okta login → (given name, family name), when the stack outputs carry them."""


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
    unmanaged: list[UnmanagedAccess] = field(default_factory=list)
    """People with access through the tool's teams who are not in the spec for it."""


@dataclass(frozen=True)
class TeamMatch:
    """Which team in the directory is the one for (organization, role), and how it was found."""

    team: DirectoryTeam | None
    adopted: bool = False
    """Found by its name, not by the record's id: the plan adopts it."""
    ambiguous: int = 0
    """How many teams share the name when no single one can be chosen."""


def find_team(
    actual: ActualState, directory: DirectoryState, organization: str, role: str, name: str
) -> TeamMatch:
    """The team for (organization, role): by the record's SCIM id, else by its exact name
    (a team the record gives to another organization or role is never taken)."""
    recorded = actual.managed_teams.get((organization, role))
    if recorded is not None and recorded.scim_id in directory.teams:
        return TeamMatch(directory.teams[recorded.scim_id])
    others = {t.scim_id for key, t in actual.managed_teams.items() if key != (organization, role)}
    candidates = [t for t in directory.named(name) if t.id not in others]
    if len(candidates) > 1:
        return TeamMatch(None, ambiguous=len(candidates))
    if candidates:
        return TeamMatch(candidates[0], adopted=True)
    return TeamMatch(None)


@dataclass
class _Desired:
    """What the spec wants of one (organization, role) team."""

    organization: str
    role: str
    name: str
    members: set[str] = field(default_factory=set)


def scim_changes(
    enterprise: Enterprise,
    actual: ActualState,
    directory: DirectoryState,
    prune: bool,
    *,
    names: Names | None = None,
    open_links: frozenset[str] = frozenset(),
    held: frozenset[str] = frozenset(),
) -> PeoplePlan:
    """Users, teams and team memberships that make the directory match the spec.

    `open_links` holds the teams whose `team_link` step is still open: nobody is taken out
    of their old team of an organization until their new one is linked. `held` holds the
    emails of people Okta does not let sign in yet: they get no user, no reactivation and
    no membership, and keep whatever access they have."""
    out = PeoplePlan()
    people: dict[str, Member] = {}
    desired: dict[tuple[str, str], _Desired] = {}
    role_in: dict[tuple[str, str], str] = {}
    for org, person in enterprise.memberships():
        people.setdefault(person.email, person)
        role = scim_role(person.role)
        wanted = desired.setdefault((org.name, role), _Desired(org.name, role, org.team_name(role)))
        wanted.members.add(person.email)
        role_in[(org.name, person.email)] = role
    removable = actual.complete and directory.complete
    _user_changes(out, people, actual, directory, prune and removable, names or {}, held)
    # A person neither read nor created in this run (a partial read hid them) gets no
    # membership yet: it could only fail; the next whole read plans it. Nor does one Okta
    # does not let in yet.
    created = {c.key for c in out.changes if c.kind is Kind.USER and c.action is Action.CREATE}
    addable = (frozenset(directory.users) | created) - held
    planner = _TeamPlanner(enterprise.name, out, actual, directory, prune, removable, open_links)
    planner.plan(desired, role_in, addable)
    return out


def person_names(member: Member, names: Names) -> dict[str, str]:
    """givenName, familyName and displayName from the spec, else from Okta; never made up."""
    given, family = member.given_name, member.family_name
    if given is None and family is None and member.login in names:
        given, family = names[member.login]
    found = {k: v for k, v in (("givenName", given), ("familyName", family)) if v}
    if found:
        found["displayName"] = " ".join(found.values())
    return found


def _user_changes(
    out: PeoplePlan,
    people: dict[str, Member],
    actual: ActualState,
    directory: DirectoryState,
    may_remove: bool,
    names: Names,
    held: frozenset[str],
) -> None:
    users = directory.users
    unnamed = unseen = 0
    for email, member in people.items():
        if email in held:
            continue
        wanted: dict[str, Any] = {"externalId": member.login, **person_names(member, names)}
        user = users.get(email)
        if user is None:
            if not directory.users_complete:
                unseen += 1
                continue
            unnamed += "givenName" not in wanted and "familyName" not in wanted
            after = _frozen(userName=email, **wanted, active=True)
            out.changes.append(PlanChange(Action.CREATE, Kind.USER, email, None, after))
            continue
        has = {
            "externalId": user.external_id,
            "givenName": user.given_name,
            "familyName": user.family_name,
            "displayName": user.display_name,
        }
        before: dict[str, Any] = {k: has[k] for k, v in wanted.items() if has[k] != v}
        after_: dict[str, Any] = {key: wanted[key] for key in before}
        if not user.active:
            before["active"], after_["active"] = False, True
        if after_:
            out.changes.append(
                PlanChange(Action.UPDATE, Kind.USER, email, _frozen(**before), _frozen(**after_))
            )
    if unnamed:
        out.warnings.append(
            f"{unnamed} new user(s) have no name in the spec (givenName/familyName) nor in the "
            "Okta outputs (assigned_names): they are sent without one"
        )
    if unseen:
        out.warnings.append(
            f"{unseen} person(s) not created in this run: the read of users was partial, so "
            "they may exist already"
        )
    leavers = sorted(
        u for u in actual.managed_users if u not in people and u in users and users[u].active
    )
    out.current[ENTERPRISE_WIDE] = sum(
        1 for u in actual.managed_users if u in users and users[u].active
    )
    if leavers and not may_remove:
        why = (
            "prune is off" if directory.complete and actual.complete else "the read was incomplete"
        )
        out.warnings.append(f"{len(leavers)} managed user(s) left the spec and stay active ({why})")
        return
    for email in leavers:
        user = users[email]
        before_ = _frozen(userName=email, externalId=user.external_id, active=True)
        out.changes.append(PlanChange(Action.DELETE, Kind.USER, email, before_, None))
        out.leaving.add((ENTERPRISE_WIDE, email))


class _TeamPlanner:
    """The team half of one plan: match, create, adopt, rename, fill, empty, delete."""

    def __init__(
        self,
        enterprise: str,
        out: PeoplePlan,
        actual: ActualState,
        directory: DirectoryState,
        prune: bool,
        removable: bool,
        open_links: frozenset[str],
    ) -> None:
        self.enterprise = enterprise
        self.out = out
        self.actual = actual
        self.directory = directory
        self.prune = prune
        self.removable = removable
        self.open_links = open_links
        self.targets: dict[tuple[str, str], str | None] = {}
        """(organization, role) → the name of its team, None when it cannot be resolved."""
        self.new_teams: set[str] = set()
        self.kept = 0
        self.role_in: dict[tuple[str, str], str] = {}
        """(organization, email) → the team role the spec gives them there."""
        self.addable: frozenset[str] = frozenset()
        """Who may be put in a team in this run: read or created, and let in by Okta."""
        self.leftover_role = ""

    def plan(
        self,
        desired: dict[tuple[str, str], _Desired],
        role_in: dict[tuple[str, str], str],
        addable: frozenset[str],
    ) -> None:
        self.role_in = role_in
        self.addable = addable
        matches = {
            key: find_team(self.actual, self.directory, want.organization, want.role, want.name)
            for key, want in desired.items()
        }
        for key, match in matches.items():
            want = desired[key]
            ok = match.team is not None or (not match.ambiguous and self.directory.teams_complete)
            self.targets[key] = want.name if ok else None
        in_org: defaultdict[str, set[str]] = defaultdict(set)
        for key, want in sorted(desired.items()):
            match = matches[key]
            if match.team is not None:
                in_org[want.organization] |= match.team.members
            self._desired_team(want, match)
        for key, recorded in sorted(self.actual.managed_teams.items()):
            team = self.directory.teams.get(recorded.scim_id)
            if key in desired or team is None:
                continue
            in_org[key[0]] |= team.members
            self._leftover_team(key[0], key[1], team)
        for org, members in in_org.items():
            self.out.current[org] = len(members)
        if self.kept:
            why = "their new team is not found" if self.removable else "the read was incomplete"
            self.out.warnings.append(
                f"{self.kept} move(s) between teams of an organization wait ({why})"
            )

    def _desired_team(self, want: _Desired, match: TeamMatch) -> None:
        name, org, role = want.name, want.organization, want.role
        if match.ambiguous:
            self.out.warnings.append(
                f"{match.ambiguous} teams in Insomnia are named {name!r}: keep one by hand "
                "(or name the team in the spec); its people wait"
            )
            return
        team = match.team
        placeable = want.members & self.addable
        if team is None:
            if not placeable:
                return  # nobody of it can be placed yet: no team for it in this run
            if not self.directory.teams_complete:
                self.out.warnings.append(
                    f"team {name} was not seen in a partial read of teams: not created in "
                    "this run (it may exist)"
                )
                return
            after = _frozen(
                displayName=name,
                organization=org,
                role=role,
                externalId=team_external_id(self.enterprise, org, role),
            )
            self.out.changes.append(PlanChange(Action.CREATE, Kind.TEAM, name, None, after))
            self.new_teams.add(name)
            for email in sorted(placeable):
                attrs = _frozen(team=name, email=email, organization=org)
                self.out.changes.append(
                    PlanChange(Action.CREATE, Kind.TEAM_MEMBER, f"{name}/{email}", None, attrs)
                )
            return
        if match.adopted:
            before = _frozen(id=team.id, displayName=team.display_name, managed=False)
            after = _frozen(id=team.id, displayName=name, organization=org, role=role, managed=True)
            self.out.changes.append(PlanChange(Action.UPDATE, Kind.TEAM, name, before, after))
        elif team.display_name != name:
            before = _frozen(id=team.id, displayName=team.display_name)
            after = _frozen(id=team.id, displayName=name, organization=org, role=role)
            self.out.changes.append(PlanChange(Action.UPDATE, Kind.TEAM, name, before, after))
        for email in sorted(placeable - team.members):
            attrs = _frozen(team=name, email=email, organization=org, teamId=team.id)
            self.out.changes.append(
                PlanChange(Action.CREATE, Kind.TEAM_MEMBER, f"{name}/{email}", None, attrs)
            )
        for email in sorted(team.members - want.members):
            self._drop(name, team, org, email)

    def _role_of(self, name: str, org: str) -> str:
        """The role the team `name` of `org` gives: the spec's, else the record's."""
        for (organization, role), target in self.targets.items():
            if organization == org and target == name:
                return role
        for (organization, role), recorded in self.actual.managed_teams.items():
            if organization == org and recorded.display_name == name:
                return role
        return self.leftover_role

    def _leftover_team(self, org: str, role: str, team: DirectoryTeam) -> None:
        """A team of the record that no one in the spec needs: emptied, then deleted."""
        name = team.display_name
        self.leftover_role = role
        outcomes = [self._drop(name, team, org, email) for email in sorted(team.members)]
        if not self.removable or any(o is None for o in outcomes):
            return
        waiting = next((o for o in outcomes if o), None)
        if team.other_members:
            self.out.warnings.append(
                f"team {name} also holds {team.other_members} member(s) that are no user this "
                "tool listed: it is emptied but not deleted"
            )
            return
        before = _frozen(id=team.id, displayName=name, organization=org, role=role)
        self.out.changes.append(
            PlanChange(Action.DELETE, Kind.TEAM, name, before, None, waiting_on=waiting)
        )

    def _drop(self, name: str, team: DirectoryTeam, org: str, email: str) -> str | None:
        """Plan taking `email` out of `team`. Returns None when they stay, "" when the
        removal goes ahead, or the step it waits on.

        Moving to another team of the same organization (a role change) needs no prune, and
        waits until that team is linked; leaving the organization needs prune."""
        role = self.role_in.get((org, email))
        moving = role is not None
        target = self.targets.get((org, role)) if role is not None else None
        stays = not self.removable or not (moving or self.prune) or (moving and target is None)
        user = self.directory.users.get(email)
        if not moving and (user is None or user.active):  # a deactivated user has no access
            outcome = REMOVED
            if stays:
                outcome = KEPT_PARTIAL if not self.removable else KEPT_PRUNE_OFF
            team_role = self._role_of(name, org)
            self.out.unmanaged.append(UnmanagedAccess(org, email, team_role, name, outcome))
        if stays:
            self.kept += moving
            return None
        waiting = None
        if target is not None and (target in self.open_links or target in self.new_teams):
            waiting = f"team_link {target}"
        before = _frozen(team=name, email=email, organization=org, teamId=team.id)
        self.out.changes.append(
            PlanChange(
                Action.DELETE, Kind.TEAM_MEMBER, f"{name}/{email}", before, None, waiting_on=waiting
            )
        )
        if not moving:
            self.out.leaving.add((org, email))
        return waiting or ""
