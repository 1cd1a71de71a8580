"""The sample fleet pushed into a real registry, and the rollback.json of a clean ``get`` of it."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import requests

from fleetrewind.cli import main
from testbed.fleet import SAMPLE_FLEET, populate



def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def signal_when(proc: subprocess.Popen[str], condition: Callable[[], bool], what: str, sig: int, *,
                timeout: float = 15) -> tuple[str, str]:
    """Send ``sig`` to ``proc`` once ``condition`` holds; its stdout and stderr (killed if it hangs)."""
    try:
        wait_for(condition, what, timeout)
        proc.send_signal(sig)
        return proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Indexed:
    registry_url: str
    host: str
    index_text: str
    prefix: str = ""

    def write_dump(self, folder: Path) -> Path:
        """A dump folder holding this rollback.json, as a test's `--dump`."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rollback.json").write_text(self.index_text)
        return folder

    def image(self, name: str, tag: str) -> str:
        """The image reference of a sample-fleet service (``name`` without the prefix) at ``tag``."""
        return f"{self.host}/{self.prefix}{name}:{tag}"

    @property
    def index(self) -> dict[str, Any]:
        return json.loads(self.index_text)


def index_sample_fleet(registry_url: str, *, prefix: str, services: Sequence[str], dump: Path,
                       auth: tuple[str, str] | None = None) -> Indexed:
    """Push SAMPLE_FLEET under ``prefix`` and run ``get`` once (credentials through the environment)."""
    populate(registry_url, SAMPLE_FLEET, prefix=prefix, auth=auth)
    environ = {"REGISTRY_USER": auth[0], "REGISTRY_PASSWORD": auth[1]} if auth else {}
    err = io.StringIO()
    code = main(["get", "--repo=" + ",".join(services), "--env=prod", f"--dump={dump}", f"--registry={registry_url}",
                 "--no-cache"], environ=environ, stdout=io.StringIO(), stderr=err)
    assert code == 0, err.getvalue()
    return Indexed(registry_url, registry_url.split("://", 1)[1], (dump / "rollback.json").read_text(), prefix)


def env_lock(env: str = "prod") -> Path:
    """The lock file of ``env`` in the test's lock folder (conftest points ROLLBACK_LOCK_DIR at tmp_path)."""
    return Path(os.environ["ROLLBACK_LOCK_DIR"]) / f"rollback-{env}.lock"


HOLDER = """
import sys, time
from pathlib import Path
from fleetrewind.state.filelock import EnvLock
with EnvLock(Path(sys.argv[1]), sys.argv[2], command="run", force=False, warn=print):
    print("held", flush=True)
    sys.stdin.read()
"""


def hold_lock(env: str = "prod", lock_dir: Path | None = None) -> subprocess.Popen[str]:
    """Another process that holds ``env``'s lock until its stdin is closed (a live run, as far as the lock goes)."""
    folder = lock_dir or env_lock(env).parent
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), env], cwd=root, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    if proc.stdin:
        proc.stdin.close()
    proc.wait(timeout=10)


def deploy_by_hand(sim: Any, app_id: str, image: str, auth: tuple[str, str]) -> None:
    """Someone else deploys ``image`` to ``app_id`` straight through Marathon's API, and it finishes
    (the deploy that lands between a plan and its run)."""
    container = copy.deepcopy(sim.apps[app_id]["container"])
    container["docker"]["image"] = image
    resp = requests.put(f"{sim.url}/v2/apps{app_id}", json={"container": container}, auth=auth, timeout=5)
    assert resp.status_code == 200, resp.text
    deadline = time.monotonic() + 10
    while sim.deployments and time.monotonic() < deadline:
        time.sleep(0.05)
