"""What every store promises, run against each database by one parametrized fixture.

A new backing joins by adding a factory to STORES: a context manager that, given pytest's
tmp_path, yields an opener and removes the backing state on exit; each call of the opener is
a fresh Store on the same backing state, the way a second process would see it. The tests
below must pass unchanged. The PostgreSQL store runs when INSOMNIA_SSO_TEST_POSTGRES_URL
names a database, each test in a fresh schema of its own.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from reconciler.errors import LockHeldError, StoreError
from reconciler.manual import DOMAIN_DIGEST
from reconciler.outputs import SENSITIVE, fingerprint
from reconciler.plan import Action, Kind, PlanChange
from reconciler.state import INVITATION_TTL, DomainState, InvitationStatus, ManagedTeam
from reconciler.stores.base import LOCK_LEASE, Store
from reconciler.stores.dialects import ROWS_PER_INSERT
from reconciler.stores.record import SqlStore

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
SOON = NOW + timedelta(minutes=1)  # well within a lock's lease
SECRET = "contract-client-secret-d41d8cd9"
FINGERPRINT = fingerprint(SECRET, "acme")
ROTATED = fingerprint("a-rotated-client-secret-0b1c", "acme")

Opener = Callable[[], Store]


POSTGRES_URL = os.environ.get("INSOMNIA_SSO_TEST_POSTGRES_URL", "")
NO_POSTGRES = "INSOMNIA_SSO_TEST_POSTGRES_URL is not set (a PostgreSQL database to test against)"


@contextmanager
def postgres_schema(prefix: str = "contract") -> Iterator[str]:
    """A fresh, uniquely named schema; yields a store URL whose search_path is that schema."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def sqlite_store(tmp_path: Path) -> Iterator[Opener]:
    yield lambda: SqlStore.sqlite(tmp_path / "state.db")


@contextmanager
def postgres_store(tmp_path: Path) -> Iterator[Opener]:
    with postgres_schema() as url:
        yield lambda: SqlStore.postgres(url)


STORES: dict[str, Callable[[Path], AbstractContextManager[Opener]]] = {
    "sqlite": sqlite_store,
    "postgres": postgres_store,
}
MARKS = {
    "postgres": [pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)]
}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in sorted(STORES)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one shared backing; every store opened is closed afterwards."""
    with STORES[request.param](tmp_path) as opener:
        opened: list[Store] = []

        def open_one() -> Store:
            opened.append(opener())
            return opened[-1]

        yield open_one
        for store in opened:
            store.close()


@pytest.fixture
def store(open_store: Opener) -> Store:
    return open_store()


# -- building changes the way the planner does ----------------------------------------------


def create(kind: Kind, key: str, fingerprint: str | None = None, **after: object) -> PlanChange:
    return PlanChange(Action.CREATE, kind, key, None, after, fingerprint)


def update(
    kind: Kind, key: str, before: dict[str, object], fingerprint: str | None = None, **after: object
) -> PlanChange:
    return PlanChange(Action.UPDATE, kind, key, before, after, fingerprint)


def delete(kind: Kind, key: str, **before: object) -> PlanChange:
    return PlanChange(Action.DELETE, kind, key, before, None)


def invite(key: str, role: str = "member") -> PlanChange:
    organization, _, email = key.partition("/")
    return create(
        Kind.INVITATION, key, organization=organization, email=email, role=role, status="pending"
    )


FOUNDATION = [
    invite("platform/alice@acme.com", "admin"),
    invite("platform/bob@acme.io"),
]
"""What a first apply without a directory writes: the people ledger's invitations (the
record makes the enterprise's and the organization's rows itself)."""

SSO_DIGEST = "sha256:" + "5" * 64
"""A digest of an SSO connection's values, as `reconciler.manual.sso_step` computes it."""


def write(store: Store, *changes: PlanChange, now: datetime = NOW, actor: str = "ci") -> None:
    store.write(enterprise="acme", changes=changes, actor=actor, now=now)


def accept(store: Store, key: str, now: datetime = NOW) -> None:
    organization, _, email = key.partition("/")
    store.accept_invitation(
        enterprise="acme", organization=organization, email=email, actor="bob", now=now
    )


# -- reading ---------------------------------------------------------------------------------


def test_an_empty_store_holds_no_enterprise(store: Store) -> None:
    actual = store.read(enterprise="acme", now=NOW)
    assert (actual.enterprise, actual.as_of, actual.exists) == ("acme", NOW, False)
    assert (actual.domains, actual.organizations) == ({}, frozenset())
    assert (actual.invitations, actual.members) == ({}, {})
    assert (actual.confirmations, actual.managed_users) == ({}, frozenset())
    assert (actual.managed_user_ids, actual.managed_teams) == ({}, {})
    assert actual.complete


