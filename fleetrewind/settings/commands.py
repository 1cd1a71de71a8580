"""Each command's own settings, and the groups they share: typed, frozen, built once by ``settings/build.py``.

A command sees only what it uses; the factory takes a group (``MarathonSettings``,
``RegistrySettings``, ``SlackSettings``) and hands plain values to the clients below it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Mapping

from ..model.evidence import DEFAULT_MIN_SOAK
from ..marathon.authmode import AuthMode
from ..marathon.limits import DEFAULT_READ_CAP
from ..model.plan import BUILT, FailurePolicy, Rule
from ..model.scope import Scope
from ..model.states import FailureClass
from ..registry.auth import RegistryCredentials
from ..registry.scan import DEFAULT_MAX_TAGS
from ..releases.tags import DEFAULT_TAG_PATTERN
from ..secret import Secret
from ..state.url import StateUrl
from ..transport import TLS

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True, kw_only=True)
class Common:
    """What every command has: its name, the --dump folder, how it talks (cli.py reads this part)."""

    command: str
    dump: Path = Path(".")
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    tls: TLS = TLS()
    secrets: tuple[Secret | None, ...] = ()  # every secret this run knows, for the last-line redaction


@dataclass(frozen=True, kw_only=True)
class Files:
    """Where the tool keeps its state: the store (``state``), and the file store's lock folder and ledger."""

    lock_dir: Path = Path(".")
    ledger: Path = Path("ledger.jsonl")
    shared: bool = False  # lock_dir is the machine-wide default (created for every user, sticky)
    state: StateUrl = StateUrl("file")
    zk_auth: Secret | None = None  # ROLLBACK_ZK_AUTH=user:password (ZooKeeper digest)
    zk_session_timeout: float = 10.0  # config zk_session_timeout: a holder silent this long loses the lock


@dataclass(frozen=True, kw_only=True)
class MarathonSettings:
    url: str | None = None
    user: str | None = None
    password: Secret | None = None
    auth: AuthMode = AuthMode.BASIC
    tls: TLS = TLS()
    env: str | None = None
    apps: Mapping[str, str] = field(default_factory=dict)  # config apps: service -> app id
    app_group: str | None = None
    parallel: int = 8
    concurrency: int = 16
    cache_dir: Path | None = None
    history_timeout: float = 10.0
    max_versions: int = DEFAULT_READ_CAP  # versions of an app's history read, newest first


@dataclass(frozen=True, kw_only=True)
class RegistrySettings:
    url: str | None = None
    credentials: RegistryCredentials | None = None
    docker_config: Path | None = None
    tls: TLS = TLS()
    concurrency: int = 16
    platform: str = "linux/amd64"
    cache_dir: Path | None = None
    max_tags: int = DEFAULT_MAX_TAGS  # tags of the branch read per repository, newest builds first


@dataclass(frozen=True, kw_only=True)
class SlackSettings:
    webhook: Secret | None = None
    token: Secret | None = None
    channel: str | None = None
    build_url: str | None = None
    secrets: tuple[Secret | None, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RolloutSettings:
    """How run, undo and deploy carry a plan out."""

    timeout: float = DEFAULT_TIMEOUT
    parallel: int = 8
    force: bool = False
    max_deployments: int = 100
    events: bool = False
    actor: str = "unknown"
    build_url: str | None = None
    waves: tuple[tuple[str, ...], ...] = ()
    policy: FailurePolicy = FailurePolicy.STOP  # run --on-failure; deploy --auto-rollback (revert or stop); undo: continue
    revert_on: frozenset[FailureClass] | None = None  # deploy: the failure classes that revert (config rollback_on)


@dataclass(frozen=True, kw_only=True)
class Reads:
    """A command that reads Marathon (and the tool's own files)."""

    common: Common
    marathon: MarathonSettings = MarathonSettings()
    files: Files = Files()


@dataclass(frozen=True, kw_only=True)
class Changes(Reads):
    """A command that changes the fleet: how it rolls out, whom it tells."""

    rollout: RolloutSettings = RolloutSettings()
    slack: SlackSettings = SlackSettings()


@dataclass(frozen=True, kw_only=True)
class GetSettings(Reads):
    env: str
    min_soak: float = DEFAULT_MIN_SOAK  # how long a version must be seen healthy (what get's observations must prove)
    branch: str
    services: tuple[str, ...]
    keep: int | None = None
    tz: dt.tzinfo = dt.timezone.utc
    tag_pattern: re.Pattern[str] = re.compile(DEFAULT_TAG_PATTERN)
    registry: RegistrySettings = RegistrySettings()


@dataclass(frozen=True, kw_only=True)
class DatesSettings:
    common: Common


@dataclass(frozen=True, kw_only=True)
class Asks:
    """What plan and run are asked, which each makes its ``PlanRequest`` of: which environment goes back to
    which moment, under which rule, how much of it."""

    env: str
    date: str | None = None       # None: run --to=last-good or run --plan
    at: dt.datetime | None = None  # --at (UTC); ``date`` is then its day in --tz
    rule: Rule = BUILT
    scope: Scope = Scope()
    strict: bool = False
    with_config: bool = False
    pin_digest: bool = False
    waves: tuple[tuple[str, ...], ...] = ()
    min_soak: float = DEFAULT_MIN_SOAK


@dataclass(frozen=True, kw_only=True)
class PlanSettings(Reads):
    asks: Asks
    timeout: float = DEFAULT_TIMEOUT
    out: Path | None = None  # plan --out: where the plan file goes
    actor: str = "unknown"   # who made the plan (the plan file says)


@dataclass(frozen=True, kw_only=True)
class RunSettings(Changes):
    asks: Asks
    to_last_good: bool = False  # --to=last-good: the journal's last good state, not a date
    plan_file: Path | None = None  # run --plan: the approved plan file to carry out
    dry_run: bool = False


@dataclass(frozen=True, kw_only=True)
class UndoSettings(Changes):
    snapshot: Path | None  # None with --last: the store's last changing run of ``last_of``
    last_of: str | None = None  # --last --env=<e>


@dataclass(frozen=True, kw_only=True)
class DeploySettings(Changes):
    env: str
    images: tuple[tuple[str, str], ...]
    health_urls: Mapping[str, str] = field(default_factory=dict)
    health_grace: float = 60.0
    auto_rollback: bool = True  # rollout.policy is then revert, on the classes of rollout.revert_on


@dataclass(frozen=True, kw_only=True)
class DiffSettings(Reads):
    env: str
    diff_from: str
    diff_to: str | None = None
    at: dt.datetime | None = None  # --at: from that moment, not from the end of a day


@dataclass(frozen=True, kw_only=True)
class StatusSettings(Reads):
    env: str


CommandSettings = (GetSettings | DatesSettings | PlanSettings | RunSettings | UndoSettings | DeploySettings
                   | DiffSettings | StatusSettings)


def dumps_settings(settings: object) -> str:
    """A printable view for --verbose; secrets show as <hidden>."""
    def view(value: object) -> object:
        if isinstance(value, Secret):
            return repr(value)
        if is_dataclass(value) and not isinstance(value, type):
            return {f.name: view(getattr(value, f.name)) for f in fields(value)}
        return str(value)
    return json.dumps(view(settings), sort_keys=True)
