"""The `insomnia-sso` command line: thin commands over the library, one module per area."""

from reconciler.cli import (  # noqa: F401
    doctor_cmds,
    log_cmds,
    okta_cmds,
    reconcile_cmds,
    review_cmds,
    spec_cmds,
)
from reconciler.cli.base import main

__all__ = ["main"]
