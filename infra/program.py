"""The Pulumi program, importable: spec (+ adopt block) → `InsomniaOktaSso` → flat stack outputs.

`infra/__main__.py` only calls `run()`. Tests and `insomnia-sso okta-preview` set Pulumi mocks
first and then call the same `run()`, so what they check is what `pulumi up` declares.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi

from infra.adopt import AdoptError, Adoption, parse_adoption
from infra.component import InsomniaOktaSso
from reconciler.errors import SpecError
from reconciler.spec import Enterprise, load_file

CONFIG_NAMESPACE = "insomnia-sso"
SPEC_KEY = "spec"
ADOPT_KEY = "adopt"
DEFAULT_SPEC = "specs/enterprise.yaml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where Pulumi.yaml is. Pulumi runs the program from `infra/`, so relative spec paths in
stack config are resolved from here, the folder people run `pulumi` in."""

OUTPUT_NAMES = (
    "client_id",
    "client_secret",
    "issuer",
    "app_id",
    "auth_server_id",
    "assigned_users",
    "assigned_names",
    "client_secret_adopted",
)
"""The stack outputs, flat, as `pulumi stack output --json` gives them to the reconciler."""


def spec_path() -> Path:
    """The spec named by `insomnia-sso:spec` (default `specs/enterprise.yaml`)."""
    configured = pulumi.Config(CONFIG_NAMESPACE).get(SPEC_KEY) or DEFAULT_SPEC
    path = Path(configured)
    return path if path.is_absolute() else PROJECT_ROOT / path


def configured_enterprise() -> Enterprise:
    """Load the configured spec; a bad spec stops the program with its `path:line: message`s."""
    try:
        enterprise = load_file(spec_path())
    except SpecError as err:
        # RunError makes Pulumi print the message alone, without a Python traceback.
        raise pulumi.RunError(str(err)) from None
    check_okta_org(enterprise)
    return enterprise


def check_okta_org(enterprise: Enterprise) -> None:
    """Refuse to declare one enterprise's SSO in another Okta org.

    The provider's org comes from `okta:orgName` + `okta:baseUrl` (or OKTA_ORG_NAME and
    OKTA_BASE_URL); when it is set and names another host than the spec's `orgUrl`, the stack
    and the spec disagree, and the reconciler would later refuse the outputs anyway.
    """
    config = pulumi.Config("okta")
    org_name = config.get("orgName") or os.environ.get("OKTA_ORG_NAME")
    if not org_name:
        return
    base_url = config.get("baseUrl") or os.environ.get("OKTA_BASE_URL") or "okta.com"
    provider_host = f"{org_name}.{base_url}".lower()
    spec_host = (urlsplit(enterprise.spec.sso.okta.org_url).hostname or "").lower()
    if provider_host != spec_host:
        raise pulumi.RunError(
            f"the stack's Okta provider points at https://{provider_host} but enterprise "
            f"'{enterprise.name}' declares orgUrl {enterprise.spec.sso.okta.org_url}; "
            "fix okta:orgName/okta:baseUrl or the spec"
        )


def configured_adoption() -> Adoption:
    """The hand-made Okta objects `insomnia-sso:adopt` names; a bad block stops the program.

    Checked before anything is declared, so a typo registers nothing (and imports nothing).
    """
    raw = pulumi.Config(CONFIG_NAMESPACE).get(ADOPT_KEY)
    if raw is None:
        return Adoption()
    try:
        block = json.loads(raw)
    except json.JSONDecodeError:
        block = raw  # a plain string: `config set insomnia-sso:adopt 0oa…` without --path
    try:
        return parse_adoption(block)
    except AdoptError as err:
        raise pulumi.RunError(str(err)) from None


def declare(
    enterprise: Enterprise, adoption: Adoption | None = None
) -> dict[str, pulumi.Output[Any]]:
    """Declare the enterprise's Okta resources; return the stack outputs, secret kept secret."""
    sso = InsomniaOktaSso(enterprise.name, enterprise, adoption=adoption)
    return {
        "client_id": sso.client_id,
        # Secret in the component already; said again where it leaves the program.
        "client_secret": pulumi.Output.secret(sso.client_secret),
        "issuer": sso.issuer,
        "app_id": sso.app_id,
        "auth_server_id": sso.auth_server_id,
        "assigned_users": sso.assigned_users,
        "assigned_names": sso.assigned_names,
        "client_secret_adopted": sso.client_secret_adopted,
    }


def run(enterprise: Enterprise | None = None) -> None:
    """The program: declare the configured (or given) enterprise and export its outputs.

    The adopt block always comes from stack config (`insomnia-sso:adopt`), for `pulumi up`
    and for the offline preview alike, so both check it the same way.
    """
    chosen = enterprise if enterprise is not None else configured_enterprise()
    outputs = declare(chosen, configured_adoption())
    for name in OUTPUT_NAMES:
        pulumi.export(name, outputs[name])
