"""A settings group -> the client it describes (one session per API): registry, the platform, Slack, the inputs;
and ``Clients``, what one command opens from its settings and closes when it ends.

Only this module, cli.py and the commands read settings; every client and use case below them is
handed plain values.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from .directread import DirectReads
from .errors import UsageError
from .platform.timeline import Failed
from .registry.auth import credentials_from_docker_config
from .registry.client import RegistryClient
from .model.journal import RunEntry
from .releases.index import INDEX_NAME, Index
from .state.store import StateStore, failed_deploys, last_good
from .settings.commands import Changes, MarathonSettings, Reads, RegistrySettings, SlackSettings
from .transport import Transport, sanitize_url

if TYPE_CHECKING:  # the rest loads with the command that uses it (get loads no Slack, no rollout)
    from .console import Console
    from .marathon.client import MarathonClient
    from .marathon.platform import MarathonPlatform
    from .planning.witness import Evidence
    from .rollout.events import Listener
    from .rollout.usecase import Rollout


def registry_client(registry: RegistrySettings) -> RegistryClient:
    if not registry.url:
        raise UsageError("no registry URL: pass --registry=<url> or set DOCKER_REGISTRY")
    transport = Transport(registry.url, tls=registry.tls, pool_size=registry.concurrency, name="registry")
    credentials = registry.credentials or credentials_from_docker_config(registry.docker_config, registry.url)
    return RegistryClient(transport, credentials=credentials, platform=registry.platform,
                          reads=DirectReads(transport))


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


def notifier(slack: SlackSettings, warn: Callable[[str], None]) -> Listener:
    """Slack as configured (webhook, or bot token and channel), or a listener that says nothing."""
    from .notify.slack import make_notifier
    from .rollout.events import Silent
    notifier = make_notifier(webhook=slack.webhook, token=slack.token, channel=slack.channel,
                             build_url=slack.build_url, warn=warn, secrets=list(slack.secrets))
    return notifier or Silent()


class StoreInputs:
    """rollback.json in --dump, and the journal in the state store: what planning reads besides the platform."""

    def __init__(self, dump: Path, store: StateStore, *, journal: str) -> None:
        self.dump = dump
        self.store = store
        self.journal = journal  # where the journal is, as messages name it (the ledger file, or the store)

    def index(self, env: str, date: str | None) -> Index:
        from .planning.make import load_index
        return load_index(self.dump, env=env, date=date)

    def index_digest(self) -> str | None:
        """rollback.json of --dump as it is now (None when there is none: a saved plan holds what run needs)."""
        from .planning.planfile import index_digest
        path = self.dump / INDEX_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        try:
            document = json.loads(text)
        except ValueError:
            return "unreadable"
        return index_digest(document) if isinstance(document, dict) else "unreadable"

    def failed(self, env: str) -> Mapping[str, Sequence[Failed]]:
        try:
            return failed_deploys(self.store.entries(env), env)
        except UsageError:
            return {}  # an unreadable ledger is no evidence (run --to=last-good says why)

    def evidence(self, env: str) -> Evidence:
        from .planning.witness import read_evidence
        return read_evidence(self.store, env)

    def last_good(self, env: str) -> RunEntry:
        return last_good(self.store.entries(env), env, self.journal)


class Clients:
    """What one command opens from its settings: the state store, the platform, the rollout and whom it tells.

    Each is opened at its first use and the same one after (an empty selection never opens the
    platform); ``with`` closes them together. Only here are the settings' groups read: the use
    cases below are handed clients and plain values.
    """

    def __init__(self, settings: Reads) -> None:
        self._settings = settings
        self._store: StateStore | None = None
        self._platform: MarathonPlatform | None = None

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._store is not None:
            self._store.close()

    @property
    def dump(self) -> Path:
        return self._settings.common.dump

    def store(self) -> StateStore:
        """The store of --state (the file store by default); a ZooKeeper store that cannot connect is exit 4."""
        if self._store is None:
            from .state.open import open_store
            files = self._settings.files
            self._store = open_store(files.state, lock_dir=files.lock_dir, shared=files.shared, ledger=files.ledger,
                                     dump=self.dump, auth=files.zk_auth, session_timeout=files.zk_session_timeout)
        return self._store

    def platform(self) -> MarathonPlatform:
        """Marathon, opened for --env and the config's app mapping (``apps``, ``app_group``)."""
        if self._platform is None:
            self._platform = platform(self._settings.marathon)
        return self._platform

    def inputs(self) -> StoreInputs:
        files = self._settings.files
        store = self.store()
        return StoreInputs(self.dump, store, journal=str(files.ledger) if files.state.kind == "file" else store.describe())

    def rollout(self, console: Console, *, command: str, env: str, date: str | None = None,
                announce_states: bool = False, undoes: str | None = None) -> Rollout:
        """A rollout whose report goes to --dump (else the lock folder, else the temp folder, else stderr)."""
        from .report.files import ReportFiles
        from .rollout.usecase import Rollout, RolloutOptions
        settings = self._settings
        assert isinstance(settings, Changes), "only a command that changes the fleet rolls out"
        rollout, files = settings.rollout, settings.files
        options = RolloutOptions(command=command, env=env, dump=self.dump, lock_dir=files.lock_dir,
                                 actor=rollout.actor, build_url=rollout.build_url,
                                 marathon=sanitize_url(settings.marathon.url or ""), timeout=rollout.timeout,
                                 parallel=rollout.parallel, force=rollout.force, max_deployments=rollout.max_deployments,
                                 events=rollout.events, announce_states=announce_states, policy=rollout.policy,
                                 revert_on=rollout.revert_on)
        reports = ReportFiles(self.dump, fallbacks=(files.lock_dir, Path(tempfile.gettempdir())),
                              warn=console.warn, error=console.error, plain=console.plain)
        return Rollout(options, console, self.platform(), notifier(settings.slack, console.warn), reports,
                       store=self.store(), date=date, undoes=undoes)
