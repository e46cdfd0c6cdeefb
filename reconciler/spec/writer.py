"""A spec as YAML text, in the project's own style (`specs/enterprise.yaml`).

Block style with two-space indents, one key per line, lists of domains and members one item
per line, a member's keys in the order people read them (email, role, oktaLogin, names),
defaults left out (`role: member`), and scalars plain unless YAML would read them as
something else, then double-quoted. The same inputs give the same bytes.

Values the writer cannot know are written as placeholders (`PLACEHOLDER`): each fails its
field's pattern, so the spec does not validate until the owner fills them in, and the loader
names what to fill in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.spec.models import (
    API_VERSION,
    KIND,
    PLACEHOLDER,
    Member,
    Organization,
    Prune,
    Role,
    Sso,
)

EXAMPLE_SCHEMA = "../schema/insomnia-sso.schema.json"
"""The `$schema` the example spec points editors at (a spec under specs/)."""
SCHEMA_COMMENT = "# yaml-language-server: $schema="

NAME_TO_FILL = (
    PLACEHOLDER + "the enterprise's name, a slug that keys the record, the lock and the stack"
)
DOMAIN_IDENTIFIER_TO_FILL = PLACEHOLDER + "the domain identifier, one of the domains"
SSO_URL_TO_FILL = PLACEHOLDER + "the SSO URL Insomnia shows"
ORG_URL_TO_FILL = PLACEHOLDER + "your Okta org's URL (https://….okta.com)"

# A plain scalar that every YAML reader takes as this very string: a letter first (any
# script's), then words of letters, digits and a few safe marks, `:` only inside a word
# (URLs), never `: ` or ` #`.
_PLAIN = re.compile(r"[^\W\d_][\w.@+/'-]*(?:[ :][\w.@+/'-]+)*")
_RESERVED = frozenset(
    {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "infinity"}
)


def scalar(value: object) -> str:
    """One YAML scalar: plain when every YAML reader takes it as this string, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return quoted(text)


def quoted(text: str) -> str:
    """A double-quoted YAML scalar: printable characters as they are, the rest escaped by
    code point (`\\U` beyond the BMP, which JSON's surrogate pairs would get wrong)."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            point = ord(char)
            out.append(
                f"\\x{point:02x}"
                if point <= 0xFF
                else (f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}")
            )
    out.append('"')
    return "".join(out)


@dataclass(frozen=True)
class SpecDocument:
    """Everything a spec file holds. `name` None and `sso` None are written as placeholders
    (and the SSO block marked for the owner); `header` lines become comments."""

    name: str | None
    domains: Sequence[str]
    organizations: Sequence[Organization]
    sso: Sso | None = None
    prune: Prune = field(default_factory=Prune)
    header: Sequence[str] = ()
    schema: str = EXAMPLE_SCHEMA


def spec_text(doc: SpecDocument) -> str:
    """The whole spec file."""
    lines = [f"{SCHEMA_COMMENT}{doc.schema}"]
    if doc.header:
        lines.append("#")
        lines += [f"# {line}".rstrip() for line in doc.header]
    lines += [
        f"apiVersion: {API_VERSION}",
        f"kind: {KIND}",
        "metadata:",
        f"  name: {scalar(doc.name if doc.name is not None else NAME_TO_FILL)}",
        "spec:",
    ]
    lines += _list_block("domains", doc.domains, 2)
    lines += _sso_block(doc.sso, doc.domains)
    lines += organizations_block(doc.organizations)
    prune = doc.prune.model_dump(by_alias=True)
    lines += ["  prune:", *_mapping(prune, 4)]
    return "\n".join(lines) + "\n"


def organizations_block(organizations: Iterable[Organization]) -> list[str]:
    """`  organizations:` and its items, in the order given."""
    lines = ["  organizations:"]
    empty = True
    for org in organizations:
        empty = False
        lines.append(f"    - name: {scalar(org.name)}")
        teams = org.teams.model_dump(by_alias=True, exclude_none=True)
        if teams:
            lines += ["      teams:", *_mapping(teams, 8)]
        if not org.members:
            lines.append("      members: []")
            continue
        lines.append("      members:")
        for member in org.members:
            lines += _member(member)
    if empty:
        lines[-1] += " []"
    return lines


def _member(member: Member) -> list[str]:
    lines = [f"        - email: {scalar(member.email)}"]
    if member.role is not Role.MEMBER:
        lines.append(f"          role: {member.role.value}")
    for key, value in (
        ("oktaLogin", member.okta_login),
        ("givenName", member.given_name),
        ("familyName", member.family_name),
    ):
        if value is not None:
            lines.append(f"          {key}: {scalar(value)}")
    return lines


def _sso_block(sso: Sso | None, domains: Sequence[str]) -> list[str]:
    if sso is not None:
        return ["  sso:", *_mapping(sso.model_dump(by_alias=True, exclude_unset=True), 4)]
    identifier = domains[0] if len(domains) == 1 else DOMAIN_IDENTIFIER_TO_FILL
    return [
        "  # FILL IN the SSO block: Insomnia shows it only in its web UI, so import cannot read",
        "  # it. `insomnia-sso validate` names what is still to fill in.",
        "  sso:",
        "    type: oidc",
        f"    domainIdentifier: {scalar(identifier)}",
        "    # Shown by Insomnia (Enterprise Controls › SSO); becomes the Okta redirect URI.",
        f"    ssoUrl: {scalar(SSO_URL_TO_FILL)}",
        "    okta:",
        f"      orgUrl: {scalar(ORG_URL_TO_FILL)}",
        "      appLabel: Insomnia",
        "      # The issuer the Okta program declares; adopting one made by hand? Its values.",
        "      authorizationServer:",
        "        name: insomnia",
        "        audience: api://insomnia",
    ]


def _list_block(key: str, items: Sequence[str], indent: int) -> list[str]:
    pad = " " * indent
    if not items:
        return [f"{pad}{key}: []"]
    return [f"{pad}{key}:", *(f"{pad}  - {scalar(item)}" for item in items)]


def _mapping(data: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += [f"{pad}{key}:", *_mapping(value, indent + 2)]
        elif isinstance(value, list | tuple):
            lines += _list_block(key, [str(v) for v in value], indent)
        else:
            lines.append(f"{pad}{key}: {scalar(value)}")
    return lines
