"""The bodies of the writes, exactly as each profile sends them.

Profile okta copies Okta's SCIM 2.0 client (DESIGN, "What Insomnia's SCIM connector is known
to serve"): a user is created with `schemas`, `userName`, `name`, `displayName`, `emails`,
`active` and `externalId`; its profile is changed by GET then PUT of the whole user; `active`
alone is replaced by a PATCH whose value is an object; a group is created with its
`displayName` and `members`, its members added or removed (`members[value eq "…"]`) and its
name replaced by PATCH. Profile rfc7644 also uses PATCH paths when announced, PUT otherwise,
and sends a group `externalId` (which nothing ever relies on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.directory.scim_types import (
    GROUP_SCHEMA,
    PATCH_SCHEMA,
    USER_SCHEMA,
    Features,
    Profile,
    quoted,
)

USER_FIELDS = ("externalId", "active", "givenName", "familyName", "displayName")
"""What a `user` change may set, as plan changes name it."""
MEMBERS_PER_PATCH = 100
"""Members added or removed by one PATCH at most (Okta pushes in batches too)."""

Body = dict[str, Any]


def user_body(email: str, after: Mapping[str, Any]) -> Body:
    """POST /Users: the user as Okta creates it; names only when known, never invented."""
    body: Body = {"schemas": [USER_SCHEMA], "userName": email}
    name = {key: after[key] for key in ("givenName", "familyName") if after.get(key) is not None}
    if name:
        body["name"] = name
    body["emails"] = [{"primary": True, "value": email, "type": "work"}]
    if after.get("displayName"):
        body["displayName"] = after["displayName"]
    body["active"] = True
    body["externalId"] = str(after.get("externalId") or email)
    return body


def user_replaced(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> Body:
    """PUT /Users/{id}: the user as read (without the read-only `meta`), `wanted` applied."""
    body = {key: value for key, value in current.items() if key != "meta"}
    name = dict(body.get("name") or {})
    for key, value in wanted.items():
        if key in ("givenName", "familyName"):
            name[key] = value
        else:
            body[key] = value
    if name:
        body["name"] = name
    return body


def active_patch(active: bool, features: Features) -> Body:
    """PATCH /Users/{id} replacing `active`: Okta's value object, or rfc7644's path."""
    if features.profile is Profile.OKTA:
        operation: Body = {"op": "replace", "value": {"active": active}}
    else:
        operation = {"op": "replace", "path": "active", "value": active}
    return {"schemas": [PATCH_SCHEMA], "Operations": [operation]}


def user_patch(wanted: Mapping[str, Any]) -> Body:
    """rfc7644: PATCH /Users/{id} replacing each wanted attribute by its path."""
    paths = {"givenName": "name.givenName", "familyName": "name.familyName"}
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "replace", "path": paths.get(key, key), "value": value}
            for key, value in wanted.items()
        ],
    }


def group_body(
    name: str, members: Iterable[tuple[str, str]], features: Features, external_id: str
) -> Body:
    """POST /Groups with its first members as (id, userName) pairs."""
    body: Body = {"schemas": [GROUP_SCHEMA], "displayName": name}
    if features.profile is Profile.RFC7644:
        body["externalId"] = external_id
    body["members"] = [{"value": i, "display": email} for i, email in members]
    return body


def members_added(members: Iterable[tuple[str, str]]) -> Body:
    """PATCH /Groups/{id} adding members, as (id, userName) pairs."""
    value = [{"value": i, "display": email} for i, email in members]
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": value}],
    }


def members_removed(ids: Iterable[str]) -> Body:
    """PATCH /Groups/{id} removing members by id, one operation each."""
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "remove", "path": f"members[value eq {quoted(i)}]"} for i in ids],
    }


def renamed(group_id: str, name: str) -> Body:
    """PATCH /Groups/{id} replacing its displayName, as Okta sends it."""
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": name}}],
    }


def group_replaced(
    group_id: str, name: str, external_id: str | None, member_ids: Iterable[str]
) -> Body:
    """rfc7644 without PATCH: PUT /Groups/{id} with every member."""
    body: Body = {"schemas": [GROUP_SCHEMA], "id": group_id, "displayName": name}
    if external_id:
        body["externalId"] = external_id
    body["members"] = [{"value": i} for i in member_ids]
    return body


def chunks(items: list[Any], size: int = MEMBERS_PER_PATCH) -> list[list[Any]]:
    """`items` cut in lists of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
