"""One release of a service: an image tag pushed on a day (what the index lists and a plan targets)."""

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
