"""The ZooKeeper state store against a real ZooKeeper server (Debian's package, tests/integration/conftest.py).

Store level: the lock race (50 tries, two sessions, two host names), the holder record read from
another session, the journal and the snapshots shared between machines, chunks checked on read,
the ACL of what the tool creates, an unreachable server. The whole-CLI cases are in test_zk_runs.py.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError

from fleetrewind.errors import RefusedError, UnreachableError, UsageError
from fleetrewind.model.evidence import Observation
from fleetrewind.model.journal import ObservationEntry, RunEntry, Tried
from fleetrewind.model.lockrecord import LockRecord
from fleetrewind.marathon.appmap import check_app_id
from fleetrewind.rollout.snapshot import read_snapshot, write_snapshot
from fleetrewind.secret import Secret
from fleetrewind.state.open import open_store
from fleetrewind.state.store import StateStore
from fleetrewind.state.url import parse_state_url
from fleetrewind.state.zk import CHUNK
from testbed.zookeeper import ZooKeeper


def _store(zk: ZooKeeper, folder: Path, *, auth: str | None = None, chroot: str | None = None) -> StateStore:
    """A store as one machine opens it: its own lock folder and --dump, the shared server."""
    folder.mkdir(parents=True, exist_ok=True)
    url = parse_state_url(zk.url(chroot or zk.chroot))  # type: ignore[attr-defined]
    return open_store(url, lock_dir=folder / "locks", shared=False, ledger=folder / "ledger.jsonl",
                      dump=folder / "dump", auth=Secret(auth, "ROLLBACK_ZK_AUTH") if auth else None,
                      session_timeout=2.0)


def _record(host: str) -> LockRecord:
    return LockRecord(host=host, pid=os.getpid(), user="ci", run_id=f"run-on-{host}", command="run", since=time.time())


def test_fifty_lock_races_between_two_machines_let_exactly_one_proceed(zk: ZooKeeper, tmp_path: Path) -> None:
    a, b = _store(zk, tmp_path / "agent-a"), _store(zk, tmp_path / "agent-b")
    try:
        for attempt in range(50):
            start, done = threading.Barrier(2), threading.Event()
            results: dict[str, str] = {}

            def contend(store: StateStore, host: str) -> None:
                start.wait()
                try:
                    with store.lock("prod", _record(host), force=attempt % 2 == 0, warn=lambda _: None):
                        results[host] = "proceeded"
                        done.wait(10)  # hold until the other has answered
                except RefusedError as refused:
                    results[host] = str(refused)
                    done.set()

            threads = [threading.Thread(target=contend, args=(s, h)) for s, h in ((a, "agent-a"), (b, "agent-b"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
            winners = [h for h, r in results.items() if r == "proceeded"]
            assert len(winners) == 1, (attempt, results)
            [loser] = [h for h in results if h not in winners]
            assert f"another rollback of prod is running: run (pid {os.getpid()} on {winners[0]}" in results[loser]
            assert "--force cannot take it over" in results[loser]  # --force was passed on even attempts
    finally:
        a.close()
        b.close()


def test_the_holder_is_readable_from_another_machine_and_goes_with_its_session(zk: ZooKeeper, tmp_path: Path) -> None:
    holder, other = _store(zk, tmp_path / "holder"), _store(zk, tmp_path / "other")
    try:
        assert other.holder("prod") == (None, False)
        cm = holder.lock("prod", _record("jenkins-7"), force=False, warn=lambda _: None)
        cm.__enter__()
        record, held = other.holder("prod")
        assert held is True and record is not None and record.host == "jenkins-7" and record.run_id == "run-on-jenkins-7"
        holder.close()  # the process is gone: its session ends, and the ephemeral lock node with it
        deadline = time.monotonic() + 10
        while other.holder("prod")[0] is not None:
            assert time.monotonic() < deadline, "the lock of a closed session stayed"
            time.sleep(0.05)
        with other.lock("prod", _record("laptop"), force=False, warn=lambda _: None):
            assert other.holder("prod")[0].host == "laptop"  # type: ignore[union-attr]
    finally:
        other.close()


def test_the_journal_is_one_for_every_machine_in_order_and_typed(zk: ZooKeeper, tmp_path: Path) -> None:
    a, b = _store(zk, tmp_path / "a"), _store(zk, tmp_path / "b")
    images = {f"svc-{n:03d}": f"registry.example.com:5000/shop/svc-{n:03d}:{n}-master" for n in range(40)}
    try:
        for n in range(120):  # ~3 KB each: more than one page (256 KB of text a page)
            (a if n % 2 else b).append(RunEntry(env="prod", at=f"2026-11-19T10:{n // 60:02d}:{n % 60:02d}Z",
                                                command="run", state="SUCCEEDED", images=images,
                                                tried={"svc-000": Tried(image=images["svc-000"], status="succeeded")}))
        a.append(RunEntry(env="stage", at="2026-11-19T11:00:00Z", command="run", state="FAILED"))
        seen = dt_observation()
        b.append(ObservationEntry.of("prod", seen))
        entries = list(a.entries("prod"))
        assert [e.at for e in entries[:120]] == [f"2026-11-19T10:{n // 60:02d}:{n % 60:02d}Z" for n in range(120)]
        assert isinstance(entries[-1], ObservationEntry) and entries[-1].seen == seen
        assert all(isinstance(e, RunEntry) and dict(e.images) == images for e in entries[:120])
        assert [e.env for e in b.entries("stage")] == ["stage"]
    finally:
        a.close()
        b.close()


def dt_observation() -> Observation:
    import datetime as dt
    first = dt.datetime(2026, 11, 19, 9, 0, tzinfo=dt.timezone.utc)
    return Observation("svc-000", "2026-11-19T08:59:00.000Z", "r/svc-000:1", 2, 2, 2, 0, first,
                       first + dt.timedelta(minutes=30))


def test_a_snapshot_of_2000_apps_written_on_one_machine_is_read_whole_on_another(zk: ZooKeeper, tmp_path: Path) -> None:
    one, other = _store(zk, tmp_path / "one"), _store(zk, tmp_path / "other")
    app_ids = {f"shop/svc-{n:04d}": f"/ds/prod/shop/svc-{n:04d}" for n in range(2000)}
    images = {s: f"registry.example.com:5000/{s}@sha256:{os.urandom(32).hex()}" for s in app_ids}
    versions = {s: f"2026-11-{1 + n % 28:02d}T10:05:{n % 60:02d}.{n % 1000:03d}Z" for n, s in enumerate(app_ids)}
    try:
        ref = write_snapshot(one, "20261119T100000Z", env="prod", command="run", marathon="http://marathon:8080",
                             app_ids=app_ids, images=images, versions=versions, whole=True)
        Path(ref).unlink()  # the other machine has no such file: it reads the snapshot from ZooKeeper
        snapshot = read_snapshot(other, ref, check_app_id=check_app_id)
        assert snapshot.path and snapshot.path.startswith("zk://")
        assert (snapshot.app_ids, snapshot.images, snapshot.versions, snapshot.whole) == (app_ids, images, versions, True)
    finally:
        one.close()
        other.close()


def test_a_snapshot_over_the_node_limit_is_chunked_and_a_changed_chunk_is_refused(zk: ZooKeeper, tmp_path: Path) -> None:
    one, other = _store(zk, tmp_path / "one"), _store(zk, tmp_path / "other")
    data = base64.b64encode(os.urandom(3_000_000))  # ~4 MB that compresses to ~3 MB: several 900 KB chunks
    raw = KazooClient(hosts=zk.hosts)
    raw.start(10)
    try:
        ref = one.put_snapshot("prod", "snapshot-big", data)
        path = f"{zk.chroot}/snapshots/prod/{Path(ref).name}"  # type: ignore[attr-defined]
        chunks = sorted(raw.get_children(path))
        assert len(chunks) >= 3 and all(len(raw.get(f"{path}/{c}")[0]) <= CHUNK for c in chunks)
        Path(ref).unlink()
        assert other.get_snapshot(ref)[0] == data
        last = f"{path}/{chunks[-1]}"
        whole = raw.get(last)[0]
        for cut in (whole[:-1], whole[: len(whole) // 2]):  # a cut snapshot is never read as a whole one
            raw.set(last, cut)
            with pytest.raises(UsageError, match="is not a usable snapshot: its chunks do not"):
                other.get_snapshot(ref)
        raw.delete(last)
        with pytest.raises(UsageError, match="is not a usable snapshot"):
            other.get_snapshot(ref)
    finally:
        raw.stop()
        one.close()
        other.close()


def test_with_credentials_other_zookeeper_users_may_read_but_not_rewrite(zk: ZooKeeper, tmp_path: Path) -> None:
    store = _store(zk, tmp_path / "tool", auth="fleetrewind:s3cret-zk-pass")
    store.append(RunEntry(env="prod", at="2026-11-19T10:00:00Z", command="run", state="SUCCEEDED"))
    root = zk.chroot  # type: ignore[attr-defined]
    for auth in (None, [("digest", "someone:else")]):
        other = KazooClient(hosts=zk.hosts, auth_data=auth)
        other.start(10)
        try:
            [page] = other.get_children(f"{root}/journal/prod")
            assert other.get(f"{root}/journal/prod/{page}")[0]  # readable
            with pytest.raises(NoAuthError):
                other.set(f"{root}/journal/prod/{page}", b"rewritten")
            with pytest.raises(NoAuthError):
                other.create(f"{root}/locks/prod/x", b"", makepath=True)
        finally:
            other.stop()
    store.close()


def test_an_unreachable_store_is_exit_4_before_anything(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: nothing answers there
        started = time.monotonic()
        with pytest.raises(UnreachableError, match=rf"the state store zk://127.0.0.1:{port}/fleetrewind could not be "
                                                    r"reached within \d+s; nothing was changed"):
            open_store(parse_state_url(f"zk://127.0.0.1:{port}/fleetrewind"), lock_dir=tmp_path, shared=False,
                       ledger=tmp_path / "l", dump=tmp_path, session_timeout=2.0)
        assert time.monotonic() - started < 8


def test_a_connection_back_before_the_session_expires_carries_on(zk: ZooKeeper, tmp_path: Path) -> None:
    folder = tmp_path / "holder"
    folder.mkdir()
    store = open_store(parse_state_url(zk.url(zk.chroot)), lock_dir=folder, shared=False,  # type: ignore[attr-defined]
                       ledger=folder / "l", dump=folder, session_timeout=6.0)
    try:
        with store.lock("prod", _record("agent-a"), force=False, warn=lambda _: None) as held:
            zk.stop()
            zk.start()  # back within the session timeout: the session, and the lock, are still ours
            assert held.may_start() is True and held.lost() is None
            store.append(RunEntry(env="prod", at="2026-11-19T10:00:00Z", command="run", state="SUCCEEDED"))
        assert [e.at for e in store.entries("prod")] == ["2026-11-19T10:00:00Z"]
    finally:
        store.close()


def test_the_zookeeper_password_never_shows(cli: Any, tmp_path: Path, zk: ZooKeeper) -> None:
    password = "Zk-s3cret-9b1f"
    for state in (zk.url(zk.chroot), "zk://127.0.0.1:1/fleetrewind"):  # type: ignore[attr-defined]
        result = cli("run", "--to=last-good", "--env=prod", f"--dump={tmp_path}", "--verbose",
                     env={"ROLLBACK_STATE": state, "ROLLBACK_ZK_AUTH": f"fleetrewind:{password}",
                          "MARATHON_URL": "http://127.0.0.1:1"})
        # the store opened (an empty journal: exit 2), or unreachable (exit 4): either way it held the password
        assert (result.code, state.endswith(":1/fleetrewind")) in ((2, False), (4, True)), result.err
        assert password not in result.out + result.err
