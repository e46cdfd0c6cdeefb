"""The no-admin risk check compares base with head: only losing the last admin fails.

An organization that had no admin at base, or is new, is shown as a warning: failing on it
would fail every change to a spec that (legitimately) has such an organization.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import spec_yaml
from tests.review.test_review import git, run_review

PLATFORM = [
    "ann@acme.com:admin",
    "ben@acme.com",
    "cat@acme.com",
    "dan@acme.com",
    "eve@acme.com",
]
RESEARCH = ["rita@acme.com", "sam@acme.io"]


def globex(organizations: dict[str, list[str]]) -> str:
    return spec_yaml(organizations, name="globex", max_fraction=0.25)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose base commit holds globex: research has two people, no admin."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "globex.yaml").write_text(
        globex({"platform": PLATFORM, "research": RESEARCH})
    )
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(repo: Path, organizations: dict[str, list[str]]) -> None:
    (repo / "specs" / "globex.yaml").write_text(globex(organizations))


def test_a_harmless_change_to_an_organization_that_never_had_an_admin_passes(
    repo: Path,
) -> None:
    joiners = ["tom@acme.com", "uma@acme.com", "vic@acme.io"]
    # One person becomes admin in platform and one member (eve) leaves it.
    platform = [PLATFORM[0], "ben@acme.com:admin", *PLATFORM[2:-1]]
    write(repo, {"platform": platform, "research": RESEARCH + joiners})
    result = run_review()
    assert result.exit_code == 0, result.output
    assert "Risk checks failed" not in result.output
    assert "> **Worth a look** (these do not fail the review):" in result.output
    assert "> - globex: organization research has no admin (it had none before either)" in (
        result.output
    )
    assert "✅ no risks" in result.output


def test_taking_the_last_admin_away_still_fails_and_names_the_organization(repo: Path) -> None:
    write(repo, {"platform": ["ann@acme.com", *PLATFORM[1:]], "research": RESEARCH})
    result = run_review()
    assert result.exit_code == 1
    assert "> - globex: organization platform is left with no admin" in result.output
    assert result.output.count("is left with no admin") == 1


def test_a_new_organization_without_an_admin_is_a_warning(repo: Path) -> None:
    write(
        repo,
        {"platform": PLATFORM, "research": RESEARCH, "labs": ["lea@acme.com", "lou@acme.io"]},
    )
    result = run_review("--format", "json")
    assert result.exit_code == 0, result.output
    review = json.loads(result.output)
    assert review["risks"] == []
    assert review["warnings"] == ["globex: new organization labs has no admin"]
    assert review["enterprises"][0]["warnings"] == ["new organization labs has no admin"]


def test_an_organization_untouched_by_the_change_is_not_mentioned(repo: Path) -> None:
    write(repo, {"platform": [*PLATFORM, "fay@acme.com"], "research": RESEARCH})
    result = run_review()
    assert result.exit_code == 0, result.output
    assert "Worth a look" not in result.output


def test_a_new_enterprise_with_an_adminless_organization_warns_instead_of_failing(
    repo: Path,
) -> None:
    (repo / "specs" / "initech.yaml").write_text(
        spec_yaml({"ops": ["olly@acme.com", "pam@acme.io"]}, name="initech")
    )
    result = run_review()
    assert result.exit_code == 0, result.output
    assert "> - initech: new organization ops has no admin" in result.output


def test_an_admin_who_becomes_owner_is_an_escalation(repo: Path) -> None:
    write(repo, {"platform": ["ann@acme.com:owner", *PLATFORM[1:]], "research": RESEARCH})
    result = run_review()
    assert result.exit_code == 0, result.output
    assert "> **Escalation** (1): `ann@acme.com` becomes **owner** in globex/platform" in (
        result.output
    )
    assert "`access-granted`" in result.output


def test_an_owner_who_becomes_admin_is_not_an_escalation(repo: Path) -> None:
    write(repo, {"platform": [*PLATFORM, "olly@acme.com:owner"], "research": RESEARCH})
    git(repo, "commit", "-qam", "olly is owner")
    write(repo, {"platform": [*PLATFORM, "olly@acme.com:admin"], "research": RESEARCH})
    result = run_review("--format", "json")  # main now holds olly as owner
    assert result.exit_code == 0, result.output
    [change] = json.loads(result.output)["enterprises"][0]["insomnia"]["access"]
    assert (change["before"], change["after"], change["escalation"]) == ("owner", "admin", False)
