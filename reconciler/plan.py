"""The diff: desired (spec + Okta outputs) × actual (record and directory) → an ordered Plan.

A pure function, no I/O. A plan holds two things apart:
  * `changes`, what apply does itself: people and teams in the SCIM directory (`user`,
    `team`, `team_member`, see `reconciler.plan_scim`), or, without a directory, the
    record's people ledger (`invitation`, `member`: recorded, the invitations are sent from
    Insomnia's UI);
  * `manual_steps`, what only Insomnia's web UI can do (`reconciler.manual`): domains, the
    SSO connection, team links, each open until an owner confirms it.
Creations and updates come parent-first; removals follow in reverse. Nothing is removed or
revoked after an incomplete read, and members only when the spec opts in
(`prune.enabled`); the per-organization bound on removals is enforced by apply, which can be
overridden there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from reconciler.manual import ManualStep, StepKind, open_steps, scim_role
from reconciler.outputs import ADOPTED_APP_WARNING, OktaOutputs
from reconciler.plan_scim import scim_changes
from reconciler.plan_types import (
    KEPT_OWNER,
    KEPT_PARTIAL,
    KEPT_PRUNE_OFF,
    KIND_ORDER,
    REMOVED,
    Action,
    Attrs,
    HeldBack,
    Kind,
    PlanChange,
    UnmanagedAccess,
)
from reconciler.spec import Enterprise, Role
from reconciler.state import ActualState, InvitationStatus

__all__ = ["KIND_ORDER", "Action", "Attrs", "Kind", "Plan", "PlanChange", "plan"]


@dataclass(frozen=True)
class Plan:
    """An immutable, ordered list of changes for one enterprise, the manual steps still
    open, and notes for humans."""

    enterprise: str
    changes: tuple[PlanChange, ...]
    warnings: tuple[str, ...] = ()
    complete: bool = True
    incomplete_reason: str = ""
    """What was missed when `complete` is False: `the read of the store was incomplete (…)`."""
    manual_steps: tuple[ManualStep, ...] = ()
    scim: bool = False
    """True when people live in the SCIM directory (changes reach Insomnia), False when
    they live in the record's ledger (changes are recorded only)."""
    removed: Mapping[str, int] = field(default_factory=dict)
    """People each organization loses, for the mass-removal bound."""
    current: Mapping[str, int] = field(default_factory=dict)
    """People each organization has now, the base of that bound."""
    max_fraction: float = 1.0
    """The spec's `prune.maxFraction`."""
    held_back: tuple[HeldBack, ...] = ()
    """People Okta does not let sign in yet: nothing is given to them until it does."""
    unmanaged: tuple[UnmanagedAccess, ...] = ()
    """People with access the spec does not give them, named, with what happens to them."""

    @property
    def empty(self) -> bool:
        """True when Insomnia matches the spec: no change, no open manual step, nobody
        waiting for Okta and no access the spec does not give."""
        return not (self.changes or self.manual_steps or self.held_back or self.unmanaged)

    @property
    def ready(self) -> tuple[PlanChange, ...]:
        """The changes apply carries out now: those no open manual step holds back."""
        return tuple(c for c in self.changes if c.waiting_on is None)

    @property
    def waiting(self) -> tuple[PlanChange, ...]:
        """The changes held back until an owner confirms the step each names."""
        return tuple(c for c in self.changes if c.waiting_on is not None)

    def summary(self) -> dict[str, int]:
        """Counts per action, every action present, the changes waiting on a manual step
        (counted in their action too) and the open manual steps."""
        counts = Counter(change.action for change in self.changes)
        out = {action.value: counts.get(action, 0) for action in Action}
        out["waiting"] = len(self.waiting)
        out["manual"] = len(self.manual_steps)
        return out

    def to_json(self) -> dict[str, Any]:
        """The documented plan JSON (format_version 1)."""
        return {
            "format_version": 1,
            "enterprise": self.enterprise,
            "changes": [change.to_json() for change in self.changes],
            "manual_steps": [step.to_json() for step in self.manual_steps],
            "waiting_for_okta": [person.to_json() for person in self.held_back],
            "unmanaged_access": [access.to_json() for access in self.unmanaged],
            "summary": self.summary(),
        }


def _frozen(**attrs: Any) -> Attrs:
    return MappingProxyType(attrs)


