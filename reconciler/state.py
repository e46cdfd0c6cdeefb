"""What the Insomnia side actually holds: a read-only snapshot a store hands to the planner.

Rows are frozen dataclasses keyed the way plan keys are (`platform/alice@acme.com`), so the
planner compares dictionaries and never touches a store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

INVITATION_TTL = timedelta(days=7)
"""How long an invitation stays valid before it must be re-sent."""


class InvitationStatus(StrEnum):
    """pending → accepted (a member) | expired | revoked."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"


def member_key(organization: str, email: str) -> str:
    """The plan key of an invitation or membership: `platform/alice@acme.com`."""
    return f"{organization}/{email}"


def split_member_key(key: str) -> tuple[str, str]:
    """(organization, email) of a `member_key`."""
    organization, _, email = key.partition("/")
    return organization, email


@dataclass(frozen=True, slots=True)
class DomainState:
    """A claimed domain; SSO needs at least one verified (DNS TXT) domain."""

    name: str
    verified: bool = False


@dataclass(frozen=True, slots=True)
class SsoConnectionState:
    """Insomnia's OIDC connection; the secret is held only as a fingerprint."""

    domain_identifier: str
    sso_url: str
    client_id: str
    issuer: str
    secret_fingerprint: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class InvitationState:
    """The latest invitation of one person to one organization."""

    organization: str
    email: str
    role: str
    status: InvitationStatus
    invited_at: datetime
    expires_at: datetime

    @property
    def key(self) -> str:
        """`organization/email`."""
        return member_key(self.organization, self.email)

    def status_at(self, now: datetime) -> InvitationStatus:
        """The status as of `now`: a pending invitation past its expiry is expired."""
        if self.status is InvitationStatus.PENDING and self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return self.status


@dataclass(frozen=True, slots=True)
class MemberState:
    """A person who accepted and belongs to an organization with a role."""

    organization: str
    email: str
    role: str
    joined_at: datetime

    @property
    def key(self) -> str:
        """`organization/email`."""
        return member_key(self.organization, self.email)


@dataclass(frozen=True)
class ActualState:
    """Everything the store holds for one enterprise, as of one read.

    `complete` is False when any part of the read failed or was partial; the planner then
    never removes anyone, because absence in a partial read proves nothing.
    """

    enterprise: str
    as_of: datetime
    exists: bool = False
    domains: dict[str, DomainState] = field(default_factory=dict)
    sso: SsoConnectionState | None = None
    organizations: frozenset[str] = frozenset()
    invitations: dict[str, InvitationState] = field(default_factory=dict)
    members: dict[str, MemberState] = field(default_factory=dict)
    complete: bool = True
    incomplete_reason: str = ""
