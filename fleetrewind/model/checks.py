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


NEVER_RAN, NEVER_TOGETHER = CheckKind.NEVER_RAN, CheckKind.NEVER_TOGETHER
CONFIG_DRIFT, HISTORY_SHORT = CheckKind.CONFIG_DRIFT, CheckKind.HISTORY_SHORT
STRICT_KINDS = frozenset({NEVER_RAN, NEVER_TOGETHER})  # what --strict refuses


@dataclass(frozen=True)
class Check:
    service: str      # a service, or two joined by ", " for never-together
    kind: CheckKind
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"service": self.service, "kind": str(self.kind), "detail": self.detail}
