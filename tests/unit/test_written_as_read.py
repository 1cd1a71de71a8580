"""A file the tool reads back comes back exactly as it was written (#22 item 8).

The files used to pass a redaction of their whole text as they were written. Its patterns took data
for credentials: the version cache's hash of ``env.DB_PASSWORD`` became ``<hidden>`` (a false config
drift in every later plan), and so did anything after a JSON key ending in ``token``, ``secret`` or
``password``, such as a service named ``auth-token`` in the ledger or the registry cache, or a strong
password that is also part of an app id in a snapshot. No pattern pass runs over files now: each is
built from values that hold no secret (tests/unit/test_redaction.py, test_cache_keeps_no_secret.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest

from fleetrewind.marathon.definition import definition_of
from fleetrewind.marathon.versioncache import VersionCache
from fleetrewind.registry.cache import DigestCache
from fleetrewind.model.journal import RunEntry, Tried
from fleetrewind.marathon.appmap import check_app_id
from fleetrewind.rollout.snapshot import read_snapshot, write_snapshot
from fleetrewind.secret import REGISTRY, Secret
from fleetrewind.state.file import FileStore
from fleetrewind.state.store import last_good

SERVICE = "auth-token"                 # a service named like a secret field
IMAGE = "registry.example.com/shop/auth-token:512-master"
DIGEST = "sha256:" + "ab" * 32
VERSION = "2026-11-19T10:05:00.123Z"
STRONG = "Zq8-v3ry-s3cret-pw"


@pytest.fixture(autouse=True)
def a_known_secret() -> Iterator[None]:
    """Every command registers its secrets; the files must not depend on them."""
    REGISTRY.reset()
    Secret(STRONG, "MARATHON_PASSWORD")
    yield
    REGISTRY.reset()


def test_the_ledger_gives_back_the_images_of_a_service_named_like_a_secret(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.append(RunEntry(at="2026-11-19T10:00:00Z", command="run", env="prod", date="2026-11-19", actor="ci",
                          state="SUCCEEDED", images={SERVICE: IMAGE}, started_at="2026-11-19T09:59:00Z",
                          tried={SERVICE: Tried(image=IMAGE, status="succeeded")}))
    assert dict(last_good(_store(tmp_path).entries("prod"), "prod", "the ledger").images) == {SERVICE: IMAGE}


def _store(folder: Path) -> FileStore:
    return FileStore(lock_dir=folder / "locks", ledger=folder / "ledger.jsonl", dump=folder)


def test_the_registry_cache_gives_back_the_tags_of_a_repository_named_like_a_secret(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path, "https://registry.example.com")
    cache.store(f"shop/{SERVICE}", "512-master", DIGEST, "2026-11-18T09:00:00Z")
    cache.save()
    again = DigestCache(tmp_path, "https://registry.example.com")
    assert again.lookup_tag(f"shop/{SERVICE}", "512-master") == (DIGEST, "2026-11-18T09:00:00Z")


def test_the_version_cache_gives_back_an_app_named_like_a_secret(tmp_path: Path) -> None:
    cache = VersionCache(tmp_path, "http://marathon.example:8080")
    app = {"id": f"/prod/{SERVICE}", "version": VERSION, "instances": 2, "cpus": 0.5,
           "container": {"type": "DOCKER", "docker": {"image": IMAGE}}, "env": {"DB_PASSWORD": "123456"}}
    stored = definition_of(app, cache.key)
    cache.store(f"/prod/{SERVICE}", stored)
    cache.save()
    cached = VersionCache(tmp_path, "http://marathon.example:8080").lookup(f"/prod/{SERVICE}", VERSION)
    assert cached is not None
    assert (cached.image, cached.instances, dict(cached.fields), cached.unknown) == (
        stored.image, stored.instances, dict(stored.fields), frozenset({"env.DB_PASSWORD"}))


def test_a_snapshot_gives_back_an_app_id_that_holds_a_strong_password(tmp_path: Path) -> None:
    """Undo puts back what the snapshot names: an app id must not come back as ``/shop/<hidden>``."""
    app_id = f"/shop/{STRONG.lower()}"
    path = write_snapshot(_store(tmp_path), "20261119-100000", env="prod", command="run", marathon="http://marathon:8080",
                          app_ids={"api": app_id}, images={"api": IMAGE}, versions={"api": VERSION})
    snapshot = read_snapshot(_store(tmp_path), path, check_app_id=check_app_id)
    assert (snapshot.app_ids, snapshot.images, snapshot.versions) == ({"api": app_id}, {"api": IMAGE},
                                                                       {"api": VERSION})
    assert dt.datetime.fromisoformat(snapshot.taken_at.replace("Z", "+00:00")).tzinfo is not None
