"""Pruning through the CLI: people who left the spec are removed, but never many at once.

With `prune.enabled` and `maxFraction: 0.2`, an organization of five members may lose one
per apply; losing two needs `--allow-mass-removal`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import confirm_all, run, tables

FIVE = [f"{name}@acme.com" for name in ("alice", "bob", "carol", "dave", "erin")]


@pytest.fixture
def five_members(
    write_spec: Callable[..., Path], store_url: str, write_outputs: Callable[..., Path]
) -> Path:
    """Five people invited to platform, all accepted; returns the outputs file."""
    spec = write_spec({"platform": FIVE}, prune=True, max_fraction=0.2)
    outputs = write_outputs(assigned_users=FIVE)
    assert (
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0
    )
    for email in FIVE:
        assert run("store", "accept", "platform", email, "--store", store_url).exit_code == 0
    confirm_all(spec, store_url, outputs)
    return outputs


def test_removing_more_than_max_fraction_is_refused_and_changes_nothing(
    five_members: Path, write_spec: Callable[..., Path], store_url: str, db: Path
) -> None:
    spec = write_spec({"platform": FIVE[:3]}, prune=True, max_fraction=0.2)
    before = tables(db)

    refused = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", five_members)

    assert refused.exit_code == 1
    # The plan is shown, with what apply refuses last; then the refusal, and nothing written.
    assert refused.stdout.endswith(
        "Plan: 0 to create, 0 to update, 2 to delete, 0 manual steps, 2 with access the spec "
        "does not give.\n"
        "\n"
        "Apply would refuse this plan, and change nothing:\n"
        "  ✗ remove 2 of 5 member(s) from 'platform': more than prune.maxFraction (20%) of an "
        "organization at once\n"
        "If this is intended, plan and apply with --allow-mass-removal.\n"
    )
    assert refused.stderr == (
        "error: refusing to remove 2 of 5 member(s) from 'platform': more than "
        "prune.maxFraction (20%) of an organization at once; nothing was changed. If this is "
        "intended, apply with --allow-mass-removal\n"
    )
    assert tables(db) == before
    # plan says so too, before anyone applies: the same refusal, exit 1.
    still = run(
        "plan", spec, "--store", store_url, "--okta-outputs", five_members, "--format", "json"
    )
    assert still.exit_code == 1
    planned = json.loads(still.stdout)
    assert [(c["action"], c["key"]) for c in planned["changes"]] == [
        ("delete", "platform/dave@acme.com"),
        ("delete", "platform/erin@acme.com"),
    ]
    assert planned["refusals"] == [
        {
            "reason": "mass_removal",
            "message": "remove 2 of 5 member(s) from 'platform': more than prune.maxFraction "
            "(20%) of an organization at once",
            "organization": "platform",
            "removed": 2,
            "current": 5,
            "max_fraction": 0.2,
        }
    ]
    assert still.stderr.endswith(
        "error: apply would refuse this plan (plan with --allow-mass-removal if it is intended)\n"
    )
    assert tables(db) == before


def test_allow_mass_removal_removes_them(
    five_members: Path, write_spec: Callable[..., Path], store_url: str
) -> None:
    spec = write_spec({"platform": FIVE[:3]}, prune=True, max_fraction=0.2)
    okta = ("--store", store_url, "--okta-outputs", five_members)

    result = run("apply", "--yes", spec, *okta, "--allow-mass-removal")

    assert result.exit_code == 0
    assert "  - member platform/dave@acme.com\n  - member platform/erin@acme.com\n" in (
        result.stdout
    )
    assert "\nApply complete: 2 change(s) recorded in the ledger." in result.stdout
    after = json.loads(run("plan", spec, *okta, "--format", "json").stdout)
    # recorded, not done: removing them in Insomnia's UI is an owner's step
    assert after["changes"] == []
    assert [(s["kind"], s["key"], s["after"]["action"]) for s in after["manual_steps"]] == [
        ("member", "platform/dave@acme.com", "remove"),
        ("member", "platform/erin@acme.com", "remove"),
    ]
    confirmed = run(
        "confirm", "member", "platform/dave@acme.com", "platform/erin@acme.com", spec, *okta
    )
    assert confirmed.stdout.splitlines() == [
        f"Recorded: member platform/{who}@acme.com removed from platform in Insomnia (the record "
        "only; this command changes nothing there)."
        for who in ("dave", "erin")
    ]
    assert run("plan", spec, *okta).exit_code == 0


def test_removing_up_to_max_fraction_needs_no_flag(
    five_members: Path, write_spec: Callable[..., Path], store_url: str
) -> None:
    spec = write_spec({"platform": FIVE[:4]}, prune=True, max_fraction=0.2)
    result = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", five_members)
    assert result.exit_code == 0
    assert "\nApply complete: 1 change(s) recorded in the ledger." in result.stdout


def test_without_prune_leavers_stay_members(
    five_members: Path, write_spec: Callable[..., Path], store_url: str
) -> None:
    spec = write_spec({"platform": FIVE[:3]}, prune=False, max_fraction=0.2)
    result = run(
        "plan", spec, "--store", store_url, "--okta-outputs", five_members, "--format", "json"
    )
    assert result.exit_code == 2  # named until the spec has them or prune removes them
    plan = json.loads(result.stdout)
    assert plan["changes"] == []
    assert [(u["email"], u["outcome"]) for u in plan["unmanaged_access"]] == [
        ("dave@acme.com", "stays: prune is off"),
        ("erin@acme.com", "stays: prune is off"),
    ]
