"""A fake Okta for the Pulumi program, and helpers to read what the program declared.

`FakeOkta` is a set of Pulumi mocks: it gives every resource a predictable id, gives the app
a client id and secret and the issuer a URL (on its custom domain when the server's issuer
mode is CUSTOM_URL), and answers `getUsers` searches from its own
directory of people, writing each search down so tests can count lookups. A resource declared
with `import_` keeps the id it has in Okta, and an imported app comes back without a secret,
as the provider's read leaves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from reconciler.okta_preview import DeclaredResource, ProgramRun, adopted_id
from reconciler.spec import Enterprise

OAUTH_APP = "okta:app/oAuth:OAuth"
AUTH_SERVER = "okta:auth/server:Server"
SERVER_POLICY = "okta:auth/serverPolicy:ServerPolicy"
SERVER_POLICY_RULE = "okta:auth/serverPolicyRule:ServerPolicyRule"
GROUP = "okta:group/group:Group"
GROUP_MEMBERSHIPS = "okta:index/groupMemberships:GroupMemberships"
GROUP_ASSIGNMENT = "okta:app/groupAssignment:GroupAssignment"
GET_USERS = "okta:user/getUsers:getUsers"

CLIENT_ID = "0oa-fake-client-id"
CLIENT_SECRET = "fake-client-secret-value"
ORG_URL = "https://acme.okta.com"

_LOGIN = re.compile(r'profile\.login eq "([^"]*)"')


RunProgram = Callable[..., ProgramRun]
"""The `run_program` fixture: `run_program(enterprise, okta=FakeOkta())` runs the real program."""


def user_id(login: str) -> str:
    """The id FakeOkta gives the person with this login."""
    return f"00u-{login}"


def names_of(login: str) -> tuple[str, str]:
    """The names FakeOkta's profile holds for a login: `alice.nguyen@…` is Alice Nguyen."""
    given, _, family = login.partition("@")[0].partition(".")
    return given.title(), family.title()


def resource_id(name: str) -> str:
    """The id FakeOkta gives the resource with this logical name."""
    return f"id-of-{name}"


class FakeOkta(Mocks):
    """Everyone searched for exists and is active, unless listed as missing or deprovisioned."""

    def __init__(
        self,
        missing: Iterable[str] = (),
        deprovisioned: Iterable[str] = (),
        stored_as: dict[str, str] | None = None,
        custom_domain: str | None = None,
    ) -> None:
        self.custom_domain = custom_domain  # the org's verified custom URL domain, if any
        self.missing = set(missing)
        self.deprovisioned = set(deprovisioned)
        self.stored_as = stored_as or {}  # login -> how Okta spells it (Okta matches any case)
        self.searches: list[str] = []
        self.registered: list[MockResourceArgs] = []  # every resource, components included

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        state = dict(args.inputs)
        if args.resource_id:  # adopted: the object exists in Okta with this id
            the_id = adopted_id(args.resource_id)
            if args.typ == OAUTH_APP:  # Okta's client id is the app id unless set otherwise
                state["clientId"] = the_id
        else:
            the_id = resource_id(args.name)
            if args.typ == OAUTH_APP:
                state.update(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET)
        if args.typ == AUTH_SERVER:
            state["issuer"] = f"{self._issuer_base(args.inputs.get('issuerMode'))}/oauth2/{the_id}"
        return the_id, state

    def _issuer_base(self, mode: str | None) -> str:
        """Where Okta puts a server's issuer: the org's URL unless the mode says the custom
        domain, which Okta refuses when the org has none."""
        if mode != "CUSTOM_URL":
            return ORG_URL
        assert self.custom_domain, "Okta refuses CUSTOM_URL: the org has no custom domain"
        return f"https://{self.custom_domain}"

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        assert args.token == GET_USERS, f"unexpected invoke {args.token}"
        [search] = args.args["searches"]
        self.searches.append(search["expression"])
        users = [
            {
                "id": user_id(login),
                "login": self.stored_as.get(login, login),
                "status": "DEPROVISIONED" if login in self.deprovisioned else "ACTIVE",
                **dict(zip(("firstName", "lastName"), names_of(login), strict=True)),
            }
            for login in _LOGIN.findall(search["expression"])
            if login not in self.missing
        ]
        return {"id": "search", "users": users}, []


def the(run: ProgramRun, resource_type: str) -> DeclaredResource:
    """The one resource of this type the program declared."""
    found = [r for r in run.resources if r.type == resource_type]
    assert len(found) == 1, f"expected one {resource_type}, got {len(found)}"
    return found[0]


def enterprise_with(people: int, name: str = "acme") -> Enterprise:
    """An enterprise like the example, with `people` generated members in one organization."""
    base = Enterprise.model_validate(
        {
            "apiVersion": "insomnia-sso/v1",
            "kind": "Enterprise",
            "metadata": {"name": name},
            "spec": {
                "domains": ["acme.com"],
                "sso": {
                    "type": "oidc",
                    "domainIdentifier": "acme.com",
                    "ssoUrl": "https://insomnia-dev.us.auth0.com/login/callback",
                    "okta": {
                        "orgUrl": ORG_URL,
                        "authorizationServer": {"name": "insomnia", "audience": "api://insomnia"},
                    },
                },
                "organizations": [
                    {
                        "name": "platform",
                        "members": [{"email": f"person{i:05d}@acme.com"} for i in range(people)],
                    }
                ],
            },
        }
    )
    assert len(base.assigned_logins()) == people
    return base
