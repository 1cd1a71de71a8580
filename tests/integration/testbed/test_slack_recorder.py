"""SlackRecorder records webhooks and chat.postMessage, and fails on demand."""

from __future__ import annotations

import threading

import pytest
import requests

from testbed.slack_recorder import SlackRecorder


def test_webhook_json_and_form(slack_recorder: SlackRecorder) -> None:
    response = requests.post(slack_recorder.webhook_url, json={"text": "rolled back"}, timeout=5)
    assert (response.status_code, response.text) == (200, "ok")
    requests.post(slack_recorder.url + "/hooks/x", data={"payload": '{"text": "form"}'}, timeout=5)
    first, second = slack_recorder.received
    path, headers, body = first
    assert path == "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    assert body == {"text": "rolled back"}
    assert headers["Content-Type"] == "application/json"
    assert second.path == "/hooks/x" and second.body == {"text": "form"}


def test_chat_post_message(slack_recorder: SlackRecorder) -> None:
    slack_recorder.expected_token = "xoxb-test"
    ok = requests.post(
        slack_recorder.api_url + "chat.postMessage",
        headers={"Authorization": "Bearer xoxb-test"},
        json={"channel": "#deploys", "text": "hi"},
        timeout=5,
    ).json()
    assert ok["ok"] is True and ok["channel"] == "#deploys" and ok["ts"]
    form = requests.post(
        slack_recorder.api_url + "chat.postMessage",
        data={"token": "xoxb-test", "channel": "C1", "text": "form"},
        timeout=5,
    ).json()
    assert form["ok"] is True and form["channel"] == "C1"
    assert slack_recorder.received[1].body == {"token": "xoxb-test", "channel": "C1", "text": "form"}
    bad = requests.post(
        slack_recorder.api_url + "chat.postMessage",
        headers={"Authorization": "Bearer nope"},
        json={"channel": "C1"},
        timeout=5,
    ).json()
    assert bad == {"ok": False, "error": "invalid_auth"}
    none = requests.post(
        slack_recorder.api_url + "chat.postMessage", json={"channel": "C1"}, timeout=5
    ).json()
    assert none == {"ok": False, "error": "not_authed"}


@pytest.mark.network
def test_failure_modes() -> None:
    with SlackRecorder(mode="500") as recorder:
        assert requests.post(recorder.webhook_url, json={}, timeout=5).status_code == 500
        recorder.mode = "429"
        recorder.retry_after = 3
        limited = requests.post(recorder.api_url + "chat.postMessage", json={"channel": "C"}, timeout=5)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
        assert requests.post(recorder.webhook_url, json={}, timeout=5).status_code == 429
        recorder.mode = "invalid_token"
        api = requests.post(recorder.api_url + "chat.postMessage", json={"channel": "C"}, timeout=5)
        assert api.status_code == 200 and api.json() == {"ok": False, "error": "invalid_token"}
        hook = requests.post(recorder.webhook_url, json={}, timeout=5)
        assert (hook.status_code, hook.text) == (403, "invalid_token")
        assert len(recorder.received) == 5


@pytest.mark.network
def test_fail_times_then_ok_and_wait_for() -> None:
    with SlackRecorder(mode="429", fail_times=1, retry_after=0) as recorder:
        assert requests.post(recorder.webhook_url, json={"n": 1}, timeout=5).status_code == 429
        assert requests.post(recorder.webhook_url, json={"n": 2}, timeout=5).status_code == 200
        later = threading.Timer(0.05, lambda: requests.post(recorder.webhook_url, json={"n": 3}, timeout=5))
        later.start()
        got = recorder.wait_for(3, timeout=5)
        later.join()
        assert [r.body["n"] for r in got] == [1, 2, 3]
