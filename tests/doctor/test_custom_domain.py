"""doctor for a company that signs in on its own domain (`spec.sso.okta.customDomain`).

The real OpenID provider answers over https at 127.0.0.2 with a test CA's certificate for
login.acme.test, a name only the test DNS server knows. So every check that passes here went
where doctor's DNS (`--nameserver`) sent it and spoke TLS to the custom domain's name: this
machine's resolver could not have found the provider.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.doctor.checks import CheckResult, Deadline, Status
from reconciler.doctor.dns import Nameserver, Resolver
from reconciler.doctor.issuer import ENDPOINTS, check_issuer, discovery_problems
from reconciler.doctor.reach import pinned
from tests.doctor.conftest import (
    CUSTOM_ADDRESS,
    CUSTOM_DOCTOR_SPEC,
    CUSTOM_HOST,
    DOCTOR_SPEC,
    LOOPBACK,
    CustomDomainProvider,
    Records,
    doctor_outputs,
    healthy_records,
)

ORG_URL = f"https://{LOOPBACK}"
DISCOVERY_PATH = "/.well-known/openid-configuration"
DOMAIN_FIX = (
    f"add {CUSTOM_HOST} as a custom domain in Okta (Customizations › Brands › Domains), "
    "publish the DNS records Okta shows and let Okta verify it; or correct "
    "spec.sso.okta.customDomain"
)


@pytest.fixture
def dns(dns_server: tuple[str, Records]) -> tuple[Resolver, Records]:
    """The test DNS server, answering for the custom domain with the provider's address."""
    address, records = dns_server
    records.update(healthy_records())
    records[(CUSTOM_HOST, "A")] = [CUSTOM_ADDRESS]
    return Resolver([Nameserver.parse(address)]), records


def check(
    issuer: str | None,
    resolver: Resolver,
    client: httpx.Client,
    custom_domain: str = CUSTOM_HOST,
) -> dict[str, CheckResult]:
    with client:
        results = check_issuer(
            issuer,
            ORG_URL,
            client,
            Deadline.after(5),
            custom_domain=custom_domain,
            resolver=resolver,
        )
    return {result.id: result for result in results}


def test_the_issuer_on_the_custom_domain_is_fetched_where_its_dns_points(
    custom_domain_provider: CustomDomainProvider, dns: tuple[Resolver, Records]
) -> None:
    issuer = custom_domain_provider.issuer
    found = check(issuer, dns[0], custom_domain_provider.client())
    assert list(found) == ["issuer.custom_domain", "issuer.discovery", "issuer.jwks"]
    assert (found["issuer.custom_domain"].status, found["issuer.custom_domain"].summary) == (
        Status.PASS,
        f"{CUSTOM_HOST} resolves ({CUSTOM_ADDRESS})",
    )
    discovery = found["issuer.discovery"]
    assert (discovery.status, discovery.summary) == (
        Status.PASS,
        f"{issuer}{DISCOVERY_PATH} is a usable OpenID configuration for {issuer}",
    )
    # The keys live on the custom domain too, and are fetched the same way.
    assert found["issuer.jwks"].status is Status.PASS, found["issuer.jwks"]
    assert found["issuer.jwks"].summary.startswith(f"1 signing key(s) at {issuer}/jwks (")


def test_a_custom_domain_that_does_not_resolve_fails_and_nothing_is_fetched(
    custom_domain_provider: CustomDomainProvider, dns: tuple[Resolver, Records]
) -> None:
    resolver, records = dns
    del records[(CUSTOM_HOST, "A")]  # NXDOMAIN: the name is not in the zone
    found = check(custom_domain_provider.issuer, resolver, custom_domain_provider.client())
    domain = found["issuer.custom_domain"]
    assert (domain.status, domain.summary, domain.fix) == (
        Status.FAIL,
        f"{CUSTOM_HOST}, the spec's customDomain, does not exist in DNS (NXDOMAIN): the issuer "
        "on it is out of reach",
        DOMAIN_FIX,
    )
    assert (found["issuer.discovery"].status, found["issuer.discovery"].summary) == (
        Status.SKIP,
        f"not checked: {CUSTOM_HOST} does not resolve (see issuer.custom_domain)",
    )
    assert (found["issuer.jwks"].status, found["issuer.jwks"].summary) == (
        Status.SKIP,
        "not checked: the discovery document could not be read",
    )


def test_the_fetch_goes_to_the_address_dns_gave_not_elsewhere(
    custom_domain_provider: CustomDomainProvider, dns: tuple[Resolver, Records]
) -> None:
    resolver, records = dns
    records[(CUSTOM_HOST, "A")] = ["127.0.0.3"]  # loopback too, but nothing listens there
    issuer = custom_domain_provider.issuer
    found = check(issuer, resolver, custom_domain_provider.client())
    assert found["issuer.custom_domain"].summary == f"{CUSTOM_HOST} resolves (127.0.0.3)"
    discovery = found["issuer.discovery"]
    port = custom_domain_provider.port
    assert (discovery.status, discovery.summary, discovery.fix) == (
        Status.FAIL,
        f"cannot fetch {issuer}{DISCOVERY_PATH}: connection to {CUSTOM_HOST}:{port} "
        "(127.0.0.3) refused",
        f"nothing accepts connections at {CUSTOM_HOST}:{port} (127.0.0.3): check the issuer's "
        "host and port (as the stack outputs give them), and any firewall between this runner "
        "and it",
    )


