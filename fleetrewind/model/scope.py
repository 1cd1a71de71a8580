"""Which services a run may touch: what the user asked for, and what that leaves in scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True, kw_only=True)
class Scope:
    """What the user asked for: ``only`` is None when --only was not given."""

    only: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    pinned: Mapping[str, str] = field(default_factory=dict)  # service -> reason ("" when none was given)

    def as_dict(self) -> dict[str, object]:
        return {"only": list(self.only) if self.only is not None else None, "exclude": list(self.exclude),
                "pinned": dict(self.pinned)}


@dataclass(frozen=True, kw_only=True)
class Selection:
    """The services in scope, in fleet order, and why each other one is left out."""

    selected: tuple[str, ...]
    left_out: Mapping[str, str]  # service -> why, in fleet order
