"""The plan use case, one for every command that plans: a request -> the plan, with what it read.

``plan`` and ``run --date`` go through :func:`make_plan`; ``run --to=last-good`` plans the
journal's images with :func:`plan_images`, ``deploy`` its new images with :func:`plan_release`;
``diff`` and ``status`` read rollback.json through :func:`load_index`. Only the platform protocol
is read here, and only once there is something to plan: an empty selection needs no scheduler.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

from ..errors import UsageError
from ..model.evidence import DEFAULT_MIN_SOAK
from ..model.plan import BUILT, Plan, Rule
from ..model.scope import Scope, Selection
from ..platform.fleet import App, FleetState, Peek
from ..platform.protocol import Platform
from ..platform.timeline import Failed
from ..model.imageref import parse_image, retarget
from ..releases.index import Index, check_offered, read_index
from .build import LeftOut, order_waves, plan_for_images, scoped
from .checks import day_end
from .scope import check_known, select
from .witness import Evidence, chosen_versions, plan_by_rule


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """What a command asks to plan: which environment goes back to which moment, under which rule, how much of it."""

    env: str
    date: str                              # a day rollback.json offers
    moment: dt.datetime | None = None      # a timezone-aware instant; None: the end of ``date`` in the index's zone
    rule: Rule = BUILT
    scope: Scope = Scope()
    strict: bool = False                   # never-ran / never-together refuse (exit 3)
    with_config: bool = False              # restore whole definitions (the ran rule)
    pin_digest: bool = False
    waves: tuple[tuple[str, ...], ...] = ()
    min_soak: float = DEFAULT_MIN_SOAK     # seconds a version must be seen healthy to be healthy (rule good)

    def at(self, tz: dt.tzinfo) -> dt.datetime:
        """The instant the fleet goes back to."""
        return self.moment or day_end(self.date, tz)

    def day(self, tz: dt.tzinfo) -> str:
        """The calendar day of the moment in ``tz`` (rollback.json's zone)."""
        return self.moment.astimezone(tz).date().isoformat() if self.moment else self.date


class Inputs(Protocol):
    """Where planning reads what is not the scheduler's: the date index, and the tool's own journal."""

    def index(self, env: str, date: str | None) -> Index: ...

    def failed(self, env: str) -> Mapping[str, Sequence[Failed]]:
        """Per service, the images this tool deployed that failed and were put back."""

    def evidence(self, env: str) -> Evidence:
        """What the journal says served: this tool's deployments and the observations of get."""


@dataclass(frozen=True)
class Planned:
    plan: Plan
    index: Index
    selection: Selection
    fleet: FleetState | None  # None when nothing was left to plan (the scheduler was not read)


def make_plan(request: PlanRequest, platform: Callable[[], Platform], store: Inputs, *,
              confirm: bool = False) -> Planned:
    """rollback.json, the scope, the fleet and its history (the left-out apps' too), the plan by rule, its checks.

    ``confirm`` (run): every target the version cache chose is confirmed with the scheduler first."""
    # under --rule=ran or good any calendar day (or --at moment) may be asked: the history answers it
    index = store.index(request.env, request.date if request.rule == BUILT else None)
    selection = select_services(request.scope, index.services)
    if not selection.selected:
        empty = scoped(Plan(env=request.env, date=request.date, steps=(), rule=request.rule), selection, request.scope)
        return Planned(empty, index, selection, None)
    scheduler = platform()
    fleet = scheduler.fleet(selection.selected)
    left_out = scheduler.peek(list(selection.left_out)) if selection.left_out else {}
    app_ids, apps = history_apps(fleet, left_out)
    history = scheduler.history(app_ids, apps, failed=store.failed(request.env))
    now = dt.datetime.now(dt.timezone.utc)
    live = {s: seen for s, app in fleet.apps.items() if (seen := scheduler.observe(s, app, now)) is not None}
    evidence = replace(store.evidence(request.env), live=live)
    plan = plan_by_rule(index, fleet, request.day(index.tz), history, rule=request.rule,
                        with_config=request.with_config, waves=request.waves, pin_digest=request.pin_digest,
                        scope=request.scope, selection=selection, left_out=shown(left_out), now=now,
                        at=request.moment, min_soak=request.min_soak, evidence=evidence)
    if confirm:
        scheduler.confirm(chosen_versions(plan, history))
    return Planned(plan, index, selection, fleet)


def plan_images(images: Mapping[str, str], platform: Platform, *, env: str, reason: str, scope: Scope,
                selection: Selection, waves: Sequence[Sequence[str]]) -> tuple[Plan, FleetState]:
    """Each selected service on a given image (run --to=last-good), the others shown as left out."""
    fleet = platform.fleet(list(images))
    plan = plan_for_images(images, current=fleet.images, app_ids=fleet.app_ids, problems=fleet.problems,
                           waves=order_waves(list(images), waves), env=env, reason=reason)
    left_out = platform.peek(list(selection.left_out)) if selection.left_out else {}
    return scoped(plan, selection, scope, left_out=shown(left_out)), fleet


def plan_release(images: Sequence[tuple[str, str]], platform: Platform, *, env: str,
                 waves: Sequence[Sequence[str]]) -> tuple[Plan, FleetState]:
    """deploy: each service on its new image (``--image=svc=tag`` keeps the running image's repository)."""
    services = [svc for svc, _ in images]
    fleet = platform.fleet(services)
    targets = {svc: target_image(fleet.images.get(svc), value) for svc, value in images}
    plan = plan_for_images(targets, current=fleet.images, app_ids=fleet.app_ids, problems=fleet.problems,
                           waves=order_waves(services, waves), env=env, reason="new release")
    return plan, fleet


def target_image(current: str | None, value: str) -> str:
    """``--image=api=512-master`` keeps the running image's host and repository; a full reference is taken as is."""
    if "/" in value or "@" in value or (":" in value and not current):
        return str(parse_image(value))
    if current is None:
        raise UsageError(f"--image {value!r}: the app runs no Docker image to take the registry and repository "
                         "from; give a full image reference (host/repo:tag)")
    return retarget(current, tag=value)


def load_index(dump: Path, *, env: str | None, date: str | None) -> Index:
    """rollback.json of ``dump``, made for ``env``, offering ``date`` (exit 2 otherwise)."""
    index = read_index(dump)
    if index.env != env:
        raise UsageError(f"{dump / 'rollback.json'} was made for env {index.env!r}, not {env!r}; "
                         f"run get --env={env} (or use another --dump)")
    if date:
        check_offered(index, date)
    return index


def select_services(scope: Scope, services: Sequence[str], *, source: str = "rollback.json",
                    pins: bool = True) -> Selection:
    """--only, --exclude and pinned applied to ``services``; a name outside them is exit 2 (no I/O yet)."""
    check_known(scope, services, source=source, pins=pins)
    return select(services, scope)


def shown(left_out: Mapping[str, Peek]) -> LeftOut:
    """service -> (app id, image it runs), for the plan's excluded steps."""
    return {service: (peek.app_id, peek.image) for service, peek in left_out.items()}


def history_apps(fleet: FleetState, left_out: Mapping[str, Peek]) -> tuple[dict[str, str], dict[str, App]]:
    """The selection's apps and the readable ones left out: the fleet after the run runs them all together,
    so the history is read for all of them (the checks judge the whole resulting set)."""
    others, other_apps = readable(left_out)
    return {**fleet.app_ids, **others}, {**fleet.apps, **other_apps}


def readable(peeks: Mapping[str, Peek]) -> tuple[dict[str, str], dict[str, App]]:
    """The peeked apps that could be read: their ids and definitions (what the history is read for)."""
    found = {s: p for s, p in peeks.items() if p.app_id is not None and p.app is not None}
    return ({s: str(p.app_id) for s, p in found.items()},
            {s: p.app for s, p in found.items() if p.app is not None})
