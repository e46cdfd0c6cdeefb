"""`apply --format json`: one document on stdout, each change with its outcome (`done`,
`failed` with its reason, `waiting` with the step it waits on), the manual steps left and a
summary; in the ledger, against scim2-server, and through a server that refuses a write."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import TEAM, run
from tests.directory.fault_proxy import Fault, FaultProxy
from tests.scim_peer import TOKEN, Tenant
from tests.strict_scim import TOKEN as STRICT_TOKEN
from tests.strict_scim import StrictScim


def outcomes(document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(action, key, outcome, reason or step waited on) of each change."""
    return [
        (c["action"], c["key"], c["outcome"], c.get("reason", c.get("waiting_on", "")))
        for c in document["changes"]
    ]


def test_the_ledger_result_is_exactly_the_documented_shape(
    write_spec: Callable[..., Path], store_url: str, outputs: Path
) -> None:
    spec = write_spec({"platform": ["alice@acme.com:admin"]}, domains=["acme.com"])
    applied = run(
        "apply", spec, "--store", store_url, "--okta-outputs", outputs, "--yes", "--format", "json"
    )
    assert applied.exit_code == 0, applied.output
    result = json.loads(applied.stdout)
    steps = result.pop("manual_steps")
    # the steps open after apply: sending the invitation it recorded is one
    assert [(s["kind"], s["key"]) for s in steps] == [
        ("domain", "acme.com"),
        ("sso_connection", "acme"),
        ("organization", "platform"),
        ("invitation", "platform/alice@acme.com"),
    ]
    assert result == {
        "format_version": 1,
        "enterprise": "acme",
        "target": "ledger",
        "plan_file": None,
        "changes": [
            {
                "action": "create",
                "kind": "invitation",
                "key": "platform/alice@acme.com",
                "before": None,
                "after": {
                    "organization": "platform",
                    "email": "alice@acme.com",
                    "role": "admin",
                    "status": "pending",
                },
                "outcome": "done",
            }
        ],
        "summary": {"done": 1, "failed": 0, "waiting": 0, "manual": 4, "requests": 0},
    }


def test_scim_changes_are_done_or_wait_for_their_step(
    full_tenant: Tenant,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)
    scim = ("--scim", full_tenant.url, "--store", store_url, "--okta-outputs", outputs)
    first = run("apply", write_spec(), *scim, "--yes", "--format", "json")
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert result["target"] == "scim"
    assert {c["outcome"] for c in result["changes"]} == {"done"}
    assert result["summary"]["done"] == 9
    assert result["summary"]["requests"] > 0

    moved = write_spec({"platform": ["alice@acme.com", "bob@acme.io:admin"], "payments": []})
    second = run("apply", moved, *scim, "--yes", "--format", "json")
    assert second.exit_code == 0, second.output
    result = json.loads(second.stdout)
    assert outcomes(result) == [
        ("create", "platform-admins/bob@acme.io", "done", ""),
        ("create", "platform-members/alice@acme.com", "done", ""),
        ("delete", "platform-admins/alice@acme.com", "waiting", "team_link platform-members"),
        ("delete", "platform-members/bob@acme.io", "waiting", "team_link platform-admins"),
    ]
    assert result["summary"] | {"requests": 0} == {
        "done": 2,
        "failed": 0,
        "waiting": 2,
        "manual": len(result["manual_steps"]),
        "requests": 0,
    }


def test_a_write_the_directory_refuses_is_failed_with_its_reason(
    strict: StrictScim,
    write_spec: Callable[..., Path],
    store_url: str,
    outputs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", STRICT_TOKEN)
    monkeypatch.delenv("INSOMNIA_SSO_SCIM_PROFILE", raising=False)
    okta = ("--store", store_url, "--okta-outputs", outputs, "--yes", "--format", "json")
    assert run("apply", write_spec(TEAM), "--scim", strict.url, *okta).exit_code == 0
    grown = write_spec({**TEAM, "payments": ["carol@acme.com", "bob@acme.io"]})
    with FaultProxy(strict.url) as proxy:
        proxy.add(Fault("PATCH", "/Groups/", "redirect", status=307, times=99))
        result = run("apply", grown, "--scim", proxy.url, *okta)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    [(action, key, outcome, reason)] = outcomes(document)
    assert (action, key, outcome) == ("create", "payments-members/bob@acme.io", "failed")
    assert reason.startswith("PATCH /Groups/")
    assert "redirected (307)" in reason
    assert document["summary"]["failed"] == 1
