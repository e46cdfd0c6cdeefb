"""What is particular to the PostgreSQL store: many runners at once, its schema, its URL.

Tests that need a server run when INSOMNIA_SSO_TEST_POSTGRES_URL names a database, each in
a fresh schema of its own (see `postgres_schema`); those about unreachable servers and URLs
run everywhere.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
import pytest
from click.testing import CliRunner

from reconciler.apply import apply
from reconciler.cli import main
from reconciler.confirm import confirm_step
from reconciler.errors import StoreError
from reconciler.manual import sso_step
from reconciler.plan import Action, Kind, PlanChange
from reconciler.spec import load_text
from reconciler.state import INVITATION_TTL, InvitationStatus
from reconciler.stores import open_store
from reconciler.stores.base import LOCK_LEASE, LockInfo
from reconciler.stores.record import SqlStore
from reconciler.stores.schema import MIGRATION_LOCK, SCHEMA_VERSION
from tests.conftest import okta_outputs, spec_yaml
from tests.stores.test_contract import (
    FOUNDATION,
    NO_POSTGRES,
    NOW,
    POSTGRES_URL,
    SOON,
    invite,
    postgres_schema,
)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., None])


def needs_postgres(test: F) -> F:
    """Marked `postgres`; skipped, saying why, without INSOMNIA_SSO_TEST_POSTGRES_URL."""
    return pytest.mark.postgres(pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)(test))


DOWN = "postgresql://u:hunter2@127.0.0.1:1/x"
"""Nothing listens on port 1: the server is down."""


@pytest.fixture
def url() -> Iterator[str]:
    """A store URL on a fresh schema of its own, dropped afterwards."""
    with postgres_schema("pgtest") as schema_url:
        yield schema_url


@pytest.fixture
def stores(url: str) -> Iterator[Callable[[], SqlStore]]:
    """Opens stores (each its own connection, like a runner of its own); closes them all."""
    opened: list[SqlStore] = []

    def open_one() -> SqlStore:
        opened.append(SqlStore.postgres(url))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


def write(store: SqlStore, *changes: PlanChange) -> None:
    store.write(enterprise="acme", changes=changes, actor="ci", now=NOW)


def schema_of(url: str) -> str:
    return url.rpartition("%3D")[2]


def query(sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        cur = admin.execute(sql, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description is not None else []


def tables_in(url: str) -> list[str]:
    rows = query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        schema_of(url),
    )
    return [name for (name,) in rows]


def all_at_once(count: int, task: Callable[[int], T]) -> list[T]:
    """Run `task(0…count-1)` in threads released at one moment; their results, in order."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        barrier.wait()
        return task(i)

    with ThreadPoolExecutor(count) as pool:
        return [future.result() for future in [pool.submit(run, i) for i in range(count)]]


# -- URLs and connection errors (no server needed) -------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ci:hunter2@db.internal:5432/sso",
        "postgres://ci:hunter2@db.internal/sso",
        "PostgreSQL://ci:hunter2@db.internal/sso?sslmode=require",
    ],
)
def test_postgres_urls_open_a_postgres_store_without_connecting(url: str) -> None:
    store = open_store(url)
    assert store.dialect == "postgresql"
    assert store.where.startswith("postgresql://db.internal")
    assert "hunter2" not in store.where


def test_a_server_that_is_down_is_one_line_without_the_password() -> None:
    store = SqlStore.postgres(DOWN)
    for call in (
        lambda: store.read(enterprise="acme", now=NOW),
        lambda: store.try_lock(enterprise="acme", holder="ci", now=NOW),
        lambda: store.journal(enterprise="acme"),
    ):
        with pytest.raises(StoreError) as raised:
            call()
        message = str(raised.value)
        assert message.startswith("postgresql://127.0.0.1:1/x: cannot connect: ")
        assert "Connection refused" in message
        assert "hunter2" not in message
        assert "\n" not in message
        assert isinstance(raised.value.__cause__, psycopg.OperationalError)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:hunter2%zz@127.0.0.1/x",  # libpq quotes the undecodable password
        "postgresql://127.0.0.1/x?password=hunter2&no_such_option=1",
    ],
)
def test_a_malformed_url_is_refused_without_the_password(url: str) -> None:
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert str(raised.value).startswith("the PostgreSQL store URL is malformed: ")
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None  # libpq's own message holds the password


