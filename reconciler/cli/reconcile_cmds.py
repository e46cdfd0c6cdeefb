"""`plan`, `apply`, `drift`, `status`, `confirm` and `store …`: the Insomnia side."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from reconciler.apply import ApplyResult, default_actor, read_actual
from reconciler.apply import apply as apply_plan
from reconciler.cli.base import format_option, main, spec_arguments, specs_or_default
from reconciler.cli.enterprise import store_enterprise
from reconciler.confirm import KINDS, confirm_step, confirm_steps, record_acceptance, record_domain
from reconciler.directory.base import Directory
from reconciler.errors import InsomniaSsoError
from reconciler.outputs import OktaOutputs, load_outputs_file, outputs_from_stack
from reconciler.plan import Plan, plan
from reconciler.plan_scim import find_team
from reconciler.render import (
    plan_json,
    plan_markdown,
    plan_text,
    status_json,
    status_markdown,
    status_text,
)
from reconciler.spec import Enterprise, load_specs
from reconciler.state import ActualState
from reconciler.status import onboarding_status
from reconciler.stores import DEFAULT_STORE_URL, open_store
from reconciler.stores.base import Store, utcnow

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CHANGES = 2


def store_option(func: F) -> F:
    """`--store URL`, also from INSOMNIA_SSO_STORE."""
    return click.option(
        "--store",
        "store_url",
        envvar="INSOMNIA_SSO_STORE",
        default=DEFAULT_STORE_URL,
        show_default=True,
        help="Insomnia-side store URL (env INSOMNIA_SSO_STORE).",
    )(func)


def okta_options(func: F) -> F:
    """`--okta-outputs FILE` or `--stack NAME`: where the Okta half's results come from."""
    func = click.option(
        "--stack",
        help="Pulumi stack to read outputs from (runs `pulumi stack output --show-secrets`).",
    )(func)
    return click.option(
        "--okta-outputs",
        "outputs_file",
        type=click.Path(dir_okay=False),
        help="JSON of `pulumi stack output --json --show-secrets`. Without it, Okta values "
        "show as (known after pulumi up).",
    )(func)


def one_enterprise(specs: tuple[str, ...]) -> Enterprise:
    """The single enterprise these commands act on (one Pulumi stack per enterprise)."""
    loaded = load_specs(specs_or_default(specs))
    if len(loaded) != 1:
        names = ", ".join(f"{s.enterprise.name} ({s.path})" for s in loaded)
        raise InsomniaSsoError(
            f"{len(loaded)} enterprises given ({names}); name one spec file per run"
        )
    return loaded[0].enterprise


def okta_outputs(
    enterprise: Enterprise, outputs_file: str | None, stack: str | None
) -> OktaOutputs:
    """Outputs from a file, a stack, or unknown."""
    if outputs_file and stack:
        raise click.UsageError("give --okta-outputs or --stack, not both")
    if outputs_file:
        return load_outputs_file(outputs_file, enterprise)
    if stack:
        return outputs_from_stack(stack, enterprise)
    return OktaOutputs()


PROFILE_META = "insomnia_sso.scim_profile"


