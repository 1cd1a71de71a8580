"""The checks of single values at the door: numbers, URLs, dates, pairs, the CA bundle, credentials.

Each refuses a bad value with the value in the message (a secret never shown). ``Sources`` is the
one precedence: flag > environment variable > config file > default.
"""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, overload

from ..config_file import Config
from ..usage import CommandLine
from ..errors import UsageError
from ..instants import is_date
from ..secret import REGISTRY, Secret, redact, shorten, split_userinfo
from ..registry.auth import RegistryCredentials
from ..model.plan import FailurePolicy, Rule
from ..releases.index import find_zone
from ..model.names import check_service
from ..transport import TLS
from ..state.file import default_lock_dir
from ..state.url import StateUrl, parse_state_url

# Numbers as typed: ASCII digits only, as for dates (int() and float() accept any script's digits).
_INT_RE = re.compile(r"[0-9]+", re.ASCII)
_FLOAT_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
FAILURE_POLICIES = tuple(FailurePolicy)
DEFAULT_TIMEOUT = 600.0
RULES = tuple(Rule)




@dataclass(frozen=True)
class Sources:
    """Where a setting can come from: the command line, the environment, the config file (each typed at its edge)."""

    args: CommandLine
    environ: Mapping[str, str]
    config: Config

    @overload
    def pick(self, flag: str | None, env_name: str | None, key: str | None, default: str) -> str: ...

    @overload
    def pick(self, flag: str | None, env_name: str | None, key: str | None, default: None = None) -> str | None: ...

    def pick(self, flag: str | None, env_name: str | None, key: str | None, default: str | None = None) -> str | None:
        """A text setting: flag > environment variable > config file > default."""
        value = self.pick_from(flag, env_name, key, default)[0]
        return default if value is None else value

    def pick_from(self, flag: str | None, env_name: str | None, key: str | None,
                  default: str | None = None) -> tuple[str | None, str]:
        """The text ``pick`` chooses, and where it came from (``--marathon``, ``MARATHON_URL`` or ``config
        key marathon``), so a bad value is blamed on the place the user must fix."""
        given = self.args.text(flag) if flag else None
        if given is not None:
            return given, flag or ""
        if env_name and self.environ.get(env_name):
            return self.environ[env_name], env_name
        if key and key in self.config:
            return self.config.text(key), f"config key {key}"
        return default, flag or env_name or f"config key {key}"

    def pick_number(self, flag: str | None, key: str, default: float | None) -> object:
        """A number setting, as typed (flag > config file > default); ``_positive_int`` or ``_positive_float``
        checks it, and names it in its message."""
        given = self.args.text(flag) if flag else None
        if given is not None:
            return given
        return self.config.raw(key) if key in self.config else default


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


def _tls(args: CommandLine, environ: Mapping[str, str], config: Config) -> TLS:
    """--ca-bundle > ROLLBACK_CA_BUNDLE > config ca_bundle > REQUESTS_CA_BUNDLE > CURL_CA_BUNDLE > system CAs."""
    candidates: list[tuple[str, str | None]] = [("--ca-bundle", args.text("--ca-bundle")),
                                                ("ROLLBACK_CA_BUNDLE", environ.get("ROLLBACK_CA_BUNDLE")),
                                                ("config ca_bundle", config.text("ca_bundle"))]
    candidates += [(name, environ.get(name)) for name in CA_VARIABLES]
    source, ca_bundle = next(((n, v) for n, v in candidates if v), ("--ca-bundle", None))
    if ca_bundle and not Path(ca_bundle).is_file():
        hint = "; fix or unset it (the tool reads it as a CA bundle setting)" if source in CA_VARIABLES else ""
        raise UsageError(f"{source} {ca_bundle} is not a readable file{hint}")
    return TLS(ca_bundle=ca_bundle, insecure=args.switch("--insecure"), source=source)


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


def _waves(config: Config) -> tuple[tuple[str, ...], ...]:
    raw = config.items("waves")
    waves: list[tuple[str, ...]] = []
    for wave in raw:
        if isinstance(wave, str):
            wave = [wave]
        if not isinstance(wave, list) or not all(isinstance(s, str) for s in wave):
            raise UsageError(f"config 'waves' must be a list of lists of service names (found: {shorten(raw)})")
        waves.append(tuple(wave))
    return tuple(waves)


def _str_map(config: Config, key: str) -> dict[str, str]:
    raw = config.mapping(key)
    typed = {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
    if len(typed) != len(raw):
        raise UsageError(f"config {key!r} must map names to strings (found: {shorten(raw)})")
    return typed


def _registry_credentials(environ: Mapping[str, str]) -> RegistryCredentials | None:
    user, password = environ.get("REGISTRY_USER"), environ.get("REGISTRY_PASSWORD")
    if user and password:
        secret = Secret(password, "REGISTRY_PASSWORD")
        REGISTRY.add_user(user, secret)
        return RegistryCredentials(user=user, password=secret)
    if user or password:
        raise UsageError("set both REGISTRY_USER and REGISTRY_PASSWORD, or neither")
    return None


def _marathon_password(args: CommandLine, environ: Mapping[str, str]) -> Secret | None:
    password, path = args.text("--pwd"), args.text("--pwd-file")
    if password:
        return Secret(password, "--pwd")
    if path:
        try:
            return Secret(Path(path).read_text(encoding="utf-8").strip(), "the password in --pwd-file")
        except OSError as exc:
            raise UsageError(f"cannot read --pwd-file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--pwd-file {path} is not UTF-8 text; write the password as UTF-8") from None
    if environ.get("MARATHON_PASSWORD"):
        return Secret(environ["MARATHON_PASSWORD"], "MARATHON_PASSWORD")
    return None


def _default_cache(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fleetrewind"


def _state_settings(src: Sources) -> tuple[Path, bool, StateUrl, Secret | None]:
    """(the file store's lock folder, whether it is the machine-wide default, the store of ``state``,
    ROLLBACK_ZK_AUTH): the lock folder must be absolute, '' included (config lock_dir: '')."""
    state = parse_state_url(src.pick("--state", "ROLLBACK_STATE", "state"))
    auth = src.environ.get("ROLLBACK_ZK_AUTH")
    zk_auth = Secret(auth, "ROLLBACK_ZK_AUTH") if auth else None
    if auth:
        user, colon, password = auth.partition(":")
        if not (user and colon and password):
            raise UsageError("ROLLBACK_ZK_AUTH must be user:password (ZooKeeper digest credentials)")
    for name, value in (("--lock-dir", src.args.text("--lock-dir")),
                        ("ROLLBACK_LOCK_DIR", src.environ.get("ROLLBACK_LOCK_DIR") or None),  # set empty: unset
                        ("config lock_dir", src.config.raw("lock_dir"))):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or not Path(value).is_absolute():
            raise UsageError(f"{name} must be an absolute folder (found: {shorten(value)}); an empty or relative "
                             "one would give each working folder its own lock")
        return Path(value), False, state, zk_auth
    return default_lock_dir(), True, state, zk_auth


def _whoami() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
