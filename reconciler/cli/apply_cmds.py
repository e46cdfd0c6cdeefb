"""`apply`: show the plan, have it approved, carry it out; or carry out a saved plan exactly.

    apply --yes [SPEC]      lock → read → plan → show → write
    apply [SPEC]            read → plan → show → ask a person at a terminal (elsewhere:
                            refuse, nothing written) → lock → read again: the same plan, or
                            refuse as stale → write
    apply PLANFILE [SPEC]   lock → read → the inputs and the plan the file was made from, or
                            refuse as stale → show → write

Nothing is changed without `--yes`, a saved plan or a person answering `y`. The lock is
never held while a person thinks: what they approved is checked again under it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import click

from reconciler.apply import ApplyResult, default_actor
from reconciler.apply import apply as apply_plan
from reconciler.cli.base import format_option, main
from reconciler.cli.plan_cmds import emit_plan, with_allowed
from reconciler.cli.reconcile_cmds import (
    okta_options,
    okta_outputs,
    one_enterprise,
    opened,
    opened_directory,
    plan_options,
    read_state,
    scim_options,
    store_option,
    what_is_read,
)
from reconciler.cli.terminal import STATUS, ask, interactive, write_progress
from reconciler.directory.base import Directory
from reconciler.errors import ApprovalError, StalePlanError
from reconciler.outputs import OktaOutputs
from reconciler.plan import Plan, plan
from reconciler.refusals import Refusal, refusal_error, refusals
from reconciler.render import apply_json
from reconciler.saved_plan import (
    Fingerprints,
    SavedPlan,
    comparable,
    directory_fingerprint,
    load_plan,
    looks_like_plan_file,
    new_salt,
    outputs_fingerprint,
    plan_document,
    record_fingerprint,
    spec_fingerprint,
)
from reconciler.spec import Enterprise
from reconciler.state import ActualState
from reconciler.stores.base import Store

TITLE = "insomnia-sso apply"

Check = Callable[[Plan, ActualState], None]


@main.command("apply")
@click.argument("specs", nargs=-1, type=click.Path(), metavar="[PLANFILE] [SPEC]")
@store_option
@scim_options
@okta_options
@format_option("text", "json", "markdown")
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Apply the plan shown without asking. Where nothing can be asked (no terminal), "
    "apply changes nothing without it, unless it is given a saved plan.",
)
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Remove members even past prune.maxFraction of an organization. A saved plan "
    "carries this choice: make it with `plan --allow-mass-removal --out FILE`.",
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
    yes: bool,
    allow_mass_removal: bool,
    lock_timeout: float,
) -> None:
    """Show the plan, then carry out its automated changes once approved; list the manual
    steps.

    In a terminal, apply asks before it changes anything; --yes skips the question, and
    where nothing can be asked (a pipeline) apply changes nothing without --yes. Given
    PLANFILE (`insomnia-sso plan --out PLANFILE`), it carries out exactly that plan, or
    refuses it, writing nothing, when the spec, the Okta outputs, the record, the directory
    or the tool's version changed since the plan was made. The spec and the Okta outputs
    are read where the plan read them unless given again; the store and --scim must be the
    plan's.

    With --scim, people and teams are changed in Insomnia through its SCIM connector;
    without it, the record's ledger records the invitations, which an owner sends from
    Insomnia's web UI. Exit 0: done (or nothing to do), 1: failed, refused, stale, not
    approved (or some changes failed), 3: locked by another apply.
    """
    plan_file, specs = _plan_file(specs)
    saved: SavedPlan | None = None
    if plan_file is not None:
        if allow_mass_removal:
            raise click.UsageError(
                "--allow-mass-removal belongs to the saved plan: make it with "
                "`insomnia-sso plan --allow-mass-removal --out FILE`"
            )
        saved = load_plan(plan_file)
        specs = specs or saved.sources.spec
        if not outputs_file and not stack:
            outputs_file, stack = saved.sources.okta_outputs, saved.sources.stack
        allow_mass_removal = saved.options.allow_mass_removal
    enterprise = one_enterprise(specs)
    outputs = okta_outputs(enterprise, outputs_file, stack)
    with (
        opened(store_url, writes=True) as store,
        opened_directory(scim_url, scim_token_file) as directory,
    ):
        if saved is not None and plan_file is not None:
            options = plan_options(store_url, directory, allow_mass_removal=allow_mass_removal)
            saved.refuse_if_made_otherwise(plan_file, enterprise.name, options)
            check = _as_saved(saved, plan_file, enterprise, outputs, output_format)
        elif yes:
            check = _show(output_format, allow=allow_mass_removal)
        else:
            check = _approve_first(
                store,
                directory,
                enterprise,
                outputs,
                output_format,
                allow=allow_mass_removal,
                can_ask=interactive(),
            )
        # Said on a terminal until the plan is shown: the lock, then the read, may take a while.
        STATUS.show(f"Reading {what_is_read(directory)}…")
        try:
            with write_progress() as progress:
                result = apply_plan(
                    enterprise,
                    outputs,
                    store,
                    actor=default_actor(),
                    directory=directory,
                    allow_mass_removal=allow_mass_removal,
                    lock_timeout=lock_timeout,
                    progress=progress,
                    check=check,
                )
        finally:
            STATUS.clear()
    if output_format == "json":
        click.echo(apply_json(result, plan_file=plan_file))
    else:
        for note in apply_notes(result):
            click.echo(note)
    if result.failed:
        sys.exit(1)


def _plan_file(arguments: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """The saved plan among the arguments, if any, and the specs."""
    plans = [a for a in arguments if looks_like_plan_file(a)]
    if len(plans) > 1:
        raise click.UsageError(f"give one saved plan, not {len(plans)} ({', '.join(plans)})")
    specs = tuple(a for a in arguments if a not in plans)
    return (plans[0] if plans else None), specs


def _print(result: Plan, output_format: str, refused: Sequence[Refusal], allow: bool) -> None:
    """The plan before anything is written: on stdout, or on stderr (as text) when stdout
    is for apply's JSON result."""
    STATUS.clear()
    emit_plan(
        with_allowed(result, allow),
        output_format,
        title=TITLE,
        refused=refused,
        err=output_format == "json",
    )


