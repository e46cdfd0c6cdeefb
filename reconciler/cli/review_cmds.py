"""`review`: the pull-request comment for a spec change."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from reconciler.cli.base import main, spec_arguments, specs_or_default
from reconciler.cli.terminal import echo_lines
from reconciler.errors import ReviewError
from reconciler.render_review import review_json, review_markdown, review_text
from reconciler.review import review as review_specs
from reconciler.revisions import repository_root, specs_at


@main.command()
@click.option("--base", required=True, help="Git revision the change starts from.")
@click.option("--head", default=None, help="Git revision of the change [default: working tree].")
@spec_arguments(many=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default=None,
    help="Output format [default: text on a terminal, else markdown: the PR comment].",
)
def review(base: str, head: str | None, specs: tuple[str, ...], output_format: str | None) -> None:
    """Render what a spec change does on both sides, as a PR comment. Exit 1 on risks.

    Okta is previewed offline under mocks at both revisions; no credentials are needed. In a
    terminal it reads as plain text; piped (a pipeline posting the comment), as Markdown.
    """
    from reconciler.okta_preview import preview  # loads Pulumi: only when reviewing

    cwd = Path.cwd()
    root = repository_root(cwd)
    paths = []
    for spec in specs_or_default(specs, many=True):
        try:
            paths.append((cwd / spec).resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            raise ReviewError(f"{spec} is outside the git repository at {root}") from None
    result = review_specs(specs_at(root, base, paths), specs_at(root, head, paths), preview)
    chosen = output_format or default_format(sys.stdout)
    if chosen == "text":
        echo_lines(review_text(result))
    else:
        click.echo(review_json(result) if chosen == "json" else review_markdown(result))
    sys.exit(1 if result.failed else 0)


def default_format(stdout: TextIO) -> str:
    """Text for a person at a terminal; Markdown for everything else, so the comments
    pipelines post do not change."""
    return "text" if stdout.isatty() else "markdown"
