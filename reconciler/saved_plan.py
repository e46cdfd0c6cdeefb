"""Saved plans: `plan --out FILE` writes one, `apply FILE` carries out exactly that plan.

A plan file is JSON (`format: insomnia-sso-plan`, `format_version` 1) holding the plan as
`plan --format json` shows it (with its refusals and warnings), which enterprise it is for,
the options that shape a plan (store, SCIM URL and profile, `--allow-mass-removal`), where
the spec and the Okta outputs were read from, the tool's version, and one fingerprint per
input the plan was made from: the spec, the Okta outputs, the record and the directory.

Each fingerprint is SHA-256 over a random salt the file carries and the input in a
canonical form, so a file says whether an input changed and nothing more. The client secret
enters only as the keyed fingerprint `reconciler.outputs` makes of it, hashed once more with
that salt: the file holds neither the secret nor any value computed from it alone, and two
plan files cannot be compared to tell whether the secret changed between them. The SCIM
token is never read here; the store's URL is kept with any password struck out.

`apply FILE` reads everything again under the lock and refuses, writing nothing, when the
tool's version or an option differs, or when any fingerprint or the plan made now differs
from the saved one (`StalePlanError`, naming what changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reconciler.errors import PlanFileError, StalePlanError
from reconciler.outputs import OktaOutputs
from reconciler.plan import Plan
from reconciler.refusals import Refusal
from reconciler.spec import Enterprise
from reconciler.state import ActualState, DirectoryState

PLAN_FORMAT = "insomnia-sso-plan"
PLAN_FORMAT_VERSION = 1
MAX_PLAN_FILE_BYTES = 512 * 1024 * 1024
"""Ample for 100,000 people (a few hundred bytes per change); a larger file is no plan."""
_SNIFF_BYTES = 4096

INPUTS = {
    "spec": "the spec",
    "okta_outputs": "the Okta outputs",
    "record": "the record",
    "directory": "the SCIM directory",
}
"""Each fingerprinted input, and how a message names it."""


def tool_version() -> str:
    """This insomnia-sso's version: a plan is applied by the version that made it."""
    try:
        return metadata.version("insomnia-sso")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def public_store_url(url: str) -> str:
    """The store URL with any password struck out (userinfo or `password=` parameter)."""
    parts = urlsplit(url)
    if parts.password is None and "password=" not in parts.query.lower():
        return url
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# -- what a plan is made with and from ------------------------------------------------------


@dataclass(frozen=True)
class PlanOptions:
    """The options that change a plan, or where it is carried out."""

    store: str
    """The record's URL, password struck out (`public_store_url`)."""
    scim: str | None
    """The SCIM base URL; None when people live in the record's ledger."""
    scim_profile: str | None
    """The request profile spoken with `scim` (okta, rfc7644); None without SCIM."""
    allow_mass_removal: bool = False

    def to_json(self) -> dict[str, Any]:
        """As the plan file holds them."""
        return {
            "store": self.store,
            "scim": self.scim,
            "scim_profile": self.scim_profile,
            "allow_mass_removal": self.allow_mass_removal,
        }

    def differences(self, now: PlanOptions) -> list[str]:
        """Each option the plan was made with that `now` does not have, in words."""
        out = []
        for flag, made, given in (
            ("--store", self.store, now.store),
            ("--scim", self.scim, now.scim),
            ("--scim-profile", self.scim_profile, now.scim_profile),
        ):
            if made == given:
                continue
            then = f"with {flag} {made}" if made else f"without {flag}"
            this = f"{flag} {given}" if given else f"no {flag}"
            out.append(f"it was made {then}, this apply has {this}")
        return out


@dataclass(frozen=True)
class PlanSources:
    """Where plan read the spec and the Okta outputs; `apply FILE` reads them there again
    unless told otherwise."""

    spec: tuple[str, ...] = ()
    okta_outputs: str | None = None
    stack: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As the plan file holds them."""
        return {"spec": list(self.spec), "okta_outputs": self.okta_outputs, "stack": self.stack}


@dataclass(frozen=True)
class Fingerprints:
    """One salted SHA-256 per input a plan was made from; `directory` is None without SCIM."""

    salt: str
    spec: str
    okta_outputs: str
    record: str
    directory: str | None

    def to_json(self) -> dict[str, Any]:
        """As the plan file holds them."""
        return {
            "salt": self.salt,
            "spec": self.spec,
            "okta_outputs": self.okta_outputs,
            "record": self.record,
            "directory": self.directory,
        }

    def changed(self, now: Fingerprints) -> list[str]:
        """The inputs whose fingerprint differs in `now`, named as messages name them."""
        return [
            INPUTS[name]
            for name in INPUTS
            if getattr(self, name) != getattr(now, name)  # a directory added or gone too
        ]


def new_salt() -> str:
    """A fresh random salt for one plan's fingerprints."""
    return secrets.token_hex(16)


