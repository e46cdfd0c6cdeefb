"""Saved plans: `plan --out FILE` writes one, `apply FILE` carries out exactly that plan, or
refuses it, writing nothing, once anything it was made from has changed.

The ledger's stories run on a SQLite record; the directory's against a fresh scim2-server
tenant on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from reconciler.outputs import fingerprint
from reconciler.saved_plan import public_store_url
from tests.cli.conftest import TEAM, confirm_all, run, tables
from tests.scim_peer import TOKEN, Tenant

STALE = "Make a new plan (`insomnia-sso plan --out FILE`) and apply that\n"


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    return tmp_path / "acme.plan"


def save(plan_file: Path, *args: object) -> Path:
    """`insomnia-sso plan ARGS… --out plan_file`, which must save it (exit 2: changes)."""
    result = run("plan", *args, "--out", plan_file)
    assert result.exit_code == 2, result.output
    assert result.stdout.endswith(
        f"Saved the plan to {plan_file}. To carry out exactly this plan: "
        f"insomnia-sso apply {plan_file}\n"
    )
    return plan_file


def document(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def recorded(spec: Path, store_url: str, outputs: Path) -> Path:
    """A record that exists: the story's people applied once, every step confirmed."""
    applied = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
    assert applied.exit_code == 0, applied.output
    confirm_all(spec, store_url, outputs)
    return spec


def grown(write_spec: Callable[..., Path]) -> Path:
    """The story's spec with dave joining payments."""
    return write_spec({**TEAM, "payments": ["carol@acme.com", "dave@acme.com"]})


# -- the round trip ---------------------------------------------------------------------------


def test_plan_out_then_apply_file_carries_out_exactly_that_plan(
    spec: Path, store_url: str, outputs: Path, plan_file: Path, db: Path
) -> None:
    save(plan_file, spec, "--store", store_url, "--okta-outputs", outputs)
    assert not db.exists()  # planning writes nothing

    saved = document(plan_file)
    assert {k: saved[k] for k in ("format", "format_version", "enterprise", "tool_version")} == {
        "format": "insomnia-sso-plan",
        "format_version": 1,
        "enterprise": "acme",
        "tool_version": metadata.version("insomnia-sso"),
    }
    assert saved["options"] == {
        "store": store_url,
        "scim": None,
        "scim_profile": None,
        "allow_mass_removal": False,
    }
    assert saved["sources"] == {"spec": [str(spec)], "okta_outputs": str(outputs), "stack": None}
    prints = saved["fingerprints"]
    assert set(prints) == {"salt", "spec", "okta_outputs", "record", "directory"}
    assert prints["directory"] is None  # no SCIM: the record's ledger
    assert all(prints[k].startswith("sha256:") for k in ("spec", "okta_outputs", "record"))
    shown = json.loads(
        run(
            "plan", spec, "--store", store_url, "--okta-outputs", outputs, "--format", "json"
        ).stdout
    )
    assert {k: saved["plan"][k] for k in shown} == shown  # the plan as `plan` shows it

    # The file is the approval: no --yes, no terminal. The spec and the outputs are read
    # where the plan read them.
    applied = run("apply", plan_file, "--store", store_url)
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.startswith(
        f"Applying the saved plan {plan_file} (made {saved['created_at']} by "
        f"{saved['created_by']}): nothing it was made from has changed.\n"
    )
    assert "  + invitation platform/alice@acme.com  (role admin)\n" in applied.stdout
    assert "\nApply complete: 3 change(s) recorded in the ledger." in applied.stdout
    again = run("plan", spec, "--store", store_url, "--okta-outputs", outputs, "--format", "json")
    assert json.loads(again.stdout)["changes"] == []

    # Applied once, the plan is stale: the record it was made from has changed.
    twice = run("apply", plan_file, "--store", store_url)
    assert twice.exit_code == 1
    assert twice.stderr == (
        f"error: the saved plan {plan_file} is stale: the record changed since it was made; "
        f"nothing was changed. {STALE}"
    )


