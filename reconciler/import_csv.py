"""People from a CSV an owner copies out of Insomnia's member lists, for `import` without SCIM.

    organization,email,role
    platform,alice@acme.com,admin
    payments,carol@acme.com,member

One header row names the columns, in any order and any case; `givenName` and `familyName`
may be added (a person named on one line is so named in each organization). A role left
empty is `member`, as in the spec. A file that is wrong anywhere
stops at its first problem, in one line naming the file, the line and the column, and
nothing is imported: half a member list would invite the other half again.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.errors import ImportInputError
from reconciler.spec.models import EMAIL_PATTERN, SLUG_PATTERN, Role

MAX_CSV_BYTES = 32 * 1024 * 1024
"""Like specs: a member list of 100,000 people is about 4 MB."""

REQUIRED = ("organization", "email", "role")
OPTIONAL = ("givenName", "familyName")
MAX_NAME = 200

_EMAIL = re.compile(EMAIL_PATTERN)
_SLUG = re.compile(SLUG_PATTERN)
_COLUMNS = {name.casefold(): name for name in (*REQUIRED, *OPTIONAL)}


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One person in one organization, as one line of the CSV says (email lower-cased)."""

    line: int
    organization: str
    email: str
    role: Role
    given_name: str | None = None
    family_name: str | None = None


def read_members_csv(path: str | Path) -> list[MemberRow]:
    """Every row of the CSV at `path`; ImportInputError (one line) at its first problem."""
    name = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_CSV_BYTES:
            raise ImportInputError(
                f"{name}: file is {size:,} bytes; member lists are limited to {MAX_CSV_BYTES:,}"
            )
        raw = Path(path).read_bytes()
    except OSError as err:
        raise ImportInputError(f"{name}: cannot read: {err.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's byte-order mark is no column name
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ImportInputError(f"{name}:{line}: not UTF-8 text") from None
    return parse_members_csv(text, name)


def parse_members_csv(text: str, name: str = "<csv>") -> list[MemberRow]:
    """Rows of a member list held in memory; ImportInputError at its first problem."""
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    rows: list[MemberRow] = []
    seen: dict[tuple[str, str], int] = {}
    names: dict[str, tuple[tuple[str | None, str | None], int]] = {}
    try:
        header = _header(next(_nonblank(reader), None), name)
        for fields in _nonblank(reader):
            row = _row(fields, header, name, reader.line_num)
            first = seen.setdefault((row.organization, row.email), row.line)
            if first != row.line:
                raise ImportInputError(
                    f"{name}:{row.line}: column email: {row.organization}/{row.email} is "
                    f"also on line {first}"
                )
            rows.append(row)
            _one_name(row, names, name)
    except csv.Error as err:
        raise ImportInputError(f"{name}:{reader.line_num}: not CSV: {err}") from None
    if not rows:
        raise ImportInputError(f"{name}: no members after the header")
    # A person named on one line is named so in every organization (one person, one name).
    return [
        replace(row, given_name=names[row.email][0][0], family_name=names[row.email][0][1])
        if row.email in names
        else row
        for row in rows
    ]


def _one_name(
    row: MemberRow, names: dict[str, tuple[tuple[str | None, str | None], int]], name: str
) -> None:
    """Remember the person's name; ImportInputError when another line names them otherwise."""
    given = (row.given_name, row.family_name)
    if given == (None, None):
        return
    first, line = names.setdefault(row.email, (given, row.line))
    if first != given:
        column = "givenName" if first[0] != given[0] else "familyName"
        shown = " ".join(part for part in first if part)
        raise ImportInputError(
            f"{name}:{row.line}: column {column}: {row.email} is named {shown!r} on line {line}"
        )


def _nonblank(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """Rows that hold anything: blank lines (a trailing one, say) are no member."""
    for fields in reader:
        if any(field.strip() for field in fields):
            yield fields


def _header(fields: Sequence[str] | None, name: str) -> list[str]:
    expected = f"expected {', '.join(REQUIRED)}; {' and '.join(OPTIONAL)} optional"
    if fields is None:
        raise ImportInputError(f"{name}:1: no header row ({expected})")
    columns: list[str] = []
    for position, field in enumerate(fields, start=1):
        column = _COLUMNS.get(field.strip().casefold())
        if column is None:
            raise ImportInputError(
                f"{name}:1: column {position}: unknown column {field.strip()!r} ({expected})"
            )
        if column in columns:
            raise ImportInputError(f"{name}:1: column {position}: {column} named twice")
        columns.append(column)
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise ImportInputError(
            f"{name}:1: no column {missing[0]} (the header names {', '.join(columns)}; {expected})"
        )
    return columns


def _row(fields: Sequence[str], header: Sequence[str], name: str, line: int) -> MemberRow:
    if len(fields) != len(header):
        column = header[len(fields)] if len(fields) < len(header) else f"{len(header) + 1}"
        raise ImportInputError(
            f"{name}:{line}: column {column}: {len(fields)} field(s), the header names "
            f"{len(header)}"
        )
    values = {column: field.strip() for column, field in zip(header, fields, strict=True)}

    def wrong(column: str, why: str) -> ImportInputError:
        return ImportInputError(f"{name}:{line}: column {column}: {values[column]!r} {why}")

    organization = values["organization"]
    if not _SLUG.fullmatch(organization):
        raise wrong("organization", "is not an organization name (lower-case letters, digits, -)")
    email = values["email"].lower()
    if not _EMAIL.fullmatch(email):
        raise wrong("email", "is not a valid email address")
    role_text = values["role"].lower() or Role.MEMBER.value
    if role_text not in {role.value for role in Role}:
        raise wrong("role", "is not owner, admin or member")
    names: list[str | None] = []
    for column in OPTIONAL:
        value = values.get(column, "")
        if len(value) > MAX_NAME or not value.isprintable():
            raise wrong(column, f"is not a name (printable, at most {MAX_NAME} characters)")
        names.append(value or None)
    return MemberRow(line, organization, email, Role(role_text), *names)
