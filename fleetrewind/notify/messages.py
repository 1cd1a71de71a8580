"""The Slack messages of a run, as text and Block Kit blocks (pure: ``slack.py`` sends them).

Each message says what happened in words a person acts on: the run's state, each service's
outcome and why it failed or waited, the scope, and the next step (``to undo: ...``).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from ..model.report import Report, ScopeReport
from ..model.states import State, Status
from ..transport import sanitize_url

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
    """What to do after this outcome. The undo command itself is never here: every final message of a
    run that changed something carries it once, in one wording (``To undo: ...``, as stdout's last line)."""
    state, command = report.state, report.command
    undo = report.undo  # with --force when a failed deployment may still be in flight on its app
    ended_badly = state in (State.FAILED, State.INTERRUPTED)
    if state == State.ROLLBACK_COMPLETED:
        return "the services are back on the images they ran before; fix the release and deploy again"
    if state == State.ROLLBACK_FAILED or (ended_badly and command == "deploy"):
        return "roll back by hand with the undo command" if undo else \
            "check the apps in Marathon; no snapshot was written"
    if ended_badly:
        return "undo it with the undo command, or fix the cause and run again" if undo else (
            "nothing was changed" + ("" if report.snapshot else " (no snapshot was written)")
            + "; fix the cause and run again")
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
    text = f"{icon} {head} {_OUTCOMES.get(state, state)} in {took}: {counts}." + (f" Next: {step}." if step else "")
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
    if undo:  # every run that changed something says how to put it back, last so nothing cuts it
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*To undo:* `{_md(undo)}`"}})
    _add_link(blocks, build_url or report.build_url)
    undo_text = f" To undo: {undo}" if undo else ""
    return Message(_md(_cut(text, 3000 - len(undo_text)) + undo_text), blocks)


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
