"""Reading a SCIM directory: listings in pages, and look-ups that return only what was asked.

A listing steps by what each page held (a server may return fewer than asked) and is
*partial*, never silently short, when a page fails, is short, repeats a resource, holds a
resource without `id` or one that does not parse (each named in the reason). It is bounded:
a server reporting more than `Bounds.max_resources` is not read past that, and the pages
read never exceed what the first page's `totalResults` needs, at the first page's length, plus a
margin; a page shorter than the first (but the last) is short, and a page that adds nothing
new ends it.

A look-up (after a 409, or for a create whose answer was lost) returns a resource only when
it is the one asked for: the same `userName` (case-insensitively) or `displayName`. A server
that ignores the filter and answers with somebody else is caught here, so one person's
identity or access is never handed to another.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.directory.scim_types import (
    OKTA_PAGE,
    Features,
    GroupRow,
    Profile,
    UserRow,
    parse_row,
    quoted,
)
from reconciler.directory.transport import (
    ScimHttp,
    ScimRequestError,
    ScimStatusError,
    ScimUnreachableError,
)

USER_ATTRIBUTES = "userName,externalId,active,name,displayName"
GROUP_ATTRIBUTES = "displayName,externalId,members"
NAMED = 3
"""How many unusable resources a reason names before it counts the rest."""

ReadProgress = Callable[[str, int, int], None]
"""Told `(path, listed so far, totalResults)` after each page of a listing."""


class LookupRefusedError(ScimRequestError):
    """A look-up answered with something other than what was asked for."""


@dataclass
class Listing:
    """What one listing found, and why it is partial ("" when whole)."""

    rows: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The problems in one line."""
        return "; ".join(self.problems)


