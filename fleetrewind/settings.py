"""docopt's dict + the environment + the config file -> one typed, frozen Settings.

Precedence, everywhere: flag > environment variable > config file > default.
Only this module (and cli.py) knows option names like ``'--date'``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .config_file import load_config
from .marathon.history import DEFAULT_READ_CAP
from .registry.scan import DEFAULT_MAX_TAGS
from .errors import UsageError
from .instants import is_date
from .secret import REGISTRY, Secret, redact, shorten, split_userinfo
from .registry.auth import RegistryCredentials
from .model.states import DEFAULT_ROLLBACK_ON, FailureClass
from .model.evidence import DEFAULT_MIN_SOAK
from .model.plan import FailurePolicy, Rule
from .model.scope import Scope
from .planning.scope import parse_pinned, parse_scope_flag
from .releases.index import find_zone
from .releases.tags import DEFAULT_BRANCHES, DEFAULT_TAG_PATTERN, branch_for_env, check_env, check_service, compile_tag_pattern, parse_services
from .transport import TLS, sanitize_url

# Numbers as typed: ASCII digits only, as for dates (int() and float() accept any script's digits).
_INT_RE = re.compile(r"[0-9]+", re.ASCII)
_FLOAT_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
FAILURE_POLICIES = tuple(FailurePolicy)
DEFAULT_TIMEOUT = 600.0
RULES = tuple(Rule)


@dataclass(frozen=True, kw_only=True)
class Settings:
    command: str
    dump: Path
    env: str | None = None
    branch: str | None = None
    services: tuple[str, ...] = ()
    keep: int | None = None
    date: str | None = None
    at: dt.datetime | None = None    # --at: a moment (UTC); ``date`` is then its day in ``tz``
    to_last_good: bool = False
    diff_from: str | None = None
    diff_to: str | None = None
    scope: Scope = Scope()
    snapshot: Path | None = None
    plan_out: Path | None = None   # plan --out: where the plan file goes
    plan_file: Path | None = None  # run --plan: the plan file to carry out
    images: tuple[tuple[str, str], ...] = ()
    health_urls: Mapping[str, str] = field(default_factory=dict)
    # endpoints and credentials
    registry_url: str | None = None
    registry_credentials: RegistryCredentials | None = None
    docker_config: Path | None = None
    marathon_url: str | None = None
    marathon_user: str | None = None
    marathon_password: Secret | None = None
    marathon_auth: str = "basic"
    tls: TLS = TLS()
    slack_webhook: Secret | None = None
    slack_token: Secret | None = None
    slack_channel: str | None = None
    # behaviour
    tz: dt.tzinfo = dt.timezone.utc
    tag_pattern: re.Pattern[str] = re.compile(DEFAULT_TAG_PATTERN)
    platform: str = "linux/amd64"
    concurrency: int = 16
    parallel: int = 8
    max_deployments: int = 100
    events: bool = False
    cache_dir: Path | None = None
    lock_dir: Path = Path(".")
    timeout: float = DEFAULT_TIMEOUT
    on_failure: FailurePolicy = FailurePolicy.STOP
    auto_rollback: bool = True
    rollback_on: frozenset[FailureClass] = DEFAULT_ROLLBACK_ON
    health_grace: float = 60.0
    dry_run: bool = False
    force: bool = False
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    app_ids: Mapping[str, str] = field(default_factory=dict)
    app_group: str | None = None
    waves: tuple[tuple[str, ...], ...] = ()
    pin_digest: bool = False
    ledger: Path | None = None
    actor: str = "unknown"
    build_url: str | None = None
    # Marathon's history as a second witness (docs/how-it-works.md)
    rule: Rule = Rule.BUILT
    strict: bool = False
    with_config: bool = False
    history_timeout: float = 10.0
    max_versions: int = DEFAULT_READ_CAP  # versions of an app's history read, newest first
    max_tags: int = DEFAULT_MAX_TAGS  # tags of the branch read per repository, newest builds first
    min_soak: float = DEFAULT_MIN_SOAK  # seconds a version must be seen healthy to be healthy (rule good)

    @property
    def ledger_file(self) -> Path:
        """``--ledger`` (from_args fills in the default); ``ledger.jsonl`` in the dump folder otherwise."""
        return self.ledger or self.dump / "ledger.jsonl"

    def secrets(self) -> list[Secret | None]:
        """Every secret this run knows, for the last-line redaction of messages."""
        creds = self.registry_credentials
        return [self.marathon_password, creds.password if creds else None, self.slack_webhook, self.slack_token]


def _pick(flag: Any, environ: Mapping[str, str], env_name: str | None, config: Mapping[str, Any],
          key: str | None, default: Any = None) -> Any:
    if flag not in (None, False):
        return flag
    if env_name and environ.get(env_name):
        return environ[env_name]
    if key and key in config:
        return config[key]
    return default


# Upper bounds: a pool of --parallel=10**8 connections is allocated up front (minutes and gigabytes
# before the first request), and a number of 5,000 digits cannot even be converted.
MAX_PARALLEL = 1000
MAX_CONCURRENCY = 256
MAX_COUNT = 10**9
MAX_SECONDS = 10**7  # about 115 days: any wave deadline or request timeout is far below it


def _positive_int(name: str, value: object, maximum: int = MAX_COUNT) -> int:
    text = str(value).strip() if not isinstance(value, int) or value.bit_length() < 64 else "a huge number"
    number = int(text) if _INT_RE.fullmatch(text) and len(text) <= 19 else 0
    if isinstance(value, bool) or number <= 0 or str(number) != text:
        raise UsageError(f'{name} must be a positive integer (found: "{_cut(text)}")')
    if number > maximum:
        raise UsageError(f'{name} must be a positive integer of at most {maximum} (found: "{text}")')
    return number


def _positive_float(name: str, value: object) -> float:
    text = str(value).strip() if not isinstance(value, int) or value.bit_length() < 64 else "a huge number"
    number = float(text) if _FLOAT_RE.fullmatch(text) else -1.0
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        raise UsageError(f'{name} must be a positive number of seconds (found: "{_cut(text)}")')
    if number > MAX_SECONDS:
        raise UsageError(f'{name} must be a positive number of seconds of at most {MAX_SECONDS} '
                         f'(found: "{_cut(text)}")')
    return number


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _url(name: str, value: str | None, *, base: bool = True) -> str | None:
    """An http(s) URL option. A server's base URL (``base``) takes no ``?query`` or ``#fragment``:
    paths are appended to it, and a query there (often a signature or a key) would be echoed."""
    if value is None:
        return None
    _userinfo_secret(name, value)
    if not re.match(r"^https?://[^\s/]+", value):
        raise UsageError(f"{name} must be an http:// or https:// URL (found: {shorten(redact(value))})")
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        if not parts.hostname:
            raise ValueError("no host name")
    except ValueError as exc:
        raise UsageError(f"{name} is not a usable URL ({_url_problem(exc)}; "
                         f"found: {shorten(redact(value))})") from None
    if base and (parts.query or parts.fragment or "?" in value or "#" in value):
        shown = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        raise UsageError(f"{name} must be the server's address without a ?query or #fragment (found: "
                         f"{shorten(redact(shown))} and a query or fragment, not shown)")
    return value.rstrip("/")


def _userinfo_secret(name: str, value: str) -> None:
    """The password of ``user:password@`` in a URL, typed with or without a scheme, valid or not, is a
    secret; one holding an unencoded ``/``, ``?`` or ``#`` would move the host a parser sees: refused."""
    _, userinfo, _ = split_userinfo(value)
    if userinfo is None:
        return
    user, _, password = userinfo.partition(":")
    REGISTRY.add_user(urllib.parse.unquote(user), Secret(urllib.parse.unquote(password or user), f"the password in {name}"))
    if any(c in userinfo for c in "/?#") or "@" in user:
        raise UsageError(f"{name}: the user or password in the URL holds '/', '?', '#' or '@'; percent-encode "
                         f"it (%2F, %3F, %23, %40) (found: {shorten(redact(value))})")


