"""Shared fixtures: the example spec, and a builder for small specs written to disk."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

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


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML (dedented) to a spec file in a fresh folder and return its path."""

    def write(text: str, name: str = "enterprise.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
