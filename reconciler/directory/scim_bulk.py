"""SCIM operations and sending them through `/Bulk`.

`Op` is what `reconciler.directory.scim_write` turns plan changes into, and `Outcome` is where
both ways of sending them (one request each, or `/Bulk`) say which changes held. The Bulk
side lives here so the writer only decides *what* to send:
  - batches stay within the announced maxOperations and maxPayloadSize (with a margin, as
    the size is measured on each operation's JSON, not on the whole request);
  - each operation's answer is mapped to its changes: 2xx (or 404 on a DELETE) holds, 409 on
    a create adopts what is there, anything else fails with the server's scimType/detail;
  - a Bulk whose answer is lost, too large (413) or does not match the batch falls back to one
    request per operation, with creates looked up first so nothing is made twice; any other
    refusal of the whole Bulk fails all its changes, to be planned again next run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError
from scim2_models import BulkOperation, BulkRequest, BulkResponse, Context, Error, Group, User

from reconciler.directory.scim import Features
from reconciler.directory.scim_http import (
    AnswerLostError,
    ScimHttp,
    ScimRequestError,
    ScimResult,
    ScimStatusError,
)
from reconciler.plan import PlanChange

Payload = Any
"""A scim2-models resource or PatchOp, a raw dict (a PUT), or None (a DELETE)."""
_CONTEXT = {
    "POST": Context.RESOURCE_CREATION_REQUEST,
    "PUT": Context.RESOURCE_REPLACEMENT_REQUEST,
    "PATCH": Context.RESOURCE_PATCH_REQUEST,
}
# Room left in maxPayloadSize for what the per-operation estimate does not count.
_PAYLOAD_SHARE = 0.9
_REQUEST_OVERHEAD = 200
_OPERATION_OVERHEAD = 120


@dataclass
class Op:
    """One SCIM operation and the plan changes it carries out."""

    method: str
    path: str
    data: Payload
    changes: list[PlanChange]
    after: Callable[[ScimResult], None] = lambda _result: None
    recover: Callable[[], Mapping[str, Any] | None] | None = None
    conflict: Callable[[], None] | None = None
    gone_ok: bool = False
    run: Callable[[], ScimResult] | None = None
    """Carried out by hand (GET then PUT): never put into a Bulk."""

    def payload(self) -> Any:
        """The JSON body of this operation as a single request."""
        if self.data is None or isinstance(self.data, dict):
            return self.data
        return self.data.model_dump(scim_ctx=_CONTEXT[self.method])


@dataclass
class Outcome:
    """Which changes held and which failed (with why); operations may report from threads."""

    done: list[PlanChange] = field(default_factory=list)
    failed: list[tuple[PlanChange, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, changes: Sequence[PlanChange]) -> None:
        with self.lock:
            self.done.extend(changes)

    def fail(self, changes: Sequence[PlanChange], reason: str) -> None:
        with self.lock:
            self.failed.extend((c, reason) for c in changes)


class CarryOut(Protocol):
    """Sends one operation on its own and records its outcome (the writer's single path)."""

    def __call__(self, op: Op, *, lost: bool = False) -> None: ...


def _bulk_operation(path: str) -> Any:
    """The BulkOperation class for the resource type a path names."""
    return BulkOperation[Group] if path.startswith("Groups") else BulkOperation[User]  # type: ignore[type-arg]


class BulkSender:
    """Sends operations in `/Bulk` batches, falling back to `carry_out` one by one."""

    def __init__(
        self, http: ScimHttp, features: Features, outcome: Outcome, carry_out: CarryOut
    ) -> None:
        self.http = http
        self.features = features
        self.outcome = outcome
        self.carry_out = carry_out

    def send(self, ops: list[Op]) -> None:
        """Send `ops` (none carried out by hand) batch by batch, recording every outcome."""
        for batch in self.batches(ops):
            request = BulkRequest[User | Group](  # type: ignore[type-arg]
                operations=[
                    _bulk_operation(op.path)(
                        method=op.method,
                        path="/" + op.path,
                        bulk_id=f"op{n}" if op.method == "POST" else None,
                        data=op.data,
                    )
                    for n, op in enumerate(batch)
                ]
            )
            body = request.model_dump(scim_ctx=Context.BULK_REQUEST)
            try:
                answer = self.http.request("POST", "Bulk", json=body).body or {}
                response = BulkResponse[User | Group].model_validate(answer)  # type: ignore[type-arg]
                answers = list(response.operations or [])
            except AnswerLostError:
                answers = []
            except ScimStatusError as e:
                if e.status != 413:
                    self.outcome.fail([c for op in batch for c in op.changes], e.reason)
                    continue
                answers = []
            except (ScimRequestError, ValidationError) as e:
                reason = e.reason if isinstance(e, ScimRequestError) else "Bulk answer is not valid"
                self.outcome.fail([c for op in batch for c in op.changes], reason)
                continue
            if len(answers) != len(batch):
                # The answer is lost or does not say what happened: one request per operation,
                # creates looked up first.
                for op in batch:
                    self.carry_out(op, lost=True)
                continue
            for op, answer_op in zip(batch, answers, strict=True):
                self._record(op, answer_op)

    def batches(self, ops: list[Op]) -> Iterator[list[Op]]:
        """`ops` in order, cut so no batch exceeds maxOperations or (nearly) maxPayloadSize."""
        limit_ops = self.features.bulk_max_operations
        limit_bytes = int(self.features.bulk_max_payload * _PAYLOAD_SHARE) - _REQUEST_OVERHEAD
        batch: list[Op] = []
        size = 0
        for op in ops:
            op_size = len(json.dumps(op.payload())) + _OPERATION_OVERHEAD
            if batch and (len(batch) >= limit_ops or size + op_size > limit_bytes):
                yield batch
                batch, size = [], 0
            batch.append(op)
            size += op_size
        if batch:
            yield batch

    def _record(self, op: Op, answer: Any) -> None:
        """Map one operation's answer inside a Bulk response to its changes."""
        status = int(answer.status or 0)
        if 200 <= status < 300 or (status == 404 and op.gone_ok):
            location = str(answer.location or "")
            result = ScimResult(status, {"id": location.rstrip("/").rsplit("/", 1)[-1]})
            try:
                op.after(result)
            except ScimRequestError as e:
                self.outcome.fail(op.changes, e.reason)
                return
            self.outcome.ok(op.changes)
            return
        if status == 409 and op.conflict is not None:
            self.carry_out(Op(op.method, op.path, None, op.changes, run=_resolve_409(op)))
            return
        error = answer.response if isinstance(answer.response, Error) else None
        detail = f"{error.scim_type}: {error.detail}" if error and error.scim_type else ""
        detail = detail or (error.detail if error and error.detail else "")
        self.outcome.fail(
            op.changes, self.http.scrub(f"Bulk {op.method} /{op.path}: {status} {detail}".strip())
        )


def _resolve_409(op: Op) -> Callable[[], ScimResult]:
    """Adopting what a Bulk create ran into, as an operation carried out by hand."""
    conflict = op.conflict
    assert conflict is not None

    def resolve() -> ScimResult:
        conflict()
        return ScimResult(200, None)

    return resolve
