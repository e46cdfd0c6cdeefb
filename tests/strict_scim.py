"""A strict SCIM server that serves only what Okta's SCIM 2.0 client sends, and refuses the rest.

Built from Okta's SCIM 2.0 guide, the only requests known to work against Insomnia's
connector: listings with exactly `startIndex` and `count` (pages capped below what is asked,
so a client must step by what it got), `filter=userName eq "…"` with `startIndex=1&count=…`,
GET/POST/PUT of users, PATCH of users replacing `active` with a value object, GET/POST/PATCH/
DELETE of groups with Okta's member paths. Anything else is answered with a SCIM error and
recorded in `violations`. It never keeps a group's `externalId` (Okta never sends one), and
userName and displayName are unique (409), case-insensitively.

Every change of group membership is recorded in `history`, so a test can check that nobody
was ever outside an organization's teams mid-change. Hostile knobs (`ignore_filter`, …) turn
it into a server that misbehaves in one chosen way.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

TOKEN = "strict-scim-token-2b7e41"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

USER_KEYS = {
    "schemas", "userName", "name", "emails", "displayName", "locale", "externalId", "groups",
    "password", "active",
}  # fmt: skip
NAME_KEYS = {"givenName", "familyName", "middleName"}
_FILTER = re.compile(r'^userName eq "((?:[^"\\]|\\.)*)"$')
_REMOVE = re.compile(r'^members\[value eq "((?:[^"\\]|\\.)*)"\]$')


class RefusedError(Exception):
    def __init__(self, status: int, detail: str, *, violation: bool = True) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.violation = violation


@dataclass
class StrictScim:
    """One in-memory tenant served on loopback; `url` is its SCIM base URL."""

    page_cap: int = 7
    serve_config: bool = False
    keep_group_external_id: bool = False
    """False: a group externalId in a request is a violation. True: accepted and dropped
    (a lenient server that forgets it), for the rfc7644 profile."""
    ignore_filter: bool = False
    """Hostile: a userName filter answers with everyone."""
    filter_answers_first: bool = False
    """Hostile: a userName filter answers with whoever comes first."""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    history: list[tuple[str, dict[str, frozenset[str]]]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- serving -----------------------------------------------------------------------------

    def start(self) -> None:
        tenant = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = tenant.handle(
                    self.command, self.path, self.headers.get("Authorization", ""), raw
                )
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/scim+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/scim/v2"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, target: str, auth: str, raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        path = parts.path.removeprefix("/scim/v2")
        query = parse_qsl(parts.query, keep_blank_values=True)
        with self.lock:
            self.requests.append(f"{method} {path}" + (f"?{parts.query}" if parts.query else ""))
            if auth != f"Bearer {TOKEN}":
                return 401, _error(401, "bad token")
            try:
                status, body = self._route(method, path, query, raw)
            except RefusedError as refused:
                if refused.violation:
                    self.violations.append(f"{method} {path}: {refused.detail}")
                return refused.status, _error(refused.status, refused.detail)
            if method in ("POST", "PATCH", "PUT", "DELETE") and path.startswith("/Groups"):
                self.history.append((f"{method} {path}", self.teams()))
            return status, body

    def _route(
        self, method: str, path: str, query: list[tuple[str, str]], raw: bytes
    ) -> tuple[int, Any]:
        segments = [s for s in path.split("/") if s]
        if segments == ["ServiceProviderConfig"] and method == "GET" and not query:
            if not self.serve_config:
                raise RefusedError(404, "no ServiceProviderConfig here", violation=False)
            return 200, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                         "patch": {"supported": True}, "bulk": {"supported": False},
                         "filter": {"supported": True, "maxResults": 100}}  # fmt: skip
        if not segments or segments[0] not in ("Users", "Groups") or len(segments) > 2:
            raise RefusedError(404, "not a path of the Okta profile")
        kind, rid = segments[0], (segments[1] if len(segments) == 2 else None)
        body = self._json(raw) if raw else None
        if rid is None and method == "GET":
            return 200, self._list(kind, query)
        if query:
            raise RefusedError(400, f"query {query} outside the Okta profile")
        if rid is None and method == "POST":
            return 201, (self._create_user(body) if kind == "Users" else self._create_group(body))
        store = self.users if kind == "Users" else self.groups
        if rid not in store:
            raise RefusedError(404, f"{kind} {rid} not found", violation=False)
        if method == "GET" and body is None:
            return 200, self._out(kind, store[rid])
        if kind == "Users" and method == "PUT":
            return 200, self._put_user(rid, body)
        if kind == "Users" and method == "PATCH":
            return 200, self._patch_user(rid, body)
        if kind == "Groups" and method == "PATCH":
            self._patch_group(rid, body)
            return 204, None
        if kind == "Groups" and method == "DELETE" and body is None:
            del self.groups[rid]
            return 204, None
        raise RefusedError(405, f"{method} of {kind}/{{id}} is outside the Okta profile")

    @staticmethod
    def _json(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise RefusedError(400, "body is not JSON") from None

    # -- listing and filtering --------------------------------------------------------------------

    def _list(self, kind: str, query: list[tuple[str, str]]) -> dict[str, Any]:
        params = dict(query)
        keys = [k for k, _ in query]
        allowed = [["startIndex", "count"], ["filter", "startIndex", "count"]]
        if sorted(keys) not in [sorted(a) for a in allowed] or len(set(keys)) != len(keys):
            raise RefusedError(
                400, f"listing with {keys}: only startIndex and count (and a userName filter)"
            )
        if "filter" in params and kind != "Users":
            raise RefusedError(400, "only users are looked up by filter")
        try:
            start, count = int(params["startIndex"]), int(params["count"])
        except ValueError:
            raise RefusedError(400, "startIndex and count must be integers") from None
        if start < 1 or count < 0:
            raise RefusedError(400, "startIndex from 1, count from 0")
        store = self.users if kind == "Users" else self.groups
        found = list(store.values())
        if "filter" in params and self.filter_answers_first:
            found = found[:1]
        elif "filter" in params and not self.ignore_filter:
            match = _FILTER.match(params["filter"])
            if match is None:
                raise RefusedError(400, f"filter {params['filter']!r} outside the Okta profile")
            wanted = match.group(1).replace('\\"', '"').lower()
            found = [u for u in found if u["userName"].lower() == wanted]
        page = found[start - 1 : start - 1 + min(count, self.page_cap)]
        return {
            "schemas": [LIST_SCHEMA],
            "totalResults": len(found),
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": [self._out(kind, r) for r in page],
        }

    # -- users ------------------------------------------------------------------------------------

    def _check_user(self, body: Any, extra: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        if not isinstance(body, dict):
            raise RefusedError(400, "a user must be an object")
        unknown = set(body) - USER_KEYS - extra
        if unknown:
            raise RefusedError(400, f"user attributes {sorted(unknown)} outside the Okta profile")
        if body.get("schemas") != [USER_SCHEMA]:
            raise RefusedError(400, f"schemas must be [{USER_SCHEMA}]")
        if not isinstance(body.get("userName"), str) or not body["userName"]:
            raise RefusedError(400, "userName is required")
        name = body.get("name", {})
        if not isinstance(name, dict) or set(name) - NAME_KEYS:
            raise RefusedError(400, f"name {name!r} outside the Okta profile")
        emails = body.get("emails", [])
        if not isinstance(emails, list) or any(
            set(e) - {"value", "type", "primary", "display"} for e in emails
        ):
            raise RefusedError(400, "emails outside the Okta profile")
        if "active" in body and not isinstance(body["active"], bool):
            raise RefusedError(400, "active must be a boolean")

    def _taken(self, user_name: str, but: str | None = None) -> bool:
        return any(
            u["userName"].lower() == user_name.lower() and uid != but
            for uid, u in self.users.items()
        )

    def _create_user(self, body: Any) -> dict[str, Any]:
        self._check_user(body)
        if self._taken(body["userName"]):
            raise RefusedError(409, "User already exists in the database.", violation=False)
        uid = uuid.uuid4().hex
        user = {k: v for k, v in body.items() if k not in ("password", "groups")}
        user["id"] = uid
        user.setdefault("active", True)
        self.users[uid] = user
        return self._out("Users", user)

    def _put_user(self, uid: str, body: Any) -> dict[str, Any]:
        self._check_user(body, {"id", "meta"})
        if body.get("id", uid) != uid:
            raise RefusedError(400, "id does not match the path")
        if self._taken(body["userName"], but=uid):
            raise RefusedError(409, "userName taken", violation=False)
        user = {k: v for k, v in body.items() if k not in ("meta", "password", "groups")}
        user["id"] = uid
        self.users[uid] = user
        return self._out("Users", user)

    def _patch_user(self, uid: str, body: Any) -> dict[str, Any]:
        operations = self._operations(body)
        if (
            len(operations) != 1
            or set(operations[0]) != {"op", "value"}
            or operations[0]["op"] != "replace"
            or not isinstance(operations[0]["value"], dict)
            or set(operations[0]["value"]) != {"active"}
            or not isinstance(operations[0]["value"]["active"], bool)
        ):
            raise RefusedError(400, f"user PATCH {operations!r} is not Okta's replace of active")
        self.users[uid]["active"] = operations[0]["value"]["active"]
        return self._out("Users", self.users[uid])

    # -- groups -----------------------------------------------------------------------------------

    def _create_group(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise RefusedError(400, "a group must be an object")
        allowed = {"schemas", "displayName", "members"} | (
            {"externalId"} if self.keep_group_external_id else set()
        )
        if set(body) - allowed:
            raise RefusedError(
                400, f"group attributes {sorted(set(body) - allowed)} outside the Okta profile"
            )
        if body.get("schemas") != [GROUP_SCHEMA]:
            raise RefusedError(400, f"schemas must be [{GROUP_SCHEMA}]")
        name = body.get("displayName")
        if not isinstance(name, str) or not name:
            raise RefusedError(400, "displayName is required")
        if any(g["displayName"].lower() == name.lower() for g in self.groups.values()):
            raise RefusedError(409, "Group already exists.", violation=False)
        members = self._member_values(body.get("members", []))
        gid = uuid.uuid4().hex
        self.groups[gid] = {"id": gid, "displayName": name, "members": members}
        return self._out("Groups", self.groups[gid])

    def _member_values(self, members: Any) -> list[str]:
        if not isinstance(members, list):
            raise RefusedError(400, "members must be a list")
        values = []
        for member in members:
            if not isinstance(member, dict) or set(member) - {"value", "display"}:
                raise RefusedError(400, f"member {member!r} outside the Okta profile")
            if member.get("value") not in self.users:
                raise RefusedError(400, f"member {member.get('value')!r} is no user")
            values.append(member["value"])
        return values

    def _patch_group(self, gid: str, body: Any) -> None:
        group = self.groups[gid]
        for operation in self._operations(body):
            op, path = operation.get("op"), operation.get("path")
            if op == "add" and path == "members" and set(operation) == {"op", "path", "value"}:
                for value in self._member_values(operation["value"]):
                    if value not in group["members"]:
                        group["members"].append(value)
            elif op == "remove" and set(operation) == {"op", "path"} and _REMOVE.match(path or ""):
                value = _REMOVE.match(path).group(1)  # type: ignore[union-attr]
                group["members"] = [m for m in group["members"] if m != value]
            elif (
                op == "replace"
                and set(operation) == {"op", "value"}
                and isinstance(operation["value"], dict)
                and set(operation["value"]) <= {"id", "displayName"}
                and operation["value"].get("id", gid) == gid
                and isinstance(operation["value"].get("displayName"), str)
            ):
                name = operation["value"]["displayName"]
                if any(
                    g["displayName"].lower() == name.lower() and i != gid
                    for i, g in self.groups.items()
                ):
                    raise RefusedError(409, "displayName taken", violation=False)
                group["displayName"] = name
            else:
                raise RefusedError(
                    400, f"group PATCH operation {operation!r} outside the Okta profile"
                )

    @staticmethod
    def _operations(body: Any) -> list[dict[str, Any]]:
        if (
            not isinstance(body, dict)
            or set(body) != {"schemas", "Operations"}
            or body["schemas"] != [PATCH_SCHEMA]
            or not isinstance(body["Operations"], list)
            or not all(isinstance(o, dict) for o in body["Operations"])
        ):
            raise RefusedError(400, "a PATCH is {schemas: [PatchOp], Operations: [...]}")
        return list(body["Operations"])

    # -- what a test reads --------------------------------------------------------------------

    def _out(self, kind: str, resource: dict[str, Any]) -> dict[str, Any]:
        out = dict(resource)
        out["schemas"] = [USER_SCHEMA if kind == "Users" else GROUP_SCHEMA]
        if kind == "Groups":
            out["members"] = [
                {"value": m, "display": self.users[m]["userName"]}
                for m in resource["members"]
                if m in self.users
            ]
        out["meta"] = {"resourceType": "User" if kind == "Users" else "Group"}
        return out

    def teams(self) -> dict[str, frozenset[str]]:
        """Each group's displayName → its members' userNames (lower-cased)."""
        return {
            g["displayName"]: frozenset(
                self.users[m]["userName"].lower() for m in g["members"] if m in self.users
            )
            for g in self.groups.values()
        }

    def user(self, email: str) -> dict[str, Any]:
        [found] = [u for u in self.users.values() if u["userName"].lower() == email]
        return found

    def group_names(self) -> list[str]:
        return sorted(g["displayName"] for g in self.groups.values())


def _error(status: int, detail: str) -> dict[str, Any]:
    return {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}


@pytest.fixture
def strict() -> Iterator[StrictScim]:
    """A fresh strict Okta-profile server, stopped after the test."""
    server = StrictScim()
    server.start()
    try:
        yield server
    finally:
        server.stop()
