"""Carrying out user, team and team_member changes against a SCIM server, make before break.

Six phases, each started only once the one before has ended (DESIGN, "Make before break"):
  1. users created, reactivated, re-identified or renamed;
  2. teams created (with their first members in the POST), adopted, renamed;
  3. members added;
  4. members removed, except a person whose add into another team of that organization
     did not hold: they stay where they are;
  5. teams deleted, only once every removal from that team held (its remaining removals
     ride with the DELETE);
  6. users deactivated (`active: false`, never a DELETE).
So no removal is ever in flight while an add it depends on is. Within a phase at most
`max_in_flight` requests run at once, or, in profile rfc7644 when announced, `/Bulk`.
`RunMemory` carries what one run learnt across apply's batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from reconciler.directory import scim_requests as req
from reconciler.directory.scim_read import find_group, find_user
from reconciler.directory.scim_send import RunMemory, Sender, attrs_of, member_of
from reconciler.directory.scim_types import Features, Known, Op, Outcome, Profile, UserRow
from reconciler.directory.transport import (
    ScimHttp,
    ScimRequestError,
    ScimResult,
)
from reconciler.plan_types import Action, Kind, PlanChange
from reconciler.state import DirectoryTeam, DirectoryUser

Phase = Callable[[Sequence[PlanChange]], Iterator[Op]]


class ScimWriter:
    """One `write`: turns changes into operations, phase by phase, and says which held."""

    def __init__(
        self,
        http: ScimHttp,
        features: Features,
        known: Known,
        memory: RunMemory,
        *,
        bulk: bool,
        max_in_flight: int,
    ) -> None:
        self.http = http
        self.features = features
        self.known = known
        self.memory = memory
        self.outcome = Outcome()
        self._sender = Sender(
            http,
            features,
            known,
            memory,
            self.outcome,
            # Bulk only where the profile allows it and the server announced it.
            bulk=bulk and features.profile is Profile.RFC7644 and features.bulk,
            max_in_flight=max_in_flight,
        )

    def run(
        self, changes: Sequence[PlanChange]
    ) -> tuple[list[PlanChange], list[tuple[PlanChange, str]]]:
        """Carry out `changes`; returns (done, failed with reasons), each in plan order."""
        by_phase: dict[int, list[PlanChange]] = defaultdict(list)
        deleted = {c.key for c in changes if c.kind is Kind.TEAM and c.action is Action.DELETE}
        created = {c.key for c in changes if c.kind is Kind.TEAM and c.action is Action.CREATE}
        for change in changes:
            by_phase[self._phase(change, created, deleted)].append(change)
        phases: list[Phase] = [
            self._user_ops,
            lambda batch: self._team_ops(batch, by_phase[-2]),
            self._add_ops,
            self._remove_ops,
            lambda batch: self._delete_ops(batch, by_phase[-5]),
            self._deactivation_ops,
        ]
        for number, phase in enumerate(phases, start=1):
            if by_phase[number]:
                self._sender.send(list(phase(by_phase[number])))
        for change in by_phase[0]:
            self.outcome.fail([change], f"a directory cannot carry out {change.kind} changes")
        order = {id(c): i for i, c in enumerate(changes)}
        done = sorted(self.outcome.done, key=lambda c: order.get(id(c), 0))
        failed = sorted(self.outcome.failed, key=lambda f: order.get(id(f[0]), 0))
        return done, failed

    @staticmethod
    def _phase(change: PlanChange, created: set[str], deleted: set[str]) -> int:
        """The phase a change belongs to; -2 and -5 ride with a team's POST or DELETE."""
        kind, action = change.kind, change.action
        if kind is Kind.USER:
            return 6 if action is Action.DELETE else 1
        if kind is Kind.TEAM:
            return 5 if action is Action.DELETE else 2
        if kind is Kind.TEAM_MEMBER:
            team = change.key.partition("/")[0]
            if action is Action.CREATE:
                return -2 if team in created else 3
            return -5 if team in deleted else 4
        return 0

    # -- 1. users -----------------------------------------------------------------------------

    def _user_ops(self, changes: Sequence[PlanChange]) -> Iterator[Op]:
        for change in changes:
            email = change.key.lower()
            after = dict(change.after or {})
            if email in self.known.user_ids:  # there already (another case, another run)
                yield from self._update(change, email, after)
            elif change.action is Action.CREATE:
                yield self._create_user(change, email, after)
            else:
                self._user_failed(change, f"{email} is not in the directory")

    def _user_failed(self, change: PlanChange, reason: str) -> None:
        self.outcome.fail([change], reason)

    def _create_user(self, change: PlanChange, email: str, after: Mapping[str, Any]) -> Op:
        def created(result: ScimResult) -> None:
            body = dict(result.body or {})
            if not result.recovered:  # a Bulk answer carries only the id
                body = {**req.user_body(email, after), **body}
            self._remember(body, email)
            if result.recovered:
                self._converge(email, after)

        def conflict() -> None:
            found = find_user(self.http, self.features, email)
            if found is None:
                raise ScimRequestError(f"POST /Users: 409 but no user named {email} was found")
            self._remember(found, email)
            self._converge(email, after)

        return Op(
            "POST",
            "Users",
            req.user_body(email, after),
            [change],
            after=created,
            recover=lambda: find_user(self.http, self.features, email),
            conflict=conflict,
        )

    def _remember(self, body: Mapping[str, Any], email: str) -> None:
        row = UserRow.model_validate({**body, "userName": body.get("userName") or email})
        user = row.state()
        if user.user_name != email:
            raise ScimRequestError(f"the directory answered for {user.user_name}, not {email}")
        self.known.add_user(user)
        with self.known.lock:
            self.memory.user_ids[email] = user.id

    def _differences(self, email: str, after: Mapping[str, Any]) -> dict[str, Any]:
        user = self.known.users[email]
        held: dict[str, Any] = {
            "externalId": user.external_id,
            "active": user.active,
            "givenName": user.given_name,
            "familyName": user.family_name,
            "displayName": user.display_name,
        }
        return {
            key: after[key]
            for key in req.USER_FIELDS
            if key in after and after[key] is not None and after[key] != held[key]
        }

    def _converge(self, email: str, after: Mapping[str, Any]) -> None:
        """After adopting a user, bring it to what the change asked, in this same thread."""
        for op in self._user_update(email, self._differences(email, after), []):
            op.after(self._sender.request(op))

    def _update(self, change: PlanChange, email: str, after: Mapping[str, Any]) -> Iterator[Op]:
        wanted = self._differences(email, after)
        if not wanted:
            self.outcome.ok([change])
            with self.known.lock:
                self.memory.user_ids.setdefault(email, self.known.user_ids[email])
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
            self.known.add_user(
                DirectoryUser(
                    email,
                    wanted.get("externalId", old.external_id),
                    wanted.get("active", old.active),
                    old.id,
                    wanted.get("givenName", old.given_name),
                    wanted.get("familyName", old.family_name),
                    wanted.get("displayName", old.display_name),
                )
            )
            with self.known.lock:
                self.memory.user_ids.setdefault(email, old.id)

        if set(wanted) == {"active"} and (
            self.features.profile is Profile.OKTA or self.features.patch
        ):
            body = req.active_patch(bool(wanted["active"]), self.features)
            yield Op("PATCH", path, body, changes, after=updated)
            return
        if self.features.profile is Profile.RFC7644 and self.features.patch:
            yield Op("PATCH", path, req.user_patch(wanted), changes, after=updated)
            return

        def get_then_put() -> ScimResult:
            current = self.http.request("GET", path).body or {}
            return self.http.request("PUT", path, json=req.user_replaced(current, wanted))

        yield Op("PUT", path, None, changes, after=updated, run=get_then_put)

    # -- 2. teams: created with their first members, adopted, renamed ----------------------------

    def _team_ops(
        self, changes: Sequence[PlanChange], riders: Sequence[PlanChange]
    ) -> Iterator[Op]:
        adds: dict[str, list[PlanChange]] = defaultdict(list)
        for change in riders:
            adds[change.key.partition("/")[0]].append(change)
        for change in changes:
            after = dict(change.after or {})
            name = change.key
            if change.action is Action.CREATE:
                yield from self._create_team(change, name, after, adds.pop(name, []))
            elif not (change.before or {}).get("managed", True):  # adopting: no request
                self._team_is(name, str(after["id"]))
                self.outcome.ok([change])
            else:
                yield from self._rename(change, name, str(after["id"]))

    def _team_is(self, name: str, team_id: str) -> None:
        with self.known.lock:
            self.memory.team_ids[name] = team_id

    def _team_id(self, name: str, attrs: Mapping[str, Any], key: str = "teamId") -> str | None:
        with self.known.lock:
            return self.memory.team_ids.get(name) or attrs.get(key) or None

    def _users_for(self, changes: Sequence[PlanChange]) -> list[tuple[PlanChange, str, str]]:
        """(change, user id, email) for each membership whose user is known; the rest fail."""
        found = []
        for change in changes:
            email = member_of(change)[1]
            user_id = self.known.user_ids.get(email)
            if user_id is None:
                self._unmoved([change], f"{email} is not in the directory")
            else:
                found.append((change, user_id, email))
        return found

    def _unmoved(self, changes: Sequence[PlanChange], reason: str) -> None:
        """Adds that did not hold: their people stay wherever they are in that organization."""
        with self.known.lock:
            for change in changes:
                if change.kind is Kind.TEAM_MEMBER:
                    _, email, org = member_of(change)
                    self.memory.unmoved.add((org, email))
        self.outcome.fail(changes, reason)

    def _create_team(
        self, change: PlanChange, name: str, after: Mapping[str, Any], adds: Sequence[PlanChange]
    ) -> Iterator[Op]:
        members = self._users_for(adds)
        pairs = [(user_id, email) for _, user_id, email in members]
        external_id = str(after.get("externalId") or "")
        carried = [change, *(c for c, _, _ in members)]
        there = [t for t in self.known.groups.values() if t.display_name == name]
        if len(there) > 1:
            self._sender.failed(
                Op("POST", "Groups", None, carried), f"{len(there)} teams are named {name}"
            )
            return
        if there:  # made meanwhile (a replayed plan, another run): adopted, never made twice
            self._team_is(name, there[0].id)
            self.outcome.ok([change])
            yield from self._add_ops([c for c, _, _ in members])
            return

        def created(result: ScimResult) -> None:
            body = result.body or {}
            group_id = str(body.get("id") or "")
            if not group_id:
                raise ScimRequestError(f"the directory gave no id for team {name}")
            listed = [str(m.get("value")) for m in body.get("members") or [] if isinstance(m, dict)]
            if not result.recovered:
                listed = [i for i, _ in pairs]
            self._team_is(name, group_id)
            self.known.add_group(DirectoryTeam(group_id, name), listed)
            missing = [(i, e) for i, e in pairs if i not in listed]
            if missing:  # a lost create found again, or a 409: add who is not in yet
                for body_ in req.chunks(missing):
                    self._sender.request(
                        Op("PATCH", f"Groups/{group_id}", req.members_added(body_), [])
                    )
                self.known.group_members[group_id] += [i for i, _ in missing]

        def conflict() -> None:
            found = find_group(self.http, self.features, name)
            if found is None:
                raise ScimRequestError(f"POST /Groups: 409 but no team named {name} was found")
            created(ScimResult(200, found, recovered=True))

        yield Op(
            "POST",
            "Groups",
            req.group_body(name, pairs, self.features, external_id),
            carried,
            after=created,
            recover=lambda: find_group(self.http, self.features, name),
            conflict=conflict,
        )

    def _rename(self, change: PlanChange, name: str, group_id: str) -> Iterator[Op]:
        def renamed(_result: ScimResult) -> None:
            self._team_is(name, group_id)

        path = f"Groups/{group_id}"
        if self.features.profile is Profile.OKTA or self.features.patch:
            yield Op("PATCH", path, req.renamed(group_id, name), [change], after=renamed)
            return
        members = self.known.group_members.get(group_id, [])
        external_id = (self.known.groups.get(group_id) or DirectoryTeam(group_id, name)).external_id
        body = req.group_replaced(group_id, name, external_id, members)
        yield Op("PUT", path, body, [change], after=renamed)

    # -- 3. and 4. members added, then members removed ------------------------------------------

    def _by_team(self, changes: Sequence[PlanChange]) -> dict[str, list[PlanChange]]:
        teams: dict[str, list[PlanChange]] = defaultdict(list)
        for change in changes:
            teams[change.key.partition("/")[0]].append(change)
        return teams

    def _add_ops(self, changes: Sequence[PlanChange]) -> Iterator[Op]:
        for name, team_changes in self._by_team(changes).items():
            team_id = self._team_id(name, attrs_of(team_changes[0]))
            if team_id is None:
                self._unmoved(team_changes, f"team {name} is not in the directory")
                continue
            current = set(self.known.group_members.get(team_id, []))
            members = self._users_for(team_changes)
            self.outcome.ok([c for c, i, _ in members if i in current])
            todo = [(c, i, e) for c, i, e in members if i not in current]
            for part in req.chunks(todo):
                if part:
                    yield self._membership(team_id, name, added=part, removed=[])

    def _remove_ops(self, changes: Sequence[PlanChange]) -> Iterator[Op]:
        for name, team_changes in self._by_team(changes).items():
            team_id = self._team_id(name, attrs_of(team_changes[0]))
            staying = self._staying(name, team_changes)
            if team_id is None:
                self.outcome.ok(staying)  # the team is gone: nobody to remove
                continue
            current = set(self.known.group_members.get(team_id, []))
            pairs = []
            for change in staying:
                user_id = self.known.user_ids.get(member_of(change)[1])
                if user_id is None or user_id not in current:
                    self.outcome.ok([change])  # not in it (any more)
                else:
                    pairs.append((change, user_id, member_of(change)[1]))
            for part in req.chunks(pairs):
                if part:
                    yield self._membership(team_id, name, added=[], removed=part)

    def _staying(self, team: str, removals: Sequence[PlanChange]) -> list[PlanChange]:
        """The removals that may go ahead; the others fail, their person kept in `team`."""
        may = []
        for change in removals:
            _, email, org = member_of(change)
            if (org, email) in self.memory.unmoved:
                with self.known.lock:
                    self.memory.kept_teams.add(team)
                self.outcome.fail(
                    [change],
                    f"kept in {team}: {email}'s move into another team of {org} did not hold",
                )
            else:
                may.append(change)
        return may

    def _membership(
        self,
        team_id: str,
        name: str,
        *,
        added: Sequence[tuple[PlanChange, str, str]],
        removed: Sequence[tuple[PlanChange, str, str]],
    ) -> Op:
        add_ids = [i for _, i, _ in added]
        remove_ids = {i for _, i, _ in removed}
        carried = [c for c, _, _ in (*added, *removed)]
        path = f"Groups/{team_id}"

        def changed(_result: ScimResult) -> None:
            with self.known.lock:
                kept = [i for i in self.known.group_members.get(team_id, []) if i not in remove_ids]
                self.known.group_members[team_id] = kept + [i for i in add_ids if i not in kept]

        if self.features.profile is Profile.OKTA or self.features.patch:
            if added:
                body = req.members_added([(i, e) for _, i, e in added])
            else:
                body = req.members_removed(sorted(remove_ids))
            op = Op("PATCH", path, body, carried, after=changed)
        else:
            wanted = [i for i in self.known.group_members.get(team_id, []) if i not in remove_ids]
            wanted += [i for i in add_ids if i not in wanted]
            group = self.known.groups.get(team_id) or DirectoryTeam(team_id, name)
            body = req.group_replaced(team_id, group.display_name, group.external_id, wanted)
            op = Op("PUT", path, body, carried, after=changed)
        return op

    # -- 5. teams deleted, 6. users deactivated ---------------------------------------------------

    def _delete_ops(
        self, changes: Sequence[PlanChange], riders: Sequence[PlanChange]
    ) -> Iterator[Op]:
        removals = self._by_team(riders)
        for change in changes:
            name = change.key
            riding = removals.pop(name, [])
            staying = self._staying(name, riding)
            if name in self.memory.kept_teams or len(staying) < len(riding):
                self.outcome.fail(
                    [change, *staying],
                    f"team {name} kept: not every removal from it held, so deleting it could "
                    "take someone out of its organization",
                )
                continue
            team_id = self._team_id(name, change.before or {}, "id")
            if team_id is None:
                self.outcome.ok([change, *staying])  # already gone
                continue

            def deleted(_result: ScimResult, team_id: str = team_id) -> None:
                with self.known.lock:
                    self.known.groups.pop(team_id, None)
                    self.known.group_members.pop(team_id, None)

            yield Op("DELETE", f"Groups/{team_id}", None, [change, *staying], deleted, gone_ok=True)

    def _deactivation_ops(self, changes: Sequence[PlanChange]) -> Iterator[Op]:
        for change in changes:
            email = change.key.lower()
            if email not in self.known.user_ids:
                self.outcome.ok([change])  # nobody to deactivate
            else:
                yield from self._update(change, email, {"active": False})
