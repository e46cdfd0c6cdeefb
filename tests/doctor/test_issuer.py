"""issuer.discovery and issuer.jwks against a real OpenID provider on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.doctor.checks import CheckResult, Deadline, Status
from reconciler.doctor.issuer import check_issuer, discovery_problems, signing_key_ids
from tests.doctor.conftest import LOOPBACK, Rewrite

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
