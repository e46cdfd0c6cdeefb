"""`scim`: the SCIM token is accepted, and what the directory supports and holds.

Written against the `Directory` interface: any directory (or a zero-argument callable
returning its `DirectoryProbe`) can be checked; `ScimAt` is one doctor opens itself once its
host is looked up, so that with `--nameserver` the SCIM host is reached where those
nameservers say, like every other host doctor talks to. The token never appears in what
this says. A failure's fix names its cause, read from the directory's one-line message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.directory import bounded_io, open_directory
from reconciler.directory.base import Directory, DirectoryProbe
from reconciler.directory.scim import ScimDirectory
from reconciler.directory.transport import TOKEN_REJECTED
from reconciler.doctor.checks import CheckResult, Deadline, failed, passed, skipped
from reconciler.doctor.dns import Resolver
from reconciler.doctor.reach import FetchError, PinnedTransport, Pins, pin
from reconciler.errors import DirectoryAuthError, DirectoryError
from reconciler.outputs import SENSITIVE

SCIM = "scim"
REJECTED = TOKEN_REJECTED
REFRESH = "store the new token as INSOMNIA_SSO_SCIM_TOKEN, or in the file --scim-token-file names"
NO_SCIM = "no SCIM directory given (--scim URL or INSOMNIA_SSO_SCIM_URL)"
SHOWN = "the base URL Insomnia shows (Enterprise Controls › SCIM)"


@dataclass(frozen=True)
class ScimAt:
    """A directory doctor opens itself: `open` is given the pins (host → address) its
    requests must follow, none unless --nameserver names nameservers."""

    url: str
    open: Callable[[Pins], Directory]


ScimSource = Directory | ScimAt | Callable[[], DirectoryProbe]
"""A directory to probe, one to open and probe, or the probe itself."""


def check_scim(
    source: ScimSource | None,
    *,
    enterprise: str,
    secrets: Iterable[str] = (),
    resolver: Resolver | None = None,
    deadline: Deadline | None = None,
) -> CheckResult:
    """Probe the directory; a rejected token fails with REJECTED, any other directory
    error with its message (with every string in `secrets` masked, should one slip in) and
    the fix for its cause."""
    if source is None:
        return skipped(SCIM, NO_SCIM)
    try:
        # Without a deadline (a caller outside doctor's run), the host's lookup gets 10 s.
        probe = _probe(source, enterprise, resolver or Resolver(), deadline or Deadline.after(10))
    except DirectoryAuthError:
        return failed(SCIM, REJECTED, REFRESH)
    except DirectoryError as err:
        message = _masked(str(err), secrets)
        return failed(SCIM, message, directory_fix(message))
    except FetchError as err:  # the SCIM host does not resolve through --nameserver
        return failed(SCIM, str(err), directory_fix(str(err)))
    refused = [r for r, answer in probe.requests if not answer.startswith("answered")]
    ignores = [r for r, answer in probe.requests if "ignores" in answer]
    if refused or ignores:
        return failed(
            SCIM,
            describe(probe),
            "the server does not serve every request Okta's client sends (profile "
            f"{probe.profile}); for another SCIM 2.0 directory try --scim-profile rfc7644",
        )
    return passed(SCIM, describe(probe))


def _probe(
    source: ScimSource, enterprise: str, resolver: Resolver, deadline: Deadline
) -> DirectoryProbe:
    if isinstance(source, Directory):
        return source.probe(enterprise=enterprise)
    if not isinstance(source, ScimAt):
        return source()
    pins: dict[str, str] = {}
    pin(urlsplit(source.url).hostname or "", resolver, deadline, pins)
    directory = source.open(pins)
    try:
        return directory.probe(enterprise=enterprise)
    finally:
        directory.close()


def open_pinned(
    url: str, token: str, *, profile: str | None, timeout: float, pins: Pins
) -> Directory:
    """The directory `open_directory` makes for doctor, its host's requests sent to the
    address in `pins` (name kept for TLS and Host), within the socket bounds it keeps."""
    directory = open_directory(url, token, profile=profile, timeout=timeout)
    if not pins:
        return directory
    # open_directory takes no transport; the same directory again, over one that pins the host.
    transport = PinnedTransport(bounded_io.transport(directory.max_in_flight), pins)
    pinned = ScimDirectory(
        url,
        token,
        profile=directory.profile,
        bounds=directory.http.bounds,
        transport=transport,
        max_in_flight=directory.max_in_flight,
    )
    directory.close()
    return pinned


_STATUS = re.compile(r": ([1-5][0-9]{2})\b")


def directory_fix(message: str) -> str:
    """The fix for a directory that could not be probed, by the cause its message names:
    the host's name, TLS, a redirect, a refused connection, no answer, a refused request."""
    text = message.lower()
    status = _STATUS.search(message)
    code = int(status.group(1)) if status else None
    if "serviceproviderconfig" in text:
        return (
            "Insomnia's connector is spoken with profile okta: leave --scim-profile rfc7644 "
            "(and INSOMNIA_SSO_SCIM_PROFILE) for other SCIM 2.0 directories"
        )
    if "cannot resolve" in text:
        return (
            f"check the host in --scim against {SHOWN}, and your DNS (this machine's "
            "resolver, or the nameservers --nameserver names)"
        )
    if "tls with" in text and "not trusted" in text:
        return (
            "the SCIM host's certificate is not trusted here: check the host in --scim against "
            f"{SHOWN}; behind a TLS-inspecting proxy, trust its CA (SSL_CERT_FILE)"
        )
    if "tls with" in text:
        return (
            "the SCIM host does not answer as an https server there: check the scheme and "
            f"port in --scim against {SHOWN}"
        )
    if "redirected" in text:
        return (
            f"give --scim exactly {SHOWN}: the server redirects elsewhere, and the token is "
            "never sent on to where a redirect points"
        )
    if "refused" in text and "connection" in text:
        return (
            f"nothing accepts connections there: check the host and port in --scim against "
            f"{SHOWN}, and any firewall between this runner and it"
        )
    if code is not None and code >= 500:
        return f"the SCIM server failed on its side (HTTP {code}): run doctor again later"
    if code == 404:
        return f"nothing answers at that path (HTTP 404): check the path in --scim against {SHOWN}"
    if code is not None and code >= 400:
        return (
            f"the SCIM server refused the request (HTTP {code}): check --scim against {SHOWN}, "
            "and that the connector is enabled there"
        )
    if "busy" in text or "cannot connect" in text or "no whole answer" in text:
        return (
            "the SCIM server did not answer in time: check that this runner can reach it (a "
            "firewall, a proxy), or raise --timeout; run doctor again later if it was busy"
        )
    if "insomnia_sso_scim_" in text:
        return "correct that setting in the environment, or unset it for the default"
    if "totalresults" in text or "not json" in text:
        return f"what answers at --scim is not a SCIM directory: check it against {SHOWN}"
    return f"check --scim against {SHOWN}"


def describe(probe: DirectoryProbe) -> str:
    """`token accepted; 42 user(s), 3 team(s); profile okta: GET /Users?startIndex=&count=
    answered, …` (rfc7644 also says what ServiceProviderConfig announced)."""
    text = f"token accepted; {probe.users} user(s), {probe.teams} team(s); profile {probe.profile}"
    if probe.profile == "rfc7644":
        bulk = f"Bulk (up to {probe.bulk_max_operations} operations)" if probe.bulk else "no Bulk"
        patch = "PATCH" if probe.patch else "no PATCH (PUT instead)"
        text += f" ({bulk}, {patch}, pages of {probe.page_size})"
    answers = "; ".join(f"{request} {answer}" for request, answer in probe.requests)
    return f"{text}: {answers}" if answers else text


def _masked(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, SENSITIVE)
    return text
