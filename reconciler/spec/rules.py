"""Rules that relate one field of a spec to another, every problem reported with its location.

`cross_check` runs them on a valid enterprise: the fast path, over the models themselves.
When some field is invalid there is no enterprise, so `cross_check_data` runs the same rules
on whatever did parse: each value is checked by the models' own field types first, and a
value that fails is left out of the rules (its own problem is reported already). So a wrong
`maxFraction` never hides an email outside the claimed domains, and a malformed email is
never also called one outside them: every problem comes out in one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from reconciler.spec.models import (
    Domain,
    Email,
    Enterprise,
    HttpsUrl,
    Loc,
    Role,
    Slug,
    TeamNames,
    Text,
    default_team_name,
    host_of,
)

Found = list[tuple[Loc, str]]
"""Problems as (location, message), the location in the spec's own key names."""


class MemberView(Protocol):
    """What the rules read of a person: a `Member`, or what parsed of one."""

    @property
    def email(self) -> str: ...
    @property
    def okta_login(self) -> str | None: ...
    @property
    def login(self) -> str | None:
        """The Okta login; None when it is not known (an invalid `oktaLogin`)."""

    @property
    def given_name(self) -> str | None: ...
    @property
    def family_name(self) -> str | None: ...


class TeamsView(Protocol):
    """The team names an organization gives, if any."""

    @property
    def admin(self) -> str | None: ...
    @property
    def member(self) -> str | None: ...


class OrganizationView(Protocol):
    """What the rules read of an organization; None where a value did not parse."""

    @property
    def name(self) -> str | None: ...
    @property
    def teams(self) -> TeamsView | None: ...
    @property
    def members(self) -> Sequence[MemberView | None]: ...


def cross_check(enterprise: Enterprise) -> Found:
    """The rules spanning several fields of a valid enterprise."""
    spec = enterprise.spec
    okta = spec.sso.okta
    return _rules(
        spec.domains,
        spec.sso.domain_identifier,
        okta.custom_domain,
        okta.org_host,
        spec.organizations,
    )


def _rules(
    claimed: Sequence[str | None] | None,
    identifier: str | None,
    custom_domain: str | None,
    org_host: str | None,
    organizations: Sequence[OrganizationView | None],
) -> Found:
    """Every rule, skipping what is None (did not parse). `claimed` is None when the domains
    could not be read at all; the rules that need every domain run only when each parsed."""
    problems: Found = []
    domains: set[str] = set()
    for i, domain in enumerate(claimed or ()):
        if domain in domains:
            problems.append((("spec", "domains", i), f"duplicate domain '{domain}'"))
        if domain is not None:
            domains.add(domain)
    whole = bool(claimed) and None not in (claimed or ())
    listed = ", ".join(sorted(domains))
    if whole and identifier is not None and identifier not in domains:
        problems.append(
            (
                ("spec", "sso", "domainIdentifier"),
                f"domainIdentifier '{identifier}' is not one of the claimed domains ({listed})",
            )
        )
    if custom_domain is not None and custom_domain == org_host:
        problems.append(
            (
                ("spec", "sso", "okta", "customDomain"),
                f"customDomain '{custom_domain}' is the orgUrl's own host; a custom domain "
                "is a name of your own (e.g. login.acme.com): leave it out to sign in on the "
                "Okta org's domain",
            )
        )
    orgs: set[str] = set()
    login_of: dict[str, str] = {}
    email_of: dict[str, str] = {}
    names_of: dict[str, tuple[str | None, str | None]] = {}
    team_owner: dict[str, str] = {}
    # Most specs give nobody an Okta login or names of their own: then the rules between
    # organizations (one login per person, one person per login, one name per person) cannot
    # fail, and an organization's people are checked at once (`_plainly_fine`). The loop
    # that names where a problem is runs person by person only where that check fails.
    plain = all(
        member is not None
        and member.okta_login is None
        and member.given_name is None
        and member.family_name is None
        for org in organizations
        if org is not None
        for member in org.members
    )
    for o, org in enumerate(organizations):
        if org is None:
            continue
        where: Loc = ("spec", "organizations", o)
        if org.name is not None:
            if org.name in orgs:
                problems.append(((*where, "name"), f"duplicate organization '{org.name}'"))
            orgs.add(org.name)
        if org.name is not None and org.teams is not None:
            for role in (Role.ADMIN, Role.MEMBER):
                named = getattr(org.teams, role)
                team = named or default_team_name(org.name, role)
                mine = f"{org.name} {role.value}s"
                owner = team_owner.setdefault(team.casefold(), mine)
                if owner != mine:
                    at_team: Loc = (*where, "teams", role.value) if named else where
                    clash = f"team name '{team}' is also the team of {owner}: names are unique"
                    problems.append((at_team, clash))
        if plain and _plainly_fine(org.members, domains if whole else None):
            continue
        seen: set[str] = set()
        # Run once per person (100,000s): a problem's location is made only when one is found.
        for m, member in enumerate(org.members):
            if member is None:
                continue
            email = member.email
            if email in seen:
                if org.name is not None:
                    problems.append(
                        (
                            (*where, "members", m, "email"),
                            f"duplicate member '{email}' in organization '{org.name}'",
                        )
                    )
            else:
                seen.add(email)
            if whole and email[email.rfind("@") + 1 :] not in domains:
                problems.append(
                    (
                        (*where, "members", m, "email"),
                        f"'{email}' is not in a claimed domain ({listed})",
                    )
                )
            given, family = member.given_name, member.family_name
            if (given or family) and names_of.setdefault(email, (given, family)) != (given, family):
                problems.append(
                    (
                        (*where, "members", m, "givenName" if given else "familyName"),
                        f"'{email}' has another name in another organization",
                    )
                )
            login = member.login
            if login is None:
                continue
            if login_of.setdefault(email, login) != login:
                problems.append(
                    (
                        (*where, "members", m, "oktaLogin"),
                        f"'{email}' has Okta login '{login}' here but "
                        f"'{login_of[email]}' in another organization",
                    )
                )
            if email_of.setdefault(login, email) != email:
                problems.append(
                    (
                        (*where, "members", m, "oktaLogin" if member.okta_login else "email"),
                        f"Okta login '{login}' belongs to both '{email_of[login]}' and '{email}'",
                    )
                )
    return problems