def test_every_kind_of_creation_reads_back(store: Store) -> None:
    write(store, *FOUNDATION)
    actual = store.read(enterprise="acme", now=NOW)
    assert actual.exists
    assert actual.domains == {}  # nothing is confirmed by a write
    assert actual.organizations == {"platform"}  # made by the ledger write itself
    alice = actual.invitations["platform/alice@acme.com"]
    assert (alice.organization, alice.email, alice.role) == ("platform", "alice@acme.com", "admin")
    assert (alice.status, alice.invited_at, alice.expires_at) == (
        InvitationStatus.PENDING,
        NOW,
        NOW + INVITATION_TTL,
    )
    assert actual.invitations["platform/bob@acme.io"].role == "member"
    assert actual.members == {}


def test_enterprises_do_not_see_each_other(store: Store) -> None:
    write(store, *FOUNDATION)
    other = store.read(enterprise="globex", now=NOW)
    assert not other.exists
    assert (other.domains, other.invitations) == ({}, {})


def test_the_enterprises_held_are_listed_by_name(open_store: Opener) -> None:
    store = open_store()
    assert store.enterprises() == []
    store.write(
        enterprise="globex",
        changes=[invite("ops/dana@globex.com")],
        actor="ci",
        now=NOW,
    )
    write(store, *FOUNDATION)
    assert store.enterprises() == ["acme", "globex"]
    assert open_store().enterprises() == ["acme", "globex"]


def test_timestamps_read_back_as_aware_utc(store: Store) -> None:
    tokyo = datetime(2025, 1, 6, 18, 0, tzinfo=timezone(timedelta(hours=9)))  # 09:00 UTC
    write(store, *FOUNDATION, now=tokyo)
    alice = store.read(enterprise="acme", now=NOW).invitations["platform/alice@acme.com"]
    assert alice.invited_at == NOW
    assert alice.invited_at.utcoffset() == timedelta(0)


# -- writing: idempotent, atomic -------------------------------------------------------------


def test_rewriting_the_same_changes_changes_nothing(store: Store) -> None:
    write(store, *FOUNDATION)
    first = store.read(enterprise="acme", now=NOW)
    write(store, *FOUNDATION, now=LATER)
    again = store.read(enterprise="acme", now=NOW)
    assert again == first  # same rows, same dates: a replay after a crash is a no-op


def test_a_failed_batch_leaves_nothing_behind(store: Store) -> None:
    scim = create(Kind.USER, "carol@acme.com", userName="carol@acme.com", active=True)
    with pytest.raises(StoreError, match="cannot create a user"):
        write(store, *FOUNDATION, scim)
    actual = store.read(enterprise="acme", now=NOW)
    assert not actual.exists
    assert (actual.organizations, actual.invitations) == (frozenset(), {})


def test_a_ledger_write_creates_each_organization_it_names_once(store: Store) -> None:
    write(store, *FOUNDATION, invite("data/carol@acme.com"))
    write(store, invite("data/dave@acme.com"), now=LATER)  # data exists: no second row
    actual = store.read(enterprise="acme", now=LATER)
    assert actual.organizations == {"platform", "data"}
    assert set(actual.invitations) == {
        "platform/alice@acme.com",
        "platform/bob@acme.io",
        "data/carol@acme.com",
        "data/dave@acme.com",
    }
    assert not store.read(enterprise="globex", now=LATER).organizations


def test_the_record_refuses_changes_only_the_directory_makes(store: Store) -> None:
    for change in (
        create(Kind.TEAM, "platform-admins", displayName="platform-admins"),
        create(Kind.TEAM_MEMBER, "platform-admins/alice@acme.com", team="platform-admins"),
        delete(Kind.USER, "bob@acme.io", userName="bob@acme.io", active=True),
    ):
        with pytest.raises(StoreError, match=f"cannot {change.action.value} a {change.kind.value}"):
            write(store, change)
    assert not store.read(enterprise="acme", now=NOW).exists


# -- confirmations of manual steps ------------------------------------------------------------


def confirm(
    store: Store,
    kind: str,
    key: str,
    digest: str,
    *,
    now: datetime = NOW,
    actor: str = "owner@acme.com",
    **detail: str,
) -> None:
    store.confirm(
        enterprise="acme", kind=kind, key=key, digest=digest, detail=detail, actor=actor, now=now
    )


