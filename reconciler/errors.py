"""One exception root for everything a user can get wrong or the world can break.

    InsomniaSsoError                 exit 1 unless said otherwise
    ├── SpecError                    a spec file is invalid (one or more `path:line: message`)
    ├── OutputsError                 a Pulumi stack outputs file is missing, malformed or foreign
    ├── StoreError                   the store cannot be opened, read or written
    │   └── LockHeldError            another apply holds the enterprise lock (exit 3)
    ├── DirectoryError               the SCIM directory cannot be read or written
    │   └── DirectoryAuthError       the SCIM token was rejected (401/403): stop at once
    ├── PlanRefusedError             apply refuses a plan (mass removal, partial read)
    ├── PlanFileError                a saved plan file cannot be read, or is not one
    ├── StalePlanError               what a plan was made from changed before it was applied
    ├── ApprovalError                apply was not approved (no --yes, no terminal, or `n`)
    ├── ReviewError                  a pull-request review cannot be rendered
    └── ImportInputError             `import` cannot use what it was given (a CSV, a --team)

The CLI turns each into a one-line (or one-line-per-problem) message and an exit code; a
traceback is reserved for bugs.
"""

from __future__ import annotations

from dataclasses import dataclass


class InsomniaSsoError(Exception):
    """Base of every error meant for the user rather than for a bug report."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one spec file, located by line where the file allows."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class SpecError(InsomniaSsoError):
    """A spec is invalid; carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line or 0))
        super().__init__("\n".join(str(p) for p in self.problems))


class OutputsError(InsomniaSsoError):
    """The Pulumi stack outputs given to the reconciler cannot be used."""


class StoreError(InsomniaSsoError):
    """The Insomnia-side store cannot be opened, read or written."""


class LockHeldError(StoreError):
    """Another process holds the per-enterprise write lock."""

    exit_code = 3


class DirectoryError(InsomniaSsoError):
    """The SCIM directory cannot be reached, read or written. Never holds the token."""


class DirectoryAuthError(DirectoryError):
    """The SCIM token was rejected (401/403): nothing more is sent in this run."""


class PlanRefusedError(InsomniaSsoError):
    """Apply refuses to carry out a plan that would lose people by accident."""


class PlanFileError(InsomniaSsoError):
    """A saved plan (`plan --out FILE`) cannot be read, or is not one this version reads."""


class StalePlanError(InsomniaSsoError):
    """The spec, Okta outputs, record or directory a plan was made from (or shown with)
    changed before it was applied: nothing is written, a new plan is needed."""


class ApprovalError(InsomniaSsoError):
    """Apply was not approved: no `--yes` where nothing can be asked, or a person said no."""


class ReviewError(InsomniaSsoError):
    """A pull-request review cannot be produced (bad ref, unreadable revision)."""


class ImportInputError(InsomniaSsoError):
    """What `import` was given cannot be turned into a spec (a CSV line, a --team mapping,
    a partial read of the directory): one line naming where, and nothing is written."""
