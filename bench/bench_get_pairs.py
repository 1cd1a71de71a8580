#!/usr/bin/env python3
"""get's own CPU per registry request and its warm wall time, two (or more) checkouts measured in turn.

On two shared cores one cold ``get`` varies by ±20 % with the load, so a change is judged in
pairs: each round runs a cold ``get`` (empty cache) of every checkout, in alternating order,
against one registry and one latency proxy, then the same get again with the cache it wrote
(warm), and the medians are compared. Each checkout is a directory holding ``rollback.py`` (``git
worktree add``, or ``git archive <commit> | tar -x``), byte-compiled first; all run with this
interpreter. The registry is the one ``bench_get.py`` fills (the same ``--data``).

    python bench/bench_get_pairs.py /tmp/before . --rounds 4          # 50 services x 300 tags
    python bench/bench_get_pairs.py /tmp/before . --services 10       # 2,010 requests per get
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_get import ENV, compile_tool, fill, service_name  # noqa: E402
from testbed.proxy import RegistryProxy  # noqa: E402
from testbed.registry_server import RegistryServer  # noqa: E402


def cold_get(checkout: Path, proxy: RegistryProxy, services: list[str], *, concurrency: int,
             work: Path) -> dict[str, float]:
    """One cold ``get`` of ``checkout`` as a child: its CPU (wait4), requests, context switches; then the
    same command again, the warm get with the cache just written: its wall and CPU."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "ROLLBACK_", "DOCKER_"))}
    env["DOCKER_CONFIG"] = str(work / "no-docker-config")
    argv = [sys.executable, str(checkout / "rollback.py"), "get", "--repo=" + ",".join(services), f"--env={ENV}",
            f"--dump={work}", f"--registry={proxy.url}", f"--cache-dir={work / 'cache'}",
            f"--concurrency={concurrency}", "--quiet"]
    proxy.reset_counts()
    wall, usage = _child(argv, checkout, env, work / "get.log", "cold")
    requests = proxy.counts["total"]
    warm_wall, warm = _child(argv, checkout, env, work / "get.log", "warm")
    return {"ms": (usage.ru_utime + usage.ru_stime) * 1000 / requests, "wall": wall, "requests": requests,
            "switches": usage.ru_nvcsw / requests, "warm": warm_wall, "warm_cpu": warm.ru_utime + warm.ru_stime}


def _child(argv: list[str], checkout: Path, env: dict[str, str], log: Path, what: str) -> tuple[float, Any]:
    """Run one ``get``, its output appended to ``log``; (wall seconds, its rusage from wait4)."""
    started = time.monotonic()
    with open(log, "ab") as out:
        child = subprocess.Popen(argv, cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{what} get of {checkout} failed; its output:\n{log.read_text()[-3000:]}")
    return time.monotonic() - started, usage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", type=Path, help="directories holding rollback.py")
    parser.add_argument("--services", type=int, default=50, help="services read (of the filled 50), default 50")
    parser.add_argument("--rounds", type=int, default=3, help="cold gets of each checkout, default 3")
    parser.add_argument("--latency", type=float, default=25.0, help="ms the proxy adds per request, default 25")
    parser.add_argument("--concurrency", type=int, default=16, help="get's --concurrency, default 16")
    parser.add_argument("--data", default=str(ROOT / ".bench-data"), help="where bench_get.py keeps the registry")
    args = parser.parse_args()

    storage = Path(args.data) / "registry-50x300"
    fill(storage, 50, 300, 4)
    services = [service_name(i) for i in range(min(args.services, 50))]
    for checkout in args.checkouts:
        compile_tool(checkout)
    seen: dict[Path, list[dict[str, float]]] = {checkout: [] for checkout in args.checkouts}
    loads = []
    work = Path(tempfile.mkdtemp(prefix="bench-pairs-"))
    try:
        with RegistryServer(storage) as registry, RegistryProxy(registry.url, latency=args.latency / 1000) as proxy:
            for turn in range(args.rounds):
                for checkout in args.checkouts if turn % 2 == 0 else reversed(args.checkouts):
                    result = cold_get(checkout, proxy, services, concurrency=args.concurrency, work=work / "run")
                    seen[checkout].append(result)
                    loads.append(os.getloadavg()[0])
                    print(f"round {turn + 1}: {checkout}: {result['ms']:.3f} ms per request, "
                          f"{result['requests']:.0f} requests, {result['wall']:.1f} s; warm {result['warm']:.2f} s",
                          flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\ncold get of {len(services)} services, +{args.latency:g} ms, --concurrency={args.concurrency}, "
          f"{args.rounds} rounds, load average {min(loads):.1f}-{max(loads):.1f}\n")
    print("| checkout | CPU per request (median) | all rounds | voluntary switches per request | wall (median) "
          "| warm get wall (median) | warm get CPU (median) |")
    print("|---|---|---|---|---|---|---|")
    for checkout, results in seen.items():
        print(f"| {checkout} | {statistics.median(r['ms'] for r in results):.3f} ms | "
              f"{', '.join(format(r['ms'], '.3f') for r in results)} | "
              f"{statistics.median(r['switches'] for r in results):.2f} | "
              f"{statistics.median(r['wall'] for r in results):.1f} s | "
              f"{statistics.median(r['warm'] for r in results):.2f} s | "
              f"{statistics.median(r['warm_cpu'] for r in results):.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