def test_the_cli_reports_a_server_that_is_down_in_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "acme.yaml"
    spec.write_text(spec_yaml({"platform": ["alice@acme.com"]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", str(spec), "--store", DOWN])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: postgresql://127.0.0.1:1/x: cannot connect: ")
    assert result.stderr.count("\n") == 1
    assert "hunter2" not in result.stderr + result.stdout


# -- errors from a live server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "dbname", "reason"),
    [("postgres", "no_such_database", "does not exist"), ("no_such_role", None, "no_such_role")],
    ids=["unknown-database", "unknown-role"],
)
@needs_postgres
def test_a_refused_connection_is_one_line_without_the_password(
    user: str, dbname: str | None, reason: str
) -> None:
    server = urlsplit(POSTGRES_URL)
    target = dbname or server.path.lstrip("/")
    url = f"postgresql://{user}:hunter2@{server.hostname}:{server.port or 5432}/{target}"
    with pytest.raises(StoreError) as raised:
        SqlStore.postgres(url).read(enterprise="acme", now=NOW)
    message = str(raised.value)
    assert message.startswith(f"postgresql://{server.hostname}:")
    assert reason in message
    assert "hunter2" not in message
    assert "\n" not in message


# -- the schema ------------------------------------------------------------------------------


@needs_postgres
def test_reading_a_schema_without_a_store_creates_nothing(url: str) -> None:
    store = SqlStore.postgres(url)
    assert not store.read(enterprise="acme", now=NOW).exists
    assert store.journal(enterprise="acme") == []
    store.unlock(enterprise="acme", holder="ci")
    with pytest.raises(StoreError, match=r"/test: there is no store here yet \(run apply first\)"):
        store.accept_invitation(
            enterprise="acme", organization="platform", email="bob@acme.io", actor="b", now=NOW
        )
    store.close()
    assert tables_in(url) == []  # `plan` never writes


@needs_postgres
def test_the_first_write_creates_the_tables_in_the_urls_schema(url: str) -> None:
    store = SqlStore.postgres(url)
    write(store, *FOUNDATION)
    store.close()
    assert tables_in(url) == [
        "confirmations",
        "domains",
        "enterprises",
        "insomnia_sso_alembic",
        "insomnia_sso_schema",
        "invitations",
        "journal",
        "locks",
        "managed_teams",
        "managed_users",
        "members",
        "organizations",
        "sso_connections",
    ]
    assert query("SELECT to_regclass('public.invitations')") == [(None,)]
    times = query(
        "SELECT DISTINCT data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND (column_name LIKE '%%\\_at' OR column_name = 'at')",
        schema_of(url),
    )
    assert times == [("timestamp with time zone",)]


@needs_postgres
def test_migrations_run_once_when_runners_start_together(url: str) -> None:
    def start(i: int) -> LockInfo | None:
        store = SqlStore.postgres(url)
        try:
            return store.try_lock(enterprise=f"enterprise-{i}", holder=f"ci-{i}", now=NOW)
        finally:
            store.close()

    assert all_at_once(4, start) == [None] * 4
    versions = query(f"SELECT version FROM {schema_of(url)}.insomnia_sso_schema ORDER BY 1")
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


@needs_postgres
def test_a_runner_waits_for_another_runners_migration(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (MIGRATION_LOCK,))
        with ThreadPoolExecutor(1) as pool:
            store = SqlStore.postgres(url)
            opening = pool.submit(store.try_lock, enterprise="acme", holder="ci", now=NOW)
            time.sleep(0.3)
            assert not opening.done()  # waiting on the migration lock, not racing past it
            other.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (MIGRATION_LOCK,)
            )
            assert opening.result(timeout=10) is None
            store.close()


@needs_postgres
def test_a_schema_from_a_newer_version_is_refused_untouched(url: str) -> None:
    store = SqlStore.postgres(url)
    write(store, *FOUNDATION)
    store.close()
    schema = schema_of(url)
    query(f"INSERT INTO {schema}.insomnia_sso_schema (version) VALUES (%s)", SCHEMA_VERSION + 6)
    newer = SqlStore.postgres(url)
    for call in (
        lambda: newer.read(enterprise="acme", now=NOW),
        lambda: newer.try_lock(enterprise="acme", holder="ci", now=NOW),
    ):
        with pytest.raises(StoreError) as raised:
            call()
        assert str(raised.value) == (
            f"{newer.where} was written by a newer insomnia-sso (schema {SCHEMA_VERSION + 6} > "
            f"{SCHEMA_VERSION}); upgrade insomnia-sso to use it"
        )
    newer.close()
    assert query(f"SELECT count(*) FROM {schema}.locks") == [(0,)]


# -- many runners, one lock ------------------------------------------------------------------


