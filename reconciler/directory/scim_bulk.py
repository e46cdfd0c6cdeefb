"""Sending operations through `/Bulk` (profile rfc7644 only, when announced).

- batches stay within the announced maxOperations and maxPayloadSize (with a margin, as
  the size is measured on each operation's JSON, not on the whole request);
- each operation's answer is mapped to its changes: 2xx (or 404 on a DELETE) holds, 409 on
  a create adopts what is there (identity-checked), anything else fails with the server's
  scimType/detail;
- a Bulk whose answer is lost, too large (413) or does not match the batch falls back to one
  request per operation, with creates looked up first so nothing is made twice; any other
  refusal of the whole Bulk fails all its changes, to be planned again next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.directory.scim_types import Features, Op, Outcome
from reconciler.directory.transport import (
    AnswerLostError,
    ScimHttp,
    ScimRequestError,
    ScimResult,
    ScimStatusError,
)

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
# Room left in maxPayloadSize for what the per-operation estimate does not count.
_PAYLOAD_SHARE = 0.9
_REQUEST_OVERHEAD = 200
_OPERATION_OVERHEAD = 120


class CarryOut(Protocol):
    """Sends one operation on its own and records its outcome (the writer's single path)."""

    def __call__(self, op: Op, *, lost: bool = False) -> None: ...


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: int | str
    location: str | None = None
    response: dict[str, Any] | None = None


class _BulkResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    operations: list[_Answer] = Field(default_factory=list, alias="Operations")


class BulkSender:
    """Sends operations in `/Bulk` batches, falling back to `carry_out` one by one."""

    def __init__(
        self,
        http: ScimHttp,
        features: Features,
        outcome: Outcome,
        carry_out: CarryOut,
        fail: Callable[[Op, str], None],
    ) -> None:
        self.http = http
        self.features = features
        self.outcome = outcome
        self.carry_out = carry_out
        self.fail = fail

    def send(self, ops: list[Op]) -> None:
        """Send `ops` (none carried out by hand) batch by batch, recording every outcome."""
        for batch in self.batches(ops):
            body = {
                "schemas": [BULK_REQUEST],
                "Operations": [
                    {
                        "method": op.method,
                        "path": "/" + op.path,
                        **({"bulkId": f"op{n}"} if op.method == "POST" else {}),
                        **({"data": op.data} if op.data is not None else {}),
                    }
                    for n, op in enumerate(batch)
                ],
            }
            try:
                answer = self.http.request("POST", "Bulk", json=body).body or {}
                answers = _BulkResponse.model_validate(answer).operations
            except AnswerLostError:
                answers = []
            except ScimStatusError as e:
                if e.status != 413:
                    for op in batch:
                        self.fail(op, e.reason)
                    continue
                answers = []
            except (ScimRequestError, ValidationError) as e:
                reason = e.reason if isinstance(e, ScimRequestError) else "Bulk answer is not valid"
                for op in batch:
                    self.fail(op, reason)
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
            op_size = len(json.dumps(op.data)) + _OPERATION_OVERHEAD
            if batch and (len(batch) >= limit_ops or size + op_size > limit_bytes):
                yield batch
                batch, size = [], 0
            batch.append(op)
            size += op_size
        if batch:
            yield batch

    def _record(self, op: Op, answer: _Answer) -> None:
        """Map one operation's answer inside a Bulk response to its changes."""
        try:
            status = int(answer.status)
        except ValueError:
            status = 0
        if 200 <= status < 300 or (status == 404 and op.gone_ok):
            location = str(answer.location or "")
            result = ScimResult(status, {"id": location.rstrip("/").rsplit("/", 1)[-1]})
            try:
                op.after(result)
            except ScimRequestError as e:
                self.fail(op, e.reason)
                return
            self.outcome.ok(op.changes)
            return
        if status == 409 and op.conflict is not None:
            self.carry_out(Op(op.method, op.path, None, op.changes, run=_resolve_409(op)))
            return
        error = answer.response or {}
        scim_type, detail = error.get("scimType"), error.get("detail")
        text = f"{scim_type}: {detail}" if scim_type else str(detail or "")
        self.fail(op, self.http.scrub(f"Bulk {op.method} /{op.path}: {status} {text}".strip()))


def _resolve_409(op: Op) -> Callable[[], ScimResult]:
    """Adopting what a Bulk create ran into, as an operation carried out by hand."""
    conflict = op.conflict
    assert conflict is not None

    def resolve() -> ScimResult:
        conflict()
        return ScimResult(200, None)

    return resolve
