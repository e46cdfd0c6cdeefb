"""Exit codes are the contract pipelines script against (DESIGN.md, the CLI table).

plan   0 no changes, 2 changes, 1 error
drift  0 in sync,    2 drifted, 1 error
apply  0 done,       1 failed,  3 lock held elsewhere
status 0
store accept 0, 1
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import closing
from pathlib import Path

import pytest

from reconciler.stores.base import utcnow
from reconciler.stores.record import SqlStore
from tests.cli.conftest import HOLDER, confirm_all, run, tables


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_plan_and_drift_exit_2_while_changes_or_manual_steps_are_open_and_0_after(
    command: str, spec: Path, store_url: str, outputs: Path
) -> None:
    assert run(command, spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 2
    assert (
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0
    )
    # People are recorded; the domains and the SSO connection still wait for an owner.
    assert run(command, spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 2
    steps = confirm_all(spec, store_url, outputs)
    assert steps == [
        "domain acme.com",
        "domain acme.io",
        "sso_connection acme",
        "organization platform",
        "invitation platform/alice@acme.com",
        "invitation platform/bob@acme.io",
        "organization payments",
        "invitation payments/carol@acme.com",
    ]
    assert run(command, spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0


@pytest.mark.parametrize("command", ["plan", "drift", "apply", "status"])
def test_every_command_exits_1_on_an_error(command: str, spec: Path, db: Path) -> None:
    result = run(command, spec, "--store", "ftp://example.com/state.db")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        result.stderr
        == "error: unknown store URL scheme 'ftp' (expected sqlite:///PATH or postgresql://…)\n"
    )


@pytest.mark.parametrize("command", ["plan", "drift", "status"])
def test_reading_commands_never_create_the_store(command: str, spec: Path, db: Path) -> None:
    result = run(command, spec, "--store", f"sqlite:///{db}")
    assert result.exit_code in (0, 2)
    assert not db.parent.exists()


def test_apply_exits_0_and_a_second_apply_changes_nothing(
    spec: Path, store_url: str, outputs: Path, db: Path
) -> None:
    assert (
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0
    )
    before = tables(db)
    again = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
    assert again.exit_code == 0
    assert "Apply complete: 0 change(s) recorded in the ledger. Nothing was sent" in again.stdout
    assert tables(db) == before


def test_apply_exits_3_and_names_the_holder_while_another_apply_holds_the_lock(
    spec: Path, store_url: str, outputs: Path, db: Path
) -> None:
    since = utcnow()
    with closing(SqlStore.sqlite(db)) as other:
        assert other.try_lock(enterprise="acme", holder=HOLDER, now=since) is None
    before = tables(db)

    result = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"error: enterprise 'acme' is locked by {HOLDER} since "
        f"{since.isoformat(timespec='seconds')}\n"
    )
    assert tables(db) == before  # nothing written, and the other apply still holds its lock
    with closing(SqlStore.sqlite(db)) as third:
        held = third.try_lock(enterprise="acme", holder="someone-else", now=utcnow())
    assert held is not None
    assert held.holder == HOLDER


def test_apply_waits_up_to_lock_timeout_before_exiting_3(
    spec: Path, store_url: str, db: Path
) -> None:
    with closing(SqlStore.sqlite(db)) as other:
        assert other.try_lock(enterprise="acme", holder=HOLDER, now=utcnow()) is None
    started = time.monotonic()
    result = run("apply", "--yes", spec, "--store", store_url, "--lock-timeout", "0.2")
    assert result.exit_code == 3
    assert time.monotonic() - started >= 0.2
    assert result.stderr.startswith(f"error: enterprise 'acme' is locked by {HOLDER} since ")


def test_the_lock_of_a_crashed_apply_on_this_host_is_taken_over_and_journaled(
    spec: Path, store_url: str, db: Path
) -> None:
    crashed = f"old-run@{socket.gethostname()} pid 999999999"  # no such process
    with closing(SqlStore.sqlite(db)) as other:
        assert other.try_lock(enterprise="acme", holder=crashed, now=utcnow()) is None

    assert run("apply", "--yes", spec, "--store", store_url).exit_code == 0

    [takeover] = [row for row in tables(db)["journal"] if row[4] == "lock"]
    assert takeover[3:] == (
        f"tester@cli-tests pid {os.getpid()}",
        "lock",
        "enterprise",
        "acme",
        "taken over",
        f'{{"previous_holder":"{crashed}","reason":"its process is no longer running"}}',
    )
    assert tables(db)["locks"] == []  # released when apply finished


def test_plan_and_status_are_not_blocked_by_an_apply_holding_the_lock(
    spec: Path, store_url: str, db: Path
) -> None:
    with closing(SqlStore.sqlite(db)) as other:
        assert other.try_lock(enterprise="acme", holder=HOLDER, now=utcnow()) is None
    assert run("plan", spec, "--store", store_url).exit_code == 2
    assert run("status", spec, "--store", store_url).exit_code == 0


def test_apply_exits_1_when_it_fails(spec: Path, db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"not a database at all")
    result = run("apply", "--yes", spec, "--store", f"sqlite:///{db}")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {db} is not an SQLite database")


def test_status_exits_0_before_anything_was_applied(spec: Path, store_url: str) -> None:
    assert run("status", spec, "--store", store_url).exit_code == 0


def test_store_accept_exits_0_for_a_pending_invitation_and_1_otherwise(
    spec: Path, store_url: str, outputs: Path
) -> None:
    run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)

    accepted = run("store", "accept", "platform", "Alice@Acme.com", "--store", store_url)
    assert accepted.exit_code == 0
    assert accepted.stdout == (
        "Recorded: platform/alice@acme.com accepted and is a member of platform (in the "
        "record's ledger; nothing was changed in Insomnia).\n"
    )

    twice = run("store", "accept", "platform", "alice@acme.com", "--store", store_url)
    assert twice.exit_code == 1
    assert twice.stderr == (
        "error: the invitation for platform/alice@acme.com is accepted, not pending\n"
    )

    stranger = run("store", "accept", "platform", "zoe@acme.com", "--store", store_url)
    assert stranger.exit_code == 1
    assert (
        stranger.stderr == "error: no invitation for platform/zoe@acme.com in enterprise 'acme'\n"
    )


def test_store_accept_takes_the_enterprise_from_the_option_or_the_store(
    spec: Path, store_url: str, outputs: Path, tmp_path: Path
) -> None:
    run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
    named = run(
        "store", "accept", "platform", "bob@acme.io", "--store", store_url, "--enterprise", "acme"
    )
    assert named.exit_code == 0
    other = run(
        "store", "accept", "payments", "carol@acme.com", "--store", store_url,
        "--enterprise", "globex",
    )  # fmt: skip
    assert other.exit_code == 1
    assert other.stderr == (
        "error: no invitation for payments/carol@acme.com in enterprise 'globex'\n"
    )


def test_store_accept_before_any_apply_exits_1_and_creates_no_store(
    spec: Path, store_url: str, db: Path
) -> None:
    result = run("store", "accept", "platform", "alice@acme.com", "--store", store_url)
    assert result.exit_code == 1
    assert result.stderr == "error: the store holds no enterprise yet (run apply first)\n"
    assert not db.exists()


def test_store_accept_with_enterprise_before_any_apply_names_the_missing_store(
    spec: Path, store_url: str, db: Path
) -> None:
    result = run(
        "store", "accept", "platform", "alice@acme.com", "--store", store_url,
        "--enterprise", "acme",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == f"error: {db}: there is no store here yet (run apply first)\n"
    assert not db.exists()


@pytest.mark.parametrize("command", ["plan", "drift"])
@pytest.mark.parametrize(
    "mistake",
    [("--format", "yaml"), ("--okta-outputs", "outputs.json", "--stack", "prod")],
    ids=["bad-choice", "outputs-and-stack"],
)
def test_a_usage_error_of_plan_or_drift_is_not_mistaken_for_changes(
    command: str, mistake: tuple[str, ...], spec: Path, store_url: str, outputs: Path
) -> None:
    result = run(command, spec, "--store", store_url, *mistake)
    assert result.stdout == ""
    assert result.exit_code == 1


def test_a_record_is_made_only_in_a_folder_that_exists(
    spec: Path, outputs: Path, tmp_path: Path
) -> None:
    typo = tmp_path / "nonexistent" / "dir" / "state.db"
    result = run("apply", "--yes", spec, "--store", f"sqlite:///{typo}", "--okta-outputs", outputs)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {typo.parent} does not exist: create it for a new record, or check --store (a "
        "record is made in a folder that exists, or under .insomnia-sso/)\n"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_a_plan_on_a_record_that_holds_nothing_says_so(
    spec: Path, store_url: str, outputs: Path
) -> None:
    fresh = run("plan", spec, "--store", store_url, "--okta-outputs", outputs)
    assert (
        "  ! the record holds nothing for enterprise 'acme' yet: a first run (if it is not, "
        "--store names the wrong record)" in fresh.stdout
    )
    assert (
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0
    )
    again = run("plan", spec, "--store", store_url, "--okta-outputs", outputs)
    assert "the record holds nothing" not in again.stdout
