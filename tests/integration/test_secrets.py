"""No secret ever shows (docs/security.md): every command runs with known secret values, and none of them
appears in stdout, stderr, the files the tool writes, or what Slack receives.

Secrets: the Marathon password, the registry password, the Slack webhook URL (its path is the
secret) and a Slack bot token; also their Basic-auth encodings. Commands run with --verbose
where they can, since debug logs are where secrets usually leak. Ansible-runner events are
covered by the Ansible tests.
"""

from __future__ import annotations

import functools
import json
import os
import socket
from pathlib import Path
from typing import Any, Iterator

import pytest
import slack_sdk
from slack_sdk import WebClient

from marathonsim import Simulator
from testbed.demo import sample_apps
from testbed.slack_recorder import SlackRecorder
from tests.integration.registry_fixtures import REGISTRY_PASSWORD, REGISTRY_USER
from tests.fleet_support import Indexed, index_sample_fleet
from tests.unit.test_secrets import AWKWARD, BOT_TOKEN, MARATHON_PASSWORD, MARATHON_USER, Seen, WEBHOOK_SECRET_PART, _spellings, secrets_of


PREFIX = "t/rel-secrets/"


P = PREFIX


NAMES = ["api", "worker", "auth", "web"]


REPOS = "--repo=" + ",".join(P + n for n in NAMES)


