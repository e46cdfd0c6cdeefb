"""`store accept` and `store verify-domain` act on the enterprise the store holds.

`specs/` in the current folder may be another checkout's: it only breaks a tie between
enterprises the store holds. Every test runs in its own folder (see conftest).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import TEAM, run, spec_yaml


@pytest.fixture
def applied(tmp_path: Path, store_url: str) -> Callable[[str], None]:
    """Apply a spec of TEAM for enterprise `name` from a folder of its own."""

    def apply(name: str) -> None:
        spec = tmp_path / "checkouts" / name / "enterprise.yaml"
        spec.parent.mkdir(parents=True)
        spec.write_text(spec_yaml(TEAM, name=name))
        assert run("apply", "--yes", spec, "--store", store_url).exit_code == 0

    return apply


def write_specs_folder(tmp_path: Path, name: str) -> None:
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "enterprise.yaml").write_text(spec_yaml(TEAM, name=name))


def test_accept_uses_the_stores_only_enterprise_from_a_folder_without_specs(
    applied: Callable[[str], None], store_url: str
) -> None:
    applied("acme")
    result = run("store", "accept", "platform", "alice@acme.com", "--store", store_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Recorded: platform/alice@acme.com accepted and is a member of platform (in the "
        "record's ledger; nothing was changed in Insomnia).\n"
    )


def test_the_stores_enterprise_wins_over_another_enterprise_in_specs(
    applied: Callable[[str], None], store_url: str, tmp_path: Path
) -> None:
    applied("acme")
    write_specs_folder(tmp_path, "globex")  # another checkout's spec
    accepted = run("store", "accept", "platform", "bob@acme.io", "--store", store_url)
    assert accepted.exit_code == 0, accepted.output
    verified = run("store", "verify-domain", "acme.com", "--store", store_url)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout == (
        "Recorded: domain acme.com verified for enterprise acme (the record only).\n"
    )


def test_a_store_holding_several_falls_back_to_the_only_one_in_specs(
    applied: Callable[[str], None], store_url: str, tmp_path: Path
) -> None:
    applied("acme")
    applied("globex")
    write_specs_folder(tmp_path, "globex")
    result = run("store", "verify-domain", "acme.io", "--store", store_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Recorded: domain acme.io confirmed as done in Insomnia (the record only; this command "
        "changes nothing in Insomnia).\n"
    )


@pytest.mark.parametrize("specs", [None, "initech"], ids=["no-specs", "specs-of-another"])
def test_a_store_holding_several_with_no_tie_breaker_lists_them(
    applied: Callable[[str], None], store_url: str, tmp_path: Path, specs: str | None
) -> None:
    applied("acme")
    applied("globex")
    if specs:
        write_specs_folder(tmp_path, specs)
    for command in (["accept", "platform", "alice@acme.com"], ["verify-domain", "acme.com"]):
        result = run("store", *command, "--store", store_url)
        assert result.exit_code == 1
        assert result.stderr == (
            "error: the store holds 2 enterprises (acme, globex) and specs/enterprise.yaml does "
            "not single one out; choose one with --enterprise NAME\n"
        )
    named = run("store", "accept", "platform", "alice@acme.com", "--store", store_url,
                "--enterprise", "globex")  # fmt: skip
    assert named.exit_code == 0, named.output


def test_an_empty_store_says_to_apply_first_and_stays_uncreated(
    store_url: str, db: Path, tmp_path: Path
) -> None:
    write_specs_folder(tmp_path, "acme")
    result = run("store", "accept", "platform", "alice@acme.com", "--store", store_url)
    assert result.exit_code == 1
    assert result.stderr == "error: the store holds no enterprise yet (run apply first)\n"
    assert not db.exists()
