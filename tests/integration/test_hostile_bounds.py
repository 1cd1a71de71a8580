"""A hostile server against the tool's bounds: Slack that answers slowly or sends Retry-After, answers
that never end, event-stream frames that never end, a Content-Length that lies, and Marathon reads
redirected to another origin. The registry's hostile cases are in tests/integration/test_hostile.py."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from fleetrewind.notify.slack import SlackNotifier
import fleetrewind.transport as transport_module
from fleetrewind.secret import Secret
from fleetrewind.transport import RETRY_AFTER_MAX
from testbed.relays import Redirector, TrickleRelay
from testbed.serving import BackgroundServer
from testbed.slack_recorder import SlackRecorder
from tests.integration.test_hostile import errors, pytestmark  # noqa: F401  (pytestmark: every test here is `network`)


def _announce_in_a_thread(notifier: Any) -> threading.Thread:
    thread = threading.Thread(target=lambda: notifier.started(command="run", env="prod", date="2026-11-19",
                                                              actor="alice", changes=1, total=1), daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("how", ["retry-after-3600", "trickled"])
def test_a_slow_slack_holds_a_message_no_longer_than_its_deadline(how: str) -> None:
    """A message (retries included) ends by its deadline: the run waits on Slack before the first change
    and after the last. Before, Retry-After: 3600 slept an hour and a trickled answer never ended."""
    warnings: list[str] = []
    with SlackRecorder(mode="429" if how == "retry-after-3600" else "ok", retry_after=3600) as recorder:
        port = int(recorder.url.rsplit(":", 1)[1])
        relay = TrickleRelay(port, 0.2) if how == "trickled" else None
        url = recorder.webhook_url if relay is None else recorder.webhook_url.replace(f":{port}/", f":{relay.port}/")
        notifier = SlackNotifier(webhook=Secret(url), warn=warnings.append, secrets=[], timeout=1, deadline=1.5)
        thread = _announce_in_a_thread(notifier)
        thread.join(timeout=60)  # a guard against the hang, not a measurement
        if relay:
            relay.stop()
        assert not thread.is_alive(), "the Slack message held the run"
    assert warnings == ["Slack notification failed (no answer within 1.5s); the rollback itself is not affected"]
    assert "XXXXXXXX" not in " ".join(warnings)


def test_slack_retry_after_is_bounded_like_the_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait slack-sdk makes for a 429 is capped at the transport's RETRY_AFTER_MAX (and a bad value is 1 s)."""
    import fleetrewind.notify.slack as slack_module

    slept: list[float] = []
    monkeypatch.setattr(slack_module.time, "sleep", slept.append)
    with SlackRecorder(mode="429", retry_after=3600) as recorder:
        notifier = SlackNotifier(webhook=Secret(recorder.webhook_url), warn=lambda _: None, secrets=[], timeout=5,
                                 deadline=30)
        _announce_in_a_thread(notifier).join(timeout=60)
    assert slept and max(slept) <= RETRY_AFTER_MAX


class _Endless(BaseHTTPRequestHandler):
    """200 and a JSON body that never ends (no Content-Length): requests kept all of it in memory."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            self.wfile.write(b'{"apps": ["')
            for _ in range(10_000):
                self.wfile.write(b"x" * 65536)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _deploy_against(handler: type[BaseHTTPRequestHandler], cli: Any, dump: Path) -> tuple[Any, str]:
    """``deploy`` with ``handler`` serving as Marathon; the result, and the URL it was served at."""
    with BackgroundServer(handler, name=handler.__name__) as server:
        return cli("deploy", "--env=prod", "--image=api=2", f"--dump={dump}", f"--marathon={server.url}"), server.url


def test_an_answer_that_never_ends_is_cut_at_the_bound_with_one_error(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport_module, "MAX_ANSWER", 2**20)  # the product's bound is 128 MB; the same code
    result, url = _deploy_against(_Endless, cli, tmp_path)
    assert result.code == 4, result.err
    [line] = errors(result.err)
    assert line == (f"error: Marathon at {url} answered GET /v2/apps with more than 1 MB; refusing to read "
                    "more (check the URL, or a proxy in front of it)")


def test_an_event_stream_line_or_frame_that_never_ends_is_not_kept_growing() -> None:
    from fleetrewind.marathon.client import MAX_EVENT_LINE, _lines
    from fleetrewind.marathon.events import MAX_FRAME, StreamBound, parse_events

    endless_line = ("x" * 65536 for _ in range(10_000))
    with pytest.raises(ValueError):
        for _ in _lines(endless_line):
            pass
    assert list(_lines(iter(["data: {}\r\n", "\n", "tail"]))) == ["data: {}", "", "tail"]
    frame = ["data: " + "y" * 4096] * (MAX_FRAME // 4096 + 2) + ["", 'data: {"eventType": "x"}', ""]
    with pytest.raises(StreamBound):  # the endless frame ends the stream: the run polls (issue #22, item 9)
        list(parse_events(frame))
    deep = ["data: " + "[" * 100_000, ""]
    assert list(parse_events(deep)) == []  # nested too deeply: skipped like any unreadable frame
    assert MAX_EVENT_LINE <= 2**20


class _ShortBody(BaseHTTPRequestHandler):
    """Announces 100,000 bytes, sends 12 and hangs up: it was reported as "cannot reach ... (ChunkedEncodingError)"."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b'{"apps": []}')
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_a_content_length_that_lies_says_the_answer_was_cut_short(cli: Any, tmp_path: Path) -> None:
    result, _ = _deploy_against(_ShortBody, cli, tmp_path)
    assert result.code == 4, result.err
    [line] = errors(result.err)
    assert "(the answer ended before the length it announced)" in line and "Error" not in line


def test_marathon_reads_redirected_to_another_origin_are_not_believed(cli: Any, tmp_path: Path) -> None:
    """Another origin's app list would be planned on as Marathon's (its standbys proxy, they do not redirect)."""
    with Redirector(307) as server:
        result = cli("deploy", "--env=prod", "--image=api=2", f"--dump={tmp_path}", f"--marathon={server.url}")
        assert server.caught == [], "a read went to another origin"
    assert result.code == 1, result.err
    [line] = errors(result.err)
    assert line.startswith("error: refusing to follow a redirect of GET /v2/apps from Marathon at")
    assert "this server's answers come only from" in line
