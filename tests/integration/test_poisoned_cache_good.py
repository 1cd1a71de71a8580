"""A poisoned version cache never deploys under --rule=good either (issue #22, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_served_e2e import World, app_id, indexed, world  # noqa: F401

WORKER_204 = "2026-11-18T15:02:30"  # the version whose 204-master the good rule picks for the 19th


def test_an_edited_cache_entry_under_the_good_rule_is_refused_not_deployed(world: World) -> None:
    good = world.plan("--date=2026-11-19", "--rule=good")
    assert world.tag(good, "worker") == "204-master"
    [path] = list(Path(world.env["ROLLBACK_CACHE_DIR"]).rglob("marathon-*.json"))
    data = json.loads(path.read_text())
    entries = data["apps"][app_id("worker")]
    key = next(k for k in entries if k.startswith(WORKER_204))
    entries[key]["image"] = world.ix.image("worker", "999-evil")
    path.write_text(json.dumps(data))
    assert world.tag(world.plan("--date=2026-11-19", "--rule=good"), "worker") == "999-evil"  # plan believes it

    code, out, err = world.cli("run", "--date=2026-11-19", "--env=prod", f"--dump={world.dump}", "--rule=good",
                               "--timeout=5")
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert "version cache" in last and "worker" in last and "999-evil" in last
    assert [r for r in world.sim.requests if r["method"] == "PUT"] == []
    assert not path.exists()
