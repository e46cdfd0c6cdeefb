"""The directory interface the planner's people changes are carried out through.

A directory reads one snapshot (`DirectoryState`) and carries out `user`, `team` and
`team_member` changes. Ids (SCIM `id`s) stay inside the implementation: the planner and
the changes speak only of userNames (emails) and team displayNames.

Change shapes it receives (all keys lower-cased emails or displayNames):

    user create         key email   after {userName, externalId, active: true}
    user update         key email   before/after: the changed ones of {externalId, active}
    user delete         key email   before {userName, externalId, active}; carried out as
                                    active: false, never a DELETE
    team create         key name    after {displayName, externalId, organization, role}
    team delete         key name    before {displayName, externalId, organization, role}
    team_member create  key name/email   after {team, email}
    team_member delete  key name/email   before {team, email}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.plan import PlanChange
from reconciler.state import DirectoryState


@dataclass(frozen=True)
class WriteReport:
    """What one `write` carried out. A failed change is named with a one-line reason that
    never holds the token; apply journals both lists and a re-run plans the failed ones
    again."""

    done: tuple[PlanChange, ...]
    failed: tuple[tuple[PlanChange, str], ...] = ()
    requests: int = 0


@dataclass(frozen=True)
class DirectoryProbe:
    """What a directory says about itself, for `doctor`: its features and its size."""

    bulk: bool
    bulk_max_operations: int
    patch: bool
    page_size: int
    users: int
    managed_teams: int


class Directory(ABC):
    """People and teams of one Insomnia enterprise."""

    @abstractmethod
    def read(self, *, enterprise: str) -> DirectoryState:
        """Every user and this enterprise's managed teams, in pages; a failed or short page
        marks the state incomplete instead of raising (absence then proves nothing).
        Raises DirectoryAuthError when the token is rejected."""

    @abstractmethod
    def write(self, *, enterprise: str, changes: Sequence[PlanChange]) -> WriteReport:
        """Carry out changes in the order given (users, teams, memberships; removals last).

        Needs a `read` first on the same instance (it maps names to ids). Re-running the
        same changes is safe: an existing user is adopted, never duplicated, and a create
        whose answer was lost is looked up before it is sent again. Raises
        DirectoryAuthError (nothing more is sent) when the token is rejected."""

    @abstractmethod
    def probe(self, *, enterprise: str) -> DirectoryProbe:
        """Check the token and say what the directory supports and holds."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
