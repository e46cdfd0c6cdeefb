"""Manual steps: what only Insomnia's web UI can do, planned with the exact values to enter.

Insomnia has no API for domains, the SSO connection or linking a team to an organization,
so the tool never "applies" them. It lists each as a step, an owner does it in Enterprise
Controls and runs `insomnia-sso confirm KIND KEY`, and the record keeps a digest of the
values confirmed. When the values change (a new client id after the Okta app was
replaced), the digest differs and the step is open again.

    domain          key acme.com        claim, publish the TXT record, verify (or remove)
    sso_connection  key <enterprise>    client id, issuer, domain identifier, SSO URL
    organization    key platform        create it (Owner or Co-owner only)
    team_link       key platform-admins link the managed team to its organization and role
    owner           key platform/alice@acme.com   make the person owner (never granted by
                                        teams or invitations)
    invitation      key platform/alice@acme.com   without SCIM: send the invitation apply
                                        recorded (again once it expired unaccepted, or with
                                        a new role), or revoke one sent before
    member          key platform/alice@acme.com   without SCIM: change a member's role, or
                                        remove them, as apply recorded it

An `organization` step is also done once a team of that organization was confirmed linked,
or someone accepted an invitation to it: neither can happen before it exists.

A pure module: spec, Okta outputs and the record's confirmations in, steps out.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from reconciler.outputs import UNKNOWN, OktaOutputs
from reconciler.spec import Enterprise, Role
from reconciler.state import ActualState, Confirmation, InvitationState, InvitationStatus

SECRET_HINT = "run `pulumi stack output --show-secrets client_secret` and paste it"  # noqa: S105
TXT_PLACEHOLDER = "<the TXT value Insomnia shows>"
"""What the domain step shows where a value comes from Insomnia: visibly not a value."""
KEEP_SECRET = "leave the secret Insomnia holds (adopted app: Okta gave the stack none)"  # noqa: S105
"""What the plan shows for the client secret: never the secret, always where to get it."""


class StepKind(StrEnum):
    """What a manual step is about; the value is what the plan and `confirm` show."""

    DOMAIN = "domain"
    SSO_CONNECTION = "sso_connection"
    ORGANIZATION = "organization"
    TEAM_LINK = "team_link"
    OWNER = "owner"
    INVITATION = "invitation"
    MEMBER = "member"


@dataclass(slots=True)
class ManualStep:
    """One thing an owner must do in Insomnia's web UI, with the values to enter.

    `digest` fingerprints the values that matter (for the SSO connection, the client
    secret's fingerprint too); a confirmation with the same digest closes the step.
    `public_digest` is the same without the secret: it is recorded with the confirmation
    and closes the step alone only when `secret_unknown` (an adopted Okta app whose secret
    Pulumi could not read back: the secret Insomnia holds is kept). `ready` is False while
    a value is still unknown (before `pulumi up`): such a step cannot be confirmed yet.

    A ledger step (an invitation or a member change apply recorded) holds its `recorded`
    entry instead of values, words and digest, and makes them when asked for: a to-do
    list of 100,000 invitations is counted and compared far more often than it is shown.
    Steps are not frozen only because frozen ones cost four times as much to make; nothing
    changes a step once made (`reopened` makes another).
    """

    kind: StepKind
    key: str
    values: Mapping[str, Any]
    """What `after` gives, unless `recorded` makes it."""
    text: str
    """What `instructions` gives, unless `recorded` makes it."""
    fingerprint: str
    """What `digest` gives, unless `recorded` makes it."""
    public_digest: str = ""
    secret_unknown: bool = False
    ready: bool = True
    removal: bool = False
    fields: Mapping[str, str] = field(default_factory=lambda: NO_FIELDS)
    """A fingerprint of each value, by name: recorded with a confirmation, so a step open
    again can say which value changed since (`reopened`)."""
    recorded: Recorded | None = None

    @property
    def after(self) -> Mapping[str, Any]:
        """The values to enter (or that the step is about), by name."""
        return self.values if self.recorded is None else self.recorded.values()

    @property
    def instructions(self) -> str:
        """Where in Insomnia's web UI, what to do there, and the confirm command after."""
        if self.recorded is None:
            return self.text
        return f"{self.recorded.where()}. Then: insomnia-sso confirm {self.kind} {self.key}"

    @property
    def digest(self) -> str:
        """A fingerprint of the values that matter; a confirmation with it closes the step."""
        if self.recorded is None:
            return self.fingerprint
        # It names the invitation the step is about (when it was recorded): a confirmation
        # for an earlier one, re-recorded since, never closes this one.
        recorded_at = self.recorded.invitation.invited_at.isoformat()
        return digest({**self.recorded.values(), "recorded": recorded_at})

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of one manual step."""
        return {
            "kind": self.kind.value,
            "key": self.key,
            "after": dict(self.after),
            "instructions": self.instructions,
        }

    def done_by(self, confirmation: Confirmation | None) -> bool:
        """True when `confirmation` was made for exactly these values."""
        if confirmation is None:
            return False
        if confirmation.digest == self.digest or not self.ready:
            # Without the Okta outputs nothing can be compared: a confirmation stands.
            return True
        return self.secret_unknown and confirmation.detail.get("values") == self.public_digest

    def reopened(self, confirmation: Confirmation) -> ManualStep:
        """This step, open again though once confirmed, saying why: the values that changed
        since, when the confirmation kept their fingerprints."""
        when = confirmation.at.strftime("%Y-%m-%d")
        changed = [
            name
            for name, value in self.fields.items()
            if confirmation.detail.get(f"field:{name}", value) != value
        ]
        kept = any(k.startswith("field:") for k in confirmation.detail)
        what = ", ".join(changed) if kept and changed else "its values"
        verb = "changed" if kept and len(changed) == 1 else "have changed"
        note = f"Open again: {what} {verb} since {confirmation.actor} confirmed it on {when}. "
        return replace(
            self,
            values=self.after,
            text=note + self.instructions,
            fingerprint=self.digest,
            recorded=None,
        )


def field_digests(values: Mapping[str, Any]) -> Mapping[str, str]:
    """A short fingerprint of each value, by name (never a value itself)."""
    return _frozen(**{name: digest({name: value})[7:23] for name, value in values.items()})


_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def digest(values: Mapping[str, Any]) -> str:
    """A stable fingerprint of the values a step asks for (sorted-key JSON, SHA-256)."""
    text = _DIGEST_JSON.encode(dict(values))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


DOMAIN_DIGEST = digest({"claimed": True})
"""Every claimed domain's step has the same values (the name is its key): claimed."""


NO_FIELDS: Mapping[str, str] = MappingProxyType({})


def _frozen(**values: Any) -> Mapping[str, Any]:
    return MappingProxyType(values)


def domain_steps(enterprise: Enterprise, actual: ActualState) -> list[ManualStep]:
    """Claim and verify each domain of the spec; remove confirmed ones that left it (prune)."""
    steps = [
        ManualStep(
            StepKind.DOMAIN,
            domain,
            _frozen(domain=domain, txt=TXT_PLACEHOLDER),
            "Insomnia › Enterprise Controls › Domains › Add Domain: enter "
            f"{domain}; publish the TXT record Insomnia shows in {domain}'s DNS zone; click "
            f"Verify. Then: insomnia-sso confirm domain {domain} --txt '<the TXT value>'",
            DOMAIN_DIGEST,
        )
        for domain in enterprise.spec.domains
    ]
    if enterprise.spec.prune.enabled and actual.complete:
        claimed = {key for kind, key in actual.confirmations if kind == StepKind.DOMAIN}
        for domain in sorted(claimed - set(enterprise.spec.domains)):
            steps.append(
                ManualStep(
                    StepKind.DOMAIN,
                    domain,
                    _frozen(domain=domain, claimed=False),
                    f"Insomnia › Enterprise Controls › Domains: remove {domain} (it left the "
                    "spec; people of that domain can no longer sign in with SSO). Then: "
                    f"insomnia-sso confirm domain {domain}",
                    digest({"claimed": False}),
                    removal=True,
                )
            )
    return steps


def sso_step(enterprise: Enterprise, outputs: OktaOutputs) -> ManualStep:
    """The SSO connection with the Okta app's values; the secret only as where to get it."""
    sso = enterprise.spec.sso
    public = {
        "domain_identifier": sso.domain_identifier,
        "sso_url": sso.sso_url,
        "client_id": outputs.client_id or UNKNOWN,
        "issuer": outputs.issuer or UNKNOWN,
    }
    secret = outputs.secret_fingerprint
    hint = UNKNOWN
    if outputs.known:
        where = f"{outputs.secret_source} and paste it" if outputs.secret_source else SECRET_HINT
        hint = where if secret is not None else KEEP_SECRET
    again = "--stack or --okta-outputs as now"
    return ManualStep(
        StepKind.SSO_CONNECTION,
        enterprise.name,
        _frozen(type=sso.type, **public, client_secret=hint),
        "Insomnia › Enterprise Controls › SSO Connection (the page that showed the SSO URL "
        "the spec's sso.ssoUrl holds; create the connection there first if there is none): "
        "choose OpenID Connect, enter the client id, the client secret and the issuer below, "
        "with the domain identifier; check the SSO URL matches the one Insomnia shows. Then: "
        f"insomnia-sso confirm sso_connection {enterprise.name} (with the same {again})",
        digest({**public, "secret": secret or ""}),
        digest(public) if outputs.known else "",
        secret_unknown=outputs.known and secret is None,
        ready=outputs.known,
        fields=field_digests({**public, "client secret": secret or ""}),
    )


def organization_step(org_name: str) -> ManualStep:
    """Create one organization in Insomnia: owner-only UI work, before any team link."""
    values = {"organization": org_name}
    return ManualStep(
        StepKind.ORGANIZATION,
        org_name,
        _frozen(**values),
        f"Insomnia › Enterprise Controls › Organizations › New organization (Owner or "
        f"Co-owner only): name it {org_name}. Then: insomnia-sso confirm organization "
        f"{org_name}",
        digest(values),
    )


def team_link_steps(enterprise: Enterprise, org_name: str) -> list[ManualStep]:
    """Link each of one organization's teams to it with its role (SCIM only)."""
    steps = []
    org = next(o for o in enterprise.spec.organizations if o.name == org_name)
    roles = {scim_role(person.role) for person in org.members}
    for role in sorted(roles):
        team = org.team_name(role)
        values = {"team": team, "organization": org_name, "role": role}
        steps.append(
            ManualStep(
                StepKind.TEAM_LINK,
                team,
                _frozen(**values),
                f"Insomnia › Enterprise Controls › Teams › {team} › Organizations: link it to "
                f"{org_name} with the role {role}. Then: insomnia-sso confirm team_link {team}",
                digest(values),
                fields=field_digests(values),
            )
        )
    return steps


def owner_steps(enterprise: Enterprise) -> list[ManualStep]:
    """Make each owner in the spec owner in Insomnia: owner is never granted by teams or
    invitations, so they join as admins and an owner transfers ownership by hand."""
    steps = []
    # Nested loops over the spec, not memberships(): no tuple per person (100,000s).
    for org in enterprise.spec.organizations:
        for person in org.members:
            if person.role is Role.OWNER:
                steps.append(_owner_step(org.name, person.email))
    return steps


def _owner_step(organization: str, email: str) -> ManualStep:
    values = {"organization": organization, "email": email, "role": "owner"}
    key = f"{organization}/{email}"
    return ManualStep(
        StepKind.OWNER,
        key,
        _frozen(**values),
        f"Insomnia › {organization} › Members: once {email} has joined (as admin), make them "
        f"owner (an Owner or Co-owner can). Then: insomnia-sso confirm owner {key}",
        digest(values),
    )


def team_roles(enterprise: Enterprise) -> set[tuple[str, str]]:
    """(organization, team role) pairs holding at least one person; owners sit in admins."""
    return {(org.name, scim_role(person.role)) for org, person in enterprise.memberships()}


def scim_role(role: Role) -> str:
    """The team role a spec role maps to: owner cannot be granted, so owners join admins."""
    return Role.ADMIN.value if role is Role.OWNER else role.value


def all_steps(
    enterprise: Enterprise,
    outputs: OktaOutputs,
    actual: ActualState,
    *,
    teams: bool,
    held: frozenset[str] = frozenset(),
) -> list[ManualStep]:
    """Every manual step the spec implies, open or done, in the order an owner does them:
    domains, the SSO connection, then each organization, its team links (SCIM) or its
    invitations and members (the ledger), then owners. People in `held` (Okta does not let
    them sign in yet) get no invitation step."""
    steps = domain_steps(enterprise, actual)
    steps.append(sso_step(enterprise, outputs))
    by_org = {} if teams else _by_organization(ledger_steps(enterprise, actual, held))
    for org in enterprise.spec.organizations:
        steps.append(organization_step(org.name))
        if teams:
            steps.extend(team_link_steps(enterprise, org.name))
        steps.extend(by_org.pop(org.name, ()))
    for left in by_org.values():  # organizations that left the spec, in the record's order
        steps.extend(left)
    steps.extend(owner_steps(enterprise))
    return steps


def _by_organization(steps: list[ManualStep]) -> dict[str, list[ManualStep]]:
    """Ledger steps by organization, in the record's order. They come sorted by key
    (`organization/email`), so each organization's steps are one run of the list, found by
    bisection (a to-do list holds 100,000 steps and a few organizations)."""
    keys = [step.key for step in steps]
    by_org: dict[str, list[ManualStep]] = {}
    start = 0
    while start < len(keys):
        organization = keys[start].partition("/")[0]
        end = bisect_left(keys, organization + "0", start)  # "0" follows "/"
        by_org[organization] = steps[start:end]
        start = end
    return by_org


def open_steps(
    enterprise: Enterprise,
    outputs: OktaOutputs,
    actual: ActualState,
    *,
    teams: bool,
    held: frozenset[str] = frozenset(),
) -> tuple[ManualStep, ...]:
    """The steps no confirmation covers yet (or any more)."""
    found = actual.confirmations
    steps = all_steps(enterprise, outputs, actual, teams=teams, held=held)
    # A first run has no confirmation to look up for each of its (100,000) steps.
    confirmed = [found.get((s.kind, s.key)) for s in steps] if found else [None] * len(steps)
    done = {
        (step.kind, step.key)
        for step, c in zip(steps, confirmed, strict=True)
        if c is not None and step.done_by(c)
    }
    existing = _organizations_known_to_exist(enterprise, steps, done, actual)
    organization, owner = StepKind.ORGANIZATION, StepKind.OWNER
    kept: list[ManualStep] = []
    for step, confirmation in zip(steps, confirmed, strict=True):
        if confirmation is not None and (step.kind, step.key) in done:
            continue
        if step.kind is organization and step.key in existing:
            continue
        if step.kind is owner and _owner_in_ledger(step, actual):
            continue
        kept.append(step if confirmation is None else _again(step, confirmation))
    return tuple(kept)


def _again(step: ManualStep, confirmation: Confirmation | None) -> ManualStep:
    """A step confirmed once for other values says so, and which changed."""
    if confirmation is None or step.removal or step.kind in (StepKind.INVITATION, StepKind.MEMBER):
        return step
    return step.reopened(confirmation)


# -- the ledger's to-do list: invitations and members, as apply recorded them ---------------


def ledger_steps(
    enterprise: Enterprise, actual: ActualState, held: frozenset[str]
) -> list[ManualStep]:
    """Without SCIM, what an owner does in the UI for the people apply recorded: send each
    recorded invitation (again once expired, or with its new role), revoke one sent to
    someone who left, change a member's role or remove them. Only open ones are listed: a
    confirmation with the step's action (and role) for the current record closes it. The
    steps come in key order (`_by_organization` relies on it)."""
    steps: list[ManualStep] = []
    if not actual.invitations:  # nothing recorded yet (a first plan): no keys to make
        return steps
    add = steps.append
    confirmations = actual.confirmations
    members = actual.members
    # The people a member step's confirmation may speak of (most records hold none): anyone
    # else who accepted at the role they were invited with has nothing open, decided here
    # without a call per person (a settled enterprise is 100,000 of them), and without the
    # spec's keys, made only when an invitation is still open or revoked.
    spoken_of = {key for kind, key in confirmations if kind == StepKind.MEMBER}
    wanted: set[str] | None = None
    as_of = actual.as_of
    pending, expired = InvitationStatus.PENDING, InvitationStatus.EXPIRED
    accepted, revoked = InvitationStatus.ACCEPTED, InvitationStatus.REVOKED
    invitation_kind = StepKind.INVITATION  # a StrEnum: keys the confirmations as its value
    for key, invitation in sorted(actual.invitations.items()):
        status = invitation.status
        entry: Recorded | None
        if status is accepted:
            member = members.get(key)
            if member is not None and member.role == invitation.role and key not in spoken_of:
                continue  # what _member_change finds for them: nothing to do
            entry = _member_change(key, invitation, actual)
        else:
            if wanted is None:
                wanted = _spec_keys(enterprise, held)
            status = invitation.status_at(as_of)
            # a first apply's to-do list has no confirmation to look up (100,000 keys)
            confirmed = confirmations.get((invitation_kind, key)) if confirmations else None
            if key in wanted and (status is pending or status is expired):
                if confirmed is None:  # the common case: recorded, never said to be sent
                    entry = Recorded(invitation, "invite", invitation.role)
                    add(
                        ManualStep(
                            invitation_kind,
                            key,
                            NO_FIELDS,
                            "",
                            "",
                            fields=NO_FIELDS,
                            recorded=entry,
                        )
                    )
                    continue
                entry = _send(invitation, status, confirmed)
            elif key not in wanted and status is revoked:
                entry = _revoke(invitation, confirmed)
            else:
                entry = None
        if entry is not None:
            kind = invitation_kind if entry.action in _INVITATION_ACTIONS else StepKind.MEMBER
            add(ManualStep(kind, key, NO_FIELDS, "", "", fields=NO_FIELDS, recorded=entry))
    return steps


def _spec_keys(enterprise: Enterprise, held: frozenset[str]) -> set[str]:
    """`organization/email` of everyone in the spec whom Okta lets sign in."""
    return {
        f"{org.name}/{person.email}"
        for org in enterprise.spec.organizations
        for person in org.members
        if person.email not in held
    }


@dataclass(slots=True)
class Recorded:
    """What a ledger step is about, as the record holds it: the step's values, words and
    digest are made from it when asked for. `said` is how the step puts it (`invite`,
    `again`, `reinvite`, `revoke`, `remove`, `role`); `role` is the role it asks for, and
    `earlier` the role sent or held before (`reinvite`, `role`)."""

    invitation: InvitationState
    said: str
    role: str = ""
    earlier: str = ""

    @property
    def action(self) -> str:
        """The action a confirmation of this step records."""
        return _ACTIONS[self.said]

    def values(self) -> Mapping[str, str]:
        invitation = self.invitation
        values = {"organization": invitation.organization, "email": invitation.email}
        if self.role:
            values["role"] = self.role
        values["action"] = self.action
        return MappingProxyType(values)

    def where(self) -> str:
        org, email, role = self.invitation.organization, self.invitation.email, self.role
        match self.said:
            case "invite":
                return f"Insomnia › {org} › Members › Invite: invite {email} as {role}"
            case "again":
                return (
                    f"Insomnia › {org} › Members › Invite: invite {email} again as {role} "
                    "(the one sent expired unaccepted)"
                )
            case "reinvite":
                return (
                    f"Insomnia › {org} › Members › Invite: revoke the invitation sent as "
                    f"{self.earlier}, then invite {email} as {role}"
                )
            case "revoke":
                return (
                    f"Insomnia › {org} › Members › Pending invitations: revoke the one sent "
                    f"to {email}"
                )
            case "remove":
                return f"Insomnia › {org} › Members: remove {email}"
            case _:
                return (
                    f"Insomnia › {org} › Members: change {email}'s role from {self.earlier} "
                    f"to {role}"
                )


_ACTIONS = {
    "invite": "send",
    "again": "send",
    "reinvite": "send",
    "revoke": "revoke",
    "remove": "remove",
    "role": "role",
}
_INVITATION_ACTIONS = frozenset({"send", "revoke"})


def _action(confirmation: Confirmation | None) -> tuple[str, str]:
    detail = confirmation.detail if confirmation is not None else {}
    return detail.get("action", ""), detail.get("role", "")


def _send(
    invitation: InvitationState, status: InvitationStatus, confirmed: Confirmation | None
) -> Recorded | None:
    action, role = _action(confirmed)
    sent_now = confirmed is not None and action == "send" and confirmed.at >= invitation.invited_at
    if sent_now and role == invitation.role and status is InvitationStatus.PENDING:
        return None
    if sent_now and role != invitation.role:
        return Recorded(invitation, "reinvite", invitation.role, role)
    return Recorded(invitation, "again" if action == "send" else "invite", invitation.role)


def _revoke(invitation: InvitationState, confirmed: Confirmation | None) -> Recorded | None:
    action, _ = _action(confirmed)
    if action != "send":  # never sent (nothing to revoke in Insomnia) or already revoked
        return None
    return Recorded(invitation, "revoke")


def _member_change(key: str, invitation: InvitationState, actual: ActualState) -> Recorded | None:
    member = actual.members.get(key)
    confirmed = actual.confirmations.get((StepKind.MEMBER, key))
    current = confirmed is not None and confirmed.at >= invitation.invited_at
    # Only a confirmation of this invitation's member says anything (most have none).
    action, role = _action(confirmed) if current else ("", "")
    if member is None:  # apply recorded their removal (prune)
        return None if current and action == "remove" else Recorded(invitation, "remove")
    held_role = role if current and action == "role" else invitation.role
    if member.role == held_role or Role.OWNER.value in (member.role, held_role):
        return None
    return Recorded(invitation, "role", member.role, held_role)


def _organizations_known_to_exist(
    enterprise: Enterprise,
    steps: list[ManualStep],
    done: set[tuple[StepKind, str]],
    actual: ActualState,
) -> set[str]:
    """Organizations a confirmed team link or an accepted invitation shows to exist."""
    linked = {
        str(step.after["organization"])
        for step in steps
        if step.kind is StepKind.TEAM_LINK and (step.kind, step.key) in done
    }
    return linked | {member.organization for member in actual.members.values()}


def _owner_in_ledger(step: ManualStep, actual: ActualState) -> bool:
    member = actual.members.get(step.key)
    return member is not None and member.role == Role.OWNER.value
