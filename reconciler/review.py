"""Pull-request review: what a spec change does on both sides, and whether it is risky.

Pure analysis over two revisions' specs and their offline Okta previews; rendering lives in
`render_review`. Nothing here needs credentials: Okta is the program under mocks, Insomnia
is the diff of who is declared where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from reconciler.errors import Problem
from reconciler.revisions import SpecsAt
from reconciler.spec import Enterprise, Member, Role

if TYPE_CHECKING:  # the preview loads Pulumi; the analysis itself does not need it
    from reconciler.okta_preview import DeclaredResource, OktaPreview

PRIVILEGED = (Role.ADMIN.value, Role.OWNER.value)
_RANK = {None: 0, Role.MEMBER.value: 1, Role.ADMIN.value: 2, Role.OWNER.value: 3}
"""Roles by privilege: an escalation is a move up this order into admin or owner."""


class Label(StrEnum):
    """Pull-request labels the review suggests."""

    ACCESS_REMOVED = "access-removed"
    ACCESS_GRANTED = "access-granted"
    SSO_SETTINGS_CHANGED = "sso-settings-changed"
    NO_CHANGES = "no-changes"


@dataclass(frozen=True, slots=True)
class AccessChange:
    """One person's access to one organization, before and after (None: no access)."""

    organization: str
    email: str
    before: str | None
    after: str | None

    @property
    def granted(self) -> bool:
        """Newly in the organization."""
        return self.before is None

    @property
    def removed(self) -> bool:
        """No longer in the organization."""
        return self.after is None

    @property
    def escalation(self) -> bool:
        """Gains admin or owner, by joining as one or by a role change (admin to owner too)."""
        return self.after in PRIVILEGED and _RANK[self.after] > _RANK[self.before]

    @property
    def demotion(self) -> bool:
        """Stays in the organization with a lesser role (owner or admin to member, owner to
        admin): access narrowed, never an escalation."""
        return self.after is not None and _RANK[self.after] < _RANK[self.before]


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """An Okta resource the program adds, changes or removes, with the properties that differ."""

    action: str
    type: str
    name: str
    properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnterpriseReview:
    """Both sides of one enterprise's change."""

    name: str
    status: str
    access: tuple[AccessChange, ...]
    okta: tuple[ResourceChange, ...]
    logins_added: tuple[str, ...]
    logins_removed: tuple[str, ...]
    domains_added: tuple[str, ...]
    domains_removed: tuple[str, ...]
    sso: dict[str, tuple[Any, Any]]
    risks: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    prune: bool = False
    """The spec's prune.enabled (at head; at base for an enterprise removed)."""
    max_fraction: float = 0.1
    """The spec's prune.maxFraction, likewise."""

    def count(self, predicate: Callable[[AccessChange], bool]) -> int:
        """How many access changes match."""
        return sum(1 for change in self.access if predicate(change))

    @property
    def okta_summary(self) -> dict[str, int]:
        """Resources to add, change, remove."""
        return {a: sum(1 for c in self.okta if c.action == a) for a in ("add", "change", "remove")}

    @property
    def changed(self) -> bool:
        """Anything at all differs."""
        return bool(
            self.access or self.okta or self.domains_added or self.domains_removed or self.sso
        )


@dataclass(frozen=True)
class Review:
    """The whole review: every enterprise, problems per side, labels and the verdict."""

    base: str
    head: str
    enterprises: tuple[EnterpriseReview, ...]
    head_problems: tuple[Problem, ...]
    base_problems: tuple[Problem, ...]

    @property
    def risks(self) -> list[str]:
        """Every failed risk check, prefixed by its enterprise."""
        return [f"{e.name}: {risk}" for e in self.enterprises for risk in e.risks]

    @property
    def warnings(self) -> list[str]:
        """Things a reviewer should see that do not fail the review, prefixed by enterprise."""
        return [f"{e.name}: {warning}" for e in self.enterprises for warning in e.warnings]

    @property
    def failed(self) -> bool:
        """The review fails (exit 1) on any risk or any invalid spec at head."""
        return bool(self.risks or self.head_problems)

    @property
    def labels(self) -> list[Label]:
        """Labels to suggest, loudest first."""
        access = [c for e in self.enterprises for c in e.access]
        labels = []
        if any(c.removed for c in access) or any(e.logins_removed for e in self.enterprises):
            labels.append(Label.ACCESS_REMOVED)
        if any(c.granted or c.escalation for c in access):
            labels.append(Label.ACCESS_GRANTED)
        if any(e.sso or e.domains_added or e.domains_removed for e in self.enterprises):
            labels.append(Label.SSO_SETTINGS_CHANGED)
        if not labels and not self.head_problems and not any(e.changed for e in self.enterprises):
            labels.append(Label.NO_CHANGES)
        return labels


