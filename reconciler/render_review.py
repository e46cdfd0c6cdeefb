"""A review as a pull-request comment (Markdown), as plain text for a terminal, or as JSON.

The comment leads with what a reviewer must not miss (removals, escalations, failed risk
checks), then one summary line per side, then who gains and loses access by organization,
then the full detail collapsed. It stays under GitHub's comment limit by trimming detail,
never the summary. A hidden marker lets a pipeline update one comment in place. The text
form says the same in the same order, aligned, without Markdown. In every form a demotion
(a role moving down) is marked apart from an escalation, which alone is loud.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.review import AccessChange, EnterpriseReview, Review

MARKER = "<!-- insomnia-sso-review -->"
COMMENT_LIMIT = 65_536
"""GitHub refuses issue and PR comments longer than this many characters."""
_ROOM = 2_000
"""Kept free below the limit for the trimming note and the closing lines."""


NAMES_SHOWN = 25
"""People named in one callout or table cell; the rest are counted."""


def _named(names: list[str], sep: str) -> str:
    more = len(names) - NAMES_SHOWN
    return sep.join(names[:NAMES_SHOWN]) + (f"{sep}… and {more} more" if more > 0 else "")


def _people(changes: list[AccessChange], *, role: bool = False) -> str:
    if not changes:
        return "–"
    if role:
        return _named([f"`{c.email}`: {_role_change(c, bold=True)}" for c in changes], "<br>")
    return _named([f"`{c.email}` ({c.after or c.before})" for c in changes], "<br>")


def _role_change(c: AccessChange, *, bold: bool) -> str:
    """`member → **admin**` for an escalation (bold in Markdown), `admin → member
    (demotion)` for a role moving down: never dressed as an escalation."""
    if c.demotion:
        return f"{c.before} → {c.after} (demotion)"
    if bold:
        return f"{c.before} → **{c.after}**"
    return f"{c.before} → {c.after}" + (" (escalation)" if c.escalation else "")


def removal_note(e: EnterpriseReview) -> str:
    """What removing someone from this spec does, as its prune setting says."""
    if e.prune:
        return (
            "pending invitations revoked; prune is on: members removed, at most "
            f"{e.max_fraction:.0%} of an organization at once"
        )
    return "pending invitations revoked; prune is off: members stay"


def okta_summary(e: EnterpriseReview) -> str:
    """`0 to add, 2 to change, 0 to remove (3 assigned, 1 unassigned)`."""
    s = e.okta_summary
    return (
        f"{s['add']} to add, {s['change']} to change, {s['remove']} to remove "
        f"({len(e.logins_added)} assigned, {len(e.logins_removed)} unassigned)"
    )


def insomnia_summary(e: EnterpriseReview) -> str:
    """`3 invited, 1 removed (…as prune says), 1 role(s) changed, …`."""
    roles = e.count(lambda c: not c.granted and not c.removed)
    parts = [
        f"{e.count(lambda c: c.granted)} invited",
        f"{e.count(lambda c: c.removed)} removed ({removal_note(e)})",
        f"{roles} role(s) changed",
        f"domains +{len(e.domains_added)} −{len(e.domains_removed)}",
        "SSO connection " + (f"changes ({', '.join(e.sso)})" if e.sso else "unchanged"),
    ]
    return ", ".join(parts)


def okta_line(e: EnterpriseReview) -> str:
    """`**Okta**: 0 to add, 2 to change, 0 to remove (3 assigned, 1 unassigned)`."""
    return f"**Okta**: {okta_summary(e)}"


def insomnia_line(e: EnterpriseReview) -> str:
    """`**Insomnia**: 3 invited, 1 removed, 1 role changed, …`."""
    return f"**Insomnia**: {insomnia_summary(e)}"


def _callouts(result: Review) -> list[str]:
    out = []
    removed = [
        f"`{c.email}` from {e.name}/{c.organization}"
        for e in result.enterprises
        for c in e.access
        if c.removed
    ]
    escalated = [
        f"`{c.email}` becomes **{c.after}** in {e.name}/{c.organization}"
        for e in result.enterprises
        for c in e.access
        if c.escalation
    ]
    if result.head_problems:
        out += ["> [!CAUTION]", "> **The spec is invalid at head**; nothing can be applied:", ">"]
        out += ["> ```", *[f"> {p}" for p in result.head_problems], "> ```", ""]
    if result.base_problems:
        out += [
            "> [!NOTE]",
            f"> The spec was invalid at `{result.base}`; compared against what loaded:",
        ]
        out += ["> ```", *[f"> {p}" for p in result.base_problems], "> ```", ""]
    if result.risks:
        out += ["> [!CAUTION]", "> **Risk checks failed**, this review fails:"]
        out += [f"> - {risk}" for risk in result.risks] + [""]
    if result.warnings:
        out += ["> [!NOTE]", "> **Worth a look** (these do not fail the review):"]
        out += [f"> - {warning}" for warning in result.warnings] + [""]
    if removed:
        out += ["> [!WARNING]", f"> **Access removed** ({len(removed)}): " + _named(removed, ", ")]
        out += [""]
    if escalated:
        out += ["> [!WARNING]", f"> **Escalation** ({len(escalated)}): " + _named(escalated, ", ")]
        out += [""]
    return out


def _access_table(e: EnterpriseReview) -> list[str]:
    if not e.access:
        return []
    out = [f"**{e.name}: access by organization**", ""]
    out += ["| organization | gains access | loses access | role changes |", "|---|---|---|---|"]
    for org in dict.fromkeys(c.organization for c in e.access):
        rows = [c for c in e.access if c.organization == org]
        out.append(
            f"| {org} | {_people([c for c in rows if c.granted])} "
            f"| {_people([c for c in rows if c.removed])} "
            f"| {_people([c for c in rows if not c.granted and not c.removed], role=True)} |"
        )
    return [*out, ""]


def _details(e: EnterpriseReview) -> list[list[str]]:
    """Detail blocks, each a list of lines that may be dropped whole when space runs out."""
    blocks = []
    if e.okta:
        rows = [
            f"| {c.action} | `{c.type}` | `{c.name}` | {', '.join(c.properties) or '–'} |"
            for c in e.okta
        ]
        blocks.append(
            [
                f"<details><summary>{e.name}: Okta resources ({len(e.okta)})</summary>",
                "",
                "| action | type | name | properties changed |",
                "|---|---|---|---|",
                *rows,
                "",
                "</details>",
            ]
        )
    if e.sso:
        rows = [f"| `{k}` | {_setting(a)} | {_setting(b)} |" for k, (a, b) in e.sso.items()]
        blocks.append(
            [
                f"<details><summary>{e.name}: SSO settings ({len(e.sso)})</summary>",
                "",
                "| setting | before | after |",
                "|---|---|---|",
                *rows,
                "",
                "</details>",
            ]
        )
    if e.logins_added or e.logins_removed:
        lines = [f"+ {login}" for login in e.logins_added]
        lines += [f"- {login}" for login in e.logins_removed]
        blocks.append(
            [
                f"<details><summary>{e.name}: Okta app assignments "
                f"(+{len(e.logins_added)} −{len(e.logins_removed)})</summary>",
                "",
                "```diff",
                *lines,
                "```",
                "",
                "</details>",
            ]
        )
    return blocks


def _setting(value: Any) -> str:
    """A setting's value in the SSO table; a key absent from the spec (None) is a dash."""
    return "–" if value is None else f"`{value}`"


