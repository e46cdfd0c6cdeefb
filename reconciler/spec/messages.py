"""pydantic's errors as the project's own sentences: what is wrong, in the spec's words.

Every error type a spec can raise is translated here (unknown and missing keys, wrong
types, values out of range, strings too short or long, literals, roles, patterns, keys that
are not text); a user never reads pydantic's phrasing. The location is the caller's to add.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import ErrorDetails

from reconciler.spec.models import (
    API_VERSION,
    KIND,
    PATTERN_NAMES,
    PLACEHOLDER,
    Enterprise,
    Loc,
    looks_secret,
)

_WANTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "float_type": "a number",
    "int_type": "a whole number",
    "model_type": "a mapping",
    "dict_type": "a mapping",
    "tuple_type": "a list",
    "list_type": "a list",
}
"""Type errors: what the key takes."""


def message(error: ErrorDetails) -> str:
    """One pydantic error as a plain sentence (without its location)."""
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    field = loc[-1] if loc else ""
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden" and looks_secret(str(field)):
        # No field of the spec looks like a secret, so any such key is an unknown one.
        return secret_message(loc)
    if kind == "extra_forbidden":
        return f"unknown key '{field}'{_did_you_mean(str(field), loc)}"
    if kind == "invalid_key":
        return f"a key must be text, got {shown(value)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        expected = {"apiVersion": f"'{API_VERSION}'", "kind": f"'{KIND}'"}.get(str(field))
        return f"must be {expected or ctx.get('expected')}, got {plain(value)}"
    if kind == "enum" and isinstance(value, str):
        return f"unknown {field} {value!r}; expected {_choices(ctx)}"
    if kind == "enum":
        return f"expected {_choices(ctx)}, got {shown(value)}"
    placeholder = isinstance(value, str) and value.startswith(PLACEHOLDER)
    if kind == "string_pattern_mismatch" and placeholder:  # left by `import` for the owner
        return f"fill in {value.removeprefix(PLACEHOLDER)}"
    if kind == "string_pattern_mismatch":
        expected = PATTERN_NAMES.get(str(ctx.get("pattern")), "the expected format")
        if expected == "an https:// URL" and isinstance(value, str) and "://" in value:
            return f"{value!r} must use https"
        return f"{plain(value)} is not {expected}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters long, got {plain(value)}"
    if kind == "string_too_long":
        length = f"{len(value):,}" if isinstance(value, str) else "more"
        return f"is {length} characters long; at most {ctx.get('max_length')} are allowed"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be an empty list"
    if kind == "too_short":
        least, got = ctx.get("min_length"), ctx.get("actual_length")
        return f"must list at least {least} items, got {got}"
    if kind == "less_than_equal":
        return f"must be at most {plain(ctx.get('le'))}, got {plain(value)}"
    if kind == "greater_than_equal":
        return f"must be at least {plain(ctx.get('ge'))}, got {plain(value)}"
    if kind in _WANTED:
        return f"expected {_WANTED[kind]}, got {shown(value)}"
    # Not reachable from today's models; still the project's words, never pydantic's.
    return f"not a valid value here, got {shown(value)}"


def _choices(ctx: dict[str, Any]) -> str:
    """pydantic's `'owner', 'admin' or 'member'` as `owner, admin or member`."""
    return str(ctx.get("expected", "")).replace("'", "")


def secret_message(loc: Loc) -> str:
    """What a secret-looking key in a spec is told."""
    return (
        f"'{loc[-1]}' looks like a secret; secrets never belong in a spec "
        "(the client secret comes from the Pulumi stack, Okta credentials from its config)"
    )


def plain(value: object) -> str:
    """A value as a YAML reader would write it: `'yes'`, `1.5`, `true`, `nothing`."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str | int):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "a value of another kind"


def shown(value: object) -> str:
    """A value with what kind it is, for type errors: `a string 'yes'`, `a number 5`."""
    if isinstance(value, str):
        return f"a string {value!r}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"a number {plain(value)}"
    return plain(value)


def _did_you_mean(key: str, loc: Loc) -> str:
    import difflib  # only a spec with a wrong key needs it

    known = _known_keys(loc[:-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _known_keys(parent: Loc) -> list[str]:
    """Aliases accepted at `parent`, found by walking the models, for did-you-mean hints."""
    model: Any = Enterprise
    for part in parent:
        if isinstance(part, int):
            continue
        field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return []
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                model = candidate
                break
        else:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]