def list_all(
    http: ScimHttp,
    path: str,
    model: type[UserRow] | type[GroupRow],
    features: Features,
    progress: ReadProgress | None = None,
) -> Listing:
    """Every resource under `path` (`Users` or `Groups`), page by page; `progress(path,
    listed, total)` after each page, for a person watching a long read."""
    out = Listing()
    seen: set[str] = set()
    unusable: list[str] = []
    start, pages, listed = 1, 0, 0
    total = -1  # unknown until the first page
    page_cap = first_page = 1
    limit = http.bounds.max_resources
    while True:
        params: dict[str, str | int] = {"startIndex": start, "count": features.page_size}
        if features.profile is Profile.RFC7644:
            params["attributes"] = USER_ATTRIBUTES if model is UserRow else GROUP_ATTRIBUTES
        try:
            body = http.request("GET", path, params=params).body or {}
        except ScimUnreachableError:
            raise  # no server there at all: a run-stopping error, not a partial read
        except ScimRequestError as e:
            out.problems.append(f"{path} page at {start} failed: {e.reason}")
            break
        reported = body.get("totalResults")
        resources = body.get("Resources", [])
        if (
            not isinstance(reported, int)
            or isinstance(reported, bool)
            or reported < 0
            or not isinstance(resources, list)
        ):
            out.problems.append(f"{path} page at {start} is not a SCIM list (no totalResults)")
            break
        pages += 1
        if total < 0:
            total = reported
            if total > limit:
                out.problems.append(
                    f"{path}: the server reports {total:,} resources, more than the {limit:,} "
                    "this tool reads (INSOMNIA_SSO_SCIM_MAX_RESOURCES)"
                )
                break
            first_page = len(resources)
            needed = math.ceil(total / max(1, first_page))
            page_cap = needed + max(2, needed // 10)
        new = bad = 0
        for data in resources:
            row = parse_row(model, data)
            if isinstance(row, str):
                unusable.append(row)
                bad += 1
                continue
            if row.id in seen:
                continue
            seen.add(row.id)
            out.rows.append(row)
            new += 1
        listed += len(resources)
        if progress is not None:
            progress(path, listed, total)
        if len(resources) - new - bad > 0 and not any("twice" in p for p in out.problems):
            out.problems.append(f"{path} changed during the read (a resource listed twice)")
        if listed >= total:
            break
        if len(resources) < first_page or not resources:  # only the last page may be shorter
            out.problems.append(
                f"{path} page at {start} is short: {len(resources)} resources, "
                f"{total - listed + len(resources)} expected from totalResults {total}"
            )
            break
        if new == 0 and bad == 0:
            out.problems.append(f"{path} page at {start} added nothing new; the read stops")
            break
        if pages >= page_cap:
            out.problems.append(
                f"{path}: stopped after {pages} pages, more than totalResults {total} needs"
            )
            break
        start += len(resources)
    if unusable:
        more = f" and {len(unusable) - NAMED} more" if len(unusable) > NAMED else ""
        out.problems.append(f"{path} holds {', '.join(unusable[:NAMED])}{more}")
    if total >= 0 and not out.problems and listed != total:
        out.problems.append(f"{path} totalResults {total} does not add up: {listed} listed")
    return out


def find_user(http: ScimHttp, features: Features, email: str) -> Mapping[str, Any] | None:
    """The user whose userName is `email` (case-insensitively), or None when there is none.

    Profile okta asks as Okta does (`filter=userName eq "…"&startIndex=1&count=100`);
    rfc7644 filters when announced, else lists. Raises LookupRefusedError when the answer holds
    only somebody else (a filter the server ignored) or two users of that name."""
    email = email.lower()
    if features.profile is Profile.OKTA or features.filter:
        params: dict[str, str | int] = {"filter": f"userName eq {quoted(email)}"}
        if features.profile is Profile.OKTA:
            params |= {"startIndex": 1, "count": OKTA_PAGE}
        try:
            body = http.request("GET", "Users", params=params).body or {}
        except ScimStatusError as e:
            if e.status == 404:  # Okta's guide allows a 404 for "no user matches"
                return None
            raise
        resources = body.get("Resources") or []
    else:
        resources = [row.model_dump(by_alias=True) for row in _listed(http, "Users", features)]
    return _the_one(resources, "userName", email, "Users")


def find_group(http: ScimHttp, features: Features, name: str) -> Mapping[str, Any] | None:
    """The group whose displayName is exactly `name`, or None. Profile okta lists (Okta
    filters only by userName); rfc7644 filters when announced. Identity-checked like
    `find_user`."""
    if features.profile is Profile.RFC7644 and features.filter:
        params: dict[str, str | int] = {"filter": f"displayName eq {quoted(name)}"}
        body = http.request("GET", "Groups", params=params).body or {}
        resources = body.get("Resources") or []
    else:
        resources = [row.model_dump(by_alias=True) for row in _listed(http, "Groups", features)]
    return _the_one(resources, "displayName", name, "Groups")


def _listed(http: ScimHttp, path: str, features: Features) -> list[Any]:
    listing = list_all(http, path, UserRow if path == "Users" else GroupRow, features)
    if listing.problems:
        raise LookupRefusedError(f"GET /{path}: cannot look up: {listing.reason}")
    return listing.rows


def _the_one(resources: object, attribute: str, wanted: str, path: str) -> Mapping[str, Any] | None:
    if not isinstance(resources, list):
        raise LookupRefusedError(f"GET /{path}: the look-up's answer is not a SCIM list")
    fold = attribute == "userName"

    def same(resource: object) -> bool:
        value = resource.get(attribute) if isinstance(resource, dict) else None
        if not isinstance(value, str):
            return False
        return value.lower() == wanted if fold else value == wanted

    matches = [r for r in resources if same(r)]
    if len(matches) > 1:
        raise LookupRefusedError(f"GET /{path}: {len(matches)} resources are named {wanted!r}")
    if matches:
        found: dict[str, Any] = matches[0]
        if not isinstance(found.get("id"), str) or not found["id"]:
            raise LookupRefusedError(f"GET /{path}: {wanted!r} came back without an id")
        return found
    if resources:
        others = ", ".join(
            repr(str(r.get(attribute) if isinstance(r, dict) else r)[:60]) for r in resources[:3]
        )
        raise LookupRefusedError(
            f"GET /{path}: the look-up for {wanted!r} returned {others} instead; not adopted"
        )
    return None
