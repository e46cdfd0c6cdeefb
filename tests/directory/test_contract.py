"""The Directory contract, against real scim2-server processes: profile okta, and rfc7644 with
and without Bulk/PATCH. Each test is a short story of applies, the record kept in memory."""

from __future__ import annotations

import math

from reconciler.directory.scim_types import Profile
from reconciler.outputs import OktaOutputs
from reconciler.plan import Action, Kind, plan
from tests.directory.changes import Record, enterprise, read, reconcile
from tests.directory.conftest import ENTERPRISE, Peer, directory

PEOPLE = ["alice@acme.com:admin", "bob@acme.io", "carol@acme.com"]


def keys(run_changes: object) -> list[tuple[str, str, str]]:
    return [(c.action.value, c.kind.value, c.key) for c in run_changes]  # type: ignore[attr-defined]


def test_read_of_an_empty_directory(peer: Peer) -> None:
    with directory(peer.url, profile=peer.profile) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert (dict(state.users), dict(state.teams), state.complete) == ({}, {}, True)
        # a page of users, a page of groups; rfc7644 reads ServiceProviderConfig first
        assert d.requests == (2 if peer.profile is Profile.OKTA else 3)


def test_onboarding_is_read_back(peer: Peer) -> None:
    run = reconcile(peer.url, enterprise({"platform": PEOPLE}), Record(), profile=peer.profile)
    assert run.report.failed == ()
    assert len(run.report.done) == 3 + 2 + 3
    state = read(peer.url, profile=peer.profile)
    assert state.complete
    assert set(state.users) == {"alice@acme.com", "bob@acme.io", "carol@acme.com"}
    assert all(u.active and u.external_id == e for e, u in state.users.items())
    teams = {t.display_name: t.members for t in state.teams.values()}
    assert teams == {
        "platform-admins": {"alice@acme.com"},
        "platform-members": {"bob@acme.io", "carol@acme.com"},
    }


def test_a_second_apply_plans_nothing(peer: Peer) -> None:
    record = Record()
    spec = enterprise({"platform": PEOPLE, "qa": ["bob@acme.io:admin"]})
    assert reconcile(peer.url, spec, record, profile=peer.profile).report.failed == ()
    again = reconcile(peer.url, spec, record, profile=peer.profile)
    assert again.plan.changes == ()
    assert again.report.requests == 0


def test_existing_user_in_another_case_is_adopted(peer: Peer) -> None:
    with peer.tenant.raw() as raw:
        raw.post("/Users", json={"userName": "Alice@ACME.com", "active": False})
        raw.post("/Users", json={"userName": "Bob@acme.io", "externalId": "old"})
    record = Record()
    spec = enterprise({"platform": ["alice@acme.com", "bob@acme.io"]})
    run = reconcile(peer.url, spec, record, profile=peer.profile)
    assert ("update", "user", "alice@acme.com") in keys(run.plan.changes)  # reactivated
    assert run.report.failed == ()
    assert set(record.users) == {"alice@acme.com", "bob@acme.io"}
    assert peer.tenant.user_names() == {"alice@acme.com": 1, "bob@acme.io": 1}
    state = read(peer.url, profile=peer.profile)
    assert state.users["alice@acme.com"].active
    assert state.users["bob@acme.io"].external_id == "bob@acme.io"


def test_a_user_created_meanwhile_is_adopted_after_a_409(peer: Peer) -> None:
    spec = enterprise({"platform": ["alice@acme.com"]})
    with directory(peer.url, profile=peer.profile) as d:
        record = Record()
        state = d.read(enterprise=ENTERPRISE)  # read before the user exists
        with peer.tenant.raw() as raw:
            raw.post("/Users", json={"userName": "ALICE@acme.com", "externalId": "old"})
        result = plan(spec, OktaOutputs(), record.actual(spec, state))
        report = d.write(enterprise=ENTERPRISE, changes=result.ready)
    assert report.failed == ()
    assert peer.tenant.user_names() == {"alice@acme.com": 1}
    assert read(peer.url, profile=peer.profile).users["alice@acme.com"].external_id == (
        "alice@acme.com"
    )


def test_a_team_of_the_same_name_is_adopted_and_other_teams_are_left_alone(peer: Peer) -> None:
    with peer.tenant.raw() as raw:
        dave = raw.post("/Users", json={"userName": "dave@other.org"}).json()
        raw.post(
            "/Groups", json={"displayName": "platform-admins", "members": [{"value": dave["id"]}]}
        )
        raw.post("/Groups", json={"displayName": "other", "externalId": "x"})
    record = Record()
    spec = enterprise({"platform": PEOPLE})
    run = reconcile(peer.url, spec, record, profile=peer.profile)
    [adopt] = [c for c in run.plan.changes if c.kind is Kind.TEAM and c.action is Action.UPDATE]
    assert (adopt.key, adopt.before["managed"], adopt.after["managed"]) == (  # type: ignore[index]
        "platform-admins",
        False,
        True,
    )
    assert run.report.failed == ()
    assert peer.tenant.group_names() == {"platform-admins": 1, "platform-members": 1, "other": 1}
    teams = {t.display_name: t.members for t in read(peer.url, profile=peer.profile).teams.values()}
    # dave was put there by hand: he stays (prune is off), and is named by count in warnings
    assert teams["platform-admins"] == {"alice@acme.com", "dave@other.org"}
    assert teams["other"] == frozenset()
    users = {u["userName"]: u for u in peer.tenant.listed("Users")}
    assert users["dave@other.org"] == dave  # never written to


