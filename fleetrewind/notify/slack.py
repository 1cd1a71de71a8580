"""Slack, injected and best effort: a failed message is one warning line, never an exception.

A :class:`SlackNotifier` is one listener of a rollout (the shape of ``rollout/events.py``: the
rollout emits, Slack listens); :func:`make_notifier` picks Slack (incoming webhook, or bot token +
channel through the Web API), or None when it is not configured. Every text sent passes
through :func:`~fleetrewind.secret.redact`, so no secret this run knows can reach Slack.
"""

from __future__ import annotations

import functools
import logging
import re
import socket
import ssl
import threading
import time
import urllib.error
from typing import TYPE_CHECKING, Any, Callable, Sequence

# slack_sdk is imported only when a Slack notifier is made: most runs without Slack (and the
# benchmarks' CPU per service) should not pay for importing it.

from ..model.report import Report, ScopeReport
from ..model.states import State, Status
from ..secret import Secret, redact
from .messages import Block, Message, finished_message, service_message, started_message, state_message
from ..transport import RETRY_AFTER_MAX

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.webhook import WebhookClient

# slack-sdk logs failures (and, at debug level, the webhook URL and body) through its logger;
# ours stays silent: the one warning line below is all the user sees.
_SDK_LOG = logging.getLogger("fleetrewind.notify.slack.slack_sdk")
_SDK_LOG.setLevel(logging.CRITICAL + 10)
_SDK_LOG.propagate = False
_SDK_LOG.addHandler(logging.NullHandler())

GIVE_UP_AFTER = 3  # consecutive failures; after that only the final message is still tried
def _redact_blocks(blocks: list[Block], secrets: list[Secret | None]) -> list[Block]:
    return [{k: _redact_all(v, secrets) for k, v in block.items()} for block in blocks]


def _redact_all(value: object, secrets: list[Secret | None]) -> object:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_redact_all(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _redact_all(v, secrets) for k, v in value.items()}
    return value


# --- sending -----------------------------------------------------------------------------------

