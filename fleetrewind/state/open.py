"""The store a command uses, from its settings' values (``state``, ``lock_dir``, the ledger, ``--dump``)."""

from __future__ import annotations

from pathlib import Path

from ..secret import Secret
from .file import FileStore
from .store import StateStore
from .url import StateUrl


def open_store(url: StateUrl, *, lock_dir: Path, shared: bool, ledger: Path, dump: Path,
               auth: Secret | None = None, session_timeout: float = 10.0) -> StateStore:
    """The file store, or a connected ZooKeeper store (UnreachableError, exit 4, when it cannot connect)."""
    files = FileStore(lock_dir=lock_dir, ledger=ledger, dump=dump, shared=shared)
    if url.kind == "file":
        return files
    from .zk import ZkStore  # kazoo is imported only by those who use ZooKeeper
    return ZkStore(url, auth=auth, local=files, session_timeout=session_timeout,
                   connect_timeout=min(10.0, max(session_timeout, 2.0)))
