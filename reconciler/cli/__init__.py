"""The `insomnia-sso` command line: thin commands over the library, one module per area."""

from reconciler.cli import (  # noqa: F401
    apply_cmds,
    doctor_cmds,
    import_cmds,
    okta_cmds,
    plan_cmds,
    reconcile_cmds,
    review_cmds,
    spec_cmds,
)
from reconciler.cli.base import main

__all__ = ["main"]
