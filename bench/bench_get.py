#!/usr/bin/env python3
"""Benchmark of ``rollback.py get`` against the real registry behind a latency proxy.

Fills Debian's docker-registry (distribution 2.8.2) with R services x T tags (a third on the
benchmarked branch ``master``, a third on ``develop``, a third matching no tag pattern), with
distinct ``created`` times spread over 30 days. The filled storage is kept under ``--data``
(default ``.bench-data/``) so later runs skip the fill. A proxy adds ``--latency`` ms to every
request, then the script measures, as subprocesses:

- cold ``get``: an empty cache directory;
- warm ``get``: the same command again, with the cache the cold run wrote (the median of 3);
- get's own CPU per registry request: user + sys of the cold ``get`` child / the requests it made;
- ``rollback.py --version``: the median wall time of 7 starts (the tool's start-up);
- the naive reader: one manifest at a time over every tag (GET manifest, then GET its config
  blob), one keep-alive connection, no concurrency, no cache - what the replaced script did.
  When it would take longer than ``--naive-budget`` seconds it reads a random sample of the
  tags and the total is extrapolated (the table says so).

The tool's modules are byte-compiled first, as an install does. It then prints one table with
requests made (counted by the proxy), the lower bound (minimal requests x latency / concurrency,
minimal = tag lists + 2 per branch tag), the ratios against the targets in docs/performance.md,
and the peak RSS of the ``get`` process.

    python bench/bench_get.py                       # 50 services x 300 tags, 25 ms, 16
    python bench/bench_get.py --services 10 --tags 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from testbed.images import ImagePusher  # noqa: E402
from testbed.proxy import RegistryProxy  # noqa: E402
from testbed.registry_server import RegistryServer  # noqa: E402

BRANCH = "master"
ENV = "prod"  # prod -> master
FILL_FORMAT = 1
BASE_TIME = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
SPAN = dt.timedelta(days=30)
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
TARGETS = {"cold_vs_bound": 2.0, "warm_speedup": 5.0, "naive_speedup": 20.0, "rss_mb": 150.0,
           "warm_s": 0.8, "warm_of_cold": 0.05, "cpu_ms_per_request": 0.6, "version_s": 0.2}
VERSION_RUNS = 7  # rollback.py --version: the median of this many starts
WARM_RUNS = 3  # warm get: the median of this many (one run varies by a fifth with the load)


# -- the data set ---------------------------------------------------------------------------

def service_name(index: int) -> str:
    return f"svc{index:03d}"


def tag_name(index: int) -> str:
    """A third ``<build>-master``, a third ``<build>-develop``, a third matching no pattern."""
    build = 1000 + index
    kind = index % 3
    if kind == 0:
        return f"{build}-{BRANCH}"
    if kind == 1:
        return f"{build}-develop"
    return f"nightly.{build}"


def created_of(service: int, tag: int, services: int, tags: int) -> str:
    """Distinct times over 30 days, every service's builds interleaved; nanosecond precision."""
    slot = tag * services + service
    step_ns = SPAN.total_seconds() * 1e9 / (services * tags)
    moment = BASE_TIME + dt.timedelta(microseconds=int(slot * step_ns) // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{slot % 1000:03d}Z"


def fill(storage: Path, services: int, tags: int, workers: int) -> float:
    """Push every image unless ``storage`` holds a complete fill of this size; return seconds spent."""
    marker = storage / "bench-fill.json"
    spec = {"format": FILL_FORMAT, "services": services, "tags": tags, "base": BASE_TIME.isoformat()}
    if marker.is_file():
        try:
            if json.loads(marker.read_text()) == spec:
                return 0.0
        except ValueError:
            pass
    if storage.exists():
        shutil.rmtree(storage)
    storage.mkdir(parents=True)
    started = time.monotonic()
    print(f"filling the registry: {services} services x {tags} tags into {storage} (once) ...", flush=True)
    with RegistryServer(storage) as registry:
        done = [0]
        lock = threading.Lock()

        def push_service(s: int) -> None:
            pusher = ImagePusher(registry.url)
            try:
                for t in range(tags):
                    pusher.push_image(service_name(s), tag_name(t), created_of(s, t, services, tags))
            finally:
                pusher.session.close()
            with lock:
                done[0] += 1
                print(f"  {done[0]}/{services} services pushed ({time.monotonic() - started:.0f} s)", flush=True)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(push_service, s) for s in range(services)]:
                future.result()
    marker.write_text(json.dumps(spec))
    return time.monotonic() - started


# -- measuring a subprocess -----------------------------------------------------------------

