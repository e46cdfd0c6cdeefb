"""The `run_program` fixture: the real Pulumi program, run against a fake Okta."""

from __future__ import annotations

import pytest

from infra import program
from reconciler.okta_preview import ProgramRun, run_under_mocks
from reconciler.spec import Enterprise
from tests.infra.fake_okta import FakeOkta, RunProgram


@pytest.fixture
def run_program() -> RunProgram:
    """Run the real program (`infra.program.run`) for an enterprise against a FakeOkta."""

    def run(enterprise: Enterprise, okta: FakeOkta | None = None) -> ProgramRun:
        return run_under_mocks(lambda: program.run(enterprise), okta or FakeOkta())

    return run
