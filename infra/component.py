"""One enterprise's Okta side as a Pulumi component: issuer, OIDC web app, access rule, people.

    InsomniaOktaSso (insomnia-sso:okta:InsomniaSso)
    ├── auth.Server            the custom authorization server: Insomnia's OIDC issuer, on the
    │                          org's host (ORG_URL) or the spec's customDomain (CUSTOM_URL)
    ├── app.OAuth              the OIDC web app Insomnia signs in with (confidential client)
    ├── auth.ServerPolicy      the issuer's access policy, bound to that app's client id only
    │   └── ServerPolicyRule   authorization_code grant, openid/profile/email, the group only
    ├── group.Group            the people assigned to the app, managed from the spec
    ├── GroupMemberships       all of them in one bulk resource (absent when nobody is assigned)
    └── app.GroupAssignment    the group assigned to the app

The resource count does not depend on how many people the spec lists: people become user ids
in one bulk membership resource, and the ids come from batched `getUsers` searches.

An `Adoption` (stack config `insomnia-sso:adopt`) makes the matching resources take over
objects made by hand with Pulumi's `import_` option: they keep their ids, so the app keeps its
client id and the issuer its URL, and are then updated to what the spec declares.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_okta as okta

from infra.adopt import Adoption
from reconciler.spec import Enterprise

COMPONENT_TYPE = "insomnia-sso:okta:InsomniaSso"

GRANT_TYPES = ("authorization_code",)
RESPONSE_TYPES = ("code",)
SCOPES = ("openid", "profile", "email")
CLIENT_AUTHENTICATION = "client_secret_basic"

LOOKUP_BATCH_SIZE = 50
"""Logins per `getUsers` search. The provider reads results in pages of 200 users, so any
batch up to 200 costs one Okta request. The search travels in the request URL: a typical
`profile.login eq "…"` clause is about 70 bytes once URL-encoded, so 50 of them keep a request
under 4 KB, well inside the 8 KB request lines HTTP front ends commonly accept (Okta publishes
no limit of its own for search expressions)."""

LOOKUP_MAX_EXPRESSION = 3_000
"""Characters per search expression (before encoding): 50 logins of up to 37 characters fit;
batches of longer logins are cut earlier so the URL stays as small."""

_USER_UNUSABLE = frozenset({"DEPROVISIONED"})

ORG_URL = "ORG_URL"
CUSTOM_URL = "CUSTOM_URL"
"""Okta's issuer modes the program declares. The third, DYNAMIC (the issuer follows the host
each request came through), is never declared: Insomnia holds one fixed issuer."""


def issuer_mode(enterprise: Enterprise) -> str:
    """CUSTOM_URL when the spec names a custom domain, else ORG_URL, always said explicitly.

    ORG_URL is the provider's documented default, so stacks made before see no change; said,
    the issuer rests on no default, and the offline preview, the review and the policy pack
    see the mode. An adopted server whose mode differs (CUSTOM_URL or DYNAMIC while the spec
    names no custom domain, or the reverse) is switched by the first `up`, shown as
    `~ issuerMode` in `pulumi preview`: docs/adopt.md says to match customDomain to the
    issuer Insomnia holds first, so nothing changes for it.
    """
    return CUSTOM_URL if enterprise.spec.sso.okta.custom_domain else ORG_URL


def login_batches(
    logins: Sequence[str],
    size: int = LOOKUP_BATCH_SIZE,
    max_expression: int = LOOKUP_MAX_EXPRESSION,
) -> Iterator[list[str]]:
    """Split logins into search batches bounded by count and by expression length."""
    batch: list[str] = []
    length = 0
    for login in logins:
        cost = len(_clause(login)) + len(" or ")
        if batch and (len(batch) == size or length + cost > max_expression):
            yield batch
            batch, length = [], 0
        batch.append(login)
        length += cost
    if batch:
        yield batch


def search_expression(logins: Sequence[str]) -> str:
    """An Okta search expression matching exactly these logins (case-insensitive in Okta)."""
    return " or ".join(_clause(login) for login in logins)


def _clause(login: str) -> str:
    # Spec logins are validated emails, which cannot hold these; refuse rather than escape.
    if '"' in login or "\\" in login:
        raise ValueError(f"login {login!r} cannot be used in an Okta search expression")
    return f'profile.login eq "{login}"'


@dataclass(frozen=True)
class OktaPerson:
    """An Okta user found by login: its id, and the names Insomnia's SCIM users get."""

    id: str
    given_name: str
    family_name: str


def _people(results: Sequence[okta.user.GetUsersResult]) -> dict[str, OktaPerson]:
    """Okta users by lower-cased login, leaving out deprovisioned ones (they cannot sign in)."""
    found: dict[str, OktaPerson] = {}
    for result in results:
        for user in result.users or ():
            if user.status not in _USER_UNUSABLE:
                found[user.login.lower()] = OktaPerson(
                    user.id, user.first_name or "", user.last_name or ""
                )
    return found


