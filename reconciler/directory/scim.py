"""The SCIM 2.0 directory: Insomnia's connector (or any RFC 7644 server) behind `Directory`.

A read lists `/Users` and `/Groups` in pages (one request per page, none per person) and
keeps every group, by id: which of them this tool manages is for the record and the spec to
say (`reconciler.plan_scim`). Profile okta sends only what Okta's client sends and reads no
`/ServiceProviderConfig`; profile rfc7644 reads it once and uses what it announces. Writes
are carried out by `reconciler.directory.scim_write`, make before break.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import httpx

from reconciler.directory.base import Directory, DirectoryProbe, WriteReport
from reconciler.directory.scim_read import Listing, ReadProgress, list_all
from reconciler.directory.scim_send import RunMemory
from reconciler.directory.scim_types import OKTA, Features, GroupRow, Known, Profile, UserRow
from reconciler.directory.scim_write import ScimWriter
from reconciler.directory.transport import Bounds, Notify, ScimHttp, ScimRequestError
from reconciler.errors import DirectoryError
from reconciler.plan_types import PlanChange
from reconciler.state import DirectoryState, DirectoryTeam


class ScimDirectory(Directory):
    """People and teams in a SCIM 2.0 service provider, over httpx."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        profile: Profile = Profile.OKTA,
        bounds: Bounds | None = None,
        transport: httpx.BaseTransport | None = None,
        max_in_flight: int = 8,
        use_bulk: bool = True,
        notify: Notify | None = None,
        progress: ReadProgress | None = None,
    ) -> None:
        if not token:
            raise DirectoryError("no SCIM token given")
        self._base_url = base_url
        self.profile = profile
        self.http = ScimHttp(
            base_url,
            token,
            bounds=bounds or Bounds(),
            transport=transport,
            max_connections=max_in_flight,
            notify=notify,
        )
        self.max_in_flight = max_in_flight
        self.use_bulk = use_bulk
        self.features: Features | None = None
        self.known: Known | None = None
        self.memory = RunMemory()
        self.progress = progress
        """Told of each page a read lists, for a person watching a long read."""

    def __repr__(self) -> str:
        return f"ScimDirectory({self._base_url!r}, profile={self.profile.value})"

    @property
    def base_url(self) -> str:
        """The SCIM base URL this directory speaks to (it carries no credential)."""
        return self._base_url

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
        """Profile okta: its fixed set, no request. rfc7644: `/ServiceProviderConfig`, once."""
        if self.features is None:
            if self.profile is Profile.OKTA:
                self.features = OKTA
            else:
                try:
                    body = self.http.request("GET", "ServiceProviderConfig").body or {}
                except ScimRequestError as e:
                    raise DirectoryError(
                        f"SCIM ServiceProviderConfig unreadable: {e.reason} (profile rfc7644 "
                        "needs it; Insomnia's connector is spoken with profile okta)"
                    ) from e
                self.features = Features.from_config(dict(body))
        return self.features

    def read(self, *, enterprise: str) -> DirectoryState:
        """Every user and every group, in pages; partial (never silently short) when a page
        or a resource could not be read."""
        features = self.configure()
        known = Known()
        users = list_all(self.http, "Users", UserRow, features, self.progress)
        groups = list_all(self.http, "Groups", GroupRow, features, self.progress)
        user_problems = list(users.problems)
        names = Counter(row.user_name.lower() for row in users.rows)
        twice = sorted(name for name, n in names.items() if n > 1)
        if twice:
            user_problems.append(f"two users are named {', '.join(twice[:3])}")
        for row in users.rows:
            if names[row.user_name.lower()] == 1:
                known.add_user(row.state())
        for row in groups.rows:
            ids = row.member_ids()
            members = frozenset(known.user_names[i] for i in ids if i in known.user_names)
            team = DirectoryTeam(
                row.id,
                row.display_name,
                members,
                row.external_id,
                other_members=sum(1 for i in ids if i not in known.user_names),
            )
            known.add_group(team, ids)
        self.known = known
        return DirectoryState(
            users=dict(known.users),
            teams=dict(known.groups),
            users_complete=not user_problems,
            teams_complete=not groups.problems,
            incomplete_reason="; ".join(user_problems + groups.problems),
        )

    # -- writing and probing ----------------------------------------------------------------

    def write(self, *, enterprise: str, changes: Sequence[PlanChange]) -> WriteReport:
        """Carry out changes make before break; reads first if this instance has not."""
        if self.known is None:
            self.read(enterprise=enterprise)
        assert self.known is not None
        features = self.configure()
        writer = ScimWriter(
            self.http,
            features,
            self.known,
            self.memory,
            bulk=self.use_bulk,
            max_in_flight=self.max_in_flight,
        )
        before = self.http.requests
        done, failed = writer.run(changes)
        return WriteReport(
            tuple(done),
            tuple(failed),
            self.http.requests - before,
            user_ids=dict(self.memory.user_ids),
            team_ids=dict(self.memory.team_ids),
        )

    def probe(self, *, enterprise: str) -> DirectoryProbe:
        """Check the token, and say which of the profile's read requests the server answers."""
        features = self.configure()
        answers: list[tuple[str, str]] = []
        counts: dict[str, int] = {}
        for path in ("Users", "Groups"):
            try:
                body = (
                    self.http.request("GET", path, params={"startIndex": 1, "count": 1}).body or {}
                )
            except ScimRequestError as e:
                raise DirectoryError(f"SCIM {path} cannot be listed: {e.reason}") from e
            total = body.get("totalResults")
            if not isinstance(total, int) or isinstance(total, bool):
                raise DirectoryError(f"SCIM {path} answer has no totalResults")
            counts[path] = total
            answers.append((f"GET /{path}?startIndex=&count=", "answered"))
        if features.profile is Profile.OKTA:
            answers.append(_probe_filter(self.http))
        return DirectoryProbe(
            profile=features.profile.value,
            bulk=features.bulk,
            bulk_max_operations=features.bulk_max_operations,
            patch=features.patch,
            page_size=features.page_size,
            users=counts["Users"],
            teams=counts["Groups"],
            requests=tuple(answers),
        )


def _probe_filter(http: ScimHttp) -> tuple[str, str]:
    """Profile okta's one look-up, asked for a name nobody has: answered, or refused."""
    request = 'GET /Users?filter=userName eq "…"'
    try:
        body = (
            http.request(
                "GET",
                "Users",
                params={
                    "filter": 'userName eq "insomnia-sso-probe@invalid"',
                    "startIndex": 1,
                    "count": 100,
                },
            ).body
            or {}
        )
    except ScimRequestError as e:
        if e.status == 404:  # Okta's guide allows a 404 for "no such user"
            return request, "answered (404: nobody)"
        return request, f"refused: {e.reason}"
    resources = body.get("Resources") or []
    if resources:
        return request, "answered, but ignores the filter (it listed other users)"
    return request, "answered"


__all__ = ["Listing", "ScimDirectory"]
