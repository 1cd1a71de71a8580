"""Pure: what an environment runs now, read from Marathon, rollback.json, the lock and the ledger.

No I/O here: ``status`` reads, this module arranges. The clock is a parameter, so how long a
deployment has been in flight is computed from the time given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence


from ..instants import read_instant
from ..platform.fleet import Deployment, Peek
from ..releases.diff import release_of
from ..releases.index import Index, day_of, iso_utc
from ..model.release import Release
from ..model.lockrecord import LockRecord, RunInFlight


@dataclass(frozen=True, kw_only=True)
class InFlight:
    id: str
    started: str | None  # as Marathon gave it (the deployment's version)
    seconds: float | None  # how long it has been in flight


@dataclass(frozen=True, kw_only=True)
class ServiceStatus:
    service: str
    app_id: str | None
    image: str | None
    release: Release | None
    problem: str | None
    deployments: tuple[InFlight, ...]
    instances: int | None
    running: int | None
    healthy: int | None
    health_checks: bool


@dataclass(frozen=True, kw_only=True)
class LockView:
    """The environment's lock as its store shows it."""

    store: str  # which store holds it: "file (/run/lock/fleetrewind)" or "zookeeper (zk://...)"
    record: LockRecord | None  # the holder record; None when there is none
    held: bool | None  # a live process holds it; None when this machine cannot tell
    interrupted: RunInFlight | None = None  # a run that began changing and never reported (not the holder's)

    def describe(self) -> str:
        return self.record.describe() if self.record else "a run whose record is unreadable"


@dataclass(frozen=True, kw_only=True)
class FleetStatus:
    env: str
    tz: dt.tzinfo
    services: tuple[ServiceStatus, ...]
    lock: LockView
    lock_seconds: float | None
    last_run: Mapping[str, object] | None  # the ledger entry of the last run
    unreachable: str | None = None  # why Marathon could not be read (then no service is shown)


def _seconds_since(stamp: object, now: dt.datetime) -> float | None:
    moment = read_instant(stamp)
    return None if moment is None else max(0.0, (now - moment).total_seconds())


def _in_flight(named: tuple[str, ...], app_id: str, deployments: Sequence[Deployment],
               now: dt.datetime) -> tuple[InFlight, ...]:
    ids = list(named)
    listed = {d.id: d for d in deployments}
    for dep_id, dep in listed.items():  # listed for the app though the app's answer did not name it yet
        if app_id in dep.apps and dep_id not in ids:
            ids.append(dep_id)
    found = []
    for dep_id in ids:
        known = listed.get(dep_id)
        started = known.started if known else None
        found.append(InFlight(id=dep_id, started=started, seconds=_seconds_since(started, now)))
    return tuple(found)


def build_status(index: Index, peeks: Mapping[str, Peek], deployments: Sequence[Deployment], *,
                 now: dt.datetime, lock: LockView, last_run: Mapping[str, object] | None,
                 unreachable: str | None = None) -> FleetStatus:
    """With ``unreachable`` (Marathon could not be read), only the lock and the last run are known."""
    services = []
    for service in index.services if unreachable is None else ():
        peek = peeks.get(service) or Peek(None, None, "not read")
        counts, image = peek.counts, peek.image
        services.append(ServiceStatus(
            service=service, app_id=peek.app_id, image=image, release=release_of(index, service, image),
            problem=peek.problem, deployments=_in_flight(counts.deployments, peek.app_id, deployments, now)
            if peek.app and peek.app_id else (),
            instances=counts.instances, running=counts.running, healthy=counts.healthy,
            health_checks=counts.health_checks))
    lock_seconds = max(0.0, now.timestamp() - lock.record.since) if lock.record else None
    return FleetStatus(env=index.env, tz=index.tz, services=tuple(services), lock=lock, lock_seconds=lock_seconds,
                       last_run=last_run, unreachable=unreachable)


def duration(seconds: float | None) -> str:
    """``95`` -> ``1m35s``; ``7300`` -> ``2h01m``."""
    if seconds is None:
        return "?"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _release_text(s: ServiceStatus, tz: dt.tzinfo) -> str:
    if s.image is None:
        return "-"
    if s.release is None:
        return "not in the index"
    return f"{s.release.tag} ({day_of(s.release.created, tz)})"


