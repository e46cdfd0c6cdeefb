"""Adopting an Okta setup made by hand: the stack config `insomnia-sso:adopt` and import ids.

Teams that followed the manual guide already have an OIDC app, a custom authorization server
(their issuer), maybe its access policy and rule, maybe a group. Creating new ones would give
Insomnia a new client id, secret and issuer and lock everybody out, so the component takes the
existing ones over with Pulumi's `import_` option instead, once, on the first `pulumi up`:

    pulumi config set --path insomnia-sso:adopt.appId 0oa1b2c3d4e5f6g7h8i9
    pulumi config set --path insomnia-sso:adopt.authServerId aus1b2c3d4e5f6g7h8i9

The import ids are the ones pulumi-okta documents for each resource (its `## Import` sections):
the app `<app_id>`, the issuer `<auth_server_id>`, the access policy
`<auth_server_id>/<policy_id>`, its rule `<auth_server_id>/<policy_id>/<policy_rule_id>`, the
group `<group_id>`, the group's memberships `<group_id>/true` (the form for `track_all_users`,
which the component sets), and the app-group assignment `<app_id>/<group_id>`.

Nothing here imports Pulumi: `insomnia-sso okta-preview` checks an adopt block with the same
rules before it runs the program.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from reconciler.errors import InsomniaSsoError

CONFIG_KEY = "insomnia-sso:adopt"

KEYS = ("appId", "authServerId", "policyId", "ruleId", "groupId")
"""The adopt block's keys, as `pulumi config set --path insomnia-sso:adopt.<key>` spells them."""

OKTA_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
"""Okta ids are letters and digits (`0oa…`, `aus…`, `00p…`, `0pr…`, `00g…`, 20 characters
today); `default` names the org's default authorization server and fits too. Anything else,
a slash above all, would build a wrong import id."""

_LIKELY = {"clientId": "appId", "issuerId": "authServerId", "serverId": "authServerId"}
"""Names people reach for; an OIDC app's id is its client id unless one was set by hand."""

_PARENTS = {"policyId": "authServerId", "ruleId": "policyId"}
_WHY_PARENT = {
    "policyId": "an access policy is imported as <auth_server_id>/<policy_id>",
    "ruleId": "a rule is imported as <auth_server_id>/<policy_id>/<rule_id>",
}


class AdoptError(InsomniaSsoError):
    """The adopt block is malformed: one line saying what and where."""


@dataclass(frozen=True)
class Adoption:
    """Ids of the hand-made Okta objects to take over; None means create that one."""

    app_id: str | None = None
    auth_server_id: str | None = None
    policy_id: str | None = None
    rule_id: str | None = None
    group_id: str | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is adopted: the program creates everything."""
        return all(getattr(self, f.name) is None for f in fields(self))

    @property
    def app(self) -> str | None:
        """Import id of the OIDC app: `<app_id>`."""
        return self.app_id

    @property
    def issuer(self) -> str | None:
        """Import id of the authorization server: `<auth_server_id>`."""
        return self.auth_server_id

    @property
    def access_policy(self) -> str | None:
        """Import id of the access policy: `<auth_server_id>/<policy_id>`."""
        if self.policy_id is None:
            return None
        return f"{self.auth_server_id}/{self.policy_id}"

    @property
    def access_rule(self) -> str | None:
        """Import id of the policy rule: `<auth_server_id>/<policy_id>/<rule_id>`."""
        if self.rule_id is None:
            return None
        return f"{self.auth_server_id}/{self.policy_id}/{self.rule_id}"

    @property
    def group(self) -> str | None:
        """Import id of the group: `<group_id>`."""
        return self.group_id

    @property
    def members(self) -> str | None:
        """Import id of the group's memberships: `<group_id>/true` (track all users)."""
        return None if self.group_id is None else f"{self.group_id}/true"

    @property
    def assignment(self) -> str | None:
        """Import id of the app-group assignment: `<app_id>/<group_id>`, both adopted only.

        A new app has no assignment yet; an adopted app and an adopted group are expected to be
        assigned to each other already (the guide says to do that first if they are not).
        """
        if self.app_id is None or self.group_id is None:
            return None
        return f"{self.app_id}/{self.group_id}"


def parse_adoption(block: Any, source: str = CONFIG_KEY) -> Adoption:
    """Check an adopt block (the config object) and return what it adopts.

    Raises `AdoptError` with one line for unknown keys, malformed ids and missing parents.
    None (no block) and an empty object adopt nothing.
    """
    if block is None:
        return Adoption()
    if not isinstance(block, Mapping):
        raise AdoptError(
            f"{source} must be an object of Okta ids ({', '.join(KEYS)}), "
            f"got {type(block).__name__}"
        )
    for key in block:
        if key not in KEYS:
            name = str(key)
            close = _LIKELY.get(name) or next(iter(difflib.get_close_matches(name, KEYS, n=1)), "")
            hint = f" (did you mean '{close}'?)" if close else ""
            raise AdoptError(f"{source}: unknown key '{key}'{hint}; known keys: {', '.join(KEYS)}")
    ids: dict[str, str] = {}
    for key in KEYS:
        if key not in block:
            continue
        value = block[key]
        if not isinstance(value, str) or not OKTA_ID.fullmatch(value):
            raise AdoptError(
                f"{source}.{key}: {value!r} is not an Okta id "
                "(1 to 64 letters and digits, e.g. 0oa1b2c3d4e5f6g7h8i9)"
            )
        ids[key] = value
    for key, parent in _PARENTS.items():
        if key in ids and parent not in ids:
            raise AdoptError(f"{source}.{key} needs {source}.{parent}: {_WHY_PARENT[key]}")
    return Adoption(
        app_id=ids.get("appId"),
        auth_server_id=ids.get("authServerId"),
        policy_id=ids.get("policyId"),
        rule_id=ids.get("ruleId"),
        group_id=ids.get("groupId"),
    )
