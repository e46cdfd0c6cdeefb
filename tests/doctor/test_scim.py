"""The scim check against the Directory interface, with a tiny in-test directory (a double for
the pure check: the SCIM adapter has tests of its own against a real server)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from reconciler.directory.base import Directory, DirectoryProbe, WriteReport
from reconciler.doctor.checks import Status
from reconciler.doctor.scim import REJECTED, check_scim
from reconciler.errors import DirectoryAuthError, DirectoryError
from reconciler.plan import PlanChange
from reconciler.state import DirectoryState

TOKEN = "scim-token-0123456789abcdef"
PROBE = DirectoryProbe(
    bulk=True, bulk_max_operations=1000, patch=True, page_size=100, users=42, managed_teams=3
)


class ProbedDirectory(Directory):
    """Answers `probe` with a fixed probe, or raises the error it was given."""

    def __init__(self, answer: DirectoryProbe | Exception) -> None:
        self.answer = answer
        self.probed: list[str] = []

    def probe(self, *, enterprise: str) -> DirectoryProbe:
        self.probed.append(enterprise)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def read(self, *, enterprise: str) -> DirectoryState:
        raise NotImplementedError

    def write(self, *, enterprise: str, changes: Sequence[PlanChange]) -> WriteReport:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_an_accepted_token_says_what_the_directory_supports_and_holds() -> None:
    directory = ProbedDirectory(PROBE)
    result = check_scim(directory, enterprise="acme")
    assert directory.probed == ["acme"]
    assert (result.status, result.summary, result.fix) == (
        Status.PASS,
        "token accepted; 42 user(s), 3 managed team(s); Bulk (up to 1000 operations), PATCH, "
        "pages of 100",
        None,
    )


def test_a_directory_without_bulk_or_patch_says_so() -> None:
    probe = DirectoryProbe(
        bulk=False, bulk_max_operations=0, patch=False, page_size=50, users=0, managed_teams=0
    )
    assert check_scim(lambda: probe, enterprise="acme").summary == (
        "token accepted; 0 user(s), 0 managed team(s); no Bulk, no PATCH (PUT instead), pages of 50"
    )


def test_a_rejected_token_fails_and_never_shows_the_token() -> None:
    directory = ProbedDirectory(DirectoryAuthError(f"401 for Bearer {TOKEN}"))
    result = check_scim(directory, enterprise="acme", secrets=[TOKEN])
    assert result.status is Status.FAIL
    assert result.summary == (
        "SCIM token rejected (expired or revoked?): refresh it in Insomnia › Enterprise "
        "Controls › SCIM"
    )
    assert result.summary == REJECTED
    assert TOKEN not in f"{result.summary} {result.fix}"


@pytest.mark.parametrize(
    "message", ["cannot reach scim.insomnia.test: connection refused", f"echoing {TOKEN}"]
)
def test_another_directory_error_fails_with_its_message_masked(message: str) -> None:
    result = check_scim(
        ProbedDirectory(DirectoryError(message)), enterprise="acme", secrets=[TOKEN]
    )
    assert result.status is Status.FAIL
    assert result.summary == message.replace(TOKEN, "(sensitive)")


def test_without_a_directory_the_check_is_skipped() -> None:
    result = check_scim(None, enterprise="acme")
    assert (result.status, result.summary) == (
        Status.SKIP,
        "no SCIM directory given (--scim URL or INSOMNIA_SSO_SCIM_URL)",
    )
