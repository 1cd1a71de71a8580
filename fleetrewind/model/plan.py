"""The plan as a value: per service, what it runs, what it gets, and why; the rules and policies that shape it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from .release import Release
from .checks import Check
from .evidence import Evidence, Verdict
from .scope import Scope


class Action(StrEnum):
    """What a plan does to one service (plan --json's ``action``)."""

    CHANGE = "change"
    UNCHANGED = "unchanged"
    NO_RELEASE = "no-release"
    EXCLUDED = "excluded"  # outside --only/--exclude/pinned: shown, never touched
    NO_HISTORY = "no-history"  # the ran rule: Marathon's history does not reach the date
    NO_GOOD_VERSION = "no-good-version"  # the good rule: every version held by then failed or was short-lived


CHANGE, UNCHANGED, NO_RELEASE = Action.CHANGE, Action.UNCHANGED, Action.NO_RELEASE
EXCLUDED, NO_HISTORY, NO_GOOD_VERSION = Action.EXCLUDED, Action.NO_HISTORY, Action.NO_GOOD_VERSION
LEFT = (NO_RELEASE, NO_HISTORY, NO_GOOD_VERSION)  # left as it is: no target to go to


class Rule(StrEnum):
    """Which witness picks the images (``--rule``, config ``rule``)."""

    BUILT = "built"  # the newest release built at or before the moment
    RAN = "ran"  # the definition Marathon held at the moment
    GOOD = "good"  # the newest version held by the moment that served healthy (model/evidence.py)


BUILT, RAN, GOOD = Rule.BUILT, Rule.RAN, Rule.GOOD


class FailurePolicy(StrEnum):
    """What a failed wave does to the rest of the run (``--on-failure``, config ``on_failure``)."""

    STOP = "stop"
    CONTINUE = "continue"
    REVERT = "revert"


@dataclass(frozen=True)
class Step:
    service: str
    app_id: str | None
    current: str | None
    target: str | None
    action: Action
    reason: str
    wave: int = 0
    release: Release | None = None
    pinned: str | None = None  # the pin's reason ("" without one) when the config pins the service
    evidence: str = ""                  # one line: which release or which stored version chose the target
    restore_version: str | None = None  # --with-config: the stored version deployed again whole
    verdict: Verdict | None = None      # what served: the target's verdict where Marathon's history tells
    proof: tuple[Evidence, ...] = ()    # the verdict's evidence (source, when, what)


@dataclass(frozen=True)
class Plan:
    env: str
    date: str | None
    steps: tuple[Step, ...]
    waves: tuple[tuple[str, ...], ...] = field(default=())
    scope: Scope = Scope()
    rule: Rule = BUILT
    checks: tuple[Check, ...] = ()
    at: dt.datetime | None = None  # --at: the moment (else the end of ``date``)

    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action == CHANGE]

    def excluded(self) -> list[Step]:
        return [s for s in self.steps if s.action == EXCLUDED]

    def in_scope(self) -> list[str]:
        return [s.service for s in self.steps if s.action != EXCLUDED]

    def resulting_images(self) -> dict[str, str | None]:
        """The whole fleet once the plan is carried out: targets where it changes, what runs elsewhere.

        This, not the changing services alone, is the set that must be able to run together.
        """
        return {s.service: s.target if s.action == CHANGE else s.current for s in self.steps}

    def step(self, service: str) -> Step:
        return next(s for s in self.steps if s.service == service)

    def wave_steps(self) -> list[list[Step]]:
        """The changing steps, grouped by wave, in deployment order."""
        by_wave: dict[int, list[Step]] = {}
        for step in self.changes():
            by_wave.setdefault(step.wave, []).append(step)
        return [by_wave[w] for w in sorted(by_wave)]
