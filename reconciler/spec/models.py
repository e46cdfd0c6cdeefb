"""The desired state: pydantic models for `apiVersion: insomnia-sso/v1`, `kind: Enterprise`.

Field-level rules (types, unknown keys, email and URL shapes, roles) are pydantic's, so the
JSON Schema editors use is the same rulebook the loader enforces. Rules that relate one field
to another (claimed domains, duplicates) live in `cross_check`, which reports every problem at
once with its location instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

API_VERSION = "insomnia-sso/v1"
KIND = "Enterprise"

# Deliberately plain (RFC 5322 dot-atom local part, DNS labels): checked by pydantic-core's
# Rust regex (values are lower-cased after the check): 100,000 members need no Python call each.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_HOST = r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
EMAIL_PATTERN = rf"^{_ATOM}(\.{_ATOM})*@{_HOST}$"
DOMAIN_PATTERN = rf"^{_HOST}$"
SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
HTTPS_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$"

Email = Annotated[str, StringConstraints(to_lower=True, pattern=EMAIL_PATTERN)]
Domain = Annotated[str, StringConstraints(to_lower=True, pattern=DOMAIN_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
HttpsUrl = Annotated[str, StringConstraints(pattern=HTTPS_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]

PLACEHOLDER = "FILL IN: "
"""How a value the owner must still supply starts (`import` writes them where it cannot know
the value). Every such field has a pattern the placeholder fails, so a spec holding one never
validates, and the loader says `fill in …` instead of the pattern's complaint."""

PATTERN_NAMES = {
    EMAIL_PATTERN: "a valid email address",
    DOMAIN_PATTERN: "a valid domain name",
    SLUG_PATTERN: "a slug of lower-case letters, digits and '-'",
    HTTPS_PATTERN: "an https:// URL",
}


class Role(StrEnum):
    """Insomnia organization roles. Owner exists but cannot be granted by invitation."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class Member(_Model):
    """A person in an organization; their Okta login defaults to their email.

    `givenName` and `familyName` are what Insomnia's SCIM connector receives as the person's
    name, as Okta would send it; without them the Okta profile's names are used when the
    stack outputs carry them, else none is sent.
    """

    email: Email
    role: Role = Role.MEMBER
    okta_login: Email | None = None
    given_name: Text | None = None
    family_name: Text | None = None

    @property
    def login(self) -> str:
        """The Okta login assigned to the app for this person."""
        return self.okta_login or self.email


class TeamNames(_Model):
    """The names of an organization's teams in Insomnia, for teams that exist already (pushed
    by Okta before, say); a role left out keeps the default `{organization}-{role}s`."""

    admin: Text | None = None
    member: Text | None = None


class Organization(_Model):
    """An Insomnia organization and the people who belong to it."""

    name: Slug
    teams: TeamNames = TeamNames()
    members: tuple[Member, ...] = ()

    def team_name(self, role: str) -> str:
        """The displayName of the team holding `role` (`admin` or `member`) in Insomnia."""
        named = self.teams.admin if role == Role.ADMIN else self.teams.member
        return named or default_team_name(self.name, role)


def default_team_name(organization: str, role: str) -> str:
    """`{organization}-{role}s`: the team name when the spec names none."""
    return f"{organization}-{role}s"


class AuthorizationServer(_Model):
    """The Okta custom authorization server that is Insomnia's OIDC issuer."""

    name: Text
    audience: Text
    description: Text = "Issuer for Insomnia Enterprise SSO"


class OktaSettings(_Model):
    """Where and how the Okta side is declared.

    `customDomain` is the company's own sign-in domain in Okta (a custom URL domain such as
    login.acme.com). When set, the authorization server issues tokens on it, and the issuer
    is `https://{customDomain}/oauth2/{id}` instead of one on the org's own host. The domain
    itself, its DNS and certificate, is org-wide Okta configuration shared with other apps:
    it must exist and be verified in Okta first, and nothing here declares it.
    """

    org_url: HttpsUrl
    custom_domain: Domain | None = None
    app_label: Text = "Insomnia"
    authorization_server: AuthorizationServer

    @property
    def org_host(self) -> str:
        """The Okta org's host, lower-cased: `acme.okta.com`."""
        return (urlsplit(self.org_url).hostname or "").lower()

    @property
    def issuer_host(self) -> str:
        """The host the issuer is on: the custom domain when there is one, else the org's."""
        return self.custom_domain or self.org_host


class Sso(_Model):
    """The Insomnia SSO connection and the Okta OIDC app behind it."""

    type: Literal["oidc"]
    domain_identifier: Domain
    sso_url: HttpsUrl
    okta: OktaSettings


class Prune(_Model):
    """Opt-in removal of members who left the spec, bounded per organization."""

    enabled: bool = Field(default=False, strict=True)
    max_fraction: float = Field(default=0.1, ge=0.0, le=1.0, strict=True)


