"""Apply end to end on specs written as YAML: the lifecycle of people, the SSO connection that
waits for Okta, the lock, the refusals that protect people, and recovery from crashes."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.apply import ApplyResult, apply, check_removals, default_actor
from reconciler.confirm import confirm_steps
from reconciler.errors import LockHeldError, PlanRefusedError
from reconciler.outputs import UNKNOWN, OktaOutputs
from reconciler.plan import Action, Kind, PlanChange, plan
from reconciler.refusals import mass_removals, refusals
from reconciler.spec import Enterprise, load_text
from reconciler.state import INVITATION_TTL, ActualState, InvitationStatus, MemberState
from reconciler.stores.base import LockInfo, Store
from reconciler.stores.record import SqlStore
from tests.conftest import okta_outputs, spec_yaml

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
ACTOR = "ci@runner-7 pid 1"


def spec(prune: bool = False, max_fraction: float = 0.1, **organizations: list[str]) -> Enterprise:
    """A spec from YAML text; each member is written `email` or `email role`."""
    orgs = {
        name.replace("_", "-"): [member.replace(" ", ":") for member in members]
        for name, members in organizations.items()
    }
    return load_text(spec_yaml(orgs, prune=prune, max_fraction=max_fraction), "acme.yaml")


outputs_for = okta_outputs


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqlStore]:
    opened = SqlStore.sqlite(db)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def run(store: SqlStore, clock: Clock):
    """apply() against the test's store and clock, with Okta outputs unless told otherwise."""

    def run_apply(enterprise: Enterprise, outputs: OktaOutputs | None = None, **options):
        outputs = outputs_for(enterprise) if outputs is None else outputs
        return apply(enterprise, outputs, store, actor=ACTOR, clock=clock, **options)

    return run_apply


def read(store: Store, clock: Clock) -> ActualState:
    return store.read(enterprise="acme", now=clock())


def accept(store: Store, clock: Clock, key: str) -> None:
    organization, _, email = key.partition("/")
    store.accept_invitation(
        enterprise="acme", organization=organization, email=email, actor="person", now=clock()
    )


def invitations(store: Store, clock: Clock) -> dict[str, tuple[str, str]]:
    return {
        key: (i.role, i.status_at(clock()).value)
        for key, i in read(store, clock).invitations.items()
    }


TEAM = spec(platform=["alice@acme.com admin", "bob@acme.io"], payments=["carol@acme.com"])


# -- the first apply, and the second ---------------------------------------------------------


def test_a_first_apply_records_everyone_and_leaves_the_ui_steps_open(run, store, clock) -> None:
    result = run(TEAM)
    assert result.plan.summary() == {
        "create": 3,
        "update": 0,
        "delete": 0,
        "waiting": 0,
        "manual": 5,
    }
    assert (result.applied, result.failed) == (3, ())
    assert [(s.kind.value, s.key) for s in result.plan.manual_steps] == [
        ("domain", "acme.com"),
        ("domain", "acme.io"),
        ("sso_connection", "acme"),
        ("organization", "platform"),
        ("organization", "payments"),
    ]
    actual = read(store, clock)
    assert actual.exists
    assert actual.domains == {}  # claimed and verified only once an owner confirms it
    assert actual.organizations == {"platform", "payments"}
    assert invitations(store, clock) == {
        "platform/alice@acme.com": ("admin", "pending"),
        "platform/bob@acme.io": ("member", "pending"),
        "payments/carol@acme.com": ("member", "pending"),
    }


def test_a_second_apply_plans_nothing(run, store) -> None:
    run(TEAM)
    journaled = len(store.journal(enterprise="acme", limit=1000))
    again = run(TEAM)
    assert not again.plan.changes
    assert again.applied == 0
    assert len(store.journal(enterprise="acme", limit=1000)) == journaled


def test_every_change_is_journaled_with_who_and_when(run, store, clock) -> None:
    result = run(TEAM)
    entries = store.journal(enterprise="acme", limit=1000)
    assert [(e.action, e.kind, e.key) for e in reversed(entries)] == [
        (c.action.value, c.kind.value, c.key) for c in result.plan.changes
    ]
    # The ledger only records: its journal says so, never "applied".
    assert {(e.actor, e.at, e.outcome) for e in entries} == {(ACTOR, NOW, "recorded")}


# -- the lifecycle of people -----------------------------------------------------------------


