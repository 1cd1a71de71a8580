"""The report's summary agrees with the exit code, and a failed run's reason names what failed (pure)."""

from __future__ import annotations

from fleetrewind.model.report import Outcome
from fleetrewind.model.states import FailureClass, Status
from fleetrewind.rollout.outcomes import summarise


def outcome(service: str, status: Status, failure: FailureClass | None = None, error: str | None = None) -> Outcome:
    return Outcome(service=service, app_id=f"/ds/prod/{service}", from_image="r/x:1", to_image="r/x:2",
                   action="change", reason="released that day", status=status, deployment_id="d-" + service,
                   failure_class=failure, error=error)


def test_a_reverted_run_counts_its_failure_and_its_rolled_back_services_not_changes() -> None:
    reverted = [outcome("api", Status.ROLLED_BACK, FailureClass.UNHEALTHY, "new tasks unhealthy after 600s"),
                outcome("web", Status.ROLLED_BACK)]

    summary = summarise(reverted)

    assert (summary.changed, summary.failed, summary.rolled_back) == (0, 1, 2)
    assert summary.line() == "0 changed, 1 failed, 2 rolled back, 0 unchanged, 0 skipped"


def test_a_run_without_a_rollback_keeps_its_summary_line() -> None:
    summary = summarise([outcome("api", Status.SUCCEEDED), outcome("web", Status.FAILED, FailureClass.DEADLINE)])

    assert (summary.changed, summary.failed, summary.rolled_back) == (1, 1, 0)
    assert summary.line() == "1 changed, 1 failed, 0 unchanged, 0 skipped"
    assert summary.as_dict()["rolled_back"] == 0