def run_child(argv: list[str], *, env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    """Run argv; return (exit code, wall s, CPU s, peak RSS MB) of that one child (wait4)."""
    with open(log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def process_cpu(pid: int) -> float:
    """user + sys seconds of a running process (for the registry: /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_get(proxy: RegistryProxy, registry: RegistryServer, services: list[str], *, cache: Path, dump: Path,
            concurrency: int, log: Path) -> dict[str, float]:
    """One ``get`` as a subprocess: wall, its CPU and peak RSS, requests, and the test bed's CPU meanwhile."""
    proxy.reset_counts()
    assert registry._proc is not None
    registry_pid = registry._proc.pid
    bench_cpu, registry_cpu = time.process_time(), process_cpu(registry_pid)
    argv = [sys.executable, str(ROOT / "rollback.py"), "get", "--repo=" + ",".join(services), f"--env={ENV}",
            f"--dump={dump}", f"--registry={proxy.url}", f"--cache-dir={cache}", f"--concurrency={concurrency}",
            "--quiet"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "ROLLBACK_", "DOCKER_"))}
    env["DOCKER_CONFIG"] = str(dump / "no-docker-config")
    code, wall, cpu, rss = run_child(argv, env=env, log=log)
    if code != 0:
        sys.exit(f"get failed with exit {code}; its output:\n{log.read_text()[-3000:]}")
    return {"wall": wall, "cpu": cpu, "rss": rss, "requests": proxy.counts["total"],
            "manifests": proxy.counts["manifests"], "blobs": proxy.counts["blobs"],
            "proxy_cpu": time.process_time() - bench_cpu, "registry_cpu": process_cpu(registry_pid) - registry_cpu}


