"""One redaction point: every byte the tool writes passes ``secret.redact``, which knows every secret.

Credentials are hidden where they occur (URL userinfo with or without a scheme, Authorization
values, secret fields, Slack webhooks and tokens), strong secrets wherever they appear, and a
secret too short or common to hide everywhere is warned about instead of turning matching
words into ``<hidden>`` (which would tell readers the password).
"""

from __future__ import annotations

import datetime as dt
import base64
import io
import json
import logging
from pathlib import Path
from typing import Iterator

import pytest

from fleetrewind.atomic import write_json
from fleetrewind.model.report import Outcome
from fleetrewind.model.states import State, Status
from fleetrewind.report.run import write_report
from fleetrewind.rollout.outcomes import build_report
from fleetrewind.console import setup_logging
from fleetrewind.registry.auth import credentials_from_docker_config
from fleetrewind.secret import REGISTRY, Secret, redact


STRONG = "Zq8-v3ry-s3cret-pw"


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    REGISTRY.reset()
    yield
    REGISTRY.reset()


@pytest.mark.parametrize("text, secret", [
    ("--marathon must be an http:// or https:// URL (found: 'ops:pw@host:8080')", "pw"),
    ("cannot reach http://ops:p@ss@marathon:8080/v2/apps", "p@ss"),
    ("GET https://deploy:tok3n@registry.example.com/v2/_catalog", "tok3n"),
    ("headers {'Authorization': 'Basic b3BzOnB3'}", "b3BzOnB3"),
    ("Authorization: Bearer eyJ0eXAi.abc", "eyJ0eXAi.abc"),
    ('{"uid": "ops", "password": "hunter2"}', "hunter2"),
    ("--pwd=hunter2 --colour", "hunter2"),
    ("posting to https://hooks.slack.com/services/T0/B0/abcdefgh", "T0/B0/abcdefgh"),
    ("token xoxb-1-2-abcdef rejected", "xoxb-1-2-abcdef"),
    # an unknown value runs to a blank, a quote, ',', '}', '&' or ';': ']' or ')' may be part of it
    ("password=abc]def", "]def"),
    ("[--pwd=hunt]er2] next", "er2"),
    ("--pwd=<p>]x2", "x2"),  # shaped like a placeholder, but not closed like one
])
def test_credentials_are_hidden_where_they_occur_even_when_unknown(text: str, secret: str) -> None:
    shown = redact(text)
    assert secret not in shown
    assert "<hidden>" in shown


@pytest.mark.parametrize("text", [
    "registry.example.com:5000/shop/api:512-master@sha256:" + "a" * 64,
    "api:7@sha256:" + "b" * 64,
    "mail ops@example.com about git@github.com:org/repo",
    "--pwd-file /run/secrets/marathon",
    "password: <hidden>",
    # docopt placeholders are no secret, however the usage text closes around them
    "[--user=<u>] [--pwd=<p>] [--only=<svc,...>]",
    "(--token=<t> | --pwd=<p>)",
    "give it as pwd: <pwd>.",
    "[--slack-token=<token>]]",
])
def test_image_references_and_ordinary_text_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_the_usage_text_passes_the_redaction_unchanged() -> None:
    from fleetrewind.usage import USAGE

    assert "--pwd=<p>]" in USAGE
    assert redact(USAGE) == USAGE


def test_a_strong_secret_is_hidden_in_every_spelling_files_use() -> None:
    secret = Secret('Pa"ss\\w0rd&<long>', "--pwd")
    for spelling in (secret.reveal(), json.dumps(secret.reveal())[1:-1], "Pa&quot;ss\\w0rd&amp;&lt;long&gt;",
                     "Pa%22ss%5Cw0rd%26%3Clong%3E"):
        assert spelling not in redact(f"x {spelling} y"), spelling


def test_a_file_the_tool_writes_comes_back_exactly_as_written(tmp_path: Path) -> None:
    """No pattern pass runs over a file (#22 item 8): a cache entry's field named like a password, a
    value equal to a known secret and a URL with userinfo are data, and come back as they were."""
    Secret(STRONG, "MARATHON_PASSWORD")
    data = {"fields": {"env.DB_PASSWORD": "9f2c4e1a7b3d5f60a1b2c3d4", "secrets.db": "1c9d"},
            "password": "token=abc", "note": f"tag {STRONG}", "url": "http://a:b@c/"}
    write_json(tmp_path / "cache.json", data)
    assert json.loads((tmp_path / "cache.json").read_text(encoding="utf-8")) == data


def test_a_report_holds_no_secret_by_construction(tmp_path: Path) -> None:
    """The report is redacted field by field when it is made, so its files need no pass of their own."""
    Secret(STRONG, "MARATHON_PASSWORD")
    failed = Outcome(service="api", app_id="/prod/api", from_image="r/api:1", to_image="r/api:2", action="change",
                     reason="release of the date", status=Status.FAILED,
                     error=f"Marathon said 422: env.DB_PASSWORD={STRONG} at http://a:b@c/")
    moment = dt.datetime(2026, 11, 19, tzinfo=dt.timezone.utc)
    report = build_report(command="run", env="prod", date="2026-11-19", actor="ci", build_url=None,
                          marathon="http://marathon:8080", started=moment, finished=moment, state=State.FAILED,
                          exit_code=1, snapshot=None, outcomes=[failed])
    assert report.services[0].error == "Marathon said 422: env.DB_PASSWORD=<hidden> at http://<hidden>@c/"
    written = write_report(tmp_path, report, "20261119-000000").read_text(encoding="utf-8")
    assert STRONG not in written and "a:b@" not in written
    assert json.loads(written)["services"][0]["error"] == report.services[0].error


