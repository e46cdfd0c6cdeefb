"""Which enterprise a command that acts on the record means, when `--enterprise` is not given.

The record says which enterprises exist; the default spec (`specs/enterprise.yaml`) in the
current folder may belong to another checkout altogether, so it is only a tie-breaker between
enterprises the record holds.
"""

from __future__ import annotations

from reconciler.cli.base import DEFAULT_SPECS
from reconciler.errors import InsomniaSsoError, SpecError
from reconciler.spec import load_specs
from reconciler.stores.base import Store


def store_enterprise(
    store: Store, given: str | None, specs: tuple[str, ...] = DEFAULT_SPECS
) -> str:
    """`given`, else the store's only enterprise, else the one `specs` names, if it holds it."""
    if given:
        return given
    held = store.enterprises()
    if len(held) == 1:
        return held[0]
    if not held:
        raise InsomniaSsoError("the store holds no enterprise yet (run apply first)")
    named = _spec_enterprises(specs)
    if len(named) == 1 and named[0] in held:
        return named[0]
    raise InsomniaSsoError(
        f"the store holds {len(held)} enterprises ({', '.join(held)}) and {', '.join(specs)} "
        "does not single one out; choose one with --enterprise NAME"
    )


def _spec_enterprises(specs: tuple[str, ...]) -> list[str]:
    """Enterprise names in `specs`; none when they are missing or do not load."""
    try:
        return [loaded.enterprise.name for loaded in load_specs(specs)]
    except SpecError:
        return []
