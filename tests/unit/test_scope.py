"""How much to touch: --only, --exclude and pinned services, from the pure rule to a run.

The rule is table-tested here; plan and run through ``main()`` against the real registry and the
Marathon simulator are in tests/integration/test_scope.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleetrewind.errors import UsageError
from fleetrewind.model.plan import CHANGE, EXCLUDED, Plan, Step
from fleetrewind.planning.build import render_table, scoped
from fleetrewind.model.scope import Scope
from fleetrewind.planning.scope import check_known, nothing_left, parse_pinned, parse_scope_flag, select


FLEET = ("api", "worker", "auth", "web")


@pytest.mark.parametrize("only, exclude, pinned, selected, left_out", [
    (None, (), {}, FLEET, {}),
    (("api",), (), {}, ("api",), {"worker": "not named in --only", "auth": "not named in --only",
                                  "web": "not named in --only"}),
    (("web", "api"), (), {}, ("api", "web"), {"worker": "not named in --only", "auth": "not named in --only"}),
    (None, ("web",), {}, ("api", "worker", "auth"), {"web": "named in --exclude"}),
    # --exclude applies after --only
    (("api", "web"), ("web",), {}, ("api",), {"worker": "not named in --only", "auth": "not named in --only",
                                              "web": "named in --exclude"}),
    # a pin keeps a service out...
    (None, (), {"auth": "hotfix 1234 must stay"}, ("api", "worker", "web"), {"auth": "pinned: hotfix 1234 must stay"}),
    (None, (), {"auth": ""}, ("api", "worker", "web"), {"auth": "pinned (name it in --only to change it)"}),
    # ... unless --only names it; --only naming others leaves it out as not named
    (("auth",), (), {"auth": "hotfix"}, ("auth",), {"api": "not named in --only", "worker": "not named in --only",
                                                    "web": "not named in --only"}),
    (("api",), (), {"auth": "hotfix"}, ("api",), {"worker": "not named in --only", "auth": "not named in --only",
                                                  "web": "not named in --only"}),
    # --exclude wins over --only naming a pinned service
    (("auth", "api"), ("auth",), {"auth": "hotfix"}, ("api",),
     {"worker": "not named in --only", "auth": "named in --exclude", "web": "not named in --only"}),
    (None, ("worker",), {"auth": "x"}, ("api", "web"), {"worker": "named in --exclude", "auth": "pinned: x"}),
    (("api",), ("api",), {}, (), {s: ("named in --exclude" if s == "api" else "not named in --only") for s in FLEET}),
], ids=["all", "only-one", "only-keeps-fleet-order", "exclude-one", "exclude-after-only", "pin-with-reason",
        "pin-without-reason", "pin-named-in-only", "pin-not-named-in-only", "exclude-beats-only-and-pin",
        "exclude-and-pin", "nothing-left"])
def test_the_selection_rule(only: tuple[str, ...] | None, exclude: tuple[str, ...], pinned: dict[str, str],
                            selected: tuple[str, ...], left_out: dict[str, str]) -> None:
    selection = select(FLEET, Scope(only=only, exclude=exclude, pinned=pinned))

    assert selection.selected == selected
    assert dict(selection.left_out) == left_out
    assert list(selection.left_out) == [s for s in FLEET if s in left_out]  # fleet order


@pytest.mark.parametrize("value, message", [
    ("", "--only must be a comma-separated list of service names"),
    ("api,,web", "--only must be a comma-separated list of service names (found: 'api,,web')"),
    ("api,", "--only must be a comma-separated list"),
    ("api,web,api", "--only names 'api' twice"),
    ("my api", "--only: 'my api' is not a valid service name"),
    ("../etc/passwd", "--only: '../etc/passwd' is not a valid service name"),
    ("/api", "--only: '/api' is not a valid service name"),
    ("api\\web", "is not a valid service name"),
    ("API", "'API' is not a valid service name"),
])
def test_bad_names_are_refused_with_the_value(value: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_scope_flag("--only", value)
    assert message in str(err.value)


def test_names_are_split_and_trimmed_and_paths_of_repositories_are_names() -> None:
    assert parse_scope_flag("--exclude", "api, t/shop/web") == ("api", "t/shop/web")
    assert parse_scope_flag("--exclude", None) is None


@pytest.mark.parametrize("raw, pinned", [
    (None, {}),
    (["auth", "web"], {"auth": "", "web": ""}),
    ({"payments": "hotfix 1234 must stay", "web": None}, {"payments": "hotfix 1234 must stay", "web": ""}),
])
def test_pinned_takes_a_list_or_a_map_of_reasons(raw: Any, pinned: dict[str, str]) -> None:
    assert parse_pinned(raw) == pinned


@pytest.mark.parametrize("raw, message", [
    ("auth", "config 'pinned' must be a list of services or a map of service to reason"),
    (["auth", "auth"], "config 'pinned' names 'auth' twice"),
    ({"auth": 3}, "config 'pinned' must name services with an optional reason string"),
    (["Auth Service"], "'Auth Service' is not a valid service name"),
])
def test_bad_pins_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_pinned(raw)
    assert message in str(err.value)


@pytest.mark.parametrize("scope, message", [
    (Scope(only=("api", "bogus")), "--only names bogus, not a service of rollback.json; "
                                   "known services: api, worker, auth, web"),
    (Scope(exclude=("nope", "zap")), "--exclude names nope, zap, not a service of rollback.json"),
    (Scope(pinned={"payments": "x"}), "config 'pinned' names payments, not a service of rollback.json"),
])
def test_a_name_outside_the_fleet_lists_the_known_ones(scope: Scope, message: str) -> None:
    with pytest.raises(UsageError) as err:
        check_known(scope, FLEET)
    assert str(err.value).startswith(message)


def test_pins_of_services_outside_a_partial_list_do_not_apply_when_told_so() -> None:
    scope = Scope(pinned={"payments": "hotfix"})
    check_known(scope, ("api", "web"), source="the ledger's last good state", pins=False)
    with pytest.raises(UsageError):
        check_known(scope, ("api", "web"))


def test_nothing_left_says_which_flags_left_nothing() -> None:
    scope = Scope(only=("api",), exclude=("api",))
    assert nothing_left(scope, select(FLEET, scope)) == \
        "nothing to do: --only=api and --exclude=api leave no service in scope"
    pinned = Scope(pinned={s: "" for s in FLEET})
    assert nothing_left(pinned, select(FLEET, pinned)) == "nothing to do: the pinned services leave no service in scope"


def _plan() -> Plan:
    steps = tuple(Step(s, f"/ds/prod/{s}", f"r/{s}:2", f"r/{s}:1", CHANGE, "released that day") for s in FLEET)
    return Plan(env="prod", date="2026-11-19", steps=steps, waves=(FLEET,))


def test_a_scoped_plan_changes_only_the_selection_and_knows_the_whole_resulting_fleet() -> None:
    scope = Scope(exclude=("web",), pinned={"auth": "hotfix 1234"})
    plan = scoped(_plan(), select(FLEET, scope), scope, left_out={"web": ("/ds/prod/web", "r/web:9")})

    assert [s.service for s in plan.changes()] == ["api", "worker"]
    assert [(s.service, s.action, s.target, s.reason, s.pinned) for s in plan.excluded()] == [
        ("auth", EXCLUDED, None, "pinned: hotfix 1234", "hotfix 1234"),
        ("web", EXCLUDED, None, "named in --exclude", None)]
    assert plan.in_scope() == ["api", "worker"]
    assert plan.resulting_images() == {"api": "r/api:1", "worker": "r/worker:1", "auth": "r/auth:2", "web": "r/web:9"}
    table = render_table(plan)
    assert "excluded: pinned: hotfix 1234" in table
    assert table.splitlines()[-1] == "2 of 4 services change (rollback to 2026-11-19); 2 excluded, rule: built"


def test_a_pinned_service_named_in_only_changes_and_the_plan_still_shows_its_pin() -> None:
    scope = Scope(only=("auth",), pinned={"auth": "hotfix 1234"})
    plan = scoped(_plan(), select(FLEET, scope), scope)

    [step] = plan.changes()
    assert (step.service, step.pinned) == ("auth", "hotfix 1234")
    assert step.reason == "released that day (pinned: hotfix 1234; named in --only)"


def test_deploy_takes_neither_only_nor_exclude(cli) -> None:
    for flag in ("--only=api", "--exclude=api"):
        r = cli("deploy", "--env=prod", "--image=api=1-master", flag)
        assert r.code == 2
        assert f"deploy does not accept {flag.split('=')[0]}" in r.err
