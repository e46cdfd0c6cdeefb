"""The Okta client secret never reaches the store: not the database, not its WAL, not the journal.

The confirmed SSO connection keeps only a digest of its values and of the secret's keyed
fingerprint, to notice a rotated secret; neither the secret nor the fingerprint is stored.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.apply import apply
from reconciler.confirm import confirm_step
from reconciler.plan import plan
from reconciler.spec import load_text
from reconciler.stores.base import utcnow
from reconciler.stores.record import SqlStore
from tests.conftest import okta_outputs, spec_yaml

SPEC = spec_yaml({"platform": ["alice@acme.com"]}, domains=["acme.com"])

FIRST_SECRET = "Recognisable-Client-Secret-0xC0FFEE-first"
ROTATED_SECRET = "Recognisable-Client-Secret-0xC0FFEE-rotated"


def store_files(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}


def test_the_client_secret_is_nowhere_in_the_store(tmp_path: Path) -> None:
    enterprise = load_text(SPEC)
    db = tmp_path / "state.db"
    store = SqlStore.sqlite(db)
    seen: dict[str, bytes] = {}
    fingerprints = []
    for secret in (FIRST_SECRET, ROTATED_SECRET):
        okta = okta_outputs(enterprise, secret)
        fingerprints.append(okta.secret_fingerprint)
        planned = plan(enterprise, okta, store.read(enterprise="acme", now=utcnow()))
        assert secret not in json.dumps(planned.to_json())
        apply(enterprise, okta, store, actor="ci")
        step = confirm_step(
            store, enterprise, okta, "sso_connection", "acme", actor="owner", now=utcnow()
        )
        assert step.startswith("Recorded: sso_connection acme confirmed")
        seen.update(store_files(db))  # while open: the WAL and its index are on disk
    entries = store.journal(enterprise="acme", limit=1000)
    journal = repr(entries)
    store.close()
    seen.update({f"{name} (closed)": data for name, data in store_files(db).items()})

    assert {"state.db", "state.db-wal"} <= set(seen)
    found = b"".join(seen.values())
    digest = store.read(enterprise="acme", now=utcnow()).confirmations["sso_connection", "acme"]
    assert digest.digest.encode() in found  # the right files were searched
    store.close()
    for secret in (FIRST_SECRET, ROTATED_SECRET):
        assert secret.encode() not in found
        assert secret.encode("utf-16-le") not in found
        assert secret not in journal
    for fingerprint in fingerprints:
        assert fingerprint.partition(":")[2] not in journal
        assert fingerprint.partition(":")[2].encode() not in found
    confirmed = [
        e for e in entries if (e.action, e.kind, e.key) == ("confirm", "sso_connection", "acme")
    ]
    assert len(confirmed) == 2  # each rotation confirmed, as a fact only