def plan(enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState) -> Plan:
    """Everything apply must do, and every step an owner must do, so that Insomnia matches
    the spec and the Okta outputs. People are planned against `actual.directory` when a
    SCIM directory was read, against the record's ledger otherwise."""
    warnings: list[str] = []
    spec = enterprise.spec
    directory = actual.directory
    complete = actual.complete and (directory is None or directory.complete)
    prune = spec.prune.enabled and complete
    incomplete = ""
    if not actual.complete:
        incomplete = f"the read of the store was incomplete ({actual.incomplete_reason or '?'})"
    elif directory is not None and not directory.complete:
        incomplete = (
            f"the read of the SCIM directory was incomplete ({directory.incomplete_reason or '?'})"
        )
    if incomplete:
        warnings.append(f"{incomplete}; nobody will be removed in this run")
    if prune is False and spec.prune.enabled is False:
        claimed = {key for kind, key in actual.confirmations if kind == "domain"}
        for domain in sorted(claimed - set(spec.domains)):
            warnings.append(f"domain {domain} is claimed but not in the spec (prune is off)")
    fresh = first_run(enterprise, actual)
    if fresh:
        warnings.append(fresh)
    held = held_back(enterprise, outputs)
    held_emails = frozenset(person.email for person in held)
    if outputs.assigned_users is None:
        warnings.append(NO_OUTPUTS_WARNING)
    if outputs.secret_adopted:
        warnings.append(ADOPTED_APP_WARNING)
    warnings.extend(outputs.warnings)

    steps = open_steps(enterprise, outputs, actual, teams=directory is not None, held=held_emails)
    if directory is not None:
        open_links = frozenset(s.key for s in steps if s.kind is StepKind.TEAM_LINK)
        people = scim_changes(
            enterprise,
            actual,
            directory,
            spec.prune.enabled,
            names=outputs.names,
            open_links=open_links,
            held=held_emails,
        )
        changes, removed = people.changes, Counter(org for org, _ in people.leaving)
        current: Mapping[str, int] = people.current
        warnings.extend(people.warnings)
        unmanaged = people.unmanaged
    else:
        changes, ledger_warnings, unmanaged = _people_changes(
            enterprise, actual, prune, held_emails
        )
        warnings.extend(ledger_warnings)
        removed = Counter(
            c.organization for c in changes if c.kind is Kind.MEMBER and c.action is Action.DELETE
        )
        current = Counter(member.organization for member in actual.members.values())
        extra_orgs = sorted(actual.organizations - {org.name for org in spec.organizations})
        warnings.extend(
            f"organization {org_name} is not in the spec; it is never deleted by this tool"
            for org_name in extra_orgs
        )

    changes.sort(key=_order)
    return Plan(
        enterprise.name,
        tuple(changes),
        tuple(warnings),
        complete,
        incomplete,
        steps,
        scim=directory is not None,
        removed=dict(removed),
        current=dict(current),
        max_fraction=spec.prune.max_fraction,
        held_back=held,
        unmanaged=tuple(sorted(unmanaged, key=lambda u: (u.organization, u.email))),
    )


def _order(change: PlanChange) -> tuple[int, int, str]:
    if change.action is Action.DELETE:
        return (1, -KIND_ORDER[change.kind], change.key)
    return (0, KIND_ORDER[change.kind], change.key)


def first_run(enterprise: Enterprise, actual: ActualState) -> str:
    """Said when the record holds nothing for this enterprise: a first run, or a `--store`
    that names the wrong record (a typo starts over silently otherwise); louder when the SCIM
    directory already holds the enterprise's teams."""
    if (
        actual.exists
        or actual.managed_users
        or actual.managed_teams
        or actual.confirmations
        or actual.invitations
        or actual.members
    ):
        return ""
    note = f"the record holds nothing for enterprise '{enterprise.name}' yet: a first run"
    directory = actual.directory
    if directory is None:
        return f"{note} (if it is not, --store names the wrong record)"
    names = {org.team_name(r) for org in enterprise.spec.organizations for r in ("admin", "member")}
    there = sorted(names & {team.display_name for team in directory.teams.values()})
    if not there:
        return f"{note} (if it is not, --store names the wrong record)"
    shown = ", ".join(there[:3]) + (", …" if len(there) > 3 else "")
    return (
        f"{note}, yet Insomnia holds its teams already ({shown}): if this is not a first run, "
        "--store names the wrong record (apply would adopt the teams by name)"
    )


NO_OUTPUTS_WARNING = (
    "no Okta outputs given (--okta-outputs or --stack): nobody is checked against Okta's "
    "assignments, so people who cannot sign in yet are not held back"
)


INVITED_ROLE = {role: scim_role(role) for role in Role}
"""The role a person of the spec is invited with, looked up once per person: owner cannot
be granted by invitation (Insomnia's rule), so owners are invited as admins, as they join
the admins' team (`scim_role`), and an `owner` step follows."""


