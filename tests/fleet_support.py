"""The sample fleet pushed into a real registry, and the rollback.json of a clean ``get`` of it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from fleetrewind.cli import main
from testbed.fleet import SAMPLE_FLEET, populate


@dataclass(frozen=True)
class Indexed:
    registry_url: str
    host: str
    index_text: str

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
    return Indexed(registry_url, registry_url.split("://", 1)[1], (dump / "rollback.json").read_text())
