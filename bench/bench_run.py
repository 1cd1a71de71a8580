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
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from marathonsim import Simulator  # noqa: E402
from marathonsim.server import SimServer  # noqa: E402
from testbed import wave  # noqa: E402
from testbed.wave import apps_for, service_name, write_index  # noqa: E402

# socketserver listens with a backlog of 5; Marathon's Jetty accepts a queue of 50 or more. With
# --parallel=50 the tool opens ~50 connections at once, and a backlog of 5 makes some of them wait
# for a SYN retransmit (1 s) or be reset (a PUT then fails as "unreachable") - the test bed's limit,
# not Marathon's. The benchmark gives the simulator a real server's accept queue.
ACCEPT_QUEUE = 128
SimServer.request_queue_size = ACCEPT_QUEUE  # (the simulator now defaults to 128 too)

DATE = wave.DATE
TARGETS = {"bound_slack": 2.0, "serial_speedup": 10.0, "cpu_ms_per_service": 20.0,
           "wave_bound_ratio": 1.3, "wave_cpu_ms_per_service": 10.0}
CAP = 100  # the simulator's max_running_deployments, as Marathon's default
DEFAULT_PARALLEL = 8  # the tool's default --parallel


def run_child(argv: list[str], *, env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    """Run argv; return (exit code, wall s, CPU s, peak RSS MB) of that one child (wait4)."""
    with open(log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def rollback(count: int, *, parallel: int, deploy_seconds: float, work: Path, name: str,
             instances: int = 2, config: str = "") -> dict[str, Any]:
    """``run --date`` on a fresh simulator with ``count`` services; check every app afterwards."""
    services = [service_name(i) for i in range(count)]
    dump = work / name
    dump.mkdir()
    write_index(dump, services)
    options = []
    if config:
        (dump / "rollback.yaml").write_text(config)
        options.append(f"--config={dump / 'rollback.yaml'}")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MARATHON_", "ROLLBACK_", "SLACK_", "DOCKER_", "REGISTRY_"))}
    env["BUILD_USER"] = "bench"
    with Simulator(apps=apps_for(services, instances=instances), deploy_seconds=deploy_seconds,
                   max_running_deployments=CAP) as sim:
        argv = [sys.executable, str(ROOT / "rollback.py"), *wave.run_argv(dump, sim.url, parallel=parallel), "--quiet",
                *options]
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
        by_kind: dict[str, int] = {}
        for r in sim.requests:
            kind = f"{r['method']} " + ("/v2/apps/<id>" if r["path"].startswith("/v2/apps/") else r["path"])
            by_kind[kind] = by_kind.get(kind, 0) + 1
    return {"wall": wall, "cpu": cpu, "rss": rss, "requests": requests_made, "count": count, "kinds": by_kind}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=50, help="services (apps), default 50")
    parser.add_argument("--deploy-seconds", type=float, default=5.0, help="seconds each deployment takes, default 5")
    parser.add_argument("--serial-services", type=int, default=6,
                        help="services the one-at-a-time run uses, extrapolated to --services (0: all)")
    parser.add_argument("--wave-services", type=int, default=500,
                        help="services of the big wave against Marathon's cap of 100 (0: skip), default 500")
    parser.add_argument("--wave-deploy-seconds", type=float, default=5.0,
                        help="seconds each deployment of the big wave takes, default 5")
    parser.add_argument("--wave-parallel", type=int, nargs="*", default=None,
                        help="--parallel values of the big wave (default: the tool's default 8, and N)")
    parser.add_argument("--events", action="store_true",
                        help="also run the big wave at --parallel=N with `events: true` (the event stream)")
    args = parser.parse_args()
    if args.wave_services > 0:
        runs = [(p, False) for p in (args.wave_parallel or [DEFAULT_PARALLEL, args.wave_services])]
        big_wave(args.wave_services, args.wave_deploy_seconds,
                 runs + ([(args.wave_services, True)] if args.events else []))
    if args.services <= 0:
        return 0
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


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")


def big_wave(n: int, d: float, runs: list[tuple[int, bool]]) -> None:
    """N services in one wave against Marathon's cap: wall vs ceil(N / admitted) x d, requests, CPU."""
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="bench-wave-"))
    try:
        for parallel, events in runs:
            how = " (events)" if events else ""
            print(f"big wave: {n} services, --parallel={parallel}{how}, deployments of {d:g} s, cap {CAP} ...",
                  flush=True)
            got = rollback(n, parallel=parallel, deploy_seconds=d, work=work, name=f"wave-{parallel}{how.strip()}",
                           instances=1, config="events: true\n" if events else "")
            admitted = min(parallel, CAP)
            bound = math.ceil(n / admitted) * d
            ratio = got["wall"] / bound
            cpu_ms = got["cpu"] * 1000 / n
            target = parallel >= CAP
            rows.append((f"{n} services, --parallel={parallel}{how}", f"{got['wall']:.1f} s",
                         f"{bound:.1f} s (ceil({n}/{admitted}) x {d:g} s)",
                         f"{ratio:.2f}x" + (f" (target <= {TARGETS['wave_bound_ratio']:g}x: "
                                            + ("met" if ratio <= TARGETS["wave_bound_ratio"] else "MISSED") + ")"
                                            if target else ""),
                         f"{got['requests']:.0f} ({got['requests'] / n:.1f}/service)",
                         f"{cpu_ms:.1f} ms (target < {TARGETS['wave_cpu_ms_per_service']:g} ms: "
                         + ("met" if cpu_ms < TARGETS["wave_cpu_ms_per_service"] else "MISSED") + ")"))
            kinds: dict[str, int] = got["kinds"]
            notes.append(f"--parallel={parallel}{how}: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"big wave: {n} services (1 instance, health checks) in one wave, {d:g} s per deployment, simulator cap "
          f"{CAP} running deployments, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print()
    _table(rows, ("run", "wall", "lower bound", "wall / bound", "Marathon requests", "CPU per service"))
    print()
    for note in notes:
        print(note)
    print()


if __name__ == "__main__":
    sys.exit(main())
