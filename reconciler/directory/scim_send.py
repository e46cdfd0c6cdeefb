"""Sending a phase's operations, and what their failures mean for the phases after.

At most `max_in_flight` requests at once (or, in profile rfc7644 when announced, `/Bulk`).
A 409 on a create adopts what is there (identity-checked by the operation's `conflict`), a
404 on a DELETE is done. A failure is named with its reason; a failed add leaves its person
where they were in that organization (`RunMemory.unmoved`), and a failed removal keeps its
team from being deleted (`RunMemory.kept_teams`).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler import gc_policy
from reconciler.directory.scim_bulk import BulkSender
from reconciler.directory.scim_types import Features, Known, Op, Outcome
from reconciler.directory.transport import (
    ScimHttp,
    ScimRequestError,
    ScimResult,
    ScimStatusError,
)
from reconciler.plan_types import Action, Kind, PlanChange


@dataclass
class RunMemory:
    """What the writes of one run learnt, kept across apply's batches."""

    team_ids: dict[str, str] = field(default_factory=dict)
    """Team name → SCIM id: created, adopted or renamed in this run."""
    user_ids: dict[str, str] = field(default_factory=dict)
    """Users created or adopted in this run: userName → SCIM id."""
    unmoved: set[tuple[str, str]] = field(default_factory=set)
    """(organization, email) whose add into a team of that organization did not hold."""
    kept_teams: set[str] = field(default_factory=set)
    """Teams a removal from which did not hold: they are not deleted."""


def attrs_of(change: PlanChange) -> Mapping[str, Any]:
    return change.after if change.after is not None else (change.before or {})


def member_of(change: PlanChange) -> tuple[str, str, str]:
    """(team, email, organization) of a team_member change."""
    attrs = attrs_of(change)
    team, _, email = change.key.partition("/")
    return team, email.lower(), str(attrs.get("organization", ""))


class Sender:
    """Carries out operations and records, in `outcome` and `memory`, how each went."""

    def __init__(
        self,
        http: ScimHttp,
        features: Features,
        known: Known,
        memory: RunMemory,
        outcome: Outcome,
        *,
        bulk: bool,
        max_in_flight: int,
    ) -> None:
        self.http = http
        self.known = known
        self.memory = memory
        self.outcome = outcome
        self.bulk = bulk
        self.max_in_flight = max_in_flight
        self._bulk = BulkSender(http, features, outcome, self.carry_out, self.failed)

    def send(self, ops: list[Op]) -> None:
        """Carry out one phase's operations; a rejected token stops it (raised)."""
        if not ops:
            return
        gc_policy.resume()  # one request per change leaves cycles behind: collect them
        if self.bulk:
            self._bulk.send([op for op in ops if op.run is None])
            ops = [op for op in ops if op.run is not None]
        if len(ops) <= 1 or self.max_in_flight <= 1:
            for op in ops:
                self.carry_out(op)
            return
        with ThreadPoolExecutor(max_workers=self.max_in_flight) as pool:
            futures = [pool.submit(self.carry_out, op) for op in ops]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error

    def request(self, op: Op, *, lost: bool = False) -> ScimResult:
        """One operation's request (or requests, carried out by hand), without judging it."""
        if op.run is not None:
            return op.run()
        return self.http.request(
            op.method, op.path, json=op.data, recover=op.recover, lost_already=lost
        )

    def carry_out(self, op: Op, *, lost: bool = False) -> None:
        """Send one operation on its own and record how it went."""
        try:
            try:
                result = self.request(op, lost=lost)
            except ScimStatusError as e:
                if e.status == 409 and op.conflict is not None:
                    op.conflict()
                    self.outcome.ok(op.changes)
                    return
                if e.status == 404 and op.gone_ok:
                    result = ScimResult(404, None)
                else:
                    raise
            op.after(result)
        except ScimRequestError as e:
            self.failed(op, e.reason)
            return
        self.outcome.ok(op.changes)

    def failed(self, op: Op, reason: str) -> None:
        """An operation that did not hold: adds leave their people unmoved, removals keep
        their team from being deleted."""
        with self.known.lock:
            for change in op.changes:
                if change.kind is not Kind.TEAM_MEMBER:
                    continue
                team, email, org = member_of(change)
                if change.action is Action.CREATE:  # a failed team create's members too
                    self.memory.unmoved.add((org, email))
                else:
                    self.memory.kept_teams.add(team)
        self.outcome.fail(op.changes, reason)
