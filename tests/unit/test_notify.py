"""Slack notifications without Slack: the next step a message suggests, a token without a channel.
Payloads and failures against the local recorder: tests/integration/test_notify.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fleetrewind import factory
from fleetrewind.notify.messages import next_step
from fleetrewind.rollout.events import Silent
from fleetrewind.model.report import Report, Outcome, Summary
from fleetrewind.model.states import FailureClass, State, Status
from fleetrewind.secret import Secret
from fleetrewind.settings.commands import SlackSettings


TOKEN = "xoxb-1111-2222-secret-token"


BUILD = "https://jenkins.example.com/job/rollback/42/"


def _service(name: str, to_image: str | None, action: str, reason: str, status: Status, **extra: Any) -> Outcome:
    return Outcome(service=name, app_id=f"/ds/prod/{name}", from_image=extra.pop("from_image"), to_image=to_image,
                         action=action, reason=reason, status=status, **extra)


def _report(**changes: Any) -> Report:
    report = Report(
        command="run", env="prod", date="2026-11-19", actor="alice", build_url=BUILD,
        marathon="https://marathon.example.com", started_at="2026-11-21T20:00:00Z",
        finished_at="2026-11-21T20:02:05Z", seconds=125.0, state=State.SUCCEEDED, exit_code=0,
        snapshot="dump/snapshot-20261121T200000Z.json", states=(),
        services=(
            _service("api", "reg/api:512-master", "change", "released that day", Status.SUCCEEDED,
                     from_image="reg/api:513-master", deployment_id="d1", seconds=61.2),
            _service("web", "reg/web:88-master", "unchanged", "unchanged", Status.UNCHANGED,
                     from_image="reg/web:88-master"),
            _service("batch", None, "no-release", "no release at or before the date", Status.SKIPPED,
                     from_image="reg/batch:9-master"),
        ),
        summary=Summary(changed=1, failed=0, unchanged=1, skipped=1),
    )
    return replace(report, **changes)


def _first(report: Report, **changes: Any) -> Report:
    """``report`` with its first service changed."""
    return replace(report, services=(replace(report.services[0], **changes), *report.services[1:]))


def _failed_report(**changes: Any) -> Report:
    report = _report(state=State.FAILED, exit_code=1, summary=Summary(changed=0, failed=1, unchanged=1, skipped=1))
    report = _first(report, status=Status.FAILED, error="deployment did not finish healthy within 600s",
                    failure_class=FailureClass.DEADLINE)
    return replace(report, **changes)


class Warnings(list[str]):
    def __call__(self, text: str) -> None:
        self.append(text)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"command": "deploy", "state": "ROLLBACK_FAILED"}, "roll back by hand with the undo command"),
    ({"command": "deploy", "state": "FAILED"}, "roll back by hand with the undo command"),
    ({"command": "run", "state": "INTERRUPTED"}, "undo it with the undo command, or fix the cause and run again"),
    ({"command": "undo", "state": "FAILED"}, "undo it with the undo command, or fix the cause and run again"),
    ({"command": "run", "state": "SUCCEEDED"}, None),
    ({"command": "run", "state": "FAILED", "snapshot": None}, "nothing was changed (no snapshot was written); "
                                                               "fix the cause and run again"),
    ({"command": "deploy", "state": "ROLLBACK_COMPLETED"}, "the services are back on the images they ran before; "
                                                           "fix the release and deploy again"),
    ({"command": "run", "state": "NOTHING_TO_DO"}, None),
])
def test_next_step(changes: dict[str, Any], expected: str | None) -> None:
    report = _failed_report(**{"snapshot": "s.json", **changes, "state": State(changes["state"])})
    if report.state == State.NOTHING_TO_DO:
        report = _first(report, status=Status.UNCHANGED)
    assert next_step(report) == expected


def _settings(**values: Any) -> SlackSettings:
    return SlackSettings(**values)


def test_make_notifier_token_without_channel_warns_once() -> None:
    warn = Warnings()
    notifier = factory.notifier(_settings(token=Secret(TOKEN)), warn)
    assert isinstance(notifier, Silent)
    assert warn == ["SLACK_BOT_TOKEN is set but no channel (--slack-channel or SLACK_CHANNEL); Slack messages are off"]
    notifier.finished(_report())  # says nothing, raises nothing


@pytest.mark.parametrize(("command", "state", "status"), [
    ("run", State.SUCCEEDED, Status.SUCCEEDED), ("run", State.FAILED, Status.FAILED),
    ("run", State.INTERRUPTED, Status.FAILED), ("undo", State.FAILED, Status.FAILED),
    ("deploy", State.FAILED, Status.FAILED), ("deploy", State.ROLLBACK_COMPLETED, Status.ROLLED_BACK),
    ("deploy", State.ROLLBACK_FAILED, Status.ROLLBACK_FAILED),
])
def test_the_final_message_of_a_run_that_changed_something_ends_with_its_undo_line(
        command: str, state: State, status: Status) -> None:
    from fleetrewind.notify.slack import finished_message

    report = _first(_report(command=command, state=state, exit_code=0 if state == State.SUCCEEDED else 1),
                    status=status)
    message = finished_message(report, BUILD)

    undo = report.undo
    assert undo is not None and undo.startswith("rollback.py undo --snapshot=dump/snapshot-20261121T200000Z.json")
    assert message.text.endswith(f" To undo: {undo}") and message.text.count(undo) == 1  # one wording, once
    holding = [block for block in message.blocks if undo in str(block)]
    assert holding == [{"type": "section", "text": {"type": "mrkdwn", "text": f"*To undo:* `{undo}`"}}]


def test_a_run_that_started_no_deployment_offers_no_undo() -> None:
    from fleetrewind.notify.slack import finished_message

    report = _first(_report(state=State.FAILED, exit_code=3), status=Status.NOT_STARTED, deployment_id=None)

    assert report.undo is None
    assert "To undo" not in str(finished_message(report, BUILD).blocks)
