"""What Marathon's history says about a plan: one check, and the kinds there are."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CheckKind(StrEnum):
    """A check's ``kind`` as plan --json, the report and the matrix write it."""

    NEVER_RAN = "never-ran"
    NEVER_TOGETHER = "never-together"
    CONFIG_DRIFT = "config-drift"
    HISTORY_SHORT = "history-short"
    NEVER_HEALTHY = "never-healthy"      # --rule=ran: the target held then, but failed (never seen healthy)
    SHORT_LIVED = "short-lived"          # --rule=ran: the target held less than min_soak, never seen healthy
    FAILED_BEFORE = "failed-before"      # the target is an image this tool rolled back, or that failed when held
    UNPROVEN = "unproven"                # --rule=good: no healthy version; the newest unproven one is the target
    NO_GOOD_VERSION = "no-good-version"  # --rule=good: every version held by then failed or was short-lived


NEVER_RAN, NEVER_TOGETHER = CheckKind.NEVER_RAN, CheckKind.NEVER_TOGETHER
CONFIG_DRIFT, HISTORY_SHORT = CheckKind.CONFIG_DRIFT, CheckKind.HISTORY_SHORT
NEVER_HEALTHY, SHORT_LIVED, FAILED_BEFORE = CheckKind.NEVER_HEALTHY, CheckKind.SHORT_LIVED, CheckKind.FAILED_BEFORE
UNPROVEN, NO_GOOD_VERSION = CheckKind.UNPROVEN, CheckKind.NO_GOOD_VERSION
STRICT_KINDS = frozenset({NEVER_RAN, NEVER_TOGETHER, NEVER_HEALTHY, FAILED_BEFORE, NO_GOOD_VERSION})  # --strict refuses


@dataclass(frozen=True)
class Check:
    service: str      # a service, or two joined by ", " for never-together
    kind: CheckKind
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"service": self.service, "kind": str(self.kind), "detail": self.detail}
