"""`insomnia-sso` as a process: it ends as soon as its answer is out.

A command over 100,000 people ends holding a million or so objects (the spec, the record's
snapshot, the plan). Freeing them one by one, and the interpreter's last collection over
them, took a quarter of a second after the last line was written (`bench/cli.py`), work the
operating system does at once when a process ends. Every command closes what it opened
itself, in `with` blocks (the record's connection, the SCIM client, files it writes), so
the console script runs the exit functions libraries registered (`atexit`), flushes the
two output streams and ends the process with the command's exit code (`os._exit`). Run
in-process (tests, `CliRunner`), `main` is a plain click group and nothing here runs.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn

from reconciler.cli.base import main

BROKEN_OUTPUT = 120
"""Python's own exit code when what was written could not be flushed at exit."""


def run() -> NoReturn:
    """The console script: run the command, flush, and end the process."""
    try:
        main(prog_name="insomnia-sso")  # standalone: ends in SystemExit, whatever happens
    except SystemExit as done:
        code = exit_code(done.code)
    else:  # pragma: no cover - click's standalone mode always exits
        code = 0
    atexit._run_exitfuncs()  # what a library registered still runs (logging's shutdown)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            code = code or BROKEN_OUTPUT
    os._exit(code)


def exit_code(code: object) -> int:
    """An exit status as Python makes it from `SystemExit.code`: None is 0, an int is
    itself, anything else is printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
