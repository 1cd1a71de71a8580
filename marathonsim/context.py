"""What the HTTP handler needs from the simulator, gathered in one object."""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from .auth import Authenticator, DcosAuth
from .faults import Faults
from .state import Store

DCOS_PREFIXES = ("/service/marathon", "/marathon")  # Admin Router's paths to Marathon


class Recorder:
    """Requests as received, for tests' assertions; secrets never recorded. Keeps the
    newest `limit` so a long-running simulator does not grow without bound."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: list[dict[str, Any]] = []
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, item: dict[str, Any]) -> None:
        with self._lock:
            self._items.append(item)
            del self._items[:-self._limit]

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class Context:
    store: Store
    auth: Authenticator
    faults: Faults = field(default_factory=Faults)
    recorder: Recorder = field(default_factory=Recorder)
    dcos: bool = False
    verbose: bool = False
    leader: str = ""  # "host:port", set once the socket is bound
    scheme: str = "http"

    def marathon_path(self, path: str) -> str:
        """In DC/OS mode Marathon sits under /service/marathon; bare paths work as well."""
        if self.dcos:
            for prefix in DCOS_PREFIXES:
                if path == prefix or path.startswith(prefix + "/"):
                    return path[len(prefix):] or "/"
        return path

    @property
    def dcos_auth(self) -> DcosAuth | None:
        return self.auth if isinstance(self.auth, DcosAuth) else None