@pytest.fixture(scope="module")
def indexed(registry_basic: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    return index_sample_fleet(registry_basic.url, prefix=PREFIX, services=[P + n for n in NAMES],
                              dump=tmp_path_factory.mktemp("clean-get"), auth=(REGISTRY_USER, REGISTRY_PASSWORD))


@pytest.fixture
def sim(indexed: Indexed) -> Iterator[Simulator]:
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    with Simulator(apps=apps, deploy_seconds=0.1, auth=(MARATHON_USER, MARATHON_PASSWORD),
                   unhealthy_images=["*/api:509-master"]) as simulator:
        yield simulator


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_command_with_known_secrets_shows_none_of_them(
        indexed: Indexed, sim: Simulator, slack_recorder: SlackRecorder, tmp_path: Path, cli) -> None:
    webhook = slack_recorder.webhook_url
    seen = Seen(secrets_of(webhook))
    dump = tmp_path / "dump"
    marathon_env = {"MARATHON_URL": sim.url, "MARATHON_USER": MARATHON_USER, "MARATHON_PASSWORD": MARATHON_PASSWORD}
    everything = {**marathon_env, "DOCKER_REGISTRY": indexed.registry_url, "REGISTRY_USER": REGISTRY_USER,
                  "REGISTRY_PASSWORD": REGISTRY_PASSWORD, "SLACK_WEBHOOK_URL": webhook, "SLACK_BOT_TOKEN": BOT_TOKEN,
                  "BUILD_URL": f"https://{MARATHON_USER}:{MARATHON_PASSWORD}@jenkins.example.com/job/rollback/7/"}
    date = ("--date=2026-11-19", "--env=prod", f"--dump={dump}")

    def step(name: str, code: int, *argv: str, env: dict[str, str] | None = None) -> Any:
        result = cli(*argv, env=everything if env is None else env)
        seen.output(name, result)
        assert result.code == code, (name, result.out, result.err)
        return result

    step("get", 0, "get", REPOS, "--env=prod", f"--dump={dump}", "--verbose")
    step("dates", 0, "dates", f"--dump={dump}", "--verbose")
    step("dates --json", 0, "dates", f"--dump={dump}", "--json")
    step("plan", 0, "plan", *date, "--verbose")
    step("plan --json with --pwd", 0, "plan", *date, "--json", f"--user={MARATHON_USER}",
         f"--pwd={MARATHON_PASSWORD}", env={"MARATHON_URL": sim.url})
    step("run with --slack and --pwd", 0, "run", *date, f"--slack={webhook}", f"--user={MARATHON_USER}",
         f"--pwd={MARATHON_PASSWORD}", "--timeout=3", "--verbose", env={"MARATHON_URL": sim.url})
    [snapshot] = sorted(dump.glob("snapshot-*.json"))
    step("undo", 0, "undo", f"--snapshot={snapshot}", f"--dump={dump}", "--timeout=3", "--verbose")
    step("deploy that rolls back", 1, "deploy", "--env=prod", f"--image={P}api=509-master", f"--dump={dump}",
         "--timeout=1", "--verbose", "--json")
    pwd_file = tmp_path / "marathon-password"
    pwd_file.write_text(MARATHON_PASSWORD + "\n")
    step("run --dry-run with --pwd-file", 0, "run", *date, "--dry-run", f"--pwd-file={pwd_file}",
         f"--user={MARATHON_USER}", env={"MARATHON_URL": sim.url})
    step("wrong Marathon password", 4, "run", *date, f"--user={MARATHON_USER}",
         f"--pwd=not-{MARATHON_PASSWORD}", "--verbose", env={"MARATHON_URL": sim.url})
    step("DC/OS login refused", 4, "plan", *date, "--marathon-auth=dcos", "--verbose")
    step("Marathon URL with credentials", 0, "plan", "--date=2026-11-19", "--env=prod", f"--dump={dump}", "--verbose",
         f"--marathon={sim.url.replace('://', f'://{MARATHON_USER}:{MARATHON_PASSWORD}@')}", env={})
    step("Marathon down, URL with credentials", 4, "plan", *date,
         f"--marathon=http://{MARATHON_USER}:{MARATHON_PASSWORD}@127.0.0.1:{_closed_port()}", env={})
    step("password without user", 2, "plan", *date, f"--pwd={MARATHON_PASSWORD}", env={"MARATHON_URL": sim.url})
    step("Slack webhook that is not a URL", 2, "run", *date, f"--slack={WEBHOOK_SECRET_PART}")

    assert slack_recorder.wait_for(8), "Slack must have been used for the check to mean something"
    seen.slack(slack_recorder)
    seen.files(dump, Path(os.environ["XDG_CACHE_HOME"]))  # the cache, where tests/conftest.py puts it
    assert {p.name.split("-")[0] for p in dump.iterdir()} >= {"rollback.json", "rollback.html", "snapshot", "report",
                                                               "junit", "ledger.jsonl"}
    assert seen.leaks() == []


@pytest.mark.parametrize("how", ["reachable", "unreachable", "not-http"])
def test_a_registry_url_carrying_credentials_never_shows_them(indexed: Indexed, tmp_path: Path, cli, how: str) -> None:
    host = {"reachable": indexed.host, "unreachable": f"127.0.0.1:{_closed_port()}", "not-http": indexed.host}[how]
    scheme = "ftp" if how == "not-http" else "http"
    url = f"{scheme}://{REGISTRY_USER}:{REGISTRY_PASSWORD}@{host}"

    result = cli("get", f"--repo={P}api", "--env=prod", f"--dump={tmp_path}", f"--registry={url}", "--verbose")

    assert result.code == {"reachable": 0, "unreachable": 4, "not-http": 2}[how], result.err
    seen = Seen(secrets_of("-unused-"))
    seen.output(f"get from {how} registry", result)
    seen.files(tmp_path)
    assert seen.leaks() == []
    if how == "reachable":
        index = json.loads((tmp_path / "rollback.json").read_text())
        assert index["registry"] == f"http://{indexed.host}"
        assert all(r["image"].startswith(f"{indexed.host}/") for day in index["rollbacks"].values() for r in day)
    else:
        assert "<hidden>" in result.err or f"{host}" in result.err


@pytest.mark.parametrize("option, where", [
    ("--registry", "?access_key={s}"), ("--registry", "/?sig={s}&x=1"), ("--registry", "#{s}"),
    ("--marathon", "?api_key={s}"), ("--marathon", "/v2?auth={s}"), ("DOCKER_REGISTRY", "?key={s}"),
])
def test_a_key_in_a_server_urls_query_is_refused_and_never_shown(indexed: Indexed, tmp_path: Path, cli,
                                                                 option: str, where: str) -> None:
    """A base URL takes no query: paths are appended to it (the query ended up inside the path and the
    registry answered nonsense), and a signed URL's key was echoed in every line naming the server."""
    key = "AKIAqueryKEY0123456789xyz"
    url = f"http://{indexed.host}" + where.replace("{s}", key)
    env = {"DOCKER_REGISTRY": url} if option == "DOCKER_REGISTRY" else {}
    flags = [] if env else [f"{option}={url}"]
    command = ["get", f"--repo={P}api", "--env=prod", f"--dump={tmp_path}"] if "REGISTRY" in option.upper() else \
        ["status", "--env=prod", f"--dump={tmp_path}"]

    result = cli(*command, *flags, "--verbose", env=env)

    assert result.code == 2, result.err
    [line] = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert "without a ?query or #fragment" in line
    assert key not in result.out + result.err
    assert not (tmp_path / "rollback.json").exists()


@pytest.mark.parametrize("mode", ["500", "invalid_token"])
def test_a_failing_slack_webhook_is_a_warning_that_shows_no_secret(
        indexed: Indexed, sim: Simulator, tmp_path: Path, cli, mode: str) -> None:
    """(A closed port is in test_faults.py.)"""
    with SlackRecorder(mode=mode) as recorder:
        webhook = recorder.webhook_url
        (tmp_path / "rollback.json").write_text(indexed.index_text)
        result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", "--timeout=3", "--verbose",
                     env={"MARATHON_URL": sim.url, "MARATHON_USER": MARATHON_USER,
                          "MARATHON_PASSWORD": MARATHON_PASSWORD, "SLACK_WEBHOOK_URL": webhook})
        seen = Seen(secrets_of(webhook))
        seen.output(f"Slack {mode}", result)
        seen.files(tmp_path)
        seen.slack(recorder)

    assert result.code == 0, result.err
    assert any(line.startswith("warning: Slack notification failed") for line in result.err.splitlines())
    assert seen.leaks() == []


