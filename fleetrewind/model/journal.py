"""The journal: typed entries of what this tool did (and, later, saw) in an environment.

Every store (the ledger file, ZooKeeper) holds entries as JSON objects with a ``kind``; this
module is the one place that turns such an object into a typed entry and back. Reading is
lenient where a crash or an older version can leave something odd (a torn line, an unknown
kind: skipped), strict where a value would be acted on (the images of a run: checked like typed
input, the problem kept on the entry and raised by whoever acts on it).

API:

- :func:`parse_entry` (``doc, where`` -> an entry, or None to skip) and :func:`entry_doc`
  (entry -> JSON object with its ``kind``). Lines written before kinds existed are ``run``.
- Entries are frozen dataclasses with ``KIND`` (a class constant), ``env`` and ``at`` (ISO
  time text), a ``to_doc()`` and a classmethod ``from_doc(doc, where)`` (None: no entry).
- Kinds: ``run`` (:class:`RunEntry`: a run, undo or deploy as it ended), ``observation``
  (:class:`ObservationEntry`: what a ``get`` saw of one app).

Adding a kind is a local edit here: write the dataclass with those four members, decorate it
with ``@register``, and add it to the :data:`JournalEntry` union. Stores need no change; readers
pick the entries they want with ``isinstance``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Mapping, TypeVar

from ..errors import UsageError
from ..instants import read_instant
from .evidence import Observation, TaskFailure
from .imageref import check_image
from .names import check_service


Doc = Mapping[str, object]  # one stored entry as JSON gives it
_PARSERS: dict[str, Callable[[Doc, str], "JournalEntry | None"]] = {}
K = TypeVar("K")


def register(cls: K) -> K:
    """Class decorator: entries of ``cls.KIND`` are parsed by ``cls.from_doc``."""
    _PARSERS[getattr(cls, "KIND")] = getattr(cls, "from_doc")
    return cls


def _str(doc: Doc, key: str, limit: int = 200) -> str:
    value = doc.get(key)
    return str(value)[:limit] if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


@dataclass(frozen=True, kw_only=True)
class Tried:
    image: str
    status: str  # a services[].status of the report (rolled-back: it failed and was put back)
    version: str | None = None  # the app version seen running healthy (when it ended well)
    finished_at: str | None = None  # when the tool saw it done
    seconds: float | None = None  # how long the tool watched it


@dataclass(frozen=True, kw_only=True)
class RunEntry:
    """One run, undo or deploy as it ended (the ledger line). ``images``: the fleet after it, when it ended well."""

    KIND: ClassVar[str] = "run"
    env: str
    at: str  # when it finished
    command: str = ""
    date: str = ""
    actor: str = ""
    state: str = ""
    report: str = ""
    run_id: str = ""
    snapshot: str = ""  # the undo reference of its snapshot (what ``undo --snapshot=`` takes); "" when none
    started_at: str = ""
    images: Mapping[str, str] = field(default_factory=dict)
    tried: Mapping[str, Tried] = field(default_factory=dict)
    problem: str | None = None  # why ``images`` cannot be used (not text where an image should be)
    where: str = ""  # where it was read: the file and line, or the node (for errors)

    def usable_images(self) -> dict[str, str]:
        """The fleet's images, checked like typed input (they go to Marathon): UsageError naming ``where``."""
        if self.problem:
            raise UsageError(self.problem)
        return {check_service(s, flag=f"{self.where}: service"): check_image(i, f"{self.where}: image of {s[:80]}")
                for s, i in self.images.items()}

    def to_doc(self) -> dict[str, object]:
        doc: dict[str, object] = {"kind": self.KIND, "at": self.at, "command": self.command, "env": self.env,
                               "date": self.date or None, "actor": self.actor, "state": self.state,
                               "report": self.report or None, "images": dict(self.images),
                               "started_at": self.started_at,
                               "tried": {s: _tried_doc(t) for s, t in self.tried.items()}}
        if self.run_id:
            doc["run_id"] = self.run_id
        if self.snapshot:
            doc["snapshot"] = self.snapshot
        return doc

    @classmethod
    def from_doc(cls, doc: Doc, where: str) -> "RunEntry":
        images: dict[str, str] = {}
        problem = None
        raw = doc.get("images")
        if isinstance(raw, dict):  # checked like typed input by usable_images(), when acted on
            images = {str(s): i for s, i in raw.items() if isinstance(i, str)}
            for service, image in raw.items():
                if not isinstance(image, str):  # the message typed input would get
                    try:
                        check_image(image, f"{where}: image of {str(service)[:80]}")
                    except UsageError as err:
                        images, problem = {}, str(err)
                        break
        tried: dict[str, Tried] = {}
        raw_tried = doc.get("tried")
        if isinstance(raw_tried, dict):
            for service, one in raw_tried.items():
                if isinstance(one, dict) and isinstance(one.get("image"), str) and isinstance(one.get("status"), str):
                    version, done, seconds = one.get("version"), one.get("finished_at"), one.get("seconds")
                    tried[str(service)] = Tried(
                        image=one["image"], status=one["status"], version=version if isinstance(version, str) else None,
                        finished_at=done if isinstance(done, str) else None,
                        seconds=float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
                        and math.isfinite(seconds) else None)
        return cls(env=_str(doc, "env"), at=_str(doc, "at"), command=_str(doc, "command"), date=_str(doc, "date"),
                   actor=_str(doc, "actor"), state=_str(doc, "state"), report=_str(doc, "report", 4096),
                   run_id=_str(doc, "run_id"), snapshot=_str(doc, "snapshot", 4096), started_at=_str(doc, "started_at"), images=images, tried=tried,
                   problem=problem, where=where)

    def summary(self) -> dict[str, str]:
        """The short text fields ``status`` shows of the last run."""
        fields = {"at": self.at, "command": self.command, "env": self.env, "date": self.date, "actor": self.actor,
                  "state": self.state, "report": self.report}
        return {k: v[:200] for k, v in fields.items() if v}


