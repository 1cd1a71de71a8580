"""The command line + the environment + the config file -> the command's own settings, in one place.

Precedence, everywhere: flag > environment variable > config file > default (``Sources.pick``).
Only this folder (and cli.py) knows option names like ``'--date'``; every bad value fails here
with the value in the message. The groups are read in one order for every command, so a bad
value anywhere is refused whatever the command.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Callable, Mapping

from ..config_file import load_config
from ..usage import CommandLine
from ..errors import UsageError
from ..marathon.authmode import AuthMode
from ..marathon.limits import DEFAULT_READ_CAP
from ..model.evidence import DEFAULT_MIN_SOAK
from ..registry.scan import DEFAULT_MAX_TAGS
from ..model.plan import FailurePolicy, Rule
from ..model.scope import Scope
from ..model.states import DEFAULT_ROLLBACK_ON, FailureClass
from ..planning.scope import parse_pinned, parse_scope_flag
from ..model.names import check_env
from ..releases.tags import DEFAULT_BRANCHES, DEFAULT_TAG_PATTERN, branch_for_env, compile_tag_pattern, parse_services
from ..secret import REGISTRY, Secret
from ..transport import sanitize_url
from .commands import (DEFAULT_TIMEOUT, Asks, CommandSettings, Common, DatesSettings, DeploySettings, DiffSettings, Files,
                       GetSettings, MarathonSettings, PlanSettings, RegistrySettings, RolloutSettings, RunSettings,
                       SlackSettings, StatusSettings, UndoSettings)
from .values import (MAX_CONCURRENCY, MAX_PARALLEL, RULES, Sources, _default_cache, _loopback_http, _state_settings,
                     _marathon_password, _pairs, _positive_float, _positive_int, _registry_credentials, _str_map,
                     _timezone, _tls, _url, _userinfo_secret, _waves, _whoami, check_date, check_moment)

COMMANDS = ("get", "dates", "plan", "run", "undo", "deploy", "diff", "status")


def from_args(args: CommandLine, environ: Mapping[str, str]) -> CommandSettings:
    """The command's settings from the command line; every bad value fails here with the value in the message."""
    door = read(args, environ)
    return BUILDERS[door.command](door)


def read(args: CommandLine, environ: Mapping[str, str]) -> Door:
    """Every value of every source, checked (the commands' settings are made from it)."""
    command = next(name for name in COMMANDS if args.switch(name))
    return Door(Sources(args, environ, load_config(args.text("--config") or environ.get("ROLLBACK_CONFIG"))), command)


