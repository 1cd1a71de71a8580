#!/usr/bin/env python3
"""Benchmark of reading Marathon's history: N apps x V stored versions behind a slow proxy.

The Marathon simulator holds N apps (default 200), each with V stored versions (default 50:
49 seeded past versions and the current one, Marathon's default ``zk_max_versions``). A
test-bed proxy in front of it adds L seconds (default 0.025) to every request. Measured with
the tool's own history reader (``fleetrewind.marathon.history.read_history``) and version cache:

- cold: an empty cache, so N version lists + N x V definitions; the bound is
  (N + N x V) x L / concurrency, and the target is within 2x of it;
- warm: the same read again: only the N version lists (target: at most 5 % of cold);
- the time ``plan --rule=ran`` adds on a warm cache: the warm read, the ran rule's plan and the
  checks for the N services (target: under 1 s);
- what the verdicts add to a cold plan (the cold read, the ran rule's plan and its checks): judging
  every version of every app from what Marathon shows now, the steps' verdicts and the checks they
  raise (target: at most 10 %).

    python bench/bench_history.py                      # N=200, V=50, L=25 ms, concurrency 16
    python bench/bench_history.py --apps 50 --versions 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetrewind.marathon.client import MarathonClient  # noqa: E402
from fleetrewind.marathon.evidence import observe  # noqa: E402
from fleetrewind.marathon.fleet import load_apps  # noqa: E402
from fleetrewind.marathon.history import read_history  # noqa: E402
from fleetrewind.marathon.versioncache import VersionCache  # noqa: E402
from fleetrewind.releases.index import read_index  # noqa: E402
from fleetrewind.planning.checks import run_checks  # noqa: E402
from fleetrewind.planning.ranrule import plan_ran  # noqa: E402
from fleetrewind.planning.served import verdict_checks, with_verdicts  # noqa: E402
from fleetrewind.planning.verdicts import judge  # noqa: E402
from fleetrewind.planning.witnesses import gather  # noqa: E402
from fleetrewind.transport import TLS, Transport  # noqa: E402
from marathonsim import Simulator  # noqa: E402
from testbed import wave  # noqa: E402
from testbed.proxy import RegistryProxy  # noqa: E402

TARGETS = {"cold_vs_bound": 2.0, "warm_vs_cold": 0.05, "added_seconds": 1.0, "verdicts_vs_cold_plan": 0.10}
LAST = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.timezone.utc)  # the newest seeded version


def history_for(names: list[str], versions: int) -> dict[str, list[dict[str, Any]]]:
    """V-1 past versions per app, every 4 hours back from LAST: image changes, some env changes."""
    history: dict[str, list[dict[str, Any]]] = {}
    for service in names:
        entries: list[dict[str, Any]] = []
        for k in range(versions - 1):
            at = LAST - dt.timedelta(hours=4 * (versions - 2 - k))
            entry: dict[str, Any] = {"version": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     "image": f"{wave.REGISTRY}/{service}:{1900 + k}-master"}
            if k % 10 == 3:
                entry["env"] = {"LEVEL": str(k)}
            entries.append(entry)
        history[wave.app_id(service)] = entries
    return history


def _plan_and_verdicts(index: Any, fleet: Any, history: Any) -> tuple[float, float]:
    """(seconds of the ran rule's plan and checks, seconds of the verdicts on top of them)."""
    now = dt.datetime.now(dt.timezone.utc)
    started = time.monotonic()
    plan = plan_ran(index, wave.DATE, history.timelines, current=fleet.images, current_defs=history.current,
                    app_ids=fleet.app_ids, waves=[])
    run_checks(plan, history.timelines, history.current, tz=index.tz, now=now)
    planned = time.monotonic()
    live = {s: observe(s, app, now) for s, app in fleet.apps.items()}
    judgements = {s: judge(t, gather(s, live.get(s), deployed=(), observations=(), now=now), now=now,
                           tz=index.tz) for s, t in history.timelines.items()}
    verdict_checks(with_verdicts(plan, judgements, tz=index.tz), judgements, {}, tz=index.tz)
    return planned - started, time.monotonic() - planned


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.025)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    names = wave.services(args.apps)
    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    wave.write_index(work, names)
    index = read_index(work)
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}; "
          f"{args.apps} apps x {args.versions} versions, {args.latency * 1000:.0f} ms per request, "
          f"concurrency {args.concurrency}")
    with Simulator(apps=wave.apps_for(names), history=history_for(names, args.versions),
                   max_versions=args.versions) as sim:
        proxy = RegistryProxy(sim.url, latency=args.latency).start()
        try:
            transport = Transport(proxy.url, tls=TLS(), pool_size=args.concurrency + 4, name="Marathon")
            client = MarathonClient(transport)
            fleet = load_apps(client, {s: wave.app_id(s) for s in names}, parallel=args.concurrency)
            results: dict[str, tuple[float, int]] = {}
            for label in ("cold", "warm"):
                cache = VersionCache(work / "cache", "http://bench-marathon")
                proxy.reset_counts()
                started = time.monotonic()
                history = read_history(client, cache, app_ids=fleet.app_ids, apps=fleet.apps,
                                       concurrency=args.concurrency)
                results[label] = (time.monotonic() - started, proxy.counts["total"])
                short = [s for s, t in history.timelines.items() if not t.readable]
                assert not short, f"unreadable histories: {short[:3]}"
                if label == "cold":
                    cold_plan, verdict_time = _plan_and_verdicts(index, fleet, history)
            started = time.monotonic()
            cache = VersionCache(work / "cache", "http://bench-marathon")
            history = read_history(client, cache, app_ids=fleet.app_ids, apps=fleet.apps,
                                   concurrency=args.concurrency)
            plan = plan_ran(index, wave.DATE, history.timelines, current=fleet.images, current_defs=history.current,
                            app_ids=fleet.app_ids, waves=[])
            checks = run_checks(plan, history.timelines, history.current, tz=index.tz,
                                now=dt.datetime.now(dt.timezone.utc))
            added = time.monotonic() - started
        finally:
            proxy.stop()
    requests = args.apps * (1 + args.versions)
    bound = requests * args.latency / args.concurrency
    cold, cold_requests = results["cold"]
    warm, warm_requests = results["warm"]
    changes = len(plan.changes())
    cold_plan += results["cold"][0]
    rows = [
        ("verdicts add to a cold plan", f"{verdict_time:.3f} s", f"{args.apps * args.versions} versions judged",
         f"{verdict_time / cold_plan * 100:.2f} % of {cold_plan:.2f} s (target <= "
         f"{TARGETS['verdicts_vs_cold_plan'] * 100:.0f} %)", verdict_time <= TARGETS["verdicts_vs_cold_plan"] * cold_plan),
        ("cold (empty cache)", f"{cold:.2f} s", f"{cold_requests} requests", f"bound {bound:.2f} s; "
         f"{cold / bound:.2f}x (target <= {TARGETS['cold_vs_bound']:.0f}x)", cold <= TARGETS["cold_vs_bound"] * bound),
        ("warm (version lists only)", f"{warm:.2f} s", f"{warm_requests} requests",
         f"{warm / cold * 100:.1f} % of cold (target <= {TARGETS['warm_vs_cold'] * 100:.0f} %)",
         warm <= TARGETS["warm_vs_cold"] * cold),
        ("plan --rule=ran adds (warm)", f"{added:.2f} s", f"{changes} changes, {len(checks)} checks",
         f"target < {TARGETS['added_seconds']:.0f} s", added < TARGETS["added_seconds"]),
    ]
    print(f"\n| measure | time | requests | against the target | ok |\n|---|---|---|---|---|")
    for name, took, count, versus, ok in rows:
        print(f"| {name} | {took} | {count} | {versus} | {'yes' if ok else 'NO'} |")
    return 0 if all(row[4] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