def test_log_lines_and_tracebacks_pass_the_redaction() -> None:
    Secret(STRONG, "--pwd")
    stream = io.StringIO()
    setup_logging(verbose=True, stderr=stream)
    log = logging.getLogger("fleetrewind.test")
    try:
        raise RuntimeError(f"GET http://ops:{STRONG}@marathon/v2/apps with {{'Authorization': 'Basic abc='}}")
    except RuntimeError:
        log.exception("internal error")
    assert STRONG not in stream.getvalue() and "abc=" not in stream.getvalue()
    assert "Traceback" in stream.getvalue()


def test_every_credential_of_the_docker_config_is_known_also_of_other_registries(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    other = base64.b64encode(b"bob:0ther-registry-pw").decode()
    config.write_text(json.dumps({"auths": {
        "registry.example.com": {"auth": base64.b64encode(f"ci:{STRONG}".encode()).decode()},
        "other.example.com": {"auth": other},
        "third.example.com": {"username": "x", "password": "th1rd-registry-pw"},
    }}))
    creds = credentials_from_docker_config(config, "https://registry.example.com")
    assert creds is not None and creds.password.reveal() == STRONG
    shown = redact(f"{STRONG} {other} 0ther-registry-pw th1rd-registry-pw")
    assert shown == " ".join(["<hidden>"] * 4)


@pytest.mark.parametrize("argv", [
    ("run", "--date=2026-11-19", "--env=prod", f"--pwd:{STRONG}"),
    ("run", "--date=2026-11-19", "--env=prod", f"--pwd{STRONG.lower()}"),
    ("run", "--date=2026-11-19", "--env=prod", f"--slack-url=https://hooks.slack.com/services/T/B/{STRONG}"),
    ("plan", "--date=2026-11-19", "--env=prod", f"--{STRONG.lower()}"),
])
def test_a_secret_typed_as_an_option_name_is_not_echoed(cli, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert "invalid command line: unknown option" in result.err
    assert STRONG not in result.err and STRONG.lower() not in result.err
    assert result.out == ""


@pytest.mark.parametrize("url", [
    f"ops:{STRONG}@marathon.example.com:8080",  # typed without a scheme
    f"ftp://ops:{STRONG}@marathon.example.com",
    f"//ops:{STRONG}@marathon.example.com",
    "ops:pw@marathon.example.com:8080",  # a weak password: hidden where it occurs all the same
])
def test_a_marathon_url_with_credentials_is_never_echoed_whole(cli, tmp_path: Path, url: str) -> None:
    result = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", f"--marathon={url}")
    assert result.code == 2
    password = url.split("@")[0].rsplit(":", 1)[1]
    assert f":{password}@" not in result.err and STRONG not in result.err
    assert "must be an http:// or https:// URL" in result.err


def test_an_apps_secrets_and_secret_looking_env_values_are_known_once_the_app_is_read() -> None:
    from fleetrewind.marathon.fleet import register_app_secrets

    register_app_secrets({"id": "/ds/prod/shop/api", "env": {"DB_PASSWORD": "app-db-s3cret-value",
                                                             "API_TOKEN": "t0k3n-of-the-app", "PORT": "8080",
                                                             "IMAGE_NAME": "registry.example.com/api"},
                          "secrets": {"s0": {"source": "/vault/prod/api-key-path"}}})
    shown = redact("422: env DB_PASSWORD=app-db-s3cret-value t0k3n-of-the-app /vault/prod/api-key-path "
                   "registry.example.com/api on 8080")
    assert "app-db-s3cret-value" not in shown and "t0k3n-of-the-app" not in shown
    assert "/vault/prod/api-key-path" not in shown
    assert "registry.example.com/api on 8080" in shown, "ordinary env values are not secrets"


@pytest.mark.parametrize("name", ["SLACK_WEBHOOK", "slack_url", "db_password", "API_KEY", "SENTRY_DSN"])
def test_an_env_name_the_config_refuses_as_a_secret_is_a_secret_of_the_app_too(tmp_path: Path, name: str) -> None:
    """One list of secret names: what may not sit in the config file is hidden when an app carries it."""
    from fleetrewind.config_file import load_config
    from fleetrewind.errors import UsageError
    from fleetrewind.marathon.fleet import register_app_secrets

    config = tmp_path / "rollback.yml"
    config.write_text(f"{name}: a-value-of-the-config\n", encoding="utf-8")
    with pytest.raises(UsageError, match="looks like a secret"):
        load_config(str(config))
    register_app_secrets({"id": "/ds/prod/shop/api", "env": {name: f"value-of-{name}-in-the-app"}})
    assert f"value-of-{name}-in-the-app" not in redact(f"422: env {name}=value-of-{name}-in-the-app")