def test_a_confirmation_reads_back_with_its_digest_detail_and_actor(store: Store) -> None:
    confirm(store, "domain", "acme.com", DOMAIN_DIGEST, txt="insomnia-verify=abc123")
    confirm(store, "sso_connection", "acme", SSO_DIGEST, values="sha256:public")
    actual = store.read(enterprise="acme", now=LATER)
    assert actual.exists  # a confirmation on a fresh record makes the enterprise's row
    assert set(actual.confirmations) == {("domain", "acme.com"), ("sso_connection", "acme")}
    domain = actual.confirmations["domain", "acme.com"]
    assert (domain.kind, domain.key, domain.digest, domain.actor, domain.at) == (
        "domain",
        "acme.com",
        DOMAIN_DIGEST,
        "owner@acme.com",
        NOW,
    )
    assert dict(domain.detail) == {"txt": "insomnia-verify=abc123"}
    assert dict(actual.confirmations["sso_connection", "acme"].detail) == {
        "values": "sha256:public"
    }
    # Confirmed domains are the verified domains; the SSO connection is no domain.
    assert actual.domains == {"acme.com": DomainState("acme.com", True)}
    assert store.read(enterprise="globex", now=LATER).confirmations == {}


def test_confirming_again_replaces_the_confirmation(store: Store) -> None:
    confirm(store, "sso_connection", "acme", SSO_DIGEST, values="sha256:public")
    newer = "sha256:" + "6" * 64
    confirm(store, "sso_connection", "acme", newer, now=LATER, actor="carol@acme.com")
    [(key, found)] = store.read(enterprise="acme", now=LATER).confirmations.items()
    assert key == ("sso_connection", "acme")
    assert (found.digest, found.actor, found.at, dict(found.detail)) == (
        newer,
        "carol@acme.com",
        LATER,
        {},
    )


def test_unconfirming_removes_only_that_confirmation(store: Store) -> None:
    confirm(store, "domain", "acme.com", DOMAIN_DIGEST)
    confirm(store, "domain", "acme.io", DOMAIN_DIGEST)
    store.unconfirm(enterprise="acme", kind="domain", key="acme.io", actor="carol", now=LATER)
    store.unconfirm(enterprise="acme", kind="domain", key="acme.io", actor="carol", now=LATER)
    actual = store.read(enterprise="acme", now=LATER)
    assert set(actual.confirmations) == {("domain", "acme.com")}
    assert set(actual.domains) == {"acme.com"}


def test_confirmations_and_their_removal_are_journaled(store: Store) -> None:
    confirm(store, "domain", "acme.io", DOMAIN_DIGEST, txt="insomnia-verify=abc123")
    store.unconfirm(enterprise="acme", kind="domain", key="acme.io", actor="carol", now=LATER)
    removed, confirmed = store.journal(enterprise="acme")
    assert (confirmed.actor, confirmed.at, confirmed.action, confirmed.kind, confirmed.key) == (
        "owner@acme.com",
        NOW,
        "confirm",
        "domain",
        "acme.io",
    )
    assert json.loads(confirmed.detail) == {"txt": "insomnia-verify=abc123"}
    assert (removed.actor, removed.at, removed.action, removed.kind, removed.key) == (
        "carol",
        LATER,
        "remove",
        "domain",
        "acme.io",
    )


# -- directory users the tool manages ---------------------------------------------------------


def test_remembered_users_read_back_and_remembering_again_changes_nothing(store: Store) -> None:
    store.remember_users(
        enterprise="acme", user_names=["alice@acme.com", "bob@acme.io"], actor="ci", now=NOW
    )
    store.remember_users(
        enterprise="acme", user_names={"bob@acme.io", "carol@acme.com"}, actor="ci", now=LATER
    )
    store.remember_users(enterprise="acme", user_names=(), actor="ci", now=LATER)
    actual = store.read(enterprise="acme", now=LATER)
    assert actual.managed_users == {"alice@acme.com", "bob@acme.io", "carol@acme.com"}
    assert store.read(enterprise="globex", now=LATER).managed_users == frozenset()


def test_remembered_users_keep_their_scim_ids(store: Store) -> None:
    store.remember_users(
        enterprise="acme",
        user_names=["alice@acme.com", "bob@acme.io"],
        actor="ci",
        now=NOW,
        ids={"alice@acme.com": "2819c223", "carol@acme.com": "not-remembered"},
    )
    actual = store.read(enterprise="acme", now=NOW)
    assert actual.managed_users == {"alice@acme.com", "bob@acme.io"}
    assert actual.managed_user_ids == {"alice@acme.com": "2819c223", "bob@acme.io": ""}


def test_a_known_id_replaces_an_earlier_one_and_no_id_erases_none(store: Store) -> None:
    store.remember_users(
        enterprise="acme",
        user_names=["alice@acme.com", "bob@acme.io", "carol@acme.com"],
        actor="ci",
        now=NOW,
        ids={"alice@acme.com": "old-alice", "bob@acme.io": "bob-1"},
    )
    store.remember_users(
        enterprise="acme",
        user_names=["alice@acme.com", "bob@acme.io", "carol@acme.com"],
        actor="ci",
        now=LATER,
        ids={"alice@acme.com": "new-alice", "bob@acme.io": "", "carol@acme.com": "carol-1"},
    )
    store.remember_users(
        enterprise="acme", user_names=["alice@acme.com", "carol@acme.com"], actor="ci", now=LATER
    )
    assert store.read(enterprise="acme", now=LATER).managed_user_ids == {
        "alice@acme.com": "new-alice",
        "bob@acme.io": "bob-1",
        "carol@acme.com": "carol-1",
    }
    assert store.read(enterprise="globex", now=LATER).managed_user_ids == {}


