"""The pre-commit hook a company's repository can use: its entry is this package's own
command, it matches the default spec folder, and it runs as pre-commit runs it (the entry,
then the changed files): 0 for good specs, 1 with the problem's line for a bad one."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "enterprise.yaml"


def hook() -> dict[str, object]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["insomnia-sso-validate"]
    return dict(hooks[0])


def run_as_pre_commit(*files: Path) -> subprocess.CompletedProcess[str]:
    program, *args = shlex.split(str(hook()["entry"]))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert program in scripts  # pre-commit installs the package; this is its console script
    command = [str(Path(sys.executable).with_name(program)), *args, *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)


def test_the_hook_runs_on_the_default_spec_folder_and_passes_file_names() -> None:
    found = hook()
    assert found["language"] == "python"
    assert found["pass_filenames"] is True
    assert re.search(str(found["files"]), "specs/enterprise.yaml")
    assert re.search(str(found["files"]), "specs/teams/platform.yml")
    assert not re.search(str(found["files"]), "infra/Pulumi.yaml")


def test_good_specs_pass_and_a_bad_one_fails_at_its_line(tmp_path: Path) -> None:
    good = run_as_pre_commit(EXAMPLE)
    assert good.returncode == 0, good.stderr
    assert "ok: enterprise 'acme'" in good.stdout

    bad = tmp_path / "enterprise.yaml"
    bad.write_text(EXAMPLE.read_text().replace("role: admin", "role: boss", 1))
    failed = run_as_pre_commit(EXAMPLE, bad)
    assert failed.returncode == 1
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "boss" in text)
    assert f"{bad}:{line}:" in failed.stderr
