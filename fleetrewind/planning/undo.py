"""Pure: what undo may put back (docs/how-it-works.md, "Snapshots and undo").

Undo compares each app with what the run that wrote the snapshot left (its report): an app that
runs an image the run did not leave it on was changed since (a hotfix) and is not reverted
without ``--force``. A ``--with-config`` snapshot's app "already holds" its stored definition when
the definitions match, whatever its version string says (Marathon gives a restored definition a
new version, so comparing versions redeployed the whole fleet on a second undo): the platform
judges that (``Platform.holds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..model.states import Status

# what a service's status in the run's report says Marathon was left with: its "to", "from", or either
_LEFT_ON_TO = frozenset({Status.SUCCEEDED})
_LEFT_ON_FROM = frozenset({Status.UNCHANGED, Status.NOT_STARTED, Status.SKIPPED, Status.ROLLED_BACK})


@dataclass(frozen=True)
class Left:
    """One service as the run's report says the run left it."""
    status: str
    from_image: str | None
    to_image: str | None

    def images(self) -> frozenset[str]:
        if self.status in _LEFT_ON_TO:
            found = {self.to_image}
        elif self.status in _LEFT_ON_FROM:
            found = {self.from_image}
        else:  # failed, interrupted, rollback-failed: either may be running
            found = {self.from_image, self.to_image}
        return frozenset(i for i in found if i)


@dataclass(frozen=True)
class ChangedSince:
    service: str
    app_id: str
    image: str | None  # what it runs now
    left: frozenset[str]  # what the run left it on
    at: str  # Marathon's time of the app's last configuration change

    def describe(self) -> str:
        return (f"{self.service} ({self.app_id}) runs {self.image or 'no image'}, Marathon version {self.at or '?'}, "
                f"not {' or '.join(sorted(self.left))}")


def changed_since(targets: Mapping[str, str], left: Mapping[str, Left], changed_at: Mapping[str, str],
                  app_ids: Mapping[str, str], images: Mapping[str, str | None]) -> list[ChangedSince]:
    """The apps someone changed after the run: they run neither what the run left nor undo's target."""
    found = []
    for service, target in targets.items():
        record = left.get(service)
        now = images.get(service)
        if record is None or not record.images() or now in record.images() or now == target:
            continue
        found.append(ChangedSince(service, app_ids.get(service, "?"), now, record.images(),
                                  changed_at.get(service, "")))
    return found