def review(base: SpecsAt, head: SpecsAt, preview: Callable[[Enterprise], OktaPreview]) -> Review:
    """Compare two revisions' specs; `preview` runs the Okta program offline for one side."""
    reviews = []
    for name in sorted(set(base.enterprises) | set(head.enterprises)):
        before, after = base.enterprises.get(name), head.enterprises.get(name)
        if after is None and any(p.path == base.paths.get(name) for p in head.problems):
            continue  # invalid at head: reported as a problem, not as a removal
        reviews.append(_review_enterprise(name, before, after, preview))
    return Review(
        base.revision, head.revision, tuple(reviews), tuple(head.problems), tuple(base.problems)
    )


def _people(enterprise: Enterprise | None) -> dict[tuple[str, str], str]:
    if enterprise is None:
        return {}
    return {(org.name, m.email): m.role.value for org, m in enterprise.memberships()}


def _review_enterprise(
    name: str,
    before: Enterprise | None,
    after: Enterprise | None,
    preview: Callable[[Enterprise], OktaPreview],
) -> EnterpriseReview:
    old, new = _people(before), _people(after)
    access = tuple(
        AccessChange(org, email, old.get((org, email)), new.get((org, email)))
        for org, email in sorted(set(old) | set(new))
        if old.get((org, email)) != new.get((org, email))
    )
    old_logins = set(before.assigned_logins()) if before else set()
    new_logins = set(after.assigned_logins()) if after else set()
    old_domains = set(before.spec.domains) if before else set()
    new_domains = set(after.spec.domains) if after else set()
    okta: tuple[ResourceChange, ...] = ()
    if before != after:  # the program is deterministic: an unchanged spec declares the same
        okta = _okta_diff(
            preview(before).resources if before else (), preview(after).resources if after else ()
        )
    sso = _sso_diff(before, after) if before and after else {}
    status = "added" if before is None else "removed" if after is None else "changed"
    governing = after or before
    prune = governing.spec.prune if governing is not None else None
    return EnterpriseReview(
        name=name,
        status=status,
        access=access,
        okta=okta,
        logins_added=tuple(sorted(new_logins - old_logins)),
        logins_removed=tuple(sorted(old_logins - new_logins)),
        domains_added=tuple(sorted(new_domains - old_domains)),
        domains_removed=tuple(sorted(old_domains - new_domains)),
        sso=sso,
        risks=tuple(_risks(before, after, access, okta, sso)),
        warnings=tuple(_adminless(before, after, access)[1]),
        prune=prune.enabled if prune else False,
        max_fraction=prune.max_fraction if prune else 0.1,
    )


def _okta_diff(
    before: tuple[DeclaredResource, ...], after: tuple[DeclaredResource, ...]
) -> tuple[ResourceChange, ...]:
    old = {(r.type, r.name): r for r in before}
    new = {(r.type, r.name): r for r in after}
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is None:
            changes.append(ResourceChange("add", *key))
        elif b is None:
            changes.append(ResourceChange("remove", *key))
        else:
            props = tuple(
                sorted(
                    p
                    for p in set(a.properties) | set(b.properties)
                    if a.properties.get(p) != b.properties.get(p)
                )
            )
            if props:
                changes.append(ResourceChange("change", *key, props))
    return tuple(changes)


def _sso_diff(before: Enterprise, after: Enterprise) -> dict[str, tuple[Any, Any]]:
    a, b = before.spec.sso, after.spec.sso
    fields = {
        "ssoUrl": (a.sso_url, b.sso_url),
        "domainIdentifier": (a.domain_identifier, b.domain_identifier),
        "okta.orgUrl": (a.okta.org_url, b.okta.org_url),
        "okta.customDomain": (a.okta.custom_domain, b.okta.custom_domain),
        "okta.appLabel": (a.okta.app_label, b.okta.app_label),
        "okta.authorizationServer.name": (
            a.okta.authorization_server.name,
            b.okta.authorization_server.name,
        ),
        "okta.authorizationServer.audience": (
            a.okta.authorization_server.audience,
            b.okta.authorization_server.audience,
        ),
    }
    return {key: pair for key, pair in fields.items() if pair[0] != pair[1]}


