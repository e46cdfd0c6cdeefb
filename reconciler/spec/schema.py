"""The JSON Schema of the spec, generated from the same models the loader enforces."""

from __future__ import annotations

from typing import Any

from reconciler.spec.models import Enterprise

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """The spec's JSON Schema (draft 2020-12), keys as written in YAML (camelCase)."""
    schema = Enterprise.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema}
