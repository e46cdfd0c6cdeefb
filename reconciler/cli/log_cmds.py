"""`log`: the journal, who did what, when, with what outcome; read only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from reconciler.cli.base import format_option, main, spec_arguments
from reconciler.cli.reconcile_cmds import one_enterprise, opened, store_option
from reconciler.cli.terminal import echo_lines
from reconciler.render_log import log_json, log_text
from reconciler.stores.base import utcnow

DEFAULT_LIMIT = 50

_DURATION = re.compile(r"(?:(\d+)([wdhms]))+")
_PART = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_since(text: str, now: datetime) -> datetime:
    """A moment from `--since`: a duration back from `now` (`7d`, `12h`, `1d12h`; w d h m s),
    an ISO date (its midnight, UTC) or an ISO datetime (UTC unless it names its offset).
    ValueError naming what is accepted otherwise."""
    value = text.strip()
    if _DURATION.fullmatch(value):
        parts = {_UNITS[unit]: 0 for unit in _UNITS}
        for amount, unit in _PART.findall(value):
            parts[_UNITS[unit]] += int(amount)
        try:
            return now - timedelta(**parts)
        except OverflowError:
            raise ValueError(f"{text!r} reaches back further than dates go") from None
    try:
        moment = datetime.fromisoformat(value)  # a date alone is its midnight
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (7d, 12h, 30m) nor an ISO date or datetime "
            "(2026-11-28, 2026-11-28T09:00:00Z)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_since(value, utcnow())
    except ValueError as err:
        raise click.BadParameter(f"--since {err}") from None


@main.command("log")
@spec_arguments()
@store_option
@click.option(
    "--since",
    metavar="WHEN",
    callback=_since,
    help="Only entries at or after WHEN: a duration back from now (7d, 12h, 30m), an ISO "
    "date (its midnight, UTC) or an ISO datetime (UTC unless it names its offset).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="At most this many entries, the newest.",
)
@format_option("text", "json")
def log_command(
    specs: tuple[str, ...],
    store_url: str,
    since: datetime | None,
    limit: int,
    output_format: str,
) -> None:
    """The journal: who did what, when, with what outcome, newest first. Exit 0.

    Every change apply made or recorded, every confirmation, acceptance and lock taken over,
    for the spec's enterprise. Reads the record only: one at an older schema is refused, and
    none is made where there is none.
    """
    enterprise = one_enterprise(specs)
    with opened(store_url) as store:
        entries = store.journal(enterprise=enterprise.name, limit=limit, since=since)
    if output_format == "json":
        click.echo(log_json(entries))
        return
    echo_lines(log_text(enterprise.name, entries, limit=limit, since=since))
