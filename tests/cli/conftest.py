"""Fixtures for driving `insomnia-sso` end to end: a spec on disk, a store URL, Okta outputs.

Every test runs in its own folder (the working directory is `tmp_path`), so a default
`.insomnia-sso/state.db` could never land in the repository, and `specs/` is the test's own.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from tests.conftest import outputs_json as shared_outputs_json
from tests.conftest import spec_yaml

HOLDER = "ci-runner@build-host-7 pid 4242"
"""A lock holder on another host: never taken for a crashed local apply."""


TEAM = {"platform": ["alice@acme.com:admin", "bob@acme.io"], "payments": ["carol@acme.com"]}
"""The story's people: two organizations, three people."""


def outputs_json(secret: str, **overrides: Any) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets` of acme's stack: TEAM assigned, and dave,
    whom several stories add to the spec later."""
    people = ["alice@acme.com", "bob@acme.io", "carol@acme.com", "dave@acme.com"]
    data = shared_outputs_json(secret, people)
    data.update(overrides)  # raw values: a test may put anything here, a wrong type included
    return data


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INSOMNIA_SSO_STORE", raising=False)
    monkeypatch.setenv("INSOMNIA_SSO_ACTOR", "tester@cli-tests")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Where the store file goes: under `.insomnia-sso/`, the one folder a first write makes
    (elsewhere the folder must exist); the tests assert when it must not exist."""
    return tmp_path / "records" / ".insomnia-sso" / "state.db"


@pytest.fixture
def store_url(db: Path) -> str:
    """`sqlite:////abs/path/state.db`: three slashes, then the absolute path."""
    return f"sqlite:///{db}"


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write `specs/enterprise.yaml` (spec_yaml arguments, or the YAML text itself)."""

    def write(organizations: dict[str, Iterable[str]] | str = TEAM, **options: Any) -> Path:
        path = tmp_path / "specs" / "enterprise.yaml"
        path.parent.mkdir(exist_ok=True)
        text = (
            organizations if isinstance(organizations, str) else spec_yaml(organizations, **options)
        )
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def spec(write_spec: Callable[..., Path]) -> Path:
    """The story's spec: platform (alice admin, bob), payments (carol)."""
    return write_spec()


@pytest.fixture
def secret() -> str:
    """A client secret no output could contain by chance."""
    return "s3cr3t-" + uuid.uuid4().hex


@pytest.fixture
def write_outputs(tmp_path: Path, secret: str) -> Callable[..., Path]:
    """Write an outputs file: overrides of outputs_json, or raw `text`."""

    def write(name: str = "outputs.json", *, text: str | None = None, **overrides: Any) -> Path:
        path = tmp_path / name
        if text is None:
            text = json.dumps(outputs_json(secret, **overrides), indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def outputs(write_outputs: Callable[..., Path]) -> Path:
    """acme's stack outputs after `pulumi up`, everyone assigned."""
    return write_outputs()


def run(*args: str | Path, **kwargs: Any) -> Result:
    """`insomnia-sso ARGS…`; a traceback (a bug, not an error message) fails the test."""
    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="insomnia-sso", **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: to show that nothing changed."""
    with closing(sqlite3.connect(db)) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted(conn.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}


def confirm_all(spec: Path, store_url: str, outputs: Path) -> list[str]:
    """An owner does every manual step the plan lists, then confirms each; returns them."""
    okta = ("--store", store_url, "--okta-outputs", outputs)
    planned = run("plan", spec, *okta, "--format", "json")
    steps = [f"{s['kind']} {s['key']}" for s in json.loads(planned.stdout)["manual_steps"]]
    for step in steps:
        kind, key = step.split(" ")
        confirmed = run("confirm", kind, key, spec, *okta)
        assert confirmed.exit_code == 0, confirmed.output
        assert confirmed.stdout.startswith("Recorded: "), confirmed.stdout
    return steps
