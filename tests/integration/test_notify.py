"""Slack notifications through slack-sdk against a local recorder: payloads, failures, secrets."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Iterator

import pytest
from slack_sdk.models.blocks import Block

from fleetrewind import factory
from fleetrewind.notify.slack import SlackNotifier
from fleetrewind.rollout.events import Silent
from fleetrewind.model.states import State, Status
from fleetrewind.secret import Secret
from testbed.slack_recorder import SlackRecorder
from tests.unit.test_notify import BUILD, TOKEN, Warnings, _failed_report, _first, _report, _settings


PASSWORD = Secret("hunter2-marathon-pw")


def _webhook(recorder: SlackRecorder, warn: Warnings, **kwargs: Any) -> SlackNotifier:
    return SlackNotifier(webhook=Secret(recorder.webhook_url), build_url=BUILD, warn=warn,
                         secrets=[PASSWORD], **kwargs)


def _bodies(recorder: SlackRecorder, count: int) -> list[dict[str, Any]]:
    received = recorder.wait_for(count)
    assert len(received) == count, [r.body for r in received]
    return [r.body for r in received]


def _all_text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def _valid_blocks(body: dict[str, Any]) -> None:
    """Slack's own models check the Block Kit limits (header 150 chars, 3000 in a section block, ...)."""
    assert isinstance(body["text"], str) and body["text"]
    assert body["blocks"]
    for block in body["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_messages_for_a_whole_run(slack_recorder: SlackRecorder) -> None:
    warn = Warnings()
    notifier = _webhook(slack_recorder, warn)
    notifier.started(command="run", env="prod", date="2026-11-19", actor="alice", changes=3, total=5)
    notifier.service_done(service="api", app_id="/ds/prod/api", from_image="registry.example.com/api:513-master",
                          to_image="registry.example.com/api:512-master", status="succeeded", seconds=61.2, error=None)
    notifier.state(command="deploy", env="prod", state="ROLLING_BACK", detail="api: deadline")
    notifier.finished(_report())
    start, service, state, finish = _bodies(slack_recorder, 4)
    assert warn == []
    for body in (start, service, state, finish):
        _valid_blocks(body)

    assert start["text"] == "Rollback of prod to 2026-11-19 started by alice: 3 of 5 services change."
    assert start["blocks"][0] == {"type": "header", "text": {"type": "plain_text",
                                                             "text": "Rollback of prod to 2026-11-19: started"}}
    assert "<https://jenkins.example.com/job/rollback/42/|Jenkins build>" in _all_text(start)

    assert service["text"] == ":white_check_mark: api succeeded in 1m 01s: api:513-master → api:512-master"
    section = service["blocks"][0]["text"]["text"]
    assert "`registry.example.com/api:513-master` → `registry.example.com/api:512-master`" in section
    assert "/ds/prod/api" in section

    assert state["text"] == ":rewind: Deploy to prod: state ROLLING_BACK (api: deadline)"

    assert finish["text"].startswith(":white_check_mark: Rollback of prod to 2026-11-19 succeeded in 2m 05s: "
                                     "1 changed, 0 failed, 1 unchanged, 1 skipped.")
    text = _all_text(finish)
    assert "Rollback of prod to 2026-11-19: SUCCEEDED" in text
    assert "Left as is (no release at or before 2026-11-19): batch" in text
    assert finish["text"].endswith(" To undo: rollback.py undo --snapshot=dump/snapshot-20261121T200000Z.json")
    assert "*To undo:* `rollback.py undo --snapshot=dump/snapshot-20261121T200000Z.json`" in text
    assert "|Jenkins build>" in text


def test_failure_message_names_the_failed_service_and_the_next_step(slack_recorder: SlackRecorder) -> None:
    warn = Warnings()
    _webhook(slack_recorder, warn).finished(_failed_report())
    (body,) = _bodies(slack_recorder, 1)
    _valid_blocks(body)
    step = "undo it with the undo command, or fix the cause and run again"
    undo = "rollback.py undo --snapshot=dump/snapshot-20261121T200000Z.json --force"
    assert body["text"].startswith(":x: Rollback of prod to 2026-11-19 failed in 2m 05s")
    assert body["text"].endswith(f"Next: {step}. To undo: {undo}")
    blocks = _all_text(body)
    assert "*api* failed: deployment did not finish healthy within 600s" in blocks
    assert f"*Next step:* `{step}`" in blocks and f"*To undo:* `{undo}`" in blocks
    assert warn == []


def test_the_failure_summary_keeps_why_a_deployment_waited_when_the_error_is_long(
        slack_recorder: SlackRecorder) -> None:
    reason = "no agent has room: insufficient cpus on 12 of 12 offers (2 instances left to launch)"
    long_error = "not done after 600s (" + "0/2 new tasks healthy, " * 20 + f"); why: {reason}"
    _webhook(slack_recorder, Warnings()).finished(_first(_failed_report(), error=long_error, stuck_reason=reason))
    (body,) = _bodies(slack_recorder, 1)
    assert f"(why: {reason})" in _all_text(body)


def test_deploy_titles_and_rollback_completed(slack_recorder: SlackRecorder) -> None:
    warn = Warnings()
    notifier = _webhook(slack_recorder, warn)
    notifier.started(command="deploy", env="stage", date=None, actor="ci", changes=2, total=2)
    report = _failed_report(command="deploy", env="stage", date=None, state=State.ROLLBACK_COMPLETED,
                            states=(State.RUNNING, State.FAILED, State.ROLLING_BACK, State.ROLLBACK_COMPLETED))
    report = _first(report, status=Status.ROLLED_BACK)
    notifier.finished(report)
    start, finish = _bodies(slack_recorder, 2)
    assert start["text"] == "Deploy to stage started by ci: 2 of 2 services change."
    assert finish["text"].startswith(":leftwards_arrow_with_hook: Deploy to stage failed and was rolled back in 2m 05s")
    assert "Deploy to stage: ROLLBACK_COMPLETED" in _all_text(finish)
    assert "fix the release and deploy again" in finish["text"]
    assert finish["text"].endswith(" To undo: rollback.py undo --snapshot=dump/snapshot-20261121T200000Z.json")


def test_mrkdwn_is_escaped(slack_recorder: SlackRecorder) -> None:
    warn = Warnings()
    _webhook(slack_recorder, warn).service_done(
        service="a<b>&c", app_id=None, from_image=None, to_image="r/x:1-master", status="failed", seconds=None,
        error="<!channel> bad & worse")
    (body,) = _bodies(slack_recorder, 1)
    text = _all_text(body)
    assert "<!channel>" not in text and "a<b>" not in text
    assert "&lt;!channel&gt; bad &amp; worse" in text
    assert "*a&lt;b&gt;&amp;c*" in text


def _assert_clean_warning(warn: Warnings, recorder_url: str, reason: str) -> None:
    assert len(warn) == 1, warn
    assert warn[0] == f"Slack notification failed ({reason}); the rollback itself is not affected"
    assert "services/T0" not in warn[0] and recorder_url not in warn[0]


def test_webhook_500_is_a_warning_after_one_retry(slack_recorder: SlackRecorder) -> None:
    slack_recorder.mode = "500"
    warn = Warnings()
    _webhook(slack_recorder, warn).finished(_report())
    assert len(slack_recorder.received) == 2  # ServerErrorRetryHandler tried once more
    _assert_clean_warning(warn, slack_recorder.url, "HTTP 500")


def test_webhook_invalid_token_is_a_warning(slack_recorder: SlackRecorder) -> None:
    slack_recorder.mode = "invalid_token"
    warn = Warnings()
    _webhook(slack_recorder, warn).started(command="run", env="prod", date="2026-11-19", actor="a", changes=1, total=1)
    _assert_clean_warning(warn, slack_recorder.url, "HTTP 403: invalid_token")


@pytest.mark.network
def test_connection_refused_is_a_warning() -> None:
    warn = Warnings()
    url = f"http://127.0.0.1:{_closed_port()}/services/T0/B0/XYZ"
    SlackNotifier(webhook=Secret(url), warn=warn, secrets=[]).finished(_report())
    _assert_clean_warning(warn, url, "connection refused")


def test_rate_limit_is_retried_after_retry_after(slack_recorder: SlackRecorder) -> None:
    slack_recorder.mode, slack_recorder.retry_after, slack_recorder.fail_times = "429", 0, 1
    warn = Warnings()
    _webhook(slack_recorder, warn).finished(_report())
    assert len(slack_recorder.received) == 2
    assert warn == []


def test_rate_limit_that_persists_is_a_warning(slack_recorder: SlackRecorder) -> None:
    slack_recorder.mode, slack_recorder.retry_after = "429", 0
    warn = Warnings()
    _webhook(slack_recorder, warn).finished(_report())
    _assert_clean_warning(warn, slack_recorder.url, "HTTP 429")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/services/T0/B0/XYZ"
    done.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    sock.close()


def test_timeout_is_a_warning(silent_server: str) -> None:
    warn = Warnings()
    started = time.monotonic()
    SlackNotifier(webhook=Secret(silent_server), warn=warn, secrets=[], timeout=0.3).finished(_report())
    assert time.monotonic() - started < 5
    _assert_clean_warning(warn, silent_server, "no answer within 0.3s")


@pytest.mark.network
def test_a_dead_slack_is_one_warning_and_the_final_message_is_still_tried() -> None:
    warn = Warnings()
    notifier = SlackNotifier(webhook=Secret(f"http://127.0.0.1:{_closed_port()}/hook"), warn=warn, secrets=[])
    for _ in range(5):
        notifier.service_done(service="api", app_id=None, from_image=None, to_image=None, status="succeeded",
                              seconds=1.0, error=None)
    assert len(warn) == 1, "a dead Slack is one warning, not one per message"
    notifier.finished(_report())
    assert len(warn) == 1


@pytest.mark.network
def test_bot_token_posts_to_the_channel_and_threads_the_details() -> None:
    with SlackRecorder(expected_token=TOKEN) as recorder:
        warn = Warnings()
        notifier = SlackNotifier(token=Secret(TOKEN), channel="#ops", build_url=BUILD, warn=warn, secrets=[],
                                 base_url=recorder.api_url)
        notifier.started(command="run", env="prod", date="2026-11-19", actor="alice", changes=1, total=3)
        notifier.service_done(service="api", app_id="/ds/prod/api", from_image="r/api:2-master",
                              to_image="r/api:1-master", status="succeeded", seconds=3.0, error=None)
        notifier.finished(_report())
        received = recorder.wait_for(3)
    assert warn == []
    assert [r.path for r in received] == ["/api/chat.postMessage"] * 3
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in received)
    start, service, finish = (r.body for r in received)
    assert start["channel"] == service["channel"] == finish["channel"] == "#ops"
    assert "thread_ts" not in start
    assert service["thread_ts"] == finish["thread_ts"]
    assert service["reply_broadcast"] is False and finish["reply_broadcast"] is True
    for body in (start, service, finish):
        _valid_blocks(body)
    assert TOKEN not in json.dumps([start, service, finish])