@needs_postgres
def test_exactly_one_of_racing_runners_gets_the_lock(
    stores: Callable[[], SqlStore],
) -> None:
    runners = [stores() for _ in range(4)]
    for runner in runners:  # connected and migrated: the race is for the lock alone
        runner.journal(enterprise="acme")
    runners[0].try_lock(enterprise="acme", holder="x", now=NOW)
    runners[0].unlock(enterprise="acme", holder="x")
    for round_ in range(10):
        enterprise = f"race-{round_}"

        def take(i: int, enterprise: str = enterprise) -> LockInfo | None:
            return runners[i].try_lock(enterprise=enterprise, holder=f"ci-{i}", now=NOW)

        results = all_at_once(len(runners), take)
        winners = [i for i, other in enumerate(results) if other is None]
        assert len(winners) == 1, results
        assert {other.holder for other in results if other is not None} == {f"ci-{winners[0]}"}


@needs_postgres
def test_exactly_one_of_racing_runners_takes_over_a_stale_lock(
    stores: Callable[[], SqlStore],
) -> None:
    runners = [stores() for _ in range(4)]
    lapsed = NOW + LOCK_LEASE
    for round_ in range(5):
        enterprise = f"stale-{round_}"
        runners[0].try_lock(enterprise=enterprise, holder="crashed@elsewhere pid 1", now=NOW)

        def take(i: int, enterprise: str = enterprise) -> LockInfo | None:
            return runners[i].try_lock(enterprise=enterprise, holder=f"ci-{i}", now=lapsed)

        results = all_at_once(len(runners), take)
        assert [other is None for other in results].count(True) == 1, results
        takeovers = [e for e in runners[0].journal(enterprise=enterprise) if e.action == "lock"]
        assert len(takeovers) == 1
        assert "crashed@elsewhere pid 1" in takeovers[0].detail


@needs_postgres
def test_a_runner_inserting_the_lock_row_at_the_same_moment_wins_after_its_commit(
    url: str, stores: Callable[[], SqlStore]
) -> None:
    store = stores()
    store.journal(enterprise="acme")  # no store yet: the first try_lock below creates it
    store.try_lock(enterprise="setup", holder="ci", now=NOW)
    with psycopg.connect(url) as other:  # a transaction left open on purpose
        other.execute(
            "INSERT INTO locks VALUES ('acme', 'other@elsewhere pid 9', %s, %s)",
            (NOW, NOW + LOCK_LEASE),
        )
        with ThreadPoolExecutor(1) as pool:
            taking = pool.submit(store.try_lock, enterprise="acme", holder="ci", now=SOON)
            time.sleep(0.3)
            assert not taking.done()  # waits for the other insert to commit or roll back
            other.commit()
            held = taking.result(timeout=10)
    assert held is not None
    assert held.holder == "other@elsewhere pid 9"


# -- writing ---------------------------------------------------------------------------------


@needs_postgres
def test_a_batch_naming_one_person_twice_is_applied_in_order(
    stores: Callable[[], SqlStore],
) -> None:
    store = stores()
    key = "platform/bob@acme.io"
    write(store, *FOUNDATION, invite(key, "admin"), invite(key, "member"))
    bob = store.read(enterprise="acme", now=NOW).invitations[key]
    assert (bob.role, bob.status, bob.invited_at) == ("member", InvitationStatus.PENDING, NOW)


@needs_postgres
def test_a_failed_batch_is_journaled_as_failed(stores: Callable[[], SqlStore]) -> None:
    store = stores()
    write(store, *FOUNDATION)
    owner = invite("data/alice@acme.com", "owner")  # never granted by invitation
    with pytest.raises(StoreError, match="violates check constraint") as raised:
        write(store, invite("data/bob@acme.io"), owner)
    assert isinstance(raised.value.__cause__, psycopg.errors.CheckViolation)
    failed = store.journal(enterprise="acme", limit=2)
    assert [(e.key, e.outcome) for e in failed] == [
        ("data/alice@acme.com", "failed"),
        ("data/bob@acme.io", "failed"),
    ]
    assert "violates check constraint" in json.loads(failed[0].detail)["error"]
    actual = store.read(enterprise="acme", now=NOW)
    assert "data/bob@acme.io" not in actual.invitations
    assert actual.organizations == {"platform"}  # the batch's organization row went too


@needs_postgres
def test_foreign_keys_are_enforced(url: str, stores: Callable[[], SqlStore]) -> None:
    write(stores(), *FOUNDATION)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        query(
            f"INSERT INTO {schema_of(url)}.invitations VALUES ('acme', 'no-such-team', "
            "'alice@acme.com', 'member', 'pending', now(), now(), now())"
        )


@needs_postgres
def test_a_change_the_store_cannot_make_is_refused(stores: Callable[[], SqlStore]) -> None:
    store = stores()
    write(store, *FOUNDATION)
    drop = PlanChange(Action.DELETE, Kind.TEAM, "platform-admins", {"name": "x"}, None)
    with pytest.raises(StoreError, match="the record cannot delete a team"):
        write(store, drop)


