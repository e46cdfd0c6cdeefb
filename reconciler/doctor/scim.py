"""`scim`: the SCIM token is accepted, and what the directory supports and holds.

Written against the `Directory` interface: any directory (or a zero-argument callable
returning its `DirectoryProbe`) can be checked. The token never appears in what this says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reconciler.directory.base import Directory, DirectoryProbe
from reconciler.directory.transport import TOKEN_REJECTED
from reconciler.doctor.checks import CheckResult, failed, passed, skipped
from reconciler.errors import DirectoryAuthError, DirectoryError
from reconciler.outputs import SENSITIVE

SCIM = "scim"
REJECTED = TOKEN_REJECTED
REFRESH = "store the new token as INSOMNIA_SSO_SCIM_TOKEN, or in the file --scim-token-file names"
NO_SCIM = "no SCIM directory given (--scim URL or INSOMNIA_SSO_SCIM_URL)"

ScimSource = Directory | Callable[[], DirectoryProbe]
"""A directory to probe, or the probe itself."""


def check_scim(
    source: ScimSource | None, *, enterprise: str, secrets: Iterable[str] = ()
) -> CheckResult:
    """Probe the directory; a rejected token fails with REJECTED, any other directory
    error with its message (with every string in `secrets` masked, should one slip in)."""
    if source is None:
        return skipped(SCIM, NO_SCIM)
    try:
        probe = source.probe(enterprise=enterprise) if isinstance(source, Directory) else source()
    except DirectoryAuthError:
        return failed(SCIM, REJECTED, REFRESH)
    except DirectoryError as err:
        return failed(
            SCIM,
            _masked(str(err), secrets),
            "check --scim against the base URL Insomnia shows (Enterprise Controls › SCIM)",
        )
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