def test_leaving_one_organization_keeps_the_user_active(peer: Peer) -> None:
    record = Record()
    both = enterprise({"platform": PEOPLE, "qa": ["bob@acme.io"]}, prune=True)
    assert reconcile(peer.url, both, record, profile=peer.profile).report.failed == ()
    only_platform = enterprise({"platform": PEOPLE, "qa": ["carol@acme.com"]}, prune=True)
    run = reconcile(peer.url, only_platform, record, profile=peer.profile)
    assert run.report.failed == ()
    state = read(peer.url, profile=peer.profile)
    teams = {t.display_name: t.members for t in state.teams.values()}
    assert teams["qa-members"] == {"carol@acme.com"}
    assert state.users["bob@acme.io"].active


def test_deactivation_then_reactivation(peer: Peer) -> None:
    record = Record()
    reconcile(peer.url, enterprise({"platform": PEOPLE}, prune=True), record, profile=peer.profile)
    without_alice = enterprise({"platform": ["bob@acme.io", "carol@acme.com"]}, prune=True)
    run = reconcile(peer.url, without_alice, record, profile=peer.profile)
    assert keys(run.plan.changes) == [
        ("delete", "team_member", "platform-admins/alice@acme.com"),
        ("delete", "team", "platform-admins"),
        ("delete", "user", "alice@acme.com"),
    ]
    assert run.report.failed == ()
    state = read(peer.url, profile=peer.profile)
    assert state.users["alice@acme.com"].active is False  # still listed, inactive
    assert {t.display_name for t in state.teams.values()} == {"platform-members"}
    back = reconcile(peer.url, enterprise({"platform": PEOPLE}), record, profile=peer.profile)
    assert back.report.failed == ()
    assert read(peer.url, profile=peer.profile).users["alice@acme.com"].active is True


def test_running_the_same_write_twice_is_safe(peer: Peer) -> None:
    spec = enterprise({"platform": PEOPLE, "web": ["dan@acme.com"]})
    with directory(peer.url, profile=peer.profile) as d:
        changes = plan(spec, OktaOutputs(), Record().actual(spec, d.read(enterprise=ENTERPRISE)))
    for _ in range(2):
        with directory(peer.url, profile=peer.profile) as d:  # no explicit read: write reads
            assert d.write(enterprise=ENTERPRISE, changes=changes.ready).failed == ()
    assert peer.tenant.user_names() == {
        "alice@acme.com": 1,
        "bob@acme.io": 1,
        "carol@acme.com": 1,
        "dan@acme.com": 1,
    }
    assert peer.tenant.group_names() == {
        "platform-admins": 1,
        "platform-members": 1,
        "web-members": 1,
    }


def test_a_no_op_read_costs_one_request_per_page(peer: Peer) -> None:
    people = [f"p{i}@acme.com" + ("" if i % 3 else ":admin") for i in range(7)]
    reconcile(peer.url, enterprise({"platform": people}), Record(), profile=peer.profile)
    with directory(peer.url, profile=peer.profile) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert d.features is not None
        page = d.features.page_size
        assert state.complete
        assert len(state.users) == 7
        config = 0 if peer.profile is Profile.OKTA else 1
        assert d.requests == math.ceil(7 / page) + math.ceil(2 / page) + config
    # pages of 2 on the plain server (it says so), 100 asked by okta, 1000 announced by full
    assert page == {"okta": 100, "rfc7644": 1000 if peer.tenant.full else 2}[peer.profile.value]


def test_probe_counts_users_and_teams(peer: Peer) -> None:
    with peer.tenant.raw() as raw:
        raw.post("/Groups", json={"displayName": "hand-made"})
    reconcile(peer.url, enterprise({"platform": PEOPLE}), Record(), profile=peer.profile)
    with directory(peer.url, profile=peer.profile) as d:
        probe = d.probe(enterprise=ENTERPRISE)
    assert (probe.users, probe.teams, probe.profile) == (3, 3, peer.profile.value)
    assert all(answer.startswith("answered") for _, answer in probe.requests)
    if peer.profile is Profile.RFC7644:
        assert (probe.bulk, probe.patch) == (peer.tenant.full, peer.tenant.full)
