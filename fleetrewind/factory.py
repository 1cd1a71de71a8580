"""A settings group -> the client it describes (one session per API): registry, the platform, Slack, the inputs.

Only this module, cli.py and the commands read settings; every client and use case below them is
handed plain values.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from .errors import UsageError
from .platform.timeline import Failed
from .registry.auth import credentials_from_docker_config
from .registry.client import RegistryClient
from .releases.index import Index
from .state.store import StateStore, failed_deploys
from .settings.commands import Files, MarathonSettings, RegistrySettings, RolloutSettings, SlackSettings
from .transport import Transport, sanitize_url

if TYPE_CHECKING:  # the rest loads with the command that uses it (get loads no Slack, no rollout)
    from .marathon.client import MarathonClient
    from .marathon.platform import MarathonPlatform
    from .planning.witness import Evidence
    from .rollout.events import Listener
    from .rollout.usecase import RolloutOptions


def registry_client(registry: RegistrySettings) -> RegistryClient:
    if not registry.url:
        raise UsageError("no registry URL: pass --registry=<url> or set DOCKER_REGISTRY")
    transport = Transport(registry.url, tls=registry.tls, pool_size=registry.concurrency, name="registry")
    credentials = registry.credentials or credentials_from_docker_config(registry.docker_config, registry.url)
    return RegistryClient(transport, credentials=credentials, platform=registry.platform)


def marathon_client(marathon: MarathonSettings) -> MarathonClient:
    if not marathon.url:
        raise UsageError("no Marathon URL: pass --marathon=<url> or set MARATHON_URL")
    if marathon.password and not marathon.user:
        raise UsageError("a Marathon password was given without a user: set --user or MARATHON_USER")
    transport = Transport(marathon.url, tls=marathon.tls, pool_size=max(marathon.parallel, marathon.concurrency, 4) + 4,
                          name="Marathon", timeout=30.0, reads_elsewhere=False)
    from .marathon.client import MarathonClient
    return MarathonClient(transport, user=marathon.user, password=marathon.password, auth_mode=marathon.auth)


def platform(marathon: MarathonSettings) -> MarathonPlatform:
    """Marathon, opened for --env and the config's app mapping (``apps``, ``app_group``)."""
    from .marathon.platform import MarathonPlatform
    return MarathonPlatform(marathon_client(marathon), env=marathon.env, overrides=marathon.apps,
                            app_group=marathon.app_group, parallel=marathon.parallel,
                            concurrency=marathon.concurrency, cache_dir=marathon.cache_dir,
                            cache_name=sanitize_url(marathon.url or ""), history_timeout=marathon.history_timeout,
                            read_cap=marathon.max_versions)


def app_id_check() -> Callable[[object, str], str]:
    """The platform's check of an app id read back from a file (a snapshot): Marathon's, without opening it."""
    from .marathon.appmap import check_app_id
    return check_app_id


class LazyPlatform:
    """The platform, opened at the first call and the same one after (an empty selection never opens it)."""

    def __init__(self, marathon: MarathonSettings) -> None:
        self._marathon = marathon
        self._opened: MarathonPlatform | None = None

    def __call__(self) -> MarathonPlatform:
        if self._opened is None:
            self._opened = platform(self._marathon)
        return self._opened


def notifier(slack: SlackSettings, warn: Callable[[str], None]) -> Listener:
    """Slack as configured (webhook, or bot token and channel), or a listener that says nothing."""
    from .notify.slack import make_notifier
    from .rollout.events import Silent
    notifier = make_notifier(webhook=slack.webhook, token=slack.token, channel=slack.channel,
                             build_url=slack.build_url, warn=warn, secrets=list(slack.secrets))
    return notifier or Silent()


class StoreInputs:
    """rollback.json in --dump, and the journal in the state store: what planning reads besides the platform."""

    def __init__(self, dump: Path, store: StateStore) -> None:
        self.dump = dump
        self.store = store

    def index(self, env: str, date: str | None) -> Index:
        from .planning.make import load_index
        return load_index(self.dump, env=env, date=date)

    def failed(self, env: str) -> Mapping[str, Sequence[Failed]]:
        try:
            return failed_deploys(self.store.entries(env), env)
        except UsageError:
            return {}  # an unreadable ledger is no evidence (run --to=last-good says why)

    def evidence(self, env: str) -> Evidence:
        from .planning.witness import read_evidence
        return read_evidence(self.store, env)


def state_store(files: Files, dump: Path) -> StateStore:
    """The store of --state (the file store by default); a ZooKeeper store that cannot connect is exit 4."""
    from .state.open import open_store
    return open_store(files.state, lock_dir=files.lock_dir, shared=files.shared, ledger=files.ledger, dump=dump,
                      auth=files.zk_auth, session_timeout=files.zk_session_timeout)


def inputs(dump: Path, store: StateStore) -> StoreInputs:
    return StoreInputs(dump, store)


def journal(files: Files, dump: Path) -> "closing[StateStore]":
    """``with factory.journal(...) as store``: the store, opened for the block and closed after it."""
    return closing(state_store(files, dump))


def rollout_options(rollout: RolloutSettings, *, dump: Path, files: Files, marathon: MarathonSettings, command: str,
                    env: str, announce_states: bool = False) -> RolloutOptions:
    from .rollout.usecase import RolloutOptions
    return RolloutOptions(command=command, env=env, dump=dump, lock_dir=files.lock_dir,
                          actor=rollout.actor, build_url=rollout.build_url, marathon=sanitize_url(marathon.url or ""),
                          timeout=rollout.timeout, parallel=rollout.parallel, force=rollout.force,
                          max_deployments=rollout.max_deployments, events=rollout.events,
                          announce_states=announce_states)