class InsomniaOktaSso(pulumi.ComponentResource):
    """Everything Okta needs for one enterprise's Insomnia SSO, declared from its spec."""

    client_id: pulumi.Output[str]
    client_secret: pulumi.Output[str]
    issuer: pulumi.Output[str]
    app_id: pulumi.Output[str]
    auth_server_id: pulumi.Output[str]
    assigned_users: pulumi.Output[list[str]]
    assigned_names: pulumi.Output[dict[str, dict[str, str]]]
    client_secret_adopted: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        enterprise: Enterprise,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adoption: Adoption | None = None,
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        settings = enterprise.spec.sso.okta
        adopt = adoption or Adoption()

        def child(import_id: str | None = None) -> pulumi.ResourceOptions:
            # import_=None is Pulumi's default: create. An id takes the existing object over.
            return pulumi.ResourceOptions(parent=self, import_=import_id)

        server = okta.auth.Server(
            f"{name}-issuer",
            name=settings.authorization_server.name,
            audiences=[settings.authorization_server.audience],
            description=settings.authorization_server.description,
            issuer_mode=issuer_mode(enterprise),
            opts=child(adopt.issuer),
        )
        app = okta.app.OAuth(
            f"{name}-app",
            label=settings.app_label,
            type="web",
            redirect_uris=[enterprise.spec.sso.sso_url],
            grant_types=list(GRANT_TYPES),
            response_types=list(RESPONSE_TYPES),
            # A confidential client: Insomnia authenticates with the secret at the token endpoint.
            token_endpoint_auth_method=CLIENT_AUTHENTICATION,
            # The secret authenticates this server-side client; PKCE stays Okta's default (off)
            # because Insomnia's sign-in broker is not documented to send a code challenge.
            pkce_required=False,
            # Off means only assigned people may sign in (on is Okta's Federation Broker Mode).
            implicit_assignment=False,
            # Sign-in starts in Insomnia; a dashboard tile would have no login URI to go to.
            login_mode="DISABLED",
            hide_web=True,
            hide_ios=True,
            opts=child(adopt.app),
        )
        group = okta.group.Group(
            f"{name}-group",
            name=f"insomnia-sso-{enterprise.name}",
            description=(
                f"People assigned to {settings.app_label} for enterprise '{enterprise.name}'. "
                "Managed by insomnia-sso from its spec: change the spec, not this group."
            ),
            opts=child(adopt.group),
        )
        policy = okta.auth.ServerPolicy(
            f"{name}-access-policy",
            auth_server_id=server.id,
            name=f"{settings.app_label} sign-in",
            description=f"Tokens for the {settings.app_label} app only",
            priority=1,
            client_whitelists=[app.client_id],
            opts=child(adopt.access_policy),
        )
        okta.auth.ServerPolicyRule(
            f"{name}-access-rule",
            auth_server_id=server.id,
            policy_id=policy.id,
            name="authorization code, OIDC scopes, assigned people",
            priority=1,
            grant_type_whitelists=list(GRANT_TYPES),
            scope_whitelists=list(SCOPES),
            group_whitelists=[group.id],
            opts=child(adopt.access_rule),
        )

        logins = enterprise.assigned_logins()
        found = self._look_up(logins)
        if logins:
            # Okta refuses an empty membership list (`users` is required), so with nobody
            # assigned the resource is left out and the group stays empty.
            okta.GroupMemberships(
                f"{name}-members",
                group_id=group.id,
                users=found.apply(lambda ids: [ids[login].id for login in logins if login in ids]),
                # People added to the group by hand show up as drift and are removed.
                track_all_users=True,
                opts=child(adopt.members),
            )
        okta.app.GroupAssignment(
            f"{name}-assignment", app_id=app.id, group_id=group.id, opts=child(adopt.assignment)
        )

        self.client_id = app.client_id
        # Okta returns an app's secret only when the app is created (the provider's read never
        # sets client_secret), so an adopted app has none in state. It stays empty, never a
        # made-up value, and `client_secret_adopted` tells the reconciler to keep the secret
        # Insomnia already holds. Only an import leaves it empty: a created app always has one.
        self.client_secret = pulumi.Output.secret(app.client_secret.apply(lambda s: s or ""))
        # Whether a secret is empty is no secret: unsecret, so the flag reads plainly.
        self.client_secret_adopted = pulumi.Output.unsecret(
            app.client_secret.apply(lambda s: not s)
        )
        self.issuer = server.issuer
        self.app_id = app.id
        self.auth_server_id = server.id
        self.assigned_users = found.apply(lambda ids: self._assigned(logins, ids))
        # The names Okta holds, for the SCIM users Insomnia gets (as Okta would push them).
        self.assigned_names = found.apply(
            lambda people: {
                login: {"givenName": p.given_name, "familyName": p.family_name}
                for login, p in sorted(people.items())
                if p.given_name or p.family_name
            }
        )
        self.register_outputs(
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "issuer": self.issuer,
                "app_id": self.app_id,
                "auth_server_id": self.auth_server_id,
                "assigned_users": self.assigned_users,
                "assigned_names": self.assigned_names,
                "client_secret_adopted": self.client_secret_adopted,
            }
        )

    def _look_up(self, logins: Sequence[str]) -> pulumi.Output[dict[str, OktaPerson]]:
        """Okta users by login: one `getUsers` search per batch, never one call per person."""
        if not logins:
            return pulumi.Output.from_input({})
        searches = [
            okta.user.get_users_output(
                searches=[okta.user.GetUsersSearchArgs(expression=search_expression(batch))],
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            for batch in login_batches(logins)
        ]
        return pulumi.Output.all(*searches).apply(_people)

    def _assigned(self, logins: Sequence[str], ids: dict[str, OktaPerson]) -> list[str]:
        """The logins that resolved to usable Okta users; warns about the rest."""
        missing = [login for login in logins if login not in ids]
        if missing:
            shown = ", ".join(missing[:10])
            if len(missing) > 10:
                shown += f" and {len(missing) - 10} more"
            pulumi.log.warn(
                f"{len(missing)} login(s) in the spec have no active Okta user and are not "
                f"assigned: {shown}",
                resource=self,
            )
        return sorted(login for login in logins if login in ids)
