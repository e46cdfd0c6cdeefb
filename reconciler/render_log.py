"""The journal for people (aligned text, newest first) and for machines (JSON).

One line per row: when, who, what (action, kind, key) and how it went; a failed row says
why on the line below. JSON is a list of objects with the same fields and the row's detail
(the change's before and after, and its error) as the object it was written from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reconciler.stores.base import JournalEntry

Line = tuple[str, str | None]
"""A line and the color it deserves on a terminal (None: plain)."""

COLORS = {"failed": "red", "taken over": "yellow"}


def log_json(entries: Sequence[JournalEntry]) -> str:
    """`[{"at", "actor", "action", "kind", "key", "outcome", "detail"}]`, newest first."""
    return json.dumps(
        [
            {
                "at": entry.at.isoformat(),
                "actor": entry.actor,
                "action": entry.action,
                "kind": entry.kind,
                "key": entry.key,
                "outcome": entry.outcome,
                "detail": _detail(entry.detail),
            }
            for entry in entries
        ],
        indent=2,
        ensure_ascii=False,
    )


def log_text(
    enterprise: str, entries: Sequence[JournalEntry], *, limit: int, since: datetime | None
) -> list[Line]:
    """The journal as aligned lines, newest first, with a closing line saying what was
    shown (and how to see more when the limit cut it)."""
    after = f" since {_moment(since)}" if since is not None else ""
    if not entries:
        return [(f"No journal entries for enterprise '{enterprise}'{after}.", None)]
    rows = [(_moment(e.at), e.actor, e.action, e.kind, e.key, e.outcome) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines: list[Line] = [
        (f"Journal of enterprise '{enterprise}'{after}, newest first:", None),
        ("", None),
    ]
    for entry, row in zip(entries, rows, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(("  " + "  ".join([*cells, row[-1]]), COLORS.get(entry.outcome)))
        error = _detail(entry.detail).get("error") if entry.outcome == "failed" else None
        if error:
            lines.append((f"      {error}", "red"))
    shown = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    more = " (the limit: --limit N or --since WHEN for others)" if len(entries) >= limit else ""
    return [*lines, ("", None), (f"{shown} shown{more}.", None)]


def _moment(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _detail(text: str) -> dict[str, Any]:
    """A row's detail as written (compact JSON); `{"text": …}` should one not parse."""
    try:
        data = json.loads(text)
    except ValueError:
        return {"text": text}
    return data if isinstance(data, dict) else {"value": data}
