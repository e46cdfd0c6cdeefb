"""Start from what exists: the organizations of a spec, read from a live Insomnia.

    SCIM directory (DirectoryState) ──┐
                                      ├──► Imported: organizations, domains, reports ──► YAML
    member list (import_csv rows) ────┘        beside Okta's assignments (OktaOutputs)

Pure: no I/O. A team maps to an (organization, role) by `--team NAME=ORGANIZATION:ROLE`,
else by the name a given spec gives one of its organization's teams, else by its own name
when that is `{organization}-{role}s`; the default name of an organization and role that is
named otherwise is an unmapped team like any other. Every mapped team is a team the first
plan adopts by its exact name, so the spec names (`teams:`) each one whose name is not the
default. People are in an organization with the role of the team they are in there (admin
when in both); owners cannot be seen through teams, so a given spec's owners stay owners.

Reports are lines for a person, one each, in a fixed order: the same directory gives the same
spec and the same lines.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.errors import ImportInputError
from reconciler.import_csv import MemberRow
from reconciler.outputs import OktaOutputs
from reconciler.plan_scim import person_names
from reconciler.spec import Enterprise, Member, Organization, Role, TeamNames, default_team_name
from reconciler.spec.models import EMAIL_PATTERN, SLUG_PATTERN, Prune
from reconciler.spec.writer import EXAMPLE_SCHEMA, SpecDocument, spec_text
from reconciler.state import DirectoryState, DirectoryTeam, DirectoryUser

ROLES = (Role.ADMIN.value, Role.MEMBER.value)
"""The roles a team gives: owner is never granted through a team (Insomnia's rule)."""
SAMPLE = 10
"""How many people a counting line names before it says how many more."""
MAX_NAME = 200

_EMAIL = re.compile(EMAIL_PATTERN)
_SLUG = re.compile(SLUG_PATTERN)
_DEFAULT = re.compile(rf"(?P<organization>{SLUG_PATTERN[1:-1]})-(?P<role>admin|member)s")


@dataclass(frozen=True)
class TeamMap:
    """Where a team's people go: an organization and a team role, and who said so."""

    organization: str
    role: str
    source: str
    """`--team`, `the spec` or `its name`."""


@dataclass(frozen=True)
class Imported:
    """The organizations (sorted, members sorted by email), the domains their people's emails
    are in, and what a person should know, one line each."""

    organizations: tuple[Organization, ...]
    domains: tuple[str, ...]
    reports: tuple[str, ...] = ()
    left_out: int = 0
    """Active people the spec does not hold (only in unmapped teams, in no team, no email)."""

    @property
    def people(self) -> int:
        """Distinct people in the spec."""
        return len({m.email for org in self.organizations for m in org.members})


def parse_team_option(text: str) -> tuple[str, TeamMap]:
    """`NAME=ORGANIZATION:ROLE` (the name may hold `=` or `:`; the last `=` splits)."""
    name, sep, target = text.rpartition("=")
    organization, colon, role = target.partition(":")
    organization, role = organization.strip(), role.strip().lower()
    if not sep or not colon or not name:
        raise ImportInputError(
            f"--team {text!r}: expected NAME=ORGANIZATION:ROLE, "
            'e.g. --team "Payments Admins=payments:admin"'
        )
    if not _SLUG.fullmatch(organization):
        raise ImportInputError(
            f"--team {text!r}: {organization!r} is not an organization name "
            "(lower-case letters, digits and -)"
        )
    if role == Role.OWNER.value:
        raise ImportInputError(
            f"--team {text!r}: owner is never granted through a team (Insomnia's rule): map "
            f"it to {organization}:admin, and make owners by hand"
        )
    if role not in ROLES:
        raise ImportInputError(f"--team {text!r}: role {role!r} is not admin or member")
    return name, TeamMap(organization, role, "--team")


def from_directory(
    state: DirectoryState,
    *,
    teams: Sequence[str] = (),
    base: Enterprise | None = None,
    outputs: OktaOutputs | None = None,
) -> Imported:
    """The organizations Insomnia's teams hold. `teams` are `--team` texts; `base` the spec
    given with `--spec` (its team names map, its owners stay owners); `outputs` Okta's
    assignments, for oktaLogin and the side-by-side lines. ImportInputError when the read
    was partial or a mapping cannot hold."""
    if not state.complete:
        raise ImportInputError(
            f"the read of the SCIM directory was incomplete ({state.incomplete_reason or '?'}): "
            "a spec from a partial read would leave people out; nothing written"
        )
    by_name: defaultdict[str, list[DirectoryTeam]] = defaultdict(list)
    for team in state.teams.values():
        by_name[team.display_name].append(team)
    named, mapping, shadowed = _team_maps(teams, base, by_name)
    out = _Collect(state.users, base)
    for name, target in sorted(mapping.items()):
        if len(by_name[name]) > 1:
            raise ImportInputError(
                f"Insomnia holds {len(by_name[name])} teams named {name!r}: the first plan "
                "could adopt neither; keep one by hand, then import again"
            )
        for team in by_name[name]:
            out.mapped_team(team, target)
    for name in sorted(set(by_name) - set(mapping)):
        for team in by_name[name]:
            out.unmapped_team(team, shadowed.get(name))
    organizations = out.organizations(named, base, outputs)
    if base is not None:
        kept = {org.name for org in organizations}
        out.reports += [
            f"organization {org.name} of the given spec has no team in Insomnia: not written"
            for org in base.spec.organizations
            if org.name not in kept
        ]
    out.reports += out.left_out_lines()
    out.reports += okta_lines(organizations, outputs)
    out.reports += _first_plan_lines(organizations, state.users, outputs)
    return Imported(
        organizations, _domains(organizations, base), tuple(out.reports), out.left_out_count()
    )


def from_rows(
    rows: Iterable[MemberRow], *, base: Enterprise | None = None, outputs: OktaOutputs | None = None
) -> Imported:
    """The organizations a member list holds (see `reconciler.import_csv`); a given spec's
    team names are kept for its organizations."""
    people: defaultdict[str, list[Member]] = defaultdict(list)
    for row in rows:
        people[row.organization].append(
            Member(
                email=row.email,
                role=row.role,
                given_name=row.given_name,
                family_name=row.family_name,
            )
        )
    names = {org.name: org.teams for org in base.spec.organizations} if base else {}
    organizations = tuple(
        Organization(
            name=org,
            teams=names.get(org, TeamNames()),
            members=tuple(sorted(members, key=lambda m: m.email)),
        )
        for org, members in sorted(people.items())
    )
    return Imported(
        organizations, _domains(organizations, base), tuple(okta_lines(organizations, outputs))
    )


def okta_lines(organizations: Sequence[Organization], outputs: OktaOutputs | None) -> list[str]:
    """People in Insomnia that Okta does not assign (they cannot sign in), and logins Okta
    assigns that are in no organization (they have no seat)."""
    if outputs is None or outputs.assigned_users is None:
        return []
    logins = {m.login: m.email for org in organizations for m in org.members}
    lines = [
        f"not assigned in Okta (cannot sign in): {email}"
        + (f" (Okta login {login})" if login != email else "")
        for login, email in sorted(logins.items(), key=lambda kv: kv[1])
        if login not in outputs.assigned_users
    ]
    lines += [
        f"assigned in Okta, in no organization in Insomnia (no seat): {login}"
        for login in sorted(outputs.assigned_users - set(logins))
    ]
    return lines


def _team_maps(
    options: Sequence[str], base: Enterprise | None, by_name: Mapping[str, list[DirectoryTeam]]
) -> tuple[dict[tuple[str, str], str], dict[str, TeamMap], dict[str, str]]:
    """(organization, role) → the team named for it; team name → where it maps; and why a
    team of a default name is not mapped (its organization's team is named otherwise)."""
    explicit: dict[str, TeamMap] = {}
    for text in options:
        name, target = parse_team_option(text)
        if explicit.setdefault(name, target) != target:
            raise ImportInputError(f"--team maps {name!r} twice, to two organizations or roles")
        if name not in by_name:
            raise ImportInputError(
                f"--team {text!r}: Insomnia has no team named {name!r}{_near(name, by_name)}"
            )
    named: dict[tuple[str, str], str] = {}
    sources: dict[tuple[str, str], str] = {}
    for name, target in explicit.items():
        key = (target.organization, target.role)
        if named.setdefault(key, name) != name:
            raise ImportInputError(
                f"--team maps both {named[key]!r} and {name!r} to {key[0]} {key[1]}s: the spec "
                "names one team per organization and role"
            )
        sources[key] = "--team"
    for org in base.spec.organizations if base is not None else ():
        for role in ROLES:
            name = getattr(org.teams, role)
            if name is not None and (org.name, role) not in named and name not in explicit:
                named[(org.name, role)], sources[(org.name, role)] = name, "the spec"
    mapping = {name: TeamMap(*key, sources[key]) for key, name in named.items()}
    shadowed: dict[str, str] = {}
    for name in by_name:
        found = _DEFAULT.fullmatch(name)
        if name in mapping or found is None:
            continue
        key = (found["organization"], found["role"])
        if key in named:
            shadowed[name] = f"{key[0]}'s {key[1]} team is {named[key]!r} ({sources[key]})"
        else:
            mapping[name] = TeamMap(*key, "its name")
    return named, mapping, shadowed


def _near(name: str, by_name: Mapping[str, object]) -> str:
    close = sorted(n for n in by_name if n.strip().casefold() == name.strip().casefold())
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class _Collect:
    """Who is in which organization with which role, and what to say about it."""

    users: Mapping[str, DirectoryUser]
    base: Enterprise | None
    roles: defaultdict[tuple[str, str], dict[str, str]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    """(organization, email) → team role → the team's name."""
    unmapped: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """email → the unmapped teams they are in."""
    not_email: set[str] = field(default_factory=set)
    present: set[str] = field(default_factory=set)
    reports: list[str] = field(default_factory=list)

    def mapped_team(self, team: DirectoryTeam, target: TeamMap) -> None:
        self.present.add(target.organization)
        for user_name in team.members:
            if not self.users[user_name].active:
                continue
            if not _EMAIL.fullmatch(user_name):
                self.not_email.add(user_name)
                continue
            self.roles[(target.organization, user_name)][target.role] = team.display_name
        if team.other_members:
            self.reports.append(
                f"team {team.display_name!r} holds {team.other_members} member(s) that are no "
                "user Insomnia listed (deleted users, nested groups): left out"
            )

    def unmapped_team(self, team: DirectoryTeam, why: str | None) -> None:
        members = sorted(team.members)
        for user_name in members:
            self.unmapped[user_name].add(team.display_name)
        hint = f"{why}; " if why else ""
        self.reports.append(
            f"unmapped team {team.display_name!r} ({len(members)} member(s){_listed(members)}): "
            f"{hint}not in the spec; map it with --team "
            f'"{team.display_name}=ORGANIZATION:ROLE"'
        )

    def organizations(
        self,
        named: Mapping[tuple[str, str], str],
        base: Enterprise | None,
        outputs: OktaOutputs | None,
    ) -> tuple[Organization, ...]:
        owners = {
            (org.name, m.email)
            for org, m in (base.memberships() if base is not None else ())
            if m.role is Role.OWNER
        }
        base_logins = {m.email: m.okta_login for _, m in base.memberships()} if base else {}
        logins = self._logins(base_logins, outputs)
        members: defaultdict[str, list[Member]] = defaultdict(list)
        for (org, email), teams in sorted(self.roles.items()):
            role = Role.ADMIN if Role.ADMIN.value in teams else Role.MEMBER
            if len(teams) > 1:
                self.reports.append(
                    f"{email} is in both {teams['admin']!r} and {teams['member']!r}: written "
                    f"as an admin of {org}; the first plan drops them from "
                    f"{teams['member']!r} once {teams['admin']!r} is linked"
                )
            if role is Role.ADMIN and (org, email) in owners:
                role = Role.OWNER  # teams cannot show an owner; the given spec can
            user = self.users[email]
            members[org].append(
                Member(
                    email=email,
                    role=role,
                    okta_login=logins.get(email),
                    given_name=_name(user.given_name),
                    family_name=_name(user.family_name),
                )
            )
        organizations = []
        for org in sorted(self.present):
            teams = {
                role: named[(org, role)]
                for role in ROLES
                if (org, role) in named and named[(org, role)] != default_team_name(org, role)
            }
            organizations.append(
                Organization(name=org, teams=TeamNames(**teams), members=tuple(members[org]))
            )
        return tuple(organizations)

    def _logins(
        self, base_logins: Mapping[str, str | None], outputs: OktaOutputs | None
    ) -> dict[str, str]:
        """email → an Okta login other than the email, where the evidence says so: the
        user's externalId, assigned in Okta or named by the given spec. A login two people
        would share is written for neither."""
        assigned = outputs.assigned_users if outputs is not None else None
        found: dict[str, str] = {}
        for email in sorted({email for _, email in self.roles}):
            external = (self.users[email].external_id or "").strip().lower()
            if not external or external == email or not _EMAIL.fullmatch(external):
                continue
            in_okta = assigned is not None and external in assigned
            if in_okta or base_logins.get(email) == external:
                found[email] = external
        holders: defaultdict[str, list[str]] = defaultdict(list)
        for email in {email for _, email in self.roles}:
            holders[found.get(email, email)].append(email)
        for login, emails in sorted(holders.items()):
            if len(emails) < 2:
                continue
            for email in sorted(e for e in emails if e in found):
                del found[email]
                self.reports.append(
                    f"oktaLogin not written for {email}: its externalId {login} is also "
                    f"{', '.join(sorted(e for e in emails if e != email))}'s login"
                )
        self.reports += [
            f"oktaLogin {login} written for {email}: its SCIM externalId"
            + (", assigned in Okta" if assigned is not None and login in assigned else "")
            for email, login in sorted(found.items())
        ]
        return found

    def left_out_lines(self) -> list[str]:
        written = {email for _, email in self.roles}
        lines = [
            f"NOT IN THE SPEC: {email} is only in unmapped teams "
            f"({', '.join(repr(t) for t in sorted(teams))})"
            for email, teams in sorted(self.unmapped.items())
            if email not in written and email not in self.not_email and self._active(email)
        ]
        lines += [
            f"NOT IN THE SPEC: {user_name!r} is not an email address (a userName the spec "
            "cannot hold)"
            for user_name in sorted(self.not_email)
        ]
        lines += [f"NOT IN THE SPEC: {email} is in no team" for email in self._teamless()]
        inactive = sorted(u for u, user in self.users.items() if not user.active)
        if inactive:
            lines.append(
                f"left out {len(inactive)} inactive user(s), deactivated in Insomnia"
                f"{_listed(inactive, ': ')}"
            )
        prune_on = self.base is not None and self.base.spec.prune.enabled
        return lines + (self._prune_lines() if prune_on else [])

    def left_out_count(self) -> int:
        written = {email for _, email in self.roles}
        active = {u for u, user in self.users.items() if user.active}
        return len(active - written)

    def _active(self, email: str) -> bool:
        return self.users[email].active

    def _teamless(self) -> list[str]:
        teamed = set(self.unmapped) | {email for _, email in self.roles} | self.not_email
        return sorted(
            u
            for u, user in self.users.items()
            if user.active and u not in teamed and _EMAIL.fullmatch(u)
        )

    def _prune_lines(self) -> list[str]:
        inactive = sum(1 for u, user in self.users.items() if not user.active)
        if not inactive and not self.not_email:
            return []
        return [
            "prune is on in the given spec: the first plan takes the people the spec leaves "
            "out (inactive, or no email) out of the teams it adopts"
        ]


def _first_plan_lines(
    organizations: Sequence[Organization],
    users: Mapping[str, DirectoryUser],
    outputs: OktaOutputs | None,
) -> list[str]:
    """Users the first plan updates: what Insomnia holds (an externalId in other case, none
    at all, a displayName of its own) that the spec cannot say the same way."""
    names = outputs.names if outputs is not None else {}
    seen: dict[str, list[str]] = {}
    for org in organizations:
        for member in org.members:
            if member.email in seen:
                continue
            user = users[member.email]
            held = {
                "externalId": user.external_id,
                "givenName": user.given_name,
                "familyName": user.family_name,
                "displayName": user.display_name,
            }
            wanted = {"externalId": member.login, **person_names(member, names)}
            seen[member.email] = [key for key, value in wanted.items() if held[key] != value]
    changed = [f"{email} ({', '.join(keys)})" for email, keys in sorted(seen.items()) if keys]
    if not changed:
        return []
    return [
        f"the first plan updates {len(changed)} user(s) whose externalId or name Insomnia holds "
        f"otherwise than the spec says it{_listed(changed, ': ')}"
    ]


def _domains(organizations: Sequence[Organization], base: Enterprise | None) -> tuple[str, ...]:
    if base is not None:
        return base.spec.domains
    return tuple(sorted({m.email.rpartition("@")[2] for org in organizations for m in org.members}))


def _name(value: str | None) -> str | None:
    """A name as the spec holds one (1 to 200 printable characters), else none."""
    text = (value or "").strip()
    return text if 0 < len(text) <= MAX_NAME and text.isprintable() else None


def _listed(items: Sequence[str], lead: str = ": ") -> str:
    if not items:
        return ""
    more = f", … and {len(items) - SAMPLE} more" if len(items) > SAMPLE else ""
    return lead + ", ".join(items[:SAMPLE]) + more


def document(
    imported: Imported,
    *,
    base: Enterprise | None,
    name: str | None,
    sources: Sequence[str],
    now: datetime,
    schema: str = EXAMPLE_SCHEMA,
) -> str:
    """The spec file: the given spec's metadata, domains, SSO block and prune settings (or
    `name`, the people's domains, placeholders and prune off) around the imported
    organizations, under a header naming the sources and the time."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    header = [f"Imported by `insomnia-sso import` at {stamp} from"]
    header += [
        f"  {source}{',' if i < len(sources) - 1 else '.'}" for i, source in enumerate(sources)
    ]
    header.append(
        "Organizations and people are what Insomnia held then: review them before the first plan."
    )
    if base is None:
        header.append(
            "What import cannot know is marked FILL IN; `insomnia-sso validate` lists it."
        )
    return spec_text(
        SpecDocument(
            name=base.name if base is not None else name,
            domains=imported.domains,
            organizations=imported.organizations,
            sso=base.spec.sso if base is not None else None,
            prune=base.spec.prune if base is not None else Prune(),
            header=header,
            schema=schema,
        )
    )
