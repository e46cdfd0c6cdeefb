"""`confirm` knows which steps exist where: team links only for teams the record holds from
SCIM, invitations, members and acceptances only without SCIM. A step from the other mode is
refused in one line, and nothing is recorded."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import run, tables


def test_a_team_link_is_refused_where_people_are_the_ledger(
    spec: Path, store_url: str, outputs: Path, db: Path
) -> None:
    okta = ("--store", store_url, "--okta-outputs", outputs)
    assert run("apply", "--yes", spec, *okta).exit_code == 0
    before = tables(db)
    result = run("confirm", "team_link", "platform-admins", spec, *okta)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: enterprise 'acme' has no team_link steps: the record holds no team made in "
        "Insomnia's SCIM directory (apply --scim makes them); without SCIM, people are "
        "invitations: confirm invitation, member or acceptance\n"
    )
    assert tables(db) == before


def test_ledger_steps_are_refused_with_scim(spec: Path, store_url: str, outputs: Path) -> None:
    scim = ("--scim", "https://scim.invalid/scim/v2")  # refused before anything is reached
    for kind in ("invitation", "member", "acceptance"):
        result = run("confirm", kind, "platform/alice@acme.com", spec, "--store", store_url,
                     "--okta-outputs", outputs, *scim)  # fmt: skip
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {kind} steps exist only without --scim (")
