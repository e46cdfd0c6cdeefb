"""What the Insomnia side's commands share (the spec, the Okta outputs, the record and the
directory, and reading them), and `status`, `confirm` and `store …`. `plan` and `drift` live
in `plan_cmds`, `apply` in `apply_cmds`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from reconciler.apply import default_actor, read_actual
from reconciler.cli.base import format_option, main, spec_arguments, specs_or_default
from reconciler.cli.enterprise import store_enterprise
from reconciler.cli.terminal import echo_lines, read_progress, reading, say
from reconciler.confirm import KINDS, confirm_step, confirm_steps, record_acceptance, record_domain
from reconciler.directory.base import Directory
from reconciler.errors import InsomniaSsoError
from reconciler.outputs import OktaOutputs, load_outputs_file, outputs_from_stack
from reconciler.plan_scim import find_team
from reconciler.render import status_json, status_markdown, status_text
from reconciler.saved_plan import PlanOptions, public_store_url
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
        url, scim_token(token_file), profile=scim_profile(), notify=say, progress=read_progress()
    )
    try:
        yield directory
    finally:
        directory.close()


def plan_options(
    store_url: str, directory: Directory | None, *, allow_mass_removal: bool = False
) -> PlanOptions:
    """The options a plan is made with, as a plan file records them."""
    profile = getattr(directory, "profile", None)
    return PlanOptions(
        store=public_store_url(store_url),
        scim=getattr(directory, "base_url", None),
        scim_profile=None if profile is None else str(profile),
        allow_mass_removal=allow_mass_removal,
    )


def what_is_read(directory: Directory | None) -> str:
    """What a command reads, as a terminal is told while it does."""
    return "the record" if directory is None else "the record and Insomnia's SCIM directory"


def read_state(store: Store, directory: Directory | None, enterprise: str) -> ActualState:
    """One read of the record and directory, said on a terminal while it lasts."""
    with reading(what_is_read(directory)):
        return read_actual(store, directory, enterprise, utcnow())


@contextmanager
def opened(url: str, *, writes: bool = False) -> Iterator[Store]:
    """A store that is closed however the command ends; `writes` for the commands that
    write to it, which upgrade an older record (reading commands refuse one)."""
    store = open_store(url, writes=writes)
    try:
        yield store
    finally:
        store.close()


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
        actual = read_state(store, directory, enterprise.name)
    return enterprise, outputs, actual


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
    """Record in the record (SQLite or PostgreSQL, --store) what happened in Insomnia."""


def enterprise_option(func: F) -> F:
    """`--enterprise NAME`, defaulting to the store's only enterprise."""
    return click.option(
        "--enterprise",
        help="Enterprise name; defaults to the store's only enterprise (or, when the store "
        "holds several, the one specs/enterprise.yaml names).",
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
@click.argument("kind", type=click.Choice(KINDS), metavar="KIND")
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

    KIND is domain, sso_connection, organization or owner; with --scim also team_link;
    without it invitation, member or acceptance (the ledger's people).

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
    _kind_for_mode(kind, scim=bool(scim_url))
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
    echo_lines((message, None) for message in messages)


def _kind_for_mode(kind: str, *, scim: bool) -> None:
    """Invitations, members and acceptances exist only where people are the record's
    ledger, not with --scim. (Team links need teams the record holds: `confirm` checks.)"""
    if kind in ("invitation", "member", "acceptance") and scim:
        raise InsomniaSsoError(
            f"{kind} steps exist only without --scim (people as invitations in the record); "
            "with SCIM, people reach Insomnia through their teams; nothing recorded"
        )


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
