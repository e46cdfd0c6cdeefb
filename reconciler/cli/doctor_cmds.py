"""`doctor`: live checks of what the UI-only steps left behind, for one enterprise."""

from __future__ import annotations

import sys

import click

from reconciler.cli.base import format_option, main, spec_arguments
from reconciler.cli.reconcile_cmds import (
    okta_options,
    okta_outputs,
    one_enterprise,
    scim_options,
    scim_profile,
    store_option,
)
from reconciler.cli.terminal import echo_lines
from reconciler.directory import TOKEN_ENV, check_scim_url, scim_token
from reconciler.directory.base import Directory
from reconciler.doctor import DEFAULT_TIMEOUT, Nameserver, Resolver, doctor
from reconciler.doctor.checks import CheckResult, failed
from reconciler.doctor.reach import Pins
from reconciler.doctor.scim import SCIM, ScimAt, ScimSource, open_pinned
from reconciler.errors import DirectoryError
from reconciler.render_doctor import doctor_json, doctor_markdown, doctor_text
from reconciler.stores import open_store


def _nameservers(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[Nameserver, ...]:
    try:
        return tuple(Nameserver.parse(value) for value in values)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


TOKEN_FIX = f"the token is shown in Insomnia › Enterprise Controls › SCIM; store it as {TOKEN_ENV}"
URL_FIX = (
    "give --scim the base URL exactly as Insomnia shows it (Enterprise Controls › SCIM): "
    "https://, without a user or password"
)


def scim_check(
    url: str | None, token_file: str | None, timeout: float
) -> tuple[ScimSource | CheckResult | None, list[str]]:
    """What the `scim` check gets (nothing without --scim, a failure when the URL or the
    token is unusable, each with its own fix, else the directory to open and probe) and the
    token, to mask should it slip."""
    if not url:
        return None, []
    try:
        checked = check_scim_url(url)
    except DirectoryError as err:
        return failed(SCIM, str(err), URL_FIX), []
    try:
        token = scim_token(token_file)
    except DirectoryError as err:
        return failed(SCIM, str(err), TOKEN_FIX), []
    profile = scim_profile()

    def open_at(pins: Pins) -> Directory:
        return open_pinned(checked, token, profile=profile, timeout=timeout, pins=pins)

    return ScimAt(checked, open_at), [token]


@main.command("doctor")
@spec_arguments()
@okta_options
@store_option
@scim_options
@click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    metavar="HOST[:PORT]",
    callback=_nameservers,
    help="Nameserver IP to look every host up through (repeatable): the issuer's, the SSO "
    "URL's, the SCIM host, the domains' TXT records [default: the system resolver].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds each check may take; checks run at once, so the run takes about this long.",
)
@format_option("text", "json", "markdown")
def doctor_command(
    specs: tuple[str, ...],
    outputs_file: str | None,
    stack: str | None,
    store_url: str,
    scim_url: str | None,
    scim_token_file: str | None,
    nameservers: tuple[Nameserver, ...],
    timeout: float,
    output_format: str,
) -> None:
    """Check from outside what the UI-only steps left behind. Exit 0: healthy, 1: a check failed.

    The issuer's discovery document and signing keys, the SSO URL, each domain's DNS TXT
    record, the SCIM token, and the record's lock and last apply; each says pass, warn, fail
    or skip, and what to fix. Needs no Okta or Insomnia credentials.
    """
    enterprise = one_enterprise(specs)
    outputs = okta_outputs(enterprise, outputs_file, stack)
    source, secrets = scim_check(scim_url, scim_token_file, timeout)
    report = doctor(
        enterprise,
        outputs,
        open_store=lambda: open_store(store_url),
        resolver=Resolver(nameservers),
        scim_check=source,  # opened, probed and closed by the check, within the timeout
        scim_secrets=secrets,
        timeout=timeout,
    )
    if output_format == "json":
        click.echo(doctor_json(report))
    elif output_format == "markdown":
        click.echo(doctor_markdown(report), nl=False)
    else:
        echo_lines(doctor_text(report))
    sys.exit(1 if report.failed else 0)
