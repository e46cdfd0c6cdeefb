"""Bad input: one clear line on stderr (one per problem for specs), exit 1, nothing written.

"Nothing written" is checked on disk: the store file does not appear, or keeps its bytes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from reconciler.stores.schema import SCHEMA_VERSION
from tests.cli.conftest import run, spec_yaml

COMMANDS = ["plan", "drift", "apply", "status"]


def store_files(db: Path) -> dict[str, bytes]:
    """The store and its -wal/-shm companions, by name."""
    return {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}


class TestOktaOutputs:
    @pytest.mark.parametrize("command", COMMANDS)
    def test_a_missing_file(self, command: str, spec: Path, store_url: str, db: Path) -> None:
        result = run(command, spec, "--store", store_url, "--okta-outputs", "nope.json")
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == (
            "error: nope.json: cannot read Okta outputs: No such file or directory\n"
        )
        assert not db.parent.exists()

    def test_malformed_json_names_the_line(
        self, spec: Path, store_url: str, db: Path, write_outputs: Callable[..., Path]
    ) -> None:
        outputs = write_outputs(text='{\n  "client_id": "0oa",\n  "issuer": \n}\n')
        result = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 1
        assert result.stderr == f"error: {outputs}:4: not JSON: Expecting value\n"
        assert not db.parent.exists()

    def test_foreign_outputs_ask_whether_they_come_from_this_stack(
        self, spec: Path, store_url: str, db: Path, write_outputs: Callable[..., Path]
    ) -> None:
        outputs = write_outputs(text=json.dumps({"bucket_name": "logs", "vpc_id": "vpc-1"}))
        result = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {outputs}: missing stack output(s) client_id, client_secret, issuer, "
            "app_id, auth_server_id, assigned_users; is this the output of the insomnia-sso "
            "Pulumi stack?\n"
        )
        assert not db.parent.exists()

    def test_outputs_of_another_enterprises_stack(
        self, spec: Path, store_url: str, db: Path, write_outputs: Callable[..., Path]
    ) -> None:
        outputs = write_outputs(issuer="https://globex.okta.com/oauth2/aus0001")
        result = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {outputs}: issuer https://globex.okta.com/oauth2/aus0001 is not in "
            "enterprise 'acme''s Okta org (acme.okta.com); these outputs belong to another "
            "stack\n"
        )
        assert not db.parent.exists()

    def test_a_masked_client_secret(
        self, spec: Path, store_url: str, db: Path, write_outputs: Callable[..., Path]
    ) -> None:
        outputs = write_outputs(client_secret="[secret]")
        result = run("apply", "--yes", spec, "--store", store_url, "--okta-outputs", outputs)
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {outputs}: client_secret is masked; export with "
            "`pulumi stack output --json --show-secrets`\n"
        )
        assert not db.parent.exists()

    def test_a_file_and_a_stack_at_once_is_a_usage_error(
        self, spec: Path, store_url: str, db: Path, outputs: Path
    ) -> None:
        result = run(
            "apply",
            "--yes",
            spec,
            "--store",
            store_url,
            "--okta-outputs",
            outputs,
            "--stack",
            "prod",
        )
        # A misuse is an error (1), never click's 2, which plan and drift use for "changes".
        assert result.exit_code == 1
        assert result.stderr == (
            "Usage: insomnia-sso apply [OPTIONS] [PLANFILE] [SPEC]\n"
            "Try 'insomnia-sso apply --help' for help.\n"
            "\n"
            "Error: give --okta-outputs or --stack, not both\n"
        )
        assert not db.parent.exists()

    def test_stack_without_the_pulumi_cli(
        self,
        spec: Path,
        store_url: str,
        db: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        empty = tmp_path / "empty-bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        result = run("apply", "--yes", spec, "--store", store_url, "--stack", "prod")
        assert result.exit_code == 1
        assert result.stderr == (
            "error: --stack needs the Pulumi CLI on PATH; without it, save "
            "`pulumi stack output --json --show-secrets` to a file and pass --okta-outputs FILE\n"
        )
        assert not db.parent.exists()


class TestStore:
    @pytest.mark.parametrize(
        ("url", "message"),
        [
            (
                "mysql://db.internal/sso",
                "unknown store URL scheme 'mysql' (expected sqlite:///PATH or postgresql://…)",
            ),
            (
                "sqlite://admin:hunter2@db.internal/state.db",
                "sqlite store URLs name a file, not db.internal: use sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db",
            ),
            (
                "state.db",
                "store URL has no scheme (expected sqlite:///PATH or postgresql://…, "
                "e.g. sqlite:///.insomnia-sso/state.db)",
            ),
        ],
    )
    def test_an_unusable_url_never_echoes_a_password(
        self, url: str, message: str, spec: Path, tmp_path: Path
    ) -> None:
        result = run("apply", "--yes", spec, "--store", url)
        assert result.exit_code == 1
        assert result.stderr == f"error: {message}\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["specs"]

    def test_a_folder_is_not_a_store(self, spec: Path, tmp_path: Path) -> None:
        result = run("plan", spec, "--store", f"sqlite:///{tmp_path}/specs")
        assert result.exit_code == 1
        assert result.stderr == f"error: {tmp_path}/specs is a directory, not a store file\n"

    @pytest.mark.parametrize("command", COMMANDS)
    def test_a_file_that_is_not_a_database_is_left_untouched(
        self, command: str, spec: Path, db: Path
    ) -> None:
        db.parent.mkdir(parents=True)
        garbage = os.urandom(4096)
        db.write_bytes(garbage)
        result = run(command, spec, "--store", f"sqlite:///{db}")
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {db} is not an SQLite database (corrupted, or another kind of file); it "
            "was left untouched: restore it from a backup or point --store elsewhere\n"
        )
        assert store_files(db) == {"state.db": garbage}

    def test_a_database_with_a_damaged_body_is_left_untouched(
        self, spec: Path, store_url: str, db: Path
    ) -> None:
        run("apply", "--yes", spec, "--store", store_url)
        damaged = bytearray(db.read_bytes())
        damaged[16:100] = b"\xff" * 84  # the header past the magic string: page size and more
        db.write_bytes(bytes(damaged))
        result = run("apply", "--yes", spec, "--store", store_url)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {db} is corrupted or not an SQLite database (")
        assert result.stderr.endswith(
            "); it was left untouched: restore it from a backup or point --store elsewhere\n"
        )
        assert store_files(db) == {"state.db": bytes(damaged)}

    @pytest.mark.parametrize("command", COMMANDS)
    def test_a_store_from_a_newer_version_is_refused(
        self, command: str, spec: Path, db: Path
    ) -> None:
        db.parent.mkdir(parents=True)
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("CREATE TABLE future (x)")
            conn.execute("PRAGMA user_version = 999")
            conn.commit()
        before = store_files(db)
        result = run(command, spec, "--store", f"sqlite:///{db}")
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {db} was written by a newer insomnia-sso (schema 999 > {SCHEMA_VERSION}); "
            "upgrade insomnia-sso to use it\n"
        )
        assert store_files(db) == before

    def test_store_accept_refuses_a_newer_store_too(self, spec: Path, db: Path) -> None:
        db.parent.mkdir(parents=True)
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA user_version = 999")
            conn.execute("CREATE TABLE future (x)")
            conn.commit()
        before = store_files(db)
        result = run("store", "accept", "platform", "alice@acme.com", "--store", f"sqlite:///{db}")
        assert result.exit_code == 1
        assert f"by a newer insomnia-sso (schema 999 > {SCHEMA_VERSION})" in result.stderr
        assert store_files(db) == before


class TestSpecs:
    @pytest.mark.parametrize("command", COMMANDS)
    def test_an_invalid_spec_lists_each_problem_as_path_line_message(
        self, command: str, write_spec: Callable[..., Path], store_url: str, db: Path
    ) -> None:
        text = spec_yaml({"platform": ["alice@acme.com:admin", "bob@example.org:boss"]})
        spec = write_spec(text.replace("type: oidc", "tpye: oidc"))
        result = run(command, spec, "--store", store_url)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"{spec}:8: spec.sso.type: required key is missing",
            f"{spec}:8: spec.sso.tpye: unknown key 'tpye' (did you mean 'type'?)",
            f"{spec}:21: spec.organizations[0].members[1].email: 'bob@example.org' is not in "
            "a claimed domain (acme.com, acme.io)",
            f"{spec}:22: spec.organizations[0].members[1].role: unknown role 'boss'; "
            "expected owner, admin or member",
            "4 problem(s) found; nothing was written.",
        ]
        assert not db.parent.exists()

    def test_a_stray_question_mark_before_a_mapping_key_is_one_line_not_a_traceback(
        self, write_spec: Callable[..., Path]
    ) -> None:
        # `? sso:` makes the SSO block a YAML complex key: a dict as a key, which the fast
        # parser cannot hash. The user sees the line, as for any other typo.
        text = spec_yaml({"platform": ["alice@acme.com:admin"]})
        spec = write_spec(text.replace("\n  sso:\n", "\n  ? sso:\n", 1))
        result = run("validate", spec)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"{spec}:7: YAML syntax error: a key must be a plain value, not a mapping "
            "(a stray '?' before it?)",
            "1 problem(s) found; nothing was written.",
        ]
        assert "Traceback" not in result.output

    def test_two_enterprises_in_the_specs_folder(
        self, spec: Path, store_url: str, db: Path
    ) -> None:
        other = spec.parent / "globex.yaml"
        other.write_text(spec_yaml({"platform": ["alice@acme.com"]}, name="globex"))
        result = run("apply", "--yes", "specs", "--store", store_url)  # a folder, two in it
        assert result.exit_code == 1
        assert result.stderr == (
            "error: 2 enterprises given (acme (specs/enterprise.yaml), globex "
            "(specs/globex.yaml)); name one spec file per run\n"
        )
        assert not db.parent.exists()

    def test_a_missing_spec(self, store_url: str, db: Path) -> None:
        result = run("plan", "specs/acme.yaml", "--store", store_url)
        assert result.exit_code == 1
        assert result.stderr == (
            "specs/acme.yaml: no such file or folder\n1 problem(s) found; nothing was written.\n"
        )
        assert not db.parent.exists()
