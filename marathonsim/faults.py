"""Failures on demand for client tests: errors, dropped connections, delays.

A rule applies to requests matching its `method` and `path_prefix` (the Marathon path, after
any DC/OS prefix). Control endpoints (/_sim/) are never faulted. Rules are checked in order;
delays add up, and the first rule that drops or fails a request decides its fate.
"""
from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping


@dataclass
class FaultRule:
    error_rate: float = 0.0  # fraction of requests answered `status` (seeded, repeatable)
    every: int = 0  # answer every Nth matching request with `status`
    fail_next: int = 0  # answer the next N matching requests with `status`
    status: int = 500
    delay: float = 0.0  # seconds to wait before answering
    drop: int = 0  # close the connection without an answer, next N requests
    drop_rate: float = 0.0  # ... or this fraction of requests
    method: str | None = None
    path_prefix: str | None = None
    after: bool = False  # do the work first, then fail/drop: a write whose answer was lost
    seed: int = 0
    _seen: int = field(default=0, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    @classmethod
    def from_json(cls, data: Any) -> "FaultRule":
        """Build from a control-API object; ValueError names the bad key or value."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a fault rule must be a JSON object (found: {data!r})")
        known = {f.name: f.type for f in fields(cls) if not f.name.startswith("_")}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault keys {unknown}; known: {sorted(known)}")
        checks = {"float": (int, float), "int": (int,), "bool": (bool,),
                  "str | None": (str, type(None))}
        for key, value in data.items():
            kinds = checks[str(known[key])]
            if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
                raise ValueError(f"fault key {key!r} has a bad value (found: {value!r})")
        rule = cls(**data)
        if not 0.0 <= rule.error_rate <= 1.0 or not 0.0 <= rule.drop_rate <= 1.0:
            raise ValueError("error_rate and drop_rate must be between 0 and 1")
        if min(rule.every, rule.fail_next, rule.drop) < 0 or rule.delay < 0:
            raise ValueError("every, fail_next, drop and delay must not be negative")
        if not 100 <= rule.status <= 599:
            raise ValueError(f"status must be an HTTP status (found: {rule.status})")
        return rule

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method.upper() == method)
                and (self.path_prefix is None or path.startswith(self.path_prefix)))


@dataclass
class Verdict:
    delay: float = 0.0
    drop: bool = False
    status: int | None = None
    after: bool = False


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def set(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def decide(self, method: str, path: str) -> Verdict:
        verdict = Verdict()
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                rule._seen += 1
                verdict.delay += rule.delay
                if verdict.drop or verdict.status is not None:
                    continue
                verdict.after = rule.after
                if rule.drop > 0 or (rule.drop_rate and rule._rng.random() < rule.drop_rate):
                    rule.drop = max(rule.drop - 1, 0)
                    verdict.drop = True
                elif rule.fail_next > 0:
                    rule.fail_next -= 1
                    verdict.status = rule.status
                elif (rule.every and rule._seen % rule.every == 0) or (
                        rule.error_rate and rule._rng.random() < rule.error_rate):
                    verdict.status = rule.status
        return verdict
