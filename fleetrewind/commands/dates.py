"""``dates``: the dates of rollback.json, newest first (what a Jenkins choice parameter takes)."""

from __future__ import annotations

from ..console import Console
from ..releases.index import label, read_index
from ..settings.commands import DatesSettings


def execute(settings: DatesSettings, console: Console) -> int:
    index = read_index(settings.common.dump)
    if settings.common.json:
        console.json({
            "env": index.env,
            "branch": index.branch,
            "generated_at": index.generated_at,
            "services": list(index.services),  # what Jenkins checks SERVICES and EXCLUDE against
            "dates": [{"date": day, "label": label(index, day),
                       **({"ran": list(index.ran[day])} if day in index.ran else {})} for day in index.dates()],
        })
    else:
        for day in index.dates():
            console.result(day)
    return 0