def test_ids_are_found_by_the_lower_cased_user_name(store: Store) -> None:
    store.remember_users(
        enterprise="acme",
        user_names=["Dana@ACME.com"],
        actor="ci",
        now=NOW,
        ids={"dana@acme.com": "dana-1"},
    )
    assert store.read(enterprise="acme", now=NOW).managed_user_ids == {"Dana@ACME.com": "dana-1"}


ADMINS = ManagedTeam("platform", "admin", "team-1", "platform-admins")
MEMBERS = ManagedTeam("platform", "member", "team-2", "platform-members")
DATA = ManagedTeam("data", "member", "team-3", "data-members")


def test_remembered_teams_read_back_by_organization_and_role(store: Store) -> None:
    assert store.read(enterprise="acme", now=NOW).managed_teams == {}
    store.remember_teams(enterprise="acme", teams=[ADMINS, MEMBERS], actor="ci", now=NOW)
    store.remember_teams(enterprise="acme", teams=[], actor="ci", now=NOW)
    actual = store.read(enterprise="acme", now=NOW)
    assert actual.managed_teams == {("platform", "admin"): ADMINS, ("platform", "member"): MEMBERS}
    assert store.read(enterprise="globex", now=NOW).managed_teams == {}


def test_remembering_a_team_again_replaces_its_id_and_name(store: Store) -> None:
    store.remember_teams(enterprise="acme", teams=[ADMINS, DATA], actor="ci", now=NOW)
    renamed = ManagedTeam("platform", "admin", "team-9", "Platform Admins")
    store.remember_teams(enterprise="acme", teams=[renamed], actor="ci", now=LATER)
    assert store.read(enterprise="acme", now=LATER).managed_teams == {
        ("platform", "admin"): renamed,
        ("data", "member"): DATA,
    }


def test_forgotten_teams_are_gone_and_the_others_stay(store: Store) -> None:
    store.remember_teams(enterprise="acme", teams=[ADMINS, MEMBERS, DATA], actor="ci", now=NOW)
    store.remember_teams(enterprise="globex", teams=[ADMINS], actor="ci", now=NOW)
    store.forget_teams(
        enterprise="acme",
        teams={("platform", "admin"), ("data", "member"), ("data", "admin")},
        actor="ci",
        now=LATER,
    )
    store.forget_teams(enterprise="acme", teams=(), actor="ci", now=LATER)
    assert store.read(enterprise="acme", now=LATER).managed_teams == {
        ("platform", "member"): MEMBERS
    }
    assert store.read(enterprise="globex", now=LATER).managed_teams == {
        ("platform", "admin"): ADMINS
    }


def test_the_directory_s_resources_are_no_ledger(store: Store) -> None:
    ids = {"alice@acme.com": "2819c223"}
    store.remember_users(enterprise="acme", user_names=ids, actor="ci", now=NOW, ids=ids)
    store.remember_teams(enterprise="acme", teams=[ADMINS], actor="ci", now=NOW)
    actual = store.read(enterprise="acme", now=NOW)
    assert not actual.exists  # no enterprise row: nothing was written to the ledger
    assert (actual.organizations, actual.invitations, actual.members) == (frozenset(), {}, {})
    assert store.journal(enterprise="acme") == []  # journaled by apply, as the directory did it


# -- journaling what the directory did --------------------------------------------------------

SCIM_CHANGES = (
    create(Kind.USER, "carol@acme.com", userName="carol@acme.com", active=True),
    create(Kind.TEAM_MEMBER, "platform-admins/carol@acme.com", team="platform-admins"),
)


def test_changes_made_in_the_directory_are_journaled_one_row_each(store: Store) -> None:
    store.journal_changes(
        enterprise="acme", changes=SCIM_CHANGES, outcome="applied", actor="ci", now=NOW
    )
    store.journal_changes(
        enterprise="acme",
        changes=SCIM_CHANGES[1:],
        outcome="failed",
        actor="ci",
        now=LATER,
        error="HTTP 500 from /Groups",
    )
    store.journal_changes(enterprise="acme", changes=(), outcome="applied", actor="ci", now=LATER)
    failed, *applied = store.journal(enterprise="acme")
    assert [(e.action, e.kind, e.key, e.outcome, e.at) for e in reversed(applied)] == [
        ("create", "user", "carol@acme.com", "applied", NOW),
        ("create", "team_member", "platform-admins/carol@acme.com", "applied", NOW),
    ]
    assert json.loads(applied[-1].detail) == {
        "before": None,
        "after": {"userName": "carol@acme.com", "active": True},
    }
    assert (failed.key, failed.outcome, failed.at) == (
        "platform-admins/carol@acme.com",
        "failed",
        LATER,
    )
    assert json.loads(failed.detail)["error"] == "HTTP 500 from /Groups"
    assert "error" not in json.loads(applied[0].detail)


