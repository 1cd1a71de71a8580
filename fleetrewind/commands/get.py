"""``get``: read the registry, write rollback.json (atomically) and the release matrix."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .. import factory
from ..registry.cache import DigestCache
from ..factory import registry_client
from ..atomic import check_writable
from ..console import Console
from ..errors import AuthError, RollbackError, UsageError
from ..releases.index import Index, build_index, label, parse_index, write_index
from ..report.matrix import write_matrix
from ..registry.scan import scan
from ..settings.commands import GetSettings
from ..transport import sanitize_url

if TYPE_CHECKING:  # Marathon's side of get loads only when a Marathon URL is set
    from ..platform.fleet import FleetState
    from ..platform.protocol import Platform


def execute(settings: GetSettings, console: Console) -> int:
    dump = settings.common.dump
    check_writable(dump, "--dump")  # before minutes of registry reads, not after
    client = registry_client(settings.registry)
    registry_url = sanitize_url(settings.registry.url or "")
    cache = DigestCache(settings.registry.cache_dir, registry_url)
    console.info(f"get: {len(settings.services)} services from {registry_url}, branch {settings.branch!r}")
    try:
        result = scan(client, cache, services=settings.services, branch=settings.branch, pattern=settings.tag_pattern,
                      registry_url=registry_url, concurrency=settings.registry.concurrency, report=console.info,
                      max_tags=settings.registry.max_tags)
    finally:
        client.close()  # the registry's connections: Marathon's reads and the writes come next
    for service, count in sorted(result.capped.items()):
        console.warn(f"{service}: {count} tags of branch {settings.branch!r}; only the newest "
                     f"{settings.registry.max_tags} builds are read (max_tags)")
    for service, tags in sorted(result.unmatched.items()):
        shown = ", ".join(tags[:5]) + (" ..." if len(tags) > 5 else "")
        console.warn(f"{service}: skipped {len(tags)} tags that follow no tag pattern ({shown})")
    if not result.releases:
        raise UsageError(
            f"no release of branch {settings.branch!r} in {', '.join(settings.services)}; check --env "
            "(and the branch mapping or --tag-pattern); the previous rollback.json is kept"
        )
    document = build_index(result.releases, env=settings.env, branch=settings.branch, registry=registry_url,
                           services=settings.services, tz=settings.tz, generated_at=dt.datetime.now(dt.timezone.utc),
                           keep=settings.keep)
    if settings.marathon.url:
        document["ran"] = _what_ran(settings, console, parse_index(document, dump / "rollback.json"))
    path = write_index(dump, document)
    index = parse_index(document, path)
    _write_matrix(settings, index, console)
    with_release = {r.service for day in index.rollbacks.values() for r in day}
    missing = [s for s in settings.services if s not in with_release]
    for service in missing:
        console.warn(f"{service}: no release of branch {settings.branch!r}; a rollback will leave it as it is")
    console.info(f"get: wrote {path} ({len(index.rollbacks)} dates, {len(result.releases)} releases, "
                 f"{client.requests_made} registry requests)")
    for day in index.dates():
        console.result(label(index, day))
    return 0


def _what_ran(settings: GetSettings, console: Console, index: Index) -> dict[str, list[str]]:
    """Which services ran each day's release, from Marathon's history; never fatal (a warning, and no day
    known: every label then says 'ran: unknown', never nothing)."""
    try:
        with factory.Clients(settings) as clients:
            platform = clients.platform()
            fleet = platform.survey(index.services)  # one read of /v2/apps, with the tasks
            inputs = clients.inputs()
            failed, journal = inputs.failed(settings.env), inputs.evidence(settings.env)
        history = platform.history(fleet.app_ids, fleet.apps, failed=failed)
    except AuthError as err:  # a 401/403: name the credential, and every label says "ran: unknown"
        console.warn(f"Marathon's history could not be read: {err}; {_credential(settings)}; "
                     "the date labels say 'ran: unknown'")
        return {}
    except RollbackError as err:
        console.warn(f"Marathon's history could not be read ({err}); the date labels say 'ran: unknown'")
        return {}
    from ..planning.ranrule import ran_by_day
    served = {s: [d.image for d in entries if d.healthy] for s, entries in journal.deployed.items()}
    ran = ran_by_day(index, history.timelines, served)
    console.info(f"get: Marathon's history read for {len(fleet.app_ids)} apps ({history.requests} requests)")
    _observe(settings, console, platform, fleet)
    return ran


def _observe(settings: GetSettings, console: Console, platform: Platform, fleet: FleetState) -> None:
    """One observation per app into the journal, compacted: only what changed, or what now proves the soak."""
    from ..model.journal import ObservationEntry
    from ..planning.witnesses import observations_from, to_record
    now = dt.datetime.now(dt.timezone.utc)
    seen = {s: o for s, app in fleet.apps.items() if (o := platform.observe(s, app, now)) is not None}
    try:
        with factory.Clients(settings) as clients:
            store = clients.store()
            kept = observations_from(store.entries(settings.env), settings.env)
            written = to_record(kept, seen, min_soak=settings.min_soak)
            for entry in written:
                store.append(ObservationEntry.of(settings.env, entry))
    except OSError as exc:
        console.warn(f"could not record what runs in the journal: {exc.strerror}")
        return
    except RollbackError as exc:  # the journal is unreadable or its store unreachable: get's index is written
        console.warn(f"could not record what runs in the journal: {exc}")
        return
    console.info(f"get: observed {len(seen)} apps, {len(written)} journal entries written (the rest unchanged)")


def _credential(settings: GetSettings) -> str:
    """Which Marathon credential get used, by where it came from (never its value)."""
    marathon = settings.marathon
    if marathon.password is None:
        return "no Marathon credential was given: set MARATHON_USER and MARATHON_PASSWORD (or --user and --pwd)"
    return (f"the credential used: user {marathon.user!r} (--user or MARATHON_USER) with the password "
            f"from {marathon.password.name}")


def _write_matrix(settings: GetSettings, index: Index, console: Console) -> None:
    path = write_matrix(settings.common.dump, index)
    console.info(f"get: release matrix written to {path}")
