#!/usr/bin/env python3
"""Benchmark of the state stores (docs/performance.md, "The state store").

For the file store (a lock folder and a ledger in a temp folder) and the ZooKeeper store (a real
server from Debian's ``zookeeper`` package on a free loopback port, testbed/zookeeper.py):

- lock take and lock release, each timed over ``--locks`` rounds (median and 95th percentile);
- reading ``--entries`` journal entries of one environment (written first, not timed), median of
  ``--reads`` reads.

Goals (issue #20): take and release under 50 ms each on a local server; 10,000 entries under 1 s.

    python bench/bench_state.py                     # 200 lock rounds, 10,000 entries
    python bench/bench_state.py --locks 50 --entries 2000
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetrewind.model.journal import RunEntry, Tried  # noqa: E402
from fleetrewind.model.lockrecord import new_record  # noqa: E402
from fleetrewind.state.open import open_store  # noqa: E402
from fleetrewind.state.store import StateStore  # noqa: E402
from fleetrewind.state.url import parse_state_url  # noqa: E402
from testbed.zookeeper import ZooKeeper  # noqa: E402

SERVICES = [f"shop/svc-{n:02d}" for n in range(8)]


def _entry(n: int) -> RunEntry:
    images = {s: f"registry.example.com:5000/{s}:{n}-master" for s in SERVICES}
    return RunEntry(env="prod", at=f"2026-11-19T10:00:{n % 60:02d}Z", command="run", actor="bench", state="SUCCEEDED",
                    date="2026-11-19", started_at="2026-11-19T09:59:00Z", images=images,
                    tried={s: Tried(image=i, status="succeeded") for s, i in images.items()})


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered) * 1000:7.2f} ms (p95 {p95 * 1000:6.2f})"


def measure(name: str, store: StateStore, *, locks: int, entries: int, reads: int) -> None:
    take, release = [], []
    record = new_record(command="run", run_id="bench", user="bench")
    for _ in range(locks):
        started = time.perf_counter()
        cm = store.lock("bench", record, force=False, warn=lambda _: None)
        cm.__enter__()
        took = time.perf_counter()
        cm.__exit__(None, None, None)
        take.append(took - started)
        release.append(time.perf_counter() - took)
    written = time.perf_counter()
    for n in range(entries):
        store.append(_entry(n))
    write_seconds = time.perf_counter() - written
    timings, cpu = [], []
    for _ in range(reads):
        started, started_cpu = time.perf_counter(), time.process_time()
        got = store.entries("prod")
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert len(got) == entries, (len(got), entries)
    print(f"{name:<10} lock take {_ms(take)}   release {_ms(release)}   "
          f"read {entries} entries {statistics.median(timings):6.3f} s (CPU {statistics.median(cpu):.3f} s)   "
          f"(appending them: {write_seconds / max(entries, 1) * 1000:.2f} ms each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locks", type=int, default=200)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=5)
    options = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"{platform.platform()}")
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        folder = Path(tmp)
        files = open_store(parse_state_url("file"), lock_dir=folder / "locks", shared=False,
                           ledger=folder / "ledger.jsonl", dump=folder)
        measure("file", files, locks=options.locks, entries=options.entries, reads=options.reads)
        with ZooKeeper() as zk:
            store = open_store(parse_state_url(zk.url("/bench")), lock_dir=folder / "zk-locks", shared=False,
                               ledger=folder / "zk-ledger.jsonl", dump=folder / "zk")
            try:
                measure("zookeeper", store, locks=options.locks, entries=options.entries, reads=options.reads)
            finally:
                store.close()


if __name__ == "__main__":
    main()
