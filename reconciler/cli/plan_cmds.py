"""`plan` and `drift`: the diff, what apply would refuse, and (`plan --out`) the saved plan
`apply FILE` carries out."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace

import click

from reconciler.apply import default_actor
from reconciler.cli.base import main, specs_or_default
from reconciler.cli.reconcile_cmds import (
    EXIT_CHANGES,
    okta_outputs,
    one_enterprise,
    opened,
    opened_directory,
    plan_options,
    read_sides,
    read_state,
    reconcile_options,
)
from reconciler.cli.terminal import echo_lines
from reconciler.plan import Plan, plan
from reconciler.refusals import Refusal, mass_removals, refusals
from reconciler.render import plan_json, plan_markdown, plan_text
from reconciler.saved_plan import (
    PlanSources,
    fingerprints,
    new_salt,
    new_saved_plan,
    save_plan,
)
from reconciler.stores.base import utcnow


def emit_plan(
    result: Plan,
    output_format: str,
    *,
    title: str,
    refused: Sequence[Refusal] = (),
    err: bool = False,
) -> None:
    """Print a plan in the asked format, what apply would refuse included; warnings go to
    stderr when stdout is JSON. `err` prints it on stderr (as text when the format is JSON:
    apply's preview, whose stdout is its result)."""
    if output_format == "json" and not err:
        click.echo(plan_json(result, refused))
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    elif output_format == "markdown":
        click.echo(plan_markdown(result, title=title, refusals=refused), nl=False, err=err)
    else:
        echo_lines(plan_text(result, refused), err=err)


def with_allowed(result: Plan, allow_mass_removal: bool) -> Plan:
    """The plan with a warning per mass removal `--allow-mass-removal` lets through, so the
    reviewer sees what was allowed."""
    allowed = mass_removals(result) if allow_mass_removal else ()
    if not allowed:
        return result
    notes = tuple(f"allowed by --allow-mass-removal: {r.message}" for r in allowed)
    return replace(result, warnings=result.warnings + notes)


@main.command("plan")
@reconcile_options
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Save the plan to FILE (JSON, no secret): `insomnia-sso apply FILE` carries out "
    "exactly this plan, or refuses it once anything it was made from has changed.",
)
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Plan removals past prune.maxFraction of an organization (apply a saved plan made "
    "with it, or apply with it too).",
)
def plan_command(
    specs: tuple[str, ...],
    store_url: str,
    scim_url: str | None,
    scim_token_file: str | None,
    outputs_file: str | None,
    stack: str | None,
    output_format: str,
    out_file: str | None,
    allow_mass_removal: bool,
) -> None:
    """Show what apply would change, the manual steps still open, and what apply would
    refuse. Exit 0: nothing to do, 2: changes or open manual steps, 1: apply would refuse
    it (a mass removal, removals after a partial read) or an error.

    With --out FILE the plan is saved (unless apply would refuse it), with fingerprints of
    the spec, the Okta outputs, the record and the directory it was made from.
    """
    enterprise = one_enterprise(specs)
    outputs = okta_outputs(enterprise, outputs_file, stack)
    with opened(store_url) as store, opened_directory(scim_url, scim_token_file) as directory:
        actual = read_state(store, directory, enterprise.name)
        options = plan_options(store_url, directory, allow_mass_removal=allow_mass_removal)
    result = with_allowed(plan(enterprise, outputs, actual), allow_mass_removal)
    refused = refusals(result, allow_mass_removal=allow_mass_removal)
    emit_plan(result, output_format, title="insomnia-sso plan", refused=refused)
    note = output_format != "text"  # notes on stderr when stdout is JSON or Markdown
    if refused:
        lift = (
            " (plan with --allow-mass-removal if it is intended)"
            if any(r.overridable for r in refused)
            else ""
        )
        saved = f"; no plan saved to {out_file}" if out_file else ""
        click.echo(f"error: apply would refuse this plan{lift}{saved}", err=True)
        sys.exit(1)
    if out_file:
        sources = PlanSources(specs_or_default(specs), outputs_file, stack)
        saved_plan = new_saved_plan(
            result,
            refused,
            fingerprints(enterprise, outputs, actual, salt=new_salt()),
            options=options,
            sources=sources,
            actor=default_actor(),
            now=utcnow(),
        )
        save_plan(out_file, saved_plan)
        click.echo(
            f"Saved the plan to {out_file}. To carry out exactly this plan: "
            f"insomnia-sso apply {out_file}",
            err=note,
        )
    sys.exit(0 if result.empty else EXIT_CHANGES)


@main.command("drift")
@reconcile_options
def drift(
    specs: tuple[str, ...],
    store_url: str,
    scim_url: str | None,
    scim_token_file: str | None,
    outputs_file: str | None,
    stack: str | None,
    output_format: str,
) -> None:
    """Check that Insomnia still matches the spec. Exit 0: in sync, 2: drifted or manual
    steps open, 1: error.

    Meant for scheduled pipelines: the plan is printed as the drift report, with what apply
    would refuse (a drift all the same: exit 2).
    """
    sides = read_sides(specs, store_url, outputs_file, stack, scim_url, scim_token_file)
    result = plan(*sides)
    refused = refusals(result)
    emit_plan(result, output_format, title="insomnia-sso drift", refused=refused)
    sys.exit(0 if result.empty else EXIT_CHANGES)
