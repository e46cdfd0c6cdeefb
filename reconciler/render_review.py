"""A review as a pull-request comment (Markdown) or as JSON.

The comment leads with what a reviewer must not miss (removals, escalations, failed risk
checks), then one summary line per side, then who gains and loses access by organization,
then the full detail collapsed. It stays under GitHub's comment limit by trimming detail,
never the summary. A hidden marker lets a pipeline update one comment in place.
"""

from __future__ import annotations

import json
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
        return _named([f"`{c.email}`: {c.before} → **{c.after}**" for c in changes], "<br>")
    return _named([f"`{c.email}` ({c.after or c.before})" for c in changes], "<br>")


def okta_line(e: EnterpriseReview) -> str:
    """`Okta: 0 to add, 2 to change, 0 to remove (3 assigned, 1 unassigned)`."""
    s = e.okta_summary
    return (
        f"**Okta**: {s['add']} to add, {s['change']} to change, {s['remove']} to remove "
        f"({len(e.logins_added)} assigned, {len(e.logins_removed)} unassigned)"
    )


def insomnia_line(e: EnterpriseReview) -> str:
    """`Insomnia: 3 invited, 1 removed, 1 role changed, …`."""
    roles = e.count(lambda c: not c.granted and not c.removed)
    parts = [
        f"{e.count(lambda c: c.granted)} invited",
        f"{e.count(lambda c: c.removed)} removed (pending invitations revoked; members removed "
        "only with prune on)",
        f"{roles} role(s) changed",
        f"domains +{len(e.domains_added)} −{len(e.domains_removed)}",
        "SSO connection " + (f"changes ({', '.join(e.sso)})" if e.sso else "unchanged"),
    ]
    return "**Insomnia**: " + ", ".join(parts)


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


def review_json(result: Review) -> str:
    """Everything in the review as JSON."""

    def access(c: AccessChange) -> dict[str, Any]:
        return {
            "organization": c.organization,
            "email": c.email,
            "before": c.before,
            "after": c.after,
            "escalation": c.escalation,
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
