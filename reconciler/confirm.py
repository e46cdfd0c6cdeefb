"""Confirming a manual step: an owner says "done" for the values the plan showed.

`confirm KIND KEY…` finds each step among every step the spec implies, records a
confirmation with the digest of its current values, and says plainly that only the record
changed. Every key is checked before anything is recorded. Without SCIM, `confirm
invitation KEY…` says the invitations were sent (or revoked) from Insomnia's UI, and
`confirm acceptance KEY…` (like `store accept`) that people accepted theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import MappingProxyType

from reconciler.errors import InsomniaSsoError
from reconciler.manual import (
    DOMAIN_DIGEST,
    ManualStep,
    StepKind,
    all_steps,
    ledger_steps,
    scim_role,
)
from reconciler.outputs import OktaOutputs
from reconciler.plan_types import Action, Kind, PlanChange
from reconciler.spec import Enterprise, Role
from reconciler.state import ActualState, member_key, split_member_key
from reconciler.stores.base import Store

ACCEPTANCE = "acceptance"
KINDS = (*(kind.value for kind in StepKind), ACCEPTANCE)
LEDGER_KINDS = (StepKind.INVITATION, StepKind.MEMBER)


def confirm_steps(
    store: Store,
    enterprise: Enterprise,
    outputs: OktaOutputs,
    kind: str,
    keys: Sequence[str],
    *,
    actor: str,
    now: datetime,
    txt: str | None = None,
) -> list[str]:
    """Record manual steps of one kind as done, or acceptances; returns one sentence each.
    Every key is checked first: one unknown key records nothing."""
    if not keys:
        raise InsomniaSsoError(f"no {kind} key given")
    if txt is not None and (kind != StepKind.DOMAIN or len(keys) != 1):
        raise InsomniaSsoError("--txt goes with `confirm domain` and one domain only")
    if kind == ACCEPTANCE:
        pairs = [_member_key(key) for key in keys]
        store.accept_invitations(enterprise=enterprise.name, people=pairs, actor=actor, now=now)
        return [_accepted(org, email) for org, email in pairs]
    actual = store.read(enterprise=enterprise.name, now=now)
    steps = [_find(enterprise, outputs, actual, kind, key) for key in keys]
    return [
        step
        if isinstance(step, str)
        else _record(store, enterprise.name, actual, step, actor=actor, now=now, txt=txt)
        for step in steps
    ]


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
    [message] = confirm_steps(
        store, enterprise, outputs, kind, [key], actor=actor, now=now, txt=txt
    )
    return message


def _member_key(key: str) -> tuple[str, str]:
    organization, email = split_member_key(key.strip().lower())
    if not organization or not email or "@" not in email:
        raise InsomniaSsoError(f"keys of this kind are ORGANIZATION/EMAIL, not {key!r}")
    return organization, email


def _find(
    enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState, kind: str, key: str
) -> ManualStep | str:
    """The step `kind key` among every step the spec implies (or, for a person's step an
    owner confirmed already, the sentence saying so); InsomniaSsoError naming the ones there
    are when there is no such step."""
    name = enterprise.name
    if kind not in KINDS:
        raise InsomniaSsoError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == StepKind.TEAM_LINK and not actual.managed_teams:
        raise InsomniaSsoError(
            f"enterprise '{name}' has no team_link steps: the record holds no team made in "
            "Insomnia's SCIM directory (apply --scim makes them); without SCIM, people are "
            "invitations: confirm invitation, member or acceptance"
        )
    if kind in LEDGER_KINDS:
        steps = [s for s in ledger_steps(enterprise, actual, frozenset()) if s.kind == kind]
        key = "/".join(_member_key(key))
    else:
        steps = [s for s in all_steps(enterprise, outputs, actual, teams=True) if s.kind == kind]
    wanted = key.lower() if kind in (StepKind.DOMAIN, StepKind.OWNER) else key
    step = next((s for s in steps if s.key == wanted), None)
    done = actual.confirmations.get((kind, wanted))
    if step is None and kind in LEDGER_KINDS and done is not None:
        what = " ".join(done.detail.get(k, "") for k in ("action", "role")).strip()
        return f"{kind} {wanted} was already confirmed ({what}); nothing recorded."
    if step is None:
        shown = ", ".join(s.key for s in steps[:10]) or "none"
        if len(steps) > 10:
            shown += f", … ({len(steps)} in all)"
        open_ = " open" if kind in LEDGER_KINDS else ""
        raise InsomniaSsoError(
            f"enterprise '{name}' has no{open_} {kind} step {key!r} (its{open_} {kind} steps: "
            f"{shown})"
        )
    return step


def _record(
    store: Store,
    name: str,
    actual: ActualState,
    step: ManualStep,
    *,
    actor: str,
    now: datetime,
    txt: str | None,
) -> str:
    kind = step.kind.value
    if step.kind in LEDGER_KINDS:
        return _record_ledger(store, name, step, actor=actor, now=now)
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


def _record_ledger(store: Store, name: str, step: ManualStep, *, actor: str, now: datetime) -> str:
    """An invitation sent or revoked, a member's role changed or a member removed, in the
    UI: the confirmation keeps the action (and role) done; a sent invitation expires
    INVITATION_TTL from now, as Insomnia's does."""
    values = dict(step.after)
    action = str(values["action"])
    detail = {"action": action}
    if "role" in values:
        detail["role"] = str(values["role"])
    store.confirm(
        enterprise=name,
        kind=step.kind.value,
        key=step.key,
        digest=step.digest,
        detail=detail,
        actor=actor,
        now=now,
    )
    organization, email = split_member_key(step.key)
    if step.kind is StepKind.INVITATION and action == "send":
        store.invitation_sent(
            enterprise=name, organization=organization, email=email, actor=actor, now=now
        )
        done = f"invitation {step.key} sent as {values['role']}"
    elif step.kind is StepKind.INVITATION:
        done = f"invitation {step.key} revoked"
    elif action == "role":
        done = f"member {step.key} made {values['role']}"
    else:
        done = f"member {step.key} removed from {organization}"
    return f"Recorded: {done} in Insomnia (the record only; this command changes nothing there)."