def test_apply_file_reports_each_change_in_json(
    spec: Path, store_url: str, outputs: Path, plan_file: Path
) -> None:
    save(plan_file, spec, "--store", store_url, "--okta-outputs", outputs)
    applied = run("apply", plan_file, spec, "--store", store_url, "--format", "json")
    assert applied.exit_code == 0, applied.output
    result = json.loads(applied.stdout)  # one document on stdout; the plan went to stderr
    assert result["plan_file"] == str(plan_file)
    assert [(c["key"], c["outcome"]) for c in result["changes"]] == [
        ("payments/carol@acme.com", "done"),
        ("platform/alice@acme.com", "done"),
        ("platform/bob@acme.io", "done"),
    ]
    assert f"Applying the saved plan {plan_file}" in applied.stderr


def test_a_plan_file_holds_no_secret_and_no_token_and_names_its_enterprise(
    full_tenant: Tenant,
    spec: Path,
    store_url: str,
    outputs: Path,
    secret: str,
    plan_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)
    scim = ("--scim", full_tenant.url, "--store", store_url)
    save(plan_file, spec, *scim, "--okta-outputs", outputs)

    text = plan_file.read_text(encoding="utf-8")
    keyed = fingerprint(secret, "acme")
    for kept_out in (secret, keyed, keyed.partition(":")[2], TOKEN):
        assert kept_out not in text
    saved = document(plan_file)
    assert saved["enterprise"] == "acme"
    assert saved["options"]["scim"] == full_tenant.url
    assert saved["options"]["scim_profile"] == "okta"
    assert saved["fingerprints"]["directory"].startswith("sha256:")

    applied = run("apply", plan_file, *scim, "--format", "json")
    assert applied.exit_code == 0, applied.output
    assert {c["outcome"] for c in json.loads(applied.stdout)["changes"]} == {"done"}
    assert full_tenant.user_names() == {"alice@acme.com": 1, "bob@acme.io": 1, "carol@acme.com": 1}
    for kept_out in (secret, keyed, TOKEN):
        assert kept_out not in applied.output


def test_the_store_url_is_kept_without_its_password() -> None:
    assert (
        public_store_url("postgresql://sso:hunter2@db.internal:5432/sso?sslmode=require")
        == "postgresql://sso@db.internal:5432/sso?sslmode=require"
    )
    assert (
        public_store_url("postgresql://db.internal/sso?password=hunter2&options=-csearch_path%3Dx")
        == "postgresql://db.internal/sso?options=-csearch_path%3Dx"
    )
    assert public_store_url("sqlite:///.insomnia-sso/state.db") == (
        "sqlite:///.insomnia-sso/state.db"
    )


# -- stale plans: refused, nothing written ------------------------------------------------------


def test_a_changed_spec_makes_the_plan_stale(
    recorded: Path,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
    plan_file: Path,
    db: Path,
) -> None:
    save(plan_file, grown(write_spec), "--store", store_url, "--okta-outputs", outputs)
    write_spec({**TEAM, "payments": ["carol@acme.com", "erin@acme.com"]})
    before = tables(db)

    refused = run("apply", plan_file, "--store", store_url)

    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr == (
        f"error: the saved plan {plan_file} is stale: the spec changed since it was made; "
        f"nothing was changed. {STALE}"
    )
    assert tables(db) == before


@pytest.mark.parametrize("change", ["client_id", "assigned_users", "rotated secret"])
def test_changed_okta_outputs_make_the_plan_stale(
    change: str,
    recorded: Path,
    write_spec: Callable[..., Path],
    write_outputs: Callable[..., Path],
    store_url: str,
    outputs: Path,
    plan_file: Path,
    db: Path,
) -> None:
    spec = grown(write_spec)
    save(plan_file, spec, "--store", store_url, "--okta-outputs", outputs)
    people = ["alice@acme.com", "bob@acme.io", "carol@acme.com", "dave@acme.com", "eve@acme.com"]
    overrides: dict[str, Any] = {
        "client_id": {"client_id": "0oaCLIENT0002"},
        "assigned_users": {"assigned_users": people},
        "rotated secret": {"client_secret": "a-rotated-secret-4b1d"},
    }[change]
    write_outputs(**overrides)  # the same file, rewritten by the next `pulumi up`
    before = tables(db)

    refused = run("apply", plan_file, "--store", store_url)

    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: the saved plan {plan_file} is stale: the Okta outputs changed since it was "
        f"made; nothing was changed. {STALE}"
    )
    assert tables(db) == before