def issuer_changes(okta: tuple[ResourceChange, ...], sso: dict[str, tuple[Any, Any]]) -> bool:
    """The issuer URL changes when the Okta org moves, the authorization server is replaced,
    or the custom domain it issues on is added, changed or removed."""
    replaced = {c.action for c in okta if c.type == "okta:auth/server:Server"} >= {"add", "remove"}
    return replaced or "okta.orgUrl" in sso or "okta.customDomain" in sso


ISSUER_RISK = (
    "everyone's login breaks until Insomnia's SSO connection holds the new issuer "
    "(pulumi up, then insomnia-sso apply, back to back)"
)


def _issuer_risk(before: Enterprise, after: Enterprise, sso: dict[str, tuple[Any, Any]]) -> str:
    """The failed risk check for an issuer change; a custom domain's names both hosts."""
    if "okta.customDomain" not in sso:
        return f"the issuer changes: {ISSUER_RISK}"
    old, new = sso["okta.customDomain"]
    how = "added" if old is None else "removed" if new is None else "changed"
    source, target = before.spec.sso.okta.issuer_host, after.spec.sso.okta.issuer_host
    first = "" if new is None else f"; {new} must exist and be verified in Okta first"
    return (
        f"the issuer moves from {source} to {target} (okta.customDomain {how}): "
        f"{ISSUER_RISK}{first}"
    )


def _risks(
    before: Enterprise | None,
    after: Enterprise | None,
    access: tuple[AccessChange, ...],
    okta: tuple[ResourceChange, ...],
    sso: dict[str, tuple[Any, Any]],
) -> list[str]:
    risks: list[str] = []
    if before is not None and after is None:
        people = len(before.assigned_logins())
        return [f"the whole enterprise is removed: {people} people lose SSO access"]
    if before is None or after is None:
        return risks  # a new enterprise has no base to lose an admin from: see its warnings
    bound = min(before.spec.prune.max_fraction, after.spec.prune.max_fraction)
    sizes = {org.name: len(org.members) for org in before.spec.organizations}
    for org, size in sizes.items():
        removed = sum(1 for c in access if c.organization == org and c.removed)
        if size and removed / size > bound:
            risks.append(
                f"organization {org} loses {removed} of {size} people "
                f"({removed / size:.0%}), more than prune.maxFraction ({bound:.0%})"
            )
    identifier = before.spec.sso.domain_identifier
    if identifier not in after.spec.domains:
        risks.append(
            f"domain {identifier}, the SSO domainIdentifier, is removed: SSO stops matching users"
        )
    if "ssoUrl" in sso:
        risks.append(
            "ssoUrl changes: everyone's login breaks until Okta's redirect URI and Insomnia "
            "agree (pulumi up, then insomnia-sso apply, back to back)"
        )
    if issuer_changes(okta, sso):
        risks.append(_issuer_risk(before, after, sso))
    risks.extend(_adminless(before, after, access)[0])
    return risks


def _has_admin(members: Iterable[Member]) -> bool:
    return any(m.role.value in PRIVILEGED for m in members)


def _adminless(
    before: Enterprise | None, after: Enterprise | None, access: tuple[AccessChange, ...]
) -> tuple[list[str], list[str]]:
    """Organizations this change touches that have people but no admin at head: (risks,
    warnings). Only losing the last admin is a risk; an organization that had none at base
    (or did not exist) is a warning, or every change to it would fail review."""
    if after is None:
        return [], []
    touched = {c.organization for c in access}
    base = (
        {org.name: _has_admin(org.members) for org in before.spec.organizations} if before else {}
    )
    risks: list[str] = []
    warnings: list[str] = []
    for org in after.spec.organizations:
        if org.name not in touched or not org.members or _has_admin(org.members):
            continue
        if base.get(org.name):
            risks.append(f"organization {org.name} is left with no admin")
        elif org.name in base:
            warnings.append(f"organization {org.name} has no admin (it had none before either)")
        else:
            warnings.append(f"new organization {org.name} has no admin")
    return risks, warnings
