"""What `infra/` declares in Okta, computed offline: the real program under Pulumi mocks.

`preview(enterprise)` runs `infra.program.run` in-process with `pulumi.runtime.set_mocks`: no
Pulumi CLI, no Okta provider plugin, no credentials, no network. The mocks answer like Okta
would, with placeholders where Okta assigns values at `pulumi up` (ids, the client id, the
issuer's path) and `(sensitive)` for the client secret. What comes back is plain, sorted,
JSON-ready data, so two revisions of a spec can be previewed and compared.

Given an adopt block (stack config `insomnia-sso:adopt`), the preview shows which resources the
first `pulumi up` imports, with their import ids, and which it creates. Imported resources keep
the id Okta gave them, and like the provider, the mocks read no client secret back for an
imported app.

Pulumi keeps its runtime state in context variables and in the thread's event loop, so each
run gets a thread, an event loop and a context of its own: runs in one process cannot see each
other, and nothing is left on the caller's thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi
import yaml
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from reconciler.errors import InsomniaSsoError
from reconciler.spec import Enterprise

SENSITIVE = "(sensitive)"
PROJECT = "insomnia-sso"
STACK = "okta-preview"
FORMAT_VERSION = 1

OAUTH_APP = "okta:app/oAuth:OAuth"
AUTH_SERVER = "okta:auth/server:Server"
GROUP_MEMBERSHIPS = "okta:index/groupMemberships:GroupMemberships"
GET_USERS = "okta:user/getUsers:getUsers"
CUSTOM_URL = "CUSTOM_URL"
"""The issuer mode that puts a server's issuer on the org's custom domain."""

READING_ORDER = (
    AUTH_SERVER,
    OAUTH_APP,
    "okta:auth/serverPolicy:ServerPolicy",
    "okta:auth/serverPolicyRule:ServerPolicyRule",
    "okta:group/group:Group",
    GROUP_MEMBERSHIPS,
    "okta:app/groupAssignment:GroupAssignment",
)
"""Resources are listed issuer, app, access rules, then people; other types after, by name."""

_LOGIN_CLAUSE = re.compile(r'profile\.login eq "([^"]*)"')
_SECRET_PROPERTY = re.compile(r"secret|password|privatekey", re.IGNORECASE)
_MAX_STACK_CONFIG_BYTES = 1024 * 1024
_INLINE_LIST = 5
"""Lists longer than this are counted, not listed, in the text rendering (JSON lists all)."""


class OktaPreviewError(InsomniaSsoError):
    """The program could not be previewed: it failed, or declared nothing."""


def unknown(what: str) -> str:
    """The placeholder for a value Okta assigns at `pulumi up`."""
    return f"(known after pulumi up: {what})"


@dataclass(frozen=True)
class DeclaredResource:
    """One Okta resource as the program declares it: provider type, logical name, inputs."""

    type: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    import_id: str | None = None
    """The existing Okta object the first `pulumi up` takes over (`import_`); None: created."""

    @property
    def action(self) -> str:
        """`import` for an adopted resource, `create` for a new one (on the first `up`)."""
        return "create" if self.import_id is None else "import"

    def to_json(self) -> dict[str, Any]:
        """The resource as JSON-ready data."""
        return {
            "type": self.type,
            "name": self.name,
            "action": self.action,
            "import_id": self.import_id,
            "properties": self.properties,
        }


@dataclass(frozen=True)
class ProgramRun:
    """What a Pulumi program did under mocks."""

    resources: tuple[DeclaredResource, ...]
    """Custom (provider) resources in `READING_ORDER`, then by name; components are left out."""
    outputs: dict[str, Any]
    """Stack outputs by name, values as the mocks resolved them (secrets unredacted)."""
    secret_outputs: frozenset[str]
    """Names of the stack outputs Pulumi treats as secrets."""
    invokes: tuple[str, ...]
    """Provider function tokens called, one entry per call."""


@dataclass(frozen=True)
class OktaPreview:
    """The Okta side of one enterprise as `infra/` declares it, with placeholder values."""

    enterprise: str
    resources: tuple[DeclaredResource, ...]
    outputs: dict[str, Any]
    """Stack outputs; secret ones read `(sensitive)`."""
    user_lookups: int
    """`getUsers` searches the program makes (people are looked up in batches)."""

    def to_json(self) -> dict[str, Any]:
        """The preview as JSON-ready data, keys sorted by `json.dumps(sort_keys=True)`."""
        return {
            "format_version": FORMAT_VERSION,
            "enterprise": self.enterprise,
            "placeholders": "ids, client id and issuer path are assigned by Okta at pulumi up",
            "resources": [resource.to_json() for resource in self.resources],
            "outputs": self.outputs,
            "user_lookups": self.user_lookups,
        }


def preview(enterprise: Enterprise, adopt: Mapping[str, Any] | None = None) -> OktaPreview:
    """Run the real Pulumi program for `enterprise` offline and list what it declares.

    `adopt` is the stack config `insomnia-sso:adopt` (appId, authServerId, …), handed to the
    program as stack config, so it is checked exactly as `pulumi up` checks it.
    """
    from infra import program  # the Pulumi program; imported late, it loads pulumi_okta
    from infra.adopt import CONFIG_KEY, parse_adoption

    if adopt:
        parse_adoption(adopt)  # one-line error here rather than a failed program run
    config = {CONFIG_KEY: json.dumps(dict(adopt))} if adopt else {}
    run = run_under_mocks(lambda: program.run(enterprise), OfflineOkta(enterprise), config=config)
    outputs = {
        # An adopted app's secret output is empty, not hidden: there is nothing to hide.
        name: SENSITIVE if name in run.secret_outputs and value else _plain(value)
        for name, value in sorted(run.outputs.items())
    }
    return OktaPreview(
        enterprise=enterprise.name,
        resources=run.resources,
        outputs=outputs,
        user_lookups=run.invokes.count(GET_USERS),
    )


def adopt_block(
    stack_config: str | Path | None = None, pairs: Sequence[str] = ()
) -> dict[str, Any] | None:
    """The adopt block from a stack config file (`Pulumi.<stack>.yaml`) and `KEY=ID` pairs.

    The file's `config: insomnia-sso:adopt` object comes first; each pair sets or overrides one
    key. None when neither names anything. Keys and ids are checked later, by the program's rules.
    """
    from infra.adopt import CONFIG_KEY, AdoptError

    block: dict[str, Any] = {}
    if stack_config is not None:
        found = _stack_config_value(Path(stack_config), CONFIG_KEY)
        if found is not None:
            if not isinstance(found, Mapping):
                raise AdoptError(f"{stack_config}: {CONFIG_KEY} must be an object of Okta ids")
            block.update(found)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise AdoptError(f"--adopt {pair!r}: expected KEY=ID, e.g. appId=0oa1b2c3d4e5f6g7h8i9")
        block[key.strip()] = value.strip()
    return block or None


def _stack_config_value(path: Path, key: str) -> Any:
    """One key of a Pulumi stack config file; None when the file does not set it."""
    from infra.adopt import AdoptError

    try:
        if path.stat().st_size > _MAX_STACK_CONFIG_BYTES:
            raise AdoptError(f"{path}: larger than {_MAX_STACK_CONFIG_BYTES:,} bytes")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise AdoptError(f"{path}: cannot read stack config: {reason}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise AdoptError(f"{where}: not a Pulumi stack config: invalid YAML") from None
    if data is None:  # an empty file sets nothing
        return None
    config = data.get("config") if isinstance(data, Mapping) else None
    if not isinstance(data, Mapping) or not isinstance(config, Mapping | None):
        raise AdoptError(f"{path}: not a Pulumi stack config (expected a 'config:' mapping)")
    return (config or {}).get(key)


def run_under_mocks(
    program: Callable[[], object], mocks: Mocks, *, config: Mapping[str, str] | None = None
) -> ProgramRun:
    """Run `program` against `mocks`, isolated from any other Pulumi run in this process.

    `config` holds stack config as `namespace:key` pairs. Errors from the program propagate;
    a program that registers no resources at all is an error too, never an empty success.
    """
    recorder = _Recorder(mocks)
    box: dict[str, Any] = {}

    def in_thread() -> None:
        try:
            box["run"] = _run_isolated(program, recorder, dict(config or {}))
        except BaseException as err:  # handed to the calling thread below
            box["error"] = err

    thread = threading.Thread(target=in_thread, name="pulumi-mocks")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    run: ProgramRun = box["run"]
    if not run.resources:
        raise OktaPreviewError(
            "the Pulumi program registered no resources (were they declared before the mocks "
            "were set, at import time?)"
        )
    return run


def _run_isolated(
    program: Callable[[], object], recorder: _Recorder, config: dict[str, str]
) -> ProgramRun:
    """One run on the current (fresh) thread: its own event loop, closed afterwards."""
    worker_loops: list[asyncio.AbstractEventLoop] = []

    def worker_loop() -> None:
        # The mock monitor gives each executor thread an event loop; make them ours to close.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        worker_loops.append(loop)

    loop = asyncio.new_event_loop()
    loop.set_default_executor(
        ThreadPoolExecutor(thread_name_prefix="pulumi-mocks", initializer=worker_loop)
    )
    asyncio.set_event_loop(loop)
    outputs: dict[str, Any] = {}
    secrets: set[str] = set()
    try:
        pulumi.runtime.set_all_config(config)
        pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=STACK, preview=False)

        def body() -> object:
            program()
            exported: dict[str, Any] = dict(
                getattr(pulumi.runtime.get_root_resource(), "outputs", {})
            )

            async def collect() -> None:
                for name, value in exported.items():
                    output = pulumi.Output.from_input(value)
                    outputs[name] = await output.future()
                    if await output.is_secret():
                        secrets.add(name)

            return collect()

        pulumi.runtime.test(body)()  # type: ignore[no-untyped-call]
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
        for worker in worker_loops:
            worker.close()
    return ProgramRun(
        resources=tuple(sorted(recorder.declared, key=_reading_order)),
        outputs=outputs,
        secret_outputs=frozenset(secrets),
        invokes=tuple(recorder.invokes),
    )


class _Recorder(Mocks):
    """Writes down every resource and invoke, then lets the wrapped mocks answer."""

    def __init__(self, inner: Mocks) -> None:
        self.inner = inner
        self.declared: list[DeclaredResource] = []
        self.invokes: list[str] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.custom:
            self.declared.append(
                DeclaredResource(args.typ, args.name, _plain(args.inputs), args.resource_id or None)
            )
        return self.inner.new_resource(args)

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        self.invokes.append(args.token)
        return self.inner.call(args)


class OfflineOkta(Mocks):
    """Okta as the offline preview imagines it: every person exists, every id is a placeholder."""

    def __init__(self, enterprise: Enterprise) -> None:
        self.org_url = enterprise.spec.sso.okta.org_url.rstrip("/")
        custom = enterprise.spec.sso.okta.custom_domain
        # The org's custom domain is Okta configuration the program does not declare: the
        # preview assumes the one the spec names exists and is verified.
        self.custom_url = f"https://{custom}" if custom else self.org_url

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.resource_id:
            resource_id = adopted_id(args.resource_id)
        else:
            resource_id = unknown(f"{args.name}.id")
        state = dict(args.inputs)
        if args.typ == OAUTH_APP and args.resource_id:
            # Read back at import and never changed; the provider reads no secret back.
            state["clientId"] = f"(unchanged: the client id of app {args.resource_id})"
        elif args.typ == OAUTH_APP:
            state["clientId"] = unknown(f"{args.name}.client_id")
            state["clientSecret"] = SENSITIVE
        elif args.typ == AUTH_SERVER:
            # Like Okta: the issuer is on the custom domain only in issuer mode CUSTOM_URL.
            base = self.custom_url if args.inputs.get("issuerMode") == CUSTOM_URL else self.org_url
            state["issuer"] = f"{base}/oauth2/{resource_id}"
        return resource_id, state

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token != GET_USERS:
            raise OktaPreviewError(f"the offline preview has no answer for {args.token}")
        logins = [
            login
            for search in args.args.get("searches") or ()
            for login in _LOGIN_CLAUSE.findall(search.get("expression") or "")
        ]
        users = [
            {"id": f"(user id of {login})", "login": login, "status": "ACTIVE"} for login in logins
        ]
        return {"id": f"search of {len(logins)} logins", "users": users}, []


def adopted_id(import_id: str) -> str:
    """The id an imported object keeps: the last Okta id of its import id.

    `aus…/00p…` is policy `00p…`, `aus…/00p…/0pr…` rule `0pr…`, `00g…/true` memberships of group
    `00g…`; a plain id is itself.
    """
    parts = [part for part in import_id.split("/") if part != "true"]
    return parts[-1] if parts else import_id


def _reading_order(resource: DeclaredResource) -> tuple[int, str, str]:
    known = resource.type in READING_ORDER
    rank = READING_ORDER.index(resource.type) if known else len(READING_ORDER)
    return rank, resource.type, resource.name


def _plain(value: Any) -> Any:
    """JSON-ready copy: sorted keys, lists for tuples, whole floats as ints, secrets hidden."""
    if isinstance(value, Mapping):
        return {
            str(key): SENSITIVE if _SECRET_PROPERTY.search(str(key)) else _plain(item)
            for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# --- text rendering ----------------------------------------------------------------------------


def render_text(result: OktaPreview) -> str:
    """The preview for people: each resource with its properties, then the stack outputs."""
    lines = [
        f"Okta resources declared by infra/ for enterprise '{result.enterprise}' "
        "(offline preview under Pulumi mocks;",
        "values shown as '(known after pulumi up: …)' are assigned by Okta when you run pulumi up)",
        "",
    ]
    for resource in result.resources:
        if resource.import_id is None:
            lines.append(f"+ {resource.type}  {resource.name}")
        else:
            lines.append(f"= {resource.type}  {resource.name}  = import {resource.import_id}")
        lines.extend(
            f"    {key}: {_show(key, value)}" for key, value in resource.properties.items()
        )
        lines.append("")
    lines.append("stack outputs:")
    lines.extend(f"    {name}: {_show(name, value)}" for name, value in result.outputs.items())
    custom = _custom_domain(result)
    if custom:
        lines.append(
            f"    (the issuer is on the custom domain {custom}: it must exist and be verified in "
            "Okta before pulumi up; this program does not declare it)"
        )
    if result.outputs.get("client_secret_adopted"):
        lines.append(
            "    (the adopted app's secret is not read back from Okta: Insomnia keeps the one "
            "it holds)"
        )
    people = len(result.outputs.get("assigned_users") or ())
    imported = sum(1 for resource in result.resources if resource.import_id is not None)
    adopted = (
        f" ({imported} adopted by import, then updated to these inputs; "
        f"{len(result.resources) - imported} created)"
        if imported
        else ""
    )
    lines.append("")
    lines.append(
        f"{len(result.resources)} Okta resources{adopted}; {people} people looked up in "
        f"{result.user_lookups} getUsers search(es)."
    )
    return "\n".join(lines) + "\n"


def _custom_domain(result: OktaPreview) -> str | None:
    """The issuer's host when the authorization server issues on the org's custom domain."""
    if not any(
        r.type == AUTH_SERVER and r.properties.get("issuerMode") == CUSTOM_URL
        for r in result.resources
    ):
        return None
    return urlsplit(str(result.outputs.get("issuer", ""))).hostname


def _show(key: str, value: Any) -> str:
    if isinstance(value, list):
        if len(value) > _INLINE_LIST:
            noun = "users" if key in {"users", "assigned_users"} else "items"
            return f"{len(value)} {noun}"
        return "[" + ", ".join(_show(key, item) for item in value) + "]"
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value, sort_keys=True)