def review_markdown(result: Review, *, limit: int = COMMENT_LIMIT) -> str:
    """The PR comment, never longer than `limit` characters."""
    head = [MARKER, f"## insomnia-sso review: `{result.base}` → `{result.head}`", ""]
    head += _callouts(result)
    labels = " ".join(f"`{label}`" for label in result.labels)
    head += [f"Suggested labels: {labels}", ""]
    for e in result.enterprises:
        title = f"### `{e.name}`" + ("" if e.status == "changed" else f" ({e.status})")
        head += [title, "", okta_line(e) + "  ", insomnia_line(e), ""]
    if not result.enterprises and not result.head_problems:
        head += ["No spec changes.", ""]
    text = "\n".join(head)
    # Access tables first: when space runs out, raw detail goes before who-gains-what.
    blocks = [_access_table(e) for e in result.enterprises if e.access]
    blocks += [block for e in result.enterprises for block in _details(e)]
    dropped = 0
    for block in blocks:
        piece = "\n".join(block)
        if len(text) + len(piece) + _ROOM > limit:
            dropped += 1
            continue
        text += "\n" + piece + "\n"
    if dropped:
        text += f"\n_{dropped} detail section(s) trimmed to fit the comment; run "
        text += "`insomnia-sso review --format json` for everything._\n"
    verdict = "❌ review failed (risk checks or invalid spec)" if result.failed else "✅ no risks"
    return text + f"\n{verdict}\n"


Line = tuple[str, str | None]
"""A line of the text review and the color it deserves on a terminal (None: plain)."""


def review_text(result: Review) -> list[Line]:
    """The review for a terminal: the PR comment's content and order, as aligned plain text
    (no Markdown, nothing collapsed or trimmed)."""
    lines: list[Line] = [(f"insomnia-sso review: {result.base} → {result.head}", None)]
    lines += _text_callouts(result)
    labels = ", ".join(label.value for label in result.labels)
    lines += [("", None), (f"Suggested labels: {labels}", None)]
    for e in result.enterprises:
        title = e.name + ("" if e.status == "changed" else f" ({e.status})")
        lines += [("", None), (title, None)]
        lines += [(f"  Okta      {okta_summary(e)}", None)]
        lines += [(f"  Insomnia  {insomnia_summary(e)}", None)]
        lines += _text_access(e) + _text_details(e)
    if not result.enterprises and not result.head_problems:
        lines += [("", None), ("No spec changes.", None)]
    verdict = "✗ review failed (risk checks or invalid spec)" if result.failed else "✓ no risks"
    return [*lines, ("", None), (verdict, "red" if result.failed else "green")]


