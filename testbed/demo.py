"""``make demo``: the whole story on the embedded default, on loopback only.

A real Docker registry (Debian's docker-registry) with a sample fleet of four services, the
Marathon simulator running them at their newest release, then: get, dates, status, diff
between two dates (the suspects), the plans of the three rules for 2026-11-19: api's 512-master
was deployed at 23:50, its tasks were killed for failed health checks, and someone put 510-master
back by hand at 00:20. The build rule picks 512-master (failed-before: it failed when Marathon held
it); the ran rule picks it too, as Marathon held it at the end of the day, and flags never-healthy;
the good rule skips it and picks 510-master. Then a plan and a run of one service only (--only),
and a run of the whole fleet by the good rule, and the fleet's final state.
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


def sample_history(registry_host: str) -> dict[str, list[dict[str, object]]]:
    """Past versions Marathon keeps (docs/simulator.md, "History"): what ran before today's images.

    api's 512-master (built on the 19th) was deployed at 23:50 and failed (its tasks were killed for
    failed health checks at 23:58: Marathon's lastTaskFailure names it); 510-master was put back by
    hand at 00:20 and ran until 515-master; web's 306-master, built at 23:59:59 on the 19th, ran only on the
    20th; a deploy of auth's 406-master on the 19th was refused (409) and auth was scaled after it.
    """
    def image(service: str, tag: str) -> str:
        return f"{registry_host}/{service}:{tag}"

    return {
        "/ds/prod/shop/api": [
            {"version": "2026-11-17T09:30:00Z", "image": image("api", "506-master")},
            {"version": "2026-11-18T19:30:00+01:00", "image": image("api", "510-master")},
            {"version": "2026-11-19T23:50:00Z", "image": image("api", "512-master"),
             "task_failure": "2026-11-19T23:58:00Z"},
            {"version": "2026-11-20T00:20:00Z", "image": image("api", "510-master")},
            {"version": "2026-11-20T10:00:00Z", "image": image("api", "515-master")},
        ],
        "/ds/prod/shop/worker": [
            {"version": "2026-11-17T11:00:00Z", "image": image("worker", "204-master")},
            {"version": "2026-11-18T15:00:00Z", "image": image("worker", "207-master")},
            {"version": "2026-11-20T08:30:00Z", "image": image("worker", "210-master")},
        ],
        "/ds/prod/shop/auth": [
            {"version": "2026-11-17T14:00:00Z", "image": image("auth", "402-master")},
            {"version": "2026-11-19T10:00:00Z", "image": image("auth", "405-master")},
            {"version": "2026-11-19T16:00:00Z", "image": image("auth", "406-master"), "refused": True},
            {"version": "2026-11-19T17:00:00Z", "instances": 3},
            {"version": "2026-11-20T10:30:00Z", "image": image("auth", "406-master"), "instances": 2},
        ],
        "/ds/prod/shop/web": [
            {"version": "2026-11-17T18:30:00Z", "image": image("web", "303-master")},
            {"version": "2026-11-18T08:00:00Z", "image": image("web", "305-master")},
            {"version": "2026-11-20T00:30:00Z", "image": image("web", "306-master")},
            {"version": "2026-11-20T06:30:00Z", "image": image("web", "308-master")},
        ],
    }


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
        with Simulator(apps=sample_apps(host), history=sample_history(host), deploy_seconds=1.0,
                       auth=("ops", "demo-password"), unhealthy_images=["*:512-master"]) as sim:
            print(f"marathon simulator: {sim.url} with {len(SERVICES)} apps at their newest release "
                  "and the versions Marathon kept of them")
            env = dict(os.environ, DOCKER_REGISTRY=registry.url, MARATHON_URL=sim.url, MARATHON_USER="ops",
                       MARATHON_PASSWORD="demo-password", XDG_CACHE_HOME=str(work / "cache"),
                       ROLLBACK_LOCK_DIR=str(work / "locks"), BUILD_USER="demo")  # its own lock folder
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
                (f"plan (build rule): the newest builds of {DATE}; api's 512-master failed when Marathon held it",
                 ["plan", f"--date={DATE}", "--env=prod", dump]),
                (f"plan --rule=ran: what Marathon held at the end of {DATE}: api's failed release, flagged never-healthy",
                 ["plan", f"--date={DATE}", "--env=prod", "--rule=ran", dump]),
                (f"plan --rule=good: the last version that did not fail by the end of {DATE}: api skips 512-master",
                 ["plan", f"--date={DATE}", "--env=prod", "--rule=good", dump]),
                ("plan --rule=ran --at: a moment, not a day: 23:55 on the 19th, during the failed release",
                 ["plan", "--at=2026-11-19T23:55:00Z", "--env=prod", "--rule=ran", "--only=api", dump]),
                (f"plan --only=api --rule=good: roll back only the culprit to {DATE}; the others are excluded",
                 ["plan", f"--date={DATE}", "--env=prod", "--only=api", "--rule=good", dump]),
                (f"run --only=api --rule=good: only api goes back to its last good version of {DATE}",
                 ["run", f"--date={DATE}", "--env=prod", "--only=api", "--rule=good", dump, "--timeout=60",
                  "--quiet"]),
                (f"plan --rule=good: what a rollback of the whole fleet to {DATE} changes",
                 ["plan", f"--date={DATE}", "--env=prod", "--rule=good", dump]),
                (f"run --rule=good: roll prod back to {DATE}",
                 ["run", f"--date={DATE}", "--env=prod", "--rule=good", dump, "--timeout=60"]),
                ("run again: nothing left to do",
                 ["run", f"--date={DATE}", "--env=prod", "--rule=good", dump, "--quiet"]),
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