def compile_tool(checkout: Path = ROOT) -> None:
    """Byte-compile the tool's modules first, as ``pip install`` does: measured is the tool as installed.

    A checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (set in some shells and CI images) would
    otherwise compile its hundred modules again on every start, about 0.2 s of each ``get``.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "fleetrewind"),
                    str(checkout / "rollback.py")], check=True, stdout=subprocess.DEVNULL)


def version_start(runs: int = VERSION_RUNS) -> float:
    """Median wall seconds of ``rollback.py --version`` as a subprocess (the tool's start-up)."""
    walls = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, str(ROOT / "rollback.py"), "--version"], check=True, capture_output=True,
                       cwd=ROOT)
        walls.append(time.monotonic() - started)
    return sorted(walls)[len(walls) // 2]


# -- the naive reader -----------------------------------------------------------------------

def naive(proxy: RegistryProxy, services: list[str], budget: float, seed: int = 7) -> dict[str, float | bool | int]:
    """Sequential: list tags, then per tag GET manifest and GET its config blob (no cache)."""
    proxy.reset_counts()
    session = requests.Session()
    started = time.monotonic()
    items: list[tuple[str, str]] = []
    for service in services:
        resp = session.get(f"{proxy.url}/v2/{service}/tags/list", timeout=30)
        resp.raise_for_status()
        items.extend((service, tag) for tag in resp.json()["tags"])
    listing = time.monotonic() - started
    order = list(items)
    random.Random(seed).shuffle(order)
    read = 0
    reading_started = time.monotonic()
    for service, tag in order:
        resp = session.get(f"{proxy.url}/v2/{service}/manifests/{tag}", headers={"Accept": DOCKER_MANIFEST},
                           timeout=30)
        resp.raise_for_status()
        config = resp.json()["config"]["digest"]
        blob = session.get(f"{proxy.url}/v2/{service}/blobs/{config}", timeout=30)
        blob.raise_for_status()
        blob.json()["created"]
        read += 1
        if time.monotonic() - started > budget:
            break
    per_tag = (time.monotonic() - reading_started) / read
    session.close()
    sampled = read < len(order)
    return {"wall": listing + per_tag * len(order), "sampled": sampled, "read": read, "total_tags": len(order),
            "measured": time.monotonic() - started,
            "requests": len(services) + 2 * len(order), "requests_seen": proxy.counts["total"]}


# -- the table ------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=50, help="services (repositories), default 50")
    parser.add_argument("--tags", type=int, default=300, help="tags per service, default 300")
    parser.add_argument("--latency", type=float, default=25.0, help="ms the proxy adds per request, default 25")
    parser.add_argument("--concurrency", type=int, default=16, help="get's --concurrency, default 16")
    parser.add_argument("--data", default=str(ROOT / ".bench-data"), help="where the filled registry is kept")
    parser.add_argument("--naive-budget", type=float, default=120.0,
                        help="seconds the naive reader may run before it is extrapolated from a sample")
    parser.add_argument("--fill-workers", type=int, default=4, help="parallel pushers while filling")
    args = parser.parse_args()

    storage = Path(args.data) / f"registry-{args.services}x{args.tags}"
    fill_seconds = fill(storage, args.services, args.tags, args.fill_workers)
    services = [service_name(i) for i in range(args.services)]
    branch_tags = sum(1 for t in range(args.tags) if tag_name(t).endswith("-" + BRANCH)) * args.services
    minimal = args.services + 2 * branch_tags
    latency = args.latency / 1000.0
    bound = minimal * latency / args.concurrency

    compile_tool()
    work = Path(tempfile.mkdtemp(prefix="bench-get-"))
    try:
        with RegistryServer(storage) as registry, RegistryProxy(registry.url, latency=latency) as proxy:
            cache = work / "cache"
            print(f"cold get: {args.services} services x {args.tags} tags, {args.latency:g} ms per request ...",
                  flush=True)
            cold = run_get(proxy, registry, services, cache=cache, dump=work, concurrency=args.concurrency,
                           log=work / "cold.log")
            print(f"warm get, {WARM_RUNS} runs ...", flush=True)
            warms = [run_get(proxy, registry, services, cache=cache, dump=work, concurrency=args.concurrency,
                             log=work / "warm.log") for _ in range(WARM_RUNS)]
            warm = sorted(warms, key=lambda run: run["wall"])[WARM_RUNS // 2]
            index = json.loads((work / "rollback.json").read_text())
            releases = sum(len(v) for v in index["rollbacks"].values())
            if releases != branch_tags:
                sys.exit(f"get found {releases} releases of {BRANCH}, expected {branch_tags}")
            print(f"rollback.py --version, {VERSION_RUNS} starts ...", flush=True)
            start_up = version_start()
            print(f"naive sequential reader (budget {args.naive_budget:g} s) ...", flush=True)
            slow = naive(proxy, services, args.naive_budget)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    naive_note = (f"extrapolated from {slow['read']} of {slow['total_tags']} tags read in {slow['measured']:.0f} s"
                  if slow["sampled"] else "measured in full")
    naive_requests = f"{slow['requests']}" + (" (computed)" if slow["sampled"] else "")
    rows = [
        ("cold get (empty cache)", f"{cold['wall']:.2f} s", f"{cold['requests']}",
         f"{cold['wall'] / bound:.2f}x lower bound (target <= {TARGETS['cold_vs_bound']:g}x): "
         + verdict(cold["wall"] <= TARGETS["cold_vs_bound"] * bound)),
        ("warm get (cache)", f"{warm['wall']:.2f} s", f"{warm['requests']}",
         f"target <= {TARGETS['warm_s']:g} s: {verdict(warm['wall'] <= TARGETS['warm_s'])}; "
         f"{100 * warm['wall'] / cold['wall']:.1f} % of cold (target <= {100 * TARGETS['warm_of_cold']:g} %): "
         + verdict(warm["wall"] <= TARGETS["warm_of_cold"] * cold["wall"])),
        ("get's CPU per request (cold)", f"{cold['cpu'] * 1000 / cold['requests']:.2f} ms", f"{cold['requests']}",
         f"user + sys of get / requests, start-up included (target <= {TARGETS['cpu_ms_per_request']:g} ms): "
         + verdict(cold["cpu"] * 1000 / cold["requests"] <= TARGETS["cpu_ms_per_request"])),
        ("rollback.py --version", f"{start_up:.3f} s", "",
         f"median of {VERSION_RUNS} starts (target < {TARGETS['version_s']:g} s): "
         + verdict(start_up < TARGETS["version_s"])),
        ("naive sequential reader", f"{slow['wall']:.1f} s", naive_requests,
         f"naive/cold {slow['wall'] / cold['wall']:.1f}x (target >= {TARGETS['naive_speedup']:g}x): "
         + verdict(slow["wall"] / cold["wall"] >= TARGETS["naive_speedup"])),
        ("lower bound", f"{bound:.2f} s", f"{minimal}",
         f"{minimal} requests x {args.latency:g} ms / {args.concurrency}"),
        ("peak RSS of get (cold)", f"{cold['rss']:.0f} MB", "",
         f"target < {TARGETS['rss_mb']:g} MB: " + verdict(cold["rss"] < TARGETS["rss_mb"])
         + f" (warm {warm['rss']:.0f} MB)"),
    ]
    print()
    print(f"get benchmark: {args.services} services x {args.tags} tags ({branch_tags} on {BRANCH}), "
          f"+{args.latency:g} ms per request, --concurrency={args.concurrency}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, docker-registry 2.8.2, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"fill: {'reused ' + str(storage) if fill_seconds == 0 else f'{fill_seconds:.0f} s into {storage}'}")
    print()
    widths = [max(len(r[i]) for r in rows + [("what", "time", "requests", "vs target")]) for i in range(4)]
    header = ("what", "time", "requests", "vs target")
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    print()
    print(f"cold: {cold['manifests']} manifest + {cold['blobs']} blob requests, CPU {cold['cpu']:.1f} s; "
          f"warm: {warm['manifests']} manifest + {warm['blobs']} blob requests, CPU {warm['cpu']:.1f} s")
    print(f"naive: {naive_note}; one keep-alive session, sequential")
    total_cpu = cold["cpu"] + cold["proxy_cpu"] + cold["registry_cpu"]
    cores = os.cpu_count() or 1
    print(f"CPU during the cold get: get {cold['cpu']:.1f} s + latency proxy {cold['proxy_cpu']:.1f} s + "
          f"registry {cold['registry_cpu']:.1f} s = {total_cpu:.1f} s, i.e. {total_cpu / cores:.1f} s of wall time "
          f"at the very least on {cores} idle cores ({total_cpu * 1000 / max(cold['requests'], 1):.2f} ms per request)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