class EnterpriseSpec(_Model):
    """Everything that must be true on both sides for one enterprise."""

    domains: tuple[Domain, ...] = Field(min_length=1)
    sso: Sso
    organizations: tuple[Organization, ...] = ()
    prune: Prune = Prune()


class Metadata(_Model):
    """Identity of the enterprise; its name keys state, locks and stacks."""

    name: Slug


class Enterprise(_Model):
    """One `kind: Enterprise` document: the single source of truth for Okta and Insomnia."""

    model_config = ConfigDict(title="insomnia-sso Enterprise spec")

    api_version: Literal["insomnia-sso/v1"]
    kind: Literal["Enterprise"]
    metadata: Metadata
    spec: EnterpriseSpec

    @property
    def name(self) -> str:
        """The enterprise's slug."""
        return self.metadata.name

    def memberships(self) -> Iterator[tuple[Organization, Member]]:
        """Every (organization, member) pair in spec order."""
        for org in self.spec.organizations:
            for member in org.members:
                yield org, member

    def assigned_logins(self) -> list[str]:
        """The sorted, distinct Okta logins that must be assigned to the app."""
        return sorted({member.login for _, member in self.memberships()})


Loc = tuple[str | int, ...]

_SECRET_WORDS = ("secret", "token", "password", "passwd", "apikey", "privatekey", "credential")


def looks_secret(key: str) -> bool:
    """True for keys such as clientSecret, api_token or private-key."""
    folded = key.lower().replace("_", "").replace("-", "")
    return any(word in folded for word in _SECRET_WORDS)


def cross_check(enterprise: Enterprise) -> list[tuple[Loc, str]]:
    """Rules spanning several fields, each reported with the location of the offending value."""
    problems: list[tuple[Loc, str]] = []
    spec = enterprise.spec
    domains: set[str] = set()
    for i, domain in enumerate(spec.domains):
        if domain in domains:
            problems.append((("spec", "domains", i), f"duplicate domain '{domain}'"))
        domains.add(domain)
    if spec.sso.domain_identifier not in domains:
        problems.append(
            (
                ("spec", "sso", "domainIdentifier"),
                f"domainIdentifier '{spec.sso.domain_identifier}' is not one of the claimed "
                f"domains ({', '.join(sorted(domains))})",
            )
        )
    okta = spec.sso.okta
    if okta.custom_domain is not None and okta.custom_domain == okta.org_host:
        problems.append(
            (
                ("spec", "sso", "okta", "customDomain"),
                f"customDomain '{okta.custom_domain}' is the orgUrl's own host; a custom domain "
                "is a name of your own (e.g. login.acme.com): leave it out to sign in on the "
                "Okta org's domain",
            )
        )
    orgs: set[str] = set()
    login_of: dict[str, str] = {}
    email_of: dict[str, str] = {}
    names_of: dict[str, tuple[str | None, str | None]] = {}
    team_owner: dict[str, str] = {}
    for o, org in enumerate(spec.organizations):
        where: Loc = ("spec", "organizations", o)
        if org.name in orgs:
            problems.append(((*where, "name"), f"duplicate organization '{org.name}'"))
        orgs.add(org.name)
        for role in (Role.ADMIN, Role.MEMBER):
            team = org.team_name(role)
            owner = team_owner.setdefault(team.casefold(), f"{org.name} {role.value}s")
            if owner != f"{org.name} {role.value}s":
                at_team: Loc = (*where, "teams", role.value) if getattr(org.teams, role) else where
                problems.append(
                    (at_team, f"team name '{team}' is also the team of {owner}: names are unique")
                )
        seen: set[str] = set()
        for m, member in enumerate(org.members):
            at: Loc = (*where, "members", m)
            email = member.email
            if email in seen:
                problems.append(
                    ((*at, "email"), f"duplicate member '{email}' in organization '{org.name}'")
                )
            seen.add(email)
            domain = email.rpartition("@")[2]
            if domain not in domains:
                problems.append(
                    (
                        (*at, "email"),
                        f"'{email}' is not in a claimed domain ({', '.join(sorted(domains))})",
                    )
                )
            login = member.login
            if login_of.setdefault(email, login) != login:
                problems.append(
                    (
                        (*at, "oktaLogin"),
                        f"'{email}' has Okta login '{login}' here but "
                        f"'{login_of[email]}' in another organization",
                    )
                )
            names = (member.given_name, member.family_name)
            if any(names) and names_of.setdefault(email, names) != names:
                problems.append(
                    (
                        (*at, "givenName" if member.given_name else "familyName"),
                        f"'{email}' has another name in another organization",
                    )
                )
            if email_of.setdefault(login, email) != email:
                problems.append(
                    (
                        (*at, "oktaLogin" if member.okta_login else "email"),
                        f"Okta login '{login}' belongs to both '{email_of[login]}' and '{email}'",
                    )
                )
    return problems
