"""issuer.discovery and issuer.jwks against a real OpenID provider on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from reconciler.doctor.checks import CheckResult, Deadline, Status
from reconciler.doctor.dns import Nameserver, Resolver
from reconciler.doctor.issuer import check_issuer, discovery_problems, signing_key_ids
from tests.doctor.conftest import (
    CUSTOM_ADDRESS,
    CUSTOM_HOST,
    LOOPBACK,
    CustomDomainProvider,
    LoopbackServers,
    Records,
    Rewrite,
)

DISCOVERY_PATH = "/.well-known/openid-configuration"

ORG_URL = f"https://{LOOPBACK}"


def check(issuer: str | None, timeout: float = 5.0) -> dict[str, CheckResult]:
    with httpx.Client() as client:
        results = check_issuer(issuer, ORG_URL, client, Deadline.after(timeout))
    return {result.id: result for result in results}


def test_a_real_provider_passes_both_checks(oidc_provider: str) -> None:
    found = check(oidc_provider)
    assert found["issuer.discovery"].status is Status.PASS, found["issuer.discovery"]
    assert found["issuer.discovery"].summary == (
        f"{oidc_provider}/.well-known/openid-configuration is a usable OpenID configuration "
        f"for {oidc_provider}"
    )
    assert found["issuer.jwks"].status is Status.PASS, found["issuer.jwks"]
    assert found["issuer.jwks"].summary.startswith(f"1 signing key(s) at {oidc_provider}/jwks (")


def test_an_issuer_differing_by_a_trailing_slash_fails(oidc_provider: str) -> None:
    found = check(oidc_provider + "/")
    discovery = found["issuer.discovery"]
    assert discovery.status is Status.FAIL
    assert discovery.summary == (
        f"the document names issuer {oidc_provider!r}, the outputs {oidc_provider + '/'!r}: "
        "they must match exactly, trailing slash included"
    )
    assert discovery.fix == (
        f"set the issuer in Insomnia's SSO connection (and the stack) to exactly {oidc_provider}"
    )
    assert found["issuer.jwks"].status is Status.PASS  # the keys are still there


def without(key: str, value: str) -> Rewrite:
    def rewrite(document: dict[str, Any]) -> dict[str, Any]:
        document[key] = [item for item in document[key] if item != value]
        return document

    return rewrite


@pytest.mark.parametrize(
    ("rewrite", "summary"),
    [
        (
            without("response_types_supported", "code"),
            "response_types_supported does not hold `code`",
        ),
        (
            without("grant_types_supported", "authorization_code"),
            "grant_types_supported does not hold `authorization_code`",
        ),
        (without("scopes_supported", "email"), "scopes_supported lacks email"),
    ],
    ids=["no-code", "no-authorization-code", "no-email-scope"],
)
def test_a_document_that_cannot_serve_the_code_flow_fails(
    fault_proxy: Callable[[Rewrite], str], rewrite: Rewrite, summary: str
) -> None:
    issuer = fault_proxy(rewrite)
    found = check(issuer)
    assert found["issuer.discovery"].status is Status.FAIL
    assert found["issuer.discovery"].summary == summary


def test_an_unlisted_grant_or_scope_list_is_no_problem(
    fault_proxy: Callable[[Rewrite], str],
) -> None:
    def drop(document: dict[str, Any]) -> dict[str, Any]:
        del document["grant_types_supported"], document["scopes_supported"]
        return document

    found = check(fault_proxy(drop))
    assert found["issuer.discovery"].status is Status.PASS, found["issuer.discovery"]


def test_a_plain_http_endpoint_off_loopback_fails(fault_proxy: Callable[[Rewrite], str]) -> None:
    def insecure(document: dict[str, Any]) -> dict[str, Any]:
        document["token_endpoint"] = "http://acme.okta.com/oauth2/v1/token"
        return document

    found = check(fault_proxy(insecure))
    assert found["issuer.discovery"].summary == (
        "token_endpoint http://acme.okta.com/oauth2/v1/token is not https "
        "(http is for loopback hosts only)"
    )


def test_a_wrong_path_fails_with_the_status(oidc_provider: str) -> None:
    found = check(oidc_provider + "/oauth2/aus-missing")
    assert found["issuer.discovery"].status is Status.FAIL
    assert found["issuer.discovery"].summary == (
        f"{oidc_provider}/oauth2/aus-missing/.well-known/openid-configuration answered HTTP 404"
    )
    assert found["issuer.jwks"].status is Status.SKIP


def test_without_outputs_both_are_skipped() -> None:
    assert {r.status for r in check(None).values()} == {Status.SKIP}
    assert check(None)["issuer.discovery"].summary == "no Okta outputs (--okta-outputs or --stack)"


def test_a_silent_issuer_costs_at_most_the_timeout(silent_tcp: str) -> None:
    started = time.monotonic()
    found = check(silent_tcp, timeout=1.0)
    assert time.monotonic() - started < 1.0 + 1.0
    assert found["issuer.discovery"].status is Status.FAIL
    assert found["issuer.discovery"].summary.startswith("no answer from 127.0.0.1:")


def test_a_foreign_org_host_is_a_problem() -> None:
    document = {
        "issuer": "https://globex.okta.com/oauth2/aus1",
        "authorization_endpoint": "https://globex.okta.com/oauth2/aus1/v1/authorize",
        "token_endpoint": "https://globex.okta.com/oauth2/aus1/v1/token",
        "jwks_uri": "https://globex.okta.com/oauth2/aus1/v1/keys",
        "response_types_supported": ["code"],
    }
    problems = discovery_problems(document, document["issuer"], "acme.okta.com")
    assert [problem for problem, _ in problems] == [
        "the issuer's host globex.okta.com is not the spec's Okta org acme.okta.com"
    ]


@pytest.mark.parametrize(
    ("key", "usable"),
    [
        ({"kty": "RSA", "kid": "k1", "use": "sig"}, True),
        ({"kty": "EC", "kid": "k1"}, True),
        ({"kty": "OKP", "kid": "k1"}, True),
        ({"kty": "RSA", "kid": "k1", "use": "enc"}, False),
        ({"kty": "oct", "kid": "k1"}, False),
        ({"kty": "RSA"}, False),
        ({"kty": "RSA", "kid": ""}, False),
    ],
)
def test_which_keys_can_check_signatures(key: dict[str, str], usable: bool) -> None:
    assert signing_key_ids({"keys": [key]}) == (["k1"] if usable else [])


def test_a_key_set_that_is_not_one_has_no_keys() -> None:
    assert signing_key_ids([]) == []
    assert signing_key_ids({"keys": "k1"}) == []


# --- each cause of a failed fetch, and the fix for that cause -----------------------------------

DNS_FIX = (
    "check the issuer's host login.acme.test (as the stack outputs give it) and your DNS (this "
    "machine's resolver, or the nameservers --nameserver names)"
)


@pytest.fixture
def named_issuer(
    custom_domain_provider: CustomDomainProvider, dns_server: tuple[str, Records]
) -> tuple[str, Resolver, Records]:
    """An issuer on login.acme.test, a name only the test DNS server knows (no customDomain:
    the Okta org's own host), and a resolver asking that server."""
    address, records = dns_server
    records[(CUSTOM_HOST, "A")] = [CUSTOM_ADDRESS]
    return custom_domain_provider.issuer, Resolver([Nameserver.parse(address)]), records


def check_named(
    issuer: str, resolver: Resolver, client: httpx.Client, timeout: float = 5.0
) -> dict[str, CheckResult]:
    with client:
        results = check_issuer(
            issuer, f"https://{CUSTOM_HOST}", client, Deadline.after(timeout), resolver=resolver
        )
    return {result.id: result for result in results}


def test_the_issuers_host_is_looked_up_through_the_nameservers_given(
    named_issuer: tuple[str, Resolver, Records], custom_domain_provider: CustomDomainProvider
) -> None:
    # This machine's resolver cannot find login.acme.test: only --nameserver's can.
    issuer, resolver, _ = named_issuer
    found = check_named(issuer, resolver, custom_domain_provider.client())
    assert [(r.id, r.status) for r in found.values()] == [
        ("issuer.discovery", Status.PASS),
        ("issuer.jwks", Status.PASS),
    ]


def test_an_issuer_host_with_no_such_domain_says_nxdomain_and_points_at_dns(
    named_issuer: tuple[str, Resolver, Records], custom_domain_provider: CustomDomainProvider
) -> None:
    issuer, resolver, records = named_issuer
    del records[(CUSTOM_HOST, "A")]
    found = check_named(issuer, resolver, custom_domain_provider.client())
    discovery = found["issuer.discovery"]
    assert (discovery.status, discovery.summary, discovery.fix) == (
        Status.FAIL,
        f"cannot resolve {CUSTOM_HOST}: it does not exist in DNS (NXDOMAIN)",
        DNS_FIX,
    )
    assert found["issuer.jwks"].status is Status.SKIP


def test_an_issuer_host_without_an_address_says_so(
    named_issuer: tuple[str, Resolver, Records], custom_domain_provider: CustomDomainProvider
) -> None:
    issuer, resolver, records = named_issuer
    records[(CUSTOM_HOST, "TXT")] = ["v=spf1 -all"]
    del records[(CUSTOM_HOST, "A")]
    discovery = check_named(issuer, resolver, custom_domain_provider.client())["issuer.discovery"]
    assert (discovery.summary, discovery.fix) == (
        f"cannot resolve {CUSTOM_HOST}: it has no address record (A or AAAA)",
        DNS_FIX,
    )


def test_a_silent_nameserver_for_the_issuer_points_at_dns(
    custom_domain_provider: CustomDomainProvider, silent_udp: str
) -> None:
    resolver = Resolver([Nameserver.parse(silent_udp)])
    issuer = custom_domain_provider.issuer
    found = check_named(issuer, resolver, custom_domain_provider.client(), timeout=0.5)
    assert (found["issuer.discovery"].summary, found["issuer.discovery"].fix) == (
        f"cannot resolve {CUSTOM_HOST}: no DNS answer for {CUSTOM_HOST} within the timeout",
        DNS_FIX,
    )


def test_an_untrusted_certificate_points_at_the_certificate(
    named_issuer: tuple[str, Resolver, Records],
) -> None:
    issuer, resolver, _ = named_issuer
    discovery = check_named(issuer, resolver, httpx.Client())["issuer.discovery"]  # no test CA
    assert discovery.summary == (
        f"cannot fetch {issuer}{DISCOVERY_PATH}: TLS with {CUSTOM_HOST} failed: its certificate "
        "is not trusted (unable to get local issuer certificate)"
    )
    assert discovery.fix is not None
    assert discovery.fix.startswith(f"the certificate {CUSTOM_HOST} presents is not trusted here")


def test_https_to_a_plain_http_server_points_at_scheme_and_port(oidc_provider: str) -> None:
    issuer = oidc_provider.replace("http://", "https://")
    hostport = issuer.removeprefix("https://")
    discovery = check(issuer)["issuer.discovery"]
    assert discovery.status is Status.FAIL
    assert discovery.summary.startswith(
        f"cannot fetch {issuer}{DISCOVERY_PATH}: TLS with {hostport} failed ("
    )
    assert discovery.fix == (
        f"{hostport} does not answer as an https server: check the issuer's scheme and port (as "
        "the stack outputs give them)"
    )


def test_a_refused_connection_points_at_host_and_port() -> None:
    with socket.socket() as unused:
        unused.bind((LOOPBACK, 0))
        port = unused.getsockname()[1]
    issuer = f"http://{LOOPBACK}:{port}"
    discovery = check(issuer)["issuer.discovery"]
    assert (discovery.summary, discovery.fix) == (
        f"cannot fetch {issuer}{DISCOVERY_PATH}: connection to {LOOPBACK}:{port} refused",
        f"nothing accepts connections at {LOOPBACK}:{port}: check the issuer's host and port "
        "(as the stack outputs give them), and any firewall between this runner and it",
    )


def test_a_missing_document_points_at_the_authorization_server(oidc_provider: str) -> None:
    discovery = check(oidc_provider + "/oauth2/aus-missing")["issuer.discovery"]
    assert discovery.fix == (
        "nothing is at that path on 127.0.0.1: check that the authorization server exists and "
        "is active in Okta (Security › API › Authorization Servers), and that the stack outputs "
        "are the current ones (`pulumi stack output`)"
    )


@pytest.mark.parametrize(
    ("status", "headers", "summary", "fix"),
    [
        (
            302,
            {"Location": "https://elsewhere.test/"},
            "answered HTTP 302, a redirect to https://elsewhere.test/",
            "the document must be served at the issuer's URL itself, not redirected: use exactly "
            "the URL the stack outputs give (Insomnia does not follow it elsewhere)",
        ),
        (
            403,
            {},
            "answered HTTP 403",
            "127.0.0.1 refused the request (HTTP 403); the document is public, so something "
            "between this runner and it (a proxy, a network policy) refuses it: check with your "
            "network team",
        ),
        (
            503,
            {},
            "answered HTTP 503",
            "127.0.0.1 failed on its side (HTTP 503): try again later (status.okta.com)",
        ),
    ],
    ids=["redirect", "forbidden", "unavailable"],
)
def test_each_http_status_gets_the_fix_for_that_status(
    answering: Callable[..., str], status: int, headers: dict[str, str], summary: str, fix: str
) -> None:
    issuer = answering(status, headers=headers)
    discovery = check(issuer)["issuer.discovery"]
    assert (discovery.summary, discovery.fix) == (f"{issuer}{DISCOVERY_PATH} {summary}", fix)


def test_a_page_that_is_not_json_points_at_the_issuer_url(answering: Callable[..., str]) -> None:
    issuer = answering(200, body=b"<html>sign in</html>")
    discovery = check(issuer)["issuer.discovery"]
    assert (discovery.summary, discovery.fix) == (
        f"{issuer}{DISCOVERY_PATH} did not answer with JSON",
        "what answers there is no OpenID provider's document: check the issuer's URL (as the "
        "stack outputs give it; Okta's issuers are https://HOST/oauth2/ID)",
    )


@pytest.fixture
def answering() -> Iterator[Callable[..., str]]:
    """Start a loopback HTTP server answering every GET with one status, headers and body;
    returns its base URL."""
    servers = LoopbackServers()

    def start(status: int, *, headers: dict[str, str] | None = None, body: bytes = b"") -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return servers.start(Handler)

    yield start
    servers.stop()


def test_keys_out_of_reach_point_at_the_jwks_uri_the_document_gives(
    fault_proxy: Callable[[Rewrite], str],
) -> None:
    with socket.socket() as unused:
        unused.bind((LOOPBACK, 0))
        port = unused.getsockname()[1]
    keys = f"http://{LOOPBACK}:{port}/keys"

    def elsewhere(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "jwks_uri": keys}

    jwks = check(fault_proxy(elsewhere))["issuer.jwks"]
    assert (jwks.status, jwks.summary, jwks.fix) == (
        Status.FAIL,
        f"cannot fetch {keys}: connection to {LOOPBACK}:{port} refused",
        f"nothing accepts connections at {LOOPBACK}:{port}: check the jwks_uri's host and port "
        "(as the discovery document gives them), and any firewall between this runner and it",
    )
