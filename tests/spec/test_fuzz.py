"""Mutated real specs load into an enterprise or fail with a SpecError, never anything else.

A typo must never reach the user as a traceback. Each example takes a real spec (the example
enterprise, or a generated one), drops, duplicates, re-indents or swaps lines and sprinkles
YAML punctuation into them, then loads it. Derandomized under CI so a red build reproduces;
FUZZ_EXAMPLES=5000 runs a deeper search by hand.
"""

from __future__ import annotations

import os

import pytest
import yaml_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import SpecError
from reconciler.spec import Enterprise, load_text
from tests.conftest import EXAMPLE_SPEC, MINIMAL, spec_yaml

BASES = (
    EXAMPLE_SPEC.read_text(encoding="utf-8"),
    spec_yaml(
        {
            "platform": ["alice@acme.com:admin", "bob@acme.io", "carol@acme.com:owner"],
            "research": ["dave@acme.com", "erin@acme.io"],
            "empty": [],
        },
        prune=True,
        max_fraction=0.5,
    ),
)
PUNCTUATION = list("?:-[]{}&*!|>#'\"%")
VALUES = ["", "1.5", "-1", "0", "true", "''", "'0.5'", "x" * 201, "[]", "{}", "~", ".nan", "7: x"]
"""What a mutation may put after a key: every kind of value a wrong field can hold."""
PYDANTIC_WORDS = ("should", "Input ", "Field required", "Extra inputs", "valid dictionary")
"""pydantic's own phrasing, which a user must never read."""
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))


@st.composite
def mutated_spec(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(BASES)).splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        how = draw(st.sampled_from(["drop", "duplicate", "indent", "swap", "punctuate", "revalue"]))
        if how == "drop" and len(lines) > 1:
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[i])
        elif how == "indent":
            shift = draw(st.integers(min_value=-4, max_value=4))
            lines[i] = " " * max(0, shift) + lines[i][max(0, -shift) :]
        elif how == "revalue" and ": " in lines[i]:
            lines[i] = lines[i].partition(": ")[0] + ": " + draw(st.sampled_from(VALUES))
        elif how == "swap":
            j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            # Half the time where a key starts (`  ? sso:`), where typos do the most damage.
            indent = len(lines[i]) - len(lines[i].lstrip(" "))
            at = draw(st.one_of(st.just(indent), st.integers(0, len(lines[i]))))
            mark = draw(st.sampled_from(PUNCTUATION)) + draw(st.sampled_from([" ", ""]))
            lines[i] = lines[i][:at] + mark + lines[i][at:]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated_spec())
def test_a_mutated_spec_loads_or_is_refused_with_one_line_problems(text: str) -> None:
    outcome: Enterprise | SpecError
    try:
        outcome = load_text(text, "fuzz.yaml")
    except SpecError as err:  # any other exception fails the test with its traceback
        outcome = err
    if isinstance(outcome, SpecError):
        lines = [str(problem) for problem in outcome.problems]
        assert lines
        assert all(line.startswith("fuzz.yaml") and "\n" not in line for line in lines), lines
        assert not [line for line in lines if any(word in line for word in PYDANTIC_WORDS)]
    else:
        assert isinstance(outcome, Enterprise)


def test_a_fast_parser_failure_the_slow_path_cannot_explain_is_still_one_clean_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("internal parser error\nwith a second line")

    monkeypatch.setattr(yaml_rs, "loads", broken)
    with pytest.raises(SpecError) as caught:
        load_text(MINIMAL, "enterprise.yaml")
    assert str(caught.value) == "enterprise.yaml: cannot parse this YAML (RuntimeError)"


def test_a_complex_key_holding_a_list_names_its_line() -> None:
    text = MINIMAL.replace("  domains: [acme.com, acme.io]", "  ? [acme.com, acme.io]")
    with pytest.raises(SpecError) as caught:
        load_text(text, "enterprise.yaml")
    assert str(caught.value) == (
        "enterprise.yaml:6: YAML syntax error: a key must be a plain value, not a list "
        "(a stray '?' before it?)"
    )
