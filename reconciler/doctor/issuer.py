"""`issuer.discovery` and `issuer.jwks`: what Insomnia will fetch from the issuer at login.

Insomnia holds the issuer copied from Okta; at login it reads
`{issuer}/.well-known/openid-configuration`, sends people to its `authorization_endpoint`,
redeems the code at its `token_endpoint` and checks ID tokens with the keys at `jwks_uri`.
Each problem found here is one a person would otherwise meet as a failed login.

When the spec names a custom domain, `issuer.custom_domain` comes first: the domain must
resolve, through doctor's own DNS (the system's, or `--nameserver`), and every request to
that host then goes to the address found, with the domain's name kept for TLS (SNI and the
certificate) and in the Host header, as `curl --resolve` does. What is checked is where that
DNS sends people, not what this machine's resolver caches. With `--nameserver`, the issuer's
host and the keys' are reached the same way (`reach.pin`).

Every failure says its cause, and its fix is the fix for that cause (`fetch_fix`): a name
that does not resolve points at the host and DNS, a refused connection at the host and
port, TLS at the certificate, an HTTP status at what that status means; only what is wrong
with the document itself points at the authorization server in Okta.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from reconciler.doctor.checks import CheckResult, Deadline, failed, passed, skipped, warned
from reconciler.doctor.dns import DNS_FIX, DnsLookupError, HostNotFoundError, Resolver
from reconciler.doctor.reach import Cause, FetchError, Where, fetch_json, pin
from reconciler.outputs import secure_url

CUSTOM_DOMAIN = "issuer.custom_domain"
DISCOVERY = "issuer.discovery"
JWKS = "issuer.jwks"
IDS = (DISCOVERY, JWKS)

DISCOVERY_PATH = "/.well-known/openid-configuration"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
SCOPES = ("openid", "profile", "email")
SIGNING_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})

NO_OUTPUTS = "no Okta outputs (--okta-outputs or --stack)"
SERVER_FIX = (
    "check the authorization server in Okta (Security › API › Authorization Servers): "
    "it must be active, and the stack outputs must be the current ones"
)
FLOW_FIX = (
    "allow the authorization-code flow on the authorization server's access policy rule "
    "(Okta › Security › API › Authorization Servers › Access Policies), then `pulumi up`"
)


@dataclass(frozen=True)
class Source:
    """Whose URL a fetch used, and where that URL came from, for the fixes to name."""

    whose: str
    given_by: str
    """Who gives the URL, with the verb: `the stack outputs give`."""


ISSUER = Source("the issuer's", "the stack outputs give")
KEYS = Source("the jwks_uri's", "the discovery document gives")


def fetch_fix(err: FetchError, source: Source) -> str:
    """What to do about a fetch that failed, for its cause."""
    where, host = err.where, err.where.host
    if err.cause is Cause.DNS:
        return (
            f"check {source.whose} host {host} (as {source.given_by} it) and your DNS "
            "(this machine's resolver, or the nameservers --nameserver names)"
        )
    if err.cause is Cause.REFUSED:
        return (
            f"nothing accepts connections at {where}: check {source.whose} host and port "
            f"(as {source.given_by} them), and any firewall between this runner and it"
        )
    if err.cause is Cause.TLS and err.untrusted:
        return (
            f"the certificate {host} presents is not trusted here: it must name {host} and come "
            "from a trusted CA (for a custom domain, the certificate set in Okta › "
            "Customizations › Brands › Domains); behind a TLS-inspecting proxy, trust its CA "
            "(SSL_CERT_FILE)"
        )
    if err.cause is Cause.TLS:
        return (
            f"{where} does not answer as an https server: check {source.whose} scheme and port "
            f"(as {source.given_by} them)"
        )
    if err.cause is Cause.TIMEOUT:
        return (
            f"{host} did not answer in time: check that this runner can reach it (a firewall, "
            "a proxy), or raise --timeout"
        )
    if err.cause is Cause.STATUS and err.status is not None:
        return _status_fix(err.status, host, source)
    if err.cause is Cause.ANSWER:
        return (
            f"what answers there is no OpenID provider's document: check {source.whose} URL "
            f"(as {source.given_by} it; Okta's issuers are https://HOST/oauth2/ID)"
        )
    return (
        f"the connection to {host} broke off: check the network between this runner and it "
        "(a proxy?), then run doctor again"
    )


def _status_fix(status: int, host: str, source: Source) -> str:
    if 300 <= status < 400:
        return (
            f"the document must be served at {source.whose} URL itself, not redirected: use "
            f"exactly the URL {source.given_by} (Insomnia does not follow it elsewhere)"
        )
    if status in (404, 410):
        return (
            f"nothing is at that path on {host}: check that the authorization server exists "
            "and is active in Okta (Security › API › Authorization Servers), and that the "
            "stack outputs are the current ones (`pulumi stack output`)"
        )
    if status >= 500:
        return f"{host} failed on its side (HTTP {status}): try again later (status.okta.com)"
    return (
        f"{host} refused the request (HTTP {status}); the document is public, so something "
        "between this runner and it (a proxy, a network policy) refuses it: check with your "
        "network team"
    )


def custom_domain_fix(domain: str) -> str:
    """What to do when the custom domain does not resolve."""
    return (
        f"add {domain} as a custom domain in Okta (Customizations › Brands › Domains), publish "
        "the DNS records Okta shows and let Okta verify it; or correct "
        "spec.sso.okta.customDomain"
    )


def pending_fix(domain: str) -> str:
    """What to do when the issuer is still on the org's host while the spec names a domain."""
    return (
        f"run `pulumi up` to move the issuer to {domain}, then `insomnia-sso apply` and give "
        "Insomnia's SSO connection the new issuer (its step reopens)"
    )


