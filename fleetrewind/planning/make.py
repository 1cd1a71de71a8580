"""The plan use case, one for every command that plans: a request -> the plan, with what it read.

``plan``, ``run`` (a date, ``--to=last-good`` or ``--plan``) and ``deploy`` go through
:func:`make_plan`, the request's target choosing how the targets are found; ``diff`` and
``status`` read rollback.json through :func:`load_index`. Only the platform protocol is read
here, and only once there is something to plan: an empty selection needs no scheduler.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

from ..errors import RefusedError, RollbackError, UnreachableError, UsageError
from ..model.journal import RunEntry
from ..model.evidence import DEFAULT_MIN_SOAK
from ..model.plan import BUILT, Plan, Rule
from ..model.scope import Scope, Selection
from ..platform.fleet import App, FleetState, Peek
from ..platform.protocol import Platform
from ..platform.timeline import Failed
from ..model.imageref import parse_image, retarget
from ..releases.index import Index, check_offered, read_index
from .build import LeftOut, order_waves, plan_for_images, scoped
from . import planfile
from .checks import day_end
from .scope import check_known, select
from .served import rolled_back_checks
from .witness import Evidence, chosen_versions, plan_by_rule


@dataclass(frozen=True)
class LastGood:
    """run --to=last-good: the images of the environment's last run or deploy that ended well (the journal's)."""


@dataclass(frozen=True)
class Release:
    """deploy: each service on its new image (``svc=tag`` keeps the running image's repository)."""

    images: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Approved:
    """run --plan: exactly the plan saved in this file, or nothing (exit 3) when its inputs moved since."""

    path: Path


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """What a command asks to plan: which environment goes back to which moment, under which rule, how much of it."""

    env: str
    target: LastGood | Release | Approved | None = None  # None: rollback.json's ``date`` (or ``moment``)
    date: str = ""                         # a day rollback.json offers
    moment: dt.datetime | None = None      # a timezone-aware instant; None: the end of ``date`` in the index's zone
    rule: Rule = BUILT
    scope: Scope = Scope()
    strict: bool = False                   # never-ran / never-together refuse (exit 3)
    with_config: bool = False              # restore whole definitions (the ran rule)
    pin_digest: bool = False
    waves: tuple[tuple[str, ...], ...] = ()
    min_soak: float = DEFAULT_MIN_SOAK     # seconds a version must be seen healthy to be healthy (rule good)
    confirm: bool = False                  # run: every target the version cache chose is confirmed first

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

    def last_good(self, env: str) -> RunEntry:
        """The journal's newest entry of ``env`` that ended well (exit 2 when there is none)."""

    def index_digest(self) -> str | None:
        """rollback.json's digest as it is now (None when there is none)."""


@dataclass(frozen=True)
class Planned:
    plan: Plan
    index: Index | None  # rollback.json, when the plan was made of it (its matrix is then written beside it)
    selection: Selection
    fleet: FleetState | None  # None when nothing was left to plan (the scheduler was not read)
    date: str | None = None  # the day the report and Slack name
    note: str = ""  # where the plan came from, for stderr (the last good state, the approved plan file)
    recheck: Callable[[], FleetState] | None = None  # run --plan: the fleet read again, a stale plan refused


def make_plan(request: PlanRequest, platform: Callable[[], Platform], store: Inputs) -> Planned:
    """The plan the request's target asks for: rollback.json's date (or moment), the journal's last good
    state, a release's new images, or an approved plan file."""
    target = request.target
    if isinstance(target, LastGood):
        return _last_good(request, platform, store)
    if isinstance(target, Release):
        return _release(request, target, platform(), store)
    if isinstance(target, Approved):
        return _approved(request, target, platform(), store)
    return _dated(request, platform, store)


def _dated(request: PlanRequest, platform: Callable[[], Platform], store: Inputs) -> Planned:
    """rollback.json, the scope, the fleet and its history (the left-out apps' too), the plan by rule, its checks.

    ``request.confirm`` (run): every target the version cache chose is confirmed with the scheduler first."""
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
    if request.confirm:
        scheduler.confirm(chosen_versions(plan, history))
    return Planned(plan, index, selection, fleet, date=request.date)


def _last_good(request: PlanRequest, platform: Callable[[], Platform], store: Inputs) -> Planned:
    """Each selected service on the image the journal's last good state recorded, the others shown as left out."""
    env = request.env
    entry = store.last_good(env)
    recorded: dict[str, str] = dict(entry.images)
    selection = select_services(request.scope, list(recorded), source="the ledger's last good state", pins=False)
    if not selection.selected:
        empty = scoped(Plan(env=env, date=None, steps=()), selection, request.scope)
        return Planned(empty, None, selection, None)
    images = {s: recorded[s] for s in selection.selected}
    plan, fleet = plan_images(images, platform(), env=env, scope=request.scope, selection=selection,
                              waves=request.waves, reason=f"last good state ({entry.at}, {entry.command})")
    return Planned(plan, None, selection, fleet, note=f"last good state of {env}: {entry.at} by {entry.actor}")


def _release(request: PlanRequest, release: Release, platform: Platform, store: Inputs) -> Planned:
    """deploy's plan, with ``failed-before`` for each new image this tool once rolled back."""
    plan, fleet = plan_release(release.images, platform, env=request.env, waves=request.waves)
    deployed = store.evidence(request.env).deployed
    plan = replace(plan, checks=plan.checks + rolled_back_checks(plan, deployed, tz=dt.timezone.utc))
    return Planned(plan, None, Selection(selected=tuple(fleet.app_ids), left_out={}), fleet)


def _approved(request: PlanRequest, approved: Approved, platform: Platform, store: Inputs) -> Planned:
    """The saved plan, once the fleet and rollback.json are what it was made from; ``recheck`` reads them again."""
    saved = planfile.read_plan(approved.path)
    plan = saved.plan
    if plan.env != request.env:
        raise UsageError(f"--plan {saved.path} was made for env {plan.env!r}, not {request.env!r}")
    app_ids = {s.service: s.app_id for s in plan.steps if s.service in saved.inputs.versions and s.app_id}

    def current() -> FleetState:  # before the lock, and again once it is held
        try:
            fleet = platform.apps(app_ids)
        except UnreachableError:
            raise
        except RollbackError as err:
            raise RefusedError(f"the plan {saved.path.name} is stale: {err}; nothing was changed; "
                               "make a new plan and approve it again") from None
        planfile.refuse_stale(saved, fleet.versions, store.index_digest())
        return fleet

    fleet = current()
    note = (f"run --plan: {saved.path} (made {saved.created_at} by {saved.created_by}): "
            f"{len(plan.changes())} of {len(plan.steps)} services change; nothing moved since")
    return Planned(plan, None, Selection(selected=tuple(app_ids), left_out={}), fleet, date=plan.date, note=note, recheck=current)


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
