"""The ZooKeeper store: one environment's lock, run in flight, journal and snapshots shared by every machine.

Nodes, under the chroot of ``--state`` (created with the ACL below):

- ``/locks/<env>``: kazoo's Lock recipe (ephemeral sequential nodes; the lowest holds the lock).
  Each node's data is the holder record. A holder whose session ends (it died, its machine
  vanished, it was stopped past the session timeout) loses its node: no lock is ever taken
  over by hand.
- ``/runs/<env>``: the run-in-flight record (persistent: it outlives a killed run on purpose).
- ``/journal/<env>/page-<seq>``: the journal as zlib-compressed JSON lines, ``PAGE`` bytes at most
  a page; an append is a compare-and-set on the newest page, so appenders never lose a line.
- ``/snapshots/<env>/<name>``: a header (size, SHA-256, chunk count) over ``chunk-<n>`` children
  of the compressed snapshot, each under ZooKeeper's 1 MB node limit; read back whole or refused.

ACL: with ``ROLLBACK_ZK_AUTH=user:password`` every node the tool creates grants everything to that
digest identity and only reading to anyone else; without credentials ZooKeeper's open ACL applies
(``docs/reliability.md``, "The environment lock").
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (AuthFailedError, BadVersionError, KazooException, NodeExistsError, NoNodeError)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.recipe.lock import Lock
from kazoo.security import READ_ACL_UNSAFE, make_digest_acl

from ..errors import RefusedError, RollbackError, UnreachableError, UsageError
from ..inputs import loads
from ..model.journal import JournalEntry, entry_doc, parse_entry
from ..model.lockrecord import BadRecord, LockRecord, RunInFlight, parse_lock_record, parse_in_flight
from ..secret import Secret
from .file import FileStore
from .store import Held, utc_text
from .url import StateUrl

PAGE = 256 * 1024  # uncompressed bytes of journal per page (compressed, far below the node limit)
CHUNK = 900 * 1024  # compressed snapshot bytes per node: under ZooKeeper's 1 MB (jute.maxbuffer) default
MAX_SNAPSHOT = 256 * 2**20  # uncompressed: the file store's limit on any file read back
log = logging.getLogger(__name__)


class ZkHeld:
    """The lock as held through one ZooKeeper session: provable while that session and its node live."""

    def __init__(self, client: KazooClient, node: str, session_timeout: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.node = node
        self.session = client.client_id[0] if client.client_id else None
        self.session_timeout = session_timeout
        self.clock = clock
        # may_start's proof holds this long: the server heard the session after the question was asked, so the
        # session lives at least the negotiated timeout after it (half the one asked for: a server may lower it)
        self.lease = session_timeout / 2
        self._proved_at: float | None = None
        self._changed = threading.Condition()
        self._suspended = False
        self._lost: str | None = None
        client.add_listener(self._listen)

    def _listen(self, state: str) -> bool:
        with self._changed:
            if state == KazooState.LOST:
                self._lost = self._lost or "the ZooKeeper session expired, and the lock with it"
            self._suspended = state == KazooState.SUSPENDED
            self._changed.notify_all()
        return self._lost is not None  # a lost lock stays lost: stop listening

    def may_start(self) -> bool:
        """Wait out a suspended connection (up to the session timeout), then ask the server: is our node
        there, owned by our session? The least doubt is False, for good."""
        with self._changed:
            self._changed.wait_for(lambda: not self._suspended or self._lost is not None,
                                   timeout=self.session_timeout + 1)
            if self._lost is None and self._suspended:
                self._lost = "the connection to ZooKeeper did not come back within the session timeout"
        if self._lost is not None:
            return False
        asked = self.clock()
        try:  # bounded: a request to a server that just died waits for a reconnection otherwise
            stat = self.client.exists_async(self.node).get(timeout=self.session_timeout)
        except (KazooException, KazooTimeoutError) as exc:
            stat, why = None, f"ZooKeeper could not confirm the lock ({type(exc).__name__})"
        else:
            why = "the lock's node is gone from ZooKeeper (the session expired)"
        current = self.client.client_id[0] if self.client.client_id else None
        if stat is None or stat.ephemeralOwner != self.session or current != self.session:
            with self._changed:
                self._lost = self._lost or why
            return False
        self._proved_at = asked
        return True

    def still_proved(self) -> bool:
        """A change is sent only within the lease of the last proof: a holder stopped between its proof and
        its PUT (SIGSTOP, a frozen VM) and resumed after its session expired sends nothing."""
        proved = self._proved_at
        return (self._lost is None and not self._suspended and proved is not None
                and self.clock() - proved < self.lease)

    def lost(self) -> str | None:
        return self._lost


def _sequence(name: str) -> str:
    return name[-10:]  # kazoo's sequential nodes end in a 10-digit counter


class ZkStore:
    def __init__(self, url: StateUrl, *, auth: Secret | None, local: FileStore, session_timeout: float = 10.0,
                 connect_timeout: float = 10.0) -> None:
        self.url = url
        self.local = local  # a snapshot is also written to --dump, where reports point at it
        self.session_timeout = session_timeout
        logging.getLogger("kazoo").setLevel(logging.CRITICAL)  # its reconnect chatter; we say what matters
        acl = None
        auth_data = None
        if auth:
            user, _, password = auth.reveal().partition(":")
            acl = [make_digest_acl(user, password, all=True), *READ_ACL_UNSAFE]
            auth_data = [("digest", auth.reveal())]
        self.client = KazooClient(hosts=",".join(url.hosts), timeout=session_timeout, default_acl=acl,
                                  auth_data=auth_data)
        try:
            self.client.start(timeout=connect_timeout)
            self.client.ensure_path(url.chroot)  # the chroot itself (with the ACL), and a first authenticated request
            self.client.chroot = url.chroot  # every path below is under it
        except (KazooTimeoutError, KazooException) as exc:
            self._stop()
            what = "refused the credentials of ROLLBACK_ZK_AUTH" if isinstance(exc, AuthFailedError) else \
                f"could not be reached within {connect_timeout:.0f}s"
            raise UnreachableError(f"the state store {url} {what}; nothing was changed") from None

    def _stop(self) -> None:
        try:
            self.client.stop()
            self.client.close()
        except Exception:  # already down: nothing to release
            pass

    def close(self) -> None:
        self._stop()

    def describe(self) -> str:
        return f"zookeeper ({self.url})"

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        # kazoo queues a request until the connection comes back: a store that is gone must fail now
        if not self.client.connected:
            raise UnreachableError(f"the state store {self.url} failed to {what} (not connected)")
        try:
            yield
        except RollbackError:
            raise
        except (KazooException, KazooTimeoutError) as exc:
            raise UnreachableError(f"the state store {self.url} failed to {what} ({type(exc).__name__})") from None

    # The lock

    @contextmanager
    def lock(self, env: str, record: LockRecord, *, force: bool, warn: Callable[[str], None]) -> Iterator[Held]:
        lock = Lock(self.client, f"/locks/{env}", identifier=record.to_bytes().decode())
        with self._call("take the lock"):
            got = lock.acquire(blocking=False)
        if not got:
            holder, _ = self.holder(env)
            who = f"{holder.describe()} since {utc_text(holder.since)}" if holder else "a run starting now"
            # a live holder keeps its lock: not even --force takes it (its session proves it is alive)
            raise RefusedError(f"another rollback of {env} is running: {who}; wait for it to finish (its lock is "
                               f"in {self.describe()}; --force cannot take it over)")
        held = ZkHeld(self.client, f"{lock.path}/{lock.node}", self.session_timeout)
        try:
            yield held
        finally:
            # kazoo's release retries until the server answers: a store that is gone is not waited for
            # (the session ends when this client closes, and the ephemeral node with it)
            if held.lost() is None and self.client.connected:
                try:
                    lock.release()
                except (KazooException, KazooTimeoutError):
                    pass

    def holder(self, env: str) -> tuple[LockRecord | None, bool | None]:
        """The lowest contender of kazoo's lock is the holder; its node lives as long as its session."""
        path = f"/locks/{env}"
        with self._call("read the lock"):
            try:
                children = sorted(self.client.get_children(path), key=_sequence)
            except NoNodeError:
                return None, False
            for child in children:
                try:
                    raw, _ = self.client.get(f"{path}/{child}")
                except NoNodeError:
                    continue  # released while we looked
                try:
                    return parse_lock_record(raw or b""), True
                except BadRecord as bad:
                    raise UsageError(f"the lock node {self.url}{path}/{child} holds no usable record: {bad}; "
                                     "a run holds it: wait for it to end") from None
        return None, False

    # The run in flight

    def begin_run(self, record: RunInFlight) -> None:
        with self._call("write the run-in-flight record"):
            try:
                self.client.create(f"/runs/{record.env}", record.to_bytes(), makepath=True)
            except NodeExistsError:
                self.client.set(f"/runs/{record.env}", record.to_bytes())

    def end_run(self, env: str, run_id: str) -> None:
        with self._call("remove the run-in-flight record"):
            try:
                raw, stat = self.client.get(f"/runs/{env}")
                current = parse_in_flight(raw or b"", f"{self.url}/runs/{env}")
                if current is None or current.run_id == run_id:
                    self.client.delete(f"/runs/{env}", version=stat.version)
            except (NoNodeError, BadVersionError):
                pass  # gone already, or another run's record now

    def in_flight(self, env: str) -> RunInFlight | None:
        with self._call("read the run-in-flight record"):
            try:
                raw, _ = self.client.get(f"/runs/{env}")
            except NoNodeError:
                return None
        return parse_in_flight(raw or b"", f"{self.url}/runs/{env}")

    # The journal

    def append(self, entry: JournalEntry) -> None:
        line = (json.dumps(entry_doc(entry), sort_keys=True) + "\n").encode("utf-8")  # typed values only
        base = f"/journal/{entry.env}"
        with self._call("append to the journal"):
            for _ in range(50):  # only repeats when another machine appended at the same moment
                pages = sorted(self._children(base), key=_sequence)
                if pages:
                    data, stat = self.client.get(f"{base}/{pages[-1]}")
                    text = zlib.decompress(data or b"")
                    if len(text) + len(line) <= PAGE:
                        try:
                            self.client.set(f"{base}/{pages[-1]}", zlib.compress(text + line), version=stat.version)
                            return
                        except BadVersionError:
                            continue
                self.client.create(f"{base}/page-", zlib.compress(line), sequence=True, makepath=True)
                return
            raise UnreachableError(f"the journal in {self.url} is too busy to append to; try again")

    def _children(self, path: str) -> list[str]:
        try:
            return list(self.client.get_children(path))
        except NoNodeError:
            return []

    def entries(self, env: str) -> Sequence[JournalEntry]:
        base = f"/journal/{env}"
        found: list[JournalEntry] = []
        with self._call("read the journal"):
            pages = sorted(self._children(base), key=_sequence)
            reads = [self.client.get_async(f"{base}/{page}") for page in pages]  # one round trip for all
            for page, read in zip(pages, reads):
                try:
                    data, _ = read.get(timeout=self.session_timeout)
                    text = zlib.decompress(data or b"").decode("utf-8")
                except NoNodeError:
                    continue
                except (zlib.error, UnicodeDecodeError):
                    raise UsageError(f"the journal page {self.url}{base}/{page} is not one this tool writes; "
                                     "move it aside") from None
                for number, line in enumerate(text.splitlines(), start=1):
                    try:
                        doc = loads(line)
                    except ValueError:
                        continue
                    entry = parse_entry(doc, f"the journal {self.url}{base}/{page}, line {number}")
                    if entry is not None and entry.env == env:
                        found.append(entry)
        return found

    # Snapshots

    def put_snapshot(self, env: str, stem: str, data: bytes) -> str:
        ref = self.local.put_snapshot(env, stem, data)
        name = Path(ref).name
        packed = zlib.compress(data, 6)
        chunks = [packed[i:i + CHUNK] for i in range(0, len(packed), CHUNK)] or [b""]
        header = json.dumps({"format": 1, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                             "chunks": len(chunks)}).encode()
        path = f"/snapshots/{env}/{name}"
        with self._call("store the snapshot"):
            self.client.ensure_path(path)
            for number, chunk in enumerate(chunks):
                self.client.create(f"{path}/chunk-{number:05d}", chunk)
            self.client.set(path, header)  # written last: a snapshot without its header is not one
        return ref

    def get_snapshot(self, ref: str) -> tuple[bytes, str]:
        """The local file when it is here (the run's reports lie beside it); else, by its file name, the copy
        in ZooKeeper of whichever environment holds it: a run of another machine."""
        if Path(ref).is_file():
            return self.local.get_snapshot(ref)
        name = Path(ref).name
        with self._call("read the snapshot"):
            envs = self._children("/snapshots")
            holders = [env for env in envs if self.client.exists(f"/snapshots/{env}/{name}")]
            if not holders:
                return self.local.get_snapshot(ref)
            if len(holders) > 1:
                raise UsageError(f"snapshot {name} is stored for several environments ({', '.join(holders)}) in "
                                 f"{self.url}; pass the path of the local file instead")
            path = f"/snapshots/{holders[0]}/{name}"
            where = f"{self.url}{path}"
            raw, _ = self.client.get(path)
            header = _header(raw, where)
            try:
                packed = b"".join(self.client.get(f"{path}/chunk-{n:05d}")[0] or b"" for n in range(header.chunks))
            except NoNodeError:
                raise UsageError(f"{where} is not a usable snapshot: a chunk is missing") from None
        stream = zlib.decompressobj()
        try:
            data = stream.decompress(packed, MAX_SNAPSHOT + 1)
        except zlib.error:
            raise UsageError(f"{where} is not a usable snapshot: its chunks do not decompress") from None
        if not stream.eof or stream.unused_data:
            raise UsageError(f"{where} is not a usable snapshot: its chunks do not decompress") from None
        if len(data) != header.size or hashlib.sha256(data).hexdigest() != header.sha256:
            raise UsageError(f"{where} is not a usable snapshot: its chunks do not add up to what its header "
                             "says (a chunk is missing or was changed)")
        return data, where


@dataclass(frozen=True)
class _Header:
    chunks: int
    size: int
    sha256: str


def _header(raw: bytes | None, where: str) -> _Header:
    try:
        header = loads((raw or b"").decode("utf-8"))
        if not (isinstance(header, dict) and isinstance(header.get("chunks"), int) and 0 < header["chunks"] < 1000
                and isinstance(header.get("size"), int) and 0 <= header["size"] <= MAX_SNAPSHOT
                and isinstance(header.get("sha256"), str)):
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        raise UsageError(f"{where} is not a usable snapshot: its header is missing or damaged "
                         "(a run that died while storing it)") from None
    return _Header(header["chunks"], header["size"], header["sha256"])
