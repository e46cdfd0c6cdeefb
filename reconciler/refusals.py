"""What apply refuses to carry out, evaluated on a plan, so that `plan` shows it too.

Two things lose people by accident, and apply refuses the whole plan for either, before
anything is written:

    partial_read   any removal (revoked invitation, removed member, team membership,
                   deactivated user) after a read of the record or directory that missed
                   something: absence then proves nothing. Never overridden.
    mass_removal   more than `prune.maxFraction` of an organization's people (or of the
                   managed users, for deactivations) removed at once. Overridden by
                   `--allow-mass-removal`, given to plan and apply alike.

`plan` lists them under their own heading and in its JSON as `refusals`, and exits 1; apply
raises `PlanRefusedError` with the messages it has always given (`refusal_error`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.errors import PlanRefusedError
from reconciler.plan import Plan
from reconciler.plan_types import ENTERPRISE_WIDE, Action

__all__ = ["Refusal", "RefusalReason", "mass_removals", "refusal_error", "refusals"]


class RefusalReason(StrEnum):
    """Why apply refuses; the value is what plan JSON shows."""

    PARTIAL_READ = "partial_read"
    MASS_REMOVAL = "mass_removal"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One reason apply would refuse a plan, in words and in numbers."""

    reason: RefusalReason
    message: str
    """One line without the refusing verb: `remove 2 of 5 member(s) from 'platform': more
    than prune.maxFraction (20%) of an organization at once`."""
    organization: str | None = None
    """The organization losing people; None for deactivations (the whole enterprise) and
    for a partial read."""
    removed: int = 0
    current: int = 0
    max_fraction: float | None = None

    @property
    def overridable(self) -> bool:
        """True when `--allow-mass-removal` lifts it; a partial read is never lifted."""
        return self.reason is RefusalReason.MASS_REMOVAL

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of one refusal."""
        out: dict[str, Any] = {"reason": self.reason.value, "message": self.message}
        if self.reason is RefusalReason.MASS_REMOVAL:
            out.update(
                organization=self.organization,
                removed=self.removed,
                current=self.current,
                max_fraction=self.max_fraction,
            )
        else:
            out["removed"] = self.removed
        return out


def refusals(plan: Plan, *, allow_mass_removal: bool = False) -> tuple[Refusal, ...]:
    """Everything apply would refuse in `plan`: a partial read's removals always, the mass
    removals unless `allow_mass_removal`."""
    partial = _partial_read(plan)
    if partial is not None:
        return (partial,)
    return () if allow_mass_removal else mass_removals(plan)


def mass_removals(plan: Plan) -> tuple[Refusal, ...]:
    """Every organization (and the managed users) losing more than `prune.maxFraction` of
    its people at once, whether or not the refusal is overridden."""
    max_fraction = plan.max_fraction
    out = []
    for org, removed in sorted(plan.removed.items()):
        people = plan.current.get(org, 0)
        # Exactly maxFraction is allowed; the epsilon absorbs float error (0.29 * 100 = 28.99…).
        if removed <= math.floor(max_fraction * people + 1e-9):
            continue
        what = (
            f"deactivate {removed} of {people} managed user(s)"
            if org == ENTERPRISE_WIDE
            else f"remove {removed} of {people} member(s) from '{org}'"
        )
        out.append(
            Refusal(
                RefusalReason.MASS_REMOVAL,
                f"{what}: more than prune.maxFraction ({max_fraction:.0%}) of an organization "
                "at once",
                None if org == ENTERPRISE_WIDE else org,
                removed,
                people,
                max_fraction,
            )
        )
    return tuple(out)


def _partial_read(plan: Plan) -> Refusal | None:
    removals = [c for c in plan.changes if c.action is Action.DELETE]
    if not removals or plan.complete:
        return None
    counts = Counter(c.kind.value for c in removals)
    what = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(counts.items()))
    reason = plan.incomplete_reason or "the read was incomplete"
    return Refusal(
        RefusalReason.PARTIAL_READ,
        f"{reason}; refusing to remove {what} on a partial view",
        removed=len(removals),
    )


def refusal_error(found: Sequence[Refusal]) -> PlanRefusedError | None:
    """The error apply raises for `found` (the partial read first), worded as it always was;
    None when there is nothing to refuse."""
    if not found:
        return None
    if found[0].reason is RefusalReason.PARTIAL_READ:
        return PlanRefusedError(f"{found[0].message}; nothing was changed")
    what = "; ".join(r.message.partition(": more than")[0] for r in found)
    max_fraction = found[0].max_fraction or 0.0
    return PlanRefusedError(
        f"refusing to {what}: more than prune.maxFraction ({max_fraction:.0%}) of an "
        "organization at once; nothing was changed. If this is intended, apply with "
        "--allow-mass-removal"
    )
