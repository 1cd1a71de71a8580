"""A change is written only while the environment's lock is proved held (state/zk.py ``still_proved``, the
transport's fence): a holder frozen between its proof and its PUT, and resumed after its ZooKeeper session
expired, sends nothing. The lease on a fake ZooKeeper client and the fake clock; the rollout on the in-memory
scheduler. The fence on a real PUT: tests/integration/test_marathon_client.py."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from kazoo.client import KazooState

from fleetrewind.model.lockrecord import LockRecord
from fleetrewind.model.plan import FailurePolicy
from fleetrewind.model.states import State, Status
from fleetrewind.planning.build import plan_for_images
from fleetrewind.state.file import FileStore
from fleetrewind.state.zk import ZkHeld
from tests.unit.test_rollout_revert import APP_IDS, NEW, OLD, new_bed

SESSION = 9.0  # seconds: the lease is half of it


@dataclass
class _Stat:
    ephemeralOwner: int  # noqa: N815 - kazoo's name


class _Answer:
    def __init__(self, stat: _Stat | None) -> None:
        self.stat = stat

    def get(self, timeout: float) -> _Stat | None:
        return self.stat


class FakeKazoo:
    """What ZkHeld asks of a kazoo client: its session, its state changes, and whether the lock node exists."""

    def __init__(self) -> None:
        self.client_id = (7, b"password")
        self.listeners: list[Callable[[str], Any]] = []
        self.owner: int | None = 7

    def add_listener(self, listener: Callable[[str], Any]) -> None:
        self.listeners.append(listener)

    def exists_async(self, node: str) -> _Answer:
        return _Answer(_Stat(self.owner) if self.owner is not None else None)

    def say(self, state: str) -> None:
        for listener in self.listeners:
            listener(state)


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
def held(clock: list[float]) -> tuple[ZkHeld, FakeKazoo]:
    client = FakeKazoo()
    return ZkHeld(client, "/fleetrewind/locks/prod/lock-0000000001", SESSION,  # type: ignore[arg-type]
                  clock=lambda: clock[0]), client


def test_nothing_is_proved_before_the_first_proof(held: tuple[ZkHeld, FakeKazoo]) -> None:
    lock, _ = held
    assert lock.still_proved() is False


def test_a_proof_holds_for_half_the_session_and_no_longer(held: tuple[ZkHeld, FakeKazoo],
                                                                clock: list[float]) -> None:
    lock, _ = held
    assert lock.may_start() is True
    clock[0] += SESSION / 2 - 0.01
    assert lock.still_proved() is True
    clock[0] += 0.02  # a process stopped this long after its proof may have lost its session
    assert lock.still_proved() is False
    assert lock.may_start() is True and lock.still_proved() is True, "a new proof, a new lease"


def test_a_suspended_or_lost_session_proves_nothing_whatever_the_clock(held: tuple[ZkHeld, FakeKazoo]) -> None:
    lock, client = held
    assert lock.may_start()
    client.say(KazooState.SUSPENDED)
    assert lock.still_proved() is False
    client.say(KazooState.CONNECTED)
    assert lock.still_proved() is True
    client.say(KazooState.LOST)
    assert lock.still_proved() is False and lock.may_start() is False


def test_a_node_owned_by_another_session_gives_no_lease(held: tuple[ZkHeld, FakeKazoo]) -> None:
    lock, client = held
    client.owner = 8
    assert lock.may_start() is False and lock.still_proved() is False


# -- the rollout: a change whose fence closes is not started ------------------------------------------



class FencedHeld:
    """A lock proved at each gate until its session is lost while the ``after``+1-th change is being written
    (its lease has run out then); the gate asked again finds it lost."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.asked = 0
        self.gates = 0

    def may_start(self) -> bool:
        self.gates += 1
        return self.asked <= self.after

    def still_proved(self) -> bool:
        self.asked += 1
        return self.asked <= self.after

    def lost(self) -> str | None:
        return None if self.asked <= self.after else "the ZooKeeper session expired, and the lock with it"


class FencedStore(FileStore):
    def __init__(self, held: FencedHeld, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fenced = held

    @contextlib.contextmanager
    def lock(self, env: str, record: LockRecord, *, force: bool, warn: Callable[[str], None]) -> Iterator[Any]:
        with super().lock(env, record, force=force, warn=warn):
            yield self.fenced


def test_a_change_whose_lease_ran_out_is_not_sent_and_nothing_after_it_starts(tmp_path: Path) -> None:
    bed = new_bed(tmp_path, store=lambda **kwargs: FencedStore(FencedHeld(after=1), **kwargs))
    plan = plan_for_images(NEW, current=OLD, app_ids=APP_IDS, waves=[["api"], ["web"], ["worker"]], env="prod",
                           reason="release of the date")

    result = bed.run(plan, policy=FailurePolicy.STOP)

    assert [app for app, _, _ in bed.scheduler.changes] == [APP_IDS["api"]], "only the change sent within the lease"
    statuses = {o.service: o.status for o in result.report.services}
    assert statuses == {"api": Status.SUCCEEDED, "web": Status.NOT_STARTED, "worker": Status.NOT_STARTED}
    web = next(o for o in result.report.services if o.service == "web")
    assert web.error == "not started: the environment's lock could no longer be proved held"
    assert result.state != State.SUCCEEDED


class LapsedOnce(FencedHeld):
    """The lease runs out once (a thread starved between its gate and its write); the lock is still held."""

    def may_start(self) -> bool:
        self.gates += 1
        return True

    def still_proved(self) -> bool:
        self.asked += 1
        return self.asked != 2  # the second change's first write finds the proof too old

    def lost(self) -> str | None:
        return None


def test_a_lapsed_proof_with_the_lock_still_held_is_proved_again_and_the_change_sent(tmp_path: Path) -> None:
    held = LapsedOnce(after=0)
    bed = new_bed(tmp_path, store=lambda **kwargs: FencedStore(held, **kwargs))
    plan = plan_for_images(NEW, current=OLD, app_ids=APP_IDS, waves=[["api"], ["web"], ["worker"]], env="prod",
                           reason="release of the date")

    result = bed.run(plan, policy=FailurePolicy.STOP)

    assert [app for app, _, _ in bed.scheduler.changes] == [APP_IDS[s] for s in ("api", "web", "worker")]
    assert result.state == State.SUCCEEDED and held.gates == 4, "web's gate was asked twice"
