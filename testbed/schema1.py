"""Docker image manifest schema 1, signed as libtrust does it (a "pretty" JWS).

Schema 1 is long deprecated, but old tags in real registries still carry it.  Its date lives
in the ``created`` of the JSON strings in ``history[].v1Compatibility``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import time
from typing import Any, Mapping

from cryptography.hazmat.primitives.asymmetric import ec

from testbed.token_issuer import b64url, es256_sign


def _shift(created: str, delta: datetime.timedelta) -> str:
    """``created`` moved by ``delta`` (second precision, UTC); a fixed old date if unparseable."""
    try:
        base = datetime.datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        base = datetime.datetime(2001, 1, 1)
    return (base + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=1)
def _schema1_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def sign_schema1(manifest: Mapping[str, Any], key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    """libtrust 'pretty JWS' signing of a schema 1 manifest: ES256, ``jwk`` header without kid.

    The signature covers ``protected + "." + b64url(manifest)``; ``formatLength`` and
    ``formatTail`` in the protected header let the registry cut the signatures back out.
    """
    key = key or _schema1_key()
    content = json.dumps(manifest, indent=3).encode()
    close = len(content.rstrip()) - 1
    format_length = len(content[:close].rstrip())
    tail = content[format_length:]
    protected = b64url(
        json.dumps(
            {
                "formatLength": format_length,
                "formatTail": b64url(tail),
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        ).encode()
    )
    numbers = key.public_key().public_numbers()
    signature = {
        "header": {
            "jwk": {
                "crv": "P-256",
                "kty": "EC",
                "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big")),
            },
            "alg": "ES256",
        },
        "signature": b64url(es256_sign(key, (protected + "." + b64url(content)).encode())),
        "protected": protected,
    }
    signatures = json.dumps([signature], indent=3).replace("\n", "\n   ").encode()
    return content[:format_length] + b',\n   "signatures": ' + signatures + tail


def schema1_manifest(
    repo: str, tag: str, created: str, *, layer_digest: str, platform: Mapping[str, str]
) -> dict[str, Any]:
    """An unsigned schema 1 manifest with three history entries, the newest (``created``) second.

    Real schema 1 puts the newest first; a reader must take the newest ``created`` of all
    ``v1Compatibility`` entries, not trust the order.
    """
    plat = dict(platform)
    dates = [
        _shift(created, datetime.timedelta(days=-2)),
        created,
        _shift(created, datetime.timedelta(days=-30)),
    ]
    ids = [hashlib.sha256(f"{repo}:{tag}:{created}:{i}".encode()).hexdigest() for i in range(len(dates))]
    history = []
    for i, date in enumerate(dates):
        entry: dict[str, Any] = {
            "id": ids[i],
            "created": date,
            "container_config": {"Cmd": [f"testbed step {i}"]},
        }
        if i + 1 < len(ids):
            entry["parent"] = ids[i + 1]
        if i == 0:
            entry.update(plat, config={})
        history.append({"v1Compatibility": json.dumps(entry, sort_keys=True, separators=(",", ":"))})
    return {
        "schemaVersion": 1,
        "name": repo,
        "tag": tag,
        "architecture": plat["architecture"],
        "fsLayers": [{"blobSum": layer_digest} for _ in dates],
        "history": history,
    }
