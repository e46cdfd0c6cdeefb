"""Onboarding status: where each person in the spec stands, and what comes next for them.

The manual guide's last step ("chase them until they log in, set their passphrase and
accept") becomes a table. A stage is only what someone confirmed or the directory shows:

    ledger  waiting for Okta → not recorded → recorded (to send) → sent (an owner confirmed
            it) → accepted (confirmed), or expired (30 days after sending, unaccepted)
    SCIM    waiting for Okta → not provisioned → provisioned (a user) → in team (not linked
            yet) → has access (the team's link confirmed); inactive (deactivated)

Last, each person signs in with Okta, sets their encryption passphrase and, invited,
accepts: END_USER says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reconciler.manual import StepKind, scim_role, sso_step, team_link_steps
from reconciler.outputs import OktaOutputs
from reconciler.plan_scim import find_team
from reconciler.spec import Enterprise, Member, Organization
from reconciler.state import ActualState, Confirmation, InvitationStatus, member_key

END_USER = (
    "Each person's own part, last: sign in to Insomnia with Okta (SSO), set their encryption "
    "passphrase, and accept the invitation to each organization."
)


class Stage(StrEnum):
    """Where one person is in onboarding: the furthest stage confirmed or seen."""

    WAITING_FOR_OKTA = "waiting for okta"
    # The ledger (no SCIM): invitations an owner sends from Insomnia's UI.
    NOT_RECORDED = "not recorded"
    RECORDED = "recorded"
    SENT = "sent"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    # The SCIM directory: a user, in the organization's team, which is linked.
    NOT_PROVISIONED = "not provisioned"
    INACTIVE = "inactive"
    PROVISIONED = "provisioned"
    IN_TEAM = "in team"
    HAS_ACCESS = "has access"


NEXT = {
    Stage.WAITING_FOR_OKTA: "assign them in Okta: pulumi up",
    Stage.NOT_RECORDED: "insomnia-sso apply records the invitation",
    Stage.RECORDED: "an owner sends the invitation (see plan), then confirms it",
    Stage.SENT: "they sign in with Okta, set their passphrase, accept; then confirm acceptance",
    Stage.EXPIRED: "an owner sends the invitation again (see plan)",
    Stage.ACCEPTED: "none: a member",
    Stage.NOT_PROVISIONED: "insomnia-sso apply creates their user",
    Stage.INACTIVE: "insomnia-sso apply reactivates them",
    Stage.PROVISIONED: "insomnia-sso apply adds them to their team",
    Stage.IN_TEAM: "an owner links the team to the organization (see plan)",
    Stage.HAS_ACCESS: "they sign in with Okta and set their encryption passphrase",
}
"""What comes next for someone at each stage, and who does it."""

LEDGER_STAGES = (
    Stage.WAITING_FOR_OKTA,
    Stage.NOT_RECORDED,
    Stage.RECORDED,
    Stage.SENT,
    Stage.EXPIRED,
    Stage.ACCEPTED,
)
SCIM_STAGES = (
    Stage.WAITING_FOR_OKTA,
    Stage.NOT_PROVISIONED,
    Stage.INACTIVE,
    Stage.PROVISIONED,
    Stage.IN_TEAM,
    Stage.HAS_ACCESS,
)


@dataclass(frozen=True, slots=True)
class PersonStatus:
    """One person in one organization."""

    organization: str
    email: str
    role: str
    assigned_in_okta: bool | None
    stage: Stage

    @property
    def next(self) -> str:
        """What comes next for them, and who does it."""
        return NEXT[self.stage]


@dataclass(frozen=True)
class OnboardingStatus:
    """Everyone in the spec plus counts per organization."""

    enterprise: str
    people: tuple[PersonStatus, ...]
    domains: tuple[tuple[str, bool], ...] = ()
    """Each domain of the spec and whether Insomnia has verified it (DNS TXT)."""
    scim: bool = False
    """True when people were read from the SCIM directory: stages are provisioning ones."""
    sso_connection: str = "not confirmed"
    """Whether an owner confirmed the SSO connection, and for the current Okta values."""

    def stages(self) -> tuple[Stage, ...]:
        """The stages a person can be at: the ledger's, or SCIM provisioning's."""
        return SCIM_STAGES if self.scim else LEDGER_STAGES

    def counts(self) -> dict[str, dict[str, int]]:
        """Per organization: how many people are at each stage, and how many in Okta."""
        out: dict[str, dict[str, int]] = {}
        for person in self.people:
            row = out.get(person.organization)
            if row is None:
                row = out[person.organization] = {"people": 0, "assigned in okta": 0}
                row.update({stage.value: 0 for stage in self.stages()})
            row["people"] += 1
            row[person.stage.value] += 1
            row["assigned in okta"] += bool(person.assigned_in_okta)
        return out


def onboarding_status(
    enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState
) -> OnboardingStatus:
    """The status of every person in the spec as of the record's (and directory's) read."""
    people = []
    assigned = outputs.assigned_users
    linked = _linked_teams(enterprise, actual)
    for org, member in enterprise.memberships():
        in_okta = None if assigned is None else member.login in assigned
        if actual.directory is not None:
            stage = _provisioned(actual, org, member, linked)
        else:
            stage = _invited(actual, org.name, member)
        if in_okta is False and stage not in (Stage.ACCEPTED, Stage.HAS_ACCESS):
            stage = Stage.WAITING_FOR_OKTA  # nothing more is given them before Okta does
        people.append(PersonStatus(org.name, member.email, member.role.value, in_okta, stage))
    domains = tuple(
        (name, bool(actual.domains.get(name) and actual.domains[name].verified))
        for name in enterprise.spec.domains
    )
    return OnboardingStatus(
        enterprise.name,
        tuple(people),
        domains,
        actual.directory is not None,
        _sso_state(enterprise, outputs, actual),
    )


def _invited(actual: ActualState, organization: str, member: Member) -> Stage:
    key = member_key(organization, member.email)
    if key in actual.members:
        return Stage.ACCEPTED
    invitation = actual.invitations.get(key)
    if invitation is None:
        return Stage.NOT_RECORDED
    status = invitation.status_at(actual.as_of)
    if status is InvitationStatus.EXPIRED:
        return Stage.EXPIRED
    if status is not InvitationStatus.PENDING:
        return Stage.NOT_RECORDED
    sent = actual.confirmations.get((StepKind.INVITATION.value, key))
    return Stage.SENT if _sent(sent, invitation.invited_at, invitation.role) else Stage.RECORDED


def _sent(confirmed: Confirmation | None, since: datetime, role: str) -> bool:
    """An owner confirmed sending this invitation (this role, since it was recorded)."""
    return (
        confirmed is not None
        and confirmed.detail.get("action") == "send"
        and confirmed.detail.get("role") == role
        and confirmed.at >= since
    )


def _linked_teams(enterprise: Enterprise, actual: ActualState) -> set[str]:
    """The teams whose link an owner confirmed for their current values."""
    linked = set()
    for org in enterprise.spec.organizations:
        for step in team_link_steps(enterprise, org.name):
            if step.done_by(actual.confirmations.get((step.kind.value, step.key))):
                linked.add(step.key)
    return linked


def _provisioned(actual: ActualState, org: Organization, member: Member, linked: set[str]) -> Stage:
    directory = actual.directory
    assert directory is not None
    user = directory.users.get(member.email)
    if user is None:
        return Stage.NOT_PROVISIONED
    if not user.active:
        return Stage.INACTIVE
    team_role = scim_role(member.role)
    name = org.team_name(team_role)
    team = find_team(actual, directory, org.name, team_role, name).team
    if team is None or member.email not in team.members:
        return Stage.PROVISIONED
    return Stage.HAS_ACCESS if name in linked else Stage.IN_TEAM


def _sso_state(enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState) -> str:
    step = sso_step(enterprise, outputs)
    found = actual.confirmations.get((step.kind.value, step.key))
    if found is None:
        return "not confirmed (a manual step: see plan)"
    if not step.ready:
        return f"confirmed by {found.actor} (pass the Okta outputs to check it is current)"
    if step.done_by(found):
        return f"confirmed by {found.actor} (issuer {outputs.issuer})"
    return "out of date: the Okta values changed since it was confirmed (see plan)"
