"""``undo --last --env=<e>``: the pipeline's one-click undo needs no snapshot name (issue #23 item 2).

The state store's journal names each changing run's snapshot; ``--last`` takes the newest run or
deploy of the environment that changed something (an interrupted one first), never an undo (so a
second ``undo --last`` is a no-op, not a redo).
"""

from __future__ import annotations

from typing import Callable

from tests.integration.test_history_e2e import CURRENT, SERVICES, World, indexed, make_world  # noqa: F401
from tests.integration.test_undo_truth import mark, puts, run


def undo_last(w: World, *extra: str) -> tuple[int, str, str]:
    return w.cli("undo", "--last", "--env=prod", f"--dump={w.dump}", "--timeout=5", *extra)


def test_undo_last_puts_back_the_last_run_and_twice_is_once(make_world: Callable[..., World]) -> None:
    w = make_world()
    snapshot = run(w)
    assert w.tags() != {n: CURRENT[n][0] for n in SERVICES}

    code, out, err = undo_last(w)
    assert code == 0, err + out
    assert f"the snapshot of the last change to prod is {snapshot}" in err
    assert w.tags() == {n: CURRENT[n][0] for n in SERVICES}

    before = mark(w)
    code, out, err = undo_last(w)  # the undo is not the last change --last undoes: the run still is
    assert code == 0, err + out
    assert puts(w, before) == []


def test_undo_last_with_nothing_recorded_names_the_flag_to_use(make_world: Callable[..., World]) -> None:
    w = make_world()
    code, out, err = undo_last(w)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: ")
    assert "records no run or deploy of prod that changed something" in err
    assert "--snapshot=<file>" in err