def test_an_accepted_invitation_makes_a_member_whose_role_follows_the_spec(
    run, store, clock
) -> None:
    run(TEAM)
    accept(store, clock, "platform/bob@acme.io")
    assert not run(TEAM).plan.changes  # a member needs no invitation
    promoted = spec(
        platform=["alice@acme.com admin", "bob@acme.io admin"], payments=["carol@acme.com"]
    )
    [change] = run(promoted).plan.changes
    assert (change.action, change.kind, change.key) == (
        Action.UPDATE,
        Kind.MEMBER,
        "platform/bob@acme.io",
    )
    assert read(store, clock).members["platform/bob@acme.io"].role == "admin"


def test_an_invitation_unsent_or_unaccepted_for_30_days_is_recorded_again(
    run, store, clock
) -> None:
    run(TEAM)
    clock.advance(days=29)
    assert run(TEAM).plan.changes == ()  # Insomnia keeps pending invitations 30 days
    clock.advance(days=2)
    result = run(TEAM)
    assert {(c.action, c.kind) for c in result.plan.changes} == {(Action.UPDATE, Kind.INVITATION)}
    carol = read(store, clock).invitations["payments/carol@acme.com"]
    assert (carol.status, carol.invited_at, carol.expires_at) == (
        InvitationStatus.PENDING,
        clock(),
        clock() + INVITATION_TTL,
    )


def test_a_person_removed_before_accepting_has_the_invitation_revoked(run, store, clock) -> None:
    run(TEAM)
    result = run(spec(platform=["alice@acme.com admin"], payments=["carol@acme.com"]))
    [change] = result.plan.changes
    assert (change.action, change.key) == (Action.DELETE, "platform/bob@acme.io")
    assert invitations(store, clock)["platform/bob@acme.io"] == ("member", "revoked")


def test_a_member_removed_from_the_spec_stays_while_prune_is_off(run, store, clock) -> None:
    run(TEAM)
    accept(store, clock, "platform/bob@acme.io")
    result = run(spec(platform=["alice@acme.com admin"], payments=["carol@acme.com"]))
    assert not result.plan.changes
    assert [(u.email, u.outcome) for u in result.plan.unmanaged] == [
        ("bob@acme.io", "stays: prune is off")
    ]
    assert "platform/bob@acme.io" in read(store, clock).members


def test_with_prune_enabled_a_member_removed_from_the_spec_is_removed(run, store, clock) -> None:
    run(TEAM)
    accept(store, clock, "platform/alice@acme.com")
    accept(store, clock, "platform/bob@acme.io")
    result = run(
        spec(
            prune=True,
            max_fraction=0.5,
            platform=["alice@acme.com admin"],
            payments=["carol@acme.com"],
        )
    )
    [change] = result.plan.changes
    assert (change.action, change.kind, change.key) == (
        Action.DELETE,
        Kind.MEMBER,
        "platform/bob@acme.io",
    )
    assert set(read(store, clock).members) == {"platform/alice@acme.com"}


def test_an_owner_is_never_invited_as_owner(run, store, clock) -> None:
    result = run(spec(platform=["olga@acme.com owner"]))
    assert invitations(store, clock) == {"platform/olga@acme.com": ("admin", "pending")}
    # making her owner is an owner's work in the UI, once she accepts: a manual step
    assert ("owner", "platform/olga@acme.com") in [
        (s.kind.value, s.key) for s in result.plan.manual_steps
    ]


# -- refusals that protect people ------------------------------------------------------------

TEN = [f"dev{i}@acme.com" for i in range(10)]


def ten_members(run, store, clock) -> None:
    run(spec(platform=TEN, payments=["carol@acme.com"]))
    for email in TEN:
        accept(store, clock, f"platform/{email}")


def test_a_mass_removal_is_refused_naming_the_count(run, store, clock) -> None:
    ten_members(run, store, clock)
    journaled = len(store.journal(enterprise="acme", limit=1000))
    half = spec(prune=True, platform=TEN[:5], payments=["carol@acme.com"])
    with pytest.raises(PlanRefusedError) as refused:
        run(half)
    assert str(refused.value) == (
        "refusing to remove 5 of 10 member(s) from 'platform': more than prune.maxFraction "
        "(10%) of an organization at once; nothing was changed. If this is intended, apply "
        "with --allow-mass-removal"
    )
    assert len(read(store, clock).members) == 10
    assert len(store.journal(enterprise="acme", limit=1000)) == journaled

    result = run(half, allow_mass_removal=True)
    assert result.plan.removed == {"platform": 5}
    assert len(read(store, clock).members) == 5