class Door:
    """Every value read once, in one order (so a bad value is refused whatever the command)."""

    def __init__(self, src: Sources, command: str) -> None:
        args, environ, config = src.args, src.environ, src.config
        self.src = src
        self.command = command
        self.dump = Path(args.text("--dump") or ".")
        self.env: str | None = args.text("--env")
        self.branch: str | None = None
        if self.env is not None:
            check_env(self.env)
            branches = dict(DEFAULT_BRANCHES)
            branches.update(_str_map(config, "branches"))
            self.branch = args.text("--branch") or branch_for_env(self.env, branches)
        repos = args.text("--repo")
        self.services: tuple[str, ...] = parse_services(repos) if repos is not None else ()
        keep = src.pick_number("--keep", "keep", None)
        self.keep = _positive_int("--keep", keep) if keep is not None else None
        date = args.text("--date")
        self.date = check_date(date) if date is not None else None
        self.diff_from: str | None = None
        self.diff_to: str | None = None
        self.at: dt.datetime | None = None  # --at: a moment (UTC); ``date`` is then its day in ``tz``
        self.to_last_good = False
        self._span(args)
        self.scope = Scope(only=parse_scope_flag("--only", args.text("--only")),
                           exclude=parse_scope_flag("--exclude", args.text("--exclude")) or (),
                           pinned=parse_pinned(config.raw("pinned")) if command in ("plan", "run") else {})
        out, plan = args.text("--out"), args.text("--plan")
        self.plan_out = Path(out) if out else None
        self.plan_file: Path | None = None
        if plan:
            given = [flag for flag in ("--only", "--exclude", "--rule", "--strict", "--with-config", "--dry-run")
                     if args.switch(flag)]
            if given:
                raise UsageError(f"run --plan carries the plan's scope, rule and flags; drop {', '.join(given)} "
                                 "(or make a new plan with them)")
            self.plan_file = Path(plan)
        snapshot = args.text("--snapshot")
        self.snapshot = Path(snapshot) if snapshot else None
        self.images = _pairs("--image", args.texts("--image"))
        self.health_urls = dict(_pairs("--health-url", args.texts("--health-url"), url=True))
        unknown = set(self.health_urls) - {svc for svc, _ in self.images}
        if unknown:
            raise UsageError(f"--health-url names {', '.join(sorted(unknown))}, which no --image deploys")
        self._endpoints(src)
        self._behaviour(src)
        self._history(src)
        at = args.text("--at")
        if at is not None and self.command != "diff":
            if self.rule == Rule.BUILT:
                raise UsageError("--at names a moment, which only --rule=ran or --rule=good can answer; "
                                 "add --rule=ran or --rule=good, or use --date")
            self.at = check_moment(at)
            self.date = self.at.astimezone(self.tz).date().isoformat()
        # Words the run prints: a secret equal to one of them is too weak to hide everywhere.
        REGISTRY.common_words([self.env or "", self.branch or "", *self.services,
                               *dict(DEFAULT_BRANCHES).values(), *dict(DEFAULT_BRANCHES)])
        self.dry_run, self.force = args.switch("--dry-run"), args.switch("--force")
        self.json, self.quiet, self.verbose = args.switch("--json"), args.switch("--quiet"), args.switch("--verbose")
        if self.quiet and self.verbose:
            raise UsageError("--quiet and --verbose cannot be used together")

    def _span(self, args: CommandLine) -> None:
        """diff's --from/--to, or run's --to=last-good."""
        at, to = args.text("--at"), args.text("--to")
        if self.command == "diff":
            if at is not None:  # a moment instead of the end of a day
                self.at = check_moment(at)
                self.diff_from = self.at.date().isoformat()
            else:
                self.diff_from = check_date(args.text("--from") or "", flag="--from")
            if to is not None:
                self.diff_to = check_date(to, flag="--to")
                if self.diff_to < self.diff_from:
                    raise UsageError(f"--from {self.diff_from} is after --to {self.diff_to}; --from is the older date")
        elif to is not None:
            if to != "last-good":
                raise UsageError(f'--to accepts only "last-good" (found: {to!r})')
            self.to_last_good = True

    def _endpoints(self, src: Sources) -> None:
        args, environ = src.args, src.environ
        registry, where = src.pick_from("--registry", "DOCKER_REGISTRY", "registry")
        self.registry_url = _url(where, registry)  # a bad value names where it came from
        self.registry_credentials = _registry_credentials(environ)
        docker_config = environ.get("DOCKER_CONFIG")
        self.docker_config = Path(docker_config) / "config.json" if docker_config else \
            Path.home() / ".docker" / "config.json"
        marathon, where = src.pick_from("--marathon", "MARATHON_URL", "marathon")
        self.marathon_url = _url(where, marathon)
        self.marathon_user = src.pick("--user", "MARATHON_USER", "marathon_user")
        self.marathon_password = _marathon_password(args, environ)
        if self.marathon_user and self.marathon_password:
            REGISTRY.add_user(self.marathon_user, self.marathon_password)
        auth = src.pick("--marathon-auth", "MARATHON_AUTH", "marathon_auth", "basic")
        if auth not in tuple(AuthMode):
            raise UsageError(f'--marathon-auth must be basic or dcos (found: "{auth}")')
        self.marathon_auth = AuthMode(auth)
        self.tls = _tls(args, environ, src.config)
        self.slack_webhook: Secret | None = None
        slack = args.text("--slack") or environ.get("SLACK_WEBHOOK_URL")
        if slack:
            if not re.match(r"^https://", slack) and not _loopback_http(slack):
                # The URL is the credential: over http it would cross the network in clear.
                raise UsageError("--slack must be an incoming-webhook URL starting with https:// (http:// only to a "
                                 "loopback address; value hidden)")
            self.slack_webhook = Secret(slack, "the Slack webhook URL")
            token = slack.rstrip("/").rsplit("/", 1)[-1]
            if len(token) >= 8:
                Secret(token, "the Slack webhook URL")
        self.slack_token = Secret(environ["SLACK_BOT_TOKEN"], "SLACK_BOT_TOKEN") if environ.get("SLACK_BOT_TOKEN") \
            else None
        self.slack_channel = src.pick("--slack-channel", "SLACK_CHANNEL", "slack_channel")

    def _behaviour(self, src: Sources) -> None:
        args, environ, config = src.args, src.environ, src.config
        self.tz = _timezone(src.pick("--tz", "ROLLBACK_TZ", "timezone"))
        self.tag_pattern = compile_tag_pattern(src.pick("--tag-pattern", None, "tag_pattern", DEFAULT_TAG_PATTERN))
        platform = src.pick("--platform", None, "platform", "linux/amd64")
        if not re.match(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$", platform):
            raise UsageError(f'--platform must look like linux/amd64 (found: "{platform}")')
        self.platform: str = platform
        self.concurrency = _positive_int("--concurrency", src.pick_number("--concurrency", "concurrency", 16),
                                         MAX_CONCURRENCY)
        self.parallel = _positive_int("--parallel", src.pick_number("--parallel", "parallel", 8), MAX_PARALLEL)
        self.max_deployments = _positive_int("max_deployments", src.pick_number(None, "max_deployments", 100))
        self.events = config.flag("events")
        self.max_tags = _positive_int("max_tags", src.pick_number(None, "max_tags", DEFAULT_MAX_TAGS), 10**6)
        self.cache_dir: Path | None = None
        if not args.switch("--no-cache"):
            cache = src.pick("--cache-dir", "ROLLBACK_CACHE_DIR", "cache_dir")
            self.cache_dir = Path(cache) if cache else _default_cache(environ)
        self.lock_dir, self.lock_dir_shared, self.state, self.zk_auth = _state_settings(src)
        self.zk_session_timeout = _positive_float("zk_session_timeout", src.pick_number(None, "zk_session_timeout", 10.0))
        self.timeout = _positive_float("--timeout", src.pick_number("--timeout", "timeout", DEFAULT_TIMEOUT))
        policy = src.pick("--on-failure", None, "on_failure", "stop")
        if policy not in tuple(FailurePolicy):
            raise UsageError(f'--on-failure must be one of {", ".join(FailurePolicy)} (found: "{policy}")')
        self.on_failure = FailurePolicy(policy)
        auto = args.text("--auto-rollback") or "on"
        if auto not in ("on", "off"):
            raise UsageError(f'--auto-rollback must be on or off (found: "{auto}")')
        self.auto_rollback = auto == "on"
        # every class the executor can report is accepted: the list is FailureClass itself
        rollback_on = config.items("rollback_on") if "rollback_on" in config else sorted(DEFAULT_ROLLBACK_ON)
        known = [str(c) for c in FailureClass]
        bad = [c for c in rollback_on if c not in known]
        if bad:
            raise UsageError(f"config 'rollback_on' has unknown classes {bad} (known: {', '.join(known)})")
        self.rollback_on = frozenset(FailureClass(str(c)) for c in rollback_on)
        self.health_grace = _positive_float("health_grace", src.pick_number(None, "health_grace", 60.0))
        self.app_ids = _str_map(config, "apps")
        self.app_group = config.text("app_group")
        self.waves = _waves(config)
        self.pin_digest = config.flag("pin_digest")
        ledger = src.pick("--ledger", "ROLLBACK_LEDGER", "ledger")
        self.ledger = Path(ledger) if ledger else self.dump / "ledger.jsonl"
        self.actor = src.pick("--actor", "BUILD_USER", None) or environ.get("USER") or _whoami()
        # a BUILD_URL with user:token@ would carry a credential into reports, JUnit and Slack
        if environ.get("BUILD_URL"):
            _userinfo_secret("BUILD_URL", environ["BUILD_URL"])
        self.build_url = sanitize_url(environ["BUILD_URL"]) if environ.get("BUILD_URL") else None

    def _history(self, src: Sources) -> None:
        args, config = src.args, src.config
        rule = args.text("--rule") or (config.text("rule") if "rule" in config else "built")
        if rule not in RULES:
            raise UsageError(f'--rule must be built, ran or good (found: "{rule}")')
        self.with_config = args.switch("--with-config")
        if self.with_config and args.text("--rule") in ("built", "good"):
            raise UsageError("--with-config restores the definition Marathon held at the date, which is --rule=ran; "
                             f"drop --rule={args.text('--rule')}")
        self.rule = Rule.RAN if self.with_config else Rule(rule)
        self.strict = args.switch("--strict") or config.flag("strict")  # the file's type was checked on load
        self.history_timeout = _positive_float("history_timeout", src.pick_number(None, "history_timeout", 10.0))
        self.min_soak = _positive_float("min_soak", src.pick_number(None, "min_soak", DEFAULT_MIN_SOAK))
        self.max_versions = _positive_int("max_versions", src.pick_number(None, "max_versions", DEFAULT_READ_CAP), 100_000)

    # -- the groups ------------------------------------------------------------------------------

    def secrets(self) -> tuple[Secret | None, ...]:
        creds = self.registry_credentials
        return (self.marathon_password, creds.password if creds else None, self.slack_webhook, self.slack_token,
                self.zk_auth)

    def common(self) -> Common:
        return Common(command=self.command, dump=self.dump, json=self.json, quiet=self.quiet, verbose=self.verbose,
                      tls=self.tls, secrets=self.secrets())

    def files(self) -> Files:
        return Files(lock_dir=self.lock_dir, ledger=self.ledger, shared=self.lock_dir_shared, state=self.state,
                     zk_auth=self.zk_auth, zk_session_timeout=self.zk_session_timeout)

    def marathon(self) -> MarathonSettings:
        return MarathonSettings(url=self.marathon_url, user=self.marathon_user, password=self.marathon_password,
                                auth=self.marathon_auth, tls=self.tls, env=self.env, apps=self.app_ids,
                                app_group=self.app_group, parallel=self.parallel, concurrency=self.concurrency,
                                cache_dir=self.cache_dir, history_timeout=self.history_timeout,
                                max_versions=self.max_versions)

    def registry(self) -> RegistrySettings:
        return RegistrySettings(url=self.registry_url, credentials=self.registry_credentials,
                                docker_config=self.docker_config, tls=self.tls, concurrency=self.concurrency,
                                platform=self.platform, cache_dir=self.cache_dir, max_tags=self.max_tags)

    def slack(self) -> SlackSettings:
        return SlackSettings(webhook=self.slack_webhook, token=self.slack_token, channel=self.slack_channel,
                             build_url=self.build_url, secrets=self.secrets())

    def rollout(self, policy: FailurePolicy, revert_on: frozenset[FailureClass] | None = None) -> RolloutSettings:
        return RolloutSettings(timeout=self.timeout, parallel=self.parallel, force=self.force,
                               max_deployments=self.max_deployments, events=self.events, actor=self.actor,
                               build_url=self.build_url, waves=self.waves, policy=policy, revert_on=revert_on)

    def asks(self) -> Asks:
        assert self.env
        return Asks(env=self.env, date=self.date, at=self.at, rule=self.rule, scope=self.scope, strict=self.strict,
                    with_config=self.with_config, pin_digest=self.pin_digest, waves=self.waves,
                    min_soak=self.min_soak)


def get_settings(d: Door) -> GetSettings:
    assert d.env and d.branch
    return GetSettings(common=d.common(), env=d.env, branch=d.branch, services=d.services, keep=d.keep, tz=d.tz,
                       tag_pattern=d.tag_pattern, registry=d.registry(), marathon=d.marathon(), files=d.files(),
                       min_soak=d.min_soak)


def dates_settings(d: Door) -> DatesSettings:
    return DatesSettings(common=d.common())


def plan_settings(d: Door) -> PlanSettings:
    return PlanSettings(common=d.common(), asks=d.asks(), timeout=d.timeout, out=d.plan_out, actor=d.actor,
                        marathon=d.marathon(), files=d.files())


def run_settings(d: Door) -> RunSettings:
    return RunSettings(common=d.common(), asks=d.asks(), to_last_good=d.to_last_good, plan_file=d.plan_file,
                       dry_run=d.dry_run, marathon=d.marathon(), files=d.files(), rollout=d.rollout(d.on_failure),
                       slack=d.slack())


def undo_settings(d: Door) -> UndoSettings:
    assert d.snapshot or d.env
    return UndoSettings(common=d.common(), snapshot=d.snapshot, last_of=None if d.snapshot else d.env, marathon=d.marathon(), files=d.files(),
                        rollout=d.rollout(FailurePolicy.CONTINUE), slack=d.slack())


def deploy_settings(d: Door) -> DeploySettings:
    assert d.env
    return DeploySettings(common=d.common(), env=d.env, images=d.images, health_urls=d.health_urls,
                          health_grace=d.health_grace, auto_rollback=d.auto_rollback, marathon=d.marathon(),
                          files=d.files(), slack=d.slack(),
                          rollout=d.rollout(FailurePolicy.REVERT if d.auto_rollback else FailurePolicy.STOP,
                                            d.rollback_on))


def diff_settings(d: Door) -> DiffSettings:
    assert d.env and d.diff_from
    return DiffSettings(common=d.common(), env=d.env, diff_from=d.diff_from, diff_to=d.diff_to, at=d.at,
                        marathon=d.marathon(), files=d.files())


def status_settings(d: Door) -> StatusSettings:
    assert d.env
    return StatusSettings(common=d.common(), env=d.env, marathon=d.marathon(), files=d.files())


BUILDERS: Mapping[str, Callable[[Door], CommandSettings]] = {
    "get": get_settings, "dates": dates_settings, "plan": plan_settings, "run": run_settings, "undo": undo_settings, "deploy": deploy_settings, "diff": diff_settings,
    "status": status_settings,
}