def issuer_ids(custom_domain: str | None) -> tuple[str, ...]:
    """The checks `check_issuer` reports, in order: the custom domain's first when there is one."""
    return (CUSTOM_DOMAIN, *IDS) if custom_domain else IDS


def discovery_url(issuer: str) -> str:
    """Where an issuer's discovery document lives (OpenID Connect Discovery 1.0, §4)."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def discovery_problems(
    document: Mapping[str, object],
    issuer: str,
    org_host: str | None,
    custom_domain: str | None = None,
) -> list[tuple[str, str]]:
    """What is wrong with a discovery document for Insomnia's login: (problem, fix) pairs.

    The issuer's host must be the spec's Okta org or, when the spec names one, its custom
    domain."""
    problems: list[tuple[str, str]] = []
    if document.get("issuer") != issuer:
        problems.append(
            (
                f"the document names issuer {document.get('issuer')!r}, the outputs {issuer!r}: "
                "they must match exactly, trailing slash included",
                f"set the issuer in Insomnia's SSO connection (and the stack) to exactly "
                f"{document.get('issuer')}",
            )
        )
    for endpoint in ENDPOINTS:
        value = document.get(endpoint)
        if not isinstance(value, str) or not value:
            problems.append((f"{endpoint} is missing", SERVER_FIX))
        elif not secure_url(value):
            problems.append(
                (f"{endpoint} {value} is not https (http is for loopback hosts only)", SERVER_FIX)
            )
    if "code" not in (_listed(document, "response_types_supported") or []):
        problems.append(("response_types_supported does not hold `code`", FLOW_FIX))
    grants = _listed(document, "grant_types_supported")
    if grants is not None and "authorization_code" not in grants:
        problems.append(("grant_types_supported does not hold `authorization_code`", FLOW_FIX))
    scopes = _listed(document, "scopes_supported")
    missing = [scope for scope in SCOPES if scopes is not None and scope not in scopes]
    if missing:
        problems.append(
            (
                f"scopes_supported lacks {', '.join(missing)}",
                f"add the scope(s) {', '.join(missing)} to the authorization server in Okta",
            )
        )
    host = urlsplit(issuer).hostname
    if org_host is not None and host not in (org_host, custom_domain):
        where = f"the spec's Okta org {org_host}"
        if custom_domain is not None:
            where = f"neither {where} nor its customDomain {custom_domain}"
        problems.append(
            (
                f"the issuer's host {host} is {'' if custom_domain else 'not '}{where}",
                "use the outputs of this enterprise's own stack, or correct spec.sso.okta.orgUrl",
            )
        )
    return problems


def _listed(document: Mapping[str, object], key: str) -> list[str] | None:
    """The list under `key`, None when the document does not list it at all."""
    value = document.get(key)
    if value is None:
        return None
    return [str(item) for item in value] if isinstance(value, list) else []


def signing_key_ids(jwks: object) -> list[str]:
    """The `kid`s of the keys in a JWK Set usable to check signatures (`use` absent or
    `sig`, `kty` RSA, EC or OKP, a `kid`)."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        return []
    return [
        str(key["kid"])
        for key in keys
        if isinstance(key, dict)
        and key.get("use", "sig") == "sig"
        and key.get("kty") in SIGNING_KEY_TYPES
        and isinstance(key.get("kid"), str)
        and key["kid"]
    ]


