"""Onboarding status: where each person in the spec stands, from Okta assignment to member.

The manual guide's last step ("chase them until they log in, set their passphrase and
accept") becomes a table: assigned in Okta → invited → accepted, or expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.outputs import OktaOutputs
from reconciler.spec import Enterprise
from reconciler.state import ActualState, InvitationStatus, member_key


class Stage(StrEnum):
    """Where one person is in onboarding, furthest stage reached."""

    NOT_INVITED = "not invited"
    INVITED = "invited"
    EXPIRED = "expired"
    ACCEPTED = "accepted"


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
    sso_connection: str = "not configured"
    """`not configured`, `configured`, or `out of date` against the Okta outputs."""

    def counts(self) -> dict[str, dict[str, int]]:
        """Per organization: how many people are at each stage, and how many in Okta."""
        out: dict[str, dict[str, int]] = {}
        for person in self.people:
            row = out.get(person.organization)
            if row is None:
                row = out[person.organization] = {"people": 0, "assigned in okta": 0}
                row.update({stage.value: 0 for stage in Stage})
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
    for org, member in enterprise.memberships():
        key = member_key(org.name, member.email)
        invitation = actual.invitations.get(key)
        if key in actual.members:
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
        enterprise.name, tuple(people), domains, _sso_state(enterprise, outputs, actual)
    )


def _sso_state(enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState) -> str:
    current = actual.sso
    if current is None:
        return "not configured"
    expected = (enterprise.spec.sso.sso_url, enterprise.spec.sso.domain_identifier)
    # An adopted app's secret is not in the stack (secret_known False): only what is known
    # can be out of date, and the secret Insomnia holds is kept.
    if (
        (current.sso_url, current.domain_identifier) != expected
        or (
            outputs.known
            and (current.client_id, current.issuer) != (outputs.client_id, outputs.issuer)
        )
        or (outputs.secret_known and current.secret_fingerprint != outputs.secret_fingerprint)
    ):
        return "out of date (run apply)"
    return f"configured (issuer {current.issuer})"
