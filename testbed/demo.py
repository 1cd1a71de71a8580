"""``make demo``: the whole story on the embedded default, on loopback only.

A real Docker registry (Debian's docker-registry) with a sample fleet of four services, the
Marathon simulator running them at their newest release, then: get, dates, status, diff
between two dates (the suspects), a plan and a run of one service only (--only), plan, run to a
date on which one service (worker) had no release, and the fleet's final state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from marathonsim import Simulator
from testbed.fleet import SAMPLE_FLEET, populate
from testbed.registry_server import RegistryServer

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["api", "worker", "auth", "web"]
DATE = "2026-11-19"
NEWEST = {"api": "515-master", "worker": "210-master", "auth": "406-master", "web": "308-master"}


def sample_apps(registry_host: str) -> list[dict[str, object]]:
    apps = []
    for service in SERVICES:
        app: dict[str, object] = {
            "id": f"/ds/prod/shop/{service}",
            "instances": 2,
            "cpus": 0.5,
            "mem": 256,
            "container": {
                "type": "DOCKER",
                "docker": {"image": f"{registry_host}/{service}:{NEWEST[service]}", "forcePullImage": False},
                "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}],
            },
            "labels": {"team": "shop"},
        }
        if service != "worker":
            app["healthChecks"] = [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}]
        apps.append(app)
    return apps


def step(title: str, *args: str, env: dict[str, str]) -> int:
    print(f"\n=== {title}\n$ rollback.py {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, str(ROOT / "rollback.py"), *args], env=env, cwd=ROOT).returncode


def main() -> int:
    out = ROOT / "demo-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    work = Path(tempfile.mkdtemp(prefix="fleetrewind-demo-"))
    with RegistryServer() as registry:
        print(f"registry: {registry.url} (Debian docker-registry, storage in {work})")
        populate(registry.url, SAMPLE_FLEET)
        host = registry.url.split("://", 1)[1]
        with Simulator(apps=sample_apps(host), deploy_seconds=1.0, auth=("ops", "demo-password")) as sim:
            print(f"marathon simulator: {sim.url} with {len(SERVICES)} apps at their newest release")
            env = dict(os.environ, DOCKER_REGISTRY=registry.url, MARATHON_URL=sim.url, MARATHON_USER="ops",
                       MARATHON_PASSWORD="demo-password", XDG_CACHE_HOME=str(work / "cache"), BUILD_USER="demo")
            dump = f"--dump={out}"
            config = out / "rollback.yaml"
            config.write_text("waves:\n  - [api, auth, worker]   # backends first\n  - [web]                # then the frontend\n")
            env["ROLLBACK_CONFIG"] = str(config)
            steps = [
                ("get: read the registry's release history", ["get", "--repo=" + ",".join(SERVICES), "--env=prod", dump]),
                ("dates: what the Jenkins dropdown offers", ["dates", dump]),
                ("status: what runs now, deployments in flight, the lock, the last run", ["status", "--env=prod", dump]),
                ("diff: what was built after 2026-11-18 up to the end of 2026-11-19 (the suspects)",
                 ["diff", "--from=2026-11-18", "--to=2026-11-19", "--env=prod", dump]),
                (f"plan --only=api: roll back only the culprit to {DATE}; the others are excluded",
                 ["plan", f"--date={DATE}", "--env=prod", "--only=api", dump]),
                (f"run --only=api: only api goes back to {DATE}",
                 ["run", f"--date={DATE}", "--env=prod", "--only=api", dump, "--timeout=60", "--quiet"]),
                (f"plan: what a rollback of the whole fleet to {DATE} changes (worker had no release that day)",
                 ["plan", f"--date={DATE}", "--env=prod", dump]),
                (f"run: roll prod back to {DATE}", ["run", f"--date={DATE}", "--env=prod", dump, "--timeout=60"]),
                ("run again: nothing left to do", ["run", f"--date={DATE}", "--env=prod", dump, "--quiet"]),
                ("status: the fleet now, and the last run from the ledger", ["status", "--env=prod", dump]),
            ]
            for title, args in steps:
                code = step(title, *args, env=env)
                if code != 0:
                    print(f"demo: step failed with exit {code}", file=sys.stderr)
                    return code
            print("\n=== final state of the fleet in Marathon")
            for app_id, app in sorted(sim.apps.items()):
                print(f"  {app_id:<24} {app['container']['docker']['image']}  "
                      f"running={app.get('tasksRunning')} healthy={app.get('tasksHealthy')}")
    print(f"\nfiles written to {out}: " + ", ".join(sorted(p.name for p in out.iterdir() if not p.name.startswith("."))))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