def _changes(count: int) -> str:
    return "1 change" if count == 1 else f"{count} changes"


def _show(output_format: str, *, allow: bool) -> Check:
    """--yes: under the lock, show the plan and go on (apply's removal checks then refuse
    what they refuse)."""

    def check(result: Plan, _actual: ActualState) -> None:
        _print(result, output_format, refusals(result, allow_mass_removal=allow), allow)

    return check


def _approve_first(
    store: Store,
    directory: Directory | None,
    enterprise: Enterprise,
    outputs: OktaOutputs,
    output_format: str,
    *,
    allow: bool,
    can_ask: bool,
) -> Check:
    """Read and plan without the lock, show, and have it approved (a person at a terminal
    answers y; elsewhere there is nobody to ask, so refuse); then, under the lock, refuse
    unless a fresh read makes exactly the plan that was approved."""
    actual = read_state(store, directory, enterprise.name)
    shown = plan(enterprise, outputs, actual)
    refused = refusals(shown, allow_mass_removal=allow)
    _print(shown, output_format, refused, allow)
    error = refusal_error(refused)
    if error is not None:
        raise error
    if shown.ready and not can_ask:
        count = len(shown.ready)
        these = "this change" if count == 1 else f"these {count} changes"
        raise ApprovalError(
            f"apply needs approval and there is no terminal to ask in: pass --yes to apply "
            f"{these}, or save the plan (`insomnia-sso plan --out FILE`) and apply that file; "
            "nothing was changed"
        )
    if shown.ready and not ask(f"Apply {_changes(len(shown.ready))} to {enterprise.name}?"):
        click.echo("Apply cancelled; nothing was changed.", err=True)
        sys.exit(1)
    salt = new_salt()
    before = _read_prints(actual, salt)
    approved = comparable(plan_document(shown, refused))

    def check(result: Plan, fresh: ActualState) -> None:
        STATUS.clear()
        changed = before.changed(_read_prints(fresh, salt))
        document = plan_document(result, refusals(result, allow_mass_removal=allow))
        if changed or comparable(document) != approved:
            what = " and ".join(changed) or "the plan made now"
            raise StalePlanError(
                f"{what} changed since the plan was shown (another apply, a confirm, or a "
                "change in Insomnia?); nothing was changed: run apply again to see the new plan"
            )

    return check


def _read_prints(actual: ActualState, salt: str) -> Fingerprints:
    """The record's and directory's fingerprints (spec and outputs are read once here)."""
    directory = actual.directory
    return Fingerprints(
        salt,
        "",
        "",
        record_fingerprint(actual, salt=salt),
        None if directory is None else directory_fingerprint(directory, salt=salt),
    )


def _as_saved(
    saved: SavedPlan,
    path: str,
    enterprise: Enterprise,
    outputs: OktaOutputs,
    output_format: str,
) -> Check:
    """Under the lock: refuse unless every input and the plan made now are the saved
    plan's; then show it."""
    salt = saved.fingerprints.salt
    spec = spec_fingerprint(enterprise, salt=salt)
    okta = outputs_fingerprint(outputs, salt=salt)
    allow = saved.options.allow_mass_removal

    def check(result: Plan, actual: ActualState) -> None:
        directory = actual.directory
        now = Fingerprints(
            salt,
            spec,
            okta,
            record_fingerprint(actual, salt=salt),
            None if directory is None else directory_fingerprint(directory, salt=salt),
        )
        refused = refusals(result, allow_mass_removal=allow)
        STATUS.clear()
        saved.refuse_if_stale(path, now, plan_document(result, refused))
        click.echo(
            f"Applying the saved plan {path} (made {saved.created_at} by {saved.created_by}): "
            "nothing it was made from has changed.",
            err=output_format == "json",
        )
        click.echo(err=output_format == "json")
        _print(result, output_format, refused, allow)

    return check


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
