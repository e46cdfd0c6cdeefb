"""The Okta half's results, as the reconciler needs them: Pulumi stack outputs.

Read from the JSON of `pulumi stack output --json --show-secrets` (a file, or the CLI run for
`--stack`). The client secret is reduced to a keyed fingerprint on arrival and the plaintext
is dropped: nothing downstream can print, journal or store it.

An app adopted from a hand-made setup (stack config `insomnia-sso:adopt`) has no secret in the
stack: Okta hands an app's secret out only when the app is created, and the provider never
reads it back. Its stack says so with `client_secret_adopted: true` and an empty (or absent)
`client_secret`; then the secret is unknown (`secret_fingerprint` None, `secret_adopted`
True) while the client id and issuer are known, and the secret Insomnia holds is kept. An
empty secret without that flag is still refused.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.errors import OutputsError
from reconciler.spec import Enterprise

UNKNOWN = "(known after pulumi up)"
SENSITIVE = "(sensitive)"
REQUIRED = ("client_id", "client_secret", "issuer", "app_id", "auth_server_id", "assigned_users")
NAMES = "assigned_names"
"""Optional output: {login: {givenName, familyName}} as Okta holds them."""
ADOPTED_FLAG = "client_secret_adopted"
"""Optional output: true when the app was adopted and Okta gave the stack no secret."""
ADOPTED_APP_WARNING = (
    "client secret not known from Okta (adopted app): keeping the secret Insomnia holds"
)
MAX_OUTPUTS_BYTES = 64 * 1024 * 1024


def custom_domain_pending_warning(domain: str, issuer: str) -> str:
    """The warning for outputs whose issuer is still on the org's host while the spec names a
    custom domain: the stack ran before the spec named it, or has not run since."""
    return (
        f"the stack has not picked up customDomain {domain}: its issuer {issuer} is still on "
        f"the Okta org's domain; the next `pulumi up` moves the issuer Insomnia holds to "
        f"{domain}, and the sso_connection step reopens then"
    )


@dataclass(frozen=True)
class OktaOutputs:
    """Okta values the Insomnia side must hold; None everywhere means not known yet."""

    client_id: str | None = None
    issuer: str | None = None
    secret_fingerprint: str | None = field(default=None, repr=False)
    app_id: str | None = None
    auth_server_id: str | None = None
    assigned_users: frozenset[str] | None = None
    secret_adopted: bool = False
    """The app was adopted and its secret is not in the stack: keep the one Insomnia holds."""
    names: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Okta login → (given name, family name), from the optional `assigned_names` output:
    what Insomnia's SCIM users are given when the spec names nobody."""
    secret_source: str = ""
    """Where the secret can be read, as said to an owner (`run pulumi stack output --stack
    prod --show-secrets client_secret`, or `copy client_secret from outputs.json`)."""
    warnings: tuple[str, ...] = ()
    """What a person should know about these outputs that does not stop a run (the issuer
    not yet on the spec's custom domain); the plan lists them with its own."""

    @property
    def known(self) -> bool:
        """True once outputs were given (after `pulumi up`)."""
        return self.client_id is not None

    @property
    def secret_known(self) -> bool:
        """True when the outputs carry the secret (as its fingerprint); False before `pulumi up`
        and for an adopted app, whose secret only Insomnia (and whoever pasted it) holds."""
        return self.secret_fingerprint is not None


def fingerprint(secret: str, enterprise: str) -> str:
    """A keyed, one-way fingerprint that detects a changed secret without keeping it."""
    digest = hmac.new(enterprise.encode(), secret.encode(), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest}"


def load_outputs_file(path: str | Path, enterprise: Enterprise) -> OktaOutputs:
    """Outputs from a file holding `pulumi stack output --json --show-secrets`."""
    parsed = parse_outputs(outputs_file_text(path), str(path), enterprise)
    return replace(parsed, secret_source=f"copy client_secret from {path}")


def outputs_file_text(path: str | Path) -> str:
    """The text of an outputs file, bounded in size; OutputsError when it cannot be read."""
    try:
        if Path(path).stat().st_size > MAX_OUTPUTS_BYTES:
            raise OutputsError(f"{path}: larger than {MAX_OUTPUTS_BYTES:,} bytes")
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise OutputsError(f"{path}: cannot read Okta outputs: {reason}") from None


def outputs_from_stack(stack: str, enterprise: Enterprise) -> OktaOutputs:
    """Run `pulumi stack output --json --show-secrets --stack NAME` and parse it."""
    parsed = parse_outputs(stack_outputs_text(stack), f"stack {stack}", enterprise)
    where = f"run `pulumi stack output --stack {stack} --show-secrets client_secret`"
    return replace(parsed, secret_source=where)


