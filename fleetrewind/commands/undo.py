"""``undo``: put back the images a snapshot recorded."""

from __future__ import annotations

from ..planning.build import order_waves
from .. import factory
from ..console import Console
from ..errors import RefusedError, UsageError
from ..planning.undo import changed_since
from ..platform.fleet import FleetState
from ..platform.protocol import Platform
from ..rollout.runleft import run_left
from ..planning.build import plan_for_images, plan_for_versions
from .changing import print_result, rollout as start_rollout
from ..model.plan import FailurePolicy
from ..settings.commands import UndoSettings
from ..rollout.snapshot import Snapshot, read_snapshot


def execute(settings: UndoSettings, console: Console) -> int:
    path = settings.snapshot
    snapshot = read_snapshot(path)
    if not snapshot.images:
        raise UsageError(f"snapshot {path} records no images to put back")
    platform = factory.platform(settings.marathon)
    fleet = platform.apps({s: snapshot.app_ids[s] for s in snapshot.images})
    _refuse_later_changes(settings, console, snapshot, fleet)
    waves = order_waves(list(snapshot.images), settings.rollout.waves)
    if snapshot.whole:  # the run replaced whole definitions (--with-config): put those back whole
        plan = plan_for_versions(snapshot.versions, images=snapshot.images, current_versions=fleet.versions,
                                 current=fleet.images, app_ids=fleet.app_ids, waves=waves, env=snapshot.env,
                                 reason=f"undo to snapshot {path.name}", problems=fleet.problems,
                                 holds=_holds(platform, snapshot, fleet))
    else:
        plan = plan_for_images(snapshot.images, current=fleet.images, app_ids=fleet.app_ids,
                               problems=fleet.problems, waves=waves, env=snapshot.env, reason=f"undo to snapshot {path.name}")
    console.info(f"undo: {len(plan.changes())} of {len(plan.steps)} services go back to {path.name}")
    rollout = start_rollout(settings, console, platform, command="undo", env=snapshot.env)
    result = rollout.execute(plan, fleet, policy=FailurePolicy.CONTINUE)
    print_result(console, result, as_json=settings.common.json)
    return result.exit_code


def _refuse_later_changes(settings: UndoSettings, console: Console, snapshot: Snapshot, fleet: FleetState) -> None:
    """An app someone changed after the run (a hotfix) is not reverted silently: refused unless --force."""
    assert snapshot.path
    left = run_left(snapshot.path)
    if left is None:
        console.warn(f"no report of the run that wrote {snapshot.path.name} in {snapshot.path.parent}: undo cannot "
                     "tell whether an app was changed since that run")
        return
    later = changed_since(snapshot.images, left, fleet.changed_at, fleet.app_ids, fleet.images)
    if not later:
        return
    listing = "; ".join(c.describe() for c in later)
    if not settings.rollout.force:
        raise RefusedError(f"changed since the run that wrote {snapshot.path.name}: {listing}; undo would revert "
                           "that change: check with whoever made it, then pass --force to put the snapshot back all the same")
    for change in later:
        console.warn(f"--force: reverting a change made after the run: {change.describe()}")


def _holds(platform: Platform, snapshot: Snapshot, fleet: FleetState) -> dict[str, bool]:
    """service -> the app holds its stored definition (one read of that version when its version string differs)."""
    return {service: platform.holds(fleet.app_ids[service], app, version)
            for service, version in snapshot.versions.items()
            if (app := fleet.apps.get(service)) is not None and fleet.versions.get(service) != version}