# -- the invitation lifecycle ----------------------------------------------------------------


def test_a_role_change_keeps_a_pending_invitations_dates(store: Store) -> None:
    write(store, *FOUNDATION)
    key = "platform/bob@acme.io"
    write(
        store,
        update(Kind.INVITATION, key, {"role": "member", "status": "pending"}, role="admin"),
        now=LATER,
    )
    bob = store.read(enterprise="acme", now=LATER).invitations[key]
    assert (bob.role, bob.status, bob.invited_at) == ("admin", InvitationStatus.PENDING, NOW)


def test_a_pending_invitation_expires_after_its_ttl(store: Store) -> None:
    write(store, *FOUNDATION)
    bob = store.read(enterprise="acme", now=NOW).invitations["platform/bob@acme.io"]
    assert bob.status_at(NOW + INVITATION_TTL - timedelta(seconds=1)) is InvitationStatus.PENDING
    assert bob.status_at(NOW + INVITATION_TTL) is InvitationStatus.EXPIRED


def test_an_expired_invitation_is_re_sent_with_fresh_dates(store: Store) -> None:
    write(store, *FOUNDATION)
    key = "platform/bob@acme.io"
    week_later = NOW + INVITATION_TTL + timedelta(days=1)
    resend = update(Kind.INVITATION, key, {"role": "member", "status": "expired"}, role="member")
    write(store, resend, now=week_later)
    bob = store.read(enterprise="acme", now=week_later).invitations[key]
    assert (bob.status, bob.invited_at, bob.expires_at) == (
        InvitationStatus.PENDING,
        week_later,
        week_later + INVITATION_TTL,
    )
    write(store, resend, now=week_later + timedelta(hours=1))  # replayed: still that invitation
    assert store.read(enterprise="acme", now=week_later).invitations[key] == bob


def test_deleting_an_invitation_revokes_it(store: Store) -> None:
    write(store, *FOUNDATION)
    key = "platform/bob@acme.io"
    revoke = delete(Kind.INVITATION, key, role="member", status="pending")
    write(store, revoke, now=LATER)
    write(store, revoke, now=LATER + timedelta(hours=1))
    bob = store.read(enterprise="acme", now=LATER).invitations[key]
    assert (bob.status, bob.invited_at) == (InvitationStatus.REVOKED, NOW)


def test_re_inviting_a_revoked_person_sends_a_new_invitation(store: Store) -> None:
    write(store, *FOUNDATION)
    key = "platform/bob@acme.io"
    write(store, delete(Kind.INVITATION, key, role="member", status="pending"))
    write(store, invite(key), now=LATER)
    bob = store.read(enterprise="acme", now=LATER).invitations[key]
    assert (bob.status, bob.invited_at) == (InvitationStatus.PENDING, LATER)


def test_accepting_makes_the_person_a_member_with_the_invited_role(store: Store) -> None:
    write(store, *FOUNDATION)
    accept(store, "platform/alice@acme.com", now=LATER)
    actual = store.read(enterprise="acme", now=LATER)
    alice = actual.members["platform/alice@acme.com"]
    assert (alice.organization, alice.email, alice.role, alice.joined_at) == (
        "platform",
        "alice@acme.com",
        "admin",
        LATER,
    )
    assert actual.invitations["platform/alice@acme.com"].status is InvitationStatus.ACCEPTED


def test_emails_are_matched_case_insensitively_on_acceptance(store: Store) -> None:
    write(store, *FOUNDATION)
    accept(store, "platform/Alice@ACME.com")
    assert "platform/alice@acme.com" in store.read(enterprise="acme", now=NOW).members


@pytest.mark.parametrize(
    ("key", "prepare", "message"),
    [
        ("platform/carol@acme.com", None, "no invitation for platform/carol@acme.com"),
        ("platform/bob@acme.io", "revoke", "invitation for platform/bob@acme.io is revoked"),
        ("platform/bob@acme.io", "accept", "invitation for platform/bob@acme.io is accepted"),
    ],
)
def test_only_a_pending_invitation_can_be_accepted(store: Store, key, prepare, message) -> None:
    write(store, *FOUNDATION)
    if prepare == "revoke":
        write(store, delete(Kind.INVITATION, key, role="member", status="pending"))
    elif prepare == "accept":
        accept(store, key)
    with pytest.raises(StoreError, match=message):
        accept(store, key, now=LATER)


def test_an_expired_invitation_cannot_be_accepted(store: Store) -> None:
    write(store, *FOUNDATION)
    with pytest.raises(StoreError, match=r"expired at 2025-02-05T09:00:00Z; run apply to re-send"):
        accept(store, "platform/bob@acme.io", now=NOW + INVITATION_TTL)
    assert store.read(enterprise="acme", now=NOW).members == {}