def test_a_changed_record_makes_the_plan_stale(
    spec: Path,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
    plan_file: Path,
    db: Path,
) -> None:
    assert (
        run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs).exit_code == 0
    )
    save(plan_file, grown(write_spec), "--store", store_url, "--okta-outputs", outputs)
    # An owner confirms a step meanwhile: the record is no longer what the plan was made from.
    assert run("confirm", "domain", "acme.com", "--store", store_url).exit_code == 0
    before = tables(db)

    refused = run("apply", plan_file, "--store", store_url)

    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: the saved plan {plan_file} is stale: the record changed since it was made; "
        f"nothing was changed. {STALE}"
    )
    assert tables(db) == before


def test_a_changed_directory_makes_the_plan_stale(
    full_tenant: Tenant,
    spec: Path,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
    plan_file: Path,
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)
    scim = ("--scim", full_tenant.url, "--store", store_url, "--okta-outputs", outputs)
    assert run("apply", "--yes", spec, *scim).exit_code == 0
    save(plan_file, grown(write_spec), *scim)
    with full_tenant.raw() as raw:  # someone adds a user in Insomnia meanwhile
        raw.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "zoe@acme.com",
                "active": True,
            },
        ).raise_for_status()
    before = tables(db), full_tenant.user_names(), full_tenant.group_names()

    refused = run("apply", plan_file, *scim)

    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: the saved plan {plan_file} is stale: the SCIM directory changed since it was "
        f"made; nothing was changed. {STALE}"
    )
    assert (tables(db), full_tenant.user_names(), full_tenant.group_names()) == before


def test_every_input_that_changed_is_named(
    recorded: Path,
    write_spec: Callable[..., Path],
    write_outputs: Callable[..., Path],
    store_url: str,
    outputs: Path,
    plan_file: Path,
) -> None:
    save(plan_file, grown(write_spec), "--store", store_url, "--okta-outputs", outputs)
    write_spec(TEAM)
    write_outputs(client_id="0oaCLIENT0002")
    assert run("store", "accept", "platform", "bob@acme.io", "--store", store_url).exit_code == 0

    refused = run("apply", plan_file, "--store", store_url)

    assert refused.exit_code == 1
    assert "is stale: the spec, the Okta outputs and the record changed since it was made" in (
        refused.stderr
    )


def test_the_same_inputs_planning_otherwise_is_stale_too(
    recorded: Path,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
    plan_file: Path,
    db: Path,
) -> None:
    save(plan_file, grown(write_spec), "--store", store_url, "--okta-outputs", outputs)
    saved = document(plan_file)
    saved["plan"]["changes"][0]["after"]["role"] = "admin"  # not what the inputs plan
    plan_file.write_text(json.dumps(saved), encoding="utf-8")
    before = tables(db)

    refused = run("apply", plan_file, "--store", store_url)

    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: the saved plan {plan_file} is stale: made from the same inputs now, the plan "
        f"differs (time passed: an invitation expired?); nothing was changed. {STALE}"
    )
    assert tables(db) == before


def test_another_tool_version_or_other_options_do_not_fit(
    recorded: Path,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
    plan_file: Path,
    tmp_path: Path,
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save(plan_file, grown(write_spec), "--store", store_url, "--okta-outputs", outputs)
    before = tables(db)
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)  # refused before a request is sent
    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"

    moved = run("apply", plan_file, "--store", elsewhere)
    assert moved.exit_code == 1
    assert moved.stderr == (
        f"error: the saved plan {plan_file} does not fit this apply: it was made with --store "
        f"{store_url}, this apply has --store {elsewhere}; nothing was changed. {STALE}"
    )
    scim = run("apply", plan_file, "--store", store_url, "--scim", "http://127.0.0.1:9/scim")
    assert scim.exit_code == 1
    assert "it was made without --scim, this apply has --scim http://127.0.0.1:9/scim" in (
        scim.stderr
    )

    saved = document(plan_file)
    plan_file.write_text(json.dumps({**saved, "enterprise": "globex"}), encoding="utf-8")
    foreign = run("apply", plan_file, "--store", store_url)
    assert foreign.exit_code == 1
    assert "does not fit this apply: it is for enterprise 'globex', the spec is 'acme'" in (
        foreign.stderr
    )
    saved["tool_version"] = "0.0.1"
    plan_file.write_text(json.dumps(saved), encoding="utf-8")
    older = run("apply", plan_file, "--store", store_url)
    assert older.exit_code == 1
    version = metadata.version("insomnia-sso")
    assert older.stderr == (
        f"error: the saved plan {plan_file} does not fit this apply: the tool version changed "
        f"(made by insomnia-sso 0.0.1, this is {version}); nothing was changed. {STALE}"
    )
    assert tables(db) == before
    assert not (tmp_path / "other.db").exists()


