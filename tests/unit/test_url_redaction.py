"""A URL's credentials are found without the URL being valid (issue #22, item 2).

A password typed unencoded (``/``, ``@``, ``?``, ``#`` in it) moves where a URL parser sees the
host, so parsing for redaction must not depend on the URL being valid: ``user:password@`` runs
to the last ``@``, with or without a scheme, whatever follows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from fleetrewind.secret import REGISTRY, redact, split_userinfo
from fleetrewind.transport import sanitize_url


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    REGISTRY.reset()
    yield
    REGISTRY.reset()


def plan(cli, tmp_path: Path, *extra: str, env: dict[str, str] | None = None):
    return cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", *extra, env=env)


def test_a_password_with_a_slash_is_not_echoed_in_the_bad_port_error(cli, tmp_path: Path) -> None:
    """The example: the bad-port error echoed ``http://ops:pa/ss@host:99999`` whole."""
    result = plan(cli, tmp_path, "--marathon=http://ops:pa/ss@host:99999")
    assert result.code == 2
    assert "pa/ss" not in result.err and "ss@host" not in result.err
    assert "--marathon" in result.err.splitlines()[-1] and "<hidden>" in result.err


@pytest.mark.parametrize("option, url", [
    ("--marathon", "http://ops:p@s/s@host:99999"),  # an @ and a / in the password
    ("--marathon", "ftp://ops:pa/ss@host"),  # a bad scheme
    ("--marathon", "http://ops:pa/ss@[::1"),  # a bad IPv6 literal
    ("--marathon", "ops:pa/ss@host:99999"),  # no scheme at all
    ("--marathon", "//ops:pa/ss@host:8080"),  # a scheme-relative URL
    ("--registry", "http://ops:pa#ss@host:99999"),
    ("--registry", "https://ops:p?a/ss@[::1]:0"),
])
def test_credentials_in_an_invalid_url_are_never_echoed(cli, tmp_path: Path, option: str, url: str) -> None:
    password = url.split("ops:", 1)[1].rsplit("@", 1)[0]
    result = plan(cli, tmp_path, f"{option}={url}")
    assert result.code == 2
    assert password not in result.err and password.split("/")[-1] + "@" not in result.err
    assert result.out == ""


@pytest.mark.parametrize("url", [
    "http://ops:12/ss@127.0.0.1:1",  # parses as host "ops", port 12, path "/ss@..."
    "http://ops:p@s/s@127.0.0.1:1",  # parses as host "s"
])
def test_a_password_that_moves_the_host_is_refused_not_connected_to(cli, tmp_path: Path, url: str) -> None:
    """A URL parser would send the request to the password's host: refused, and nothing shown."""
    result = plan(cli, tmp_path, f"--marathon={url}")
    assert result.code == 2
    assert "percent-encode" in result.err.splitlines()[-1]
    assert "ss@" not in result.err and "12/ss" not in result.err and "p@s" not in result.err


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_the_password_of_a_proxy_setting_is_a_secret(cli, tmp_path: Path, variable: str) -> None:
    """A proxy URL's password is known from the start: a usage error carrying it hides it."""
    result = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}",
                 "--marathon=http://127.0.0.1:99999/Pr0xy-pa/ss-long",
                 env={variable: "http://px:Pr0xy-pa/ss-long@127.0.0.1:3128"})
    assert result.code == 2
    assert "Pr0xy-pa/ss-long" not in result.err


@pytest.mark.parametrize("text, secret", [
    ("posting to https://hooks.slack.com/workflows/T0/B0/a/b/c failed", "T0/B0/a/b/c"),
    ("posting to https://u:pa/ss@hooks.slack.com/services/T0/B0/x failed", "pa/ss"),
    ("cannot reach https://hooks.slack.com:99999/services/T0/B0/x", "T0/B0/x"),
    ("'https://ops:p@ss/w@host:1/v2/apps'", "p@ss/w"),
    ("http://ops:pa/ss@[::1", "pa/ss"),
    ("ops:pa/ss@host:99999", "pa/ss"),
])
def test_redaction_finds_userinfo_in_urls_of_any_shape(text: str, secret: str) -> None:
    shown = redact(text)
    assert secret not in shown
    assert "<hidden>" in shown


@pytest.mark.parametrize("text", [
    "registry.example.com:5000/shop/api:512-master@sha256:" + "a" * 64,
    "http://127.0.0.1:5000/v2/shop/api/manifests/sha256:" + "c" * 64,
    "mail ops@example.com about git@github.com:org/repo",
])
def test_image_references_and_addresses_are_still_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("url, expected", [
    ("http://ops:pa/ss@host:99999", ("http://", "ops:pa/ss", "host:99999")),
    ("http://ops:p@ss@host/v2", ("http://", "ops:p@ss", "host/v2")),
    ("ops:pw@host", ("", "ops:pw", "host")),
    ("//ops:pw@host", ("//", "ops:pw", "host")),
    ("http://host:8080/v2", ("http://host:8080/v2", None, "")),
])
def test_split_userinfo_does_not_need_a_valid_url(url: str, expected: tuple[str, str | None, str]) -> None:
    assert split_userinfo(url) == expected


def test_sanitize_url_drops_a_password_holding_a_slash() -> None:
    assert sanitize_url("http://ops:12/ss@127.0.0.1:1/v2") == "http://127.0.0.1:1/v2"
