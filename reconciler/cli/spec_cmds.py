"""`validate` and `schema`: the spec on its own."""

from __future__ import annotations

import json

import click

from reconciler.cli.base import main, spec_arguments, specs_or_default
from reconciler.spec import load_specs
from reconciler.spec.schema import json_schema


@main.command()
@spec_arguments(many=True)
def validate(specs: tuple[str, ...]) -> None:
    """Load and check specs (files or folders, default specs/); exit 1 when any is invalid."""
    for loaded in load_specs(specs_or_default(specs, many=True)):
        enterprise = loaded.enterprise
        people = len(enterprise.assigned_logins())
        click.echo(
            f"{loaded.path}: ok: enterprise '{enterprise.name}', "
            f"{len(enterprise.spec.organizations)} organization(s), {people} people, "
            f"{len(enterprise.spec.domains)} domain(s)"
        )


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec, for editors and other validators."""
    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
