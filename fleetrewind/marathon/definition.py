"""Marathon's app definition -> the platform's :class:`Definition`: image, instances, hashes of the rest."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Mapping

from ..platform.timeline import BadTimestamp, Definition, optional_instant, parse_instant
from ..secret import redact, secret_name
from .appdef import SERVER_FIELDS, image_of

# Fields a definition names but that are not configuration: who it is, how many, and its image.
_NOT_CONFIG = SERVER_FIELDS | {"id", "instances"}
# Objects whose keys are compared one by one (env.DB_URL, labels.team, secrets.db).
_BY_KEY = ("env", "labels", "secrets")


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _is_secret(name: str, value: object) -> bool:
    """A field that holds, or may hold, a secret: every env value and secret, a field named like one
    (``labels.DB_PASSWORD``), and any value holding a credential or a secret this run knows (a
    ``cmd`` with ``--password=...``, a fetch URI with ``user:password@``)."""
    if name.startswith(("env.", "secrets.")) or secret_name(name.rpartition(".")[2]):
        return True
    text = _canonical(value).decode("utf-8")
    return redact(text) != text


def fingerprint(app: Mapping[str, object], key: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(field name -> hash, secret field name -> keyed hash) for every configuration field but the image.

    env, labels and secrets are compared key by key (``env.DB_URL``); container and
    container.docker field by field (``container.volumes``, ``container.docker.forcePullImage``).
    A field that holds no secret gets a plain hash (the cache keeps it); a secret field gets an HMAC
    under ``key``, a key of this process that is never written, so no file holds anything from which
    a secret could be recovered.
    """
    values: dict[str, object] = {}
    for name, value in app.items():
        if name in _NOT_CONFIG:
            continue
        if name in _BY_KEY and isinstance(value, dict):
            values.update((f"{name}.{sub}", sub_value) for sub, sub_value in value.items())
        elif name == "container" and isinstance(value, dict):
            for sub, sub_value in value.items():
                if sub == "docker" and isinstance(sub_value, dict):
                    values.update((f"container.docker.{part}", part_value)
                                  for part, part_value in sub_value.items() if part != "image")
                else:
                    values[f"container.{sub}"] = sub_value
        else:
            values[name] = value
    fields: dict[str, str] = {}
    secret: dict[str, str] = {}
    for name, value in values.items():
        if _is_secret(name, value):
            secret[name] = hmac.new(key, _canonical(value), hashlib.sha256).hexdigest()[:24]
        else:
            fields[name] = hashlib.sha256(_canonical(value)).hexdigest()[:24]
    return fields, secret


def definition_of(app: Mapping[str, object], key: bytes, *, version: str | None = None) -> Definition:
    """A stored (or the current) app definition -> Definition; BadTimestamp/ValueError when unusable."""
    text = version or app.get("version")
    if not isinstance(text, str):
        raise BadTimestamp("the definition has no version")
    info = app.get("versionInfo") if isinstance(app.get("versionInfo"), dict) else {}
    assert isinstance(info, dict)
    instances = app.get("instances", 1)
    if not isinstance(instances, int) or isinstance(instances, bool):
        raise ValueError(f"instances is {instances!r}")
    fields, secret = fingerprint(app, key)
    return Definition(version=text, at=parse_instant(text), image=image_of(dict(app)), instances=instances,
                      fields=fields, secret_fields=secret,
                      config_change_at=optional_instant(info.get("lastConfigChangeAt")),
                      scaling_at=optional_instant(info.get("lastScalingAt")))
