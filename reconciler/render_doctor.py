"""doctor's report as text (one line per check, the fix below what needs one), JSON and
Markdown (the scheduled workflow's issue body)."""

from __future__ import annotations

import json

from reconciler.doctor.checks import DoctorReport, Status

FORMAT_VERSION = 1
SYMBOLS = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "-"}
COLORS = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.SKIP: None}


def doctor_json(report: DoctorReport) -> str:
    """`{"format_version": 1, "enterprise", "checks": [{id, status, summary, fix}], "summary"}`."""
    return json.dumps(
        {
            "format_version": FORMAT_VERSION,
            "enterprise": report.enterprise,
            "checks": [check.to_json() for check in report.checks],
            "summary": report.counts(),
        },
        indent=2,
        ensure_ascii=False,
    )


def summary_line(report: DoctorReport) -> str:
    """`5 passed, 1 warning, 1 failed, 2 skipped`."""
    counts = report.counts()
    return (
        f"{counts['pass']} passed, {counts['warn']} warning(s), {counts['fail']} failed, "
        f"{counts['skip']} skipped"
    )


def doctor_text(report: DoctorReport) -> list[tuple[str, str | None]]:
    """(line, color) pairs: a line per check, its fix indented below failed and warned ones."""
    width = max((len(check.id) for check in report.checks), default=0)
    lines: list[tuple[str, str | None]] = [(f"insomnia-sso doctor: {report.enterprise}", None)]
    for check in report.checks:
        line = f"{SYMBOLS[check.status]} {check.id.ljust(width)}  {check.summary}"
        lines.append((line, COLORS[check.status]))
        if check.fix and check.status in (Status.FAIL, Status.WARN):
            lines.append((f"    fix: {check.fix}", None))
    lines.append((f"Doctor: {summary_line(report)}.", None))
    return lines


def doctor_markdown(report: DoctorReport) -> str:
    """A heading, the summary and a table of every check with its fix."""
    rows = [
        f"## insomnia-sso doctor: {report.enterprise}",
        "",
        f"**{summary_line(report)}**",
        "",
        "| | check | finding | fix |",
        "|---|---|---|---|",
    ]
    for check in report.checks:
        fix = _cell(check.fix) if check.fix and check.status is not Status.PASS else ""
        rows.append(f"| {SYMBOLS[check.status]} | `{check.id}` | {_cell(check.summary)} | {fix} |")
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
