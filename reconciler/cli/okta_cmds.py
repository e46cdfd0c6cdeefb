"""`okta-preview`: the Okta side of a spec, as the Pulumi program declares it, offline."""

from __future__ import annotations

import json

import click

from reconciler.cli.base import DEFAULT_SPEC, format_option, main
from reconciler.spec import load_file


@main.command("okta-preview")
@click.argument("spec", required=False, default=DEFAULT_SPEC, type=click.Path())
@click.option(
    "--adopt-config",
    "adopt_config",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Pulumi stack config (Pulumi.<stack>.yaml) whose insomnia-sso:adopt block to preview.",
)
@click.option(
    "--adopt",
    "adopt_pairs",
    multiple=True,
    metavar="KEY=ID",
    help="Adopt one hand-made Okta object (appId, authServerId, policyId, ruleId, groupId); "
    "repeatable, overrides --adopt-config.",
)
@format_option("text", "json")
def okta_preview(
    spec: str, adopt_config: str | None, adopt_pairs: tuple[str, ...], output_format: str
) -> None:
    """Run infra/ under Pulumi mocks and list the Okta resources it declares for SPEC.

    Offline: needs no Pulumi CLI, no Okta credentials and no network. Ids, the client id
    and the issuer path are placeholders until `pulumi up`; the client secret is never shown.
    With an adopt block (--adopt-config, --adopt), resources the first `pulumi up` takes over
    from a hand-made setup show as `= import ID`, the rest as `+` (created).
    SPEC defaults to specs/enterprise.yaml.
    """
    # Imported here: loading Pulumi costs every other command a third of a second.
    from reconciler.okta_preview import adopt_block, preview, render_text

    adopt = adopt_block(adopt_config, adopt_pairs)
    result = preview(load_file(spec), adopt)
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        click.echo(render_text(result), nl=False)
