"""The directory interface the planner's people changes are carried out through.

A directory reads one snapshot (`DirectoryState`) and carries out `user`, `team` and
`team_member` changes. The planner decides identity (which team is the tool's, by the
record's SCIM id or by name), so team changes carry the SCIM `id` of a team that exists;
users are found by userName.

Change shapes it receives (keys: lower-cased emails, team displayNames):

    user create         key email   after {userName, externalId, active: true,
                                           givenName?, familyName?, displayName?}
    user update         key email   before/after: the changed ones of {externalId, active,
                                    givenName, familyName, displayName}
    user delete         key email   before {userName, externalId, active: true}; carried out
                                    as active: false, never a DELETE
    team create         key name    after {displayName, organization, role, externalId?}
    team update         key name    adopting: before {id, displayName, managed: false},
                                    after {id, displayName, organization, role, managed: true};
                                    renaming: before {id, displayName}, after {id, displayName,
                                    organization, role}
    team delete         key name    before {id, displayName, organization, role}
    team_member create  key name/email   after {team, email, organization, teamId?}
    team_member delete  key name/email   before {team, email, organization, teamId}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.plan_types import PlanChange
from reconciler.state import DirectoryState


@dataclass(frozen=True)
class WriteReport:
    """What one `write` carried out. A failed change is named with a one-line reason that
    never holds the token; apply journals both lists and a re-run plans the failed ones
    again. `user_ids` and `team_ids` are the SCIM ids this run created or adopted, for the
    record."""

    done: tuple[PlanChange, ...]
    failed: tuple[tuple[PlanChange, str], ...] = ()
    requests: int = 0
    user_ids: Mapping[str, str] = field(default_factory=dict)
    """userName → id of users created or adopted in this run."""
    team_ids: Mapping[str, str] = field(default_factory=dict)
    """Team name → id of teams created, adopted or renamed in this run."""


@dataclass(frozen=True)
class DirectoryProbe:
    """What a directory says about itself, for `doctor`: its profile, features and size,
    and which of the profile's read requests it answered."""

    profile: str
    bulk: bool
    bulk_max_operations: int
    patch: bool
    page_size: int
    users: int
    teams: int
    requests: tuple[tuple[str, str], ...] = ()
    """(request, how the server answered it)."""


class Directory(ABC):
    """People and teams of one Insomnia enterprise."""

    @abstractmethod
    def read(self, *, enterprise: str) -> DirectoryState:
        """Every user and team, in pages; a read that missed something is marked partial
        instead of raising (absence then proves nothing). Raises DirectoryAuthError when
        the token is rejected."""

    @abstractmethod
    def write(self, *, enterprise: str, changes: Sequence[PlanChange]) -> WriteReport:
        """Carry out changes make before break (users, teams, adds, then removals, team
        deletions, deactivations), whatever order they come in.

        Needs a `read` first on the same instance (it maps names to ids). Re-running the
        same changes is safe: an existing user is adopted, never duplicated, and a create
        whose answer was lost is looked up (identity-checked) before it is sent again.
        Raises DirectoryAuthError (nothing more is sent) when the token is rejected."""

    @abstractmethod
    def probe(self, *, enterprise: str) -> DirectoryProbe:
        """Check the token and say what the directory answers and holds."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