def _plainly_fine(members: Sequence[MemberView | None], domains: set[str] | None) -> bool:
    """No one twice, and (when `domains` is given) everyone in a claimed domain; every
    member parsed (`plain`)."""
    emails = [member.email for member in members if member is not None]
    if len(set(emails)) != len(emails):
        return False
    return domains is None or {email[email.rfind("@") + 1 :] for email in emails} <= domains


# --- the same rules on what parsed of an invalid spec ---------------------------------------


@dataclass(frozen=True, slots=True)
class _PartialMember:
    """A person whose email parsed; a login or names that did not are None (not checked)."""

    email: str
    okta_login: str | None
    login: str | None
    given_name: str | None
    family_name: str | None


@dataclass(frozen=True, slots=True)
class _PartialOrganization:
    name: str | None
    teams: TeamNames | None
    members: tuple[_PartialMember | None, ...]


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    """The pydantic validator of one field type, built once and only on the slow path."""
    return TypeAdapter(kind)


def _valid(kind: Any, value: object) -> Any:
    """`value` as the field type `kind` makes it (lower-cased emails, say), or None."""
    if value is None:
        return None
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError:
        return None


def _get(data: object, alias: str, name: str | None = None) -> object:
    """The value under a key (its camelCase alias, or its Python name), None when absent or
    when `data` is not a mapping."""
    if not isinstance(data, dict):  # what YAML gives; a dict, not any Mapping, is fast to check
        return None
    if alias in data:
        return data[alias]
    return data.get(name) if name is not None else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def cross_check_data(data: object) -> Found:
    """The cross-field rules on a parsed document that did not validate: each rule runs on
    the values that are valid on their own, and skips what is not."""
    spec = _get(data, "spec")
    sso = _get(spec, "sso")
    okta = _get(sso, "okta")
    raw_domains = _get(spec, "domains")
    claimed = [_valid(Domain, d) for d in raw_domains] if isinstance(raw_domains, list) else None
    org_url = _valid(HttpsUrl, _get(okta, "orgUrl", "org_url"))
    return _rules(
        claimed,
        _valid(Domain, _get(sso, "domainIdentifier", "domain_identifier")),
        _valid(Domain, _get(okta, "customDomain", "custom_domain")),
        host_of(org_url) if org_url is not None else None,
        [_organization(raw) for raw in _list(_get(spec, "organizations"))],
    )


def _organization(raw: object) -> _PartialOrganization | None:
    if not isinstance(raw, dict):
        return None
    teams: TeamNames | None = TeamNames()
    if _get(raw, "teams") is not None:
        teams = _valid(TeamNames, _get(raw, "teams"))
    members = tuple(_member(m) for m in _list(_get(raw, "members")))
    return _PartialOrganization(_valid(Slug, _get(raw, "name")), teams, members)


def _optional(kind: Any, value: object) -> tuple[bool, str | None]:
    """Whether an optional field parsed (absent counts as parsed), and its value."""
    if value is None:
        return True, None
    parsed = _valid(kind, value)
    return parsed is not None, parsed


def _member(raw: object) -> _PartialMember | None:
    if not isinstance(raw, dict):
        return None
    email = _valid(Email, raw.get("email"))
    if not isinstance(email, str):
        return None
    if len(raw) == 1:  # the usual person: an email alone, nothing else to parse
        return _PartialMember(email, None, email, None, None)
    login_parsed, okta_login = _optional(Email, _get(raw, "oktaLogin", "okta_login"))
    given_parsed, given = _optional(Text, _get(raw, "givenName", "given_name"))
    family_parsed, family = _optional(Text, _get(raw, "familyName", "family_name"))
    login = (okta_login or email) if login_parsed else None
    if not (given_parsed and family_parsed):
        given = family = None
    return _PartialMember(email, okta_login, login, given, family)
