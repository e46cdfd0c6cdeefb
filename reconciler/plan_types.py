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


@dataclass(frozen=True, slots=True)
class PlanChange:
    """One typed change. `secret_fingerprint` travels beside, never inside, before/after.

    `waiting_on` names the open manual step (`team_link platform-admins`) that holds the
    change back: apply does not carry it out until an owner confirms that step.
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
