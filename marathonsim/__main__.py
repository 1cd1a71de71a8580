"""python -m marathonsim --apps FILE: serve a simulated Marathon until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from typing import Any, Sequence

from .auth import DCOS_TOKEN_TTL
from .clock import Clock, invalid_timestamp, parse_ms
from .simulator import Simulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m marathonsim",
        description="A Marathon 1.11 REST API simulator (see docs/simulator.md).")
    p.add_argument("--apps", required=True, metavar="FILE",
                   help='JSON: {"apps": [...], ...} (keys in docs/simulator.md) or a bare '
                        'list of apps')
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--deploy-seconds", type=float, default=0.3, metavar="S",
                   help="how long a new task takes to become ready (default 0.3)")
    p.add_argument("--user", help="Basic auth user (or DC/OS login uid with --dcos)")
    secret = p.add_mutually_exclusive_group()
    secret.add_argument("--password", help="visible in ps: prefer --password-file")
    secret.add_argument("--password-file", metavar="F", help="first line is the password")
    p.add_argument("--dcos", action="store_true",
                   help="DC/OS mode: token login at /acs/api/v1/auth/login")
    p.add_argument("--token-ttl", type=float, default=DCOS_TOKEN_TTL, metavar="S",
                   help="DC/OS token lifetime in seconds (default 5 days)")
    p.add_argument("--cert", metavar="F", help="TLS certificate (PEM); needs --key")
    p.add_argument("--key", metavar="F", help="TLS private key (PEM)")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return p


APPS_FILE_KEYS = frozenset({"apps", "unhealthy_images", "failing_images", "invalid_images",
                            "history", "zk_max_versions", "max_running_deployments",
                            "storage_compaction_interval",
                            "knobs", "capacity", "clock"})


def file_clock(spec: Any) -> Clock | None:
    """{"start": ISO-8601, "rate": R}: simulated time starts at `start` and runs R times as
    fast as the wall clock (rate 60: a minute a second)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - {"start", "rate"}:
        raise ValueError('clock must be {"start": "<ISO-8601>", "rate": <number>}')
    try:
        start = parse_ms(str(spec.get("start"))) / 1000 if "start" in spec else time.time()
    except ValueError:
        raise ValueError(f"clock.start: {invalid_timestamp(str(spec.get('start')))}") from None
    rate = spec.get("rate", 1)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
        raise ValueError(f"clock.rate must be a positive number (found: {rate!r})")
    origin = time.time()
    return lambda: start + (time.time() - origin) * rate


def _load_apps(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, list):
        data = {"apps": data}
    if not isinstance(data, dict) or not isinstance(data.get("apps", []), list):
        raise ValueError('expected {"apps": [...]} or a list of apps')
    unknown = set(data) - APPS_FILE_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; known: {sorted(APPS_FILE_KEYS)}")
    for key in ("zk_max_versions", "max_running_deployments", "storage_compaction_interval"):
        value = data.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer (found: {value!r})")
    for key, shape in (("history", '{"/app/id": [version, ...]}'),
                       ("knobs", '{"*" or "/app/id": {knob: value}}')):
        if not isinstance(data.get(key, {}), dict):
            raise ValueError(f"{key} must be an object: {shape}")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        data = _load_apps(args.apps)
        password = args.password
        if args.password_file:
            with open(args.password_file, encoding="utf-8") as f:
                password = f.readline().rstrip("\r\n")
        if (args.user is None) != (password is None):
            raise ValueError("--user and --password/--password-file go together")
        if (args.cert is None) != (args.key is None):
            raise ValueError("--cert and --key go together")
        sim = Simulator(
            data.get("apps", []), deploy_seconds=args.deploy_seconds, host=args.host,
            port=args.port, auth=(args.user, password) if args.user else None, dcos=args.dcos,
            certfile=args.cert, keyfile=args.key,
            unhealthy_images=data.get("unhealthy_images", []),
            failing_images=data.get("failing_images", []),
            invalid_images=data.get("invalid_images", []), token_ttl=args.token_ttl,
            history=data.get("history"), max_versions=data.get("zk_max_versions", 50),
            gc_interval=float(data.get("storage_compaction_interval", 30)),
            max_running_deployments=data.get("max_running_deployments", 100),
            knobs=data.get("knobs"), capacity=data.get("capacity"),
            clock=file_clock(data.get("clock")),
            verbose=args.verbose)
        sim.start()
    except (OSError, ValueError) as exc:
        print(f"marathonsim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"listening on {sim.url}", flush=True)
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
