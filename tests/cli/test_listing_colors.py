"""Long listings are colored for a terminal, and plain for a pipe or a file: never styled
only to have the styling stripped again, line by line."""

from __future__ import annotations

import click
import pytest

from reconciler.cli.terminal import LINES_PER_WRITE, echo_lines

LINES = [("+ invitation acme/ada@acme.com", "green"), ("", None), ("Plan: 1 to create", None)]


def listed(capsys: pytest.CaptureFixture[str], *, color: bool | None) -> str:
    with click.Context(click.Command("plan"), color=color):
        echo_lines(LINES)
    return capsys.readouterr().out


def test_colors_reach_a_terminal_as_click_would_send_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = listed(capsys, color=True)
    assert click.style("+ invitation acme/ada@acme.com", fg="green") in out
    assert out.endswith("\nPlan: 1 to create\n")


def test_a_pipe_gets_the_same_lines_without_escape_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = listed(capsys, color=None)  # pytest's capture is not a terminal
    assert out == "+ invitation acme/ada@acme.com\n\nPlan: 1 to create\n"
    assert listed(capsys, color=False) == out


def test_a_long_listing_is_written_whole_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    count = LINES_PER_WRITE * 2 + 3
    with click.Context(click.Command("plan"), color=None):
        echo_lines((f"line {n}", "red") for n in range(count))
    assert capsys.readouterr().out.splitlines() == [f"line {n}" for n in range(count)]
