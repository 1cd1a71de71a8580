"""``undo``: put back the images a snapshot recorded."""

from __future__ import annotations

from pathlib import Path

from ..planning.build import order_waves
from .. import factory
from ..console import Console
from ..errors import RefusedError, UsageError
from ..planning.undo import changed_since
from ..platform.fleet import FleetState
from ..platform.protocol import Platform
from ..rollout.runleft import run_left
from ..planning.build import plan_for_images, plan_for_versions
from ..rollout.usecase import Result
from .changing import print_result
from ..settings.commands import UndoSettings
from ..rollout.snapshot import Snapshot, read_snapshot
from ..state.store import last_to_undo


def execute(settings: UndoSettings, console: Console) -> int:
    with factory.Clients(settings) as clients:
        result = _undo(settings, console, clients)
    print_result(console, result, as_json=settings.common.json)
    return result.exit_code


def _undo(settings: UndoSettings, console: Console, clients: factory.Clients) -> Result:
    store = clients.store()  # unreachable: exit 4, nothing read
    if settings.snapshot is not None:
        ref = str(settings.snapshot)
    else:
        ref = last_to_undo(store, str(settings.last_of))
        console.info(f"undo --last: the snapshot of the last change to {settings.last_of} is {ref}")
    path = Path(ref)  # its name; the snapshot itself may come from the store (a run of another machine)
    snapshot = read_snapshot(store, ref, check_app_id=factory.app_id_check())
    if not snapshot.images:
        raise UsageError(f"snapshot {ref} records no images to put back")
    platform = clients.platform()
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
    return clients.rollout(console, command="undo", env=snapshot.env, undoes=ref).execute(plan, fleet)


def _refuse_later_changes(settings: UndoSettings, console: Console, snapshot: Snapshot, fleet: FleetState) -> None:
    """An app someone changed after the run (a hotfix) is not reverted silently: refused unless --force."""
    assert snapshot.path
    path = Path(snapshot.path)  # a snapshot read from ZooKeeper has no report beside it here
    left = run_left(path)
    if left is None:
        console.warn(f"no report of the run that wrote {path.name} in {path.parent}: undo cannot "
                     "tell whether an app was changed since that run")
        return
    later = changed_since(snapshot.images, left, fleet.changed_at, fleet.app_ids, fleet.images)
    if not later:
        return
    listing = "; ".join(c.describe() for c in later)
    if not settings.rollout.force:
        raise RefusedError(f"changed since the run that wrote {path.name}: {listing}; undo would revert "
                           "that change: check with whoever made it, then pass --force to put the snapshot back all the same")
    for change in later:
        console.warn(f"--force: reverting a change made after the run: {change.describe()}")


def _holds(platform: Platform, snapshot: Snapshot, fleet: FleetState) -> dict[str, bool]:
    """service -> the app holds its stored definition (one read of that version when its version string differs)."""
    return {service: platform.holds(fleet.app_ids[service], app, version)
            for service, version in snapshot.versions.items()
            if (app := fleet.apps.get(service)) is not None and fleet.versions.get(service) != version}