def test_removals_up_to_the_fraction_are_allowed_and_counted_per_organization() -> None:
    enterprise = spec(prune=True, max_fraction=0.2, platform=TEN[:8], payments=TEN[:1])
    members = {
        f"{org}/{email}": MemberState(org, email, "member", NOW)
        for org, emails in (("platform", TEN), ("payments", TEN[:2]))
        for email in emails
    }
    actual = ActualState("acme", NOW, exists=True, members=members)
    result = plan(enterprise, OktaOutputs(), actual)
    assert result.removed == {"platform": 2, "payments": 1}
    with pytest.raises(PlanRefusedError, match=r"remove 1 of 2 member\(s\) from 'payments':"):
        check_removals(result, allow_mass_removal=False)
    check_removals(result, allow_mass_removal=True)
    # What plan shows is what apply refuses: only payments (2 of 10 is exactly 20%).
    assert [(r.organization, r.removed, r.current) for r in refusals(result)] == [
        ("payments", 1, 2)
    ]
    assert refusals(result, allow_mass_removal=True) == ()
    assert [r.organization for r in mass_removals(result)] == ["payments"]


class Delegating(Store):
    """A store that hands every call to another: subclasses change one behaviour."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.url = inner.url

    def read(self, *, enterprise: str, now: datetime) -> ActualState:
        return self.inner.read(enterprise=enterprise, now=now)

    def enterprises(self) -> list[str]:
        return self.inner.enterprises()

    def write(
        self, *, enterprise: str, changes: Sequence[PlanChange], actor: str, now: datetime
    ) -> None:
        self.inner.write(enterprise=enterprise, changes=changes, actor=actor, now=now)

    def try_lock(self, *, enterprise: str, holder: str, now: datetime, **lease) -> LockInfo | None:
        return self.inner.try_lock(enterprise=enterprise, holder=holder, now=now, **lease)

    def unlock(self, *, enterprise: str, holder: str) -> None:
        self.inner.unlock(enterprise=enterprise, holder=holder)

    def current_lock(self, *, enterprise: str) -> LockInfo | None:
        return self.inner.current_lock(enterprise=enterprise)

    def journal(self, *, enterprise: str, limit: int = 100, since=None) -> list:
        return self.inner.journal(enterprise=enterprise, limit=limit, since=since)

    def accept_invitations(self, **kwargs) -> None:
        self.inner.accept_invitations(**kwargs)

    def invitation_sent(self, **kwargs) -> None:
        self.inner.invitation_sent(**kwargs)

    def confirm(self, **kwargs) -> None:
        self.inner.confirm(**kwargs)

    def unconfirm(self, **kwargs) -> None:
        self.inner.unconfirm(**kwargs)

    def remember_users(self, **kwargs) -> None:
        self.inner.remember_users(**kwargs)

    def remember_teams(self, **kwargs) -> None:
        self.inner.remember_teams(**kwargs)

    def forget_teams(self, **kwargs) -> None:
        self.inner.forget_teams(**kwargs)

    def journal_changes(self, **kwargs) -> None:
        self.inner.journal_changes(**kwargs)

    def close(self) -> None:
        self.inner.close()


class PartialReads(Delegating):
    """Reads that say they missed something, as a paginated SCIM listing that timed out."""

    def read(self, *, enterprise: str, now: datetime) -> ActualState:
        actual = super().read(enterprise=enterprise, now=now)
        return replace(actual, complete=False, incomplete_reason="page 3 of 5 timed out")


def test_an_incomplete_read_never_removes_or_revokes_anyone(run, store, clock) -> None:
    run(TEAM)
    accept(store, clock, "platform/bob@acme.io")
    partial = PartialReads(store)
    without_platform = spec(prune=True, max_fraction=1.0, payments=["carol@acme.com"])
    result = apply(without_platform, OktaOutputs(), partial, actor=ACTOR, clock=clock)
    assert not result.plan.changes  # neither alice's invitation nor bob's membership
    assert result.plan.warnings[0].startswith(
        "the read of the store was incomplete (page 3 of 5 timed out)"
    )
    assert invitations(store, clock)["platform/alice@acme.com"] == ("admin", "pending")
    assert "platform/bob@acme.io" in read(store, clock).members


def test_apply_refuses_any_removal_in_a_plan_made_from_an_incomplete_read(
    run, store, clock
) -> None:
    # The planner already leaves removals out after a partial read; apply checks again, so a
    # plan made elsewhere cannot slip one through.
    run(TEAM)
    full = read(store, clock)
    smaller = spec(prune=True, max_fraction=1.0, payments=["carol@acme.com"])
    removing = plan(smaller, OktaOutputs(), full)
    assert removing.summary()["delete"] == 2
    partial = replace(
        removing,
        complete=False,
        incomplete_reason="the read of the store was incomplete (page 3 of 5 timed out)",
    )
    with pytest.raises(PlanRefusedError) as refused:
        check_removals(partial, allow_mass_removal=True)
    assert str(refused.value) == (
        "the read of the store was incomplete (page 3 of 5 timed out); refusing to remove "
        "2 invitation(s) on a partial view; nothing was changed"
    )
    # plan shows the same refusal, which --allow-mass-removal never lifts.
    assert [r.to_json() for r in refusals(partial, allow_mass_removal=True)] == [
        {
            "reason": "partial_read",
            "message": "the read of the store was incomplete (page 3 of 5 timed out); "
            "refusing to remove 2 invitation(s) on a partial view",
            "removed": 2,
        }
    ]


# -- the SSO connection is a manual step ----------------------------------------------------


def test_the_sso_connection_is_never_applied_only_listed_until_confirmed(run, store, clock) -> None:
    before_pulumi_up = run(TEAM, OktaOutputs())
    sso = next(s for s in before_pulumi_up.plan.manual_steps if s.kind == "sso_connection")
    assert not sso.ready
    assert sso.after["client_id"] == UNKNOWN
    assert before_pulumi_up.applied == len(before_pulumi_up.plan.changes) == 3

    after_pulumi_up = run(TEAM)
    assert after_pulumi_up.applied == 0  # nothing for apply to do: the step is a person's
    sso = next(s for s in after_pulumi_up.plan.manual_steps if s.kind == "sso_connection")
    assert sso.after["client_id"] == "0oaCLIENT0001"
    assert sso.after["issuer"] == "https://acme.okta.com/oauth2/aus0001"
    assert "okta-client-secret" not in repr(sso)

    store.confirm(
        enterprise="acme",
        kind="sso_connection",
        key="acme",
        digest=sso.digest,
        detail={"values": sso.public_digest},
        actor="owner",
        now=clock(),
    )
    assert "sso_connection" not in [s.kind for s in run(TEAM).plan.manual_steps]


def test_a_rotated_client_secret_reopens_the_sso_connection_step(run, store, clock) -> None:
    sso = next(s for s in run(TEAM).plan.manual_steps if s.kind == "sso_connection")
    store.confirm(
        enterprise="acme",
        kind="sso_connection",
        key="acme",
        digest=sso.digest,
        detail={},
        actor="owner",
        now=clock(),
    )
    result = run(TEAM, outputs_for(TEAM, secret="okta-client-secret-2"))
    [reopened] = [s for s in result.plan.manual_steps if s.kind == "sso_connection"]
    assert reopened.digest != sso.digest
    assert reopened.after["client_id"] == sso.after["client_id"]


# -- the lock --------------------------------------------------------------------------------


def test_an_apply_elsewhere_holds_the_lock(run, db, store, clock) -> None:
    elsewhere = SqlStore.sqlite(db)
    elsewhere.try_lock(enterprise="acme", holder="alice@laptop pid 42", now=NOW)
    with pytest.raises(LockHeldError) as held:
        run(TEAM)
    elsewhere.close()
    assert str(held.value) == (
        "enterprise 'acme' is locked by alice@laptop pid 42 since 2025-01-06T09:00:00+00:00"
    )
    assert held.value.exit_code == 3
    assert not read(store, clock).exists


def test_apply_waits_up_to_lock_timeout_for_the_other_apply_to_finish(run, db, store) -> None:
    elsewhere = SqlStore.sqlite(db)
    elsewhere.try_lock(enterprise="acme", holder="alice@laptop pid 42", now=NOW)
    elsewhere.close()

    def other_apply_finishes() -> None:
        other = SqlStore.sqlite(db)  # its own connection, as another process has
        other.unlock(enterprise="acme", holder="alice@laptop pid 42")
        other.close()

    finish = threading.Timer(0.3, other_apply_finishes)
    started = time.monotonic()
    finish.start()
    try:
        result = run(TEAM, lock_timeout=10.0)
    finally:
        finish.join()
    assert time.monotonic() - started >= 0.3
    assert result.applied == 3


def test_apply_gives_up_after_lock_timeout(run, db) -> None:
    elsewhere = SqlStore.sqlite(db)
    elsewhere.try_lock(enterprise="acme", holder="alice@laptop pid 42", now=NOW)
    elsewhere.close()
    started = time.monotonic()
    with pytest.raises(LockHeldError, match="locked by alice@laptop pid 42"):
        run(TEAM, lock_timeout=0.3)
    assert time.monotonic() - started >= 0.3


def test_an_apply_whose_lock_was_taken_over_stops_before_the_next_batch(store, clock) -> None:
    class TakenOverAfterFirstBatch(Delegating):
        renewals = 0

        def try_lock(self, **kwargs):
            self.renewals += 1
            if self.renewals == 1:
                return super().try_lock(**kwargs)
            return LockInfo("ops@bastion pid 9", NOW, NOW + timedelta(minutes=10))

    with pytest.raises(LockHeldError) as taken:
        apply(
            TEAM,
            outputs_for(TEAM),
            TakenOverAfterFirstBatch(store),
            actor=ACTOR,
            clock=clock,
            batch_size=1,
        )
    assert str(taken.value) == (
        "enterprise 'acme' was taken over by ops@bastion pid 9 since 2025-01-06T09:00:00+00:00 "
        "after 1 of 3 change(s); run apply again once it is done"
    )
    assert len(store.journal(enterprise="acme")) == 1


def test_changes_are_written_in_batches_renewing_the_lock_between_them(run, store, clock) -> None:
    calls: list[str] = []

    class Recording(Delegating):
        def write(self, *, changes, **kwargs) -> None:
            calls.append(f"write {len(changes)}")
            super().write(changes=changes, **kwargs)

        def try_lock(self, **kwargs):
            calls.append("lock")
            return super().try_lock(**kwargs)

    recording = Recording(store)
    progress: list[tuple[int, int]] = []
    apply(
        TEAM,
        outputs_for(TEAM),
        recording,
        actor=ACTOR,
        clock=clock,
        batch_size=2,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert calls == ["lock", "write 2", "lock", "write 1"]
    assert progress == [(2, 3), (3, 3)]


# -- crashes ---------------------------------------------------------------------------------


class SimulatedCrashError(Exception):
    """The process dies here."""


def assert_converged(db: Path, people: int) -> None:
    """One row per person, and each invitation journaled as created exactly once."""
    conn = sqlite3.connect(db)
    try:
        duplicates = conn.execute(
            "SELECT organization, email, count(*) FROM invitations "
            "GROUP BY enterprise, organization, email HAVING count(*) > 1"
        ).fetchall()
        invited = conn.execute("SELECT count(*) FROM invitations").fetchone()[0]
        created = conn.execute(
            "SELECT key, count(*) FROM journal WHERE kind = 'invitation' AND action = 'create' "
            "AND outcome = 'recorded' GROUP BY key"
        ).fetchall()
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    assert duplicates == []
    assert invited == people
    assert len(created) == people
    assert {count for _, count in created} == {1}
    assert integrity == "ok"


def team_of(people: int, organizations: int) -> Enterprise:
    per = people // organizations
    return spec(
        **{
            f"team_{o}": [f"person{p}@acme.com" for p in range(o * per, (o + 1) * per)]
            for o in range(organizations)
        }
    )


def test_an_apply_that_dies_between_batches_resumes_without_duplicates(
    run, db, store, clock
) -> None:
    class DiesAfterThreeBatches(Delegating):
        writes = 0

        def write(self, **kwargs) -> None:
            if self.writes == 3:
                raise SimulatedCrashError
            self.writes += 1
            super().write(**kwargs)

    team = team_of(1000, 4)
    with pytest.raises(SimulatedCrashError):
        apply(
            team,
            outputs_for(team),
            DiesAfterThreeBatches(store),
            actor=ACTOR,
            clock=clock,
            batch_size=100,
        )
    assert len(read(store, clock).invitations) == 300  # three whole batches, nothing more

    resumed = run(team, batch_size=100)
    assert resumed.applied == 1000 - 300
    assert not run(team).plan.changes
    assert_converged(db, people=1000)


CHILD = """
import sys, time
from reconciler.apply import apply, default_actor
from reconciler.outputs import OktaOutputs
from reconciler.spec import load_file
from reconciler.stores.record import SqlStore

