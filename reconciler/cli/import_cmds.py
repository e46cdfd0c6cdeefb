"""`import`: a spec written from what Insomnia holds (its SCIM directory, or a member list)."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from click.core import ParameterSource

from reconciler.apply import default_actor
from reconciler.cli.base import main
from reconciler.cli.reconcile_cmds import (
    okta_options,
    okta_outputs,
    opened,
    opened_directory,
    scim_options,
    scim_profile,
    store_option,
)
from reconciler.confirm import record_members
from reconciler.errors import ImportInputError, SpecError
from reconciler.import_csv import read_members_csv
from reconciler.import_spec import Imported, document, from_directory, from_rows
from reconciler.outputs import (
    OktaOutputs,
    outputs_file_text,
    parse_assignments,
    stack_outputs_text,
)
from reconciler.spec import Enterprise, load_file, load_text
from reconciler.spec.models import SLUG_PATTERN
from reconciler.spec.writer import EXAMPLE_SCHEMA, SCHEMA_COMMENT
from reconciler.stores.base import utcnow


@main.command("import")
@scim_options
@click.option(
    "--members-csv",
    type=click.Path(dir_okay=False),
    help="Without SCIM: a member list with the columns organization,email,role and a header "
    "row (givenName, familyName optional), as an owner copies it from Insomnia.",
)
@click.option(
    "--team",
    "teams",
    multiple=True,
    metavar="NAME=ORGANIZATION:ROLE",
    help="Map the SCIM team NAME to an organization and a role (admin or member); "
    "repeatable. Teams named {organization}-{role}s map by their name.",
)
@click.option(
    "--spec",
    "base_spec",
    type=click.Path(dir_okay=False),
    help="Keep this spec's metadata, domains, SSO block and prune settings (and its team "
    "names), and replace its organizations.",
)
@click.option(
    "--enterprise",
    help="Without --spec: the enterprise's name (metadata.name), else left to fill in.",
)
@okta_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the spec to this file (refused when it exists, unless --force); default stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite the --out file.")
@click.option(
    "--accepted",
    is_flag=True,
    help="With --members-csv: record everyone in the record's ledger as having accepted "
    "(invitations recorded and accepted), so the first plan invites nobody again.",
)
@store_option
@click.option(
    "--now",
    help="The time the header names (ISO 8601, e.g. 2026-12-01T00:00:00Z); default now. "
    "Two imports of the same directory with the same --now are byte-identical.",
)
def import_command(
    scim_url: str | None,
    scim_token_file: str | None,
    members_csv: str | None,
    teams: tuple[str, ...],
    base_spec: str | None,
    enterprise: str | None,
    outputs_file: str | None,
    stack: str | None,
    out: str | None,
    force: bool,
    accepted: bool,
    store_url: str,
    now: str | None,
) -> None:
    """Write a spec's organizations from what Insomnia holds: the SCIM directory (--scim,
    as plan reads it) or a member list (--members-csv).

    \b
    insomnia-sso import --scim URL --enterprise acme --out specs/enterprise.yaml
    insomnia-sso import --scim URL --spec specs/enterprise.yaml --team "Payments=payments:member"
    insomnia-sso import --members-csv members.csv --spec specs/enterprise.yaml --accepted

    People and roles come from the teams each is in: teams named {organization}-{role}s map
    by name, others by --team or a --spec's team names; an unmapped team is reported with
    its members (a person only in unmapped teams is not in the spec). Inactive users are
    left out. With --okta-outputs or --stack, people Okta does not assign, and assignments
    with no one in Insomnia, are reported. Reports go to stderr, one line each. Exit 0: a
    spec was written (unmapped teams included), 1: an error, nothing written.
    """
    ctx = click.get_current_context()
    if scim_url and ctx.get_parameter_source("scim_url") is ParameterSource.ENVIRONMENT:
        scim_url = None if members_csv else scim_url  # a named member list wins over the env
    if scim_url and members_csv:
        raise click.UsageError("give --scim or --members-csv, not both")
    if not scim_url and not members_csv:
        raise click.UsageError(
            "import needs a source: --scim URL (env INSOMNIA_SSO_SCIM_URL) or --members-csv FILE"
        )
    if teams and members_csv:
        raise click.UsageError("--team maps SCIM teams; a member list names each organization")
    if accepted and not members_csv:
        raise click.UsageError(
            "--accepted goes with --members-csv: with SCIM, people live in the directory"
        )
    stamp = _moment(now)
    base = load_file(base_spec) if base_spec else None
    if base is not None and enterprise and enterprise != base.name:
        raise click.UsageError(f"--enterprise {enterprise} but the spec is {base.name}")
    name = base.name if base is not None else enterprise
    if accepted and name is None:
        raise click.UsageError("--accepted needs the enterprise's name: --spec or --enterprise")
    if name is not None and not re.fullmatch(SLUG_PATTERN, name):
        raise click.UsageError(
            f"--enterprise {name!r} is not a slug of lower-case letters, digits and '-'"
        )
    target = Path(out) if out else None
    if target is not None and target.exists() and not force:
        raise ImportInputError(f"{out} exists: pass --force to overwrite it; nothing written")
    if target is not None and not target.parent.is_dir():
        raise ImportInputError(f"{out}: no folder {target.parent} to write it in; nothing written")
    outputs = _assignments(base, outputs_file, stack)
    sources: list[str] = []
    if members_csv:
        imported = from_rows(read_members_csv(members_csv), base=base, outputs=outputs)
        sources.append(f"the member list {Path(members_csv).name}")
    else:
        assert scim_url is not None
        with opened_directory(scim_url, scim_token_file) as directory:
            assert directory is not None
            state = directory.read(enterprise=name or "import")
        imported = from_directory(state, teams=teams, base=base, outputs=outputs)
        profile = scim_profile() or "okta"
        sources.append(f"the SCIM directory {scim_url.strip()} (profile {profile})")
    if outputs is not None:
        sources.append(f"Okta's assignments in {_okta_source(outputs_file, stack)}")
    if base_spec:
        sources.append(f"the spec {Path(base_spec).name} (metadata, domains, SSO, prune)")
    text = document(
        imported,
        base=base,
        name=name,
        sources=sources,
        now=stamp,
        schema=_schema_of(base_spec),
    )
    for line in imported.reports:
        click.echo(line, err=True)
    if accepted:
        assert name is not None
        with opened(store_url, writes=True) as store:
            people = [(o.name, m.email, m.role) for o in imported.organizations for m in o.members]
            click.echo(
                record_members(store, name, people, actor=default_actor(), now=utcnow()), err=True
            )
    _write(text, target)
    _summary(imported, out, text)


def _moment(now: str | None) -> datetime:
    if now is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(now)
    except ValueError:
        raise click.UsageError(
            f"--now {now!r} is not an ISO 8601 time (e.g. 2026-12-01T00:00:00Z)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _assignments(
    base: Enterprise | None, outputs_file: str | None, stack: str | None
) -> OktaOutputs | None:
    """Okta's assignments: checked against the given spec like plan does, or, with no spec
    to check them against, only who is assigned."""
    if not outputs_file and not stack:
        return None
    if base is not None:
        return okta_outputs(base, outputs_file, stack)
    if outputs_file and stack:
        raise click.UsageError("give --okta-outputs or --stack, not both")
    if outputs_file:
        return parse_assignments(outputs_file_text(outputs_file), outputs_file)
    assert stack is not None
    return parse_assignments(stack_outputs_text(stack), f"stack {stack}")


def _okta_source(outputs_file: str | None, stack: str | None) -> str:
    return f"stack {stack}" if stack else Path(outputs_file or "").name


def _schema_of(base_spec: str | None) -> str:
    """The `$schema` the given spec points editors at, else the example's."""
    if base_spec:
        with Path(base_spec).open(encoding="utf-8") as file:
            first = file.readline().strip()
        if first.startswith(SCHEMA_COMMENT):
            return first.removeprefix(SCHEMA_COMMENT)
    return EXAMPLE_SCHEMA


def _write(text: str, target: Path | None) -> None:
    """To stdout, or to `target` whole or not at all (a temporary file renamed over it)."""
    if target is None:
        click.echo(text, nl=False)
        return
    temporary = ""
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as err:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        raise ImportInputError(f"{target}: cannot write: {err.strerror}") from None


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _summary(imported: Imported, out: str | None, text: str) -> None:
    where = out or "stdout"
    organizations = len(imported.organizations)
    left = (
        f"; {imported.left_out} active user(s) in Insomnia are not in it (above)"
        if imported.left_out
        else ""
    )
    click.echo(
        f"Wrote {organizations} organization(s), {imported.people} people to {where}{left}.",
        err=True,
    )
    try:
        load_text(text, where)
    except SpecError as err:
        click.echo(f"{where} does not validate yet; `insomnia-sso validate` says:", err=True)
        for problem in err.problems:
            click.echo(str(problem), err=True)
