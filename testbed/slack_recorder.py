"""A local stand-in for Slack that records what it is sent.

- Incoming webhooks: ``POST`` at any path (e.g. ``webhook_url``) answers 200 ``ok``.
- Web API: ``POST /api/chat.postMessage`` answers ``{"ok": true, "channel": ..., "ts": ...}``;
  other ``/api/<method>`` calls answer ``{"ok": true}``.
- ``mode``: "ok", "500", "429" (with ``Retry-After``), or "invalid_token" (Web API:
  200 ``{"ok": false, "error": "invalid_token"}``; webhook: 403 ``invalid_token``, as Slack
  answers).  ``fail_times=n`` applies the mode to the next n requests only, then answers ok.
- ``expected_token``: Web API calls without it get ``not_authed`` / ``invalid_auth``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from testbed.serving import Served

MODES = ("ok", "500", "429", "invalid_token")


class Received(NamedTuple):
    """One request: path (with query), headers (dict), body (JSON value, form dict, or text)."""

    path: str
    headers: dict[str, str]
    body: Any


class SlackRecorder(Served):
    """Records webhook and Web API calls on 127.0.0.1; a context manager."""

    thread_name = "slack-recorder"

    def __init__(
        self,
        *,
        mode: str = "ok",
        retry_after: int = 1,
        fail_times: int | None = None,
        expected_token: str | None = None,
    ) -> None:
        self.mode = mode
        self.retry_after = retry_after
        self.fail_times = fail_times
        self.expected_token = expected_token
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (found: {value!r})")
        self._mode = value

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    @property
    def webhook_url(self) -> str:
        """A URL shaped like a Slack incoming webhook."""
        return self.url + "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"

    @property
    def api_url(self) -> str:
        """Base URL for the Web API, as slack-sdk's ``base_url`` (ends with a slash)."""
        return self.url + "/api/"

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """Block until at least ``count`` requests arrived; return them (may be fewer on timeout)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            return list(self.received)

    def _record(self, item: Received) -> str:
        """Store a request; return the mode that applies to it."""
        with self._arrived:
            self.received.append(item)
            self._arrived.notify_all()
            mode = self._mode
            if mode != "ok" and self.fail_times is not None:
                if self.fail_times <= 0:
                    mode = "ok"
                else:
                    self.fail_times -= 1
            return mode


def _parse_body(content_type: str, raw: bytes) -> Any:
    kind = content_type.split(";")[0].strip().lower()
    text = raw.decode("utf-8", "replace")
    if kind == "application/json" or (not kind and text[:1] in "{["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if kind == "application/x-www-form-urlencoded":
        form = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text, keep_blank_values=True).items()}
        payload = form.get("payload")
        if isinstance(payload, str):  # webhooks also accept payload=<json> as a form
            try:
                return json.loads(payload)
            except ValueError:
                pass
        return form
    return text


def _make_handler(recorder: SlackRecorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One buffered write per response and no Nagle: avoids 40 ms delayed-ACK stalls.
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass

        def _send(
            self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = _parse_body(self.headers.get("Content-Type", ""), raw)
            mode = recorder._record(Received(self.path, dict(self.headers.items()), body))
            path = urlsplit(self.path).path
            is_api = path.startswith("/api/")
            if mode == "500":
                self._send(500, b"internal_error", "text/plain")
            elif mode == "429":
                headers = {"Retry-After": str(recorder.retry_after)}
                if is_api:
                    self._json(429, {"ok": False, "error": "ratelimited"}, headers)
                else:
                    self._send(429, b"rate_limited", "text/plain", headers)
            elif mode == "invalid_token":
                if is_api:
                    self._json(200, {"ok": False, "error": "invalid_token"})
                else:
                    self._send(403, b"invalid_token", "text/plain")
            elif is_api:
                self._api(path[len("/api/") :], body)
            else:
                self._send(200, b"ok", "text/html")

        def _api(self, method: str, body: Any) -> None:
            if recorder.expected_token is not None:
                header = self.headers.get("Authorization", "")
                token = (
                    header[7:]
                    if header.startswith("Bearer ")
                    else (body.get("token") if isinstance(body, dict) else None)
                )
                if not token:
                    self._json(200, {"ok": False, "error": "not_authed"})
                    return
                if token != recorder.expected_token:
                    self._json(200, {"ok": False, "error": "invalid_auth"})
                    return
            if method != "chat.postMessage":
                self._json(200, {"ok": True})
                return
            fields = body if isinstance(body, dict) else {}
            channel = fields.get("channel")
            if not channel:
                self._json(200, {"ok": False, "error": "channel_not_found"})
                return
            ts = f"{time.time():.6f}"
            self._json(
                200,
                {
                    "ok": True,
                    "channel": channel,
                    "ts": ts,
                    "message": {"type": "message", "text": fields.get("text", ""), "ts": ts},
                },
            )

        def do_GET(self) -> None:
            self._json(405, {"ok": False, "error": "method_not_supported_for_channel_type"})

    return Handler
