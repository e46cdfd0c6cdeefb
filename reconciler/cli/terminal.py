"""What only a person at a terminal gets: progress of long reads and writes on stderr, and
the question apply asks before it changes anything. Pipelines (no terminal) get neither."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click

READ_LABELS = {"Users": "users", "Groups": "teams"}


def interactive() -> bool:
    """True when a person can see a question and answer it: stdin and stderr (where the
    question goes) are a terminal."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _watched() -> bool:
    return sys.stderr.isatty()


class StatusLine:
    """One line on stderr, rewritten in place, that a later message replaces cleanly."""

    def __init__(self) -> None:
        self.shown = False

    def show(self, text: str) -> None:
        """Replace the line with `text` (terminals only)."""
        if not _watched():
            return
        click.echo(f"\r\x1b[2K{text}", nl=False, err=True)
        self.shown = True

    def clear(self) -> None:
        """Remove the line, so that what comes next starts at the margin."""
        if self.shown:
            click.echo("\r\x1b[2K", nl=False, err=True)
            self.shown = False


STATUS = StatusLine()


def say(line: str) -> None:
    """A line on stderr that does not collide with the status line (retry waits, notes)."""
    STATUS.clear()
    click.echo(line, err=True)


LINES_PER_WRITE = 4096


def echo_lines(lines: Iterable[tuple[str, str | None]], *, err: bool = False) -> None:
    """Lines, each with the color it deserves, written a few thousand at a time: a plan of
    100,000 steps is some thirty writes (and terminal checks), not 100,000. Colors reach a
    terminal only; click takes them out of anything else, as it does line by line."""
    colored = _colored(err)
    batch: list[str] = []
    for line, color in lines:
        batch.append(click.style(line, fg=color) if colored and color and line else line)
        if len(batch) == LINES_PER_WRITE:
            click.echo("\n".join(batch), err=err)
            batch.clear()
    if batch:
        click.echo("\n".join(batch), err=err)


def _colored(err: bool) -> bool:
    """Whether colors would reach the stream: `--color`/`--no-color` where a command has
    them (click's context), else whether it is a terminal. Lines for a pipe or a file are
    then never styled, rather than styled and stripped again."""
    context = click.get_current_context(silent=True)
    if context is not None and context.color is not None:
        return context.color
    stream = sys.stderr if err else sys.stdout
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def read_progress() -> Callable[[str, int, int], None] | None:
    """A directory listing's progress for a person watching, or None in pipelines."""
    if not _watched():
        return None

    def update(path: str, listed: int, total: int) -> None:
        what = READ_LABELS.get(path, path)
        count = f"{listed:,} of {max(total, listed):,} {what}"
        STATUS.show(f"Reading Insomnia's SCIM directory: {count}")

    return update


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Say what is being read while it is, and how long it took once it took a while."""
    started = time.monotonic()
    STATUS.show(f"Reading {what}…")
    try:
        yield
    finally:
        STATUS.clear()
        seconds = time.monotonic() - started
        if _watched() and seconds >= 2:
            click.echo(f"Read {what} in {seconds:.1f} s.", err=True)


@contextmanager
def write_progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar of apply's writes on a terminal, nothing in pipelines."""
    if not _watched():
        yield None
        return
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Applying", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def ask(question: str) -> bool:
    """Ask on stderr, read one line of stdin: True only for y or yes (end of input: no)."""
    STATUS.clear()
    click.echo(f"{question} [y/N] ", nl=False, err=True)
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        click.echo(err=True)
    return answer.strip().lower() in ("y", "yes")
