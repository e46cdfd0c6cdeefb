"""Specs as they stand at a git revision, or in the working tree.

Used by `review`: each side is loaded from text, so a spec that is invalid, absent, or
carries merge-conflict markers at one revision becomes a reported problem, not a crash.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Problem, ReviewError, SpecError
from reconciler.spec import Enterprise, load_text
from reconciler.spec.loader import MAX_SPEC_BYTES, SPEC_SUFFIXES, decode

WORKING_TREE = "working tree"


@dataclass
class SpecsAt:
    """Every enterprise found under the spec paths at one revision, and what was wrong."""

    revision: str
    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(  # noqa: S603  (fixed argv, no shell)
            ["git", *args],  # noqa: S607  (git from PATH, as a user runs it)
            cwd=root,
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ReviewError(f"cannot run git: {err}") from None


def repository_root(start: Path) -> Path:
    """The top of the git work tree holding `start`."""
    done = _git(start, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise ReviewError(f"{start} is not inside a git repository")
    return Path(done.stdout.decode().strip())


def resolve(root: Path, ref: str) -> str:
    """The commit a ref names; a clear error when it names none."""
    done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise ReviewError(
            f"git revision '{ref}' does not exist (fetch it first, e.g. `git fetch origin`, "
            "and check out with full history: fetch-depth 0)"
        )
    return done.stdout.decode().strip()


def _spec_texts_at(root: Path, commit: str, spec_paths: list[str]) -> dict[str, bytes | None]:
    listed = _git(root, "ls-tree", "-r", "-z", "--name-only", commit, "--", *spec_paths)
    if listed.returncode != 0:
        raise ReviewError(f"cannot list specs at {commit[:12]}: {listed.stderr.decode().strip()}")
    names = [n for n in listed.stdout.decode().split("\0") if n.endswith(SPEC_SUFFIXES)]
    texts: dict[str, bytes | None] = {}
    for name in sorted(names):
        size = _git(root, "cat-file", "-s", f"{commit}:{name}")
        if size.returncode == 0 and int(size.stdout) > MAX_SPEC_BYTES:
            texts[name] = None
            continue
        shown = _git(root, "show", f"{commit}:{name}")
        texts[name] = shown.stdout if shown.returncode == 0 else None
    return texts


def _spec_texts_in_tree(root: Path, spec_paths: list[str]) -> dict[str, bytes | None]:
    texts: dict[str, bytes | None] = {}
    for raw in spec_paths:
        path = root / raw
        files = sorted(path.rglob("*")) if path.is_dir() else [path] if path.is_file() else []
        for file in files:
            if file.suffix in SPEC_SUFFIXES and file.is_file():
                name = file.relative_to(root).as_posix()
                big = file.stat().st_size > MAX_SPEC_BYTES
                texts[name] = None if big else file.read_bytes()
    return texts


def specs_at(root: Path, revision: str | None, spec_paths: list[str]) -> SpecsAt:
    """Load every spec under `spec_paths` at `revision` (None: the working tree)."""
    if revision is None:
        label, texts = WORKING_TREE, _spec_texts_in_tree(root, spec_paths)
    else:
        commit = resolve(root, revision)
        label, texts = revision, _spec_texts_at(root, commit, spec_paths)
    found = SpecsAt(label)
    for name, raw in texts.items():
        if raw is None:
            found.problems.append(
                Problem(name, None, f"unreadable or over {MAX_SPEC_BYTES:,} bytes")
            )
            continue
        try:
            enterprise = load_text(decode(raw, name), name)
        except SpecError as err:
            found.problems.extend(err.problems)
            continue
        if enterprise.name in found.enterprises:
            other = found.paths[enterprise.name]
            found.problems.append(
                Problem(name, None, f"enterprise '{enterprise.name}' is also in {other}")
            )
            continue
        found.enterprises[enterprise.name] = enterprise
        found.paths[enterprise.name] = name
    return found
