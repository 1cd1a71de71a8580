"""A real ZooKeeper server for the tests and the bench: Debian's ``zookeeper`` package, standalone.

No ``zkServer.sh``: the server's main class (``QuorumPeerMain``) runs on the package's jars in
/usr/share/java (``zookeeper.jar``'s manifest names its dependencies) with a generated ``zoo.cfg``
in a temp folder, on a free loopback port. ``stop()`` and ``start()`` keep the port and the data
folder, so a server stopped mid-test comes back with the sessions it had (until they expire).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

JARS = ("/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar", "/usr/share/java/slf4j-nop.jar")
MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
TICK_MS = 100  # sessions may then be as short as 0.2 s (2 ticks) and as long as the cfg's maximum


class ZooKeeperMissing(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ZooKeeper:
    def __init__(self, folder: Path | None = None) -> None:
        missing = [jar for jar in JARS if not Path(jar).exists()]
        java = shutil.which("java")
        if missing or not java:
            raise ZooKeeperMissing(f"ZooKeeper is not installed ({', '.join(missing) or 'java'} missing): "
                                   "apt-get install zookeeper (make test does it)")
        self.java = java
        self.folder = folder or Path(tempfile.mkdtemp(prefix="zookeeper-"))
        self._own_folder = folder is None
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        self.config = self.folder / "zoo.cfg"
        self.config.write_text(f"tickTime={TICK_MS}\ndataDir={self.folder / 'data'}\nclientPort={self.port}\n"
                               "clientPortAddress=127.0.0.1\nminSessionTimeout=200\nmaxSessionTimeout=60000\n"
                               "admin.enableServer=false\n4lw.commands.whitelist=ruok\n")

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, chroot: str = "/fleetrewind") -> str:
        return f"zk://{self.hosts}{chroot}"

    def start(self, timeout: float = 30.0) -> "ZooKeeper":
        log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen([self.java, "-Xmx256m", "-cp", ":".join(JARS), "-Dzookeeper.admin.enableServer=false",
                                      MAIN, str(self.config)], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited ({self.proc.returncode}); see {self.folder / 'server.log'}")
            if self._ok():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"ZooKeeper did not answer within {timeout:.0f}s; see {self.folder / 'server.log'}")

    def _ok(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"ruok")
                return sock.recv(4) == b"imok"
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def close(self) -> None:
        self.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "ZooKeeper":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":  # a server to try the tool against by hand: python -m testbed.zookeeper
    with ZooKeeper() as zk:
        print(f"ZooKeeper on {zk.hosts}; try --state={zk.url()}  (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    os._exit(0)
