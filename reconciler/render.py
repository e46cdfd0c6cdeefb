"""Plans, apply's results and onboarding status as text (Terraform-like), JSON (the
contract) and Markdown.

Renderers only read `before`/`after`, which never hold a secret: the client secret is
`(sensitive)` by construction in the planner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.apply import ApplyResult
from reconciler.manual import StepKind
from reconciler.plan import Action, Kind, Plan, PlanChange
from reconciler.refusals import Refusal
from reconciler.saved_plan import plan_document
from reconciler.status import END_USER, OnboardingStatus

SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
COLOR = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}
MARKDOWN_ROWS = 500
"""Changes listed one by one in Markdown; beyond this the table is trimmed, never the summary."""


def summary_line(plan: Plan) -> str:
    """`Plan: 3 to create, 1 to update, 0 to delete, 2 manual steps.`"""
    s = plan.summary()
    steps = "1 manual step" if s["manual"] == 1 else f"{s['manual']} manual steps"
    waiting = f" ({s['waiting']} waiting on a manual step)" if s["waiting"] else ""
    people = ""
    if plan.held_back:
        people += f", {len(plan.held_back)} waiting for Okta"
    if plan.unmanaged:
        people += f", {len(plan.unmanaged)} with access the spec does not give"
    return (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete"
        f"{waiting}, {steps}{people}."
    )


def changes_heading(plan: Plan) -> str:
    """What the changes are: made in Insomnia through SCIM, or only recorded in the ledger."""
    if plan.scim:
        return f"Enterprise {plan.enterprise}: apply will make these changes in Insomnia (SCIM):"
    return (
        f"Enterprise {plan.enterprise}: apply will record these in the ledger; nothing is sent "
        "to Insomnia (send the invitations from Insomnia's web UI):"
    )


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def change_line(change: PlanChange) -> str:
    """One change on one line: symbol, kind, key and what is set or changed, and the manual
    step it waits on."""
    line = _change_line(change)
    if change.waiting_on:
        line += f"  [waits for {change.waiting_on}]"
    return line


def _change_line(change: PlanChange) -> str:
    # Kind is a str enum: formatted as its text, without `.value`'s cost per line.
    head = f"{SYMBOL[change.action]} {change.kind} {change.key}"
    if change.kind is Kind.TEAM and change.action is Action.UPDATE:
        before, after = change.before or {}, change.after or {}
        if before.get("managed") is False:
            return (
                f"{head}  (adopt the team Insomnia has: {after['organization']}, role "
                f"{after['role']})"
            )
        return f"{head}  (rename: {before.get('displayName')} → {after.get('displayName')})"
    if change.action is Action.UPDATE and change.before is not None and change.after:
        diffs = ", ".join(
            f"{k}: {_value(change.before.get(k))} → {_value(v)}"
            for k, v in change.after.items()
            if change.before.get(k) != v
        )
        return f"{head}  ({diffs})"
    if change.action is Action.CREATE and change.kind in (Kind.INVITATION, Kind.MEMBER):
        assert change.after is not None
        return f"{head}  (role {change.after['role']})"
    if change.action is Action.CREATE and change.kind is Kind.TEAM:
        assert change.after is not None
        return f"{head}  ({change.after['organization']}, role {change.after['role']})"
    if change.action is Action.DELETE and change.kind is Kind.USER:
        return f"{head}  (deactivated: active → false)"
    return head


ONE_LINE_STEPS = (StepKind.INVITATION, StepKind.MEMBER)
"""Steps about one person: one line each, as there may be thousands."""


def step_lines(plan: Plan) -> list[str]:
    """The open manual steps, numbered, each with where to click and the values to enter."""
    lines: list[str] = []
    for number, step in enumerate(plan.manual_steps, start=1):
        if step.kind in ONE_LINE_STEPS:
            lines.append(f"  {number}. {step.kind.value} {step.key}: {step.instructions}")
            continue
        lines.append(f"  {number}. {step.kind.value} {step.key}")
        lines.append(f"     {step.instructions}")
        width = max(len(k) for k in step.after)
        lines += [f"       {k.ljust(width)} = {_value(v)}" for k, v in step.after.items()]
    return lines


REFUSED_HEADING = "Apply would refuse this plan, and change nothing:"
ALLOW_HINT = "If this is intended, plan and apply with --allow-mass-removal."


def refusal_lines(refusals: Sequence[Refusal]) -> list[str]:
    """What apply would refuse, one line each, then how to lift it when it can be."""
    lines = [f"  ✗ {refusal.message}" for refusal in refusals]
    if any(refusal.overridable for refusal in refusals):
        lines.append(ALLOW_HINT)
    return lines


def plan_text(plan: Plan, refusals: Sequence[Refusal] = ()) -> list[tuple[str, str | None]]:
    """Lines of the text plan, each with the color it deserves on a terminal; what apply
    would refuse comes last, under its own heading."""
    lines: list[tuple[str, str | None]] = []
    if not plan.changes:
        lines.append((f"No changes. Enterprise {plan.enterprise}'s people match the spec.", None))
    else:
        lines.append((changes_heading(plan), None))
        lines.append(("", None))
        lines += [(f"  {change_line(c)}", COLOR[c.action]) for c in plan.changes]
    if plan.manual_steps:
        lines.append(("", None))
        lines.append(("Manual steps, in Insomnia's web UI (confirm each one when done):", None))
        lines.append(("", None))
        lines += [(line, "cyan") for line in step_lines(plan)]
    lines += [(line, "yellow") for line in people_lines(plan)]
    if plan.warnings:
        lines.append(("", None))
        lines.extend((f"  ! {warning}", "magenta") for warning in plan.warnings)
    lines.append(("", None))
    lines.append((summary_line(plan), None))
    if refusals:
        lines.append(("", None))
        lines.append((REFUSED_HEADING, "red"))
        lines += [(line, "red") for line in refusal_lines(refusals)]
    return lines


def people_lines(plan: Plan) -> list[str]:
    """Who waits for Okta, and who has access the spec does not give them, by name."""
    lines: list[str] = []
    if plan.held_back:
        lines += ["", "Waiting for Okta (not assigned to the app yet: run pulumi up):", ""]
        lines += [
            f"  {p.email} (okta login {p.okta_login}): {', '.join(p.organizations)}"
            for p in plan.held_back
        ]
    if plan.unmanaged:
        lines += ["", "Access the spec does not give:", ""]
        lines += [
            f"  {u.organization}/{u.email}, {u.role}"
            + (f" through team {u.team}" if u.team else "")
            + f": {u.outcome}"
            for u in plan.unmanaged
        ]
    return lines


def plan_json(plan: Plan, refusals: Sequence[Refusal] = ()) -> str:
    """The documented plan JSON, what apply would refuse included."""
    return json.dumps(plan_document(plan, refusals), indent=2)


def plan_markdown(
    plan: Plan, *, title: str = "insomnia-sso plan", refusals: Sequence[Refusal] = ()
) -> str:
    """A plan for a PR comment or an issue: summary first (and what apply would refuse),
    details collapsed and bounded."""
    out = [f"### {title}: `{plan.enterprise}`", "", f"**{summary_line(plan)}**", ""]
    if refusals:
        out.append(f"> [!CAUTION]\n> **{REFUSED_HEADING}**")
        out += [f"> - {refusal.message}" for refusal in refusals]
        if any(refusal.overridable for refusal in refusals):
            out.append(f">\n> {ALLOW_HINT}")
        out.append("")
    for warning in plan.warnings:
        out.append(f"> [!WARNING]\n> {warning}\n")
    people = people_lines(plan)
    if people:
        out += ["```", *people[1:], "```", ""]
    if plan.manual_steps:
        out += ["**Manual steps** (Insomnia's web UI; confirm each one when done):", ""]
        for number, step in enumerate(plan.manual_steps, start=1):
            values = ", ".join(f"{k} `{_value(v)}`" for k, v in step.after.items())
            out.append(f"{number}. `{step.kind.value} {step.key}`: {step.instructions} ({values})")
        out.append("")
    if plan.changes:
        out += [changes_heading(plan), ""]
        out += ["<details><summary>Changes</summary>", ""]
        out += ["| | kind | key | detail |", "|---|---|---|---|"]
        for change in plan.changes[:MARKDOWN_ROWS]:
            detail = change_line(change).partition("  ")[2]
            out.append(
                f"| {SYMBOL[change.action]} | {change.kind.value} | `{change.key}` | {detail} |"
            )
        hidden = len(plan.changes) - MARKDOWN_ROWS
        if hidden > 0:
            out.append(f"| | | … {hidden} more | run `insomnia-sso plan` for all |")
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


def apply_document(result: ApplyResult, *, plan_file: str | None = None) -> dict[str, Any]:
    """apply's result as one JSON document: each change of the plan with its outcome
    (`done`, `failed` with its reason, `waiting` with the step it waits on), the manual
    steps left, and a summary."""

    def ident(change: PlanChange) -> tuple[str, str, str]:
        return (change.action, change.kind, change.key)

    done = {ident(change) for change in result.done}
    failed = {ident(change): reason for change, reason in result.failed}
    # without SCIM, what apply recorded is now an owner's to do: the steps open after it
    steps = result.plan.manual_steps if result.steps_after is None else result.steps_after
    changes = []
    counts = {"done": 0, "failed": 0, "waiting": 0}
    for change in result.plan.changes:
        entry = change.to_json()
        if change.waiting_on is not None:
            entry["outcome"] = "waiting"
        elif ident(change) in done:
            entry["outcome"] = "done"
        else:
            entry["outcome"] = "failed"
            entry["reason"] = failed.get(ident(change), "not carried out (no outcome reported)")
        counts[entry["outcome"]] += 1
        changes.append(entry)
    return {
        "format_version": 1,
        "enterprise": result.plan.enterprise,
        "target": "scim" if result.plan.scim else "ledger",
        "plan_file": plan_file,
        "changes": changes,
        "manual_steps": [step.to_json() for step in steps],
        "summary": {
            **counts,
            "manual": len(steps),
            "requests": result.requests,
        },
    }


def apply_json(result: ApplyResult, *, plan_file: str | None = None) -> str:
    """The documented apply result JSON."""
    return json.dumps(apply_document(result, plan_file=plan_file), indent=2)


STATUS_COLUMNS = ("organization", "email", "role", "okta", "stage", "next")


def _okta(assigned: bool | None) -> str:
    return "?" if assigned is None else ("yes" if assigned else "NO")


def status_rows(status: OnboardingStatus) -> list[tuple[str, ...]]:
    """One row per person, in spec order."""
    return [
        (p.organization, p.email, p.role, _okta(p.assigned_in_okta), p.stage.value, p.next)
        for p in status.people
    ]


def _domains(status: OnboardingStatus) -> str:
    return ", ".join(f"{d} ({'verified' if ok else 'NOT verified'})" for d, ok in status.domains)


def status_text(status: OnboardingStatus) -> str:
    """Domains and the SSO connection, an aligned table of people, then counts."""
    rows = [STATUS_COLUMNS, *status_rows(status)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(STATUS_COLUMNS))]
    lines = [
        f"enterprise {status.enterprise}",
        f"  domains:        {_domains(status)}",
        f"  SSO connection: {status.sso_connection}",
        "",
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    for org, counts in status.counts().items():
        parts = ", ".join(f"{v} {k}" for k, v in counts.items() if k != "people")
        lines.append(f"{org}: {counts['people']} people: {parts}")
    lines += ["", END_USER]
    return "\n".join(line.rstrip() for line in lines)


def status_json(status: OnboardingStatus) -> str:
    """People and per-organization counts as JSON."""
    people = [
        {
            "organization": p.organization,
            "email": p.email,
            "role": p.role,
            "assigned_in_okta": p.assigned_in_okta,
            "stage": p.stage.value,
            "next": p.next,
        }
        for p in status.people
    ]
    return json.dumps(
        {
            "enterprise": status.enterprise,
            "domains": dict(status.domains),
            "sso_connection": status.sso_connection,
            "people": people,
            "organizations": status.counts(),
        },
        indent=2,
    )


def status_markdown(status: OnboardingStatus) -> str:
    """Counts per organization, then everyone in a collapsed table."""
    out = [f"### Onboarding: `{status.enterprise}`", ""]
    out += [f"Domains: {_domains(status)}  ", f"SSO connection: {status.sso_connection}", ""]
    counts = status.counts()
    if counts:
        keys = list(next(iter(counts.values())))
        out += ["| organization | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for org, row in counts.items():
            out.append(f"| {org} | " + " | ".join(str(row[k]) for k in keys) + " |")
    out += ["", "<details><summary>People</summary>", ""]
    out += ["| " + " | ".join(STATUS_COLUMNS) + " |", "|---" * len(STATUS_COLUMNS) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in status_rows(status)[:MARKDOWN_ROWS]]
    out += ["", "</details>", "", END_USER]
    return "\n".join(out) + "\n"