register(RunEntry)


def _tried_doc(tried: Tried) -> dict[str, object]:
    doc: dict[str, object] = {"image": tried.image, "status": tried.status}
    if tried.status == "succeeded":  # what it ended as (None when unknown), as the run recorded it
        doc.update(version=tried.version, finished_at=tried.finished_at, seconds=tried.seconds)
    return doc


def _instant_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _count(doc: Doc, key: str) -> int | None:
    value = doc.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True, kw_only=True)
class ObservationEntry:
    """What one ``get`` saw of one app (the third witness's evidence; no value of env or secrets is in it)."""

    KIND: ClassVar[str] = "observation"
    env: str
    at: str  # when it was last seen so (``seen.last``)
    seen: Observation

    @classmethod
    def of(cls, env: str, seen: Observation) -> "ObservationEntry":
        return cls(env=env, at=_instant_text(seen.last), seen=seen)

    def to_doc(self) -> dict[str, object]:
        seen, failure = self.seen, self.seen.failure
        return {"kind": self.KIND, "env": self.env, "at": self.at, "service": seen.service,
                "version": seen.version, "image": seen.image, "instances": seen.instances, "healthy": seen.healthy,
                "running": seen.running, "staged": seen.staged, "first": _instant_text(seen.first),
                "failure": {"version": _instant_text(failure.version), "at": _instant_text(failure.at),
                            "state": failure.state} if failure else None}

    @classmethod
    def from_doc(cls, doc: Doc, where: str) -> "ObservationEntry | None":
        """Untrusted: anything odd is no evidence (None)."""
        first, last = read_instant(doc.get("first")), read_instant(doc.get("at"))
        counts = [_count(doc, k) for k in ("instances", "healthy", "running", "staged")]
        service, version, image, env = doc.get("service"), doc.get("version"), doc.get("image"), doc.get("env")
        if first is None or last is None or None in counts or not isinstance(service, str) \
                or not isinstance(version, str) or not (image is None or isinstance(image, str)) \
                or not isinstance(env, str):
            return None
        failure = None
        raw = doc.get("failure")
        if isinstance(raw, dict):
            when, at, state = read_instant(raw.get("version")), read_instant(raw.get("at")), raw.get("state")
            if when is not None and at is not None and isinstance(state, str):
                failure = TaskFailure(when, at, state[:40])
        instances, healthy, running, staged = (c or 0 for c in counts)
        return cls(env=env, at=_instant_text(last), seen=Observation(service, version, image, instances, healthy,
                                                                      running, staged, first, last, failure))


register(ObservationEntry)

# Every kind this version knows. A store returns these; an unknown kind is skipped on read.
JournalEntry = RunEntry | ObservationEntry


def parse_entry(doc: object, where: str) -> JournalEntry | None:
    """The typed entry of one stored JSON object; None for what is no entry of a known kind."""
    if not isinstance(doc, dict):
        return None
    kind = doc.get("kind", RunEntry.KIND)  # lines written before kinds existed are runs
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return None
    entry = parser(doc, where)
    return entry if entry is not None and entry.env else None


def entry_doc(entry: JournalEntry) -> dict[str, object]:
    return entry.to_doc()
