"""The typed change every planner produces and every store or directory carries out.

Kept apart from the planners so that `reconciler.plan` (ledger and entry point) and
`reconciler.plan_scim` (the SCIM directory) share one vocabulary without importing each
other in a circle. `reconciler.plan` re-exports all of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What a change does; the value is what plan JSON shows."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Kind(StrEnum):
    """What a change touches, in parent-first order.

    Ledger kinds (people recorded by the tool, invitations sent from the UI): invitation,
    member. SCIM kinds (carried out in Insomnia through its connector): user, team,
    team_member.
    """

    INVITATION = "invitation"
    MEMBER = "member"
    USER = "user"
    TEAM = "team"
    TEAM_MEMBER = "team_member"


KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}

ENTERPRISE_WIDE = "*"
"""The removal bucket of deactivated users, who leave the enterprise rather than one
organization; no organization can be named so."""

Attrs = Mapping[str, Any]


@dataclass(slots=True)
class PlanChange:
    """One typed change. `secret_fingerprint` travels beside, never inside, before/after.

    `waiting_on` names the open manual step (`team_link platform-admins`) that holds the
    change back: apply does not carry it out until an owner confirms that step.

    Not frozen only because a frozen one costs four times as much to make, and a first plan
    makes one per person; nothing changes a change once made (`dataclasses.replace` makes
    another), and its before and after are read-only mappings.
    """

    action: Action
    kind: Kind
    key: str
    before: Attrs | None
    after: Attrs | None
    secret_fingerprint: str | None = field(default=None, repr=False)
    waiting_on: str | None = None

    @property
    def organization(self) -> str:
        """The organization an invitation or member change belongs to."""
        return self.key.partition("/")[0]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of one change."""
        out: dict[str, Any] = {
            "action": self.action.value,
            "kind": self.kind.value,
            "key": self.key,
            "before": dict(self.before) if self.before is not None else None,
            "after": dict(self.after) if self.after is not None else None,
        }
        if self.waiting_on is not None:
            out["waiting_on"] = self.waiting_on
        return out


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A person the spec wants whom Okta does not let sign in yet (not in the stack's
    `assigned_users`): no invitation, SCIM user or team membership until `pulumi up`."""

    email: str
    okta_login: str
    organizations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of one person waiting for Okta."""
        return {
            "email": self.email,
            "okta_login": self.okta_login,
            "organizations": list(self.organizations),
        }


@dataclass(frozen=True, slots=True)
class UnmanagedAccess:
    """Someone with access to an organization (through one of the tool's teams, or as a
    ledger member) who is not in the spec for it, and what happens to them."""

    organization: str
    email: str
    role: str
    team: str | None
    """The team giving the access (SCIM); None for a ledger member."""
    outcome: str
    """`removed by this plan`, `stays: prune is off`, `stays: the read was incomplete`."""

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of one unmanaged access."""
        return {
            "organization": self.organization,
            "email": self.email,
            "role": self.role,
            "team": self.team,
            "outcome": self.outcome,
        }


REMOVED = "removed by this plan"
KEPT_PRUNE_OFF = "stays: prune is off"
KEPT_PARTIAL = "stays: the read was incomplete"
KEPT_OWNER = "stays: owners are never removed"