def record_acceptance(
    store: Store, enterprise: str, organization: str, email: str, *, actor: str, now: datetime
) -> str:
    """Record that a person accepted their ledger invitation (`confirm acceptance`, `store
    accept`); returns the sentence to show."""
    store.accept_invitation(
        enterprise=enterprise, organization=organization, email=email, actor=actor, now=now
    )
    return _accepted(organization, email)


def _accepted(organization: str, email: str) -> str:
    return (
        f"Recorded: {organization}/{email.lower()} accepted and is a member of {organization} "
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
        accepted = [split_member_key(change.key) for change in invite]
        store.accept_invitations(enterprise=enterprise, people=accepted, actor=actor, now=now)
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


PLACEHOLDERS = {"value", "txt", "token", "the txt value insomnia shows", "<the txt value>"}


def _detail(step: ManualStep, txt: str | None) -> dict[str, str]:
    detail = {"values": step.public_digest} if step.public_digest else {}
    detail |= {f"field:{name}": value for name, value in step.fields.items()}
    if txt is not None:
        detail["txt"] = txt_value(txt)
    return detail


def txt_value(txt: str) -> str:
    """The TXT value an owner copied from Insomnia; a placeholder or a malformed one is
    refused (doctor would look for it in DNS forever)."""
    value = txt.strip().strip("'\"")
    if value.lower().strip("<>") in PLACEHOLDERS or value.startswith("<") or value.endswith(">"):
        raise InsomniaSsoError(
            f"--txt {txt!r} is a placeholder: give the TXT value Insomnia shows for the domain"
        )
    if not 8 <= len(value) <= 255 or not value.isprintable() or any(c.isspace() for c in value):
        raise InsomniaSsoError(
            "--txt must be the TXT value Insomnia shows: 8 to 255 printable characters, no spaces"
        )
    return value