def test_many_acceptances_are_one_transaction_and_one_refusal_records_none(store: Store) -> None:
    write(store, *FOUNDATION)
    people = [("platform", "alice@acme.com"), ("platform", "carol@acme.com")]
    with pytest.raises(StoreError, match=r"no invitation for platform/carol@acme\.com"):
        store.accept_invitations(enterprise="acme", people=people, actor="bob", now=NOW)
    actual = store.read(enterprise="acme", now=NOW)
    assert actual.members == {}
    assert actual.invitations["platform/alice@acme.com"].status is InvitationStatus.PENDING

    both = [("platform", "alice@acme.com"), ("platform", "Bob@acme.io")]
    store.accept_invitations(enterprise="acme", people=both, actor="bob", now=LATER)
    members = store.read(enterprise="acme", now=LATER).members
    assert {key: m.role for key, m in members.items()} == {
        "platform/alice@acme.com": "admin",
        "platform/bob@acme.io": "member",
    }
    accepted = [e for e in store.journal(enterprise="acme") if e.action == "accept"]
    assert sorted(e.key for e in accepted) == ["platform/alice@acme.com", "platform/bob@acme.io"]


def test_a_members_role_changes_and_a_member_is_removed(store: Store) -> None:
    write(store, *FOUNDATION)
    accept(store, "platform/alice@acme.com")
    accept(store, "platform/bob@acme.io")
    alice, bob = "platform/alice@acme.com", "platform/bob@acme.io"
    write(store, update(Kind.MEMBER, bob, {"role": "member"}, role="admin"))
    write(store, delete(Kind.MEMBER, alice, organization="platform", role="admin"))
    members = store.read(enterprise="acme", now=NOW).members
    assert {key: m.role for key, m in members.items()} == {bob: "admin"}


def test_a_removed_member_who_is_re_added_is_invited_again(store: Store) -> None:
    write(store, *FOUNDATION)
    key = "platform/alice@acme.com"
    accept(store, key)
    write(store, delete(Kind.MEMBER, key, organization="platform", role="admin"))
    write(store, invite(key, "admin"), now=LATER)
    alice = store.read(enterprise="acme", now=LATER).invitations[key]
    assert (alice.status, alice.invited_at) == (InvitationStatus.PENDING, LATER)


def test_the_ledger_replayed_in_memory_is_the_record_read_back(store: Store) -> None:
    """After a ledger apply the to-do list is made from `recorded`, not from a second read
    of 100,000 rows: every branch of the ledger's statements, replayed, must give exactly
    what the database holds."""
    people = ["alice", "bob", "carol", "dave", "erin", "frank", "hank", "ivy", "jack"]
    key = {name: f"platform/{name}@acme.com" for name in [*people, "gina"]}
    write(store, *(invite(key[name], "admin" if name == "jack" else "member") for name in people))
    for name in ("erin", "frank", "jack"):
        accept(store, key[name], now=SOON)
    write(store, delete(Kind.MEMBER, key["frank"], role="member"), now=SOON)  # accepted, left
    write(store, delete(Kind.INVITATION, key["dave"], role="member", status="pending"), now=SOON)
    write(store, delete(Kind.INVITATION, key["ivy"], role="member", status="pending"), now=SOON)
    past_expiry = NOW + INVITATION_TTL + timedelta(hours=1)
    recently = past_expiry - timedelta(days=1)
    write(store, invite(key["gina"]), now=recently)  # still pending when re-roled
    before = store.read(enterprise="acme", now=past_expiry)
    first = [
        invite("platform/new@acme.com"),  # no row yet
        invite("design/kim@acme.com", "admin"),  # an organization the record does not hold
        update(Kind.INVITATION, key["carol"], {"status": "expired"}, role="member"),  # lapsed
        invite(key["dave"]),  # revoked: sent again
        invite(key["frank"]),  # accepted by someone no longer a member: sent again
        invite(key["erin"]),  # accepted by a member: unchanged
    ]
    second = [
        update(Kind.INVITATION, key["gina"], {"role": "member"}, role="admin"),
        invite(key["bob"]),  # expired by now (stored pending): sent again
        invite("platform/new@acme.com"),  # replayed: pending, same role, unchanged
        delete(Kind.INVITATION, key["hank"], role="member", status="pending"),  # revoked
        delete(Kind.INVITATION, key["ivy"], role="member", status="revoked"),  # stays revoked
        delete(Kind.INVITATION, key["erin"], role="member", status="accepted"),  # stays accepted
        update(Kind.MEMBER, key["jack"], {"role": "admin"}, role="member"),
        delete(Kind.MEMBER, key["erin"], role="member"),
        update(Kind.MEMBER, "platform/nobody@acme.com", {"role": "member"}, role="admin"),
    ]
    moments = (past_expiry + timedelta(minutes=1), past_expiry + timedelta(minutes=2))
    for batch, moment in zip((first, second), moments, strict=True):
        write(store, *batch, now=moment)
    done = past_expiry + timedelta(minutes=3)

    replayed = store.recorded(before, list(zip((first, second), moments, strict=True)), now=done)

    assert replayed == store.read(enterprise="acme", now=done)
    assert replayed.invitations["platform/new@acme.com"].invited_at == moments[0]
    assert replayed.invitations[key["gina"]].invited_at == recently  # re-roled, dates kept
    assert "design" in replayed.organizations


