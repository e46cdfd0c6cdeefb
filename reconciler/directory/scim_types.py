"""What the SCIM reader and writer share: the request profile, what the server announced,
resources as read, and the names ↔ ids this client has seen.

Two profiles (DESIGN, "What Insomnia's SCIM connector is known to serve"):
  * `okta` (the default): only the requests Okta's provisioning client sends, the only ones
    known to work against Insomnia: listings with `startIndex`/`count`, `userName eq`
    look-ups, POST/PUT of users, PATCH of `active`, POST/PATCH/DELETE of groups;
  * `rfc7644`: what `/ServiceProviderConfig` announces (Bulk, PATCH, filters, `attributes`),
    for other SCIM 2.0 directories.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.directory.transport import ScimResult
from reconciler.errors import DirectoryError
from reconciler.plan_types import PlanChange
from reconciler.state import DirectoryTeam, DirectoryUser

OKTA_PAGE = 100
"""Okta's page size: `count=100`."""
MAX_PAGE = 1000

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Profile(StrEnum):
    """Which requests the directory may send."""

    OKTA = "okta"
    RFC7644 = "rfc7644"

    @classmethod
    def named(cls, name: str | None) -> Profile:
        """The profile called `name` (default okta); DirectoryError for any other name."""
        if not name:
            return cls.OKTA
        try:
            return cls(name.strip().lower())
        except ValueError:
            raise DirectoryError(
                f"unknown SCIM profile {name!r}: use okta (the default, what Insomnia is known "
                "to serve) or rfc7644"
            ) from None


@dataclass(frozen=True)
class Features:
    """What the client may use: the profile's fixed set, or what rfc7644's
    `/ServiceProviderConfig` announced (a missing or odd value falls back to the safe side)."""

    profile: Profile = Profile.OKTA
    bulk: bool = False
    bulk_max_operations: int = 0
    bulk_max_payload: int = 0
    patch: bool = True
    filter: bool = False
    page_size: int = OKTA_PAGE
    announced: bool = False
    """False when `/ServiceProviderConfig` was not read or is missing (404)."""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Features:
        """rfc7644: read the announced features from a ServiceProviderConfig body."""

        def section(name: str) -> dict[str, Any]:
            value = config.get(name)
            return value if isinstance(value, dict) else {}

        bulk, flt, patch = section("bulk"), section("filter"), section("patch")
        max_ops = _count(bulk.get("maxOperations"))
        max_payload = _count(bulk.get("maxPayloadSize"))
        page = _count(flt.get("maxResults")) or OKTA_PAGE
        return cls(
            profile=Profile.RFC7644,
            bulk=bulk.get("supported") is True and max_ops > 0 and max_payload > 0,
            bulk_max_operations=max_ops,
            bulk_max_payload=max_payload,
            patch=patch.get("supported") is True,
            filter=flt.get("supported") is True,
            page_size=max(1, min(page, MAX_PAGE)),
            announced=True,
        )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


OKTA = Features()
"""Profile okta: PATCH for groups and `active`, no Bulk, no filter but `userName eq`, pages of
100 (a server may return fewer; the reader steps by what each page held)."""


# -- resources as read: lenient about what is not used, strict about what is -----------------


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Name(_Row):
    given_name: str | None = Field(default=None, alias="givenName")
    family_name: str | None = Field(default=None, alias="familyName")


class UserRow(_Row):
    """A SCIM User as read: only the attributes used are checked; extensions are welcome."""

    id: str = Field(min_length=1)
    user_name: str = Field(min_length=1, alias="userName")
    external_id: str | None = Field(default=None, alias="externalId")
    active: bool | None = None
    name: _Name | None = None
    display_name: str | None = Field(default=None, alias="displayName")

    def state(self) -> DirectoryUser:
        """The planner's view of this user."""
        name = self.name or _Name()
        return DirectoryUser(
            user_name=self.user_name.lower(),
            external_id=self.external_id,
            active=self.active is not False,
            id=self.id,
            given_name=name.given_name,
            family_name=name.family_name,
            display_name=self.display_name,
        )


class _MemberRef(_Row):
    value: str | None = None


class GroupRow(_Row):
    """A SCIM Group (an Insomnia Team) as read."""

    id: str = Field(min_length=1)
    display_name: str = Field(min_length=1, alias="displayName")
    external_id: str | None = Field(default=None, alias="externalId")
    members: list[_MemberRef] | None = None

    def member_ids(self) -> list[str]:
        """The ids of its members, as listed."""
        return [m.value for m in self.members or [] if m.value]


def parse_row(model: type[UserRow] | type[GroupRow], data: object) -> UserRow | GroupRow | str:
    """The row, or why it cannot be used (one line naming the resource as best it can)."""
    if not isinstance(data, dict):
        return "a resource that is not an object"
    try:
        return model.model_validate(data)
    except ValidationError as e:
        wanted = ", ".join(sorted({str(err["loc"][0]) for err in e.errors() if err["loc"]}))
        who = data.get("userName") or data.get("displayName") or data.get("id") or "a resource"
        return f"{str(who)[:80]!r} without a usable {wanted or 'shape'}"


@dataclass
class Known:
    """Names ↔ ids this directory has seen, kept up to date by writes."""

    user_ids: dict[str, str] = field(default_factory=dict)
    """Lower-cased userName → id."""
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)
    """id → lower-cased userName."""
    groups: dict[str, DirectoryTeam] = field(default_factory=dict)
    """Every group by id."""
    group_members: dict[str, list[str]] = field(default_factory=dict)
    """Group id → member ids as listed (ids of no listed user included)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_user(self, user: DirectoryUser) -> None:
        """Remember a user under both its id and its lower-cased userName."""
        with self.lock:
            self.user_ids[user.user_name] = user.id
            self.user_names[user.id] = user.user_name
            self.users[user.user_name] = user

    def add_group(self, group: DirectoryTeam, member_ids: list[str]) -> None:
        """Remember a group and its members' ids."""
        with self.lock:
            self.groups[group.id] = group
            self.group_members[group.id] = list(member_ids)


def quoted(value: str) -> str:
    """A SCIM filter string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- operations: what the writer turns changes into, and how they went ----------------------


@dataclass
class Op:
    """One SCIM request (or one carried out by hand: GET then PUT) and the plan changes it
    carries out. `after` learns from the answer; `recover` finds a create whose answer was
    lost; `conflict` adopts what a 409 ran into; `gone_ok` takes a 404 as done (DELETE)."""

    method: str
    path: str
    data: dict[str, Any] | None
    changes: list[PlanChange]
    after: Callable[[ScimResult], None] = lambda _result: None
    recover: Callable[[], Mapping[str, Any] | None] | None = None
    conflict: Callable[[], None] | None = None
    gone_ok: bool = False
    run: Callable[[], ScimResult] | None = None
    """Carried out by hand (GET then PUT): never put into a Bulk."""


@dataclass
class Outcome:
    """Which changes held and which failed (with why); operations report from threads."""

    done: list[PlanChange] = field(default_factory=list)
    failed: list[tuple[PlanChange, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, changes: Sequence[PlanChange]) -> None:
        with self.lock:
            self.done.extend(changes)

    def fail(self, changes: Sequence[PlanChange], reason: str) -> None:
        with self.lock:
            self.failed.extend((c, reason) for c in changes)