def held_back(enterprise: Enterprise, outputs: OktaOutputs) -> tuple[HeldBack, ...]:
    """People in the spec whom the Okta outputs do not list as assigned to the app; none
    when no outputs were given (nothing to check against)."""
    assigned = outputs.assigned_users
    if assigned is None:
        return ()
    # Nested loops over the spec, not memberships(): no tuple per person (100,000s).
    waiting: dict[str, tuple[str, list[str]]] = {}
    for org in enterprise.spec.organizations:
        for member in org.members:
            if member.login not in assigned:
                waiting.setdefault(member.email, (member.login, []))[1].append(org.name)
    return tuple(
        HeldBack(email, login, tuple(orgs)) for email, (login, orgs) in sorted(waiting.items())
    )


def _people_changes(
    enterprise: Enterprise, actual: ActualState, prune: bool, held: frozenset[str]
) -> tuple[list[PlanChange], list[str], list[UnmanagedAccess]]:
    """Ledger: record invitations to send, re-role, revoke and (opt-in) remove people;
    nothing for people Okta does not let in yet."""
    changes: list[PlanChange] = []
    warnings: list[str] = []
    unmanaged: list[UnmanagedAccess] = []
    desired: set[str] = set()

    now = actual.as_of
    members, invitations = actual.members, actual.invitations
    # Roles are str enums: compared with the record's text as they are, without `.value`'s
    # cost per person. The spec is walked as it is, without a (key, person) pair each.
    owner = Role.OWNER
    for org in enterprise.spec.organizations:
        org_name = org.name
        for person in org.members:
            email, role = person.email, person.role
            key = f"{org_name}/{email}"
            desired.add(key)
            member = members.get(key)
            if member is not None:
                if member.role == role:
                    continue
                if member.role == owner:
                    warnings.append(
                        f"{key}: is an owner in Insomnia; ownership is never taken away here "
                        f"(spec: {role})"
                    )
                    continue
                if role is Role.OWNER:  # an `owner` manual step asks for it
                    continue
                changes.append(
                    PlanChange(
                        Action.UPDATE,
                        Kind.MEMBER,
                        key,
                        _frozen(role=member.role),
                        _frozen(role=role.value),
                    )
                )
                continue
            if email in held:
                continue  # no invitation before Okta lets them sign in
            # Owner cannot be granted by invitation (Insomnia's rule): invited as admin, and
            # an `owner` manual step asks an owner to transfer ownership once they accept.
            invited_role = INVITED_ROLE[role]
            invitation = invitations.get(key)
            status = (
                invitation.status_at(now) if invitation is not None else InvitationStatus.REVOKED
            )
            if invitation is None or status in (
                InvitationStatus.REVOKED,
                InvitationStatus.ACCEPTED,
            ):
                after = _frozen(
                    organization=org_name, email=email, role=invited_role, status="pending"
                )
                changes.append(PlanChange(Action.CREATE, Kind.INVITATION, key, None, after))
            elif status is InvitationStatus.EXPIRED or invitation.role != invited_role:
                before = _frozen(role=invitation.role, status=status.value)
                after = _frozen(role=invited_role, status="pending")
                changes.append(PlanChange(Action.UPDATE, Kind.INVITATION, key, before, after))

    # Absence from a partial read proves nothing: no revocation either.
    revocable = actual.invitations.items() if actual.complete else ()
    for key, invitation in revocable:
        if key in desired:
            continue
        status = invitation.status_at(now)
        if status in (InvitationStatus.REVOKED, InvitationStatus.ACCEPTED):
            continue
        before = _frozen(
            organization=invitation.organization,
            email=invitation.email,
            role=invitation.role,
            status=status.value,
        )
        changes.append(PlanChange(Action.DELETE, Kind.INVITATION, key, before, None))

    for member in (m for key, m in actual.members.items() if key not in desired):
        if member.role == Role.OWNER.value:
            outcome = KEPT_OWNER
        elif not enterprise.spec.prune.enabled:
            outcome = KEPT_PRUNE_OFF
        elif not prune:
            outcome = KEPT_PARTIAL
        else:
            outcome = REMOVED
            before = _frozen(organization=member.organization, email=member.email, role=member.role)
            changes.append(PlanChange(Action.DELETE, Kind.MEMBER, member.key, before, None))
        unmanaged.append(
            UnmanagedAccess(member.organization, member.email, member.role, None, outcome)
        )
    return changes, warnings, unmanaged
