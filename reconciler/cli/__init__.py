"""The `insomnia-sso` command line: thin commands over the library, one module per area."""

from reconciler.cli import okta_cmds, reconcile_cmds, review_cmds, spec_cmds  # noqa: F401
from reconciler.cli.base import main

__all__ = ["main"]