def check_custom_domain(
    domain: str, resolver: Resolver, deadline: Deadline
) -> tuple[CheckResult, str | None]:
    """`issuer.custom_domain`: the domain resolves; with the address its requests go to."""
    try:
        addresses = resolver.addresses(domain, deadline)
    except DnsLookupError as err:
        return failed(CUSTOM_DOMAIN, str(err), DNS_FIX), None
    except HostNotFoundError as err:
        summary = (
            f"{domain}, the spec's customDomain, {err.reason}: the issuer on it is out of reach"
        )
        return failed(CUSTOM_DOMAIN, summary, custom_domain_fix(domain)), None
    return passed(CUSTOM_DOMAIN, f"{domain} resolves ({', '.join(addresses)})"), addresses[0]


def check_issuer(
    issuer: str | None,
    org_url: str,
    client: httpx.Client,
    deadline: Deadline,
    *,
    custom_domain: str | None = None,
    resolver: Resolver | None = None,
) -> list[CheckResult]:
    """`issuer.discovery` then `issuer.jwks` (which needs the document's `jwks_uri`), after
    `issuer.custom_domain` when the spec names a custom domain. With a resolver that names
    nameservers, every host is reached where they say it is."""
    resolver = resolver or Resolver()
    results: list[CheckResult] = []
    pins: dict[str, str] = {}
    unreachable = None
    if custom_domain is not None:
        domain_check, address = check_custom_domain(custom_domain, resolver, deadline)
        results.append(domain_check)
        if address is None:
            unreachable = f"not checked: {custom_domain} does not resolve (see {CUSTOM_DOMAIN})"
        else:
            pins[custom_domain] = address
    if issuer is None:
        return [*results, skipped(DISCOVERY, NO_OUTPUTS), skipped(JWKS, NO_OUTPUTS)]
    needs_document = "not checked: the discovery document could not be read"
    if not secure_url(issuer):
        summary = f"issuer {issuer} is not https (http is for loopback hosts only)"
        fix = "give Insomnia and the stack the issuer as Okta shows it: https://HOST/oauth2/ID"
        return [*results, failed(DISCOVERY, summary, fix), skipped(JWKS, needs_document)]
    host = urlsplit(issuer).hostname or ""
    if unreachable is not None and host == custom_domain:
        return [*results, skipped(DISCOVERY, unreachable), skipped(JWKS, needs_document)]
    url = discovery_url(issuer)
    try:
        pin(host, resolver, deadline, pins)
        document = fetch_json(client, url, deadline, pins)
    except FetchError as err:
        discovery = failed(DISCOVERY, str(err), fetch_fix(err, ISSUER))
        return [*results, discovery, skipped(JWKS, needs_document)]
    if not isinstance(document, dict):
        summary = f"{url} is not a JSON object"
        fix = fetch_fix(FetchError(summary, Cause.ANSWER, Where(host)), ISSUER)
        return [*results, failed(DISCOVERY, summary, fix), skipped(JWKS, needs_document)]
    org_host = urlsplit(org_url).hostname
    problems = discovery_problems(document, issuer, org_host, custom_domain)
    usable = f"{url} is a usable OpenID configuration for {issuer}"
    if problems:
        summary = "; ".join(problem for problem, _ in problems)
        discovery = failed(DISCOVERY, summary, problems[0][1])
    elif custom_domain is not None and host != custom_domain:
        discovery = warned(
            DISCOVERY,
            f"{usable}, but the stack has not picked up customDomain {custom_domain}: the "
            "issuer is still on the Okta org's domain",
            pending_fix(custom_domain),
        )
    else:
        discovery = passed(DISCOVERY, usable)
    jwks = _check_jwks(document.get("jwks_uri"), client, deadline, pins, resolver)
    return [*results, discovery, jwks]


def _check_jwks(
    jwks_uri: object,
    client: httpx.Client,
    deadline: Deadline,
    pins: dict[str, str],
    resolver: Resolver,
) -> CheckResult:
    if not isinstance(jwks_uri, str) or not secure_url(jwks_uri):
        return skipped(JWKS, "not checked: the discovery document names no usable jwks_uri")
    try:
        pin(urlsplit(jwks_uri).hostname or "", resolver, deadline, pins)
        kids = signing_key_ids(fetch_json(client, jwks_uri, deadline, pins))
    except FetchError as err:
        return failed(JWKS, str(err), fetch_fix(err, KEYS))
    if not kids:
        return failed(
            JWKS,
            f"{jwks_uri} holds no key usable for signatures (use sig, kty RSA/EC/OKP, a kid)",
            SERVER_FIX,
        )
    return passed(JWKS, f"{len(kids)} signing key(s) at {jwks_uri} ({', '.join(kids)})")
