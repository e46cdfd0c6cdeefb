"""`okta-preview`: the Okta side of a spec, as the Pulumi program declares it, offline."""

from __future__ import annotations

import json

import click

from reconciler.cli.base import format_option, main
from reconciler.spec import load_file

DEFAULT_SPEC = "specs/enterprise.yaml"


@main.command("okta-preview")
@click.argument("spec", required=False, default=DEFAULT_SPEC, type=click.Path())
@format_option("text", "json")
def okta_preview(spec: str, output_format: str) -> None:
    """Run infra/ under Pulumi mocks and list the Okta resources it declares for SPEC.

    Offline: needs no Pulumi CLI, no Okta credentials and no network. Ids, the client id
    and the issuer path are placeholders until `pulumi up`; the client secret is never shown.
    SPEC defaults to specs/enterprise.yaml.
    """
    # Imported here: loading Pulumi costs every other command a third of a second.
    from reconciler.okta_preview import preview, render_text

    result = preview(load_file(spec))
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        click.echo(render_text(result), nl=False)
