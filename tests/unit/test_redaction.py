"""One redaction point: every byte the tool writes passes ``secret.redact``, which knows every secret.

Credentials are hidden where they occur (URL userinfo with or without a scheme, Authorization
values, secret fields, Slack webhooks and tokens), strong secrets wherever they appear, and a
secret too short or common to hide everywhere is warned about instead of turning matching
words into ``<hidden>`` (which would tell readers the password).
"""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any, Iterator

import pytest

import fleetrewind.commands.dates as dates_command
from fleetrewind.atomic import write_json
from fleetrewind.console import setup_logging
from fleetrewind.registry.auth import credentials_from_docker_config
from fleetrewind.secret import REGISTRY, Secret, redact
from marathonsim import Simulator
from testbed.demo import sample_apps
from tests.fleet_support import Indexed, index_sample_fleet

PREFIX = "t/rel-redact/"
NAMES = ["api", "worker", "auth", "web"]
REPOS = "--repo=" + ",".join(PREFIX + n for n in NAMES)
STRONG = "Zq8-v3ry-s3cret-pw"


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    REGISTRY.reset()
    yield
    REGISTRY.reset()


@pytest.fixture(scope="module")
def indexed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry.url, prefix=PREFIX, services=[PREFIX + n for n in NAMES],
                              dump=tmp_path_factory.mktemp("clean-get"))


def everything(result: Any, *folders: Path) -> str:
    """stdout, stderr and every file written: all a reader could see."""
    texts = [result.out, result.err]
    for folder in folders:
        texts += [p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()]
    return "\n".join(texts)


# --- credentials where they occur, whatever the secret's strength ------------------------------

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
])
def test_image_references_and_ordinary_text_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_a_strong_secret_is_hidden_in_every_spelling_files_use() -> None:
    secret = Secret('Pa"ss\\w0rd&<long>', "--pwd")
    for spelling in (secret.reveal(), json.dumps(secret.reveal())[1:-1], "Pa&quot;ss\\w0rd&amp;&lt;long&gt;",
                     "Pa%22ss%5Cw0rd%26%3Clong%3E"):
        assert spelling not in redact(f"x {spelling} y"), spelling


def test_files_written_pass_the_redaction(tmp_path: Path) -> None:
    Secret(STRONG, "MARATHON_PASSWORD")
    write_json(tmp_path / "report.json", {"error": f"Marathon said {STRONG}", "url": "http://a:b@c/"})
    text = (tmp_path / "report.json").read_text()
    assert STRONG not in text and "a:b@" not in text
    assert json.loads(text)["error"] == "Marathon said <hidden>"


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


# --- secrets typed in odd places: the usage error and URL errors ---------------------------------

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


@pytest.mark.parametrize("url", [
    f"http://ops:{STRONG}@127.0.0.1:99999",  # a port out of range
    f"http://ops:{STRONG}@[::1",  # an unclosed IPv6 literal
    f"http://ops:{STRONG}@127.0.0.1:0/",  # nothing listens on port 0
])
def test_a_bad_marathon_port_or_host_shows_no_credentials(indexed: Indexed, cli, tmp_path: Path, url: str) -> None:
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    result = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", f"--marathon={url}", "--verbose")
    assert result.code != 0
    assert STRONG not in everything(result, tmp_path)


def test_a_verbose_traceback_of_an_internal_error_shows_no_credentials(
        monkeypatch: pytest.MonkeyPatch, indexed: Indexed, cli, tmp_path: Path) -> None:
    """A bug whose message carries a URL with credentials and a password: the traceback is redacted."""
    (tmp_path / "rollback.json").write_text(indexed.index_text)

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError(f"GET http://deploy:{STRONG}x@marathon:8080/v2/apps failed; password={STRONG}")

    monkeypatch.setattr(dates_command, "read_index", broken)
    result = cli("dates", f"--dump={tmp_path}", "--verbose", env={"MARATHON_PASSWORD": STRONG})
    assert result.code == 1
    assert "internal error: RuntimeError" in result.err and "Traceback" in result.err
    assert STRONG not in result.err


# --- weak secrets: warned about, never revealed by redaction -------------------------------------

@pytest.mark.parametrize("password", ["master", "pw12", "512", "Prod"])
def test_a_weak_password_is_warned_about_and_does_not_mangle_the_output(
        indexed: Indexed, cli, tmp_path: Path, password: str) -> None:
    """A password equal to a branch name (or short, or all digits) would hide every tag containing it,
    which tells the reader the password; it is hidden only where credentials occur."""
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    result = cli("dates", f"--dump={tmp_path}", "--json", env={"MARATHON_PASSWORD": password})
    assert result.code == 0, result.err
    assert "warning: MARATHON_PASSWORD is short or common" in result.err
    assert "<hidden>" not in result.out
    assert json.loads(result.out) == json.loads(
        cli("dates", f"--dump={tmp_path}", "--json").out), "the output is the same as without the password"


def test_a_weak_password_in_get_leaves_tags_and_files_intact(indexed: Indexed, cli, tmp_path: Path) -> None:
    result = cli("get", REPOS, "--env=prod", f"--dump={tmp_path}", "--no-cache",
                 env={"DOCKER_REGISTRY": indexed.registry_url, "MARATHON_PASSWORD": "master"})
    assert result.code == 0, result.err
    assert "<hidden>" not in everything(result, tmp_path)
    assert json.loads((tmp_path / "rollback.json").read_text())["rollbacks"] == indexed.index["rollbacks"]


def test_a_strong_password_is_hidden_everywhere_and_not_warned_about(indexed: Indexed, cli, tmp_path: Path) -> None:
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    for app in apps:  # a secret of the app's own: never shown either
        app["env"] = {"DB_PASSWORD": "app-db-s3cret-value", "PORT": "8080"}
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    with Simulator(apps=apps, deploy_seconds=0.1, auth=("ops", STRONG)) as sim:
        result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", "--user=ops", "--timeout=2",
                     "--verbose", env={"MARATHON_URL": sim.url, "MARATHON_PASSWORD": STRONG,
                                       "BUILD_URL": f"ci:{STRONG}@jenkins.example.com/job/7/"})
    assert result.code == 0, result.err
    seen = everything(result, tmp_path)
    assert "is short or common" not in result.err
    assert STRONG not in seen and "app-db-s3cret-value" not in seen
    assert base64.b64encode(f"ops:{STRONG}".encode()).decode() not in seen


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
