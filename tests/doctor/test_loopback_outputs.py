"""Stack outputs accept an http issuer on a loopback host only, and still of the same org."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import OutputsError
from reconciler.outputs import is_loopback, parse_outputs, secure_url
from reconciler.spec import load_text
from tests.conftest import MINIMAL
from tests.doctor.conftest import DOCTOR_SPEC, doctor_outputs


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("https://acme.okta.com/oauth2/aus1", True),
        ("http://127.0.0.1:9400", True),
        ("http://127.8.9.10:9400", True),
        ("http://localhost:9400", True),
        ("http://[::1]:9400", True),
        ("http://acme.okta.com/oauth2/aus1", False),
        ("http://10.0.0.1:9400", False),
        ("http://localhost.acme.com", False),
        ("ftp://127.0.0.1", False),
        ("https://", False),
    ],
)
def test_plain_http_is_secure_only_on_loopback(url: str, secure: bool) -> None:
    assert secure_url(url) is secure


def test_loopback_names() -> None:
    assert is_loopback("LOCALHOST")
    assert not is_loopback("acme.com")


def test_a_loopback_issuer_is_accepted_for_a_loopback_org() -> None:
    enterprise = load_text(DOCTOR_SPEC)
    text = json.dumps(doctor_outputs("http://127.0.0.1:9400"))
    assert parse_outputs(text, "outputs.json", enterprise).issuer == "http://127.0.0.1:9400"


def test_a_loopback_issuer_is_another_org_for_a_real_one() -> None:
    enterprise = load_text(MINIMAL)  # orgUrl https://acme.okta.com
    text = json.dumps(doctor_outputs("http://127.0.0.1:9400"))
    with pytest.raises(OutputsError, match="is not in enterprise 'acme''s Okta org"):
        parse_outputs(text, "outputs.json", enterprise)
