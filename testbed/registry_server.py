"""Run the real Docker registry (distribution 2.8.2, Debian's ``docker-registry``) on loopback.

The registry listens on 127.0.0.1 port 0 and prints ``listening on 127.0.0.1:<port>``; we parse
that line.  Storage is a temp dir, or a given dir so data persists across restarts.
``REGISTRY_*`` variables are dropped from the child's environment: they override config keys.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any, Iterable, Mapping

import bcrypt
import yaml

from testbed.token_issuer import TokenIssuer

INSTALL_HINT = (
    "install Debian package docker-registry "
    "(apt-get install -y --no-install-recommends docker-registry), "
    "or pass binary= / set TESTBED_REGISTRY_BINARY"
)

_LISTENING = re.compile(r"listening on (?:\[[^\]]*\]|[^\s:\"]+):(\d+)")


class RegistryError(RuntimeError):
    """The test registry could not be started."""


class RegistryBinaryMissing(RegistryError):
    """No docker-registry executable was found."""


def find_registry_binary() -> str:
    """Path of the docker-registry executable; RegistryBinaryMissing says what to install."""
    explicit = os.environ.get("TESTBED_REGISTRY_BINARY")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise RegistryBinaryMissing(f"TESTBED_REGISTRY_BINARY={explicit!r} is not executable; {INSTALL_HINT}")
    for candidate in (shutil.which("docker-registry"), "/usr/bin/docker-registry", shutil.which("registry")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RegistryBinaryMissing(f"docker-registry not found on PATH or in /usr/bin; {INSTALL_HINT}")


def htpasswd_line(user: str, password: str, *, rounds: int = 4) -> str:
    """An htpasswd line with a bcrypt hash; cost 4 keeps each request ~3 ms instead of ~285 ms."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()
    return f"{user}:{hashed}"


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class RegistryServer:
    """The real registry on 127.0.0.1; ``.url`` once started; a context manager.

    ``htpasswd``: Basic auth users (bcrypt cost 4).  ``token_auth``: a started TokenIssuer for
    Bearer auth.  ``tls``: (cert, key) PEM paths, ``ca_bundle`` the CA a client must trust.
    ``schema1``: accept schema 1 pushes (reads never need it).  ``extra_config`` is merged
    into the generated config last.
    """

    def __init__(
        self,
        storage_dir: str | os.PathLike[str] | None = None,
        *,
        htpasswd: Iterable[tuple[str, str]] | None = None,
        token_auth: TokenIssuer | None = None,
        tls: tuple[str, str] | None = None,
        ca_bundle: str | None = None,
        schema1: bool = True,
        delete: bool = True,
        access_log: bool = False,
        binary: str | None = None,
        start_timeout: float = 15.0,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        if htpasswd is not None and token_auth is not None:
            raise ValueError("choose one of htpasswd= and token_auth=, not both")
        self.htpasswd = list(htpasswd) if htpasswd is not None else None
        self.token_auth = token_auth
        self.tls = tls
        self.ca_bundle = ca_bundle
        self.schema1 = schema1
        self.delete = delete
        self.access_log = access_log
        self.binary = binary
        self.start_timeout = start_timeout
        self.extra_config = dict(extra_config or {})
        self._workdir = Path(tempfile.mkdtemp(prefix="testbed-registry-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._workdir), ignore_errors=True)
        self.storage_dir = Path(storage_dir) if storage_dir is not None else self._workdir / "storage"
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self._workdir / "config.yml"
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._log: collections.deque[str] = collections.deque(maxlen=300)
        self._killer: weakref.finalize | None = None

    # -- properties ------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash)."""
        if self.port is None:
            raise RegistryError("registry is not started; call start() first")
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, as it appears in an image reference."""
        return self.url.split("://", 1)[1]

    @property
    def verify(self) -> str | bool:
        """What to pass as requests' ``verify=``: the CA bundle for TLS, else True."""
        return self.ca_bundle if (self.tls and self.ca_bundle) else True

    @property
    def auth(self) -> tuple[str, str] | None:
        """The first (user, password) that this registry (or its token issuer) accepts."""
        if self.htpasswd:
            return self.htpasswd[0]
        if self.token_auth is not None and self.token_auth.users:
            return next(iter(self.token_auth.users.items()))
        return None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the registry printed (for assertion messages)."""
        return "\n".join(list(self._log)[-lines:])

    # -- config ----------------------------------------------------------------------------

    def build_config(self, port: int = 0) -> dict[str, Any]:
        """The registry config as a dict (written to ``config_path`` on start)."""
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": not self.access_log}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": self.delete},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
        }
        if self.schema1:
            config["compatibility"] = {"schema1": {"enabled": True}}
        if self.htpasswd is not None:
            path = self._workdir / "htpasswd"
            path.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in self.htpasswd))
            config["auth"] = {"htpasswd": {"realm": "testbed-registry", "path": str(path)}}
        if self.token_auth is not None:
            config["auth"] = {"token": self.token_auth.registry_auth_config()}
        if self.tls is not None:
            cert, key = self.tls
            config["http"]["tls"] = {"certificate": str(cert), "key": str(key)}
        return _merge(config, self.extra_config)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "RegistryServer":
        """Start the registry and wait for ``listening on``; idempotent."""
        if self.running:
            return self
        self._launch(0)
        return self

    def _launch(self, port: int) -> None:
        binary = self.binary or find_registry_binary()
        if self.token_auth is not None:
            self.token_auth.start()
        self.config_path.write_text(yaml.safe_dump(self.build_config(port), sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self._log.clear()
        try:
            proc = subprocess.Popen(
                [binary, "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise RegistryBinaryMissing(f"cannot run {binary!r}: {exc}; {INSTALL_HINT}") from exc
        self._proc = proc
        self._killer = weakref.finalize(self, _terminate, proc)
        found = threading.Event()
        listening: list[int] = []

        def read() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip()
                self._log.append(line)
                if not listening:
                    match = _LISTENING.search(line)
                    if match:
                        listening.append(int(match.group(1)))
                        found.set()
            found.set()

        self._reader = threading.Thread(target=read, name=f"registry-log-{proc.pid}", daemon=True)
        self._reader.start()
        found.wait(self.start_timeout)
        if not listening:
            self._shutdown()
            raise RegistryError(
                f"docker-registry did not print 'listening on' within {self.start_timeout:.0f}s "
                f"(config {self.config_path}); its log:\n{self.log_tail()}"
            )
        self.port = listening[0]

    def _shutdown(self) -> None:
        if self._proc is not None:
            _terminate(self._proc)
            if self._killer is not None:
                self._killer.detach()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None

    def stop(self) -> None:
        """SIGTERM the registry and wait for it to exit."""
        self._shutdown()

    def restart(self) -> "RegistryServer":
        """Stop and start again with the same storage, on the same port if it is still free."""
        old_port = self.port
        self._shutdown()
        if old_port:
            try:
                self._launch(old_port)
                return self
            except RegistryError:
                if "address already in use" not in self.log_tail().lower():
                    raise
        self._launch(0)
        return self

    def close(self) -> None:
        """Stop and delete the temp dir (a given storage dir is kept)."""
        self.stop()
        self._cleanup()

    def __enter__(self) -> "RegistryServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self.url if self.port and self.running else "stopped"
        return f"<RegistryServer {state} storage={self.storage_dir}>"
