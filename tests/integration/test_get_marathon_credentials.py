"""`get` with an authenticated Marathon: with the credentials the labels say what ran; refused (401)
or missing, a warning names the credential and every label says `ran: unknown`, never nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marathonsim import Simulator
from testbed.fleet import SAMPLE_FLEET, populate

PREFIX = "t/get-marathon-auth/"
SERVICES = ["api", "worker", "auth", "web"]
USER, PASSWORD = "ops", "Get-Marathon-Pw-8x!"


@pytest.fixture(scope="module")
def pushed(registry: Any) -> str:
    populate(registry.url, SAMPLE_FLEET, prefix=PREFIX)
    return str(registry.url)


@pytest.fixture
def sim(pushed: str) -> Any:
    host = pushed.split("://", 1)[1]
    apps = [{"id": f"/ds/prod/shop/{n}", "instances": 1, "cpus": 0.1, "mem": 64,
             "container": {"type": "DOCKER", "docker": {"image": f"{host}/{PREFIX}{n}:200-master"}}} for n in SERVICES]
    with Simulator(apps=apps, auth=(USER, PASSWORD)) as running:
        yield running


def get(cli: Any, pushed: str, sim: Any, dump: Path, env: dict[str, str]) -> Any:
    return cli("get", "--repo=" + ",".join(PREFIX + s for s in SERVICES), "--env=prod", f"--dump={dump}",
               f"--registry={pushed}", f"--marathon={sim.url}", "--no-cache", env=env)


def labels(dump: Path) -> list[str]:
    from fleetrewind.releases.index import label, read_index
    index = read_index(dump)
    return [label(index, day) for day in index.dates()]


def test_with_the_credentials_every_label_says_what_ran(cli: Any, pushed: str, sim: Any, tmp_path: Path) -> None:
    r = get(cli, pushed, sim, tmp_path, {"MARATHON_USER": USER, "MARATHON_PASSWORD": PASSWORD})

    assert r.code == 0, r.err
    assert "warning: Marathon" not in r.err
    assert all("; ran: " in line for line in r.out.splitlines())


@pytest.mark.parametrize("env, named", [
    ({"MARATHON_USER": USER, "MARATHON_PASSWORD": "not-the-password-1"}, "with the password from MARATHON_PASSWORD"),
    ({}, "set MARATHON_USER and MARATHON_PASSWORD"),
], ids=["refused", "missing"])
def test_a_401_is_a_warning_naming_the_credential_and_labels_say_ran_unknown(
        cli: Any, pushed: str, sim: Any, tmp_path: Path, env: dict[str, str], named: str) -> None:
    r = get(cli, pushed, sim, tmp_path, env)

    assert r.code == 0, r.err
    [warning] = [line for line in r.err.splitlines() if line.startswith("warning: Marathon's history")]
    assert "HTTP 401" in warning and named in warning and "ran: unknown" in warning
    assert "not-the-password-1" not in r.err + r.out
    printed = r.out.splitlines()
    assert printed and all(line.endswith("; ran: unknown") for line in printed)
    assert labels(tmp_path) == printed  # dates --json (the Jenkins dropdown) reads the same labels
    assert json.loads((tmp_path / "rollback.json").read_text())["ran"] == {}