def test_a_batch_of_hundreds_holds_what_its_changes_hold_one_by_one(store: Store) -> None:
    """SQLite takes a batch's inserts ROWS_PER_INSERT rows to a statement: the record holds
    what the changes, carried out one by one in plan order, would leave. A person named
    twice in the batch, across a statement's boundary, ends with the later role; one invited
    before keeps the dates of that invitation; the journal lists every change in order."""
    write(store, invite("platform/p0@acme.com"))
    before = store.read(enterprise="acme", now=NOW)
    batch = [invite(f"platform/p{i}@acme.com") for i in range(2 * ROWS_PER_INSERT + 50)]
    batch[ROWS_PER_INSERT + 50] = invite("platform/p42@acme.com", "admin")
    write(store, *batch, now=SOON)
    read = store.read(enterprise="acme", now=SOON)
    assert store.recorded(before, [(batch, SOON)], now=SOON) == read
    assert len(read.invitations) == len(batch) - 1  # p42 twice, p150 never
    assert read.invitations["platform/p42@acme.com"].role == "admin"
    assert read.invitations["platform/p0@acme.com"].invited_at == NOW
    newest_first = store.journal(enterprise="acme", limit=len(batch))
    assert [entry.key for entry in reversed(newest_first)] == [c.key for c in batch]


# -- the lock --------------------------------------------------------------------------------


def test_the_lock_is_taken_held_renewed_and_released(open_store: Opener) -> None:
    ours, theirs = open_store(), open_store()
    assert ours.try_lock(enterprise="acme", holder="ci-1", now=NOW) is None
    held = theirs.try_lock(enterprise="acme", holder="ci-2", now=SOON)
    assert held is not None
    assert (held.holder, held.acquired_at, held.expires_at) == ("ci-1", NOW, NOW + LOCK_LEASE)

    assert ours.try_lock(enterprise="acme", holder="ci-1", now=SOON) is None  # a renewal
    renewed = theirs.try_lock(enterprise="acme", holder="ci-2", now=SOON)
    assert renewed is not None
    assert (renewed.acquired_at, renewed.expires_at) == (NOW, SOON + LOCK_LEASE)

    theirs.unlock(enterprise="acme", holder="ci-2")  # not theirs to release
    assert theirs.try_lock(enterprise="acme", holder="ci-2", now=SOON) is not None
    ours.unlock(enterprise="acme", holder="ci-1")
    assert theirs.try_lock(enterprise="acme", holder="ci-2", now=SOON) is None


def test_locks_are_per_enterprise(store: Store) -> None:
    assert store.try_lock(enterprise="acme", holder="ci-1", now=NOW) is None
    assert store.try_lock(enterprise="globex", holder="ci-2", now=NOW) is None


def test_a_lock_whose_lease_ran_out_is_stale_and_taken_over(open_store: Opener) -> None:
    crashed, ours = open_store(), open_store()
    assert crashed.try_lock(enterprise="acme", holder="crashed@elsewhere pid 1", now=NOW) is None
    lapsed = NOW + LOCK_LEASE
    assert ours.try_lock(enterprise="acme", holder="ci", now=lapsed - timedelta(seconds=1))
    assert ours.try_lock(enterprise="acme", holder="ci", now=lapsed) is None
    back = crashed.try_lock(enterprise="acme", holder="crashed@elsewhere pid 1", now=lapsed)
    assert back is not None
    assert (back.holder, back.acquired_at) == ("ci", lapsed)


def test_the_current_lock_is_read_without_taking_or_creating_anything(open_store: Opener) -> None:
    ours, theirs = open_store(), open_store()
    assert theirs.current_lock(enterprise="acme") is None  # not even a store yet
    assert ours.try_lock(enterprise="acme", holder="ci-1", now=NOW) is None
    held = theirs.current_lock(enterprise="acme")
    assert held is not None
    assert (held.holder, held.acquired_at, held.expires_at) == ("ci-1", NOW, NOW + LOCK_LEASE)
    assert theirs.current_lock(enterprise="globex") is None
    # Reading takes nothing: the holder stays, and a second read sees the same row.
    assert theirs.current_lock(enterprise="acme") == held
    ours.unlock(enterprise="acme", holder="ci-1")
    assert theirs.current_lock(enterprise="acme") is None


