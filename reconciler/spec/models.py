"""The desired state: pydantic models for `apiVersion: insomnia-sso/v1`, `kind: Enterprise`.

Field-level rules (types, unknown keys, email and URL shapes, roles) are pydantic's, so the
JSON Schema editors use is the same rulebook the loader enforces. Rules that relate one field
to another (claimed domains, duplicates) live in `reconciler.spec.rules`, which reports every
problem at once with its location, alongside the field problems, instead of stopping at the
first.
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
    # defer_build: a model's validator is made when that model itself first validates. A
    # spec is validated as one Enterprise, whose validator holds every nested model's schema,
    # so the nested models never need validators of their own (a tenth of a second less for
    # `validate`, run by editors and pre-commit on every save).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        defer_build=True,
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


def host_of(url: str) -> str:
    """A URL's host, lower-cased ("" when it has none)."""
    return (urlsplit(url).hostname or "").lower()


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
        return host_of(self.org_url)

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
