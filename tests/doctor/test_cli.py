"""`insomnia-sso doctor` end to end: a real provider, a real DNS server, a real record."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from tests.doctor.conftest import DOCTOR_SPEC, Records, doctor_outputs, healthy_records
from tests.scim_peer import TOKEN as SCIM_TOKEN
from tests.scim_peer import Tenant
from tests.strict_scim import TOKEN as STRICT_TOKEN
from tests.strict_scim import StrictScim

CHECK_IDS = [
    "issuer.discovery",
    "issuer.jwks",
    "sso.url",
    "domain.acme.com",
    "domain.acme.io",
    "scim",
    "record.lock",
    "record.last_apply",
]
TOKEN = "scim-token-never-printed-5e6f"


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="insomnia-sso", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


class Setup:
    """A spec, outputs naming a given issuer, a record after apply, and a DNS server."""

    def __init__(self, tmp_path: Path, nameserver: str) -> None:
        self.tmp_path = tmp_path
        self.spec = tmp_path / "enterprise.yaml"
        self.spec.write_text(DOCTOR_SPEC, encoding="utf-8")
        self.store = f"sqlite:///{tmp_path / 'state.db'}"
        self.nameserver = nameserver

    def outputs(self, issuer: str) -> Path:
        path = self.tmp_path / "outputs.json"
        path.write_text(json.dumps(doctor_outputs(issuer)), encoding="utf-8")
        return path

    def applied(self, issuer: str, *verified: str) -> Setup:
        assert (
            run(
                "apply",
                "--yes",
                self.spec,
                "--store",
                self.store,
                "--okta-outputs",
                self.outputs(issuer),
            ).exit_code
            == 0
        )
        for domain in verified:
            done = run(
                "store", "verify-domain", domain, "--store", self.store, "--enterprise", "acme"
            )
            assert done.exit_code == 0, done.output
        return self

    def doctor(self, *args: str | Path, env: dict[str, str] | None = None) -> Result:
        options = ["--store", self.store, "--nameserver", self.nameserver]
        return run("doctor", self.spec, *options, *args, env=env)


@pytest.fixture
def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dns_server: tuple[str, Records]
) -> Setup:
    monkeypatch.chdir(tmp_path)
    for name in ("INSOMNIA_SSO_STORE", "INSOMNIA_SSO_SCIM_URL", "INSOMNIA_SSO_SCIM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSOMNIA_SSO_ACTOR", "tester@doctor-tests")
    address, records = dns_server
    records.update(healthy_records())
    return Setup(tmp_path, address)


def report(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def statuses(result: Result) -> dict[str, str]:
    return {check["id"]: check["status"] for check in report(result)["checks"]}


def test_a_healthy_setup_passes_and_the_json_has_exactly_its_shape(
    setup: Setup, oidc_provider: str
) -> None:
    setup.applied(oidc_provider, "acme.com", "acme.io")
    result = setup.doctor("--okta-outputs", setup.outputs(oidc_provider), "--format", "json")
    assert result.exit_code == 0, result.output
    data = report(result)
    assert list(data) == ["format_version", "enterprise", "checks", "summary"]
    assert (data["format_version"], data["enterprise"]) == (1, "acme")
    assert [list(check) for check in data["checks"]] == [["id", "status", "summary", "fix"]] * 8
    assert [(c["id"], c["status"], c["fix"]) for c in data["checks"]] == [
        (check, "skip" if check == "scim" else "pass", None) for check in CHECK_IDS
    ]
    assert all(isinstance(c["summary"], str) and c["summary"] for c in data["checks"])
    assert data["summary"] == {"pass": 7, "warn": 0, "fail": 0, "skip": 1}
    assert data["checks"][-2]["summary"] == "free"


def test_text_shows_a_symbol_per_check_and_the_fix_below_a_warning(
    setup: Setup, oidc_provider: str
) -> None:
    setup.applied(oidc_provider, "acme.com")  # acme.io not yet verified: a warning, exit 0
    result = setup.doctor("--okta-outputs", setup.outputs(oidc_provider))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "insomnia-sso doctor: acme"
    assert lines[1].startswith("✓ issuer.discovery   ")
    warning = lines.index(
        "! domain.acme.io     not yet confirmed verified; 1 TXT record(s) published"
    )
    assert lines[warning + 1].startswith("    fix: add the TXT record Insomnia shows")
    assert "- scim               no SCIM directory given" in result.stdout
    assert lines[-1] == "Doctor: 6 passed, 1 warning(s), 0 failed, 1 skipped."


def test_an_issuer_differing_by_a_trailing_slash_exits_1(setup: Setup, oidc_provider: str) -> None:
    setup.applied(oidc_provider, "acme.com", "acme.io")
    outputs = setup.outputs(oidc_provider + "/")
    result = setup.doctor("--okta-outputs", outputs, "--format", "json")
    assert result.exit_code == 1, result.output
    assert statuses(result)["issuer.discovery"] == "fail"
    assert report(result)["summary"]["fail"] == 1


def test_a_silent_host_and_a_silent_nameserver_cost_one_timeout(
    setup: Setup, silent_tcp: str, silent_udp: str
) -> None:
    setup.nameserver = silent_udp
    timeout = 1.5
    started = time.monotonic()
    result = setup.doctor(
        "--okta-outputs", setup.outputs(silent_tcp), "--timeout", str(timeout), "--format", "json"
    )
    elapsed = time.monotonic() - started
    assert elapsed < timeout + 2, f"took {elapsed:.1f}s"
    assert result.exit_code == 1, result.output
    assert statuses(result) == {
        "issuer.discovery": "fail",
        "issuer.jwks": "skip",
        "sso.url": "fail",
        "domain.acme.com": "warn",
        "domain.acme.io": "warn",
        "scim": "skip",
        "record.lock": "pass",
        "record.last_apply": "warn",
    }
    discovery = report(result)["checks"][0]["summary"]
    assert discovery.startswith("no answer from 127.0.0.1:"), discovery


def test_without_outputs_the_issuer_checks_are_skipped(setup: Setup) -> None:
    result = setup.doctor("--format", "json")
    checks = report(result)["checks"]
    assert checks[0] == {
        "id": "issuer.discovery",
        "status": "skip",
        "summary": "no Okta outputs (--okta-outputs or --stack)",
        "fix": None,
    }
    assert result.exit_code == 0  # nothing failed: an empty record only warns


def test_markdown_is_a_table_for_the_drift_issue(setup: Setup, oidc_provider: str) -> None:
    result = setup.doctor(
        "--okta-outputs", setup.outputs(oidc_provider + "/"), "--format", "markdown"
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "## insomnia-sso doctor: acme"
    assert "| ✗ | `issuer.discovery` |" in result.stdout
    assert "| | check | finding | fix |" in lines


def test_scim_without_a_token_fails_and_with_one_probes_the_real_server(
    setup: Setup, tmp_path: Path, full_tenant: Tenant
) -> None:
    missing = setup.doctor("--scim", full_tenant.url, "--format", "json")
    assert missing.exit_code == 1
    scim = report(missing)["checks"][5]
    assert (scim["status"], scim["summary"]) == (
        "fail",
        "no SCIM token: set INSOMNIA_SSO_SCIM_TOKEN or pass --scim-token-file FILE "
        "(Insomnia › Enterprise Controls › SCIM shows it)",
    )
    token_file = tmp_path / "scim-token"
    token_file.write_text(SCIM_TOKEN + "\n", encoding="utf-8")
    for extra, env in (
        (["--scim-token-file", str(token_file)], None),
        ([], {"INSOMNIA_SSO_SCIM_TOKEN": SCIM_TOKEN}),
    ):
        result = setup.doctor("--scim", full_tenant.url, *extra, "--format", "json", env=env)
        scim = report(result)["checks"][5]
        assert scim["status"] == "pass"
        assert scim["summary"] == (
            "token accepted; 0 user(s), 0 team(s); profile okta: GET /Users?startIndex=&count= "
            'answered; GET /Groups?startIndex=&count= answered; GET /Users?filter=userName eq "…" '
            "answered"
        )
        assert SCIM_TOKEN not in result.output
    env = {"INSOMNIA_SSO_SCIM_TOKEN": SCIM_TOKEN}
    result = setup.doctor(
        "--scim", full_tenant.url, "--scim-profile", "rfc7644", "--format", "json", env=env
    )
    assert report(result)["checks"][5]["summary"].startswith(
        "token accepted; 0 user(s), 0 team(s); profile rfc7644 (Bulk (up to"
    )


def test_scim_against_a_server_serving_only_okta_s_requests(
    setup: Setup, strict: StrictScim
) -> None:
    env = {"INSOMNIA_SSO_SCIM_TOKEN": STRICT_TOKEN}
    result = setup.doctor("--scim", strict.url, "--format", "json", env=env)
    assert report(result)["checks"][5]["status"] == "pass"
    assert strict.violations == []
    # rfc7644 needs ServiceProviderConfig, which this server does not serve
    result = setup.doctor(
        "--scim", strict.url, "--scim-profile", "rfc7644", "--format", "json", env=env
    )
    scim = report(result)["checks"][5]
    assert (scim["status"], scim["summary"]) == (
        "fail",
        "SCIM ServiceProviderConfig unreadable: GET /ServiceProviderConfig: 404 no "
        "ServiceProviderConfig here (profile rfc7644 needs it; Insomnia's connector is spoken "
        "with profile okta)",
    )


def test_an_expired_scim_token_fails_with_what_to_do_and_is_never_printed(
    setup: Setup, full_tenant: Tenant
) -> None:
    expired = "expired-" + SCIM_TOKEN
    result = setup.doctor(
        "--scim", full_tenant.url, "--format", "json", env={"INSOMNIA_SSO_SCIM_TOKEN": expired}
    )
    assert result.exit_code == 1
    scim = report(result)["checks"][5]
    assert (scim["status"], scim["summary"]) == (
        "fail",
        "SCIM token rejected (expired or revoked?): refresh it in Insomnia › Enterprise "
        "Controls › SCIM",
    )
    assert expired not in result.output


def test_a_nameserver_that_is_not_an_address_is_a_usage_error(setup: Setup) -> None:
    result = run("doctor", setup.spec, "--nameserver", "ns1.acme.com")
    assert result.exit_code == 1
    assert "nameserver 'ns1.acme.com' is not an IP address[:port]" in result.output


def test_doctor_has_help() -> None:
    result = run("doctor", "--help")
    assert result.exit_code == 0
    assert "Exit 0: healthy, 1: a check failed." in " ".join(result.output.split())


def test_an_http_issuer_off_loopback_is_refused(setup: Setup) -> None:
    outputs = setup.outputs("http://acme.okta.com/oauth2/aus0001")
    result = setup.doctor("--okta-outputs", outputs)
    assert result.exit_code == 1
    assert (
        f"error: {outputs}: issuer 'http://acme.okta.com/oauth2/aus0001' is not an https URL "
        "(http only for loopback hosts)"
    ) in result.output


SHOWN = "the base URL Insomnia shows (Enterprise Controls › SCIM)"


def test_a_bad_scim_url_gets_a_fix_about_the_url_not_the_token(setup: Setup) -> None:
    result = setup.doctor(
        "--scim",
        "http://scim.acme.test/v2",
        "--format",
        "json",
        env={"INSOMNIA_SSO_SCIM_TOKEN": TOKEN},
    )
    scim = report(result)["checks"][5]
    assert (scim["status"], scim["summary"], scim["fix"]) == (
        "fail",
        "SCIM URL must use https:// (http:// only for a loopback host), got "
        "'http://scim.acme.test/v2'",
        "give --scim the base URL exactly as Insomnia shows it (Enterprise Controls › SCIM): "
        "https://, without a user or password",
    )


def scim_on(setup: Setup, url: str) -> dict[str, Any]:
    result = setup.doctor(
        "--scim", url, "--format", "json", env={"INSOMNIA_SSO_SCIM_TOKEN": SCIM_TOKEN}
    )
    scim: dict[str, Any] = report(result)["checks"][5]
    assert SCIM_TOKEN not in result.output
    return scim


def test_the_scim_host_is_looked_up_through_the_nameservers_given(
    setup: Setup, dns_server: tuple[str, Records], full_tenant: Tenant
) -> None:
    # The system resolver knows localhost; the test nameserver only what it is told. So each
    # outcome below shows whose answer was used, and that the request went to its address.
    url = full_tenant.url.replace("127.0.0.1", "localhost")
    port = url.split(":")[2].split("/")[0]
    records = dns_server[1]
    nxdomain = scim_on(setup, url)
    assert (nxdomain["status"], nxdomain["summary"], nxdomain["fix"]) == (
        "fail",
        "cannot resolve localhost: it does not exist in DNS (NXDOMAIN)",
        f"check the host in --scim against {SHOWN}, and your DNS (this machine's resolver, or "
        "the nameservers --nameserver names)",
    )
    records[("localhost", "A")] = ["127.0.0.3"]  # loopback, but nothing listens there
    refused = scim_on(setup, url)
    assert (refused["summary"], refused["fix"]) == (
        f"SCIM Users cannot be listed: GET /Users: connection to localhost:{port} refused: is "
        "the SCIM URL right?",
        f"nothing accepts connections there: check the host and port in --scim against {SHOWN}, "
        "and any firewall between this runner and it",
    )
    records[("localhost", "A")] = ["127.0.0.1"]
    assert scim_on(setup, url)["status"] == "pass"


def test_a_scim_host_that_refuses_gets_a_fix_about_host_and_port(setup: Setup) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    scim = scim_on(setup, f"http://127.0.0.1:{port}/scim/v2")
    assert (scim["status"], scim["summary"]) == (
        "fail",
        f"SCIM Users cannot be listed: GET /Users: connection to 127.0.0.1:{port} refused: is "
        "the SCIM URL right?",
    )
    assert scim["fix"].startswith("nothing accepts connections there")
