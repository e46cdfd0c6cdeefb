"""Shared fixtures: the example spec, and a builder for small specs written to disk."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from reconciler.outputs import OktaOutputs, parse_outputs
from reconciler.spec import Enterprise, load_text

# Real SCIM servers (scim2-server on loopback) for every suite that talks SCIM.
pytest_plugins = ["tests.scim_peer", "tests.strict_scim"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SPEC = ROOT / "specs" / "enterprise.yaml"

MINIMAL = """\
apiVersion: insomnia-sso/v1
kind: Enterprise
metadata:
  name: acme
spec:
  domains: [acme.com, acme.io]
  sso:
    type: oidc
    domainIdentifier: acme.com
    ssoUrl: https://insomnia-dev.us.auth0.com/login/callback
    okta:
      orgUrl: https://acme.okta.com
      authorizationServer:
        name: insomnia
        audience: api://insomnia
  organizations:
    - name: platform
      members:
        - email: alice@acme.com
          role: admin
        - email: bob@acme.io
"""


def spec_yaml(
    organizations: dict[str, Iterable[str]],
    *,
    name: str = "acme",
    domains: Iterable[str] = ("acme.com", "acme.io"),
    prune: bool = False,
    max_fraction: float = 0.1,
    sso_url: str = "https://insomnia-dev.us.auth0.com/login/callback",
    org_url: str = "https://acme.okta.com",
) -> str:
    """A spec for acme's Okta org (or `org_url`); members are written `email` or
    `email:role`."""
    lines = [
        "apiVersion: insomnia-sso/v1",
        "kind: Enterprise",
        "metadata:",
        f"  name: {name}",
        "spec:",
        f"  domains: [{', '.join(domains)}]",
        "  sso:",
        "    type: oidc",
        "    domainIdentifier: acme.com",
        f"    ssoUrl: {sso_url}",
        "    okta:",
        f"      orgUrl: {org_url}",
        "      authorizationServer:",
        "        name: insomnia",
        "        audience: api://insomnia",
        "  organizations:",
    ]
    for org, members in organizations.items():
        members = list(members)
        lines += [f"    - name: {org}", "      members:" + ("" if members else " []")]
        for member in members:
            email, _, role = member.partition(":")
            lines.append(f"        - email: {email}")
            if role:
                lines.append(f"          role: {role}")
    lines += ["  prune:", f"    enabled: {str(prune).lower()}", f"    maxFraction: {max_fraction}"]
    return "\n".join(lines) + "\n"


CUSTOM_DOMAIN = "login.acme.com"
"""Acme's own sign-in domain, the one the example spec shows commented out."""


def example_with_custom_domain(domain: str = CUSTOM_DOMAIN) -> Enterprise:
    """The example enterprise with its commented-out `customDomain` set to `domain`."""
    text = EXAMPLE_SPEC.read_text()
    hint = f"  # signing in on your own domain? customDomain: {CUSTOM_DOMAIN}\n"
    assert hint in text, "the example spec no longer shows customDomain commented out"
    return load_text(text.replace(hint, f"\n      customDomain: {domain}\n"))


def outputs_json(
    secret: str, assigned_users: Iterable[str] = (), **overrides: Any
) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets` of acme's stack."""
    data: dict[str, Any] = {
        "app_id": "0oaAPP0001",
        "assigned_users": list(assigned_users),
        "auth_server_id": "aus0001",
        "client_id": "0oaCLIENT0001",
        "client_secret": secret,
        "issuer": "https://acme.okta.com/oauth2/aus0001",
    }
    data.update(overrides)
    return data


def okta_outputs(enterprise: Enterprise, secret: str = "okta-client-secret-1") -> OktaOutputs:
    """Parsed outputs of a stack that assigned exactly the spec's people."""
    text = json.dumps(outputs_json(secret, enterprise.assigned_logins()))
    return parse_outputs(text, "outputs.json", enterprise)


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML (dedented) to a spec file in a fresh folder and return its path."""

    def write(text: str, name: str = "enterprise.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