@needs_postgres
def test_naive_datetimes_are_a_bug_not_a_guess(stores: Callable[[], SqlStore]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        stores().try_lock(enterprise="acme", holder="ci", now=NOW.replace(tzinfo=None))


@needs_postgres
def test_a_dropped_connection_is_an_error_once_then_reopened(
    stores: Callable[[], SqlStore],
) -> None:
    store = stores()
    write(store, *FOUNDATION)
    conn = store._session.usable()
    assert conn is not None
    query("SELECT pg_terminate_backend(%s)", conn.connection.driver_connection.info.backend_pid)
    with pytest.raises(StoreError, match="cannot read the store") as raised:
        store.read(enterprise="acme", now=NOW)
    assert "\n" not in str(raised.value)
    assert store.read(enterprise="acme", now=NOW).exists


@needs_postgres
def test_one_hundred_thousand_invitations_read_back_whole(
    url: str, stores: Callable[[], SqlStore]
) -> None:
    store = stores()
    write(store, *(invite(f"team-{i:02d}/first@acme.com") for i in range(50)))
    # Seeded on the server: writing 100,000 through the store is the bench's job (4 s).
    query(
        f"INSERT INTO {schema_of(url)}.invitations SELECT 'acme', "
        "'team-' || lpad((i %% 50)::text, 2, '0'), 'person' || i || '@acme.com', 'member', "
        "'pending', %s, %s, %s FROM generate_series(0, 99999) AS i",
        NOW,
        NOW + INVITATION_TTL,
        NOW,
    )
    actual = store.read(enterprise="acme", now=NOW)  # its speed: bench/reconcile.py --postgres
    assert len(actual.invitations) == 100_050
    assert actual.invitations["team-07/person7@acme.com"].expires_at == NOW + INVITATION_TTL


# -- apply end to end ------------------------------------------------------------------------

FIRST_SECRET = "Recognisable-Client-Secret-0xC0FFEE-first"
ROTATED_SECRET = "Recognisable-Client-Secret-0xC0FFEE-rotated"


@needs_postgres
def test_an_apply_of_thousands_then_a_second_apply_plans_nothing(
    url: str, stores: Callable[[], SqlStore]
) -> None:
    people = {
        f"team-{t}": [f"p{t}-{i}@acme.com" + (":admin" if i % 9 else "") for i in range(750)]
        for t in range(4)
    }
    enterprise = load_text(spec_yaml(people), "acme.yaml")
    outputs = okta_outputs(enterprise, FIRST_SECRET)
    first = apply(enterprise, outputs, stores(), actor="ci@runner-1 pid 1", batch_size=1000)
    assert first.applied == 3000  # people only: organizations come with them
    second = apply(enterprise, outputs, stores(), actor="ci@runner-2 pid 2")
    assert second.plan.changes == ()
    assert second.applied == 0
    # Apply never does a manual step: domains, the SSO connection, the organizations and
    # sending the 3,000 invitations it recorded stay open for an owner.
    steps = [(s.kind.value, s.key) for s in second.plan.manual_steps]
    assert steps[:4] == [
        ("domain", "acme.com"),
        ("domain", "acme.io"),
        ("sso_connection", "acme"),
        ("organization", "team-0"),
    ]
    assert sum(kind == "invitation" for kind, _ in steps) == 3000
    assert sum(kind == "organization" for kind, _ in steps) == 4
    actual = stores().read(enterprise="acme", now=NOW)
    assert len(actual.invitations) == 3000
    assert actual.organizations == {f"team-{t}" for t in range(4)}
    assert query(f"SELECT count(*) FROM {schema_of(url)}.locks") == [(0,)]  # released


@needs_postgres
def test_the_client_secret_is_in_no_table(url: str, stores: Callable[[], SqlStore]) -> None:
    enterprise = load_text(spec_yaml({"platform": ["alice@acme.com"]}), "acme.yaml")
    fingerprints = []
    for secret in (FIRST_SECRET, ROTATED_SECRET):
        outputs = okta_outputs(enterprise, secret)
        fingerprints.append(outputs.secret_fingerprint)
        apply(enterprise, outputs, stores(), actor="ci")
        confirm_step(
            stores(), enterprise, outputs, "sso_connection", "acme", actor="owner", now=NOW
        )
    schema = schema_of(url)
    rows = {
        table: " ".join(text for (text,) in query(f"SELECT t::text FROM {schema}.{table} AS t"))
        for table in tables_in(url)
    }
    everything = " ".join(rows.values())
    step = sso_step(enterprise, okta_outputs(enterprise, ROTATED_SECRET))
    assert step.digest in rows["confirmations"]  # the right rows were searched
    assert step.public_digest in rows["journal"]
    for secret in (FIRST_SECRET, ROTATED_SECRET):
        assert secret not in everything
    for fingerprint in fingerprints:
        assert str(fingerprint).partition(":")[2] not in everything
