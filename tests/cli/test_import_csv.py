"""`import --members-csv`: without SCIM, a member list copied from Insomnia becomes the spec,
and with `--accepted` the record's ledger starts from it: nobody is invited again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.stores import open_store
from tests.cli.conftest import outputs_json, run

NOW = "2026-12-01T09:30:00Z"
MEMBERS = """\
organization,email,role,givenName,familyName
platform,Alice@Acme.com,Owner,Alice,Nguyen
platform,bob@acme.io,member,,
payments,carol@acme.com,admin,,
payments,alice@acme.com,,,
"""
EXPECTED = """\
  organizations:
    - name: payments
      members:
        - email: alice@acme.com
          givenName: Alice
          familyName: Nguyen
        - email: carol@acme.com
          role: admin
    - name: platform
      members:
        - email: alice@acme.com
          role: owner
          givenName: Alice
          familyName: Nguyen
        - email: bob@acme.io
  prune:
"""


def test_a_member_list_accepted_into_the_ledger_leaves_no_invitation_to_send(
    spec: Path, store_url: str, db: Path, tmp_path: Path, secret: str
) -> None:
    (tmp_path / "members.csv").write_text(MEMBERS)
    outputs = tmp_path / "outputs.json"
    assigned = ["alice@acme.com", "carol@acme.com", "dave@acme.com"]
    outputs.write_text(json.dumps(outputs_json(secret, assigned_users=assigned)))
    imported = run(
        "import", "--members-csv", "members.csv", "--spec", spec, "--accepted",
        "--store", store_url, "--okta-outputs", outputs, "--out", spec, "--force", "--now", NOW,
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert imported.stderr.splitlines() == [
        "not assigned in Okta (cannot sign in): bob@acme.io",
        "assigned in Okta, in no organization in Insomnia (no seat): dave@acme.com",
        "Recorded in the ledger: 4 membership(s) as accepted invitations (each invitation "
        "recorded, then accepted); 1 role(s) set as the list says. Nothing was sent to Insomnia.",
        f"Wrote 2 organization(s), 3 people to {spec}.",
    ]
    text = spec.read_text()
    record = b"".join(path.read_bytes() for path in db.parent.iterdir())
    assert secret not in imported.output + text
    assert secret.encode() not in record
    assert "#   the member list members.csv,\n" in text
    assert text.split("  organizations:\n")[1].startswith(EXPECTED.split("  organizations:\n")[1])

    planned = run("plan", spec, "--store", store_url, "--okta-outputs", outputs, "--format", "json")
    assert planned.exit_code == 2  # the domains and the SSO connection are still to confirm
    plan = json.loads(planned.stdout)
    assert plan["changes"] == []
    assert [(s["kind"], s["key"]) for s in plan["manual_steps"]] == [
        ("domain", "acme.com"),
        ("domain", "acme.io"),
        ("sso_connection", "acme"),
    ]  # the organizations exist (accepted invitations), alice is owner in the ledger

    store = open_store(store_url)
    try:
        journal = [(e.action, e.kind, e.key, e.outcome) for e in store.journal(enterprise="acme")]
    finally:
        store.close()
    assert sorted(journal) == sorted(
        [("create", "invitation", key, "recorded") for key in KEYS]
        + [("accept", "invitation", key, "recorded") for key in KEYS]
        + [("update", "member", "platform/alice@acme.com", "recorded")]
    )

    again = run("import", "--members-csv", "members.csv", "--spec", spec, "--accepted",
                "--store", store_url, "--now", NOW)  # fmt: skip
    assert again.stderr.splitlines()[0] == (
        "Recorded in the ledger: 0 membership(s) as accepted invitations (each invitation "
        "recorded, then accepted); 4 were members in the record already. Nothing was sent to "
        "Insomnia."
    )


KEYS = [
    "payments/alice@acme.com",
    "payments/carol@acme.com",
    "platform/alice@acme.com",
    "platform/bob@acme.io",
]


def test_without_a_spec_the_domains_come_from_the_emails(tmp_path: Path) -> None:
    (tmp_path / "members.csv").write_text(MEMBERS)
    done = run("import", "--members-csv", "members.csv", "--enterprise", "acme", "--now", NOW)
    assert done.exit_code == 0
    assert "  domains:\n    - acme.com\n    - acme.io\n" in done.stdout
    assert done.stdout.split("  organizations:\n")[1] == EXPECTED.split("  organizations:\n")[1] + (
        "    enabled: false\n    maxFraction: 0.1\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "members.csv:1: no header row (expected organization, email, role; givenName and "
             "familyName optional)"),
        ("organization,email\nplatform,a@acme.com\n",
         "members.csv:1: no column role (the header names organization, email; expected "
         "organization, email, role; givenName and familyName optional)"),
        ("organization,email,role,team\n",
         "members.csv:1: column 4: unknown column 'team' (expected organization, email, role; "
         "givenName and familyName optional)"),
        ("organization,email,Email,role\n", "members.csv:1: column 3: email named twice"),
        ("organization,email,role\n", "members.csv: no members after the header"),
        ("organization,email,role\nplatform,a@acme.com,member\nplatform,bob@,member\n",
         "members.csv:3: column email: 'bob@' is not a valid email address"),
        ("organization,email,role\nPlatform Team,a@acme.com,member\n",
         "members.csv:2: column organization: 'Platform Team' is not an organization name "
         "(lower-case letters, digits, -)"),
        ("organization,email,role\nplatform,a@acme.com,editor\n",
         "members.csv:2: column role: 'editor' is not owner, admin or member"),
        ("organization,email,role\nplatform,a@acme.com\n",
         "members.csv:2: column role: 2 field(s), the header names 3"),
        ("organization,email,role\nplatform,a@acme.com,member,x\n",
         "members.csv:2: column 4: 4 field(s), the header names 3"),
        ("role,email,organization\nmember,a@acme.com,platform\n\nadmin,A@acme.com,platform\n",
         "members.csv:4: column email: platform/a@acme.com is also on line 2"),
        ('organization,email,role\nplatform,"a@acme.com,member\n',
         "members.csv:2: not CSV: unexpected end of data"),
        ("organization,email,role,givenName\nplatform,a@acme.com,member,Al\n"
         "payments,a@acme.com,member,Alice\n",
         "members.csv:3: column givenName: a@acme.com is named 'Al' on line 2"),
    ],
)  # fmt: skip
def test_a_wrong_member_list_is_one_line_and_nothing_is_written(
    text: str, message: str, write_spec: Callable[..., Path], store_url: str, db: Path
) -> None:
    Path("members.csv").write_text(text)
    spec = write_spec()
    done = run("import", "--members-csv", "members.csv", "--spec", spec, "--accepted",
               "--store", store_url, "--out", "out.yaml")  # fmt: skip
    assert done.exit_code == 1
    assert done.stderr == f"error: {message}\n"
    assert not Path("out.yaml").exists()
    assert not db.exists()


def test_a_member_list_that_is_not_utf8_names_its_line() -> None:
    Path("members.csv").write_bytes(b"organization,email,role\nplatform,\xff@acme.com,member\n")
    done = run("import", "--members-csv", "members.csv")
    assert done.exit_code == 1
    assert done.stderr == "error: members.csv:2: not UTF-8 text\n"
    missing = run("import", "--members-csv", "nowhere.csv")
    assert missing.stderr == "error: nowhere.csv: cannot read: No such file or directory\n"
