"""What the Insomnia side actually holds: a read-only snapshot a store hands to the planner.

Rows are dataclasses keyed the way plan keys are (`platform/alice@acme.com`), so the
planner compares dictionaries and never touches a store. Nothing changes a row once read.
The rows a read makes by the hundred thousand (invitations, members, confirmations) are not
frozen only because frozen dataclasses cost four times as much to make; the others are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

INVITATION_TTL = timedelta(days=30)
"""How long an invitation sent from Insomnia stays valid before it must be sent again
(Insomnia keeps pending invitations 30 days)."""


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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


def team_external_id(enterprise: str, organization: str, role: str) -> str:
    """`insomnia-sso:{enterprise}:{organization}:{role}`: the externalId profile rfc7644
    sends with a team it creates, for people reading the directory; never relied upon (a
    server may drop it, and profile okta never sends one)."""
    return f"insomnia-sso:{enterprise}:{organization}:{role}"


@dataclass(frozen=True, slots=True)
class ManagedTeam:
    """A SCIM Group (an Insomnia Team) the tool created or adopted, as the record keeps it.

    Keyed by (organization, role): the team's name may change (the spec may name it), its
    SCIM id does not, and the id is how the team is found again.
    """

    organization: str
    role: str
    """The team role: `admin` or `member` (owners sit in the admins team)."""
    scim_id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A SCIM User as the planner sees it; `user_name` is lower-cased (Insomnia matches by
    email, case-insensitively). Names are as the directory holds them (None: not held)."""

    user_name: str
    external_id: str | None
    active: bool
    id: str = ""
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class DirectoryTeam:
    """A SCIM Group (an Insomnia Team); `members` are the lower-cased userNames of listed
    users (an id that is no listed user is left out)."""

    id: str
    display_name: str
    members: frozenset[str] = frozenset()
    external_id: str | None = None
    other_members: int = 0
    """Member ids that are no listed user (deleted users, nested groups): not in `members`."""


@dataclass(frozen=True)
class DirectoryState:
    """People and teams as one read of the directory found them.

    `users` holds every user listed, by lower-cased userName; `teams` every group listed, by
    SCIM id (which of them this tool manages is the record's to say, `ActualState.
    managed_teams`, or the spec's by name). A read that missed something (a failed or short
    page, a resource without id or that does not parse) is partial for that kind: the
    planner then removes nothing and creates nothing of that kind.
    """

    users: Mapping[str, DirectoryUser] = field(default_factory=dict)
    teams: Mapping[str, DirectoryTeam] = field(default_factory=dict)
    users_complete: bool = True
    teams_complete: bool = True
    incomplete_reason: str = ""

    @property
    def complete(self) -> bool:
        """True when both users and teams were read whole."""
        return self.users_complete and self.teams_complete

    def named(self, display_name: str) -> list[DirectoryTeam]:
        """Every team whose displayName is exactly `display_name`."""
        return [team for team in self.teams.values() if team.display_name == display_name]


@dataclass(slots=True)
class Confirmation:
    """An owner's record that a manual step was done, for the values it had then.

    `digest` fingerprints those values: when the plan's step has another digest (a new
    client id, say), the step is open again. `detail` holds what the owner added (the TXT
    value a domain was verified with), never a secret.
    """

    kind: str
    key: str
    digest: str
    actor: str
    at: datetime
    detail: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


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
    organizations: frozenset[str] = frozenset()
    invitations: dict[str, InvitationState] = field(default_factory=dict)
    members: dict[str, MemberState] = field(default_factory=dict)
    complete: bool = True
    incomplete_reason: str = ""
    confirmations: Mapping[tuple[str, str], Confirmation] = field(default_factory=dict)
    """Confirmed manual steps by (kind, key)."""
    managed_users: frozenset[str] = frozenset()
    """Lower-cased userNames the tool created or adopted in the directory (it may change them)."""
    managed_user_ids: Mapping[str, str] = field(default_factory=dict)
    """The SCIM id of each managed user, by lower-cased userName; "" when it was recorded
    before the record kept ids."""
    managed_teams: Mapping[tuple[str, str], ManagedTeam] = field(default_factory=dict)
    """Teams the tool created or adopted, by (organization, role)."""
    directory: DirectoryState | None = None
    """People and teams from the SCIM directory; None when people live in the ledger."""
