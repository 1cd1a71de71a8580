#!/usr/bin/env python3
"""CPU per request of the tool's transport against a loopback server, next to plain requests.

The server (testbed.hostile, honest behaviour) runs in another process so that only the
client's CPU is counted (user + sys of this process, watchdog thread included). Each variant
sends ``--requests`` sequential GETs of one small tag list over one keep-alive connection:

- ``Transport``: fleetrewind's (trust_env off, proxies resolved once per origin, verify and
  the total deadline passed per request, the deadline watchdog);
- ``requests, trust_env``: a plain ``requests.Session()`` as most tools use it: it rescans the
  environment for proxies and CA variables on every request;
- ``DirectReads``: the registry's direct reads over the same ``Transport`` (``get``'s manifests and
  blobs: one kept-alive socket, the answer read by its own small HTTP/1.1 reader).

    python bench/bench_transport.py                 # 5000 requests per variant, 3 rounds
    python bench/bench_transport.py --extra-env 70  # an environment the size of a Jenkins agent's
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from fleetrewind.directread import DirectReads  # noqa: E402
from fleetrewind.transport import TLS, Transport  # noqa: E402

SERVER = """
import sys, time
from testbed.hostile import HostileRegistry
with HostileRegistry() as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(send: Callable[[], None], count: int) -> float:
    send()  # connect and warm up
    start = cpu()
    for _ in range(count):
        send()
    return (cpu() - start) / count * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--extra-env", type=int, default=0,
                        help="add this many variables to the environment (a Jenkins agent has about 100)")
    options = parser.parse_args()
    for index in range(options.extra_env):
        os.environ[f"BENCH_VARIABLE_{index}"] = "x" * 40

    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    path = "/v2/api/tags/list"
    try:
        transport = Transport(url, tls=TLS(), name="registry")
        plain = requests.Session()
        direct = DirectReads(Transport(url, tls=TLS(), name="registry"))

        def via_transport() -> None:
            transport.request("GET", path).content

        def via_requests() -> None:
            plain.get(url + path, timeout=15).content

        def via_direct() -> None:
            if direct.read(path, headers={}).status_code != 200:
                raise SystemExit("the direct read was not answered 200")

        results: dict[str, list[float]] = {"Transport": [], "requests, trust_env": [], "DirectReads": []}
        for _ in range(options.rounds):
            results["Transport"].append(measure(via_transport, options.requests))
            results["requests, trust_env"].append(measure(via_requests, options.requests))
            results["DirectReads"].append(measure(via_direct, options.requests))
        if direct.off:
            raise SystemExit("the direct reads handed their reads to the transport: not measured")
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)

    load = os.getloadavg()[0]
    print(f"transport benchmark: {options.requests} sequential GETs x {options.rounds} rounds, one keep-alive "
          f"connection, {len(os.environ)} environment variables, Python {platform.python_version()}, "
          f"requests {requests.__version__}, load average {load:.1f}\n")
    print("| client | CPU per request (ms), best of rounds | all rounds |")
    print("|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {min(values):.3f} | {', '.join(f'{v:.3f}' for v in values)} |")
    saving = min(results["requests, trust_env"]) - min(results["Transport"])
    print(f"\nsaving: {saving:.3f} ms of CPU per request ({time.strftime('%Y-%m-%d')})")
    print(f"direct reads: {min(results['DirectReads']) / min(results['Transport']):.2f}x the Transport's CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
