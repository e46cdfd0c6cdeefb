"""The scim check against the Directory interface, with a tiny in-test directory (a double for
the pure check: the SCIM adapter has tests of its own against a real server)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from reconciler.directory.base import Directory, DirectoryProbe, WriteReport
from reconciler.doctor.checks import Status
from reconciler.doctor.scim import REJECTED, check_scim
from reconciler.errors import DirectoryAuthError, DirectoryError
from reconciler.plan import PlanChange
from reconciler.state import DirectoryState

TOKEN = "scim-token-0123456789abcdef"
OKTA_READS = (
    ("GET /Users?startIndex=&count=", "answered"),
    ("GET /Groups?startIndex=&count=", "answered"),
    ('GET /Users?filter=userName eq "…"', "answered"),
)
PROBE = DirectoryProbe(
    profile="okta",
    bulk=False,
    bulk_max_operations=0,
    patch=True,
    page_size=100,
    users=42,
    teams=3,
    requests=OKTA_READS,
)


class ProbedDirectory(Directory):
    """Answers `probe` with a fixed probe, or raises the error it was given."""

    def __init__(self, answer: DirectoryProbe | Exception) -> None:
        self.answer = answer
        self.probed: list[str] = []

    def probe(self, *, enterprise: str) -> DirectoryProbe:
        self.probed.append(enterprise)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def read(self, *, enterprise: str) -> DirectoryState:
        raise NotImplementedError

    def write(self, *, enterprise: str, changes: Sequence[PlanChange]) -> WriteReport:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_an_accepted_token_says_what_the_directory_supports_and_holds() -> None:
    directory = ProbedDirectory(PROBE)
    result = check_scim(directory, enterprise="acme")
    assert directory.probed == ["acme"]
    assert (result.status, result.summary, result.fix) == (
        Status.PASS,
        "token accepted; 42 user(s), 3 team(s); profile okta: GET /Users?startIndex=&count= "
        "answered; GET /Groups?startIndex=&count= answered; GET /Users?filter=userName eq "
        '"…" answered',
        None,
    )


def test_a_server_that_refuses_one_of_okta_s_reads_fails() -> None:
    refused = (*OKTA_READS[:2], (OKTA_READS[2][0], "refused: GET /Users: 400 invalidFilter"))
    result = check_scim(lambda: replace(PROBE, requests=refused), enterprise="acme")
    assert result.status is Status.FAIL
    assert result.summary.endswith(
        'GET /Users?filter=userName eq "…" refused: GET /Users: 400 invalidFilter'
    )
    assert result.fix == (
        "the server does not serve every request Okta's client sends (profile okta); for "
        "another SCIM 2.0 directory try --scim-profile rfc7644"
    )


def test_profile_rfc7644_says_what_the_server_announced() -> None:
    probe = DirectoryProbe(
        profile="rfc7644",
        bulk=False,
        bulk_max_operations=0,
        patch=False,
        page_size=50,
        users=0,
        teams=0,
        requests=OKTA_READS[:2],
    )
    assert check_scim(lambda: probe, enterprise="acme").summary == (
        "token accepted; 0 user(s), 0 team(s); profile rfc7644 (no Bulk, no PATCH (PUT "
        "instead), pages of 50): GET /Users?startIndex=&count= answered; "
        "GET /Groups?startIndex=&count= answered"
    )


def test_a_rejected_token_fails_and_never_shows_the_token() -> None:
    directory = ProbedDirectory(DirectoryAuthError(f"401 for Bearer {TOKEN}"))
    result = check_scim(directory, enterprise="acme", secrets=[TOKEN])
    assert result.status is Status.FAIL
    assert result.summary == (
        "SCIM token rejected (expired or revoked?): refresh it in Insomnia › Enterprise "
        "Controls › SCIM"
    )
    assert result.summary == REJECTED
    assert TOKEN not in f"{result.summary} {result.fix}"


@pytest.mark.parametrize(
    "message", ["cannot reach scim.insomnia.test: connection refused", f"echoing {TOKEN}"]
)
def test_another_directory_error_fails_with_its_message_masked(message: str) -> None:
    result = check_scim(
        ProbedDirectory(DirectoryError(message)), enterprise="acme", secrets=[TOKEN]
    )
    assert result.status is Status.FAIL
    assert result.summary == message.replace(TOKEN, "(sensitive)")


SHOWN = "the base URL Insomnia shows (Enterprise Controls › SCIM)"
LISTED = "SCIM Users cannot be listed: "
"""How the probe prefixes the transport's one-line reasons."""


