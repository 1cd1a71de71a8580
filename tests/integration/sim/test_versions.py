"""Contract: app versions (Marathon's AppVersionsResource.scala)."""
from __future__ import annotations

import requests

from marathonsim import Simulator

from .conftest import FakeClock, MakeSim, docker_app, get_app, put_image

URL = "/v2/apps/shop/prod/api/versions"


def test_versions_newest_first_including_scale_changes(
        sim: Simulator, clock: FakeClock, http: requests.Session) -> None:
    """AppVersionsResource.scala: every stored version (config, scale, rollback); served newest first."""
    v1 = get_app(http, sim)["version"]
    v2 = put_image(http, sim, "registry.example.com/api:2-master").json()["version"]
    clock.advance(100)
    v3 = http.put(f"{sim.url}/v2/apps/shop/prod/api", json={"instances": 3}).json()["version"]
    assert http.get(sim.url + URL).json() == {"versions": [v3, v2, v1]}
    scaled = get_app(http, sim)["versionInfo"]
    assert scaled == {"lastScalingAt": v3, "lastConfigChangeAt": v2}  # AppsResource.replace: scale-only


def test_one_version_is_the_plain_definition(sim: Simulator, http: requests.Session) -> None:
    """AppVersionsResource.scala: no wrapper, no status fields, but version and versionInfo included."""
    v1 = get_app(http, sim)["version"]
    put_image(http, sim, "registry.example.com/api:2-master")
    old = http.get(f"{sim.url}{URL}/{v1}").json()
    assert old["id"] == "/shop/prod/api" and old["version"] == v1 and "versionInfo" in old
    assert old["container"]["docker"]["image"] == "registry.example.com/api:1-master"
    assert not {"app", "tasksRunning", "deployments", "tasks"} & set(old)


def test_unknown_version_and_app_are_404(sim: Simulator, http: requests.Session) -> None:
    """AppVersionsResource.scala: unknown version -> "App '/x' does not exist in version <ts>"."""
    r = http.get(f"{sim.url}{URL}/2001-01-01T00:00:00.000Z")
    assert r.status_code == 404
    assert r.json() == {"message": "App '/shop/prod/api' does not exist in version "
                                   "2001-01-01T00:00:00.000Z"}
    assert http.get(f"{sim.url}/v2/apps/nope/versions").status_code == 404


def test_at_most_50_versions_after_a_gc_pass(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """GcActor.scala: --zk_max_versions (50) per app, enforced by a periodic pass that a finished
    deployment asks for and that then rests --storage_compaction_interval (30 s): in between, a
    list may exceed the cap; the pass drops the oldest."""
    sim = make_sim([docker_app(instances=0)])
    first = get_app(http, sim)["version"]
    for i in range(55):  # no instances: each deployment ends at once and asks for a pass
        r = http.put(f"{sim.url}/v2/apps/shop/prod/api", json={"cmd": f"run {i}"},
                     params={"force": "true"})
        assert r.status_code == 200
    versions = http.get(sim.url + URL).json()["versions"]
    assert len(versions) == 56 and first in versions  # the pass the first end ran found nothing; it rests
    clock.advance(30)
    http.put(f"{sim.url}/v2/apps/shop/prod/api", json={"cmd": "later"}, params={"force": "true"})
    versions = http.get(sim.url + URL).json()["versions"]
    assert len(versions) == 50 and first not in versions
    assert versions[0] == get_app(http, sim)["version"]


def test_refused_change_still_leaves_a_version(sim: Simulator, http: requests.Session) -> None:
    """AppVersionsResource.scala: versions are stored before the lock check, so a 409 can leave an
    entry that was never deployed."""
    put_image(http, sim, "registry.example.com/api:2-master")
    assert put_image(http, sim, "registry.example.com/api:3-master").status_code == 409
    versions = http.get(sim.url + URL).json()["versions"]
    assert len(versions) == 3
    never = http.get(f"{sim.url}{URL}/{versions[0]}").json()
    assert never["container"]["docker"]["image"].endswith(":3-master")
    assert get_app(http, sim)["container"]["docker"]["image"].endswith(":2-master")


def test_a_deleted_apps_versions_stay_until_a_gc_pass(
        make_sim: MakeSim, clock: FakeClock, http: requests.Session) -> None:
    """GcActor.scala: deleting an app leaves its versions stored; a pass collects the apps no kept
    root refers to. Re-created before that, the app lists its old versions again."""
    sim = make_sim([docker_app(), docker_app(id="/shop/prod/web", instances=0)], max_versions=2,
                   gc_interval=0)
    old = get_app(http, sim)["version"]
    assert http.delete(f"{sim.url}/v2/apps/shop/prod/api").status_code == 200
    assert http.get(sim.url + URL).status_code == 404  # the app is gone...
    assert http.get(f"{sim.url}{URL}/{old}").status_code == 200  # ...its stored version is not
    http.put(f"{sim.url}/v2/apps/shop/prod/api", json=docker_app(instances=0))
    assert old in http.get(sim.url + URL).json()["versions"]
    assert http.delete(f"{sim.url}/v2/apps/shop/prod/api").status_code == 200
    for i in range(3):  # other changes end (no instances): passes run, over the cap of 2 roots
        clock.advance(1)
        http.put(f"{sim.url}/v2/apps/shop/prod/web", json={"cmd": f"run {i}"})
    assert http.get(f"{sim.url}{URL}/{old}").status_code == 404
    http.put(f"{sim.url}/v2/apps/shop/prod/api", json=docker_app(instances=0))
    assert len(http.get(sim.url + URL).json()["versions"]) == 1
