"""The plan file, pure: written and read back whole, altered or foreign files refused, moved apps named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fleetrewind.errors import RefusedError, UsageError
from fleetrewind.model.release import Release
from fleetrewind.model.checks import Check
from fleetrewind.model.plan import CHANGE, EXCLUDED, UNCHANGED, Plan, Step
from fleetrewind.planning.planfile import PlanInputs, SavedPlan, index_digest, read_plan, refuse_stale, write_plan
from fleetrewind.model.scope import Scope

BUILT = dt.datetime(2026, 11, 19, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
RELEASE = Release("api", BUILT, "512-master", "sha256:" + "a" * 64, "reg.example/api:512-master")
PLAN = Plan(env="prod", date="2026-11-19", rule="ran", waves=(("api", "auth"), ("web",)),
            scope=Scope(only=("api", "auth", "web"), exclude=("web",), pinned={"auth": "frozen for audit"}),
            checks=(Check("api", "config-drift", "env changed"),),
            steps=(Step("api", "/ds/prod/api", "reg.example/api:515-master", "reg.example/api:512-master", CHANGE,
                        "released that day", 0, RELEASE, evidence="built 2026-11-19 11:00", restore_version="v1"),
                   Step("auth", "/ds/prod/auth", "reg.example/auth:405-master", "reg.example/auth:405-master",
                        UNCHANGED, "unchanged", 0, pinned="frozen for audit"),
                   Step("web", None, None, None, EXCLUDED, "named in --exclude", 1)))
INPUTS = PlanInputs(index_digest="sha256:" + "b" * 64, versions={"api": "2026-11-20T10:00:00.000Z", "auth": None},
                    rule="ran", moment={"date": "2026-11-19"}, scope=PLAN.scope.as_dict(),
                    flags={"strict": True, "with_config": True, "pin_digest": False})


def saved(tmp_path: Path) -> Path:
    return write_plan(tmp_path / "plan.json", SavedPlan(plan=PLAN, inputs=INPUTS, created_at="now", created_by="jane"))


def test_a_plan_file_reads_back_as_the_plan_it_was_written_from(tmp_path: Path) -> None:
    back = read_plan(saved(tmp_path))

    assert back.plan == PLAN
    assert back.plan.steps[0].release is not None and back.plan.steps[0].release.created == BUILT
    assert back.inputs == INPUTS and back.created_by == "jane"


@pytest.mark.parametrize("edit", [
    lambda d: d["plan"]["steps"][0].update(target="reg.example/api:999-master"),
    lambda d: d["inputs"]["versions"].update(api="2026-12-01T00:00:00.000Z"),
    lambda d: d.pop("digest"),
])
def test_any_edit_makes_the_file_refused_as_altered(tmp_path: Path, edit: object) -> None:
    path = saved(tmp_path)
    document = json.loads(path.read_text())
    edit(document)  # type: ignore[operator]
    path.write_text(json.dumps(document))

    with pytest.raises(UsageError, match="altered"):
        read_plan(path)


@pytest.mark.parametrize("text", ["{}", "[]", "not json", '{"format": 2, "env": "prod"}'])
def test_a_file_that_is_not_a_plan_is_exit_2(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)

    with pytest.raises(UsageError, match="is not a plan file") as err:
        read_plan(path)
    assert err.value.exit_code == 2


def test_a_plan_whose_app_moved_is_refused_naming_the_app_and_its_version_now(tmp_path: Path) -> None:
    back = read_plan(saved(tmp_path))
    refuse_stale(back, {"api": "2026-11-20T10:00:00.000Z", "auth": None}, INPUTS.index_digest)  # nothing moved

    with pytest.raises(RefusedError) as err:
        refuse_stale(back, {"api": "2026-11-21T09:00:00.000Z", "auth": None}, INPUTS.index_digest)
    assert err.value.exit_code == 3
    assert "api (/ds/prod/api) is at version 2026-11-21T09:00:00.000Z, planned from 2026-11-20T10:00:00.000Z" in str(err.value)
    assert "auth" not in str(err.value)
    with pytest.raises(RefusedError, match="rollback.json changed"):
        refuse_stale(back, {"api": "2026-11-20T10:00:00.000Z", "auth": None}, "sha256:" + "c" * 64)


def test_the_index_digest_ignores_when_get_ran_but_not_what_it_found() -> None:
    document = {"format": 2, "env": "prod", "generated_at": "2026-11-21T20:00:00Z", "ran": {}, "rollbacks": {"d": []}}

    assert index_digest(document) == index_digest({**document, "generated_at": "2026-12-01T00:00:00Z", "ran": {"x": 1}})
    assert index_digest(document) != index_digest({**document, "rollbacks": {}})
