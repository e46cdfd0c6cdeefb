"""Onboarding status: where each person in the spec stands, from Okta assignment to member.

The manual guide's last step ("chase them until they log in, set their passphrase and
accept") becomes a table: assigned in Okta → invited → accepted, or expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.manual import scim_role, sso_step
from reconciler.outputs import OktaOutputs
from reconciler.plan_scim import find_team
from reconciler.spec import Enterprise, Organization, Role
from reconciler.state import ActualState, InvitationStatus, member_key


class Stage(StrEnum):
    """Where one person is in onboarding, furthest stage reached."""

    NOT_INVITED = "not invited"
    INVITED = "invited"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    # With the SCIM directory: Insomnia holds the person (active) in their team, or not yet.
    NOT_PROVISIONED = "not provisioned"
    INACTIVE = "inactive"
    PROVISIONED = "provisioned"


@dataclass(frozen=True, slots=True)
class PersonStatus:
    """One person in one organization."""

    organization: str
    email: str
    role: str
    assigned_in_okta: bool | None
    stage: Stage


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
        if self.scim:
            return (Stage.NOT_PROVISIONED, Stage.INACTIVE, Stage.PROVISIONED)
        return (Stage.NOT_INVITED, Stage.INVITED, Stage.EXPIRED, Stage.ACCEPTED)

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
    """The status of every person in the spec as of the store's read."""
    people = []
    assigned = outputs.assigned_users
    directory = actual.directory
    for org, member in enterprise.memberships():
        key = member_key(org.name, member.email)
        invitation = actual.invitations.get(key)
        if directory is not None:
            stage = _provisioned(actual, org, member.email, member.role)
        elif key in actual.members:
            stage = Stage.ACCEPTED
        elif invitation is None:
            stage = Stage.NOT_INVITED
        else:
            stage = {
                InvitationStatus.PENDING: Stage.INVITED,
                InvitationStatus.EXPIRED: Stage.EXPIRED,
            }.get(invitation.status_at(actual.as_of), Stage.NOT_INVITED)
        people.append(
            PersonStatus(
                organization=org.name,
                email=member.email,
                role=member.role.value,
                assigned_in_okta=None if assigned is None else member.login in assigned,
                stage=stage,
            )
        )
    domains = tuple(
        (name, bool(actual.domains.get(name) and actual.domains[name].verified))
        for name in enterprise.spec.domains
    )
    return OnboardingStatus(
        enterprise.name,
        tuple(people),
        domains,
        directory is not None,
        _sso_state(enterprise, outputs, actual),
    )


def _provisioned(actual: ActualState, org: Organization, email: str, role: Role) -> Stage:
    directory = actual.directory
    assert directory is not None
    user = directory.users.get(email)
    if user is None:
        return Stage.NOT_PROVISIONED
    if not user.active:
        return Stage.INACTIVE
    team_role = scim_role(role)
    team = find_team(actual, directory, org.name, team_role, org.team_name(team_role)).team
    return (
        Stage.PROVISIONED if team is not None and email in team.members else Stage.NOT_PROVISIONED
    )


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
