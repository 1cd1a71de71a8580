"""The plan file (``plan --out``, ``run --plan``): a saved plan, applied exactly or refused.

Format ``fleetrewind-plan/1``: the typed :class:`Plan` serialised field by field, the inputs it
was made from (the rollback.json digest, each app's Marathon version at plan time, rule, moment,
scope, flags), and a digest over the whole document. Pure: reading, writing and comparing; the
command reads Marathon and holds the lock. Serialising follows the dataclass fields, so a field
another part adds to the plan (a moment, a verdict) travels without a change here.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Mapping, TypeVar, Union

from ..atomic import write_text
from ..errors import RefusedError, UsageError
from ..model.plan import Plan

FORMAT = "fleetrewind-plan/1"


@dataclass(frozen=True, kw_only=True)
class PlanInputs:
    """What the plan was made from: ``run --plan`` refuses when any of it changed since."""

    index_digest: str | None  # of rollback.json's content (generated_at and the ran labels aside)
    versions: Mapping[str, str | None]  # service -> its app's Marathon version at plan time (in scope)
    rule: str
    moment: Mapping[str, str | None]  # date (and at, where the rule takes an instant)
    scope: Mapping[str, object]
    flags: Mapping[str, bool]  # strict, with_config, pin_digest


@dataclass(frozen=True, kw_only=True)
class SavedPlan:
    plan: Plan
    inputs: PlanInputs
    created_at: str = ""
    created_by: str = ""
    path: Path = field(default=Path("plan.json"), compare=False)


def index_digest(document: Mapping[str, object]) -> str:
    """rollback.json's content, without what changes on every ``get`` of the same releases."""
    kept = {k: v for k, v in document.items() if k not in ("generated_at", "ran")}
    return "sha256:" + hashlib.sha256(_canonical(kept).encode()).hexdigest()


def write_plan(path: Path, saved: SavedPlan) -> Path:
    body = {"format": FORMAT, "created_at": saved.created_at, "created_by": saved.created_by,
            "inputs": _encode(saved.inputs), "plan": _encode(saved.plan)}
    document = {**body, "digest": _digest(body)}
    try:
        write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n", mode=0o644)
    except OSError as exc:
        raise UsageError(f"cannot write the plan to --out {path}: {exc.strerror or type(exc).__name__}") from None
    return path


def read_plan(path: Path) -> SavedPlan:
    """A plan file as written; exit 2 when it is not one or was altered since."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--plan {path}: no such file; write one with `rollback.py plan --out={path}`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"--plan {path} is not a plan file ({_why(exc)}); write one with plan --out") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format", "missing") if isinstance(document, dict) else "not a JSON object"
        raise UsageError(f"--plan {path} is not a plan file (format: {str(found)[:40]}; this tool reads {FORMAT})")
    body = {k: v for k, v in document.items() if k != "digest"}
    if document.get("digest") != _digest(body):
        raise UsageError(f"--plan {path} was altered after `plan --out` wrote it (its digest does not match); "
                         "make a new plan")
    try:
        return SavedPlan(plan=_load(Plan, body["plan"]), inputs=_load(PlanInputs, body["inputs"]),
                         created_at=str(body.get("created_at", "")), created_by=str(body.get("created_by", "")),
                         path=path)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"--plan {path} is not a plan this tool can run ({_why(exc)}); make a new plan") from None


def moved(saved: SavedPlan, versions_now: Mapping[str, str | None]) -> list[str]:
    """Each app in the plan's scope whose definition is not the one planned from, with its version now."""
    found = []
    for step in saved.plan.steps:
        if step.service not in saved.inputs.versions:
            continue
        then, now = saved.inputs.versions[step.service], versions_now.get(step.service)
        if then != now:
            found.append(f"{step.service} ({step.app_id}) is at version {now or 'unknown (gone)'}, "
                         f"planned from {then or 'unknown'}")
    return found


def refuse_stale(saved: SavedPlan, versions_now: Mapping[str, str | None], digest_now: str | None) -> None:
    """Exit 3, nothing changed, when the fleet or rollback.json is not what the plan was made from."""
    problems = moved(saved, versions_now)
    if problems:
        raise RefusedError(f"the plan {saved.path.name} is stale: {'; '.join(problems)}; nothing was changed; "
                           "make a new plan and approve it again")
    if digest_now is not None and saved.inputs.index_digest is not None and digest_now != saved.inputs.index_digest:
        raise RefusedError(f"the plan {saved.path.name} is stale: rollback.json changed since it was made "
                           "(a new get); nothing was changed; make a new plan and approve it again")


def _why(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}")[:120]


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(body: Mapping[str, object]) -> str:
    return "sha256:" + hashlib.sha256(_canonical(body).encode()).hexdigest()


# --- a small codec for the frozen dataclasses of a plan ------------------------------------------

def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.compare or f.init}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"a plan cannot hold a {type(value).__name__}")


T = TypeVar("T")


def _load(kind: type[T], data: object) -> T:
    value = _decode(kind, data)
    if not isinstance(value, kind):
        raise TypeError(f"{kind.__name__} must be an object")
    return value


def _decode(kind: object, data: object) -> object:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is object:
        return data
    if origin in (Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _decode(option, data)
            except (TypeError, ValueError, KeyError):
                continue
        raise ValueError(f"{str(data)[:40]!r} is none of {kind}")
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        fields = _expect(data, dict)
        hints = typing.get_type_hints(kind)
        values = {f.name: _decode(hints[f.name], fields[f.name]) for f in dataclasses.fields(kind)
                  if f.init and (f.name in fields or (f.default is dataclasses.MISSING
                                                      and f.default_factory is dataclasses.MISSING))}
        return kind(**values)
    if origin is tuple:
        items = _expect(data, list)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in items)
        return tuple(_decode(a, v) for a, v in zip(args, items, strict=True))
    if origin is list:
        return [_decode(args[0], v) for v in _expect(data, list)]
    if origin in (dict, collections.abc.Mapping) or kind is dict:
        key, item = args or (str, object)
        return {_decode(key, k): _decode(item, v) for k, v in _expect(data, dict).items()}
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(_expect(data, str))
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if kind is Path:
        return Path(_expect(data, str))
    if kind in (str, int, float, bool) and isinstance(kind, type):
        if not isinstance(data, kind) or (kind is int and isinstance(data, bool)):
            raise TypeError(f"a {kind.__name__} was expected")
        return data
    raise TypeError(f"cannot read a {kind}")


def _expect(data: object, kind: type[T]) -> T:
    if not isinstance(data, kind):
        raise TypeError(f"a {kind.__name__} was expected")
    return data
