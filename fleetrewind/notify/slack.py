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
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

# slack_sdk is imported only when a Slack notifier is made: most runs without Slack (and the
# benchmarks' CPU per service) should not pay for importing it.

from ..model.report import Report, ScopeReport
from ..model.states import State, Status
from ..secret import Secret, redact
from ..transport import RETRY_AFTER_MAX, sanitize_url

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
_ICONS: dict[str, str] = {
    Status.SUCCEEDED: ":white_check_mark:", Status.FAILED: ":x:", Status.UNCHANGED: ":heavy_minus_sign:",
    Status.SKIPPED: ":fast_forward:", Status.NOT_STARTED: ":fast_forward:", Status.INTERRUPTED: ":warning:",
    Status.ROLLED_BACK: ":leftwards_arrow_with_hook:", Status.ROLLBACK_FAILED: ":rotating_light:",
    State.RUNNING: ":arrow_forward:", State.SUCCEEDED: ":white_check_mark:", State.FAILED: ":x:",
    State.NOTHING_TO_DO: ":heavy_minus_sign:", State.INTERRUPTED: ":warning:", State.ROLLING_BACK: ":rewind:",
    State.ROLLBACK_COMPLETED: ":leftwards_arrow_with_hook:", State.ROLLBACK_FAILED: ":rotating_light:",
}
_OUTCOMES: dict[str, str] = {
    State.SUCCEEDED: "succeeded", State.FAILED: "failed", State.NOTHING_TO_DO: "had nothing to do",
    State.INTERRUPTED: "was interrupted", State.ROLLBACK_COMPLETED: "failed and was rolled back",
    State.ROLLBACK_FAILED: "failed, and rolling it back failed too",
}


Block = dict[str, object]  # one Block Kit block, as Slack's JSON


class Message(NamedTuple):
    """A plain-text fallback (notifications, old clients) and the Block Kit blocks."""

    text: str
    blocks: list[Block]


# --- pure: what the messages say -------------------------------------------------------------

def _md(value: object) -> str:
    """Slack mrkdwn needs only &, < and > escaped (api.slack.com: formatting text for apps)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _failure_line(error: str | None, stuck_reason: str | None) -> str:
    """A failed service's error, cut, with why its deployment waited kept even when the error is long."""
    text = _cut(error or "-", 300)
    if stuck_reason and stuck_reason not in text:
        text += f" (why: {_cut(stuck_reason, 200)})"
    return text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(image: str | None) -> str:
    """``registry.example.com/team/api:512-master`` -> ``api:512-master`` (the part people read)."""
    return image.rsplit("/", 1)[-1] if image else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(round(seconds))
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m {secs:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def title(command: str, env: str, date: str | None) -> str:
    """``Rollback of prod to 2026-11-19`` / ``Undo on prod`` / ``Deploy to prod``."""
    if command == "run":
        return f"Rollback of {env} to {date}" if date else f"Rollback of {env}"
    if command == "undo":
        return f"Undo on {env}"
    if command == "deploy":
        return f"Deploy to {env}"
    return f"{command} on {env}"


def next_step(report: Report) -> str | None:
    """What to do after this outcome (the report's ``snapshot`` holds the images from before the run)."""
    state, command = report.state, report.command
    undo = report.undo  # with --force when a failed deployment may still be in flight on its app
    ended_badly = state in (State.FAILED, State.INTERRUPTED)
    if state == State.ROLLBACK_COMPLETED:
        return "the services are back on the images they ran before; fix the release and deploy again"
    if state == State.ROLLBACK_FAILED or (ended_badly and command == "deploy"):
        return f"roll back by hand: {undo}" if undo else "check the apps in Marathon; no snapshot was written"
    if ended_badly:
        return f"undo with: {undo}" if undo else ("nothing was changed" + ("" if report.snapshot else " (no snapshot was "
                                                   "written)") + "; fix the cause and run again")
    if state == State.SUCCEEDED and undo and report.summary.changed:
        return f"to reverse it: {undo}"
    return None


def started_message(*, command: str, env: str, date: str | None, actor: str, changes: int, total: int,
                    build_url: str | None, checks: Sequence[str] = (), scope: ScopeReport | None = None) -> Message:
    head = title(command, env, date)
    what = f"{changes} of {total} services change" if changes else f"no change needed ({total} services checked)"
    text = f"{head} started by {actor}: {what}."
    fields = [("Environment", env), ("Started by", actor), ("Changes", what)]
    if date:
        fields.insert(1, ("Date", date))
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"{head}: started", 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_md(v)}"} for k, v in fields]},
    ]
    if checks:
        # what Marathon's history says about the plan (never-ran, never-together, config-drift, history-short)
        text += f" {len(checks)} check(s): " + "; ".join(checks)
        lines = "\n".join(f":warning: {_md(_cut(c, 300))}" for c in checks[:10])
        more = f"\n... and {len(checks) - 10} more (see the report)" if len(checks) > 10 else ""
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*Checks*\n{lines}{more}", 3000)}})
    text += _add_scope(blocks, scope)
    _add_link(blocks, build_url)
    return Message(_md(_cut(text, 3000)), blocks)


