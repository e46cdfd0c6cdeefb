"""record.lock and record.last_apply, from a real SQLite record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.apply import apply
from reconciler.doctor.checks import Status
from reconciler.doctor.record import check_last_apply, check_lock, read_record
from reconciler.manual import DOMAIN_DIGEST
from reconciler.spec import load_file
from reconciler.stores.base import LOCK_LEASE, JournalEntry
from reconciler.stores.record import SqlStore
from tests.conftest import MINIMAL, okta_outputs

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
HOLDER = "ci@runner-elsewhere pid 4242"  # another host: only its lease can free it


def test_an_empty_record_has_a_free_lock_and_no_apply(tmp_path: Path) -> None:
    facts = read_record(lambda: SqlStore.sqlite(tmp_path / "state.db"), "acme", NOW)
    assert not (tmp_path / "state.db").exists()  # reading created nothing
    lock = check_lock(facts.lock, NOW)
    assert (lock.status, lock.summary) == (Status.PASS, "free")
    last = check_last_apply(facts.journal, "acme")
    assert (last.status, last.summary) == (Status.WARN, "no apply recorded for enterprise 'acme'")
    assert last.fix == "run `insomnia-sso apply` (the pipeline does it after `pulumi up`)"


def test_a_held_lock_names_its_holder_and_turns_stale_when_its_lease_runs_out(
    tmp_path: Path,
) -> None:
    store = SqlStore.sqlite(tmp_path / "state.db")
    assert store.try_lock(enterprise="acme", holder=HOLDER, now=NOW) is None
    facts = read_record(lambda: SqlStore.sqlite(tmp_path / "state.db"), "acme", NOW)
    live = check_lock(facts.lock, NOW + timedelta(minutes=1))
    assert (live.status, live.summary) == (
        Status.PASS,
        f"held by {HOLDER} since 2025-01-06T09:00:00+00:00 (an apply is running)",
    )
    stale = check_lock(facts.lock, NOW + LOCK_LEASE)
    assert stale.status is Status.WARN
    assert stale.summary == (
        f"held by {HOLDER} since 2025-01-06T09:00:00+00:00, stale: its lease expired at "
        "2025-01-06T09:10:00+00:00"
    )
    # Reading it took nothing over: the holder still holds it.
    assert store.current_lock(enterprise="acme") == facts.lock
    store.close()


def test_the_last_apply_says_when_by_whom_and_how_many(
    tmp_path: Path, write_spec: Callable[[str], Path]
) -> None:
    enterprise = load_file(write_spec(MINIMAL))
    store = SqlStore.sqlite(tmp_path / "state.db")
    done = apply(enterprise, okta_outputs(enterprise), store, actor=HOLDER, clock=lambda: NOW)
    # Confirming a verified domain later is not an apply.
    store.confirm(
        enterprise="acme",
        kind="domain",
        key="acme.com",
        digest=DOMAIN_DIGEST,
        detail={},
        actor="bob",
        now=NOW,
    )
    store.close()
    facts = read_record(lambda: SqlStore.sqlite(tmp_path / "state.db"), "acme", NOW)
    last = check_last_apply(facts.journal, "acme")
    assert (last.status, last.summary) == (
        Status.PASS,
        f"last apply 2025-01-06T09:00:00+00:00 by {HOLDER}: {done.applied} change(s) recorded "
        "in the ledger",
    )
    assert facts.actual.domains["acme.com"].verified


def entry(id_: int, actor: str, outcome: str, detail: str = "{}") -> JournalEntry:
    return JournalEntry(
        id_, "acme", NOW, actor, "create", "invitation", "p/a@acme.com", outcome, detail
    )


def test_a_failed_last_apply_fails_with_its_error() -> None:
    journal = [
        entry(3, HOLDER, "failed", '{"before":null,"after":null,"error":"disk I/O error"}'),
        entry(2, HOLDER, "applied"),
        entry(1, "an-earlier-apply", "applied"),
    ]
    last = check_last_apply(journal, "acme")
    assert (last.status, last.summary) == (
        Status.FAIL,
        f"last apply 2025-01-06T09:00:00+00:00 by {HOLDER} failed (1 change(s)): disk I/O error",
    )