def test_a_slack_bot_token_never_reaches_the_messages_or_the_output(
        indexed: Indexed, sim: Simulator, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    with SlackRecorder(expected_token=BOT_TOKEN) as recorder:
        monkeypatch.setattr(slack_sdk, "WebClient", functools.partial(WebClient, base_url=recorder.api_url))
        (tmp_path / "rollback.json").write_text(indexed.index_text)
        result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", "--timeout=3", "--verbose",
                     env={"MARATHON_URL": sim.url, "MARATHON_USER": MARATHON_USER,
                          "MARATHON_PASSWORD": MARATHON_PASSWORD, "SLACK_BOT_TOKEN": BOT_TOKEN,
                          "SLACK_CHANNEL": "#ops"})
        received = recorder.wait_for(6)
        seen = Seen(secrets_of("-unused-"))
        seen.output("bot token", result)
        seen.files(tmp_path)
        seen.slack(recorder)

    assert result.code == 0, result.err
    assert "warning" not in result.err
    assert len(received) >= 6 and all(r.path == "/api/chat.postMessage" for r in received)
    assert all(r.headers.get("Authorization") == f"Bearer {BOT_TOKEN}" for r in received)  # used, only as auth
    assert seen.leaks() == []


def test_an_apps_secret_echoed_by_a_422_with_xml_characters_stays_out_of_junit(
        indexed: Indexed, tmp_path: Path, cli) -> None:
    """A proxy or Marathon that echoes the definition in its 422: the report (JSON), the JUnit file (XML) and
    the screen each spell the app's DB_PASSWORD their own way."""
    from tests.integration.test_after_first_change import Rewriter

    secret = AWKWARD["xml and quotes"]
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    for app in apps:
        app["env"] = {"DB_PASSWORD": secret}
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    with Simulator(apps=apps, deploy_seconds=0.1) as simulator:
        rewriter = Rewriter(simulator.url)
        rewriter.on("PUT", "/v2/apps/ds/prod/shop/web",
                    lambda s, b: (422, {"message": f"Object is not valid: env value {secret} refused"}), forward=False)
        try:
            result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", "--timeout=3",
                         env={"MARATHON_URL": rewriter.url})
        finally:
            rewriter.stop()
    assert result.code == 1, result.err
    assert list(tmp_path.glob("junit-*.xml"))
    seen = Seen({f"DB_PASSWORD ({how})": spelled for how, spelled in _spellings(secret).items()})
    seen.output("run", result)
    seen.files(tmp_path)
    assert seen.leaks() == []


def test_a_password_equal_to_a_running_tag_never_corrupts_the_snapshot_undo_needs(
        indexed: Indexed, tmp_path: Path, cli) -> None:
    """Hidden as a substring, the password turned the snapshot's web:308-master into web:<hidden>, which undo
    refuses: the one way back was gone. Inside data it is weak (warned about), as a branch name is."""
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    with Simulator(apps=apps, deploy_seconds=0.1) as simulator:
        env = {"MARATHON_URL": simulator.url, "MARATHON_PASSWORD": "308-master"}
        result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", "--user=ops", "--timeout=3",
                     env=env)
        assert result.code == 0, result.err
        assert "warning: MARATHON_PASSWORD appears inside an image name or app id of this run" in result.err
        [snapshot] = tmp_path.glob("snapshot-*.json")
        assert "<hidden>" not in snapshot.read_text() + (tmp_path / "rollback.json").read_text()
        undo = cli("undo", f"--snapshot={snapshot}", f"--dump={tmp_path}", "--user=ops", "--timeout=3", env=env)
        assert undo.code == 0, undo.err
        assert simulator.apps["/ds/prod/shop/web"]["container"]["docker"]["image"].endswith("/web:308-master")


def test_an_exception_escaping_a_background_thread_is_one_redacted_warning(
        indexed: Indexed, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """Python's own thread hook prints the traceback raw on stderr, past the one redaction point."""
    from fleetrewind.marathon import watch

    def broken(self: Any) -> None:  # a bug in the deployments watch's thread, whose message carries a secret
        raise RuntimeError(f"feed failed after login with {MARATHON_PASSWORD}")

    monkeypatch.setattr(watch.WaveWatch, "_tick", broken)
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    (tmp_path / "rollback.json").write_text(indexed.index_text)
    with Simulator(apps=apps, deploy_seconds=0.1, auth=(MARATHON_USER, MARATHON_PASSWORD)) as simulator:
        result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={tmp_path}", f"--user={MARATHON_USER}",
                     "--timeout=3", "--verbose", env={"MARATHON_URL": simulator.url,
                                                      "MARATHON_PASSWORD": MARATHON_PASSWORD})
    raw = capfd.readouterr()
    assert result.code in (0, 1), result.err  # the watch is gone: the executor's own reads judge the wave
    assert "warning: a background thread (deployments-watch) failed: RuntimeError: feed failed after login with " \
           "<hidden>" in result.err
    assert MARATHON_PASSWORD not in result.err + result.out + raw.out + raw.err
    assert "Traceback" not in raw.err, "the traceback went past the redaction"