@pytest.mark.network
def test_bot_token_rejected_is_a_warning() -> None:
    with SlackRecorder(expected_token="xoxb-the-right-one") as recorder:
        warn = Warnings()
        SlackNotifier(token=Secret(TOKEN), channel="#ops", warn=warn, secrets=[], base_url=recorder.api_url
                      ).finished(_report())
        _assert_clean_warning(warn, recorder.url, "HTTP 200: invalid_auth")
    assert TOKEN not in warn[0]


@pytest.mark.network
def test_bot_token_server_error_is_a_warning() -> None:
    with SlackRecorder(mode="500") as recorder:
        warn = Warnings()
        SlackNotifier(token=Secret(TOKEN), channel="#ops", warn=warn, secrets=[], base_url=recorder.api_url
                      ).finished(_report())
        _assert_clean_warning(warn, recorder.url, "HTTP 500")


def test_no_secret_reaches_slack_or_the_warning(slack_recorder: SlackRecorder) -> None:
    webhook = slack_recorder.webhook_url
    warn = Warnings()
    notifier = SlackNotifier(webhook=Secret(webhook), build_url=f"https://bob:{PASSWORD.reveal()}@jenkins.example.com/1/",
                             warn=warn, secrets=[PASSWORD, None])
    leaky = f"401 from https://user:{PASSWORD.reveal()}@marathon/v2/apps; posted to {webhook} <&>"
    notifier.started(command="run", env="prod", date="2026-11-19", actor=PASSWORD.reveal(), changes=1, total=1)
    notifier.service_done(service="api", app_id="/ds/prod/api", from_image=None, to_image=None, status="failed",
                          seconds=1.0, error=leaky)
    notifier.state(command="deploy", env="prod", state="FAILED", detail=leaky)
    notifier.finished(_first(_failed_report(actor=PASSWORD.reveal()), status=Status.FAILED, error=leaky))
    bodies = _bodies(slack_recorder, 4)
    payload = json.dumps(bodies)
    assert PASSWORD.reveal() not in payload
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in payload and webhook not in payload
    assert payload.count("&lt;hidden&gt;") >= 4  # redacted before escaping, so the marker is visible
    assert "https://jenkins.example.com/1/|Jenkins build" in payload  # the build link lost its userinfo

    slack_recorder.mode = "invalid_token"
    notifier.finished(_report())
    assert len(warn) == 1
    assert PASSWORD.reveal() not in warn[0] and webhook not in warn[0]


def test_make_notifier_picks_slack_or_nothing(slack_recorder: SlackRecorder) -> None:
    warn = Warnings()
    assert isinstance(factory.notifier(_settings(), warn), Silent)
    webhook = factory.notifier(_settings(webhook=Secret(slack_recorder.webhook_url), build_url=BUILD), warn)
    assert isinstance(webhook, SlackNotifier)
    webhook.started(command="run", env="prod", date="2026-11-19", actor="a", changes=1, total=1)
    assert slack_recorder.wait_for(1)[0].path.startswith("/services/")
    bot = factory.notifier(_settings(token=Secret(TOKEN), channel="C123"), warn)
    assert isinstance(bot, SlackNotifier)
    assert warn == []