def service_message(*, service: str, app_id: str | None, from_image: str | None, to_image: str | None,
                    status: Status, seconds: float | None, error: str | None) -> Message:
    icon = _ICONS.get(status, ":grey_question:")
    took = f" in {_duration(seconds)}" if seconds is not None else ""
    text = f"{icon} {service} {status}{took}: {_short(from_image)} → {_short(to_image)}"
    body = f"{icon} *{_md(service)}* {_md(status)}{took}\n`{_md(from_image or '-')}` → `{_md(to_image or '-')}`"
    if app_id:
        body += f"\napp `{_md(app_id)}`"
    if error:
        text += f" ({error})"
        body += f"\n> {_md(_cut(error, 1500))}"
    return Message(_md(_cut(text, 3000)), [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, 3000)}}])


def state_message(*, command: str, env: str, state: State, detail: str) -> Message:
    icon = _ICONS.get(state, ":grey_question:")
    text = f"{icon} {title(command, env, None)}: state {state}" + (f" ({detail})" if detail else "")
    body = f"{icon} {_md(title(command, env, None))}: state *{_md(state)}*" + (f"\n{_md(_cut(detail, 2500))}" if detail else "")
    return Message(_md(text), [{"type": "section", "text": {"type": "mrkdwn", "text": body}}])


def finished_message(report: Report, build_url: str | None) -> Message:
    state = report.state
    head = title(report.command, report.env, report.date)
    icon = _ICONS.get(state, ":grey_question:")
    summary = report.summary
    counts = summary.line()
    took = _duration(report.seconds)
    step = next_step(report)
    undo = report.undo
    text = (f"{icon} {head} {_OUTCOMES.get(state, state)} in {took}: {counts}." + (f" Next: {step}" if step else "")
            + (f" To undo: {undo}" if undo and undo not in (step or "") else ""))
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"{head}: {state}", 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_md(v)}"} for k, v in (
            ("Result", f"{icon} {state}"), ("Duration", took), ("Services", counts),
            ("Started by", report.actor))]},
    ]
    bad = report.failed_services()
    if bad:
        lines = [f"• *{_md(s.service)}* {_md(s.status)}: {_md(_failure_line(s.error, s.stuck_reason))}"
                 for s in bad[:10]]
        if len(bad) > 10:
            lines.append(f"… and {len(bad) - 10} more (see the report)")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), 3000)}})
    left = [s.service for s in report.services if s.action == "no-release"]
    if left:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(
            f"Left as is (no release at or before {_md(report.date or 'the date')}): {_md(', '.join(left))}", 3000)}})
    text += _add_scope(blocks, report.scope)
    if step:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Next step:* `{_md(step)}`"}})
    if undo:  # every run that changed something says how to put it back
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*To undo:* `{_md(undo)}`"}})
    _add_link(blocks, build_url or report.build_url)
    return Message(_md(_cut(text, 3000)), blocks)


def _add_scope(blocks: list[Block], scope: ScopeReport | None) -> str:
    """When a selection applies (--only, --exclude, pinned): a block naming the services in scope and
    those left out; returns the fallback text's sentence ("" without a selection)."""
    if scope is None or not scope.excluded:
        return ""
    out = ", ".join(f"{s} ({why})" for s, why in scope.excluded)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(
        f"*In scope:* {_md(', '.join(scope.in_scope) or 'none')}\n*Left out, not touched:* {_md(out)}", 3000)}})
    return f" In scope: {', '.join(scope.in_scope) or 'none'}."


def _add_link(blocks: list[Block], build_url: str | None) -> None:
    url = sanitize_url(build_url) if build_url else None  # user:token@ would leak into the channel
    if url:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{_md(url)}|Jenkins build>"}]})


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