def stack_outputs_text(stack: str) -> str:
    """What `pulumi stack output --json --show-secrets --stack NAME` prints."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise OutputsError(
            "--stack needs the Pulumi CLI on PATH; without it, save "
            "`pulumi stack output --json --show-secrets` to a file and pass --okta-outputs FILE"
        )
    command = [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = subprocess.run(  # noqa: S603  (fixed argv, no shell)
            command, capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise OutputsError(f"pulumi stack output --stack {stack}: {err}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OutputsError(f"pulumi stack output --stack {stack} failed: {last}")
    return done.stdout


def _outputs_object(text: str, source: str) -> dict[str, Any]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as err:
        raise OutputsError(f"{source}:{err.lineno}: not JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise OutputsError(f"{source}: expected a JSON object of stack outputs")
    return data


def parse_assignments(text: str, source: str) -> OktaOutputs:
    """Only who is assigned in Okta (`assigned_users`, `assigned_names`), for a command that
    has no spec to check the rest against (`import` starting from nothing)."""
    data = _outputs_object(text, source)
    if "assigned_users" not in data:
        raise OutputsError(
            f"{source}: missing stack output(s) assigned_users; "
            "is this the output of the insomnia-sso Pulumi stack?"
        )
    return OktaOutputs(
        assigned_users=_assigned(source, data["assigned_users"]),
        names=_names(source, data.get(NAMES, {})),
    )


def _assigned(source: str, users: object) -> frozenset[str]:
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        raise OutputsError(f"{source}: assigned_users must be a list of logins")
    return frozenset(u.lower() for u in users)


def parse_outputs(text: str, source: str, enterprise: Enterprise) -> OktaOutputs:
    """Validate outputs JSON against the stack-output contract and this enterprise's spec."""
    data = _outputs_object(text, source)
    adopted = data.get(ADOPTED_FLAG, False)
    if not isinstance(adopted, bool):
        raise OutputsError(f"{source}: {ADOPTED_FLAG} must be true or false")
    missing = [
        key for key in REQUIRED if key not in data and not (adopted and key == "client_secret")
    ]
    if missing:
        raise OutputsError(
            f"{source}: missing stack output(s) {', '.join(missing)}; "
            "is this the output of the insomnia-sso Pulumi stack?"
        )
    for key in ("client_id", "issuer", "app_id", "auth_server_id"):
        if not isinstance(data[key], str) or not data[key]:
            raise OutputsError(f"{source}: {key} must be a non-empty string")
    secret = data.get("client_secret")
    if secret == "[secret]":  # noqa: S105  (Pulumi's mask, not a password)
        raise OutputsError(
            f"{source}: client_secret is masked; export with "
            "`pulumi stack output --json --show-secrets`"
        )
    if adopted:
        # The program sets the flag only when the app's secret is empty; a secret beside it
        # means the file was edited or comes from elsewhere, so trust neither.
        if secret not in (None, ""):
            raise OutputsError(
                f"{source}: {ADOPTED_FLAG} is true but client_secret is not empty; "
                "is this the output of the insomnia-sso Pulumi stack?"
            )
    elif not isinstance(secret, str) or not secret:
        raise OutputsError(
            f"{source}: client_secret must be a non-empty string "
            f"(an adopted app's stack says so with {ADOPTED_FLAG}: true)"
        )
    users = _assigned(source, data["assigned_users"])
    warnings = _check_issuer_host(source, data["issuer"], enterprise)
    names = _names(source, data.get(NAMES, {}))
    return OktaOutputs(
        client_id=data["client_id"],
        issuer=data["issuer"],
        secret_fingerprint=fingerprint(secret, enterprise.name) if secret else None,
        app_id=data["app_id"],
        auth_server_id=data["auth_server_id"],
        assigned_users=users,
        secret_adopted=adopted,
        names=names,
        warnings=warnings,
    )


def _names(source: str, raw: object) -> dict[str, tuple[str, str]]:
    """`assigned_names` as login → (given, family); a malformed one is refused."""
    wrong = OutputsError(f"{source}: {NAMES} must map logins to {{givenName, familyName}}")
    if not isinstance(raw, dict):
        raise wrong
    names: dict[str, tuple[str, str]] = {}
    for login, entry in raw.items():
        if not isinstance(entry, dict):
            raise wrong
        given, family = entry.get("givenName", ""), entry.get("familyName", "")
        if not isinstance(given, str) or not isinstance(family, str):
            raise wrong
        if given.strip() or family.strip():
            names[str(login).lower()] = (given.strip(), family.strip())
    return names


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1): this machine only."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secure_url(url: str) -> bool:
    """An https URL with a host, or an http one whose host is loopback (tests, local demos):
    plain http never leaves the machine."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


def _check_issuer_host(source: str, issuer: str, enterprise: Enterprise) -> tuple[str, ...]:
    """Outputs of another enterprise's stack name another host in their issuer.

    The issuer is on the spec's custom domain when it names one, else on the Okta org's host.
    On the org's host while the spec names a custom domain, the outputs are this stack's from
    before it picked the domain up: accepted, with a warning. A loopback issuer (a local test
    provider) must match a loopback orgUrl host the same way.
    """
    okta = enterprise.spec.sso.okta
    if not secure_url(issuer):
        raise OutputsError(
            f"{source}: issuer {issuer!r} is not an https URL (http only for loopback hosts)"
        )
    host = urlsplit(issuer).hostname
    if okta.custom_domain is not None and host == okta.custom_domain:
        return ()
    if host != okta.org_host:
        raise OutputsError(
            f"{source}: issuer {issuer} is not in enterprise '{enterprise.name}''s Okta org "
            f"({okta.org_host}); these outputs belong to another stack"
        )
    if okta.custom_domain is not None:
        return (custom_domain_pending_warning(okta.custom_domain, issuer),)
    return ()