def test_the_certificate_must_be_for_the_custom_domain(
    custom_domain_provider: CustomDomainProvider, dns: tuple[Resolver, Records]
) -> None:
    # sso.acme.test points at the provider too, but its certificate is for login.acme.test.
    resolver, records = dns
    records[("sso.acme.test", "A")] = [CUSTOM_ADDRESS]
    issuer = f"https://sso.acme.test:{custom_domain_provider.port}"
    found = check(issuer, resolver, custom_domain_provider.client(), "sso.acme.test")
    assert found["issuer.custom_domain"].status is Status.PASS
    discovery = found["issuer.discovery"]
    assert (discovery.status, discovery.summary, discovery.fix) == (
        Status.FAIL,
        f"cannot fetch {issuer}{DISCOVERY_PATH}: TLS with sso.acme.test failed: its "
        "certificate is not trusted (Hostname mismatch, certificate is not valid for "
        "'sso.acme.test'.)",
        "the certificate sso.acme.test presents is not trusted here: it must name "
        "sso.acme.test and come from a trusted CA (for a custom domain, the certificate set in "
        "Okta › Customizations › Brands › Domains); behind a TLS-inspecting proxy, trust its CA "
        "(SSL_CERT_FILE)",
    )


def test_the_document_on_the_custom_domain_must_name_exactly_that_issuer(
    custom_domain_provider: CustomDomainProvider, dns: tuple[Resolver, Records]
) -> None:
    # What a server still in issuer mode ORG_URL answers on the custom domain.
    org_issuer = f"https://{LOOPBACK}/oauth2/aus0001"

    def org_url_mode(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "issuer": org_issuer}

    custom_domain_provider.rewrite = org_url_mode
    issuer = custom_domain_provider.issuer
    found = check(issuer, dns[0], custom_domain_provider.client())
    discovery = found["issuer.discovery"]
    assert (discovery.status, discovery.summary, discovery.fix) == (
        Status.FAIL,
        f"the document names issuer {org_issuer!r}, the outputs {issuer!r}: they must match "
        "exactly, trailing slash included",
        f"set the issuer in Insomnia's SSO connection (and the stack) to exactly {org_issuer}",
    )


def test_an_issuer_still_on_the_org_host_warns_that_the_stack_is_behind(
    oidc_provider: str, custom_domain_provider: CustomDomainProvider, dns: tuple[Resolver, Records]
) -> None:
    # The stack ran before the spec named the domain: Insomnia holds the org's issuer, which
    # works today, so this warns rather than fails.
    found = check(oidc_provider, dns[0], custom_domain_provider.client())
    assert found["issuer.custom_domain"].status is Status.PASS
    discovery = found["issuer.discovery"]
    assert (discovery.status, discovery.summary, discovery.fix) == (
        Status.WARN,
        f"{oidc_provider}{DISCOVERY_PATH} is a usable OpenID configuration for {oidc_provider}, "
        f"but the stack has not picked up customDomain {CUSTOM_HOST}: the issuer is still on "
        "the Okta org's domain",
        f"run `pulumi up` to move the issuer to {CUSTOM_HOST}, then `insomnia-sso apply` and "
        "give Insomnia's SSO connection the new issuer (its step reopens)",
    )
    assert found["issuer.jwks"].status is Status.PASS


def test_an_issuer_on_a_third_host_names_both_it_could_be_on() -> None:
    issuer = "https://login.globex.test/oauth2/aus0001"
    document = {"issuer": issuer, "response_types_supported": ["code"]}
    document |= {endpoint: f"{issuer}/v1/{endpoint}" for endpoint in ENDPOINTS}
    assert discovery_problems(document, issuer, LOOPBACK, CUSTOM_HOST) == [
        (
            f"the issuer's host login.globex.test is neither the spec's Okta org {LOOPBACK} nor "
            f"its customDomain {CUSTOM_HOST}",
            "use the outputs of this enterprise's own stack, or correct spec.sso.okta.orgUrl",
        )
    ]
    # On either host it may be on, the same document has nothing wrong.
    for host in (LOOPBACK, CUSTOM_HOST):
        moved = json.loads(json.dumps(document).replace("login.globex.test", host))
        assert discovery_problems(moved, moved["issuer"], LOOPBACK, CUSTOM_HOST) == []


def test_without_outputs_the_custom_domain_is_still_checked(
    custom_domain_provider: CustomDomainProvider, dns: tuple[Resolver, Records]
) -> None:
    found = check(None, dns[0], custom_domain_provider.client())
    assert [(r.id, r.status) for r in found.values()] == [
        ("issuer.custom_domain", Status.PASS),
        ("issuer.discovery", Status.SKIP),
        ("issuer.jwks", Status.SKIP),
    ]


