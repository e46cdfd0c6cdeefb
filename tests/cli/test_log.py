"""`insomnia-sso log`: the journal, newest first, filtered by --since and --limit, as text or
JSON; it reads the record only, refuses one that is behind and makes none where none is."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.cli.log_cmds import parse_since
from reconciler.plan_types import Action, Kind, PlanChange
from reconciler.stores.base import utcnow
from reconciler.stores.record import SqlStore
from tests.cli.conftest import run
from tests.cli.test_bad_input import store_files

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
FIXTURE = Path(__file__).resolve().parent.parent / "stores" / "fixtures" / "schema2.db"


def invite(email: str) -> PlanChange:
    after = {"organization": "platform", "email": email, "role": "member", "status": "pending"}
    return PlanChange(Action.CREATE, Kind.INVITATION, f"platform/{email}", None, after)


def journaled(db: Path, at: datetime = NOW) -> None:
    """A record whose journal holds an apply, a failed SCIM write and a confirmation."""
    db.parent.mkdir(parents=True, exist_ok=True)
    store = SqlStore.sqlite(db)
    try:
        store.write(
            enterprise="acme",
            changes=[invite("alice@acme.com"), invite("bob@acme.io")],
            actor="alice@laptop pid 7",
            now=at,
        )
        user = PlanChange(Action.CREATE, Kind.USER, "carol@acme.com", None, {"active": True})
        store.journal_changes(
            enterprise="acme",
            changes=[user],
            outcome="failed",
            actor="ci@runner pid 9",
            now=at + timedelta(hours=1),
            error="POST /Users: 400 invalidValue: userName",
        )
        store.confirm(
            enterprise="acme",
            kind="domain",
            key="acme.com",
            digest="sha256:" + "0" * 64,
            detail={"txt": "insomnia-verify=1f2e"},
            actor="owner@desk pid 3",
            now=at + timedelta(hours=2),
        )
    finally:
        store.close()


def test_the_journal_reads_newest_first_aligned(spec: Path, store_url: str, db: Path) -> None:
    journaled(db)
    result = run("log", spec, "--store", store_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Journal of enterprise 'acme', newest first:",
        "",
        "  2025-01-06T11:00:00+00:00  owner@desk pid 3    confirm  domain      acme.com"
        "                 confirmed",
        "  2025-01-06T10:00:00+00:00  ci@runner pid 9     create   user        carol@acme.com"
        "           failed",
        "      POST /Users: 400 invalidValue: userName",
        "  2025-01-06T09:00:00+00:00  alice@laptop pid 7  create   invitation  "
        "platform/bob@acme.io     recorded",
        "  2025-01-06T09:00:00+00:00  alice@laptop pid 7  create   invitation  "
        "platform/alice@acme.com  recorded",
        "",
        "4 entries shown.",
    ]


def test_json_is_a_list_of_entries_with_their_detail(spec: Path, store_url: str, db: Path) -> None:
    journaled(db)
    result = run("log", spec, "--store", store_url, "--format", "json", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "at": "2025-01-06T11:00:00+00:00",
            "actor": "owner@desk pid 3",
            "action": "confirm",
            "kind": "domain",
            "key": "acme.com",
            "outcome": "confirmed",
            "detail": {"txt": "insomnia-verify=1f2e"},
        },
        {
            "at": "2025-01-06T10:00:00+00:00",
            "actor": "ci@runner pid 9",
            "action": "create",
            "kind": "user",
            "key": "carol@acme.com",
            "outcome": "failed",
            "detail": {
                "before": None,
                "after": {"active": True},
                "error": "POST /Users: 400 invalidValue: userName",
            },
        },
    ]


def test_the_limit_keeps_the_newest_and_says_how_to_see_more(
    spec: Path, store_url: str, db: Path
) -> None:
    journaled(db)
    lines = run("log", spec, "--store", store_url, "--limit", "1").stdout.splitlines()
    assert lines[2].startswith("  2025-01-06T11:00:00+00:00  owner@desk pid 3  confirm")
    assert lines[-1] == "1 entry shown (the limit: --limit N or --since WHEN for others)."


@pytest.mark.parametrize(
    ("since", "keys"),
    [
        ("2025-01-06T10:00:00Z", ["acme.com", "carol@acme.com"]),
        ("2025-01-06T11:00:00+01:00", ["acme.com", "carol@acme.com"]),  # 10:00 UTC
        ("2025-01-06T10:30:00", ["acme.com"]),  # no offset: UTC
        (
            "2025-01-06",
            ["acme.com", "carol@acme.com", "platform/bob@acme.io", "platform/alice@acme.com"],
        ),
        ("2025-01-07", []),
    ],
)
def test_since_an_iso_date_or_datetime(
    spec: Path, store_url: str, db: Path, since: str, keys: list[str]
) -> None:
    journaled(db)
    result = run("log", spec, "--store", store_url, "--since", since, "--format", "json")
    assert result.exit_code == 0, result.output
    assert [entry["key"] for entry in json.loads(result.stdout)] == keys


def test_since_a_duration_back_from_now(spec: Path, store_url: str, db: Path) -> None:
    journaled(db, at=utcnow() - timedelta(days=8))  # all 8 days back, give or take 2 hours
    recent = SqlStore.sqlite(db)
    recent.confirm(
        enterprise="acme",
        kind="organization",
        key="platform",
        digest="sha256:" + "1" * 64,
        detail={},
        actor="owner@desk pid 3",
        now=utcnow() - timedelta(hours=1),
    )
    recent.close()
    week = run("log", spec, "--store", store_url, "--since", "7d", "--format", "json")
    assert [entry["key"] for entry in json.loads(week.stdout)] == ["platform"]
    text = run("log", spec, "--store", store_url, "--since", "30m").stdout.splitlines()
    assert text[0].startswith("No journal entries for enterprise 'acme' since ")


def test_durations_dates_and_datetimes_parse() -> None:
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("1d12h", NOW) == NOW - timedelta(days=1, hours=12)
    assert parse_since("2w", NOW) == NOW - timedelta(weeks=2)
    assert parse_since("90m", NOW) == NOW - timedelta(minutes=90)
    assert parse_since("2025-01-01", NOW) == datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_since("2025-01-01T08:00:00Z", NOW) == datetime(2025, 1, 1, 8, tzinfo=UTC)


def test_a_since_that_is_neither_is_a_usage_error(spec: Path, store_url: str, db: Path) -> None:
    result = run("log", spec, "--store", store_url, "--since", "yesterday")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: --since 'yesterday' is neither a duration (7d, 12h, 30m) nor an ISO date or "
        "datetime (2026-11-28, 2026-11-28T09:00:00Z)"
    )
    assert not db.parent.exists()


def test_no_record_is_an_empty_journal_and_none_is_made(
    spec: Path, store_url: str, db: Path
) -> None:
    result = run("log", spec, "--store", store_url)
    assert (result.exit_code, result.stdout) == (0, "No journal entries for enterprise 'acme'.\n")
    assert not db.parent.exists()
    assert json.loads(run("log", spec, "--store", store_url, "--format", "json").stdout) == []
    assert not db.parent.exists()


def test_a_record_behind_is_refused_untouched(spec: Path, tmp_path: Path) -> None:
    record = tmp_path / "old" / "state.db"
    record.parent.mkdir()
    shutil.copy(FIXTURE, record)
    before = store_files(record)
    result = run("log", spec, "--store", f"sqlite:///{record}")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {record}: the record is at schema 2, this insomnia-sso needs 4: run apply or "
        "confirm once to upgrade it\n"
    )
    assert store_files(record) == before


def test_one_enterprise_per_run(write_spec, store_url: str, tmp_path: Path) -> None:
    write_spec()
    (tmp_path / "specs" / "beta.yaml").write_text(
        (tmp_path / "specs" / "enterprise.yaml").read_text().replace("name: acme", "name: beta")
    )
    result = run("log", tmp_path / "specs", "--store", store_url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: 2 enterprises given (")