def fingerprints(
    enterprise: Enterprise, outputs: OktaOutputs, actual: ActualState, *, salt: str
) -> Fingerprints:
    """Fingerprint what a plan is made from: desired (spec, outputs) and actual (one read)."""
    return Fingerprints(
        salt,
        spec_fingerprint(enterprise, salt=salt),
        outputs_fingerprint(outputs, salt=salt),
        record_fingerprint(actual, salt=salt),
        None if actual.directory is None else directory_fingerprint(actual.directory, salt=salt),
    )


def _digest(salt: str, label: str, parts: Iterable[object]) -> str:
    """`sha256:HEX` over the salt, the label and each part as compact, key-sorted JSON."""
    digest = hashlib.sha256(f"{salt}\0{label}\0".encode())
    encode = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode
    for part in parts:
        digest.update(encode(part).encode())
        digest.update(b"\n")
    return f"sha256:{digest.hexdigest()}"


def spec_fingerprint(enterprise: Enterprise, *, salt: str) -> str:
    """The spec as loaded and checked (comments and layout do not count)."""
    return _digest(salt, "spec", [enterprise.model_dump_json()])


def outputs_fingerprint(outputs: OktaOutputs, *, salt: str) -> str:
    """The Okta outputs; the client secret only as the keyed fingerprint it arrived as."""
    return _digest(
        salt,
        "okta_outputs",
        [
            outputs.client_id,
            outputs.issuer,
            outputs.secret_fingerprint,
            outputs.app_id,
            outputs.auth_server_id,
            None if outputs.assigned_users is None else sorted(outputs.assigned_users),
            outputs.secret_adopted,
            sorted(outputs.names.items()),
        ],
    )


def record_fingerprint(actual: ActualState, *, salt: str) -> str:
    """What the planner reads of the record (never its lock or journal, nor the time)."""
    return _digest(salt, "record", _record_parts(actual))


def _record_parts(actual: ActualState) -> Iterator[object]:
    yield ["exists", actual.exists, "complete", actual.complete]
    yield sorted((d.name, d.verified) for d in actual.domains.values())
    yield sorted(actual.organizations)
    for key in sorted(actual.invitations):
        i = actual.invitations[key]
        yield ["i", key, i.role, i.status.value, i.invited_at.isoformat(), i.expires_at.isoformat()]
    for key in sorted(actual.members):
        m = actual.members[key]
        yield ["m", key, m.role, m.joined_at.isoformat()]
    for kind, key in sorted(actual.confirmations):
        c = actual.confirmations[kind, key]
        yield ["c", kind, key, c.digest, sorted(c.detail.items())]
    yield sorted(actual.managed_users)
    yield sorted(actual.managed_user_ids.items())
    yield sorted(
        (t.organization, t.role, t.scim_id, t.display_name) for t in actual.managed_teams.values()
    )


def directory_fingerprint(directory: DirectoryState, *, salt: str) -> str:
    """Every user and team one read of the directory found, and whether it read them whole."""
    return _digest(salt, "directory", _directory_parts(directory))


def _directory_parts(directory: DirectoryState) -> Iterator[object]:
    yield [directory.users_complete, directory.teams_complete]
    for name in sorted(directory.users):
        u = directory.users[name]
        names = [u.given_name, u.family_name, u.display_name]
        yield ["u", name, u.id, u.external_id, u.active, *names]
    for team_id in sorted(directory.teams):
        t = directory.teams[team_id]
        yield ["t", team_id, t.display_name, sorted(t.members), t.external_id, t.other_members]


def plan_document(
    plan: Plan, found: Sequence[Refusal], *, warnings: bool = False
) -> dict[str, Any]:
    """The plan JSON `plan --format json` prints: the documented shape with `refusals`
    (and, in a plan file, `warnings`)."""
    document = plan.to_json()
    summary = document.pop("summary")
    document["refusals"] = [refusal.to_json() for refusal in found]
    if warnings:
        document["warnings"] = list(plan.warnings)
    document["summary"] = summary
    return document


def comparable(document: Mapping[str, Any]) -> dict[str, Any]:
    """What of a plan must be the same for a plan to be the one carried out: its changes,
    manual steps and refusals, as JSON reads them back."""
    picked = {key: document.get(key) for key in ("changes", "manual_steps", "refusals")}
    loaded: dict[str, Any] = json.loads(json.dumps(picked))
    return loaded


