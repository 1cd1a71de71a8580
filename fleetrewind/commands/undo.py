"""``undo``: put back the images a snapshot recorded."""

from __future__ import annotations

from ..marathon.appmap import order_waves
from .. import factory
from ..console import Console
from ..errors import UsageError
from ..marathon.fleet import load_apps
from ..planning.build import plan_for_images, plan_for_versions
from .changing import print_result, rollout as start_rollout
from ..model.plan import FailurePolicy
from ..settings import Settings
from ..rollout.snapshot import read_snapshot


def execute(settings: Settings, console: Console) -> int:
    assert settings.snapshot
    path = settings.snapshot
    snapshot = read_snapshot(path)
    if not snapshot.images:
        raise UsageError(f"snapshot {path} records no images to put back")
    client = factory.marathon_client(settings)
    fleet = load_apps(client, {s: snapshot.app_ids[s] for s in snapshot.images}, parallel=settings.parallel)
    waves = order_waves(list(snapshot.images), settings.waves)
    if snapshot.whole:  # the run replaced whole definitions (--with-config): put those back whole
        plan = plan_for_versions(snapshot.versions, images=snapshot.images, current_versions=fleet.versions,
                                 current=fleet.images, app_ids=fleet.app_ids, waves=waves, env=snapshot.env,
                                 reason=f"undo to snapshot {path.name}", problems=fleet.problems)
    else:
        plan = plan_for_images(snapshot.images, current=fleet.images, app_ids=fleet.app_ids,
                               problems=fleet.problems, waves=waves, env=snapshot.env, reason=f"undo to snapshot {path.name}")
    console.info(f"undo: {len(plan.changes())} of {len(plan.steps)} services go back to {path.name}")
    rollout = start_rollout(settings, console, client, command="undo", env=snapshot.env)
    result = rollout.execute(plan, fleet, policy=FailurePolicy.CONTINUE)
    print_result(console, result, as_json=settings.json)
    return result.exit_code

