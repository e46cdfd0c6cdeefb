"""The `insomnia-sso` command group, its error edge and the options commands share."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from reconciler import gc_policy
from reconciler.errors import InsomniaSsoError, SpecError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SPEC = "specs/enterprise.yaml"
"""Where every command, the workflows and the Pulumi program look for the spec by default."""

DEFAULT_SPECS = (DEFAULT_SPEC,)

DEFAULT_FOLDER = "specs"
"""What `validate` and `review`, which take several specs, read by default: the folder
holding DEFAULT_SPEC (and any other enterprise's spec beside it)."""


class MisuseError(click.UsageError):
    """A usage error exits 1: click's 2 would read as "changes" from plan and drift."""

    exit_code = 1


COMMAND_MODULES: dict[str, str] = {
    "validate": "spec_cmds",
    "schema": "spec_cmds",
    "plan": "plan_cmds",
    "drift": "plan_cmds",
    "apply": "apply_cmds",
    "status": "reconcile_cmds",
    "confirm": "reconcile_cmds",
    "store": "reconcile_cmds",
    "review": "review_cmds",
    "doctor": "doctor_cmds",
    "okta-preview": "okta_cmds",
    "import": "import_cmds",
    "log": "log_cmds",
}
"""Which module of `reconciler.cli` defines each command. A command's module is imported only
when that command runs (or help lists it), so `validate`, run by editors and pre-commit on
every save, never pays for the HTTP, DNS, SCIM, Pulumi or terminal libraries other commands
use."""


class InsomniaGroup(click.Group):
    """Turns every user-facing error into its message and exit code, never a traceback, and
    loads each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"reconciler.cli.{module}")  # registers itself on `main`
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with gc_policy.command():
                return super().invoke(ctx)
        except click.UsageError as err:
            raise MisuseError(err.message, err.ctx) from None
        except SpecError as err:
            for start in range(0, len(err.problems), 4096):  # a few writes, not one a line
                chunk = err.problems[start : start + 4096]
                click.echo("\n".join(map(str, chunk)), err=True)
            click.echo(f"{len(err.problems)} problem(s) found; nothing was written.", err=True)
            ctx.exit(err.exit_code)
        except InsomniaSsoError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)


@click.group(cls=InsomniaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="insomnia-sso")
def main() -> None:
    """Insomnia Enterprise SSO with Okta, as code.

    One YAML spec declares domains, the SSO connection and who belongs to which
    organization. `pulumi up` makes Okta match it; this tool makes Insomnia match it.
    """


def spec_arguments(*, many: bool = False) -> Callable[[F], F]:
    """The SPEC argument (a file, or a folder holding one enterprise's spec; DEFAULT_SPEC
    when none is given), or with `many` SPEC… (files or folders). Commands acting on one
    enterprise say `[SPEC]`; more than one enterprise is refused by `one_enterprise`."""

    def decorate(func: F) -> F:
        metavar = "[SPEC]..." if many else "[SPEC]"
        return click.argument("specs", nargs=-1, type=click.Path(), metavar=metavar)(func)

    return decorate


def format_option(*choices: str) -> Callable[[F], F]:
    """`--format` with the given choices, the first being the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def specs_or_default(specs: tuple[str, ...], *, many: bool = False) -> tuple[str, ...]:
    """The SPEC arguments given, or DEFAULT_SPEC (with `many`, its folder)."""
    return specs or ((DEFAULT_FOLDER,) if many else DEFAULT_SPECS)
