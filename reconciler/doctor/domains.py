"""`sso.url` and `domain.<name>`: the values pasted into Insomnia that DNS can vouch for."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.doctor.checks import CheckResult, Deadline, failed, passed, warned
from reconciler.doctor.dns import (
    DNS_FIX,
    NXDOMAIN,
    DnsLookupError,
    HostNotFoundError,
    Resolver,
)
from reconciler.outputs import secure_url
from reconciler.state import ActualState

SSO_URL = "sso.url"
SSO_URL_FIX = (
    "copy the SSO URL again from Insomnia (Enterprise Controls › SSO) into spec.sso.ssoUrl, "
    "then `pulumi up` so Okta's redirect URI matches"
)


def domain_check_id(name: str) -> str:
    """`domain.acme.com`."""
    return f"domain.{name}"


def check_sso_url(sso_url: str, resolver: Resolver, deadline: Deadline) -> CheckResult:
    """The SSO URL (Okta's redirect URI) is https and its host resolves."""
    host = urlsplit(sso_url).hostname or ""
    if not secure_url(sso_url):
        return failed(SSO_URL, f"{sso_url} is not https (http for loopback only)", SSO_URL_FIX)
    try:
        addresses = resolver.addresses(host, deadline)
    except DnsLookupError as err:
        return failed(SSO_URL, str(err), DNS_FIX)
    except HostNotFoundError as err:
        return failed(SSO_URL, f"{err}: logins cannot come back", SSO_URL_FIX)
    return passed(SSO_URL, f"{sso_url} is https and {host} resolves ({', '.join(addresses)})")


@dataclass(frozen=True)
class Verification:
    """What the record says of a domain: confirmed verified or not, by whom, and the TXT
    value Insomnia showed when the owner recorded it."""

    verified: bool
    txt: str | None = None
    by: str | None = None


def verification(actual: ActualState, name: str) -> Verification:
    """A confirmation first (`confirm domain NAME --txt VALUE`), else the store's flag."""
    confirmation = actual.confirmations.get(("domain", name))
    if confirmation is not None:
        at = confirmation.at.strftime("%Y-%m-%d")
        return Verification(True, confirmation.detail.get("txt"), f"{confirmation.actor} on {at}")
    domain = actual.domains.get(name)
    return Verification(domain is not None and domain.verified)


def check_domain(
    name: str, records: list[str] | None, lookup_error: str | None, known: Verification | None
) -> CheckResult:
    """Judge one claimed domain from its TXT records (None: NXDOMAIN) and the record.

    `lookup_error` is why the TXT records could not be read; `known` is None when the
    record could not be read either.
    """
    check = domain_check_id(name)
    published = records or []
    if known is not None and known.txt is not None:
        publish = (
            f'publish a TXT record at {name} with the value "{known.txt}" at your DNS '
            "provider; Insomnia checks it again on its own"
        )
        if lookup_error is not None:
            summary = f"cannot check the TXT value Insomnia showed: {lookup_error}"
            return failed(check, summary, DNS_FIX)
        if records is None:
            return failed(
                check,
                f"the TXT value Insomnia showed is not published: {name} {NXDOMAIN}",
                f"check {name} in spec.domains; if it is right, its zone is missing at your DNS "
                f"provider (or not delegated to it): create it, then {publish}",
            )
        if known.txt not in published:
            there = f"{len(published)} TXT record(s) there" if published else "no TXT record there"
            summary = f"the TXT value Insomnia showed is not published at {name} ({there})"
            return failed(check, summary, publish)
        return passed(check, f"verified ({known.by}); its TXT value is published")
    if lookup_error is not None:
        return warned(check, f"TXT records not read: {lookup_error}", DNS_FIX)
    if records is None:
        found = f"{name} {NXDOMAIN}"
    else:
        found = (
            f"{len(published)} TXT record(s) published" if published else "no TXT record published"
        )
    if known is None:
        return warned(
            check,
            f"verification unknown (the record could not be read); {found}",
            "see record.lock for why the record could not be read",
        )
    if not known.verified:
        add = (
            "add the TXT record Insomnia shows (Enterprise Controls › Domains), let it verify, "
            f"then record it: `insomnia-sso confirm domain {name} --txt VALUE`"
        )
        if records is None:
            add = (
                f"check {name} in spec.domains; if it is right, its zone is missing at your DNS "
                f"provider (or not delegated to it): create it, then {add}"
            )
        return warned(check, f"not yet confirmed verified; {found}", add)
    by = f" ({known.by})" if known.by else ""
    return passed(check, f"verified{by}; no TXT value recorded to check; {found}")


def lookup_txt(
    name: str, resolver: Resolver, deadline: Deadline
) -> tuple[list[str] | None, str | None]:
    """(records or None for NXDOMAIN, None) or (None, why the lookup failed)."""
    try:
        return resolver.txt(name, deadline), None
    except DnsLookupError as err:
        return None, str(err)
