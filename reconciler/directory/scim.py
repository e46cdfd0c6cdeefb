"""The SCIM 2.0 directory: Insomnia's connector (or any RFC 7644 server) behind `Directory`.

A read asks `/ServiceProviderConfig` what the server supports, then lists `/Users` and this
enterprise's managed `/Groups` in pages: one request per page, none per person. The ids it
learns stay here; the planner only sees userNames and displayNames. Writes are carried out
by `reconciler.directory.scim_write` with what the read learnt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError
from scim2_models import Group, ListResponse, ServiceProviderConfig, User

from reconciler.directory.base import Directory, DirectoryProbe, WriteReport
from reconciler.directory.scim_http import RetryPolicy, ScimHttp, ScimRequestError
from reconciler.errors import DirectoryError
from reconciler.plan import PlanChange
from reconciler.state import DirectoryState, DirectoryTeam, DirectoryUser, managed_team_prefix

DEFAULT_PAGE = 100
"""Page size when the server does not announce `filter.maxResults`."""
MAX_PAGE = 1000
USER_ATTRIBUTES = "userName,externalId,active"
GROUP_ATTRIBUTES = "displayName,externalId,members"

R = TypeVar("R", User, Group)  # type: ignore[type-arg]


@dataclass(frozen=True)
class Features:
    """What `/ServiceProviderConfig` announced, reduced to what this client uses."""

    bulk: bool = False
    bulk_max_operations: int = 0
    bulk_max_payload: int = 0
    patch: bool = False
    filter: bool = False
    page_size: int = DEFAULT_PAGE

    @classmethod
    def from_config(cls, config: ServiceProviderConfig) -> Features:
        """Read the announced features; a missing or odd value falls back to the safe side."""
        bulk = config.bulk
        max_ops = (bulk.max_operations or 0) if bulk else 0
        max_payload = (bulk.max_payload_size or 0) if bulk else 0
        flt = config.filter
        page = (flt.max_results if flt and flt.max_results else None) or DEFAULT_PAGE
        return cls(
            bulk=bool(bulk and bulk.supported and max_ops > 0 and max_payload > 0),
            bulk_max_operations=max_ops,
            bulk_max_payload=max_payload,
            patch=bool(config.patch and config.patch.supported),
            filter=bool(flt and flt.supported),
            page_size=max(1, min(page, MAX_PAGE)),
        )


@dataclass
class ScimGroup:
    """A managed group as read: its id and raw member ids (unknown ids kept for PUTs)."""

    id: str
    display_name: str
    external_id: str
    member_ids: list[str] = field(default_factory=list)


@dataclass
class Known:
    """Names ↔ ids this instance has seen; kept up to date by writes."""

    user_ids: dict[str, str] = field(default_factory=dict)
    """Lower-cased userName → id."""
    user_names: dict[str, str] = field(default_factory=dict)
    """id → lower-cased userName."""
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    groups: dict[str, ScimGroup] = field(default_factory=dict)
    """Managed groups by displayName."""

    def add_user(self, user_id: str, user: DirectoryUser) -> None:
        """Remember a user under both its id and its lower-cased userName."""
        self.user_ids[user.user_name] = user_id
        self.user_names[user_id] = user.user_name
        self.users[user.user_name] = user


class ScimDirectory(Directory):
    """People and managed teams in a SCIM 2.0 service provider, over httpx."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        max_in_flight: int = 8,
        use_bulk: bool = True,
    ) -> None:
        if not token:
            raise DirectoryError("no SCIM token given")
        self._base_url = base_url
        self.http = ScimHttp(
            base_url,
            token,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            transport=transport,
            max_connections=max_in_flight,
        )
        self.max_in_flight = max_in_flight
        self.use_bulk = use_bulk
        self.features: Features | None = None
        self.known: Known | None = None

    def __repr__(self) -> str:
        return f"ScimDirectory({self._base_url!r})"

    @property
    def requests(self) -> int:
        """Requests sent by this instance so far, retries included."""
        return self.http.requests

    def close(self) -> None:
        """Release connections."""
        self.http.close()

    def __enter__(self) -> ScimDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def configure(self) -> Features:
        """Ask `/ServiceProviderConfig` once what the server supports."""
        if self.features is None:
            try:
                body = self.http.request("GET", "ServiceProviderConfig").body or {}
                config = ServiceProviderConfig.model_validate(body)
            except ScimRequestError as e:
                raise DirectoryError(f"SCIM ServiceProviderConfig unreadable: {e.reason}") from e
            except ValidationError:
                raise DirectoryError("SCIM ServiceProviderConfig is not a valid one") from None
            self.features = Features.from_config(config)
        return self.features

    def read(self, *, enterprise: str) -> DirectoryState:
        """Every user and this enterprise's managed teams, in pages."""
        features = self.configure()
        known = Known()
        reasons: list[str] = []
        users, reason = self._list(User, "Users", USER_ATTRIBUTES, None, features)
        if reason:
            reasons.append(reason)
        for user in users:
            if user.id and user.user_name:
                known.add_user(
                    user.id,
                    DirectoryUser(
                        user_name=user.user_name.lower(),
                        external_id=user.external_id,
                        active=user.active is not False,
                    ),
                )
        prefix = managed_team_prefix(enterprise)
        group_filter = f'externalId sw "{prefix}"' if features.filter else None
        groups, reason = self._list(Group, "Groups", GROUP_ATTRIBUTES, group_filter, features)
        if reason:
            reasons.append(reason)
        for group in groups:
            if not (group.id and group.external_id and group.external_id.startswith(prefix)):
                continue
            name = group.display_name or ""
            if name in known.groups:
                reasons.append(f"two managed teams are named {name!r}: keep one by hand")
                continue
            known.groups[name] = ScimGroup(
                group.id,
                name,
                group.external_id,
                [m.value for m in group.members or [] if m.value],
            )
        self.known = known
        return DirectoryState(
            users=dict(known.users),
            teams={name: self._team(g, known) for name, g in known.groups.items()},
            complete=not reasons,
            incomplete_reason="; ".join(reasons),
        )

    @staticmethod
    def _team(group: ScimGroup, known: Known) -> DirectoryTeam:
        # Member ids that are no listed user (deleted meanwhile, or not a user) are left out.
        members = frozenset(known.user_names[i] for i in group.member_ids if i in known.user_names)
        return DirectoryTeam(group.display_name, group.external_id, members)

    def _list(
        self,
        model: type[R],
        path: str,
        attributes: str,
        scim_filter: str | None,
        features: Features,
    ) -> tuple[list[R], str]:
        """All resources of one endpoint, and why the listing is partial ("" when whole)."""
        found: list[R] = []
        ids: set[str] = set()
        start = 1
        total: int | None = None
        page_type = ListResponse[model]  # type: ignore[valid-type]
        while True:
            params: dict[str, str | int] = {
                "startIndex": start,
                "count": features.page_size,
                "attributes": attributes,
            }
            if scim_filter:
                params["filter"] = scim_filter
            try:
                body = self.http.request("GET", path, params=params).body or {}
                page: Any = page_type.model_validate(body)
            except ScimRequestError as e:
                return found, f"{path} page at {start} failed: {e.reason}"
            except ValidationError:
                return found, f"{path} page at {start} is not a valid list response"
            resources: list[R] = list(page.resources or [])
            if page.total_results is None:
                return found, f"{path} page at {start} has no totalResults"
            total = page.total_results
            promised = page.items_per_page
            for resource in resources:
                if resource.id in ids:
                    return found, f"{path} changed during the read (a resource listed twice)"
                ids.add(resource.id or "")
                found.append(resource)
            if len(found) >= total:
                break
            if not resources or (promised is not None and len(resources) < promised):
                return found, (
                    f"{path} page at {start} is short: {len(resources)} resources, "
                    f"{total - len(found) + len(resources)} expected from totalResults {total}"
                )
            start += len(resources)
        if total is not None and len(found) != total:
            return found, f"{path} totalResults {total} does not add up: {len(found)} listed"
        return found, ""

    # -- writing and probing ----------------------------------------------------------------

    def write(self, *, enterprise: str, changes: Sequence[PlanChange]) -> WriteReport:
        """Carry out changes in dependency order; reads first if this instance has not."""
        from reconciler.directory.scim_write import ScimWriter

        if self.known is None:
            self.read(enterprise=enterprise)
        assert self.known is not None
        assert self.features is not None
        bulk = self.features.bulk and self.use_bulk
        writer = ScimWriter(self.http, self.features, self.known, bulk, self.max_in_flight)
        before = self.http.requests
        done, failed = writer.run(enterprise, changes)
        return WriteReport(tuple(done), tuple(failed), self.http.requests - before)

    def probe(self, *, enterprise: str) -> DirectoryProbe:
        """Check the token, and count users and this enterprise's managed teams."""
        features = self.configure()
        users = self._count("Users", None)
        prefix = managed_team_prefix(enterprise)
        if features.filter:
            teams = self._count("Groups", f'externalId sw "{prefix}"')
        else:
            groups, reason = self._list(Group, "Groups", "externalId", None, features)
            if reason:
                raise DirectoryError(f"SCIM groups cannot be listed: {reason}")
            teams = sum(1 for g in groups if (g.external_id or "").startswith(prefix))
        return DirectoryProbe(
            bulk=features.bulk,
            bulk_max_operations=features.bulk_max_operations,
            patch=features.patch,
            page_size=features.page_size,
            users=users,
            managed_teams=teams,
        )

    def _count(self, path: str, scim_filter: str | None) -> int:
        params: dict[str, str | int] = {"count": 0, "attributes": "id"}
        if scim_filter:
            params["filter"] = scim_filter
        try:
            body: Mapping[str, Any] = self.http.request("GET", path, params=params).body or {}
        except ScimRequestError as e:
            raise DirectoryError(f"SCIM {path} cannot be counted: {e.reason}") from e
        total = body.get("totalResults")
        if not isinstance(total, int):
            raise DirectoryError(f"SCIM {path} answer has no totalResults")
        return total
