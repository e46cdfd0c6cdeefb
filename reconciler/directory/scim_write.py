"""Carrying out user, team and team_member changes against a SCIM server.

Two rounds, so that every id a team needs is known before the team is written:
  1. users: create (adopting an existing userName), update (externalId, active);
  2. teams and memberships: create a team with its members in the POST, one PATCH (or PUT)
     per existing team for its adds and removes, DELETE emptied teams, deactivate users.
Each round goes through `/Bulk` when announced (batches within maxOperations and
maxPayloadSize; see `reconciler.directory.scim_bulk`), else through at most `max_in_flight`
requests at a time. No bulkId references are needed: round 2 only starts once round 1 has
given every id.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scim2_models import Context, Email, Group, GroupMember, PatchOp, PatchOperation, User

from reconciler.directory.scim import Features, Known, ScimGroup
from reconciler.directory.scim_bulk import BulkSender, Op, Outcome
from reconciler.directory.scim_http import ScimHttp, ScimRequestError, ScimResult, ScimStatusError
from reconciler.plan import Action, Kind, PlanChange
from reconciler.state import DirectoryUser


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ScimWriter:
    """One `write`: turns changes into operations, sends them, says which changes held."""

    def __init__(
        self, http: ScimHttp, features: Features, known: Known, bulk: bool, max_in_flight: int
    ) -> None:
        self.http = http
        self.features = features
        self.known = known
        self.bulk = bulk
        self.max_in_flight = max_in_flight
        self.outcome = Outcome()
        self._bulk = BulkSender(http, features, self.outcome, self._carry_out)
        self._lock = threading.Lock()

    def run(
        self, enterprise: str, changes: Sequence[PlanChange]
    ) -> tuple[list[PlanChange], list[tuple[PlanChange, str]]]:
        """Carry out `changes`; returns (done, failed with reasons), each in plan order."""
        round1 = [c for c in changes if c.kind is Kind.USER and c.action is not Action.DELETE]
        round2 = [c for c in changes if c not in round1]
        self._send(list(self._user_ops(round1)))
        self._send(list(self._team_ops(round2)))
        order = {id(c): i for i, c in enumerate(changes)}
        done = sorted(self.outcome.done, key=lambda c: order.get(id(c), 0))
        failed = sorted(self.outcome.failed, key=lambda f: order.get(id(f[0]), 0))
        return done, failed

    # -- round 1: users ---------------------------------------------------------------------

    def _user_ops(self, changes: Sequence[PlanChange]) -> Iterator[Op]:
        for change in changes:
            email = change.key.lower()
            after = dict(change.after or {})
            if change.action is Action.CREATE:
                if email in self.known.user_ids:  # already there (another case, another run)
                    yield from self._update_ops(change, email, after)
                else:
                    yield self._create_user(change, email, after)
            elif change.action is Action.UPDATE:
                if email not in self.known.user_ids:
                    self.outcome.fail([change], f"{email} is not in the directory")
                else:
                    yield from self._update_ops(change, email, after)
            else:
                self.outcome.fail([change], f"unsupported {change.action} of a user")

    def _create_user(self, change: PlanChange, email: str, after: Mapping[str, Any]) -> Op:
        external_id = str(after.get("externalId") or email)
        user: Any = User(
            user_name=email,
            emails=[Email(value=email, type="work", primary=True)],
            active=True,
            external_id=external_id,
        )

        def created(result: ScimResult) -> None:
            body = dict(result.body or {})
            if not result.recovered:  # a Bulk answer carries only the id
                body.update(externalId=external_id, active=True)
            self._remember_user(body, email)
            if result.recovered:
                self._converge_user(email, after)

        def conflict() -> None:
            found = self._find("Users", "userName", email)
            if found is None:
                raise ScimRequestError(f"POST /Users: 409 but no user named {email} was found")
            self._remember_user(found, email)
            self._converge_user(email, after)

        return Op(
            "POST",
            "Users",
            user,
            [change],
            after=created,
            recover=lambda: self._find("Users", "userName", email),
            conflict=conflict,
        )

    def _remember_user(self, body: Mapping[str, Any], email: str) -> None:
        user_id = str(body.get("id") or "")
        if not user_id:
            raise ScimRequestError(f"the directory gave no id for {email}")
        user = DirectoryUser(
            user_name=email,
            external_id=body.get("externalId"),
            active=body.get("active", True) is not False,
        )
        with self._lock:
            self.known.add_user(user_id, user)

    def _differences(self, email: str, after: Mapping[str, Any]) -> dict[str, Any]:
        user = self.known.users[email]
        wanted: dict[str, Any] = {}
        if "externalId" in after and after["externalId"] != user.external_id:
            wanted["externalId"] = after["externalId"]
        if "active" in after and bool(after["active"]) != user.active:
            wanted["active"] = bool(after["active"])
        return wanted

    def _converge_user(self, email: str, after: Mapping[str, Any]) -> None:
        """After adopting a user, bring externalId/active to what the change asked."""
        wanted = self._differences(email, after)
        for op in self._user_update(email, wanted, []):
            self._request(op)
            op.after(ScimResult(200, None))

    def _update_ops(self, change: PlanChange, email: str, after: Mapping[str, Any]) -> Iterator[Op]:
        wanted = self._differences(email, after)
        if not wanted:
            self.outcome.ok([change])
            return
        yield from self._user_update(email, wanted, [change])

    def _user_update(
        self, email: str, wanted: Mapping[str, Any], changes: list[PlanChange]
    ) -> Iterator[Op]:
        if not wanted:
            return
        user_id = self.known.user_ids[email]
        path = f"Users/{user_id}"

        def updated(_result: ScimResult) -> None:
            old = self.known.users[email]
            new = DirectoryUser(
                email,
                wanted.get("externalId", old.external_id),
                wanted.get("active", old.active),
            )
            with self._lock:
                self.known.users[email] = new

        if self.features.patch:
            patch = PatchOp[User](  # type: ignore[type-arg]
                operations=[
                    PatchOperation[User](op="replace", path=name, value=value)  # type: ignore[type-arg]
                    for name, value in wanted.items()
                ]
            )
            yield Op("PATCH", path, patch, changes, after=updated)
            return

        def get_then_put() -> ScimResult:
            body = dict(self.http.request("GET", path).body or {})
            body.pop("meta", None)
            body.update(wanted)
            return self.http.request("PUT", path, json=body)

        yield Op("PUT", path, None, changes, after=updated, run=get_then_put)

    # -- round 2: teams, memberships, deactivations -----------------------------------------

    def _team_ops(self, changes: Sequence[PlanChange]) -> Iterator[Op]:
        creates = {c.key: c for c in changes if c.kind is Kind.TEAM and c.action is Action.CREATE}
        deletes = {c.key: c for c in changes if c.kind is Kind.TEAM and c.action is Action.DELETE}
        members: dict[str, list[PlanChange]] = defaultdict(list)
        for change in changes:
            if change.kind is Kind.TEAM_MEMBER:
                members[change.key.partition("/")[0]].append(change)
            elif change.kind is Kind.USER and change.action is Action.DELETE:
                pass
            elif change.kind is not Kind.TEAM:
                self.outcome.fail([change], f"a directory cannot carry out {change.kind} changes")
        for name, change in creates.items():
            yield from self._create_team(change, members.pop(name, []))
        for name, change in deletes.items():
            yield from self._delete_team(change, members.pop(name, []))
        for name, team_changes in members.items():
            yield from self._membership_ops(name, team_changes)
        for change in changes:
            if change.kind is Kind.USER and change.action is Action.DELETE:
                email = change.key.lower()
                if email not in self.known.user_ids:
                    self.outcome.ok([change])  # nobody to deactivate
                else:
                    yield from self._update_ops(change, email, {"active": False})

    def _member_ids(self, changes: Sequence[PlanChange]) -> list[tuple[PlanChange, str]]:
        """(change, user id) for each membership whose user is known; the rest fail."""
        found: list[tuple[PlanChange, str]] = []
        for change in changes:
            email = change.key.partition("/")[2].lower()
            user_id = self.known.user_ids.get(email)
            if user_id is None:
                self.outcome.fail([change], f"{email} is not in the directory")
            else:
                found.append((change, user_id))
        return found

    def _create_team(self, change: PlanChange, memberships: Sequence[PlanChange]) -> Iterator[Op]:
        after = dict(change.after or {})
        name = str(after.get("displayName") or change.key)
        external_id = str(after["externalId"])
        existing = self.known.groups.get(name)
        if existing is not None and existing.external_id == external_id:
            self.outcome.ok([change])
            yield from self._membership_ops(name, memberships)
            return
        adds = [(c, i) for c, i in self._member_ids(memberships) if c.action is Action.CREATE]
        for c in memberships:
            if c.action is Action.DELETE:
                self.outcome.ok([c])  # a new team holds nobody to remove
        group = Group(
            display_name=name,
            external_id=external_id,
            members=[GroupMember(value=i) for _, i in adds] or None,
        )

        def created(result: ScimResult) -> None:
            body = result.body or {}
            group_id = str(body.get("id") or "")
            if not group_id:
                raise ScimRequestError(f"the directory gave no id for team {name}")
            ids = [str(m.get("value")) for m in body.get("members") or [] if m.get("value")]
            if not result.recovered:
                ids = [i for _, i in adds]
            with self._lock:
                self.known.groups[name] = ScimGroup(group_id, name, external_id, ids)
            missing = [(c, i) for c, i in adds if i not in ids]
            if missing:  # a lost create found again: add who is not in yet
                for op in self._member_op(name, missing, []):
                    self._request(op)
                    op.after(ScimResult(200, None))

        yield Op(
            "POST",
            "Groups",
            group,
            [change, *(c for c, _ in adds)],
            after=created,
            recover=lambda: self._find("Groups", "externalId", external_id),
        )

    def _delete_team(self, change: PlanChange, memberships: Sequence[PlanChange]) -> Iterator[Op]:
        group = self.known.groups.get(change.key)
        if group is None:
            self.outcome.ok([change, *memberships])  # already gone
            return

        def deleted(_result: ScimResult) -> None:
            with self._lock:
                self.known.groups.pop(change.key, None)

        # The removals of its members ride with the DELETE: they hold when it holds.
        carried = [change, *memberships]
        yield Op("DELETE", f"Groups/{group.id}", None, carried, deleted, gone_ok=True)

    def _membership_ops(self, name: str, changes: Sequence[PlanChange]) -> Iterator[Op]:
        if not changes:
            return
        if name not in self.known.groups:
            self.outcome.fail(list(changes), f"team {name} is not in the directory")
            return
        yield from self._member_op(name, self._member_ids(changes), [])

    def _member_op(
        self, name: str, pairs: Sequence[tuple[PlanChange, str]], extra: list[PlanChange]
    ) -> Iterator[Op]:
        group = self.known.groups[name]
        current = set(group.member_ids)
        adds = [(c, i) for c, i in pairs if c.action is Action.CREATE and i not in current]
        removes = [(c, i) for c, i in pairs if c.action is Action.DELETE and i in current]
        already = [c for c, i in pairs if (c, i) not in adds and (c, i) not in removes]
        self.outcome.ok(already)
        if not adds and not removes:
            return
        add_ids = [i for _, i in adds]
        remove_ids = {i for _, i in removes}
        carried = [c for c, _ in adds] + [c for c, _ in removes] + extra

        def changed(_result: ScimResult) -> None:
            with self._lock:
                kept = [i for i in group.member_ids if i not in remove_ids]
                group.member_ids = kept + [i for i in add_ids if i not in kept]

        path = f"Groups/{group.id}"
        if self.features.patch:
            operations = [
                PatchOperation[Group](op="remove", path=f"members[value eq {_quoted(i)}]")
                for i in sorted(remove_ids)
            ]
            if add_ids:
                operations.append(
                    PatchOperation[Group](
                        op="add", path="members", value=[{"value": i} for i in add_ids]
                    )
                )
            yield Op("PATCH", path, PatchOp[Group](operations=operations), carried, changed)
            return
        wanted = [i for i in group.member_ids if i not in remove_ids]
        wanted += [i for i in add_ids if i not in wanted]
        body = Group(
            id=group.id,
            display_name=group.display_name,
            external_id=group.external_id,
            members=[GroupMember(value=i) for i in wanted],
        ).model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        put = lambda: self.http.request("PUT", path, json=body)  # noqa: E731
        yield Op("PUT", path, body, carried, changed, run=put)

    # -- lookups ---------------------------------------------------------------------------

    def _find(self, path: str, attribute: str, value: str) -> Mapping[str, Any] | None:
        """The first resource whose `attribute` equals `value`, looked up on the server."""
        if self.features.filter:
            params: dict[str, str | int] = {"filter": f"{attribute} eq {_quoted(value)}"}
            body = self.http.request("GET", path, params=params).body or {}
            resources = body.get("Resources") or []
            return resources[0] if resources else None
        start = 1
        while True:
            params = {"startIndex": start, "count": self.features.page_size}
            body = self.http.request("GET", path, params=params).body or {}
            resources = body.get("Resources") or []
            for resource in resources:
                found = str(resource.get(attribute) or "")
                if found == value or (attribute == "userName" and found.lower() == value):
                    return dict(resource)
            start += len(resources)
            if not resources or start > int(body.get("totalResults") or 0):
                return None

    # -- sending ---------------------------------------------------------------------------

    def _send(self, ops: list[Op]) -> None:
        if not ops:
            return
        if self.bulk:
            self._bulk.send([op for op in ops if op.run is None])
            ops = [op for op in ops if op.run is not None]
        if len(ops) == 1 or self.max_in_flight <= 1:
            for op in ops:
                self._carry_out(op)
            return
        with ThreadPoolExecutor(max_workers=self.max_in_flight) as pool:
            futures = [pool.submit(self._carry_out, op) for op in ops]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error

    def _request(self, op: Op, *, lost: bool = False) -> ScimResult:
        if op.run is not None:
            return op.run()
        return self.http.request(
            op.method, op.path, json=op.payload(), recover=op.recover, lost_already=lost
        )

    def _carry_out(self, op: Op, *, lost: bool = False) -> None:
        try:
            try:
                result = self._request(op, lost=lost)
            except ScimStatusError as e:
                if e.status == 409 and op.conflict is not None:
                    op.conflict()
                    self.outcome.ok(op.changes)
                    return
                if e.status == 404 and op.gone_ok:
                    result = ScimResult(404, None)
                else:
                    raise
            op.after(result)
        except ScimRequestError as e:
            self.outcome.fail(op.changes, e.reason)
            return
        self.outcome.ok(op.changes)