# -- the file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedPlan:
    """A plan as `plan --out` saved it."""

    enterprise: str
    tool_version: str
    created_at: str
    created_by: str
    options: PlanOptions
    sources: PlanSources
    fingerprints: Fingerprints
    plan: Mapping[str, Any]
    """The plan JSON: changes, manual steps, refusals, warnings and summary."""

    def to_json(self) -> dict[str, Any]:
        """The plan file's document."""
        return {
            "format": PLAN_FORMAT,
            "format_version": PLAN_FORMAT_VERSION,
            "enterprise": self.enterprise,
            "tool_version": self.tool_version,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "options": self.options.to_json(),
            "sources": self.sources.to_json(),
            "fingerprints": self.fingerprints.to_json(),
            "plan": dict(self.plan),
        }

    def refuse_if_made_otherwise(self, path: str, enterprise: str, options: PlanOptions) -> None:
        """StalePlanError when this apply is not the one the plan was made for: another
        enterprise, another version of the tool, other options."""
        problems = []
        if enterprise != self.enterprise:
            problems.append(f"it is for enterprise '{self.enterprise}', the spec is '{enterprise}'")
        version = tool_version()
        if version != self.tool_version:
            problems.append(
                f"the tool version changed (made by insomnia-sso {self.tool_version}, this is "
                f"{version})"
            )
        problems += self.options.differences(options)
        if problems:
            raise StalePlanError(
                f"the saved plan {path} does not fit this apply: {'; '.join(problems)}; "
                "nothing was changed. Make a new plan (`insomnia-sso plan --out FILE`) and "
                "apply that"
            )

    def refuse_if_stale(self, path: str, now: Fingerprints, document: Mapping[str, Any]) -> None:
        """StalePlanError naming each input that changed since the plan was made, or, when
        none did, saying that the plan made now differs all the same (time passed: an
        invitation expired)."""
        changed = self.fingerprints.changed(now)
        if changed:
            what = _joined(changed)
            raise StalePlanError(
                f"the saved plan {path} is stale: {what} changed since it was made; nothing "
                "was changed. Make a new plan (`insomnia-sso plan --out FILE`) and apply that"
            )
        if comparable(document) != comparable(self.plan):
            raise StalePlanError(
                f"the saved plan {path} is stale: made from the same inputs now, the plan "
                "differs (time passed: an invitation expired?); nothing was changed. Make a "
                "new plan (`insomnia-sso plan --out FILE`) and apply that"
            )


def _joined(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def save_plan(path: str | Path, saved: SavedPlan) -> None:
    """Write the plan file whole or not at all (a temporary file renamed over it)."""
    target = Path(path)
    text = json.dumps(saved.to_json(), indent=1, ensure_ascii=False) + "\n"
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except OSError as err:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise PlanFileError(f"{path}: cannot write the plan: {err.strerror or err}") from None


def looks_like_plan_file(path: str) -> bool:
    """True when `path` is a file whose text opens like a plan file (a JSON object naming
    the plan format), so that `apply FILE` can tell it from a spec."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    return text.startswith("{") and f'"{PLAN_FORMAT}"' in text


def load_plan(path: str) -> SavedPlan:
    """A plan file, checked; PlanFileError for anything that is not a plan this reads."""
    try:
        if Path(path).stat().st_size > MAX_PLAN_FILE_BYTES:
            raise PlanFileError(f"{path}: larger than {MAX_PLAN_FILE_BYTES:,} bytes; not a plan")
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise PlanFileError(f"{path}: cannot read the plan: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PlanFileError(f"{path}: not a saved plan (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise PlanFileError(f"{path}: not a saved plan (no format {PLAN_FORMAT!r})")
    version = data.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path}: plan format_version {version!r}; this insomnia-sso reads "
            f"{PLAN_FORMAT_VERSION}: make the plan again with this version"
        )
    try:
        options, sources, prints = data["options"], data["sources"], data["fingerprints"]
        plan = data["plan"]
        saved = SavedPlan(
            enterprise=_text(data["enterprise"]),
            tool_version=_text(data["tool_version"]),
            created_at=_text(data["created_at"]),
            created_by=_text(data["created_by"]),
            options=PlanOptions(
                store=_text(options["store"]),
                scim=_optional(options["scim"]),
                scim_profile=_optional(options["scim_profile"]),
                allow_mass_removal=options["allow_mass_removal"] is True,
            ),
            sources=PlanSources(
                spec=tuple(_text(s) for s in sources["spec"]),
                okta_outputs=_optional(sources["okta_outputs"]),
                stack=_optional(sources["stack"]),
            ),
            fingerprints=Fingerprints(
                salt=_text(prints["salt"]),
                spec=_text(prints["spec"]),
                okta_outputs=_text(prints["okta_outputs"]),
                record=_text(prints["record"]),
                directory=_optional(prints["directory"]),
            ),
            plan=plan,
        )
        if not isinstance(plan, dict) or not all(
            isinstance(plan[key], list) for key in ("changes", "manual_steps", "refusals")
        ):
            raise TypeError("plan")
    except (KeyError, TypeError) as err:
        raise PlanFileError(f"{path}: not a saved plan (missing or wrong: {err})") from None
    return saved


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(repr(value))
    return value


def _optional(value: object) -> str | None:
    return None if value is None else _text(value)


def new_saved_plan(
    plan: Plan,
    found: Sequence[Refusal],
    prints: Fingerprints,
    *,
    options: PlanOptions,
    sources: PlanSources,
    actor: str,
    now: datetime,
) -> SavedPlan:
    """The saved form of a plan just made."""
    return SavedPlan(
        enterprise=plan.enterprise,
        tool_version=tool_version(),
        created_at=now.isoformat(timespec="seconds"),
        created_by=actor,
        options=options,
        sources=sources,
        fingerprints=prints,
        plan=plan_document(plan, found, warnings=True),
    )
