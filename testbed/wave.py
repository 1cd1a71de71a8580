"""One big wave for the simulator: N services whose rollback to a date changes every one of them.

Each service ``svcNNN`` runs its newest release (``2000-master``) as ``/ds/prod/bench/svcNNN``;
``rollback.json`` (written directly, no registry needed) offers DATE, whose release is the one
before (``1999-master``). Used by bench/bench_run.py and the deployment-cap tests.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fleetrewind.model.release import Release
from fleetrewind.releases.index import build_index

REGISTRY = "registry.bench.example:5000"
ENV = "prod"
DATE = "2026-11-19"
OLD, NEW = "1999-master", "2000-master"


def service_name(index: int) -> str:
    return f"svc{index:03d}"


def services(count: int) -> list[str]:
    return [service_name(i) for i in range(count)]


def app_id(service: str) -> str:
    return f"/ds/{ENV}/bench/{service}"


def apps_for(names: list[str], *, instances: int = 2) -> list[dict[str, Any]]:
    """Each service on its newest release, ``instances`` tasks with a health check."""
    return [{
        "id": app_id(service),
        "instances": instances,
        "cpus": 0.1,
        "mem": 128,
        "container": {
            "type": "DOCKER",
            "docker": {"image": f"{REGISTRY}/{service}:{NEW}", "forcePullImage": False},
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}],
        },
        "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}],
        "labels": {"bench": "run"},
    } for service in names]


def write_index(folder: Path, names: list[str]) -> None:
    """rollback.json: OLD on DATE (the rollback target), NEW the day after."""
    releases = []
    for i, service in enumerate(names):
        for tag, day in ((OLD, DATE), (NEW, "2026-11-20")):
            created = dt.datetime.fromisoformat(f"{day}T08:00:00+00:00") + dt.timedelta(seconds=i)
            releases.append(Release(service=service, created=created, tag=tag,
                                    digest="sha256:" + f"{i:04d}{tag}".encode().hex().ljust(64, "0")[:64],
                                    image=f"{REGISTRY}/{service}:{tag}"))
    document = build_index(releases, env=ENV, branch="master", registry=f"https://{REGISTRY}",
                           services=names, tz=dt.timezone.utc, generated_at=dt.datetime.now(dt.timezone.utc))
    (folder / "rollback.json").write_text(json.dumps(document))


def run_argv(dump: Path, marathon_url: str, *, parallel: int, timeout: float = 3600) -> list[str]:
    """The ``run`` arguments that roll the whole wave back to DATE."""
    return ["run", f"--date={DATE}", f"--env={ENV}", f"--dump={dump}", f"--marathon={marathon_url}",
            f"--parallel={parallel}", f"--timeout={timeout:g}"]


def on_old_release(apps: dict[str, dict[str, Any]]) -> list[str]:
    """App ids not (yet) on the rollback target."""
    return [i for i, app in apps.items() if not str(app["container"]["docker"]["image"]).endswith(f":{OLD}")]
