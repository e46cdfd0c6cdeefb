"""The `insomnia-sso` command line: thin commands over the library, one module per area."""

from reconciler.cli import spec_cmds  # noqa: F401  (registers its commands)
from reconciler.cli.base import main

__all__ = ["main"]
