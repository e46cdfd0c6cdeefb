"""The console script ends its process as soon as the answer is out (`cli/process.py`):
whatever it wrote arrives whole, its exit code is the command's, and what a library
registered to run at exit still runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli.process import exit_code

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "enterprise.yaml"
OUTPUTS = ROOT / "examples" / "okta-outputs.example.json"


def insomnia_sso(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The CLI as a process, through the console script's own entry point."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_a_plan_piped_to_a_file_arrives_whole_with_exit_2(tmp_path: Path) -> None:
    record = f"sqlite:///{tmp_path / 'state.db'}"
    done = insomnia_sso("plan", str(EXAMPLE), "--store", record, "--okta-outputs", str(OUTPUTS))
    assert done.returncode == 2, done.stderr  # changes to make
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Enterprise acme:")
    summary = [line for line in lines if line.startswith("Plan: ")]
    assert len(summary) == 1
    assert "to create" in summary[0]
    listed = [line for line in lines if line.lstrip().startswith("+ invitation ")]
    assert len(listed) == int(summary[0].split()[1])  # every change line was flushed


def test_a_spec_error_exits_1_with_its_message_on_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("kind: Enterprise", "kind: Enterprize"))
    done = insomnia_sso("validate", str(bad))
    assert done.returncode == 1
    assert "nothing was written" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_valid_spec_exits_0() -> None:
    done = insomnia_sso("validate", str(EXAMPLE))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip()


def test_exit_functions_a_library_registered_still_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
        "sys.argv = ['insomnia-sso', 'validate', sys.argv[1]]\n"
        "from reconciler.cli.process import run\n"
        "run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "yes"


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), (3, 3)])
def test_an_exit_code_is_the_command_s(code: int | None, status: int) -> None:
    assert exit_code(code) == status


def test_an_exit_message_is_printed_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code("stopped: the record is locked") == 1
    assert capsys.readouterr().err == "stopped: the record is locked\n"
