"""The files the tool writes keep json's indent=2 spelling, byte for byte, however json_text builds it."""

from __future__ import annotations

import enum
import json
import random

import pytest

from fleetrewind.atomic import json_text


def reference(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


class Policy(enum.StrEnum):
    STOP = "stop"


class Count(enum.IntEnum):
    TWO = 2


STRINGS = ["", "plain", "quote \" and \\ backslash", "line\nbreak\ttab\r", "\x00\x1f control", "é ünï 中文 🚀",
           "\u2028\u2029 separators", "</script>", "a" * 300]
SCALARS: list[object] = [None, True, False, 0, -1, 2**70, 1.5, -0.0, 1e-310, 1e300, 0.1 + 0.2, *STRINGS,
                         Policy.STOP, Count.TWO]


def random_document(rng: random.Random, depth: int = 0) -> object:
    kind = rng.random()
    if depth > 4 or kind < 0.45:
        return rng.choice(SCALARS)
    if kind < 0.7:
        return [random_document(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    if kind < 0.8:
        return tuple(random_document(rng, depth + 1) for _ in range(rng.randrange(0, 3)))
    return {rng.choice(STRINGS) + str(i): random_document(rng, depth + 1) for i in range(rng.randrange(0, 5))}


def test_a_rollback_json_is_spelled_as_json_spells_it() -> None:
    release = {"service": "api", "tag": "7-master", "digest": "sha256:" + "a" * 64,
               "created": "2026-10-01T00:00:00.123Z", "image": "registry.example.com:5000/api:7-master"}
    document = {"format": 1, "env": "prod", "all": ["api", "web"], "ran": {},
                "rollbacks": {"2026-10-02": [release, dict(release, service="web")], "2026-10-01": []}}
    assert json_text(document) == reference(document)


def test_any_document_is_spelled_as_json_spells_it() -> None:
    for seed in range(300):
        document = random_document(random.Random(seed))
        assert json_text(document) == reference(document), f"seed {seed}"


@pytest.mark.parametrize("value", [{1: "int key"}, {None: 1, True: 2, 2.5: 3}, [float("nan")], {"x": float("inf")},
                                   [float("-inf")]])
def test_what_json_spells_its_own_way_is_left_to_json(value: object) -> None:
    assert json_text(value) == reference(value)


def test_a_value_json_rejects_is_rejected_as_json_rejects_it() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text({"when": object()})
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        json_text(circular)
