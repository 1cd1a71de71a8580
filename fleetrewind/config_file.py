"""The optional YAML config file: non-secret settings only, every key typed and checked."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .errors import UsageError
from .secret import secret_name, shorten
from .inputs import read_text

if TYPE_CHECKING:
    import yaml

# key -> (accepted types, description). Secrets are not accepted here on purpose.
KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "registry": ((str,), "registry URL"),
    "marathon": ((str,), "Marathon URL"),
    "marathon_user": ((str,), "Marathon user"),
    "marathon_auth": ((str,), "basic or dcos"),
    "timezone": ((str,), "IANA zone for dates, e.g. Europe/Paris"),
    "tag_pattern": ((str,), "regular expression with a (?P<branch>) group"),
    "branches": ((dict,), "environment -> branch"),
    "platform": ((str,), "os/arch of manifest lists"),
    "concurrency": ((int,), "parallel registry requests"),
    "parallel": ((int,), "parallel deployments in a wave"),
    "events": ((bool,), "follow Marathon's event stream for deployment ends (falls back to polling)"),
    "max_deployments": ((int,), "running deployments Marathon admits at once (its max_running_deployments)"),
    "cache_dir": ((str,), "registry cache folder"),
    "lock_dir": ((str,), "file store: absolute folder of the environment locks (default /run/lock/fleetrewind)"),
    "state": ((str,), "file, or zk://host:port[,host:port...]/<chroot>: where the lock, journal and snapshots live"),
    "zk_session_timeout": ((int, float), "seconds a ZooKeeper session outlives a silent client (default 10)"),
    "timeout": ((int, float), "seconds a wave may take"),
    "on_failure": ((str,), "stop, continue or revert"),
    "apps": ((dict,), "service -> Marathon app id"),
    "app_group": ((str,), "prefix of app ids, e.g. /ds"),
    "waves": ((list,), "list of lists of services, deployed in that order"),
    "slack_channel": ((str,), "channel for a bot token"),
    "ca_bundle": ((str,), "CA bundle file"),
    "ledger": ((str,), "JSON-lines history of deployments"),
    "rollback_on": ((list,), "failure classes that trigger an automatic rollback"),
    "health_grace": ((int, float), "seconds a health URL may take to answer 2xx"),
    "keep": ((int,), "releases kept per service"),
    "pin_digest": ((bool,), "deploy by digest instead of tag"),
    "pinned": ((list, dict), "services plan and run leave alone unless --only names them (list, or service: reason)"),
    "rule": ((str,), "built, ran or good: which witness chooses each image"),
    "strict": ((bool,), "refuse when a target never ran or the set never ran together"),
    "history_timeout": ((int, float), "seconds one read of Marathon's version history may take"),
    "max_versions": ((int,), "versions of an app's history read, newest first"),
    "max_tags": ((int,), "tags of the branch read per repository by get, newest builds first"),
    "min_soak": ((int, float), "seconds a version must be seen healthy to count as healthy (rule good)"),
}


class _AliasFound(Exception):
    def __init__(self, line: int) -> None:
        super().__init__("alias")
        self.line = line


@functools.cache
def _no_alias_loader() -> type[yaml.SafeLoader]:
    """safe_load's loader, but an anchor or alias is refused: a few hundred bytes of aliases expand to gigabytes.

    Made at the first config file read: without a config file, PyYAML is never loaded (a tenth of a
    ``get``'s imports, docs/performance.md)."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _AliasFound(event.start_mark.line + 1)
            return super().compose_node(parent, index)

    return NoAliasLoader


Value = str | int | float | bool | list[object] | dict[object, object]  # YAML's, each key's type checked on load


@dataclass(frozen=True)
class Config:
    """A config file as read and checked: each key's value, read through the type ``KEYS`` gives it."""

    values: Mapping[str, Value] = field(default_factory=dict)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def raw(self, key: str) -> Value | None:
        """The value as the file has it (to be checked further by the reader, and named in its message)."""
        return self.values.get(key)

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if isinstance(value, str) else None

    def flag(self, key: str) -> bool:
        return self.values.get(key) is True

    def items(self, key: str) -> list[object]:
        value = self.values.get(key)
        return list(value) if isinstance(value, list) else []

    def mapping(self, key: str) -> dict[object, object]:
        value = self.values.get(key)
        return dict(value) if isinstance(value, dict) else {}


def load_config(path: str | None) -> Config:
    """Read and check a config file; ``None`` gives an empty config."""
    if not path:
        return Config()
    file = Path(path)
    try:
        text = read_text(file)
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    import yaml

    try:
        data = yaml.load(text, Loader=_no_alias_loader())  # noqa: S506 - a SafeLoader without aliases
    except _AliasFound as exc:
        raise UsageError(f"config file {path} uses a YAML alias or anchor at line {exc.line}; "
                         "write each value out (aliases can expand without bound)") from None
    except RecursionError:
        raise UsageError(f"config file {path} is nested too deeply to read; a config is a flat mapping") from None
    except ValueError:  # yaml converts a number of thousands of digits with int(), which refuses it
        raise UsageError(f"config file {path} holds a number too long to read; write a real value") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError(f"config file {path} is not valid YAML{where}") from None
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must be a mapping of keys to values (found: {type(data).__name__})")
    for key, value in data.items():
        if key not in KEYS:
            if secret_name(key):
                raise UsageError(
                    f"config file {path}: {shorten(key)} looks like a secret; secrets come from the environment "
                    "or flags, never the config file"
                )
            raise UsageError(f"config file {path}: unknown key {shorten(key)} (known: {', '.join(sorted(KEYS))})")
        types, what = KEYS[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise UsageError(
                f"config file {path}: {key!r} must be {' or '.join(t.__name__ for t in types)} ({what}), "
                f"found {type(value).__name__}: {shorten(value)}"
            )
    return Config(data)
