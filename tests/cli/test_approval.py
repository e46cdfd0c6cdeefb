"""Nothing is changed without `--yes`, a saved plan or a person answering `y`.

A person is simulated with a real pseudo-terminal: the CLI runs as a child process whose
stdin, stdout and stderr are the terminal, and the test types the answer when the question
shows. Pipelines are CliRunner's runs, which have no terminal.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli import apply_cmds
from reconciler.stores import open_store
from reconciler.stores.base import utcnow
from tests.cli.conftest import TEAM, run, tables

QUESTION = "Apply 3 changes to acme? [y/N] "
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""Colors, cursor and line clearing: what a terminal interprets and a reader never sees."""


def at_a_terminal(cwd: Path, args: list[str], answer: str | None) -> tuple[int, str]:
    """Run `insomnia-sso ARGS` on a pseudo-terminal, typing `answer` and Enter when the
    question shows; returns the exit code and everything the terminal showed."""
    primary, secondary = pty.openpty()
    environment = {**os.environ, "INSOMNIA_SSO_ACTOR": "tester@pty-tests"}
    child = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=cwd,
        env=environment,
        close_fds=True,
    )
    os.close(secondary)
    shown, asked = b"", False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed the terminal: it has ended
                break
            if not chunk:
                break
            shown += chunk
            if answer is not None and not asked and b"[y/N] " in shown:
                os.write(primary, answer.encode() + b"\n")
                asked = True
    finally:
        os.close(primary)
    code = child.wait(timeout=30)
    text = ESCAPES.sub("", shown.decode("utf-8", errors="replace"))
    return code, text.replace("\r\n", "\n")


@pytest.fixture
def sides(spec: Path, store_url: str, outputs: Path) -> list[str]:
    return [str(spec), "--store", store_url, "--okta-outputs", str(outputs)]


def test_at_a_terminal_n_changes_nothing_and_y_applies(
    tmp_path: Path, sides: list[str], db: Path
) -> None:
    code, shown = at_a_terminal(tmp_path, ["apply", *sides], "n")
    assert code == 1, shown
    assert "  + invitation platform/alice@acme.com  (role admin)\n" in shown  # shown first
    assert f"Plan: 3 to create, 0 to update, 0 to delete, 5 manual steps.\n{QUESTION}n\n" in shown
    assert shown.endswith("Apply cancelled; nothing was changed.\n")
    assert not db.exists()

    code, shown = at_a_terminal(tmp_path, ["apply", *sides], "y")
    assert code == 0, shown
    assert QUESTION + "y\n" in shown
    assert "Apply complete: 3 change(s) recorded in the ledger." in shown
    assert len(tables(db)["invitations"]) == 3

    # Nothing left to change: nothing to approve, nothing asked.
    code, shown = at_a_terminal(tmp_path, ["apply", *sides], None)
    assert code == 0, shown
    assert "[y/N]" not in shown
    assert "Apply complete: 0 change(s) recorded in the ledger." in shown


def test_at_a_terminal_yes_skips_the_question(tmp_path: Path, sides: list[str], db: Path) -> None:
    code, shown = at_a_terminal(tmp_path, ["apply", *sides, "--yes"], None)
    assert code == 0, shown
    assert "[y/N]" not in shown
    assert len(tables(db)["invitations"]) == 3


def test_without_a_terminal_and_without_yes_nothing_changes(
    sides: list[str], db: Path, write_spec: Callable[..., Path]
) -> None:
    refused = run("apply", *sides)
    assert refused.exit_code == 1
    assert "  + invitation platform/alice@acme.com  (role admin)\n" in refused.stdout
    assert refused.stderr == (
        "error: apply needs approval and there is no terminal to ask in: pass --yes to apply "
        "these 3 changes, or save the plan (`insomnia-sso plan --out FILE`) and apply that "
        "file; nothing was changed\n"
    )
    assert not db.exists()

    assert run("apply", *sides, "--yes").exit_code == 0
    before = tables(db)
    write_spec({**TEAM, "payments": ["carol@acme.com", "dave@acme.com"]})
    again = run("apply", *sides)
    assert again.exit_code == 1
    assert "pass --yes to apply this change, or save the plan" in again.stderr
    assert tables(db) == before


def test_with_nothing_to_change_nothing_needs_approval(sides: list[str]) -> None:
    assert run("apply", *sides, "--yes").exit_code == 0
    quiet = run("apply", *sides)
    assert quiet.exit_code == 0, quiet.output
    assert "Apply complete: 0 change(s) recorded in the ledger." in quiet.stdout


def test_what_changes_while_the_question_is_open_is_refused_as_stale(
    sides: list[str],
    store_url: str,
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run("apply", *sides, "--yes").exit_code == 0
    asked: list[str] = []

    def someone_confirms_then_says_yes(question: str) -> bool:
        asked.append(question)
        store = open_store(store_url, writes=True)
        try:
            store.accept_invitation(
                enterprise="acme",
                organization="platform",
                email="bob@acme.io",
                actor="another@owner",
                now=utcnow(),
            )
        finally:
            store.close()
        return True

    spec = Path(sides[0])
    spec.write_text(spec.read_text().replace("carol@acme.com", "dave@acme.com"), "utf-8")
    monkeypatch.setattr(apply_cmds, "interactive", lambda: True)
    monkeypatch.setattr(apply_cmds, "ask", someone_confirms_then_says_yes)
    before = tables(db)

    stale = run("apply", *sides)

    assert asked == ["Apply 2 changes to acme?"]  # dave invited, carol revoked
    assert stale.exit_code == 1
    assert stale.stderr == (
        "error: the record changed since the plan was shown (another apply, a confirm, or a "
        "change in Insomnia?); nothing was changed: run apply again to see the new plan\n"
    )
    # Only what the other owner did (bob accepted), none of the approved plan (dave).
    after = tables(db)
    assert after != before
    assert not any("dave@acme.com" in repr(row) for rows in after.values() for row in rows)


def test_json_with_yes_prints_only_the_result_on_stdout(sides: list[str]) -> None:
    applied = run("apply", *sides, "--yes", "--format", "json")
    assert applied.exit_code == 0, applied.output
    result = json.loads(applied.stdout)
    assert result["summary"]["done"] == 3
    assert "  + invitation platform/alice@acme.com  (role admin)\n" in applied.stderr
