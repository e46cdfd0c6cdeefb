"""The Directory contract, against real scim2-server processes with and without Bulk/PATCH."""

from __future__ import annotations

import math

from reconciler.state import team_external_id
from tests.directory.changes import (
    ENTERPRISE,
    member_add,
    member_remove,
    onboarding,
    team_create,
    team_delete,
    user_create,
    user_delete,
    user_update,
)
from tests.directory.conftest import Tenant, directory

PEOPLE = {"alice@acme.com": "admin", "bob@acme.io": "member", "carol@acme.com": "member"}


def test_read_of_an_empty_directory(server: Tenant) -> None:
    with directory(server.url) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert (dict(state.users), dict(state.teams), state.complete) == ({}, {}, True)
        assert d.requests == 3  # ServiceProviderConfig, one page of users, one of groups


def test_onboarding_is_read_back(server: Tenant) -> None:
    with directory(server.url) as d:
        d.read(enterprise=ENTERPRISE)
        report = d.write(enterprise=ENTERPRISE, changes=onboarding(PEOPLE))
        assert report.failed == ()
        assert len(report.done) == 3 + 2 + 3
    with directory(server.url) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert state.complete
    assert set(state.users) == set(PEOPLE)
    assert all(u.active and u.external_id == e for e, u in state.users.items())
    assert state.teams["platform-admins"].members == {"alice@acme.com"}
    assert state.teams["platform-members"].members == {"bob@acme.io", "carol@acme.com"}
    assert state.teams["platform-members"].external_id == team_external_id(
        ENTERPRISE, "platform", "member"
    )


def test_existing_user_in_another_case_is_adopted(server: Tenant) -> None:
    with directory(server.url) as d:
        d.read(enterprise=ENTERPRISE)  # read before the user exists: the create meets a 409
        with server.raw() as raw:
            raw.post("/Users", json={"userName": "Alice@ACME.com", "active": False})
            raw.post("/Users", json={"userName": "Bob@acme.io", "externalId": "old"})
        report = d.write(
            enterprise=ENTERPRISE,
            changes=[user_create("alice@acme.com"), user_create("bob@acme.io", "bob.smith")],
        )
        assert report.failed == ()
    with directory(server.url) as d:  # and a read that already sees them
        state = d.read(enterprise=ENTERPRISE)
        assert d.write(enterprise=ENTERPRISE, changes=[user_create("alice@acme.com")]).failed == ()
    assert server.user_names() == {"alice@acme.com": 1, "bob@acme.io": 1}
    assert state.users["alice@acme.com"].active
    assert state.users["bob@acme.io"].external_id == "bob.smith"


def test_hand_made_team_and_unrelated_user_are_left_alone(server: Tenant) -> None:
    with server.raw() as raw:
        dave_before = raw.post("/Users", json={"userName": "dave@other.org"}).json()
        dave = dave_before["id"]
        raw.post("/Groups", json={"displayName": "platform-admins", "members": [{"value": dave}]})
        raw.post(
            "/Groups",
            json={"displayName": "other", "externalId": "insomnia-sso:other:x:member"},
        )
    with directory(server.url) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert set(state.teams) == set()
        assert set(state.users) == {"dave@other.org"}
        assert d.write(enterprise=ENTERPRISE, changes=onboarding(PEOPLE)).failed == ()
    groups = {g["displayName"] + "|" + str(g.get("externalId")): g for g in server.listed("Groups")}
    hand_made = groups["platform-admins|None"]
    assert [m["value"] for m in hand_made["members"]] == [dave]
    assert "other|insomnia-sso:other:x:member" in groups
    assert len(groups) == 4  # the two managed teams beside the two others
    users = {u["userName"]: u for u in server.listed("Users")}
    assert users["dave@other.org"] == dave_before  # same version: never written to


def test_member_removal_keeps_the_user_active(server: Tenant) -> None:
    with directory(server.url) as d:
        d.read(enterprise=ENTERPRISE)
        d.write(enterprise=ENTERPRISE, changes=onboarding(PEOPLE))
        report = d.write(
            enterprise=ENTERPRISE, changes=[member_remove("platform-members", "bob@acme.io")]
        )
        assert report.failed == ()
    with directory(server.url) as d:
        state = d.read(enterprise=ENTERPRISE)
    assert state.teams["platform-members"].members == {"carol@acme.com"}
    assert state.users["bob@acme.io"].active


def test_deactivation_then_reactivation(server: Tenant) -> None:
    with directory(server.url) as d:
        d.read(enterprise=ENTERPRISE)
        d.write(enterprise=ENTERPRISE, changes=onboarding(PEOPLE))
        report = d.write(
            enterprise=ENTERPRISE,
            changes=[
                member_remove("platform-admins", "alice@acme.com"),
                team_delete("platform", "admin"),
                user_delete("alice@acme.com"),
            ],
        )
        assert report.failed == ()
    with directory(server.url) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert state.users["alice@acme.com"].active is False  # still listed, inactive
        assert set(state.teams) == {"platform-members"}
        report = d.write(
            enterprise=ENTERPRISE, changes=[user_update("alice@acme.com", active=True)]
        )
        assert report.failed == ()
    with directory(server.url) as d:
        assert d.read(enterprise=ENTERPRISE).users["alice@acme.com"].active is True


def test_running_the_same_write_again_is_safe(server: Tenant) -> None:
    changes = [*onboarding(PEOPLE), team_create("web", "member")]
    changes.append(member_add("web-members", "x@y.z"))
    for _ in range(2):
        with directory(server.url) as d:  # no explicit read: write reads first
            report = d.write(enterprise=ENTERPRISE, changes=changes)
            assert [c.key for c, _ in report.failed] == ["web-members/x@y.z"]
            assert "x@y.z is not in the directory" in report.failed[0][1]
    assert server.user_names() == dict.fromkeys(PEOPLE, 1)
    assert server.group_names() == {"platform-admins": 1, "platform-members": 1, "web-members": 1}


def test_a_no_op_read_costs_one_request_per_page(server: Tenant) -> None:
    people = {f"p{i}@acme.com": "member" if i % 3 else "admin" for i in range(7)}
    with directory(server.url) as d:
        d.read(enterprise=ENTERPRISE)
        assert d.write(enterprise=ENTERPRISE, changes=onboarding(people)).failed == ()
    with directory(server.url) as d:
        state = d.read(enterprise=ENTERPRISE)
        assert d.features is not None
        page = d.features.page_size
        assert state.complete
        assert len(state.users) == 7
        assert d.requests <= math.ceil(7 / page) + math.ceil(2 / page) + 1
        assert d.requests == (6 if not server.full else 3)  # pages of 2 on the plain server


def test_probe_counts_users_and_managed_teams(server: Tenant) -> None:
    with server.raw() as raw:
        raw.post("/Groups", json={"displayName": "hand-made"})
    with directory(server.url) as d:
        d.read(enterprise=ENTERPRISE)
        d.write(enterprise=ENTERPRISE, changes=onboarding(PEOPLE))
        probe = d.probe(enterprise=ENTERPRISE)
    assert (probe.users, probe.managed_teams) == (3, 2)
    assert (probe.bulk, probe.patch) == (server.full, server.full)
    assert probe.page_size == (1000 if server.full else 2)