def _deployment_text(s: ServiceStatus) -> str:
    if not s.deployments:
        return "none"
    return ", ".join(f"{d.id} for {duration(d.seconds)}" for d in s.deployments)


def _instances_text(s: ServiceStatus) -> str:
    if s.instances is None:
        return "-"
    healthy = f", {s.healthy} healthy" if s.health_checks else " (no health checks)"
    return f"{s.running if s.running is not None else '?'}/{s.instances} running{healthy}"


def _lock_text(status: FleetStatus) -> str:
    lock = status.lock
    store = f" (store: {lock.store})"
    interrupted = f"\n{lock.interrupted.line()}" if lock.interrupted else ""
    if lock.record is None:
        return f"lock: free{store}{interrupted}"
    started = dt.datetime.fromtimestamp(lock.record.since, dt.timezone.utc)
    since = f" since {iso_utc(started.replace(microsecond=0))} ({duration(status.lock_seconds)})"
    if lock.held is False:
        return f"lock: free (the record of {lock.describe()}{since} is left from a run that is gone){store}{interrupted}"
    if lock.held is None:
        return (f"lock: recorded for {lock.describe()}{since}; whether a process holds it cannot be checked "
                f"here{store}{interrupted}")
    return f"lock: held by {lock.describe()}{since}{store}{interrupted}"


def _last_run_text(entry: Mapping[str, object] | None) -> str:
    if entry is None:
        return "last run: none recorded in the ledger"
    target = f" to {entry['date']}" if entry.get("date") else ""
    return (f"last run: {entry.get('command', '?')}{target} by {entry.get('actor', '?')}, finished "
            f"{entry.get('at', '?')}: {entry.get('state', '?')} (report {entry.get('report', '-')})")


def render_status(status: FleetStatus) -> str:
    if status.unreachable is not None:  # what runs now is unknown; the lock and the last run are still worth seeing
        return "\n".join([f"Marathon unreachable: {status.unreachable}", _lock_text(status),
                          _last_run_text(status.last_run)])
    header = ("SERVICE", "APP", "IMAGE", "RELEASE", "DEPLOYMENT", "INSTANCES")
    rows = [header]
    for s in status.services:
        if s.problem:
            rows.append((s.service, s.app_id or "-", "-", "-", "-", f"unknown: {s.problem}"))
            continue
        rows.append((s.service, s.app_id or "-", s.image or "-", _release_text(s, status.tz), _deployment_text(s),
                     _instances_text(s)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < len(widths) else cell for i, cell in enumerate(row)).rstrip()
             for row in rows]
    busy = sum(1 for s in status.services if s.deployments)
    lines.append(f"{status.env}: {len(status.services)} services, {busy} with a deployment in flight")
    lines.append(_lock_text(status))
    lines.append(_last_run_text(status.last_run))
    return "\n".join(lines)


def status_json(status: FleetStatus) -> dict[str, object]:
    def service(s: ServiceStatus) -> dict[str, object]:
        return {
            "service": s.service, "app_id": s.app_id, "image": s.image,
            "tag": s.release.tag if s.release else None,
            "released": iso_utc(s.release.created) if s.release else None,
            "in_index": s.release is not None, "problem": s.problem,
            "deployments": [{"id": d.id, "started": d.started, "seconds": d.seconds} for d in s.deployments],
            "instances": s.instances, "running": s.running,
            "healthy": s.healthy if s.health_checks else None,
        }

    lock = None
    record = status.lock.record
    if record is not None:
        lock = {"host": record.host, "pid": record.pid, "command": record.command, "user": record.user or None,
                "run_id": record.run_id or None,
                "since": iso_utc(dt.datetime.fromtimestamp(record.since, dt.timezone.utc).replace(microsecond=0)),
                "seconds": status.lock_seconds, "held": status.lock.held}
    gone = status.lock.interrupted
    return {"env": status.env, "marathon_unreachable": status.unreachable,
            "services": [service(s) for s in status.services], "lock": lock,
            "store": status.lock.store,
            "interrupted": {**vars(gone), "line": gone.line()} if gone else None,
            "last_run": dict(status.last_run) if status.last_run is not None else None}
