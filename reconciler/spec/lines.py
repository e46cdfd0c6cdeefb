"""Where a problem in a spec is: the slow path, taken only when a spec is wrong.

PyYAML composes the document again into nodes that carry line marks, to point each problem
at `path:line`; its composer keeps aliases as shared nodes, so this cannot be blown up by an
alias bomb either. A valid spec never imports this module (nor PyYAML): `validate`, run on
every save, starts without it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from reconciler.errors import Problem, SpecError
from reconciler.spec.models import Loc

_YAML_LINE = re.compile(r"at line (\d+), column \d+")


def syntax_problem(message: str, text: str, name: str, alias_limit: int) -> Problem:
    """A problem yaml-rs found, at its line (PyYAML's, where it names one)."""
    if "alias replay limit" in message:
        return Problem(
            name,
            None,
            f"YAML aliases expand past {alias_limit:,} nodes (refusing a possible alias bomb)",
        )
    if message.startswith("duplicate mapping key"):
        key = message.partition(": ")[2]
        return Problem(name, _duplicate_key_line(text), f"duplicate key {key}")
    located = _slow_syntax_problem(text, name)
    if located is not None:
        return located
    found = _YAML_LINE.search(message)
    lines = message.strip().splitlines()
    reason = lines[-1].strip() if lines else "cannot parse the document"
    return Problem(name, int(found.group(1)) if found else None, f"YAML syntax error: {reason}")


def unparsable(err: Exception, text: str, name: str) -> Problem:
    """The fast parser failed without a YAML error: the slow path's line, or one clean line."""
    located = _slow_syntax_problem(text, name)
    if located is not None:
        return located
    return Problem(name, None, f"cannot parse this YAML ({type(err).__name__})")


def _slow_syntax_problem(text: str, name: str) -> Problem | None:
    """What PyYAML's composer finds wrong, at its line; None when it composes cleanly."""
    try:
        docs = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        # PyYAML names the construct that was left open and where it started.
        if err.problem_mark is not None and err.problem:
            context = ""
            start = err.context_mark
            if err.context and start is not None and start.line != err.problem_mark.line:
                context = f" ({err.context} that starts at line {start.line + 1})"
            problem = " ".join(err.problem.split())
            return Problem(
                name, err.problem_mark.line + 1, f"YAML syntax error: {problem}{context}"
            )
        return None
    except (yaml.YAMLError, RecursionError):
        return None
    for doc in docs:
        key = _complex_key(doc)
        if key is not None:
            return _complex_key_problem(key, name)
    return None


def _complex_key_problem(key: yaml.Node, name: str) -> Problem:
    kind = "mapping" if isinstance(key, yaml.MappingNode) else "list"
    return Problem(
        name,
        _line(key),
        f"YAML syntax error: a key must be a plain value, not a {kind} (a stray '?' before it?)",
    )


def _complex_key(root: yaml.Node | None) -> yaml.Node | None:
    """The earliest mapping key that is itself a mapping or a list (YAML's `? key`), if any."""
    found: list[yaml.Node] = []
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    found.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return min(found, key=_line, default=None)


def shape_problem(text: str, name: str) -> Problem:
    """Say why a document that parsed is not one mapping: empty, several, or not a mapping."""
    try:
        docs = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError:
        docs = []
    if not docs or docs[0] is None:
        return Problem(name, None, "empty document; expected an Enterprise spec")
    if len(docs) > 1:
        return Problem(
            name, _line(docs[1]), f"one Enterprise spec per file; found {len(docs)} documents"
        )
    kind = type(docs[0]).__name__.removesuffix("Node").lower()
    return Problem(name, _line(docs[0]), f"expected a mapping at the top level, got a {kind}")


# --- the slow path: locating problems by line -------------------------------------------------

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def located(text: str, name: str, problems: list[tuple[Loc, str]]) -> SpecError:
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        root = None
    key = _complex_key(root)
    if key is not None:  # the fast parser made it a tuple; the cause, not its consequences
        return SpecError([_complex_key_problem(key, name)])
    return SpecError(
        [Problem(name, _line_of(root, loc), f"{_dotted(loc)}: {msg}") for loc, msg in problems]
    )


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """Line of the deepest node along `loc`: the key itself for keys, else the value."""
    node = root
    if node is None:
        return None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            key_node, node = match
            if not isinstance(node, yaml.MappingNode | yaml.SequenceNode) or part == loc[-1]:
                return _line(key_node)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
    return _line(node)


def _duplicate_key_line(text: str) -> int | None:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[Any] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value in keys:
                    return _line(key)
                if isinstance(key, yaml.ScalarNode):
                    keys.add(key.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"