@pytest.mark.parametrize(
    ("message", "fix"),
    [
        (
            LISTED + "GET /Users: cannot resolve the SCIM host scim.acme.test",
            f"check the host in --scim against {SHOWN}, and your DNS (this machine's resolver, "
            "or the nameservers --nameserver names)",
        ),
        (
            LISTED + "GET /Users: connection to scim.acme.test:443 refused: is the SCIM URL right?",
            f"nothing accepts connections there: check the host and port in --scim against "
            f"{SHOWN}, and any firewall between this runner and it",
        ),
        (
            LISTED + "GET /Users: TLS with scim.acme.test:443 failed: its certificate is not "
            "trusted (self-signed certificate)",
            "the SCIM host's certificate is not trusted here: check the host in --scim against "
            f"{SHOWN}; behind a TLS-inspecting proxy, trust its CA (SSL_CERT_FILE)",
        ),
        (
            LISTED + "GET /Users: TLS with scim.acme.test:80 failed (WRONG_VERSION_NUMBER): is "
            "it an https server?",
            "the SCIM host does not answer as an https server there: check the scheme and port "
            f"in --scim against {SHOWN}",
        ),
        (
            LISTED + "GET /Users: redirected (301) to https://login.acme.test/; not followed "
            "(the token stays with scim.acme.test): give --scim the URL Insomnia shows",
            f"give --scim exactly {SHOWN}: the server redirects elsewhere, and the token is "
            "never sent on to where a redirect points",
        ),
        (
            LISTED + "GET /Users: 404 no such tenant",
            f"nothing answers at that path (HTTP 404): check the path in --scim against {SHOWN}",
        ),
        (
            LISTED + "GET /Users: 400 invalidSyntax: startIndex",
            f"the SCIM server refused the request (HTTP 400): check --scim against {SHOWN}, and "
            "that the connector is enabled there",
        ),
        (
            LISTED + "GET /Users: 500 boom (gave up after retrying)",
            "the SCIM server failed on its side (HTTP 500): run doctor again later",
        ),
        (
            LISTED + "GET /Users: cannot connect (ConnectTimeout) (gave up after retrying)",
            "the SCIM server did not answer in time: check that this runner can reach it (a "
            "firewall, a proxy), or raise --timeout; run doctor again later if it was busy",
        ),
        (
            "SCIM Users answer has no totalResults",
            f"what answers at --scim is not a SCIM directory: check it against {SHOWN}",
        ),
        (
            "INSOMNIA_SSO_SCIM_TIMEOUT must be a positive number, not 'soon'",
            "correct that setting in the environment, or unset it for the default",
        ),
    ],
    ids=[
        "dns",
        "refused",
        "untrusted",
        "not-tls",
        "redirect",
        "not-found",
        "bad-request",
        "server-error",
        "no-answer",
        "not-scim",
        "setting",
    ],
)
def test_a_directory_error_gets_the_fix_for_its_cause(message: str, fix: str) -> None:
    result = check_scim(ProbedDirectory(DirectoryError(message)), enterprise="acme")
    assert (result.status, result.summary, result.fix) == (Status.FAIL, message, fix)


def test_without_a_directory_the_check_is_skipped() -> None:
    result = check_scim(None, enterprise="acme")
    assert (result.status, result.summary) == (
        Status.SKIP,
        "no SCIM directory given (--scim URL or INSOMNIA_SSO_SCIM_URL)",
    )
