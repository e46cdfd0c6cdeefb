"""Read → plan → write against a directory, with the record kept in memory: the apply loop
without a store, so the directory's tests read as the stories they check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.directory.base import WriteReport
from reconciler.directory.scim_types import Profile
from reconciler.manual import all_steps
from reconciler.outputs import OktaOutputs
from reconciler.plan import Action, Kind, Plan, plan
from reconciler.spec import Enterprise, load_text
from reconciler.state import ActualState, Confirmation, DirectoryState, ManagedTeam
from tests.conftest import spec_yaml
from tests.directory.conftest import ENTERPRISE, directory

__all__ = ["ENTERPRISE", "Record", "Run", "enterprise", "reconcile"]


def enterprise(
    organizations: dict[str, Iterable[str]], *, prune: bool = False, max_fraction: float = 1.0
) -> Enterprise:
    """acme with these organizations; members written `email` or `email:role`."""
    return load_text(spec_yaml(organizations, prune=prune, max_fraction=max_fraction))


@dataclass
class Record:
    """What the store would keep between runs: managed users and teams, confirmed links."""

    users: dict[str, str] = field(default_factory=dict)
    teams: dict[tuple[str, str], ManagedTeam] = field(default_factory=dict)
    linked: set[str] = field(default_factory=set)

    def actual(self, spec: Enterprise, state: DirectoryState) -> ActualState:
        now = datetime.now(UTC)
        steps = all_steps(spec, OktaOutputs(), ActualState(ENTERPRISE, now), teams=True)
        confirmations = {
            (s.kind.value, s.key): Confirmation(s.kind.value, s.key, s.digest, "test", now)
            for s in steps
            if s.kind.value == "team_link" and s.key in self.linked
        }
        return ActualState(
            ENTERPRISE,
            now,
            confirmations=confirmations,
            managed_users=frozenset(self.users),
            managed_user_ids=dict(self.users),
            managed_teams=dict(self.teams),
            directory=state,
        )

    def learn(self, report: WriteReport) -> None:
        """What apply records after a write."""
        for change in report.done:
            if change.kind is Kind.USER and change.key in report.user_ids:
                self.users[change.key] = report.user_ids[change.key]
            if change.kind is Kind.TEAM:
                attrs = change.after or change.before or {}
                where = (str(attrs["organization"]), str(attrs["role"]))
                if change.action is Action.DELETE:
                    self.teams.pop(where, None)
                elif change.key in report.team_ids:
                    self.teams[where] = ManagedTeam(*where, report.team_ids[change.key], change.key)


@dataclass
class Run:
    plan: Plan
    report: WriteReport
    state: DirectoryState
    requests: int


def reconcile(
    url: str, spec: Enterprise, record: Record, *, profile: Profile = Profile.OKTA, **kw: object
) -> Run:
    """One apply: read, plan, write what is not waiting, learn what the record would."""
    with directory(url, profile=profile, **kw) as d:  # type: ignore[arg-type]
        state = d.read(enterprise=ENTERPRISE)
        result = plan(spec, OktaOutputs(), record.actual(spec, state))
        report = d.write(enterprise=ENTERPRISE, changes=result.ready)
        record.learn(report)
        return Run(result, report, state, d.requests)


def read(url: str, *, profile: Profile = Profile.OKTA, **kw: object) -> DirectoryState:
    """A fresh read, as the next run would see it."""
    with directory(url, profile=profile, **kw) as d:  # type: ignore[arg-type]
        return d.read(enterprise=ENTERPRISE)
