"""The plain checks of `oidc_hardening`, wrapped as pulumi-policy resource validation policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from oidc_hardening import CHECKS, UNKNOWN, Check
from pulumi_policy import (
    Policy,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError


def resource_policies() -> list[Policy]:
    """One policy per check, so each rule is reported, configured and disabled by its name."""
    return [
        ResourceValidationPolicy(
            name=check.name, description=check.description, validate=_validator(check)
        )
        for check in CHECKS
    ]


def known_values(value: Any) -> Any:
    """Plain data from pulumi-policy's props proxy, with preview-time unknowns as `UNKNOWN`.

    The proxy raises on reading an unknown value, which would abort the whole check; turning
    unknowns into data lets a check skip just the values it cannot judge yet.
    """
    if isinstance(value, Mapping):
        return {key: _read(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_read(value, index) for index in range(len(value))]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return known_values(container[key])
    except UnknownValueError:
        return UNKNOWN


def _validator(check: Check) -> ResourceValidation:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != check.resource_type:
            return
        for message in check.function(args.resource_type, known_values(args.props)):
            report_violation(message, None)

    validate.__name__ = check.name.replace("-", "_")
    return validate