def _text_callouts(result: Review) -> list[Line]:
    """What a reviewer must not miss, in the comment's order: problems and checks in full,
    then who loses access and who gains admin or owner (the first NAMES_SHOWN of each). A
    demotion is no callout: it shows, marked, among the role changes."""
    lines: list[Line] = []
    for heading, color, items in (
        (
            "The spec is invalid at head; nothing can be applied:",
            "red",
            [str(p) for p in result.head_problems],
        ),
        (
            f"The spec was invalid at {result.base}; compared against what loaded:",
            "yellow",
            [str(p) for p in result.base_problems],
        ),
        ("Risk checks failed, this review fails:", "red", result.risks),
        ("Worth a look (these do not fail the review):", "yellow", result.warnings),
    ):
        if items:
            lines += [("", None), (heading, color), *((f"  - {item}", color) for item in items)]
    access = [(e, c) for e in result.enterprises for c in e.access]
    for title, color, people in (
        (
            "Access removed",
            "red",
            [f"{c.email} from {e.name}/{c.organization}" for e, c in access if c.removed],
        ),
        (
            "Escalation",
            "yellow",
            [
                f"{c.email} becomes {c.after} in {e.name}/{c.organization}"
                for e, c in access
                if c.escalation
            ],
        ),
    ):
        if not people:
            continue
        lines += [("", None), (f"{title} ({len(people)}):", color)]
        lines += [(f"  - {person}", color) for person in people[:NAMES_SHOWN]]
        if len(people) > NAMES_SHOWN:
            more = len(people) - NAMES_SHOWN
            lines.append((f"  … and {more} more (below, by organization)", color))
    return lines


def _text_access(e: EnterpriseReview) -> list[Line]:
    if not e.access:
        return []
    lines: list[Line] = [("", None), ("  Access by organization:", None)]
    for org in dict.fromkeys(c.organization for c in e.access):
        lines.append((f"    {org}", None))
        for c in (c for c in e.access if c.organization == org):
            if c.granted:
                lines.append((f"      + {c.email} ({c.after})", "green"))
            elif c.removed:
                lines.append((f"      - {c.email} ({c.before})", "red"))
            else:
                color = "yellow" if c.escalation else "cyan" if c.demotion else None
                lines.append((f"      ~ {c.email}: {_role_change(c, bold=False)}", color))
    return lines


def _text_details(e: EnterpriseReview) -> list[Line]:
    lines: list[Line] = []
    if e.okta:
        lines += [("", None), (f"  Okta resources ({len(e.okta)}):", None)]
        resources = [(c.action, c.type, c.name, ", ".join(c.properties)) for c in e.okta]
        lines += [(f"    {row}", None) for row in _aligned(resources)]
    if e.sso:
        lines += [("", None), (f"  SSO settings ({len(e.sso)}):", None)]
        settings = [(k, f"{_plain(a)} → {_plain(b)}") for k, (a, b) in e.sso.items()]
        lines += [(f"    {row}", None) for row in _aligned(settings)]
    if e.logins_added or e.logins_removed:
        heading = f"  Okta app assignments (+{len(e.logins_added)} −{len(e.logins_removed)}):"
        lines += [("", None), (heading, None)]
        lines += [(f"    + {login}", "green") for login in e.logins_added]
        lines += [(f"    - {login}", "red") for login in e.logins_removed]
    return lines


def _plain(value: Any) -> str:
    return "–" if value is None else str(value)


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines whose columns line up (the last column unpadded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    ]


def review_json(result: Review) -> str:
    """Everything in the review as JSON."""

    def access(c: AccessChange) -> dict[str, Any]:
        return {
            "organization": c.organization,
            "email": c.email,
            "before": c.before,
            "after": c.after,
            "escalation": c.escalation,
            "demotion": c.demotion,
        }

    return json.dumps(
        {
            "format_version": 1,
            "base": result.base,
            "head": result.head,
            "failed": result.failed,
            "labels": [label.value for label in result.labels],
            "risks": result.risks,
            "warnings": result.warnings,
            "head_problems": [str(p) for p in result.head_problems],
            "base_problems": [str(p) for p in result.base_problems],
            "enterprises": [
                {
                    "name": e.name,
                    "status": e.status,
                    "okta": {
                        "summary": e.okta_summary,
                        "changes": [
                            {
                                "action": c.action,
                                "type": c.type,
                                "name": c.name,
                                "properties": list(c.properties),
                            }
                            for c in e.okta
                        ],
                        "assigned": list(e.logins_added),
                        "unassigned": list(e.logins_removed),
                    },
                    "insomnia": {
                        "access": [access(c) for c in e.access],
                        "domains_added": list(e.domains_added),
                        "domains_removed": list(e.domains_removed),
                        "sso": {k: {"before": a, "after": b} for k, (a, b) in e.sso.items()},
                    },
                    "risks": list(e.risks),
                    "warnings": list(e.warnings),
                }
                for e in result.enterprises
            ],
        },
        indent=2,
    )