def progress(done, total):
    print(done, total, flush=True)
    time.sleep(0.005)

apply(load_file(sys.argv[1]), OktaOutputs(), SqlStore.sqlite(sys.argv[2]), actor=default_actor(),
      batch_size=500, progress=progress)
print("finished", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_an_apply_killed_mid_way_resumes_without_duplicates(tmp_path, db, store) -> None:
    teams = {
        f"team-{o}": [f"person{p}@acme.com" for p in range(o * 1000, o * 1000 + 1000)]
        for o in range(20)
    }
    spec_file = tmp_path / "acme.yaml"
    spec_file.write_text(spec_yaml(teams), encoding="utf-8")

    env = {**os.environ, "INSOMNIA_SSO_ACTOR": "ci-child"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(spec_file), str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert child.stdout is not None
    for _ in range(4):  # let it write a few batches, then pull the plug
        assert child.stdout.readline().strip(), "the child ended early"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    after_the_crash = SqlStore.sqlite(db)
    left_behind = after_the_crash.read(enterprise="acme", now=datetime.now(UTC))
    after_the_crash.close()
    assert 0 < len(left_behind.invitations) < 20_000

    # The killed apply still holds the lock, but its process is gone from this host.
    enterprise = load_text(spec_file.read_text(encoding="utf-8"))
    resumed = apply(enterprise, OktaOutputs(), store, actor=f"ci@{socket.gethostname()} pid 1")
    assert resumed.applied == 20_000 - len(left_behind.invitations)
    assert apply(enterprise, OktaOutputs(), store, actor=ACTOR).applied == 0  # SSO waits for Okta
    assert_converged(db, people=20_000)
    takeover = [e for e in store.journal(enterprise="acme", limit=100_000) if e.action == "lock"]
    assert len(takeover) == 1
    assert f"ci-child@{socket.gethostname()} pid {child.pid}" in takeover[0].detail


# -- who applies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"INSOMNIA_SSO_ACTOR": "release-bot", "GITHUB_ACTOR": "octocat"}, "release-bot@HOST"),
        ({"INSOMNIA_SSO_ACTOR": "alice@acme.com"}, "alice@acme.com"),
        ({"GITHUB_ACTOR": "octocat"}, "octocat@HOST"),
        ({"GITLAB_USER_LOGIN": "tanuki"}, "tanuki@HOST"),
    ],
)
def test_the_actor_names_who_where_and_which_process(monkeypatch, env, name) -> None:
    for var in ("INSOMNIA_SSO_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    expected = name.replace("HOST", socket.gethostname())
    assert default_actor() == f"{expected} pid {os.getpid()}"


def test_without_ci_variables_the_actor_is_the_local_user(monkeypatch) -> None:
    for var in ("INSOMNIA_SSO_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "dana")
    assert default_actor() == f"dana@{socket.gethostname()} pid {os.getpid()}"


def test_apply_result_is_the_plan_and_what_happened(run) -> None:
    result = run(TEAM, OktaOutputs())
    assert isinstance(result, ApplyResult)
    assert result.applied + len(result.failed) == len(result.plan.changes)


def test_a_sent_invitation_expires_30_days_after_sending_and_is_a_step_again(
    run, store, clock
) -> None:
    first = run(TEAM)
    assert [(s.kind.value, s.key) for s in first.steps_after if s.kind.value == "invitation"] == [
        ("invitation", "platform/alice@acme.com"),
        ("invitation", "platform/bob@acme.io"),
        ("invitation", "payments/carol@acme.com"),
    ]
    clock.advance(days=20)  # sent three weeks after apply recorded it
    confirm_steps(
        store, TEAM, outputs_for(TEAM), "invitation", ["payments/carol@acme.com"],
        actor="owner", now=clock(),
    )  # fmt: skip
    carol = read(store, clock).invitations["payments/carol@acme.com"]
    assert (carol.invited_at, carol.expires_at) == (clock(), clock() + timedelta(days=30))
    clock.advance(days=29)
    steps = run(TEAM).plan.manual_steps
    assert "payments/carol@acme.com" not in {s.key for s in steps if s.kind.value == "invitation"}
    clock.advance(days=2)  # unaccepted 31 days after sending
    result = run(TEAM)
    assert ("update", "payments/carol@acme.com") in [
        (c.action.value, c.key) for c in result.plan.changes
    ]
    [again] = [s for s in result.steps_after or () if s.key == "payments/carol@acme.com"]
    assert again.instructions == (
        "Insomnia › payments › Members › Invite: invite carol@acme.com again as member (the one "
        "sent expired unaccepted). Then: insomnia-sso confirm invitation payments/carol@acme.com"
    )
