"""Opening a directory: the URL rule, where the token comes from, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.directory import check_scim_url, open_directory, scim_token
from reconciler.directory.scim_types import Profile
from reconciler.directory.transport import Bounds, retry_after_seconds
from reconciler.errors import DirectoryError

SECRET = "s3cr3t-scim-token"


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.insomnia.rest/scim/v2",
        "http://127.0.0.1:8080/scim",
        "http://localhost/x",
        "http://[::1]:9000/",
        "http://127.8.0.1/",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert check_scim_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://acme.insomnia.rest/scim", "must use https:// (http:// only for a loopback host)"),
        ("http://10.0.0.1/scim", "must use https://"),
        ("ftp://acme/scim", "must be an https:// URL"),
        ("acme.insomnia.rest", "must be an https:// URL"),
        (f"https://u:{SECRET}@acme.rest/", "must not carry credentials"),
    ],
)
def test_refused_urls(url: str, message: str) -> None:
    with pytest.raises(DirectoryError, match="SCIM URL") as caught:
        check_scim_url(url)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


def test_token_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", f"  {SECRET}\n")
    assert scim_token(None) == SECRET
    path = tmp_path / "token"
    path.write_text(f"{SECRET}-file\n")
    assert scim_token(str(path)) == f"{SECRET}-file"


def test_token_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSOMNIA_SSO_SCIM_TOKEN", raising=False)
    with pytest.raises(DirectoryError, match="no SCIM token: set INSOMNIA_SSO_SCIM_TOKEN"):
        scim_token(None)
    with pytest.raises(DirectoryError, match="does not exist"):
        scim_token(str(tmp_path / "missing"))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(DirectoryError, match="is empty"):
        scim_token(str(tmp_path / "empty"))
    with pytest.raises(DirectoryError, match="cannot be read"):
        scim_token(str(tmp_path))  # a folder
    with pytest.raises(DirectoryError, match="no SCIM token"):
        open_directory("https://acme.rest/scim", "  ")


def test_the_token_is_not_in_the_repr() -> None:
    with open_directory("https://acme.rest/scim", SECRET) as d:
        assert SECRET not in repr(d) + repr(d.http) + repr(vars(d))


def test_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3
    assert retry_after_seconds("86400") == 86400  # capped where it is used, not here
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:10 GMT", now) == 10
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_the_profile_is_okta_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSOMNIA_SSO_SCIM_PROFILE", raising=False)
    with open_directory("https://acme.rest/scim", SECRET) as d:
        assert d.profile is Profile.OKTA
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_PROFILE", "RFC7644")
    with open_directory("https://acme.rest/scim", SECRET) as d:
        assert d.profile is Profile.RFC7644
    with pytest.raises(DirectoryError) as caught:
        open_directory("https://acme.rest/scim", SECRET, profile="entra")
    assert str(caught.value) == (
        "unknown SCIM profile 'entra': use okta (the default, what Insomnia is known to serve) "
        "or rfc7644"
    )


def test_bounds_a_user_may_set_come_from_the_environment() -> None:
    bounds = Bounds.from_env(
        {
            "INSOMNIA_SSO_SCIM_TIMEOUT": "15",
            "INSOMNIA_SSO_SCIM_RETRY_BUDGET": "120",
            "INSOMNIA_SSO_SCIM_MAX_ANSWER_MB": "8",
            "INSOMNIA_SSO_SCIM_MAX_RESOURCES": "5000",
        }
    )
    assert (bounds.request_seconds, bounds.run_retry_seconds) == (15, 120)
    assert (bounds.answer_bytes, bounds.max_resources) == (8 * 1024 * 1024, 5000)
    assert Bounds.from_env({}) == Bounds()
    with pytest.raises(DirectoryError) as caught:
        Bounds.from_env({"INSOMNIA_SSO_SCIM_TIMEOUT": "soon"})
    assert str(caught.value) == "INSOMNIA_SSO_SCIM_TIMEOUT must be a positive number, not 'soon'"