class SlackNotifier:
    """Posts through an incoming webhook, or with a bot token to a channel (replies in a thread)."""

    def __init__(self, *, webhook: Secret | None = None, token: Secret | None = None, channel: str | None = None,
                 build_url: str | None = None, warn: Callable[[str], None], secrets: list[Secret | None],
                 base_url: str | None = None, timeout: float = 10, deadline: float | None = None) -> None:
        if not webhook and not (token and channel):
            raise ValueError("SlackNotifier needs a webhook, or a token and a channel")
        self._warn = warn
        self._secrets = [*secrets, webhook, token]
        self._build_url = build_url
        self._timeout = timeout
        # slack-sdk's timeout is per socket read, and it sleeps whatever Retry-After says: one message,
        # retries included, gets this long, like every request of transport.py
        self._deadline = deadline if deadline is not None else 3 * timeout
        self._channel = channel
        self._lock = threading.Lock()  # the executor may report services from several threads
        self._failures = 0
        self._warned: set[str] = set()
        self._thread_ts: str | None = None
        # connection errors are retried once by default; add 429 (honours Retry-After) and 500/503
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import (
            ConnectionErrorRetryHandler,
            RateLimitErrorRetryHandler,
            ServerErrorRetryHandler,
        )
        from slack_sdk.webhook import WebhookClient

        class BoundedRateLimit(RateLimitErrorRetryHandler):
            """slack-sdk sleeps Retry-After as sent (3600 is an hour); wait at most RETRY_AFTER_MAX."""

            def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None,
                                         error: Exception | None = None) -> None:
                if response is None:
                    raise error or RuntimeError("no answer")
                values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or ["1"]
                try:
                    wait = min(float(values[0]), RETRY_AFTER_MAX)
                except (TypeError, ValueError):
                    wait = 1.0
                state.next_attempt_requested = True
                time.sleep(max(0.0, wait) if wait == wait else 1.0)  # NaN: the fallback
                state.increment_current_attempt()

        handlers = [ConnectionErrorRetryHandler(), BoundedRateLimit(), ServerErrorRetryHandler()]
        self._webhook: WebhookClient | None = None
        self._client: WebClient | None = None
        if webhook:
            self._webhook = WebhookClient(webhook.reveal(), timeout=timeout, logger=_SDK_LOG,  # type: ignore[arg-type]
                                          retry_handlers=handlers)
        else:
            assert token is not None
            # without a base_url of ours, the SDK's own default (or a test's) applies
            make = functools.partial(WebClient, base_url=base_url) if base_url else WebClient
            self._client = make(token=token.reveal(), timeout=timeout, logger=_SDK_LOG,  # type: ignore[arg-type]
                                retry_handlers=handlers)

    def started(self, *, command: str, env: str, date: str | None, actor: str, changes: int, total: int,
                checks: Sequence[str] = (), scope: ScopeReport | None = None) -> None:
        # the raw values are redacted before they are escaped for mrkdwn (escaping could hide a secret)
        r, maybe = self._redact, self._redact_opt
        self._send(lambda: started_message(command=r(command), env=r(env), date=maybe(date), actor=r(actor),
                                           changes=changes, total=total, build_url=maybe(self._build_url),
                                           checks=[r(c) for c in checks],
                                           scope=scope.map_text(r) if scope else None),
                   first=True)

    def service_done(self, *, service: str, app_id: str | None, from_image: str | None, to_image: str | None,
                     status: Status, seconds: float | None, error: str | None) -> None:
        r, maybe = self._redact, self._redact_opt
        self._send(lambda: service_message(service=r(service), app_id=maybe(app_id), from_image=maybe(from_image),
                                           to_image=maybe(to_image), status=status, seconds=seconds,
                                           error=maybe(error)))

    def state(self, *, command: str, env: str, state: State, detail: str) -> None:
        r = self._redact
        self._send(lambda: state_message(command=r(command), env=r(env), state=state, detail=r(detail)))

    def finished(self, report: Report) -> None:
        self._send(lambda: finished_message(report.map_text(self._redact), self._redact_opt(self._build_url)),
                   final=True)

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _redact_opt(self, text: str | None) -> str | None:
        return None if text is None else redact(text, self._secrets)

    def _send(self, build: Callable[[], Message], *, first: bool = False, final: bool = False) -> None:
        with self._lock:
            # a dead Slack must not slow a rollback by a timeout per service: stop trying, but
            # still try the final message, the one the team needs most
            if self._failures >= GIVE_UP_AFTER and not final:
                return
            try:
                message = build()  # inside the guard: an odd report must not stop a rollback either
                blocks = _redact_blocks(message.blocks, self._secrets)
                problem = _within(self._deadline, lambda: self._post(redact(message.text, self._secrets), blocks,
                                                                     first=first, final=final))
            except _Late:
                problem = f"no answer within {self._deadline:g}s"
            except Exception as exc:  # noqa: BLE001 - best effort: nothing here may stop a rollback
                problem = _describe(exc, self._timeout)
            if problem is None:
                self._failures = 0
                return
            self._failures += 1
            if problem in self._warned:
                return  # one warning per kind of failure: a dead Slack is one line, not one per message
            self._warned.add(problem)
            self._warn(redact(f"Slack notification failed ({problem}); the rollback itself is not affected",
                              self._secrets))

    def _post(self, text: str, blocks: list[Block], *, first: bool, final: bool) -> str | None:
        """Send one message; the reason it failed, or None."""
        if self._webhook is not None:
            # a non-200 answer does not raise in slack-sdk's WebhookClient
            response = self._webhook.send(text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
            if response.status_code != 200:
                return f"HTTP {response.status_code}{_short_body(response.status_code, response.body)}"
            return None
        assert self._client is not None
        in_thread = bool(self._thread_ts) and not first
        answer = self._client.chat_postMessage(channel=self._channel or "", text=text, blocks=blocks,
                                               unfurl_links=False, unfurl_media=False,
                                               thread_ts=self._thread_ts if in_thread else None,
                                               reply_broadcast=final if in_thread else None)
        if first and isinstance(answer.get("ts"), str):
            self._thread_ts = answer["ts"]
        return None


class _Late(Exception):
    """A Slack message that took longer than its deadline (it may still arrive; the run does not wait)."""


def _within(seconds: float, call: Callable[[], str | None]) -> str | None:
    """``call()`` in a daemon thread, waited for at most ``seconds``; its result, or its exception, or :class:`_Late`."""
    results: list[str | None] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            results.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            errors.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="slack-message", daemon=True).start()
    if not done.wait(seconds):
        raise _Late()
    if errors:
        raise errors[0]
    return results[0]


def _short_body(status: int, body: object) -> str:
    """A 4xx's reason, such as ``invalid_token``; a 429 or 5xx says enough by its number."""
    if status >= 500 or status == 429 or not isinstance(body, str) or not re.fullmatch(r"[a-z_]{1,40}", body):
        return ""
    return f": {body}"


def _describe(exc: BaseException, timeout: float) -> str:
    """One short reason, without the URL (the webhook URL is itself the secret)."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        return f"HTTP {exc.response.status_code}{_short_body(exc.response.status_code, error)}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "cannot resolve the Slack host"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc.__class__.__name__}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, SlackClientError):
        return f"slack-sdk: {exc.__class__.__name__}"
    return exc.__class__.__name__


def make_notifier(*, webhook: Secret | None, token: Secret | None, channel: str | None, build_url: str | None,
                  warn: Callable[[str], None], secrets: list[Secret | None]) -> SlackNotifier | None:
    """Slack when a webhook (it wins) or a bot token and channel are set; otherwise None."""
    if webhook:
        return SlackNotifier(webhook=webhook, build_url=build_url, warn=warn, secrets=secrets)
    if token:
        if not channel:
            warn("SLACK_BOT_TOKEN is set but no channel (--slack-channel or SLACK_CHANNEL); Slack messages are off")
            return None
        return SlackNotifier(token=token, channel=channel, build_url=build_url, warn=warn, secrets=secrets)
    return None