def test_a_pinned_request_keeps_the_name_for_tls_and_the_host_header() -> None:
    url = f"https://{CUSTOM_HOST}:8443/oauth2/aus0001{DISCOVERY_PATH}"
    target, headers, extensions = pinned(url, {CUSTOM_HOST: "192.0.2.7"})
    assert str(target) == f"https://192.0.2.7:8443/oauth2/aus0001{DISCOVERY_PATH}"
    assert headers == {"Host": f"{CUSTOM_HOST}:8443"}
    assert extensions == {"sni_hostname": CUSTOM_HOST}
    target, _, _ = pinned(f"https://{CUSTOM_HOST}/keys", {CUSTOM_HOST: "2001:db8::7"})
    assert str(target) == "https://[2001:db8::7]/keys"
    # Other hosts go as they are.
    assert pinned("https://acme.okta.com/keys", {CUSTOM_HOST: "192.0.2.7"}) == (
        httpx.URL("https://acme.okta.com/keys"),
        {},
        {},
    )


# --- end to end, through the CLI -----------------------------------------------------------------


def run_doctor(tmp_path: Path, nameserver: str, issuer: str, ca_file: Path) -> Result:
    spec = tmp_path / "enterprise.yaml"
    spec.write_text(CUSTOM_DOCTOR_SPEC, encoding="utf-8")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(doctor_outputs(issuer)), encoding="utf-8")
    args = [
        "doctor",
        str(spec),
        "--okta-outputs",
        str(outputs),
        "--store",
        f"sqlite:///{tmp_path / 'state.db'}",
        "--nameserver",
        nameserver,
        "--format",
        "json",
    ]
    # How an operator trusts a private CA for httpx; Okta's certificates need nothing.
    return CliRunner().invoke(main, args, env={"SSL_CERT_FILE": str(ca_file)})


def test_doctor_checks_the_custom_domain_first_and_reaches_the_issuer_on_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    custom_domain_provider: CustomDomainProvider,
    dns_server: tuple[str, Records],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INSOMNIA_SSO_SCIM_URL", raising=False)
    address, records = dns_server
    records.update(healthy_records())
    records[(CUSTOM_HOST, "A")] = [CUSTOM_ADDRESS]
    ca_file = tmp_path / "ca.pem"
    custom_domain_provider.ca.cert_pem.write_to_path(str(ca_file))
    result = run_doctor(tmp_path, address, custom_domain_provider.issuer, ca_file)
    checks = json.loads(result.stdout)["checks"]
    assert [(c["id"], c["status"]) for c in checks[:4]] == [
        ("issuer.custom_domain", "pass"),
        ("issuer.discovery", "pass"),
        ("issuer.jwks", "pass"),
        ("sso.url", "pass"),
    ]
    assert checks[0]["summary"] == f"{CUSTOM_HOST} resolves ({CUSTOM_ADDRESS})"
    # Nothing applied or confirmed yet: the domains warn, and nothing fails.
    assert result.exit_code == 0, result.output


def test_the_issuers_own_host_goes_through_the_nameservers_given_too(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    custom_domain_provider: CustomDomainProvider,
    dns_server: tuple[str, Records],
) -> None:
    # An Okta org on a name only the test DNS server knows, and no customDomain: the issuer's
    # host is reached where --nameserver says, or its failure says so and points at DNS.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INSOMNIA_SSO_SCIM_URL", raising=False)
    address, records = dns_server
    records.update(healthy_records())
    spec = tmp_path / "enterprise.yaml"
    spec.write_text(
        DOCTOR_SPEC.replace(f"orgUrl: https://{LOOPBACK}", f"orgUrl: https://{CUSTOM_HOST}"),
        encoding="utf-8",
    )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(doctor_outputs(custom_domain_provider.issuer)), encoding="utf-8")
    ca_file = tmp_path / "ca.pem"
    custom_domain_provider.ca.cert_pem.write_to_path(str(ca_file))
    args = ["doctor", str(spec), "--okta-outputs", str(outputs), "--nameserver", address]
    args += ["--store", f"sqlite:///{tmp_path / 'state.db'}", "--format", "json"]

    def discovery() -> dict[str, Any]:
        result = CliRunner().invoke(main, args, env={"SSL_CERT_FILE": str(ca_file)})
        found: dict[str, Any] = json.loads(result.stdout)["checks"][0]
        return found

    assert discovery() == {
        "id": "issuer.discovery",
        "status": "fail",
        "summary": f"cannot resolve {CUSTOM_HOST}: it does not exist in DNS (NXDOMAIN)",
        "fix": f"check the issuer's host {CUSTOM_HOST} (as the stack outputs give it) and your "
        "DNS (this machine's resolver, or the nameservers --nameserver names)",
    }
    records[(CUSTOM_HOST, "A")] = [CUSTOM_ADDRESS]
    assert discovery()["status"] == "pass"
