"""Loading spec files: a fast path for valid specs, a line-accurate slow path for wrong ones.

Valid specs are parsed by yaml-rs (Rust; alias replay bounded, duplicate keys refused) and
validated by pydantic. Only when something is wrong is the file composed again by PyYAML,
whose nodes carry line marks, to point each problem at `path:line`. PyYAML's composer keeps
aliases as shared nodes, so the slow path cannot be blown up by an alias bomb either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import yaml_rs
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.errors import Problem, SpecError
from reconciler.spec.messages import message
from reconciler.spec.models import Enterprise, Loc
from reconciler.spec.rules import cross_check, cross_check_data

MAX_SPEC_BYTES = 32 * 1024 * 1024
"""A spec of 100,000 people is about 6.5 MB; anything past this is refused unread."""

MAX_ALIAS_EVENTS = 200_000
"""YAML events an alias may replay in one document: generous for real reuse, fatal to bombs."""

SPEC_SUFFIXES = (".yaml", ".yml")

_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)
_YAML_LINE = re.compile(r"at line (\d+), column \d+")


@dataclass(frozen=True)
class LoadedSpec:
    """A validated enterprise and the file it came from."""

    path: str
    enterprise: Enterprise


def spec_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (their *.yaml / *.yml, sorted) into spec files."""
    files: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
            if not found:
                raise SpecError([Problem(str(path), None, "no *.yaml spec files in this folder")])
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise SpecError([Problem(str(path), None, "no such file or folder")])
    # The same file named twice (`plan a.yaml specs/`) is one spec, not a duplicate enterprise.
    unique = []
    for file in files:
        if file.resolve() not in seen:
            seen.add(file.resolve())
            unique.append(file)
    return unique


def load_specs(paths: Sequence[str | Path]) -> list[LoadedSpec]:
    """Load and validate every spec under `paths`; raise one SpecError listing all problems."""
    problems: list[Problem] = []
    loaded: list[LoadedSpec] = []
    for file in spec_files(paths):
        try:
            loaded.append(LoadedSpec(str(file), load_file(file)))
        except SpecError as err:
            problems.extend(err.problems)
    first_file: dict[str, str] = {}
    for spec in loaded:
        other = first_file.setdefault(spec.enterprise.name, spec.path)
        if other != spec.path:
            problems.append(
                Problem(spec.path, None, f"enterprise '{spec.enterprise.name}' is also in {other}")
            )
    if problems:
        raise SpecError(problems)
    return loaded


def load_file(path: str | Path) -> Enterprise:
    """Load one spec file; every problem comes back at once as a SpecError."""
    name = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(
                [
                    Problem(
                        name,
                        None,
                        f"file is {size:,} bytes; specs are limited to {MAX_SPEC_BYTES:,}",
                    )
                ]
            )
        raw = Path(path).read_bytes()
    except OSError as err:
        raise SpecError([Problem(name, None, f"cannot read: {err.strerror}")]) from err
    return load_text(decode(raw, name), name)


def decode(raw: bytes, name: str) -> str:
    """A spec's bytes as text; SpecError naming the line where UTF-8 breaks."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SpecError([Problem(name, line, "not UTF-8 text")]) from err


def load_text(text: str, name: str = "<spec>") -> Enterprise:
    """Parse and validate one spec document held in memory."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError([Problem(name, None, f"document is over {MAX_SPEC_BYTES:,} bytes")])
    # Substring scans first: the line regex alone costs ~45 ms on a 100,000-person spec.
    marked = any(marker in text for marker in ("<<<<<<<", "=======", ">>>>>>>"))
    conflict = _CONFLICT.search(text) if marked else None
    if conflict:
        line = text.count("\n", 0, conflict.start()) + 1
        raise SpecError([Problem(name, line, "merge conflict marker: resolve the conflict first")])
    data = _parse_fast(text, name)
    try:
        enterprise = Enterprise.model_validate(data)
    except ValidationError as err:
        # The fast path ends here: the field problems, and the cross-field rules run on what
        # did parse, so one run names every problem.
        problems = [(_loc(e), message(e)) for e in err.errors()]
        problems += cross_check_data(data)
        raise _located(text, name, list(dict.fromkeys(problems))) from None
    problems = cross_check(enterprise)
    if problems:
        raise _located(text, name, problems)
    return enterprise


def _parse_fast(text: str, name: str) -> dict[str, Any]:
    try:
        data = yaml_rs.loads(
            text,
            parse_datetime=False,
            alias_limits=yaml_rs.AliasLimits(
                max_total_replayed_events=MAX_ALIAS_EVENTS, max_replay_stack_depth=32
            ),
            duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
        )
    except yaml_rs.YAMLDecodeError as err:
        raise SpecError([_syntax_problem(str(err), text, name)]) from None
    except Exception as err:
        # Anything else the fast parser throws (a `? key` holding a mapping is an unhashable
        # dict key to it) is still a wrong spec: the slow path names the line.
        raise SpecError([_unparsable(err, text, name)]) from None
    if isinstance(data, dict):
        return data
    raise SpecError([_shape_problem(text, name)])


def _syntax_problem(message: str, text: str, name: str) -> Problem:
    if "alias replay limit" in message:
        return Problem(
            name,
            None,
            f"YAML aliases expand past {MAX_ALIAS_EVENTS:,} nodes (refusing a possible alias bomb)",
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


def _unparsable(err: Exception, text: str, name: str) -> Problem:
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


def _shape_problem(text: str, name: str) -> Problem:
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


def _located(text: str, name: str, problems: list[tuple[Loc, str]]) -> SpecError:
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


# --- where a problem is ----------------------------------------------------------------------


def _loc(error: ErrorDetails) -> Loc:
    """Where an error is; a key that is not text (`7: seven`) is named as written, not as an
    index."""
    loc = tuple(error["loc"])
    if error["type"] == "invalid_key" and loc:
        return (*loc[:-1], str(loc[-1]))
    return loc


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"
