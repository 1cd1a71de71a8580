#!/usr/bin/env python3
"""Benchmark of ``rollback.py run`` on the Marathon simulator.

N services (default 50), one app each (``/ds/prod/bench/<service>``, 2 instances with health
checks), whose deployments take d seconds (default 5). The fleet runs each service's newest
release; ``rollback.json`` (written directly, no registry needed) offers a date whose release
is one build older, so a rollback to it changes every service. All services are in one wave.

Measured, each on a fresh simulator, with ``rollback.py run`` as a subprocess:

- ``--parallel=N``: wall time against the lower bound (waves x d), and the tool's CPU time
  (user + sys of that child, from wait4) per service;
- one at a time (``--parallel=1``) on the same fleet. N x d seconds is long, so by default
  it runs on ``--serial-services`` services (6) and is extrapolated to N (the table says so);
  ``--serial-services=0`` runs it on all N.

    python bench/bench_run.py                           # N=50, d=5
    python bench/bench_run.py --services 10 --deploy-seconds 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetrewind.releases.index import Release, build_index  # noqa: E402
from marathonsim import Simulator  # noqa: E402
from marathonsim.server import SimServer  # noqa: E402

# socketserver listens with a backlog of 5; Marathon's Jetty accepts a queue of 50 or more. With
# --parallel=50 the tool opens ~50 connections at once, and a backlog of 5 makes some of them wait
# for a SYN retransmit (1 s) or be reset (a PUT then fails as "unreachable") - the test bed's limit,
# not Marathon's. The benchmark gives the simulator a real server's accept queue.
ACCEPT_QUEUE = 128
SimServer.request_queue_size = ACCEPT_QUEUE  # (the simulator now defaults to 128 too)

REGISTRY = "registry.bench.example:5000"
ENV = "prod"
DATE = "2026-11-19"
TARGETS = {"bound_slack": 2.0, "serial_speedup": 10.0, "cpu_ms_per_service": 20.0}


def service_name(index: int) -> str:
    return f"svc{index:03d}"


def apps_for(services: list[str]) -> list[dict[str, object]]:
    """Each service runs its newest release (2000-master), 2 instances with health checks."""
    return [{
        "id": f"/ds/{ENV}/bench/{service}",
        "instances": 2,
        "cpus": 0.1,
        "mem": 128,
        "container": {
            "type": "DOCKER",
            "docker": {"image": f"{REGISTRY}/{service}:2000-master", "forcePullImage": False},
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}],
        },
        "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}],
        "labels": {"bench": "run"},
    } for service in services]


def write_index(folder: Path, services: list[str]) -> None:
    """rollback.json: 1999-master on DATE (the rollback target), 2000-master the day after."""
    releases = []
    for i, service in enumerate(services):
        for tag, day in (("1999-master", DATE), ("2000-master", "2026-11-20")):
            created = dt.datetime.fromisoformat(f"{day}T08:00:00+00:00") + dt.timedelta(seconds=i)
            releases.append(Release(service=service, created=created, tag=tag,
                                    digest="sha256:" + f"{i:04d}{tag}".encode().hex().ljust(64, "0")[:64],
                                    image=f"{REGISTRY}/{service}:{tag}"))
    document = build_index(releases, env=ENV, branch="master", registry=f"https://{REGISTRY}",
                           services=services, tz=dt.timezone.utc,
                           generated_at=dt.datetime.now(dt.timezone.utc))
    (folder / "rollback.json").write_text(json.dumps(document))


def run_child(argv: list[str], *, env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    """Run argv; return (exit code, wall s, CPU s, peak RSS MB) of that one child (wait4)."""
    with open(log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def rollback(count: int, *, parallel: int, deploy_seconds: float, work: Path, name: str) -> dict[str, float]:
    """``run --date`` on a fresh simulator with ``count`` services; check every app afterwards."""
    services = [service_name(i) for i in range(count)]
    dump = work / name
    dump.mkdir()
    write_index(dump, services)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MARATHON_", "ROLLBACK_", "SLACK_", "DOCKER_", "REGISTRY_"))}
    env["BUILD_USER"] = "bench"
    with Simulator(apps=apps_for(services), deploy_seconds=deploy_seconds) as sim:
        argv = [sys.executable, str(ROOT / "rollback.py"), "run", f"--date={DATE}", f"--env={ENV}",
                f"--dump={dump}", f"--marathon={sim.url}", f"--parallel={parallel}", "--timeout=3600", "--quiet"]
        code, wall, cpu, rss = run_child(argv, env=env, log=dump / "run.log")
        if code != 0:
            lines = (dump / "run.log").read_text().splitlines()
            shown = [line for line in lines if "succeeded" not in line][-40:]
            sys.exit(f"run ({name}) failed with exit {code}; its output (without the succeeded lines):\n"
                     + "\n".join(shown))
        wrong = [app_id for app_id, app in sim.apps.items()
                 if not app["container"]["docker"]["image"].endswith(":1999-master")]
        if wrong:
            sys.exit(f"run ({name}) left {len(wrong)} apps on the wrong image: {wrong[:5]}")
        requests_made = len(sim.requests)
    return {"wall": wall, "cpu": cpu, "rss": rss, "requests": requests_made, "count": count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=50, help="services (apps), default 50")
    parser.add_argument("--deploy-seconds", type=float, default=5.0, help="seconds each deployment takes, default 5")
    parser.add_argument("--serial-services", type=int, default=6,
                        help="services the one-at-a-time run uses, extrapolated to --services (0: all)")
    args = parser.parse_args()
    n, d = args.services, args.deploy_seconds
    waves = 1
    bound = waves * d

    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    try:
        print(f"run --parallel={n}: {n} services, deployments of {d:g} s, one wave ...", flush=True)
        par = rollback(n, parallel=n, deploy_seconds=d, work=work, name="parallel")
        k = n if args.serial_services <= 0 else min(args.serial_services, n)
        print(f"run --parallel=1 on {k} services ...", flush=True)
        ser = rollback(k, parallel=1, deploy_seconds=d, work=work, name="serial")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    serial_wall = ser["wall"] * n / k
    extrapolated = k < n
    cpu_ms = par["cpu"] * 1000 / n
    rows = [
        (f"run --parallel={n} (wall)", f"{par['wall']:.2f} s",
         f"lower bound + {par['wall'] - bound:.2f} s (target <= + {TARGETS['bound_slack']:g} s): "
         + ("met" if par["wall"] <= bound + TARGETS["bound_slack"] else "MISSED")),
        ("lower bound (waves x d)", f"{bound:.2f} s", f"{waves} wave x {d:g} s"),
        ("one at a time (--parallel=1)", f"{serial_wall:.1f} s",
         (f"extrapolated from {k} services in {ser['wall']:.1f} s; " if extrapolated else "")
         + f"speed-up {serial_wall / par['wall']:.1f}x (target >= {TARGETS['serial_speedup']:g}x): "
         + ("met" if serial_wall / par["wall"] >= TARGETS["serial_speedup"] else "MISSED")),
        ("CPU of run per service", f"{cpu_ms:.1f} ms",
         f"{par['cpu']:.2f} s user+sys / {n} (target < {TARGETS['cpu_ms_per_service']:g} ms): "
         + ("met" if cpu_ms < TARGETS["cpu_ms_per_service"] else "MISSED")),
    ]
    print()
    print(f"run benchmark: {n} services, {d:g} s per deployment, {waves} wave, Marathon simulator "
          f"(accept queue {ACCEPT_QUEUE}), {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print()
    header = ("what", "value", "vs target")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    print()
    print(f"parallel run: {par['requests']} Marathon requests, peak RSS {par['rss']:.0f} MB; "
          f"one-at-a-time run: {ser['requests']} requests for {k} services")
    return 0


if __name__ == "__main__":
    sys.exit(main())
