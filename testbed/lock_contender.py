"""One machine contending for an environment's lock in a shared state store, driven line by line.

``python -m testbed.lock_contender <state-url> <env> <host>`` opens the store as the tool does and
answers on stdout, one line per ``go`` read on stdin: ``proceeded`` (it holds the lock until the
next ``release``) or ``refused <the tool's message>``. Tests run two of them as two unix users
with two host names and two HOMEs, so that fifty races cost fifty round trips, not fifty runs.
"""

from __future__ import annotations

import getpass
import os
import sys
import tempfile
import time
from pathlib import Path

from fleetrewind.errors import RefusedError
from fleetrewind.model.lockrecord import LockRecord
from fleetrewind.state.open import open_store
from fleetrewind.state.url import parse_state_url


def main(url: str, env: str, host: str) -> int:
    folder = Path(tempfile.mkdtemp(prefix=f"contender-{host}-"))
    store = open_store(parse_state_url(url), lock_dir=folder / "locks", shared=False, ledger=folder / "ledger.jsonl",
                       dump=folder, auth=None, session_timeout=5.0)
    try:
        for line in sys.stdin:
            if line.strip() != "go":
                continue
            record = LockRecord(host=host, pid=os.getpid(), user=getpass.getuser(), run_id=f"run-on-{host}",
                                command="run", since=time.time())
            try:
                with store.lock(env, record, force=True, warn=lambda _: None):
                    print("proceeded", flush=True)
                    sys.stdin.readline()  # "release": the other has answered
            except RefusedError as refused:
                print(f"refused {refused}", flush=True)
                sys.stdin.readline()
            print("released", flush=True)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
