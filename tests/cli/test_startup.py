"""A command imports what it uses and nothing else: `validate`, run by editors and pre-commit
on every save, answers at the speed of Python's own start-up, and a plan over the record never
loads the HTTP, DNS, SCIM, Pulumi or terminal libraries."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli.base import COMMAND_MODULES, main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "enterprise.yaml"
OUTPUTS = ROOT / "examples" / "okta-outputs.example.json"

NETWORK_AND_TOOLS = {"httpx", "httpcore", "dns", "rich", "pulumi", "pulumi_okta", "scim2_models"}
RECORD = {"sqlalchemy", "alembic", "psycopg"}

RUN_AND_LIST_IMPORTS = """
import json, sys
from reconciler.cli import main
try:
    main(sys.argv[1:], prog_name="insomnia-sso")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


def imported_by(*args: str, cwd: Path) -> set[str]:
    """The top-level packages a fresh interpreter holds after running one command."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_IMPORTS, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_validate_loads_no_network_record_or_tool_library() -> None:
    loaded = imported_by("validate", str(EXAMPLE), cwd=ROOT)
    assert {"reconciler", "pydantic"} <= loaded  # it did run
    assert loaded & (NETWORK_AND_TOOLS | RECORD | {"yaml"}) == set()


def test_a_valid_spec_never_loads_the_parser_that_only_locates_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("kind: Enterprise", "kind: Enterprize"))
    assert "yaml" in imported_by("validate", str(bad), cwd=ROOT)
    assert "yaml" not in imported_by("validate", str(EXAMPLE), cwd=ROOT)


def test_a_plan_over_the_record_loads_the_record_but_no_network_library(tmp_path: Path) -> None:
    record = tmp_path / ".insomnia-sso" / "state.db"
    record.parent.mkdir()
    loaded = imported_by(
        "plan",
        str(EXAMPLE),
        "--store",
        f"sqlite:///{record}",
        "--okta-outputs",
        str(OUTPUTS),
        cwd=ROOT,
    )
    assert "sqlalchemy" in loaded
    assert loaded & NETWORK_AND_TOOLS == set()


def test_a_first_apply_makes_the_record_without_loading_alembic(tmp_path: Path) -> None:
    record = tmp_path / ".insomnia-sso" / "state.db"
    record.parent.mkdir()
    store = ["--store", f"sqlite:///{record}", "--okta-outputs", str(OUTPUTS)]
    loaded = imported_by("apply", str(EXAMPLE), *store, "--yes", cwd=ROOT)
    assert record.is_file()  # it did make the record
    assert "sqlalchemy" in loaded
    assert "alembic" not in loaded  # only an older record, to migrate, loads it


def test_every_command_is_listed_with_the_module_that_defines_it() -> None:
    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"reconciler.cli.{module}")
    assert set(main.commands) == set(COMMAND_MODULES)
    for name, module in COMMAND_MODULES.items():
        command = main.commands[name]
        defined_in = (command.callback.__module__ if command.callback else "") or ""
        if isinstance(command, click.Group):  # a group's callback may be a no-op
            defined_in = next(iter(command.commands.values())).callback.__module__
        assert defined_in == f"reconciler.cli.{module}", name


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_help_of_each_command_answers(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", name, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"Usage: insomnia-sso {name}" in done.stdout
