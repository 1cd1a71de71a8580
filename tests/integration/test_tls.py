"""TLS (docs/security.md): verified by default, a private CA through --ca-bundle, --insecure only when asked
and with a warning every time, and REQUESTS_CA_BUNDLE never overriding --ca-bundle.

The registry is the real one over HTTPS (the registry_tls fixture); Marathon is the simulator
with a certificate from a throwaway CA of its own (testbed.tls).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from fleetrewind.cli import main
from marathonsim import Simulator
from testbed.demo import sample_apps
from testbed.fleet import SAMPLE_FLEET, populate
from testbed.tls import TlsPaths, make_server_tls

PREFIX = "t/rel-tls/"
P = PREFIX
REPOS = f"--repo={P}api,{P}worker,{P}auth,{P}web"
INSECURE = "warning: --insecure: TLS certificates are NOT verified; anyone on the path can read credentials"


@dataclass(frozen=True)
class Indexed:
    registry_url: str
    ca_bundle: str
    host: str
    index_text: str


@pytest.fixture(scope="module")
def indexed(registry_tls: Any, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    populate(registry_tls.url, SAMPLE_FLEET, prefix=PREFIX, verify=registry_tls.ca_bundle)
    dump = tmp_path_factory.mktemp("clean-get")
    err = io.StringIO()
    code = main(["get", REPOS, "--env=prod", f"--dump={dump}", f"--registry={registry_tls.url}", "--no-cache",
                 f"--ca-bundle={registry_tls.ca_bundle}"], environ={}, stdout=io.StringIO(), stderr=err)
    assert code == 0, err.getvalue()
    return Indexed(registry_tls.url, registry_tls.ca_bundle, registry_tls.url.split("://", 1)[1],
                   (dump / "rollback.json").read_text())


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The CA bundle of some other private CA: valid PEM, wrong issuer."""
    return make_server_tls(tmp_path_factory.mktemp("other-ca")).ca_cert


@pytest.fixture(scope="module")
def marathon_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsPaths:
    return make_server_tls(tmp_path_factory.mktemp("marathon-tls"), prefix="marathon")


@pytest.fixture
def tls_sim(indexed: Indexed, marathon_tls: TlsPaths) -> Iterator[Simulator]:
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    with Simulator(apps=apps, deploy_seconds=0.1, certfile=marathon_tls.cert, keyfile=marathon_tls.key) as sim:
        yield sim


def errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def get(cli: Any, indexed: Indexed, dump: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    return cli("get", f"--repo={P}api", "--env=prod", f"--dump={dump}", f"--registry={indexed.registry_url}",
               "--no-cache", *extra, env=env)


# --- the registry -------------------------------------------------------------------------------------

def test_a_registry_with_a_private_ca_is_refused_by_default_and_the_error_names_ca_bundle(
        indexed: Indexed, tmp_path: Path, cli) -> None:
    result = get(cli, indexed, tmp_path)

    assert result.code == 4
    [line] = errors(result.err)
    assert "TLS verification failed for registry" in line and "certificate verify failed" in line
    assert "--ca-bundle" in line
    assert not (tmp_path / "rollback.json").exists()


@pytest.mark.parametrize("how", ["flag", "ROLLBACK_CA_BUNDLE", "config"])
def test_a_registry_with_a_private_ca_is_accepted_with_its_ca_bundle(indexed: Indexed, tmp_path: Path, cli,
                                                                    how: str) -> None:
    extra: tuple[str, ...] = ()
    env: dict[str, str] = {}
    if how == "flag":
        extra = (f"--ca-bundle={indexed.ca_bundle}",)
    elif how == "ROLLBACK_CA_BUNDLE":
        env = {"ROLLBACK_CA_BUNDLE": indexed.ca_bundle}
    else:
        config = tmp_path / "rollback.yaml"
        config.write_text(f"ca_bundle: {indexed.ca_bundle}\n")
        extra = (f"--config={config}",)

    result = get(cli, indexed, tmp_path / "dump", *extra, env=env)

    assert result.code == 0, result.err
    assert errors(result.err) == [] and INSECURE not in result.err
    assert json.loads((tmp_path / "dump" / "rollback.json").read_text())["registry"] == indexed.registry_url


def test_requests_ca_bundle_in_the_environment_does_not_override_ca_bundle(
        indexed: Indexed, other_ca: str, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # The right CA in the variables requests reads by itself, the wrong one on the command line:
    # the command line wins, so the registry is refused.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", indexed.ca_bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", indexed.ca_bundle)
    refused = get(cli, indexed, tmp_path / "refused", f"--ca-bundle={other_ca}")
    assert refused.code == 4
    assert "certificate verify failed" in errors(refused.err)[0]

    # And the other way round: a wrong CA in the environment does not break the right --ca-bundle.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca)
    monkeypatch.setenv("CURL_CA_BUNDLE", other_ca)
    accepted = get(cli, indexed, tmp_path / "accepted", f"--ca-bundle={indexed.ca_bundle}")
    assert accepted.code == 0, accepted.err


def test_insecure_accepts_the_registry_and_warns_every_time(indexed: Indexed, tmp_path: Path, cli) -> None:
    for attempt in range(2):
        result = get(cli, indexed, tmp_path / f"dump{attempt}", "--insecure", "--quiet")
        assert result.code == 0, result.err
        assert result.err.splitlines().count(INSECURE) == 1, result.err
    dates = cli("dates", f"--dump={tmp_path / 'dump0'}", "--insecure")
    assert dates.code == 0 and dates.err.splitlines().count(INSECURE) == 1


# --- Marathon -----------------------------------------------------------------------------------------

def _dump(indexed: Indexed, tmp_path: Path) -> Path:
    dump = tmp_path / "dump"
    dump.mkdir(exist_ok=True)
    (dump / "rollback.json").write_text(indexed.index_text)
    return dump


def test_a_marathon_with_a_private_ca_is_refused_by_default(indexed: Indexed, tls_sim: Simulator, tmp_path: Path,
                                                            cli) -> None:
    assert tls_sim.url.startswith("https://")
    dump = _dump(indexed, tmp_path)
    result = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={dump}", "--timeout=3",
                 env={"MARATHON_URL": tls_sim.url})

    assert result.code == 4
    [line] = errors(result.err)
    assert "TLS verification failed for Marathon" in line and "--ca-bundle" in line
    assert tls_sim.requests == [], "no request may be sent before the certificate is verified"
    assert sorted(p.name for p in dump.iterdir()) == ["rollback.json"]


def test_a_marathon_with_a_private_ca_is_accepted_with_ca_bundle_for_plan_and_run(
        indexed: Indexed, tls_sim: Simulator, marathon_tls: TlsPaths, tmp_path: Path, cli) -> None:
    dump = _dump(indexed, tmp_path)
    env = {"MARATHON_URL": tls_sim.url, "ROLLBACK_CA_BUNDLE": marathon_tls.ca_cert}
    plan = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={dump}", env=env)
    assert plan.code == 0, plan.err
    run = cli("run", "--date=2026-11-19", "--env=prod", f"--dump={dump}", "--timeout=3",
              f"--ca-bundle={marathon_tls.ca_cert}", env={"MARATHON_URL": tls_sim.url})
    assert run.code == 0, run.err
    assert len([r for r in tls_sim.requests if r["method"] == "PUT"]) == 4
    assert INSECURE not in plan.err + run.err


def test_a_marathon_certificate_for_another_name_is_refused_even_with_its_ca(
        indexed: Indexed, tmp_path: Path, cli) -> None:
    paths = make_server_tls(tmp_path / "tls", names=("marathon.internal",), prefix="marathon")
    apps = sample_apps(f"{indexed.host}/{PREFIX.rstrip('/')}")
    with Simulator(apps=apps, certfile=paths.cert, keyfile=paths.key) as sim:
        result = cli("plan", "--date=2026-11-19", "--env=prod", f"--dump={_dump(indexed, tmp_path)}",
                     f"--ca-bundle={paths.ca_cert}", env={"MARATHON_URL": sim.url})
    assert result.code == 4
    assert "TLS verification failed for Marathon" in errors(result.err)[0]


def test_insecure_accepts_marathon_and_warns_on_every_command(indexed: Indexed, tls_sim: Simulator,
                                                              tmp_path: Path, cli) -> None:
    dump = _dump(indexed, tmp_path)
    env = {"MARATHON_URL": tls_sim.url}
    for argv in (("plan", "--date=2026-11-19", "--env=prod", f"--dump={dump}"),
                 ("run", "--date=2026-11-19", "--env=prod", f"--dump={dump}", "--timeout=3", "--quiet"),
                 ("run", "--date=2026-11-19", "--env=prod", f"--dump={dump}", "--timeout=3", "--json")):
        result = cli(*argv, "--insecure", env=env)
        assert result.code == 0, result.err
        assert result.err.splitlines().count(INSECURE) == 1, (argv, result.err)
    [snapshot] = sorted(dump.glob("snapshot-*.json"))
    undo = cli("undo", f"--snapshot={snapshot}", f"--dump={dump}", "--timeout=3", "--insecure", env=env)
    assert undo.code == 0 and undo.err.splitlines().count(INSECURE) == 1
