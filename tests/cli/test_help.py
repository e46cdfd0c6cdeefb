"""`--help` is true to the contract: every command's usage line says what the README's
command table says, and the table lists every command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from reconciler.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def table() -> dict[str, str]:
    """The README's command table: command name → its arguments as written there."""
    rows = {}
    for line in README.read_text().splitlines():
        found = re.match(r"^\| `([a-z-]+(?: [a-z][a-z-]*)?)((?: [^`]*)?)` \|", line)
        if found is None:
            continue
        name, args = found.group(1), found.group(2)
        if name.split()[0] in main.list_commands(click.Context(main)):
            rows[name] = args.strip()
    return rows


def command(name: str) -> tuple[click.Command, click.Context]:
    ctx = click.Context(main, info_name="insomnia-sso")
    found: click.Command = main
    for part in name.split():
        assert isinstance(found, click.Group)
        sub = found.get_command(ctx, part)
        assert sub is not None, name
        ctx = click.Context(sub, info_name=part, parent=ctx)
        found = sub
    return found, ctx


def arguments(name: str) -> str:
    """The usage line's arguments, as --help prints them (options left out)."""
    found, ctx = command(name)
    pieces = [p for p in found.collect_usage_pieces(ctx) if p != "[OPTIONS]"]
    return " ".join(pieces)


def as_readme_writes(args: str) -> str:
    """The README's arguments without its options (`--base REF`), and … as click's ..."""
    args = re.sub(r"--[a-z-]+ [A-Z]+ ?", "", args).strip()
    return args.replace("…", "...")


def test_the_table_lists_every_command() -> None:
    names = {name.split()[0] for name in table()}
    assert names == set(main.list_commands(click.Context(main)))


@pytest.mark.parametrize(("name", "args"), sorted(table().items()))
def test_each_usage_line_says_what_the_readme_says(name: str, args: str) -> None:
    shown = arguments(name)
    if isinstance(command(name)[0], click.Group):
        shown = ""  # the table lists a group's subcommands, each on its own row
    assert shown == as_readme_writes(args)


def test_a_command_on_one_enterprise_takes_one_spec() -> None:
    for name in ("plan", "drift", "status", "log", "doctor", "okta-preview"):
        assert arguments(name) == "[SPEC]", name
    assert arguments("apply") == "[PLANFILE] [SPEC]"
    assert arguments("confirm") == "KIND KEY... [SPEC]"
