"""One release: a build of a service's environment branch, with when its image was created."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Release:
    service: str
    created: dt.datetime
    tag: str
    digest: str
    image: str
