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
        from reconciler.spec import lines

        raise lines.located(text, name, list(dict.fromkeys(problems))) from None
    problems = cross_check(enterprise)
    if problems:
        from reconciler.spec import lines

        raise lines.located(text, name, problems)
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
        from reconciler.spec import lines  # the slow path, PyYAML's, for wrong specs only

        raise SpecError([lines.syntax_problem(str(err), text, name, MAX_ALIAS_EVENTS)]) from None
    except Exception as err:
        # Anything else the fast parser throws (a `? key` holding a mapping is an unhashable
        # dict key to it) is still a wrong spec: the slow path names the line.
        from reconciler.spec import lines

        raise SpecError([lines.unparsable(err, text, name)]) from None
    if isinstance(data, dict):
        return data
    from reconciler.spec import lines

    raise SpecError([lines.shape_problem(text, name)])


# --- where a problem is ----------------------------------------------------------------------


def _loc(error: ErrorDetails) -> Loc:
    """Where an error is; a key that is not text (`7: seven`) is named as written, not as an
    index."""
    loc = tuple(error["loc"])
    if error["type"] == "invalid_key" and loc:
        return (*loc[:-1], str(loc[-1]))
    return loc
