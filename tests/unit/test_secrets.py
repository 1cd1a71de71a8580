"""No secret ever shows (docs/security.md), the parts without servers: a usage error does not repeat
the secrets typed, and a secret is hidden in every spelling a file or a traceback gives it. Every
command against real servers with known secrets: tests/integration/test_secrets.py."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testbed.slack_recorder import SlackRecorder
from tests.integration.registry_fixtures import REGISTRY_PASSWORD, REGISTRY_USER


MARATHON_USER = "ops"


MARATHON_PASSWORD = "mpw-Zx81-s3cr3t!"


BOT_TOKEN = "xoxb-4242-4242-b0tt0ken-s3cr3t"


WEBHOOK_SECRET_PART = "XXXXXXXXXXXXXXXXXXXXXXXX"  # the token part of SlackRecorder.webhook_url


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Seen:
    """Everything a user or a channel could see, by where it was seen."""

    secrets: dict[str, str]
    places: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, text: str) -> None:
        self.places.append((where, text))

    def output(self, where: str, result: Any) -> None:
        self.add(f"{where}: stdout", result.out)
        self.add(f"{where}: stderr", result.err)

    def files(self, *folders: Path) -> None:
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    self.add(str(path), path.read_text(encoding="utf-8", errors="replace"))

    def slack(self, recorder: SlackRecorder) -> None:
        for number, received in enumerate(recorder.received):
            self.add(f"slack payload {number} to {received.path.split('/')[1]}", json.dumps(received.body))

    def leaks(self) -> list[str]:
        return [f"{name} in {where}" for where, text in self.places for name, value in self.secrets.items()
                if value in text]


def secrets_of(webhook: str) -> dict[str, str]:
    return {
        "Marathon password": MARATHON_PASSWORD,
        "Marathon Basic auth": _basic(MARATHON_USER, MARATHON_PASSWORD),
        "registry password": REGISTRY_PASSWORD,
        "registry Basic auth": _basic(REGISTRY_USER, REGISTRY_PASSWORD),
        "Slack webhook URL": webhook,
        "Slack webhook token part": WEBHOOK_SECRET_PART,
        "Slack bot token": BOT_TOKEN,
    }


USAGE_ERRORS = {
    "pwd-on-a-command-without-it": ("dates", f"--pwd={MARATHON_PASSWORD}"),
    "pwd-separate-value-and-unknown-flag": ("run", "--date=2026-11-19", "--env=prod", "--pwd", MARATHON_PASSWORD,
                                            "--colour"),
    "pwd-as-a-stray-argument": ("run", "--date=2026-11-19", "--env=prod", MARATHON_PASSWORD),
    "pwd-as-the-command": (MARATHON_PASSWORD, "--env=prod"),
    "pwd-and-slack-on-get": ("get", "--repo=api", "--env=prod", f"--pwd={MARATHON_PASSWORD}",
                             "--slack=https://hooks.slack.com/services/T0/B0/" + WEBHOOK_SECRET_PART),
    "pwd-twice": ("plan", "--date=2026-11-19", "--env=prod", f"--pwd={MARATHON_PASSWORD}",
                  f"--pwd={MARATHON_PASSWORD}"),
    "pwd-missing-required": ("run", "--env=prod", f"--pwd={MARATHON_PASSWORD}"),
    "registry-url-with-credentials-and-unknown-flag": (
        "get", "--repo=api", "--env=prod", f"--registry=https://{REGISTRY_USER}:{REGISTRY_PASSWORD}@r.example.com",
        "--bogus"),
}


@pytest.mark.parametrize("argv", list(USAGE_ERRORS.values()), ids=list(USAGE_ERRORS))
def test_a_usage_error_does_not_repeat_the_secrets_typed(cli, argv: tuple[str, ...]) -> None:
    """docopt's own message repeats argv; the tool prints the usage and one line naming options only."""
    result = cli(*argv)

    assert result.code == 2
    assert len([line for line in result.err.splitlines() if line.startswith("error: invalid command line")]) == 1
    seen = Seen(secrets_of("https://hooks.slack.com/services/T0/B0/" + WEBHOOK_SECRET_PART))
    seen.output("usage error", result)
    assert seen.leaks() == []


AWKWARD = {
    "xml and quotes": "Ab'c\"d&<e>fgh-12",
    "newline and tab": "first-line-s3cret\nsecond\tpart",
    "control character": "ctl\x01s3cretvalue-9",
    "non-ASCII": "Ünïcode-sécret-1€",
    "backslash": "back\\slash-s3cret-7",
}


def _spellings(value: str) -> dict[str, str]:
    """How serialisers the tool and its libraries use write ``value`` (the part between the quotes)."""
    import xml.etree.ElementTree as ET

    attribute = ET.tostring(ET.Element("x", {"a": value}), encoding="unicode")
    text_node = ET.Element("x")
    text_node.text = value
    return {"raw": value, "json": json.dumps(value)[1:-1], "json-utf8": json.dumps(value, ensure_ascii=False)[1:-1],
            "xml attribute": attribute[len('<x a="'):-len('" />')],
            "xml text": ET.tostring(text_node, encoding="unicode")[3:-4],
            "repr": repr(value)[1:-1], "ascii": ascii(value)[1:-1], "bytes repr": repr(value.encode())[2:-1]}


@pytest.mark.parametrize("name", list(AWKWARD))
def test_a_secret_is_hidden_in_every_spelling_a_file_or_a_traceback_gives_it(name: str) -> None:
    from fleetrewind.secret import REGISTRY, Secret, redact

    REGISTRY.reset()
    value = AWKWARD[name]
    Secret(value, "a test secret")
    for how, spelled in _spellings(value).items():
        assert spelled not in redact(f"before {spelled} after"), f"{name} leaks in its {how} spelling"
