"""sso.url and domain.<name> against a real DNS server on loopback (dnslib)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from reconciler.doctor.checks import Deadline, Status
from reconciler.doctor.dns import Nameserver, Resolver
from reconciler.doctor.domains import (
    Verification,
    check_domain,
    check_sso_url,
    lookup_txt,
    verification,
)
from reconciler.state import ActualState, Confirmation, DomainState
from tests.doctor.conftest import LOOPBACK, SSO_HOST, Records, healthy_records

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SHOWN = "insomnia-verification=acme-com-1f2e"  # what Insomnia showed for acme.com


@pytest.fixture
def resolver(dns_server: tuple[str, Records]) -> Resolver:
    address, records = dns_server
    records.update(healthy_records())
    return Resolver([Nameserver.parse(address)])


def judge(name: str, resolver: Resolver, known: Verification | None) -> tuple[Status, str]:
    records, error = lookup_txt(name, resolver, Deadline.after(5))
    result = check_domain(name, records, error, known)
    return result.status, result.summary


def test_the_sso_urls_host_resolves(resolver: Resolver) -> None:
    result = check_sso_url(f"https://{SSO_HOST}/login/callback", resolver, Deadline.after(5))
    assert (result.status, result.summary) == (
        Status.PASS,
        f"https://{SSO_HOST}/login/callback is https and {SSO_HOST} resolves ({LOOPBACK})",
    )


def test_an_sso_url_whose_host_does_not_resolve_fails(resolver: Resolver) -> None:
    result = check_sso_url("https://typo.insomnia.test/login/callback", resolver, Deadline.after(5))
    assert (result.status, result.summary, result.fix) == (
        Status.FAIL,
        "typo.insomnia.test does not exist in DNS (NXDOMAIN): logins cannot come back",
        "copy the SSO URL again from Insomnia (Enterprise Controls › SSO) into spec.sso.ssoUrl, "
        "then `pulumi up` so Okta's redirect URI matches",
    )


def test_an_sso_url_whose_name_has_no_address_says_so(
    resolver: Resolver, dns_server: tuple[str, Records]
) -> None:
    dns_server[1][("mail.insomnia.test", "TXT")] = ["v=spf1 -all"]  # the name exists, no A
    result = check_sso_url("https://mail.insomnia.test/login/callback", resolver, Deadline.after(5))
    assert (result.status, result.summary) == (
        Status.FAIL,
        "mail.insomnia.test has no address record (A or AAAA): logins cannot come back",
    )


def test_an_sso_url_whose_nameserver_is_silent_points_at_dns(silent_udp: str) -> None:
    resolver = Resolver([Nameserver.parse(silent_udp)])
    result = check_sso_url(f"https://{SSO_HOST}/login/callback", resolver, Deadline.after(0.5))
    assert (result.status, result.summary, result.fix) == (
        Status.FAIL,
        f"no DNS answer for {SSO_HOST} within the timeout",
        "check the nameservers (--nameserver) or this machine's network",
    )


def test_a_published_txt_value_passes(resolver: Resolver) -> None:
    known = Verification(True, SHOWN, "alice@laptop on 2025-01-06")
    assert judge("acme.com", resolver, known) == (
        Status.PASS,
        "verified (alice@laptop on 2025-01-06); its TXT value is published",
    )


def test_a_missing_txt_value_fails(resolver: Resolver) -> None:
    known = Verification(True, "insomnia-verification=a-value-nobody-published", "alice")
    status, summary = judge("acme.com", resolver, known)
    assert (status, summary) == (
        Status.FAIL,
        "the TXT value Insomnia showed is not published at acme.com (2 TXT record(s) there)",
    )


def test_a_txt_value_on_a_domain_missing_from_dns_says_no_such_domain(resolver: Resolver) -> None:
    records, error = lookup_txt("acme.dev", resolver, Deadline.after(5))
    result = check_domain("acme.dev", records, error, Verification(True, SHOWN, "alice"))
    assert (result.status, result.summary, result.fix) == (
        Status.FAIL,
        "the TXT value Insomnia showed is not published: acme.dev does not exist in DNS (NXDOMAIN)",
        "check acme.dev in spec.domains; if it is right, its zone is missing at your DNS "
        "provider (or not delegated to it): create it, then publish a TXT record at acme.dev "
        f'with the value "{SHOWN}" at your DNS provider; Insomnia checks it again on its own',
    )


def test_a_txt_value_on_a_domain_without_txt_records_says_there_are_none(
    resolver: Resolver, dns_server: tuple[str, Records]
) -> None:
    dns_server[1][("acme.dev", "A")] = [LOOPBACK]  # the domain exists, with no TXT record
    status, summary = judge("acme.dev", resolver, Verification(True, SHOWN, "alice"))
    assert (status, summary) == (
        Status.FAIL,
        "the TXT value Insomnia showed is not published at acme.dev (no TXT record there)",
    )


def test_an_unconfirmed_domain_missing_from_dns_points_at_its_zone(resolver: Resolver) -> None:
    records, error = lookup_txt("acme.dev", resolver, Deadline.after(5))
    result = check_domain("acme.dev", records, error, Verification(False))
    assert (result.status, result.summary) == (
        Status.WARN,
        "not yet confirmed verified; acme.dev does not exist in DNS (NXDOMAIN)",
    )
    assert result.fix is not None
    assert result.fix.startswith(
        "check acme.dev in spec.domains; if it is right, its zone is missing at your DNS "
        "provider (or not delegated to it): create it, then add the TXT record Insomnia shows"
    )


def test_an_unconfirmed_domain_warns(resolver: Resolver) -> None:
    assert judge("acme.io", resolver, Verification(False)) == (
        Status.WARN,
        "not yet confirmed verified; 1 TXT record(s) published",
    )


def test_a_domain_verified_without_a_recorded_value_passes(resolver: Resolver) -> None:
    status, summary = judge("acme.io", resolver, Verification(True))
    assert (status, summary) == (
        Status.PASS,
        "verified; no TXT value recorded to check; 1 TXT record(s) published",
    )


def test_a_silent_nameserver_warns_within_the_timeout(silent_udp: str) -> None:
    resolver = Resolver([Nameserver.parse(silent_udp)])
    records, error = lookup_txt("acme.io", resolver, Deadline.after(0.5))
    result = check_domain("acme.io", records, error, Verification(False))
    assert result.status is Status.WARN
    assert result.summary == "TXT records not read: no DNS answer for acme.io within the timeout"


def test_a_confirmation_comes_first_then_the_stores_flag() -> None:
    confirmation = Confirmation(
        "domain", "acme.com", "sha256:x", "alice@laptop", NOW, MappingProxyType({"txt": SHOWN})
    )
    actual = ActualState(
        enterprise="acme",
        as_of=NOW,
        domains={"acme.com": DomainState("acme.com"), "acme.io": DomainState("acme.io", True)},
        confirmations={("domain", "acme.com"): confirmation},
    )
    assert verification(actual, "acme.com") == Verification(
        True, SHOWN, "alice@laptop on 2025-01-06"
    )
    assert verification(actual, "acme.io") == Verification(True)
    assert verification(actual, "acme.dev") == Verification(False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.53", Nameserver("192.0.2.53", 53)),
        ("127.0.0.1:5353", Nameserver("127.0.0.1", 5353)),
        ("::1", Nameserver("::1", 53)),
        ("[::1]:5353", Nameserver("::1", 5353)),
    ],
)
def test_nameservers_parse(text: str, expected: Nameserver) -> None:
    assert Nameserver.parse(text) == expected


@pytest.mark.parametrize("text", ["ns1.acme.com", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"])
def test_a_nameserver_that_is_not_an_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="nameserver"):
        Nameserver.parse(text)
