"""The `insomnia-sso` command line: thin commands over the library, one module per area,
each imported only when one of its commands runs (see `base.COMMAND_MODULES`)."""

from reconciler.cli.base import main

__all__ = ["main"]