def test_locked_waits_then_names_the_holder(open_store: Opener) -> None:
    ours, theirs = open_store(), open_store()
    ours.try_lock(enterprise="acme", holder="alice@laptop pid 42", now=NOW)
    with (
        pytest.raises(LockHeldError) as raised,
        theirs.locked(enterprise="acme", holder="ci", timeout=0.1, clock=lambda: SOON),
    ):
        pytest.fail("the lock was taken twice")
    assert str(raised.value) == (
        "enterprise 'acme' is locked by alice@laptop pid 42 since 2025-01-06T09:00:00+00:00"
    )
    assert raised.value.exit_code == 3


def test_locked_releases_the_lock_when_the_block_ends(open_store: Opener) -> None:
    ours, theirs = open_store(), open_store()
    with (
        pytest.raises(RuntimeError),
        ours.locked(enterprise="acme", holder="ci", clock=lambda: NOW),
    ):
        raise RuntimeError("apply failed")
    assert theirs.try_lock(enterprise="acme", holder="other", now=NOW) is None


# -- the journal -----------------------------------------------------------------------------


def test_every_change_is_journaled_newest_first(store: Store) -> None:
    write(store, *FOUNDATION, actor="alice@laptop pid 7")
    accept(store, "platform/bob@acme.io", now=LATER)
    entries = store.journal(enterprise="acme")
    assert len(entries) == len(FOUNDATION) + 1
    newest, *rest = entries
    assert (newest.actor, newest.at, newest.action, newest.kind, newest.key) == (
        "bob",
        LATER,
        "accept",
        "invitation",
        "platform/bob@acme.io",
    )
    assert [(e.action, e.kind, e.key) for e in reversed(rest)] == [
        (c.action.value, c.kind.value, c.key) for c in FOUNDATION
    ]
    alice = rest[-1]
    assert (alice.actor, alice.at, alice.outcome) == ("alice@laptop pid 7", NOW, "recorded")
    assert json.loads(alice.detail) == {
        "before": None,
        "after": {
            "organization": "platform",
            "email": "alice@acme.com",
            "role": "admin",
            "status": "pending",
        },
    }
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)


def test_the_journal_is_limited_and_per_enterprise(store: Store) -> None:
    write(store, *FOUNDATION)
    assert [e.key for e in store.journal(enterprise="acme", limit=2)] == [
        "platform/bob@acme.io",
        "platform/alice@acme.com",
    ]
    assert store.journal(enterprise="globex") == []


def test_the_journal_since_a_moment_holds_only_what_came_at_or_after_it(store: Store) -> None:
    write(store, *FOUNDATION)
    accept(store, "platform/bob@acme.io", now=LATER)
    keys = ["platform/bob@acme.io", "platform/bob@acme.io", "platform/alice@acme.com"]
    assert [e.key for e in store.journal(enterprise="acme", since=NOW)] == keys
    assert [(e.action, e.at) for e in store.journal(enterprise="acme", since=SOON)] == [
        ("accept", LATER)
    ]
    # The same moment in another zone is the same moment, not the same wall-clock text.
    east = LATER.astimezone(timezone(timedelta(hours=2)))
    assert [e.at for e in store.journal(enterprise="acme", since=east)] == [LATER]
    assert store.journal(enterprise="acme", since=LATER + timedelta(seconds=1)) == []
    assert [e.key for e in store.journal(enterprise="acme", since=NOW, limit=1)] == keys[:1]
    with pytest.raises(ValueError, match="timezone-aware"):
        store.journal(enterprise="acme", since=NOW.replace(tzinfo=None))


def test_the_journal_of_no_record_is_empty_with_or_without_since(store: Store) -> None:
    assert store.journal(enterprise="acme", since=NOW) == []
    assert store.journal(enterprise="acme") == []


def test_no_journal_row_holds_a_fingerprint_slipped_into_a_change(store: Store) -> None:
    careless = update(Kind.USER, "bob@acme.io", {}, ROTATED, note=ROTATED)
    store.journal_changes(
        enterprise="acme", changes=[careless], outcome="applied", actor="ci", now=NOW
    )
    slipped = PlanChange(
        Action.CREATE,
        Kind.INVITATION,
        "platform/bob@acme.io",
        None,
        {"organization": "platform", "email": "bob@acme.io", "role": "member", "note": FINGERPRINT},
        FINGERPRINT,
    )
    write(store, slipped)
    journal = repr(store.journal(enterprise="acme", limit=1000))
    for secret in (SECRET, FINGERPRINT, ROTATED):
        assert secret not in journal
    written, journaled = store.journal(enterprise="acme")
    assert json.loads(journaled.detail)["after"] == {"note": SENSITIVE}
    assert json.loads(written.detail)["after"]["note"] == SENSITIVE
