"""Opening a directory: the URL rule, where the token comes from, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.directory import check_scim_url, open_directory, scim_token
from reconciler.directory.scim_http import retry_after_seconds
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
    assert retry_after_seconds("3", 30) == 3
    assert retry_after_seconds("120", 30) == 30
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:10 GMT", 30, now) == 10
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", 30, now) == 0
    assert retry_after_seconds("soon", 30) is None
    assert retry_after_seconds(None, 30) is None