# -- what is not a plan, or not one to save -----------------------------------------------------


def test_a_plan_apply_would_refuse_is_not_saved(
    write_spec: Callable[..., Path],
    write_outputs: Callable[..., Path],
    store_url: str,
    plan_file: Path,
) -> None:
    five = [f"{name}@acme.com" for name in ("alice", "bob", "carol", "dave", "erin")]
    spec = write_spec({"platform": five}, prune=True, max_fraction=0.2)
    outputs = write_outputs(assigned_users=five)
    okta = ("--store", store_url, "--okta-outputs", outputs)
    assert run("apply", "--yes", spec, *okta).exit_code == 0
    for email in five:
        assert run("store", "accept", "platform", email, "--store", store_url).exit_code == 0
    spec = write_spec({"platform": five[:3]}, prune=True, max_fraction=0.2)

    refused = run("plan", spec, *okta, "--out", plan_file)
    assert refused.exit_code == 1
    assert "Apply would refuse this plan, and change nothing:\n" in refused.stdout
    assert refused.stderr == (
        "error: apply would refuse this plan (plan with --allow-mass-removal if it is "
        f"intended); no plan saved to {plan_file}\n"
    )
    assert not plan_file.exists()

    # Allowed on purpose: saved, with the choice in it and said in the plan.
    allowed = run("plan", spec, *okta, "--allow-mass-removal", "--out", plan_file)
    assert allowed.exit_code == 2, allowed.output
    assert (
        "  ! allowed by --allow-mass-removal: remove 2 of 5 member(s) from 'platform': more "
        "than prune.maxFraction (20%) of an organization at once\n"
    ) in allowed.stdout
    assert document(plan_file)["options"]["allow_mass_removal"] is True
    mixed = run("apply", plan_file, "--store", store_url, "--allow-mass-removal")
    assert mixed.exit_code == 1
    assert mixed.stderr.endswith(
        "Error: --allow-mass-removal belongs to the saved plan: make it with "
        "`insomnia-sso plan --allow-mass-removal --out FILE`\n"
    )
    applied = run("apply", plan_file, "--store", store_url)
    assert applied.exit_code == 0, applied.output
    assert "\nApply complete: 2 change(s) recorded in the ledger." in applied.stdout


def test_a_file_that_is_no_plan_this_version_reads_is_refused(
    spec: Path, store_url: str, plan_file: Path, db: Path
) -> None:
    plan_file.write_text('{"format": "insomnia-sso-plan", "format_version": 2}', "utf-8")
    newer = run("apply", plan_file, "--store", store_url)
    assert newer.exit_code == 1
    assert newer.stderr == (
        f"error: {plan_file}: plan format_version 2; this insomnia-sso reads 1: make the plan "
        "again with this version\n"
    )
    plan_file.write_text('{"format": "insomnia-sso-plan", "format_', "utf-8")
    cut = run("apply", plan_file, "--store", store_url)
    assert cut.exit_code == 1
    assert cut.stderr == f"error: {plan_file}: not a saved plan (not JSON)\n"
    assert not db.exists()
    unwritable = run("plan", spec, "--store", store_url, "--out", plan_file.parent / "no" / "p")
    assert unwritable.exit_code == 1
    assert unwritable.stderr.startswith(f"error: {plan_file.parent / 'no' / 'p'}: cannot write")
