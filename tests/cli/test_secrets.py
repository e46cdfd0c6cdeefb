"""The Okta client secret never leaves the outputs file: not in any output, error or format,
not in the store file or its -wal/-shm, not in the journal.

Its keyed fingerprint (how a rotated secret is noticed) is held in exactly one place, the
SSO connection row, and shown nowhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import Result

from reconciler.outputs import fingerprint
from reconciler.stores.base import utcnow
from reconciler.stores.record import SqlStore
from tests.cli.conftest import HOLDER, confirm_all, run

FORMATS = ["text", "json", "markdown"]


@pytest.fixture
def rotated(write_outputs: Callable[..., Path], secret: str) -> tuple[Path, str]:
    """Outputs after the secret was rotated in Okta."""
    new_secret = secret + "-rotated"
    return write_outputs("rotated.json", client_secret=new_secret), new_secret


def test_the_secret_and_its_fingerprint_appear_in_no_output_and_no_journal(
    spec: Path,
    store_url: str,
    db: Path,
    secret: str,
    outputs: Path,
    rotated: tuple[Path, str],
    write_outputs: Callable[..., Path],
) -> None:
    rotated_outputs, rotated_secret = rotated
    secrets = [secret, rotated_secret]
    fingerprints = [fingerprint(s, "acme") for s in secrets]
    results: list[Result] = []

    def cli(*args: str | Path) -> Result:
        result = run(*args)
        results.append(result)
        return result

    okta = ("--store", store_url, "--okta-outputs", outputs)
    for fmt in FORMATS:
        assert cli("plan", spec, *okta, "--format", fmt).exit_code == 2
        assert cli("drift", spec, *okta, "--format", fmt).exit_code == 2
    assert cli("apply", "--yes", spec, *okta, "--format", "json").exit_code == 0
    assert cli("store", "accept", "platform", "alice@acme.com", "--store", store_url).exit_code == 0
    for step in confirm_all(spec, store_url, outputs):
        assert cli("confirm", *step.split(" "), spec, *okta).exit_code == 0  # again: no-op
    for fmt in FORMATS:
        assert cli("plan", spec, *okta, "--format", fmt).exit_code == 0
        assert cli("status", spec, *okta, "--format", fmt).exit_code == 0

    rotation = ("--store", store_url, "--okta-outputs", rotated_outputs)
    for fmt in FORMATS:
        plan = cli("plan", spec, *rotation, "--format", fmt)
        assert plan.exit_code == 2  # the SSO connection step is open again
        assert f"copy client_secret from {rotated_outputs} and paste it" in plan.stdout
        if fmt == "text":  # the step says what changed since it was confirmed
            assert "Open again: client secret changed since tester@cli-tests" in plan.stdout
        assert cli("drift", spec, *rotation, "--format", fmt).exit_code == 2
    assert cli("apply", "--yes", spec, *rotation).exit_code == 0
    assert cli("confirm", "sso_connection", "acme", spec, *rotation).exit_code == 0

    # Error paths, each with the secret in hand.
    with closing(SqlStore.sqlite(db)) as other:
        assert other.try_lock(enterprise="acme", holder=HOLDER, now=utcnow()) is None
    assert cli("apply", "--yes", spec, *rotation).exit_code == 3
    foreign = write_outputs(
        "foreign.json", client_secret=secret, issuer="https://globex.okta.com/oauth2/aus9"
    )
    assert cli("plan", spec, "--store", store_url, "--okta-outputs", foreign).exit_code == 1
    broken = write_outputs("broken.json", text=f'{{"client_secret": "{secret}",}}')
    assert (
        cli("apply", "--yes", spec, "--store", store_url, "--okta-outputs", broken).exit_code == 1
    )
    empty_id = write_outputs("empty-id.json", client_id="")
    assert (
        cli("apply", "--yes", spec, "--store", store_url, "--okta-outputs", empty_id).exit_code == 1
    )
    unassigned = write_outputs("unassigned.json", assigned_users=secret)
    assert cli("status", spec, "--store", store_url, "--okta-outputs", unassigned).exit_code == 1

    printed = "".join(r.stdout + r.stderr for r in results)
    assert "client_secret" in printed  # the renderers ran, and showed where to get it
    for needle in (*secrets, *fingerprints, fingerprints[0].partition(":")[2]):
        assert needle not in printed

    files = {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}
    for needle in secrets:
        assert not [name for name, data in files.items() if needle.encode() in data]

    with closing(sqlite3.connect(db)) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = {n: repr(conn.execute(f"SELECT * FROM {n}").fetchall()) for n in names}
        held = conn.execute(
            "SELECT digest FROM confirmations WHERE kind = 'sso_connection'"
        ).fetchall()
        journal = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    assert journal >= 5
    for needle in secrets:
        assert not [table for table, text in rows.items() if needle in text]
    assert len(held) == 1  # a digest of the values and the fingerprint, not the fingerprint
    for needle in (*fingerprints, *(f.partition(":")[2] for f in fingerprints)):
        assert not [table for table, text in rows.items() if needle in text]
