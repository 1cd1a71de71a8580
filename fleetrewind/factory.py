"""Settings -> the values the lower layers take: clients (one session per API), the notifier, the fleet.

Only this module, cli.py and the commands read :class:`~fleetrewind.settings.Settings`; every
client and use case below them is handed plain values.
"""

from __future__ import annotations

from typing import Callable, Sequence

from .errors import UsageError
from .marathon.client import MarathonClient
from .marathon.fleet import FleetState, Peek, listed_fleet, load_fleet, peek_apps
from .notify.slack import make_notifier
from .registry.auth import credentials_from_docker_config
from .registry.client import RegistryClient
from .marathon.history import History
from .releases.index import Index
from .model.plan import Plan, Rule
from .planning import usecase as planning, witness
from .model.scope import Selection
from .rollout.events import Listener, Silent
from .rollout.usecase import RolloutOptions
from .settings import Settings
from .transport import Transport, sanitize_url


def registry_client(settings: Settings) -> RegistryClient:
    if not settings.registry_url:
        raise UsageError("no registry URL: pass --registry=<url> or set DOCKER_REGISTRY")
    transport = Transport(settings.registry_url, tls=settings.tls, pool_size=settings.concurrency,
                          name="registry")
    credentials = settings.registry_credentials or credentials_from_docker_config(
        settings.docker_config, settings.registry_url)
    return RegistryClient(transport, credentials=credentials, platform=settings.platform)


def marathon_client(settings: Settings) -> MarathonClient:
    if not settings.marathon_url:
        raise UsageError("no Marathon URL: pass --marathon=<url> or set MARATHON_URL")
    if settings.marathon_password and not settings.marathon_user:
        raise UsageError("a Marathon password was given without a user: set --user or MARATHON_USER")
    transport = Transport(settings.marathon_url, tls=settings.tls, pool_size=max(settings.parallel, settings.concurrency, 4) + 4,
                          name="Marathon", timeout=30.0, reads_elsewhere=False)
    return MarathonClient(transport, user=settings.marathon_user, password=settings.marathon_password,
                          auth_mode=settings.marathon_auth)


def notifier(settings: Settings, warn: Callable[[str], None]) -> Listener:
    """Slack as configured (webhook, or bot token and channel), or a notifier that says nothing."""
    slack = make_notifier(webhook=settings.slack_webhook, token=settings.slack_token, channel=settings.slack_channel,
                          build_url=settings.build_url, warn=warn, secrets=settings.secrets())
    return slack or Silent()


def fleet(client: MarathonClient, services: Sequence[str], settings: Settings) -> FleetState:
    """The apps of ``services`` in --env as Marathon runs them now (config ``apps``/``app_group`` map them)."""
    assert settings.env
    return load_fleet(client, services, env=settings.env, overrides=settings.app_ids, app_group=settings.app_group,
                      parallel=settings.parallel)


def history(client: MarathonClient, fleet_state: FleetState, settings: Settings) -> History:
    """Marathon's stored versions of the fleet's apps, through the version cache beside the registry cache."""
    return witness.load_history(client, fleet_state, cache_dir=settings.cache_dir,
                                marathon=sanitize_url(settings.marathon_url or ""), ledger_file=settings.ledger_file,
                                env=settings.env or "", concurrency=settings.concurrency,
                                timeout=settings.history_timeout, read_cap=settings.max_versions)


def date_selection(settings: Settings) -> tuple[Index, Selection]:
    """rollback.json for --env and --date, and the services --only/--exclude/pinned leave in scope.

    Under --rule=ran or good any calendar day (or --at moment) may be asked: Marathon's history, not
    the index, answers it."""
    assert settings.date
    offered = settings.date if settings.rule == Rule.BUILT else None
    index = planning.load_index(settings.dump, env=settings.env, date=offered)
    return index, planning.select_services(settings.scope, index.services)


def date_plan(client: MarathonClient, settings: Settings, index: Index, selection: Selection, *,
              confirm: bool = False) -> tuple[Plan, FleetState]:
    """plan and run --date: the selected fleet, the apps left out, their history, the plan by --rule.
    ``confirm`` (run): every target the version cache chose is confirmed with Marathon first."""
    assert settings.date
    fleet_state = fleet(client, selection.selected, settings)
    left_out = left_out_apps(client, settings, selection)
    date = settings.at.astimezone(index.tz).date().isoformat() if settings.at else settings.date
    stored = history(client, planning.whole_fleet(fleet_state, left_out), settings)
    plan = witness.plan_by_rule(index, fleet_state, date, stored,
                                rule=settings.rule, with_config=settings.with_config, waves=settings.waves,
                                pin_digest=settings.pin_digest, scope=settings.scope, selection=selection,
                                left_out=planning.shown(left_out), at=settings.at, min_soak=settings.min_soak,
                                evidence=witness.read_evidence(settings.ledger_file, settings.env or ""))
    if confirm:
        witness.confirm_chosen(client, plan, stored, cache_dir=settings.cache_dir,
                               marathon=sanitize_url(settings.marathon_url or ""))
    return plan, fleet_state


def rollout_options(settings: Settings, *, command: str, env: str, announce_states: bool = False) -> RolloutOptions:
    return RolloutOptions(command=command, env=env, dump=settings.dump, lock_dir=settings.lock_dir, ledger_file=settings.ledger_file,
                          actor=settings.actor, build_url=settings.build_url,
                          marathon=sanitize_url(settings.marathon_url or ""), timeout=settings.timeout,
                          parallel=settings.parallel, force=settings.force,
                          max_deployments=settings.max_deployments, events=settings.events,
                          announce_states=announce_states)


def peek(client: MarathonClient, settings: Settings, services: Sequence[str]) -> dict[str, Peek]:
    """Each service's app as far as it can be read (read-only, best effort), mapped as the settings say."""
    assert settings.env
    return peek_apps(client, services, env=settings.env, overrides=settings.app_ids,
                     app_group=settings.app_group, parallel=settings.parallel)


def listed(client: MarathonClient, settings: Settings, services: Sequence[str]) -> FleetState:
    """The services' apps, with their tasks, from one read of ``/v2/apps`` (what get observes)."""
    assert settings.env
    return listed_fleet(client, services, env=settings.env, overrides=settings.app_ids, app_group=settings.app_group)


def left_out_apps(client: MarathonClient, settings: Settings, selection: Selection) -> dict[str, Peek]:
    """The apps of the services outside the --only/--exclude selection (the plan shows what they run)."""
    return peek(client, settings, list(selection.left_out)) if selection.left_out else {}