def _keep_profile(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.meta[PROFILE_META] = value


def scim_profile() -> str | None:
    """The `--scim-profile` the running command was given (or its env), if any."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(PROFILE_META) if ctx is not None else None


def scim_options(func: F) -> F:
    """`--scim URL` (env INSOMNIA_SSO_SCIM_URL), `--scim-token-file FILE` and
    `--scim-profile okta|rfc7644` (env INSOMNIA_SSO_SCIM_PROFILE)."""
    func = click.option(
        "--scim-profile",
        envvar="INSOMNIA_SSO_SCIM_PROFILE",
        type=click.Choice(["okta", "rfc7644"]),
        expose_value=False,
        callback=_keep_profile,
        help="Which SCIM requests to send: okta (default: only what Okta's client sends, what "
        "Insomnia is known to serve) or rfc7644 (what the server's ServiceProviderConfig "
        "announces: Bulk, filters). Env INSOMNIA_SSO_SCIM_PROFILE.",
    )(func)
    func = click.option(
        "--scim-token-file",
        type=click.Path(dir_okay=False),
        help="File holding the SCIM bearer token (else env INSOMNIA_SSO_SCIM_TOKEN). Never a "
        "flag value: it would show in process lists and shell history.",
    )(func)
    return click.option(
        "--scim",
        "scim_url",
        envvar="INSOMNIA_SSO_SCIM_URL",
        help="Insomnia's SCIM base URL (Enterprise Controls › SCIM; env INSOMNIA_SSO_SCIM_URL). "
        "Without it, people stay in the record's ledger and nothing is sent to Insomnia.",
    )(func)


@contextmanager
def opened_directory(url: str | None, token_file: str | None) -> Iterator[Directory | None]:
    """The SCIM directory `--scim` names (closed however the command ends), or None."""
    if not url:
        yield None
        return
    # Imported on demand: the HTTP stack is not needed by ledger users.
    from reconciler.directory import open_directory, scim_token

    directory = open_directory(
        url, scim_token(token_file), profile=scim_profile(), notify=_say_on_stderr
    )
    try:
        yield directory
    finally:
        directory.close()


def _say_on_stderr(line: str) -> None:
    click.echo(line, err=True)


@contextmanager
def opened(url: str, *, writes: bool = False) -> Iterator[Store]:
    """A store that is closed however the command ends; `writes` for the commands that
    write to it, which upgrade an older record (reading commands refuse one)."""
    store = open_store(url, writes=writes)
    try:
        yield store
    finally:
        store.close()


def emit_plan(result: Plan, output_format: str, *, title: str) -> None:
    """Print a plan in the asked format; warnings go to stderr when stdout is JSON."""
    if output_format == "json":
        click.echo(plan_json(result))
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    elif output_format == "markdown":
        click.echo(plan_markdown(result, title=title), nl=False)
    else:
        for line, color in plan_text(result):
            click.secho(line, fg=color)


def reconcile_options(func: F) -> F:
    """SPEC, `--store`, `--scim`, `--okta-outputs`/`--stack` and `--format`: what every diff
    command takes."""
    for decorate in (
        format_option("text", "json", "markdown"),
        okta_options,
        scim_options,
        store_option,
        spec_arguments(),
    ):
        func = decorate(func)
    return func


def read_sides(
    specs: tuple[str, ...],
    store_url: str,
    outputs_file: str | None,
    stack: str | None,
    scim_url: str | None = None,
    scim_token_file: str | None = None,
) -> tuple[Enterprise, OktaOutputs, ActualState]:
    """Desired (spec and Okta outputs) and actual (one read of the record and directory)."""
    enterprise = one_enterprise(specs)
    outputs = okta_outputs(enterprise, outputs_file, stack)
    with opened(store_url) as store, opened_directory(scim_url, scim_token_file) as directory:
        actual = read_actual(store, directory, enterprise.name, utcnow())
    return enterprise, outputs, actual


def _diff_command(name: str, help_text: str) -> click.Command:
    """`plan` and `drift`: the same diff, exit 2 when anything differs."""

    @main.command(name, help=help_text)
    @reconcile_options
    def command(
        specs: tuple[str, ...],
        store_url: str,
        scim_url: str | None,
        scim_token_file: str | None,
        outputs_file: str | None,
        stack: str | None,
        output_format: str,
    ) -> None:
        sides = read_sides(specs, store_url, outputs_file, stack, scim_url, scim_token_file)
        result = plan(*sides)
        emit_plan(result, output_format, title=f"insomnia-sso {name}")
        sys.exit(0 if result.empty else EXIT_CHANGES)

    return command


plan_command = _diff_command(
    "plan",
    "Show what apply would change and the manual steps still open. Exit 0: nothing to do, "
    "2: changes or open manual steps, 1: error.",
)
drift = _diff_command(
    "drift",
    "Check that Insomnia still matches the spec. Exit 0: in sync, 2: drifted or manual steps "
    "open, 1: error.\n\nMeant for scheduled pipelines: the plan is printed as the drift report.",
)


@main.command("apply")
@reconcile_options
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Remove members even past prune.maxFraction of an organization.",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another apply's lock before exiting 3.",
)
def apply_command(
    specs: tuple[str, ...],
    store_url: str,
    scim_url: str | None,
    scim_token_file: str | None,
    outputs_file: str | None,
    stack: str | None,
    output_format: str,
    allow_mass_removal: bool,
    lock_timeout: float,
) -> None:
    """Carry out the automated changes and list the manual steps.

    With --scim, people and teams are changed in Insomnia through its SCIM connector;
    without it, the record's ledger records the invitations, which an owner sends from
    Insomnia's web UI. Exit 0: done, 1: failed (or some changes failed), 3: locked by
    another apply.
    """
    enterprise = one_enterprise(specs)
    outputs = okta_outputs(enterprise, outputs_file, stack)
    with (
        opened(store_url, writes=True) as store,
        opened_directory(scim_url, scim_token_file) as directory,
        _progress() as progress,
    ):
        result = apply_plan(
            enterprise,
            outputs,
            store,
            actor=default_actor(),
            directory=directory,
            allow_mass_removal=allow_mass_removal,
            lock_timeout=lock_timeout,
            progress=progress,
        )
    emit_plan(result.plan, output_format, title="insomnia-sso apply")
    # Text and Markdown readers get the outcome after the plan; JSON stdout stays the plan.
    for note in apply_notes(result):
        click.echo(note, err=output_format == "json")
    if result.failed:
        sys.exit(1)


def apply_notes(result: ApplyResult) -> list[str]:
    """What apply did, in words that say where: Insomnia, or only the ledger."""
    open_after = result.steps_after
    steps = len(result.plan.manual_steps if open_after is None else open_after)
    if result.plan.scim:
        notes = [
            f"Apply complete: {result.applied} change(s) made in Insomnia through SCIM "
            f"({result.requests} request(s))."
        ]
        if result.failed:
            notes[0] = (
                f"Apply incomplete: {result.applied} change(s) made in Insomnia through SCIM, "
                f"{len(result.failed)} failed; run apply again to retry them."
            )
            notes += [f"  failed: {c.kind.value} {c.key}: {why}" for c, why in result.failed[:20]]
            if len(result.failed) > 20:
                notes.append(f"  … and {len(result.failed) - 20} more (see the journal)")
    else:
        notes = [
            f"Apply complete: {result.applied} change(s) recorded in the ledger. Nothing was "
            "sent to Insomnia: the plan lists each invitation to send (or revoke) from "
            "Insomnia's web UI; confirm them with `insomnia-sso confirm invitation KEY…`, and "
            "each acceptance with `insomnia-sso confirm acceptance KEY…`."
        ]
    if result.waiting:
        held = sorted({c.waiting_on or "" for c in result.waiting})
        notes.append(
            f"{len(result.waiting)} change(s) not carried out: they wait for "
            f"{', '.join(held)} (confirm, then apply again)."
        )
    if steps:
        noun = "manual step waits" if steps == 1 else "manual steps wait"
        where = "listed above" if open_after is None else "`insomnia-sso plan` lists them"
        notes.append(f"{steps} {noun} for an owner ({where}; `insomnia-sso confirm`).")
    return notes


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on an interactive terminal, nothing in pipelines."""
    if not sys.stderr.isatty():
        yield None
        return
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Applying", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@main.command()
@reconcile_options
def status(
    specs: tuple[str, ...],
    store_url: str,
    scim_url: str | None,
    scim_token_file: str | None,
    outputs_file: str | None,
    stack: str | None,
    output_format: str,
) -> None:
    """Onboarding per person: assigned in Okta, then invited, accepted or expired (ledger),
    or provisioned in Insomnia (SCIM)."""
    sides = read_sides(specs, store_url, outputs_file, stack, scim_url, scim_token_file)
    report = onboarding_status(*sides)
    render = {"json": status_json, "markdown": status_markdown}.get(output_format, status_text)
    click.echo(render(report))


@main.group()
def store() -> None:
    """Operate on a local store directly."""


def enterprise_option(func: F) -> F:
    """`--enterprise NAME`, defaulting to the store's only enterprise."""
    return click.option(
        "--enterprise",
        help="Enterprise name; defaults to the store's only enterprise (or, when the store "
        "holds several, the only one in specs/).",
    )(func)


@store.command()
@click.argument("organization")
@click.argument("email")
@store_option
@enterprise_option
def accept(organization: str, email: str, store_url: str, enterprise: str | None) -> None:
    """Record that EMAIL accepted their invitation to ORGANIZATION (local stores)."""
    with opened(store_url, writes=True) as opened_store:
        name = store_enterprise(opened_store, enterprise)
        message = record_acceptance(
            opened_store, name, organization, email, actor=default_actor(), now=utcnow()
        )
    click.echo(message)


@store.command("verify-domain")
@click.argument("domain")
@store_option
@enterprise_option
def verify_domain(domain: str, store_url: str, enterprise: str | None) -> None:
    """Record that DOMAIN passed Insomnia's DNS TXT verification (`confirm domain DOMAIN`)."""
    with opened(store_url, writes=True) as opened_store:
        name = store_enterprise(opened_store, enterprise)
        spec = _spec_named(name)
        if spec is None:  # run away from the checkout: the record alone is enough
            message = record_domain(opened_store, name, domain, actor=default_actor(), now=utcnow())
        else:
            message = confirm_step(
                opened_store,
                spec,
                OktaOutputs(),
                "domain",
                domain,
                actor=default_actor(),
                now=utcnow(),
            )
    click.echo(message)


def _spec_named(name: str) -> Enterprise | None:
    """The enterprise `name` in specs/ of this folder, when there is one that loads."""
    try:
        loaded = load_specs(specs_or_default(()))
    except InsomniaSsoError:
        return None
    return next((s.enterprise for s in loaded if s.enterprise.name == name), None)


@main.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("keys_and_specs", nargs=-1, metavar="KEY... [SPEC]")
@click.option(
    "--keys-from",
    type=click.File("r", encoding="utf-8"),
    help="Read more KEYs from FILE, one a line ('-' for stdin): for many invitations at once.",
)
@store_option
@scim_options
@okta_options
@click.option("--txt", help="With `domain`: the TXT value Insomnia showed, for doctor to check.")
def confirm(
    kind: str,
    keys_and_specs: tuple[str, ...],
    keys_from: TextIO | None,
    store_url: str,
    scim_url: str | None,
    scim_token_file: str | None,
    outputs_file: str | None,
    stack: str | None,
    txt: str | None,
) -> None:
    """Record that an owner did the manual steps KIND KEY..., as the plan shows them.

    \b
    insomnia-sso confirm domain acme.com --txt VALUE
    insomnia-sso confirm sso_connection acme --okta-outputs outputs.json
    insomnia-sso confirm organization platform
    insomnia-sso confirm team_link platform-admins platform-members
    insomnia-sso confirm owner platform/alice@acme.com
    insomnia-sso confirm invitation platform/alice@acme.com platform/bob@acme.io  (sent)
    insomnia-sso confirm member platform/carol@acme.com      (role changed, or removed)
    insomnia-sso confirm acceptance platform/alice@acme.com  (accepted)
    insomnia-sso plan --format json | jq -r '.manual_steps[] | select(.kind == "invitation")
      | .key' | insomnia-sso confirm invitation --keys-from -

    Arguments ending in .yaml or .yml, or naming a folder, are specs; the others are keys.
    Every key is checked before anything is recorded. Only the record changes. When the
    values change later (a new client id), the step is open again. With --scim, a team link
    is confirmed only once the team exists in Insomnia.
    """
    keys, specs = _keys_and_specs(keys_and_specs)
    if keys_from is not None:
        keys += [line.strip() for line in keys_from if line.strip()]
    if not keys:
        raise click.UsageError(f"give at least one {kind} KEY (as the plan shows it)")
    enterprise = one_enterprise(specs)
    outputs = okta_outputs(enterprise, outputs_file, stack)
    if kind == "team_link" and scim_url:
        with (
            opened(store_url, writes=True) as opened_store,
            opened_directory(scim_url, scim_token_file) as directory,
        ):
            actual = read_actual(opened_store, directory, enterprise.name, utcnow())
        for key in keys:
            if not team_exists(enterprise, actual, key):
                raise InsomniaSsoError(
                    f"team {key} is not in Insomnia yet (run apply first), so it cannot have "
                    "been linked; nothing recorded"
                )
    with opened(store_url, writes=True) as opened_store:
        messages = confirm_steps(
            opened_store,
            enterprise,
            outputs,
            kind,
            keys,
            actor=default_actor(),
            now=utcnow(),
            txt=txt,
        )
    for message in messages:
        click.echo(message)


def _keys_and_specs(args: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    """Split `confirm`'s arguments: spec files and folders, and keys."""
    specs = tuple(a for a in args if a.endswith((".yaml", ".yml")) or Path(a).is_dir())
    return [a for a in args if a not in specs], specs


def team_exists(enterprise: Enterprise, actual: ActualState, name: str) -> bool:
    """True when the directory holds the team the spec names `name` (by the record's id or
    by that name)."""
    directory = actual.directory
    assert directory is not None
    for org in enterprise.spec.organizations:
        for role in ("admin", "member"):
            if org.team_name(role) == name:
                return find_team(actual, directory, org.name, role, name).team is not None
    return False
