"""``undo``: put back the images a snapshot recorded."""

from __future__ import annotations

from ..marathon.appmap import order_waves
from .. import factory
from ..console import Console
from ..errors import MarathonError, RefusedError, UsageError
from ..marathon.client import MarathonClient
from ..marathon.fleet import FleetState
from ..planning.undo import changed_since, same_definition
from ..rollout.runleft import run_left
from ..marathon.fleet import load_apps
from ..planning.build import plan_for_images, plan_for_versions
from .changing import print_result, rollout as start_rollout
from ..model.plan import FailurePolicy
from ..settings import Settings
from ..rollout.snapshot import Snapshot, read_snapshot


def execute(settings: Settings, console: Console) -> int:
    assert settings.snapshot
    path = settings.snapshot
    snapshot = read_snapshot(path)
    if not snapshot.images:
        raise UsageError(f"snapshot {path} records no images to put back")
    client = factory.marathon_client(settings)
    fleet = load_apps(client, {s: snapshot.app_ids[s] for s in snapshot.images}, parallel=settings.parallel)
    _refuse_later_changes(settings, console, snapshot, fleet)
    waves = order_waves(list(snapshot.images), settings.waves)
    if snapshot.whole:  # the run replaced whole definitions (--with-config): put those back whole
        plan = plan_for_versions(snapshot.versions, images=snapshot.images, current_versions=fleet.versions,
                                 current=fleet.images, app_ids=fleet.app_ids, waves=waves, env=snapshot.env,
                                 reason=f"undo to snapshot {path.name}", problems=fleet.problems,
                                 holds=_holds(client, snapshot, fleet))
    else:
        plan = plan_for_images(snapshot.images, current=fleet.images, app_ids=fleet.app_ids,
                               problems=fleet.problems, waves=waves, env=snapshot.env, reason=f"undo to snapshot {path.name}")
    console.info(f"undo: {len(plan.changes())} of {len(plan.steps)} services go back to {path.name}")
    rollout = start_rollout(settings, console, client, command="undo", env=snapshot.env)
    result = rollout.execute(plan, fleet, policy=FailurePolicy.CONTINUE)
    print_result(console, result, as_json=settings.json)
    return result.exit_code



def _refuse_later_changes(settings: Settings, console: Console, snapshot: Snapshot, fleet: FleetState) -> None:
    """An app someone changed after the run (a hotfix) is not reverted silently: refused unless --force."""
    assert snapshot.path
    left = run_left(snapshot.path)
    if left is None:
        console.warn(f"no report of the run that wrote {snapshot.path.name} in {snapshot.path.parent}: undo cannot "
                     "tell whether an app was changed since that run")
        return
    later = changed_since(snapshot.images, left, fleet.apps, fleet.app_ids, fleet.images)
    if not later:
        return
    listing = "; ".join(c.describe() for c in later)
    if not settings.force:
        raise RefusedError(f"changed since the run that wrote {snapshot.path.name}: {listing}; undo would revert "
                           "that change: check with whoever made it, then pass --force to put the snapshot back all the same")
    for change in later:
        console.warn(f"--force: reverting a change made after the run: {change.describe()}")


def _holds(client: MarathonClient, snapshot: Snapshot, fleet: FleetState) -> dict[str, bool]:
    """service -> the app holds its stored definition (one read of that version when its version string differs)."""
    holds: dict[str, bool] = {}
    for service, version in snapshot.versions.items():
        app = fleet.apps.get(service)
        if app is None or fleet.versions.get(service) == version:
            continue
        try:
            holds[service] = same_definition(app, client.app_version(fleet.app_ids[service], version))
        except MarathonError:  # not readable (collected): restoring it says why
            holds[service] = False
    return holds
