"""The diff: desired (spec + Okta outputs) × actual (a store snapshot) → an ordered Plan.

A pure function, no I/O. Creations and updates come parent-first (enterprise → domains →
SSO connection → organizations → invitations → members); removals follow in reverse.
Nothing is removed or revoked after an incomplete read, and members only when the spec
opts in (`prune.enabled`);
the per-organization bound on removals is enforced by apply, which can be overridden there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from reconciler.outputs import SENSITIVE, UNKNOWN, OktaOutputs
from reconciler.spec import Enterprise, Role
from reconciler.state import ActualState, InvitationStatus, member_key


class Action(StrEnum):
    """What a change does; the value is what plan JSON shows."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Kind(StrEnum):
    """What a change touches, in parent-first order."""

    ENTERPRISE = "enterprise"
    DOMAIN = "domain"
    SSO_CONNECTION = "sso_connection"
    ORGANIZATION = "organization"
    INVITATION = "invitation"
    MEMBER = "member"
    USER = "user"
    TEAM = "team"
    TEAM_MEMBER = "team_member"


KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}

Attrs = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PlanChange:
    """One typed change. `secret_fingerprint` travels beside, never inside, before/after."""

    action: Action
    kind: Kind
    key: str
    before: Attrs | None
    after: Attrs | None
    secret_fingerprint: str | None = field(default=None, repr=False)

    @property
    def organization(self) -> str:
        """The organization an invitation or member change belongs to."""
        return self.key.partition("/")[0]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of one change."""
        return {
            "action": self.action.value,
            "kind": self.kind.value,
            "key": self.key,
            "before": dict(self.before) if self.before is not None else None,
            "after": dict(self.after) if self.after is not None else None,
        }


@dataclass(frozen=True)
class Plan:
    """An immutable, ordered list of changes for one enterprise, plus notes for humans."""

    enterprise: str
    changes: tuple[PlanChange, ...]
    warnings: tuple[str, ...] = ()
    complete: bool = True

    @property
    def empty(self) -> bool:
        """True when apply would change nothing."""
        return not self.changes

    def summary(self) -> dict[str, int]:
        """Counts per action, every action present."""
        counts = Counter(change.action for change in self.changes)
        return {action.value: counts.get(action, 0) for action in Action}

    def removals_by_organization(self) -> dict[str, int]:
        """Member removals per organization, for the mass-removal bound."""
        return dict(
            Counter(
                c.organization
                for c in self.changes
                if c.kind is Kind.MEMBER and c.action is Action.DELETE
            )
        )

    def to_json(self) -> dict[str, Any]:
        """The documented plan JSON (format_version 1)."""
        return {
            "format_version": 1,
            "enterprise": self.enterprise,
            "changes": [change.to_json() for change in self.changes],
            "summary": self.summary(),
        }


def _frozen(**attrs: Any) -> Attrs:
    return MappingProxyType(attrs)


def plan(enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState) -> Plan:
    """Everything apply must do so that `actual` matches the spec and the Okta outputs."""
    changes: list[PlanChange] = []
    warnings: list[str] = []
    spec = enterprise.spec
    name = enterprise.name
    prune = spec.prune.enabled and actual.complete
    if not actual.complete:
        warnings.append(
            f"the read of the store was incomplete ({actual.incomplete_reason or 'unknown'}); "
            "nobody will be removed in this run"
        )

    if not actual.exists:
        changes.append(PlanChange(Action.CREATE, Kind.ENTERPRISE, name, None, _frozen(name=name)))

    for domain in spec.domains:
        if domain not in actual.domains:
            after = _frozen(name=domain, verified=False)
            changes.append(PlanChange(Action.CREATE, Kind.DOMAIN, domain, None, after))
    for domain in sorted(set(actual.domains) - set(spec.domains)):
        if prune:
            before = _frozen(name=domain, verified=actual.domains[domain].verified)
            changes.append(PlanChange(Action.DELETE, Kind.DOMAIN, domain, before, None))
        else:
            warnings.append(f"domain {domain} is claimed but not in the spec (prune is off)")
    identifier = spec.sso.domain_identifier
    verified = actual.domains.get(identifier)
    if verified is None or not verified.verified:
        warnings.append(
            f"domain {identifier} is not verified yet: add Insomnia's DNS TXT record; "
            "SSO logins fail until it is"
        )

    changes.extend(_sso_changes(enterprise, outputs, actual))

    for org in spec.organizations:
        if org.name not in actual.organizations:
            after = _frozen(name=org.name)
            changes.append(PlanChange(Action.CREATE, Kind.ORGANIZATION, org.name, None, after))
    extra_orgs = sorted(actual.organizations - {org.name for org in spec.organizations})
    for org_name in extra_orgs:
        warnings.append(
            f"organization {org_name} is not in the spec; it is never deleted by this tool"
        )

    people, people_warnings = _people_changes(enterprise, outputs, actual, prune)
    changes.extend(people)
    warnings.extend(people_warnings)

    changes.sort(key=_order)
    return Plan(name, tuple(changes), tuple(warnings), actual.complete)


def _order(change: PlanChange) -> tuple[int, int, str]:
    if change.action is Action.DELETE:
        return (1, -KIND_ORDER[change.kind], change.key)
    return (0, KIND_ORDER[change.kind], change.key)


def _sso_changes(
    enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState
) -> list[PlanChange]:
    """Create or update the SSO connection; unknown Okta values never cause an update."""
    sso = enterprise.spec.sso
    current = actual.sso
    desired: dict[str, Any] = {
        "type": sso.type,
        "domain_identifier": sso.domain_identifier,
        "sso_url": sso.sso_url,
        "client_id": outputs.client_id or UNKNOWN,
        "issuer": outputs.issuer or UNKNOWN,
        "client_secret": SENSITIVE if outputs.known else UNKNOWN,
    }
    if current is None:
        return [
            PlanChange(
                Action.CREATE,
                Kind.SSO_CONNECTION,
                enterprise.name,
                None,
                _frozen(**desired),
                outputs.secret_fingerprint,
            )
        ]
    existing: dict[str, Any] = {
        "type": "oidc",
        "domain_identifier": current.domain_identifier,
        "sso_url": current.sso_url,
        "client_id": current.client_id,
        "issuer": current.issuer,
        "client_secret": SENSITIVE,
    }
    if not outputs.known:
        for key in ("client_id", "issuer", "client_secret"):
            desired[key] = existing[key]
    secret_changed = (
        outputs.secret_fingerprint is not None
        and outputs.secret_fingerprint != current.secret_fingerprint
    )
    if desired == existing and not secret_changed:
        return []
    before = {k: v for k, v in existing.items() if desired[k] != v or k == "client_secret"}
    after = {k: desired[k] for k in before}
    if not secret_changed:
        before.pop("client_secret")
        after.pop("client_secret")
    else:
        before["client_secret"] = SENSITIVE
        after["client_secret"] = f"{SENSITIVE} (changed)"
    return [
        PlanChange(
            Action.UPDATE,
            Kind.SSO_CONNECTION,
            enterprise.name,
            _frozen(**before),
            _frozen(**after),
            outputs.secret_fingerprint or current.secret_fingerprint,
        )
    ]


def _people_changes(
    enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState, prune: bool
) -> tuple[list[PlanChange], list[str]]:
    """Invite, re-send, re-role, revoke and (opt-in) remove people."""
    changes: list[PlanChange] = []
    warnings: list[str] = []
    desired: dict[str, tuple[str, str, Role]] = {}
    not_in_okta: list[str] = []
    for org, person in enterprise.memberships():
        key = member_key(org.name, person.email)
        desired[key] = (org.name, person.email, person.role)
        if outputs.assigned_users is not None and person.login not in outputs.assigned_users:
            not_in_okta.append(person.login)
    if not_in_okta:
        missing = sorted(set(not_in_okta))
        sample = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
        who = (
            "1 person in the spec is"
            if len(missing) == 1
            else f"{len(missing)} people in the spec are"
        )
        warnings.append(
            f"{who} not assigned in Okta yet ({sample}); run `pulumi up` first or they cannot "
            "log in"
        )

    now = actual.as_of
    for key, (org_name, email, role) in desired.items():
        member = actual.members.get(key)
        if member is not None:
            if member.role == role.value:
                continue
            if Role.OWNER in (role, member.role):
                warnings.append(_owner_note(key, member.role, role))
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
        invited_role = role.value
        if role is Role.OWNER:
            invited_role = Role.ADMIN.value
            warnings.append(
                f"{key}: owner cannot be granted by invitation (Insomnia's rule); invited as "
                "admin: transfer ownership in Insomnia once they accept"
            )
        invitation = actual.invitations.get(key)
        status = invitation.status_at(now) if invitation is not None else InvitationStatus.REVOKED
        if invitation is None or status in (InvitationStatus.REVOKED, InvitationStatus.ACCEPTED):
            after = _frozen(organization=org_name, email=email, role=invited_role, status="pending")
            changes.append(PlanChange(Action.CREATE, Kind.INVITATION, key, None, after))
        elif status is InvitationStatus.EXPIRED or invitation.role != invited_role:
            before = _frozen(role=invitation.role, status=status.value)
            after = _frozen(role=invited_role, status="pending")
            changes.append(PlanChange(Action.UPDATE, Kind.INVITATION, key, before, after))

    # Absence from a partial read proves nothing: no revocation either.
    revocable = actual.invitations.items() if actual.complete else ()
    for key, invitation in revocable:
        status = invitation.status_at(now)
        if key in desired or status in (InvitationStatus.REVOKED, InvitationStatus.ACCEPTED):
            continue
        before = _frozen(
            organization=invitation.organization,
            email=invitation.email,
            role=invitation.role,
            status=status.value,
        )
        changes.append(PlanChange(Action.DELETE, Kind.INVITATION, key, before, None))

    leavers = [m for key, m in actual.members.items() if key not in desired]
    kept = 0
    for member in leavers:
        if not prune or member.role == Role.OWNER.value:
            kept += 1
            continue
        before = _frozen(organization=member.organization, email=member.email, role=member.role)
        changes.append(PlanChange(Action.DELETE, Kind.MEMBER, member.key, before, None))
    if kept:
        if not enterprise.spec.prune.enabled:
            why = "prune is off"
        elif not actual.complete:
            why = "the read was incomplete"
        else:
            why = "owners are never removed"
        warnings.append(f"{kept} member(s) are not in the spec and stay ({why})")
    return changes, warnings


def _owner_note(key: str, actual_role: str, desired: Role) -> str:
    if desired is Role.OWNER:
        return f"{key}: is {actual_role}; make them owner in Insomnia (never granted here)"
    return f"{key}: is an owner in Insomnia; ownership is never taken away here (spec: {desired})"
