"""Confirming a manual step: an owner says "done" for the values the plan showed.

`confirm KIND KEY` finds the step among every step the spec implies, records a
confirmation with the digest of its current values, and says plainly that only the record
changed. An acceptance of a ledger invitation (`confirm invitation platform/alice@acme.com`)
is the same gesture for the people ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import MappingProxyType

from reconciler.errors import InsomniaSsoError
from reconciler.manual import DOMAIN_DIGEST, ManualStep, StepKind, all_steps, scim_role
from reconciler.outputs import OktaOutputs
from reconciler.plan_types import Action, Kind, PlanChange
from reconciler.spec import Enterprise, Role
from reconciler.state import member_key, split_member_key
from reconciler.stores.base import Store

INVITATION = "invitation"
KINDS = (*(kind.value for kind in StepKind), INVITATION)


def confirm_step(
    store: Store,
    enterprise: Enterprise,
    outputs: OktaOutputs,
    kind: str,
    key: str,
    *,
    actor: str,
    now: datetime,
    txt: str | None = None,
) -> str:
    """Record one manual step as done; returns the sentence to show. InsomniaSsoError when
    the step does not exist or cannot be confirmed yet."""
    name = enterprise.name
    if kind == INVITATION:
        organization, email = split_member_key(key.lower())
        if not email:
            raise InsomniaSsoError(f"invitation keys are ORGANIZATION/EMAIL, not {key!r}")
        return record_acceptance(store, name, organization, email, actor=actor, now=now)
    if kind not in KINDS:
        raise InsomniaSsoError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if txt is not None and kind != StepKind.DOMAIN:
        raise InsomniaSsoError("--txt goes with `confirm domain` only")
    actual = store.read(enterprise=name, now=now)
    steps = [s for s in all_steps(enterprise, outputs, actual, teams=True) if s.kind == kind]
    wanted = key.lower() if kind == StepKind.DOMAIN else key
    step = next((s for s in steps if s.key == wanted), None)
    if step is None:
        keys = ", ".join(s.key for s in steps) or "none"
        raise InsomniaSsoError(
            f"enterprise '{name}' has no {kind} step {key!r} (its {kind} steps: {keys})"
        )
    found = actual.confirmations.get((kind, step.key))
    if step.removal:
        store.unconfirm(enterprise=name, kind=kind, key=step.key, actor=actor, now=now)
        return f"Recorded: {kind} {step.key} removed from Insomnia (in the record only)."
    if not step.ready:
        raise InsomniaSsoError(
            f"the {kind} values are not known yet: confirm with the Okta outputs you entered "
            "(--okta-outputs FILE or --stack NAME)"
        )
    if step.done_by(found) and txt is None:
        return f"{kind} {step.key} was already confirmed for these values; nothing recorded."
    store.confirm(
        enterprise=name,
        kind=kind,
        key=step.key,
        digest=step.digest,
        detail=_detail(step, txt),
        actor=actor,
        now=now,
    )
    return (
        f"Recorded: {kind} {step.key} confirmed as done in Insomnia (the record only; this "
        "command changes nothing in Insomnia)."
    )


def record_acceptance(
    store: Store, enterprise: str, organization: str, email: str, *, actor: str, now: datetime
) -> str:
    """Record that a person accepted their ledger invitation (`confirm invitation`, `store
    accept`); returns the sentence to show."""
    email = email.lower()
    store.accept_invitation(
        enterprise=enterprise, organization=organization, email=email, actor=actor, now=now
    )
    return (
        f"Recorded: {organization}/{email} accepted and is a member of {organization} "
        "(in the record's ledger; nothing was changed in Insomnia)."
    )


def record_members(
    store: Store,
    enterprise: str,
    people: Iterable[tuple[str, str, Role]],
    *,
    actor: str,
    now: datetime,
) -> str:
    """Record people who are members of Insomnia's organizations already (`import
    --accepted`): an invitation recorded and accepted for each, through the same ledger
    writes and journal rows as `apply` and `confirm invitation`, so the first plan sends
    nobody an invitation again. An owner joins as admin, as every invitation does, and the
    record then says owner. People the record holds as members already keep their row (their
    role follows the list). Returns the sentence to show; holds the enterprise's lock."""
    with store.locked(enterprise=enterprise, holder=actor):
        actual = store.read(enterprise=enterprise, now=now)
        invite: list[PlanChange] = []
        roles: list[PlanChange] = []
        known = 0
        for organization, email, role in people:
            key = member_key(organization, email)
            member = actual.members.get(key)
            held = member.role if member is not None else scim_role(role)
            if member is None:
                after = _frozen(organization=organization, email=email, role=held, status="pending")
                invite.append(PlanChange(Action.CREATE, Kind.INVITATION, key, None, after))
            else:
                known += 1
            if held != role.value:
                roles.append(
                    PlanChange(
                        Action.UPDATE,
                        Kind.MEMBER,
                        key,
                        _frozen(role=held),
                        _frozen(role=role.value),
                    )
                )
        store.write(enterprise=enterprise, changes=invite, actor=actor, now=now)
        for change in invite:
            organization, email = split_member_key(change.key)
            store.accept_invitation(
                enterprise=enterprise, organization=organization, email=email, actor=actor, now=now
            )
        store.write(enterprise=enterprise, changes=roles, actor=actor, now=now)
    already = f"; {known} were members in the record already" if known else ""
    set_roles = f"; {len(roles)} role(s) set as the list says" if roles else ""
    return (
        f"Recorded in the ledger: {len(invite)} membership(s) as accepted invitations (each "
        f"invitation recorded, then accepted){already}{set_roles}. Nothing was sent to Insomnia."
    )


def _frozen(**attrs: str) -> MappingProxyType[str, str]:
    return MappingProxyType(attrs)


def record_domain(store: Store, enterprise: str, domain: str, *, actor: str, now: datetime) -> str:
    """Confirm a domain with no spec at hand (`store verify-domain` run from anywhere): a
    name the spec does not claim shows in the next plan as "claimed but not in the spec"."""
    domain = domain.lower()
    store.confirm(
        enterprise=enterprise,
        kind=StepKind.DOMAIN,
        key=domain,
        digest=DOMAIN_DIGEST,
        detail={},
        actor=actor,
        now=now,
    )
    return f"Recorded: domain {domain} verified for enterprise {enterprise} (the record only)."


def _detail(step: ManualStep, txt: str | None) -> dict[str, str]:
    detail = {"values": step.public_digest} if step.public_digest else {}
    if txt is not None:
        value = txt.strip()
        if not value or len(value) > 255 or not value.isprintable():
            raise InsomniaSsoError("--txt must be the TXT value Insomnia shows (1-255 characters)")
        detail["txt"] = value
    return detail