def _url_problem(exc: ValueError) -> str:
    text = str(exc)
    if "IPv6" in text:
        return "an IPv6 address must be closed with ]"
    if "Port" in text or "port" in text:
        return "the port must be a number from 1 to 65535"
    return "no host name"


def _loopback_http(url: str) -> bool:
    """An http:// URL to this machine (a local relay or a test bed): nothing crosses the network."""
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return False
    if not url.startswith("http://"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _tls(args: Mapping[str, Any], environ: Mapping[str, str], config: Mapping[str, Any]) -> TLS:
    """--ca-bundle > ROLLBACK_CA_BUNDLE > config ca_bundle > REQUESTS_CA_BUNDLE > CURL_CA_BUNDLE > system CAs."""
    candidates: list[tuple[str, Any]] = [("--ca-bundle", args.get("--ca-bundle")),
                                         ("ROLLBACK_CA_BUNDLE", environ.get("ROLLBACK_CA_BUNDLE")),
                                         ("config ca_bundle", config.get("ca_bundle"))]
    candidates += [(name, environ.get(name)) for name in CA_VARIABLES]
    source, ca_bundle = next(((n, v) for n, v in candidates if v), ("--ca-bundle", None))
    if ca_bundle and not Path(ca_bundle).is_file():
        hint = "; fix or unset it (the tool reads it as a CA bundle setting)" if source in CA_VARIABLES else ""
        raise UsageError(f"{source} {ca_bundle} is not a readable file{hint}")
    return TLS(ca_bundle=ca_bundle, insecure=bool(args.get("--insecure")), source=source)


def _timezone(value: str | None) -> dt.tzinfo:
    if not value:
        return dt.timezone.utc
    zone = find_zone(value)
    if zone is None:
        raise UsageError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris")
    return zone


_AT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


def check_moment(value: str) -> dt.datetime:
    """--at: ISO 8601 with an offset (``Z``, ``+01:00``) or followed by an IANA zone
    (``2026-11-19T14:05 Europe/Paris``, ``2026-11-19T14:05[Europe/Paris]``); the instant in UTC."""
    text = value.strip()
    zone: dt.tzinfo | None = None
    named = re.fullmatch(r"(.+?)(?:\s+|\[)([A-Za-z][A-Za-z0-9_+/-]*)\]?", text)
    if named and _AT.fullmatch(named.group(1)):
        zone = find_zone(named.group(2))
        if zone is None:
            raise UsageError(f"--at names an unknown time zone {named.group(2)!r}; use an IANA name such as "
                             "Europe/Paris, or an offset")
        text = named.group(1)
    match = re.fullmatch(r"(.+?)(Z|[+-]\d{2}:?\d{2})?", text)
    if not match or not _AT.fullmatch(match.group(1)) or not text.isascii():
        raise UsageError(f"--at must be an ISO 8601 time with an offset or zone, such as 2026-11-19T14:05+01:00 "
                         f"(found: {value!r})")
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at {value!r} is not a valid time") from None
    if zone is not None:
        moment = moment.replace(tzinfo=zone)
    if moment.tzinfo is None:
        raise UsageError(f"--at needs an offset or a zone (2026-11-19T14:05+01:00 or 2026-11-19T14:05 "
                         f"Europe/Paris): a time alone is ambiguous (found: {value!r})")
    return moment.astimezone(dt.timezone.utc)


def check_date(value: str, *, flag: str = "--date") -> str:
    """A date as the index writes it; the check that it is offered happens against the index."""
    if not is_date(value):
        raise UsageError(f"{flag} must look like 2026-11-19 (found: {value!r})")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a calendar date") from None
    return value


def _pairs(name: str, values: list[str], *, url: bool = False) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in values:
        service, sep, value = item.partition("=")
        if not sep or not service or not value:
            raise UsageError(f"{name} must look like <service>=<value> (found: {item!r})")
        check_service(service, flag=name)
        if service in seen:
            raise UsageError(f"{name} names service {service!r} twice")
        seen.add(service)
        if url:
            _url(name, value, base=False)
        pairs.append((service, value))
    return tuple(pairs)


def _waves(config: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    raw = config.get("waves", [])
    waves: list[tuple[str, ...]] = []
    for wave in raw:
        if isinstance(wave, str):
            wave = [wave]
        if not isinstance(wave, list) or not all(isinstance(s, str) for s in wave):
            raise UsageError(f"config 'waves' must be a list of lists of service names (found: {shorten(raw)})")
        waves.append(tuple(wave))
    return tuple(waves)


def _str_map(config: Mapping[str, Any], key: str) -> dict[str, str]:
    raw = config.get(key, {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise UsageError(f"config {key!r} must map names to strings (found: {shorten(raw)})")
    return dict(raw)


def _registry_credentials(environ: Mapping[str, str]) -> RegistryCredentials | None:
    user, password = environ.get("REGISTRY_USER"), environ.get("REGISTRY_PASSWORD")
    if user and password:
        secret = Secret(password, "REGISTRY_PASSWORD")
        REGISTRY.add_user(user, secret)
        return RegistryCredentials(user=user, password=secret)
    if user or password:
        raise UsageError("set both REGISTRY_USER and REGISTRY_PASSWORD, or neither")
    return None


def _marathon_password(args: Mapping[str, Any], environ: Mapping[str, str]) -> Secret | None:
    if args.get("--pwd"):
        return Secret(args["--pwd"], "--pwd")
    if args.get("--pwd-file"):
        path = args["--pwd-file"]
        try:
            return Secret(Path(path).read_text(encoding="utf-8").strip(), "the password in --pwd-file")
        except OSError as exc:
            raise UsageError(f"cannot read --pwd-file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--pwd-file {path} is not UTF-8 text; write the password as UTF-8") from None
    if environ.get("MARATHON_PASSWORD"):
        return Secret(environ["MARATHON_PASSWORD"], "MARATHON_PASSWORD")
    return None


COMMANDS = ("get", "dates", "plan", "run", "undo", "deploy", "diff", "status")


def from_args(args: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Build Settings from docopt's dict; every bad value fails here with the value in the message."""
    command = next(name for name in COMMANDS if args.get(name))
    config = load_config(args.get("--config") or environ.get("ROLLBACK_CONFIG"))
    values: dict[str, Any] = {"command": command}

    dump = Path(args.get("--dump") or ".")
    values["dump"] = dump

    env = args.get("--env")
    if env is not None:
        check_env(env)
        values["env"] = env
        branches = dict(DEFAULT_BRANCHES)
        branches.update(_str_map(config, "branches"))
        values["branch"] = args.get("--branch") or branch_for_env(env, branches)
    if args.get("--repo") is not None:
        values["services"] = parse_services(args["--repo"])
    keep = _pick(args.get("--keep"), environ, None, config, "keep")
    if keep is not None:
        values["keep"] = _positive_int("--keep", keep)
    if args.get("--date") is not None:
        values["date"] = check_date(args["--date"])
    if command == "diff":
        if args.get("--at") is not None:  # a moment instead of the end of a day
            values["at"] = check_moment(args["--at"])
            values["diff_from"] = values["at"].date().isoformat()
        else:
            values["diff_from"] = check_date(args["--from"], flag="--from")
        if args.get("--to") is not None:
            values["diff_to"] = check_date(args["--to"], flag="--to")
            if values["diff_to"] < values["diff_from"]:
                raise UsageError(f"--from {values['diff_from']} is after --to {values['diff_to']}; "
                                 "--from is the older date")
    elif args.get("--to") is not None:
        if args["--to"] != "last-good":
            raise UsageError(f'--to accepts only "last-good" (found: {args["--to"]!r})')
        values["to_last_good"] = True
    values["scope"] = Scope(only=parse_scope_flag("--only", args.get("--only")),
                            exclude=parse_scope_flag("--exclude", args.get("--exclude")) or (),
                            pinned=parse_pinned(config.get("pinned")) if command in ("plan", "run") else {})
    if args.get("--out"):
        values["plan_out"] = Path(args["--out"])
    if args.get("--plan"):
        given = [flag for flag in ("--only", "--exclude", "--rule", "--strict", "--with-config", "--dry-run")
                 if args.get(flag)]
        if given:
            raise UsageError(f"run --plan carries the plan's scope, rule and flags; drop {', '.join(given)} "
                             "(or make a new plan with them)")
        values["plan_file"] = Path(args["--plan"])
    if args.get("--snapshot"):
        values["snapshot"] = Path(args["--snapshot"])
    if args.get("--image"):
        values["images"] = _pairs("--image", args["--image"])
    if args.get("--health-url"):
        values["health_urls"] = dict(_pairs("--health-url", args["--health-url"], url=True))
        unknown = set(values["health_urls"]) - {svc for svc, _ in values.get("images", ())}
        if unknown:
            raise UsageError(f"--health-url names {', '.join(sorted(unknown))}, which no --image deploys")

    values["registry_url"] = _url("--registry", _pick(args.get("--registry"), environ, "DOCKER_REGISTRY", config, "registry"))
    values["registry_credentials"] = _registry_credentials(environ)
    docker_config = environ.get("DOCKER_CONFIG")
    values["docker_config"] = Path(docker_config) / "config.json" if docker_config else Path.home() / ".docker" / "config.json"
    values["marathon_url"] = _url("--marathon", _pick(args.get("--marathon"), environ, "MARATHON_URL", config, "marathon"))
    values["marathon_user"] = _pick(args.get("--user"), environ, "MARATHON_USER", config, "marathon_user")
    values["marathon_password"] = _marathon_password(args, environ)
    if values["marathon_user"] and values["marathon_password"]:
        REGISTRY.add_user(values["marathon_user"], values["marathon_password"])
    auth = _pick(args.get("--marathon-auth"), environ, "MARATHON_AUTH", config, "marathon_auth", "basic")
    if auth not in ("basic", "dcos"):
        raise UsageError(f'--marathon-auth must be basic or dcos (found: "{auth}")')
    values["marathon_auth"] = auth

    values["tls"] = _tls(args, environ, config)

    slack = args.get("--slack") or environ.get("SLACK_WEBHOOK_URL")
    if slack:
        if not re.match(r"^https://", slack) and not _loopback_http(slack):
            # The URL is the credential: over http it would cross the network in clear.
            raise UsageError("--slack must be an incoming-webhook URL starting with https:// (http:// only to a "
                             "loopback address; value hidden)")
        values["slack_webhook"] = Secret(slack, "the Slack webhook URL")
        token = slack.rstrip("/").rsplit("/", 1)[-1]
        if len(token) >= 8:
            Secret(token, "the Slack webhook URL")
    if environ.get("SLACK_BOT_TOKEN"):
        values["slack_token"] = Secret(environ["SLACK_BOT_TOKEN"], "SLACK_BOT_TOKEN")
    values["slack_channel"] = _pick(args.get("--slack-channel"), environ, "SLACK_CHANNEL", config, "slack_channel")

    values["tz"] = _timezone(_pick(args.get("--tz"), environ, "ROLLBACK_TZ", config, "timezone"))
    values["tag_pattern"] = compile_tag_pattern(_pick(args.get("--tag-pattern"), environ, None, config, "tag_pattern", DEFAULT_TAG_PATTERN))
    platform = _pick(args.get("--platform"), environ, None, config, "platform", "linux/amd64")
    if not re.match(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$", platform):
        raise UsageError(f'--platform must look like linux/amd64 (found: "{platform}")')
    values["platform"] = platform
    values["concurrency"] = _positive_int("--concurrency", _pick(args.get("--concurrency"), environ, None, config, "concurrency", 16),
                                         MAX_CONCURRENCY)
    values["parallel"] = _positive_int("--parallel", _pick(args.get("--parallel"), environ, None, config, "parallel", 8),
                                      MAX_PARALLEL)
    values["max_deployments"] = _positive_int("max_deployments", config.get("max_deployments", 100))
    values["max_tags"] = _positive_int("max_tags", config.get("max_tags", DEFAULT_MAX_TAGS), 10**6)
    values["events"] = bool(config.get("events", False))
    if not args.get("--no-cache"):
        cache = _pick(args.get("--cache-dir"), environ, "ROLLBACK_CACHE_DIR", config, "cache_dir")
        values["cache_dir"] = Path(cache) if cache else _default_cache(environ)
    lock_dir = _pick(args.get("--lock-dir"), environ, "ROLLBACK_LOCK_DIR", config, "lock_dir")
    values["lock_dir"] = Path(lock_dir) if lock_dir else _default_lock_dir(environ)
    values["timeout"] = _positive_float("--timeout", _pick(args.get("--timeout"), environ, None, config, "timeout", DEFAULT_TIMEOUT))
    policy = _pick(args.get("--on-failure"), environ, None, config, "on_failure", "stop")
    if policy not in FAILURE_POLICIES:
        raise UsageError(f'--on-failure must be one of {", ".join(FAILURE_POLICIES)} (found: "{policy}")')
    values["on_failure"] = FailurePolicy(policy)
    auto = args.get("--auto-rollback") or "on"
    if auto not in ("on", "off"):
        raise UsageError(f'--auto-rollback must be on or off (found: "{auto}")')
    values["auto_rollback"] = auto == "on"
    # every class the executor can report is accepted: the list is FailureClass itself
    rollback_on = config.get("rollback_on", sorted(DEFAULT_ROLLBACK_ON))
    known = [str(c) for c in FailureClass]
    bad = [c for c in rollback_on if c not in known]
    if bad:
        raise UsageError(f"config 'rollback_on' has unknown classes {bad} (known: {', '.join(known)})")
    values["rollback_on"] = frozenset(FailureClass(c) for c in rollback_on)
    values["health_grace"] = _positive_float("health_grace", config.get("health_grace", 60.0))
    values["app_ids"] = _str_map(config, "apps")
    values["app_group"] = config.get("app_group")
    values["waves"] = _waves(config)
    values["pin_digest"] = bool(config.get("pin_digest", False))
    ledger = _pick(args.get("--ledger"), environ, "ROLLBACK_LEDGER", config, "ledger")
    values["ledger"] = Path(ledger) if ledger else dump / "ledger.jsonl"
    values["actor"] = _pick(args.get("--actor"), environ, "BUILD_USER", {}, None) or environ.get("USER") or _whoami()
    # a BUILD_URL with user:token@ would carry a credential into reports, JUnit and Slack
    if environ.get("BUILD_URL"):
        _userinfo_secret("BUILD_URL", environ["BUILD_URL"])
    values["build_url"] = sanitize_url(environ["BUILD_URL"]) if environ.get("BUILD_URL") else None
    values.update(_history_settings(args, config))
    if args.get("--at") is not None and command != "diff":
        if values["rule"] == Rule.BUILT:
            raise UsageError("--at names a moment, which only --rule=ran or --rule=good can answer; "
                             "add --rule=ran or --rule=good, or use --date")
        values["at"] = check_moment(args["--at"])
        values["date"] = values["at"].astimezone(values["tz"]).date().isoformat()
    # Words the run prints: a secret equal to one of them is too weak to hide everywhere.
    REGISTRY.common_words([values.get("env") or "", values.get("branch") or "", *values.get("services", ()),
                           *dict(DEFAULT_BRANCHES).values(), *dict(DEFAULT_BRANCHES)])
    for flag in ("dry_run", "force", "json", "quiet", "verbose"):
        values[flag] = bool(args.get("--" + flag.replace("_", "-")))
    if values["quiet"] and values["verbose"]:
        raise UsageError("--quiet and --verbose cannot be used together")
    return Settings(**values)


def _history_settings(args: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    rule = args.get("--rule") or config.get("rule", "built")
    if rule not in RULES:
        raise UsageError(f'--rule must be built, ran or good (found: "{rule}")')
    strict = config.get("strict", False)
    if not isinstance(strict, bool):
        raise UsageError(f"config 'strict' must be true or false (found: {strict!r})")
    with_config = bool(args.get("--with-config"))
    if with_config and args.get("--rule") in ("built", "good"):
        raise UsageError("--with-config restores the definition Marathon held at the date, which is --rule=ran; "
                         f"drop --rule={args['--rule']}")
    return {"rule": Rule.RAN if with_config else Rule(rule), "strict": bool(args.get("--strict")) or strict,
            "with_config": with_config,
            "history_timeout": _positive_float("history_timeout", config.get("history_timeout", 10.0)),
            "max_versions": _positive_int("max_versions", config.get("max_versions", DEFAULT_READ_CAP), 100_000),
            "min_soak": _positive_float("min_soak", config.get("min_soak", DEFAULT_MIN_SOAK))}


def _default_cache(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fleetrewind"


def _default_lock_dir(environ: Mapping[str, str]) -> Path:
    """Per user, not per --dump folder: two runs of one environment meet here whatever --dump says."""
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "fleetrewind"


def _whoami() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def dumps_settings(settings: Settings) -> str:
    """A printable view for --verbose; secrets show as <hidden>."""
    shown = {k: (repr(v) if isinstance(v, Secret) else str(v)) for k, v in vars(settings).items()}
    return json.dumps(shown, sort_keys=True)
