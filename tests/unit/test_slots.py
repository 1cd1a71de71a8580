"""Marathon's deployment slots as the run counts them: its own PUTs and every listed deployment."""

from __future__ import annotations

from fleetrewind.platform.slots import DeploymentSlots


def test_nothing_starts_before_the_list_is_read_then_others_deployments_take_slots() -> None:
    slots = DeploymentSlots(3)
    assert slots.take() is None  # nobody knows yet what runs
    slots.observe({"theirs-1", "theirs-2"}, read_at=0.0)
    first = slots.take()
    assert first is not None and slots.take() is None  # 3 admitted, 2 of them another tool's
    slots.started(first, "ours-1", at=1.0)
    slots.observe({"theirs-1", "ours-1"}, read_at=2.0)  # one of theirs ended
    assert slots.take() is not None and slots.take() is None


def test_a_deployment_holds_its_slot_until_a_read_sent_after_its_put_no_longer_lists_it() -> None:
    slots = DeploymentSlots(1)
    slots.observe(set(), read_at=0.0)
    token = slots.take()
    assert token is not None
    slots.started(token, "ours-1", at=5.0)
    slots.observe(set(), read_at=4.0)  # sent before the PUT was answered: it cannot show it yet
    assert slots.take() is None
    slots.observe(set(), read_at=6.0)
    assert slots.take() is not None


def test_a_read_that_saw_a_deployment_before_its_put_answered_does_not_count_it_twice() -> None:
    slots = DeploymentSlots(2)
    slots.observe(set(), read_at=0.0)
    token = slots.take()
    assert token is not None
    slots.observe({"ours-1"}, read_at=1.0)  # listed, but the PUT's answer is not in yet: "another's"
    slots.started(token, "ours-1", at=1.1)
    assert slots.in_use() == 1 and slots.take() is not None


def test_the_403_lowers_the_cap_and_nothing_starts_before_the_next_read() -> None:
    slots = DeploymentSlots(100)
    slots.observe(set(), read_at=0.0)
    token = slots.take()
    assert token is not None
    slots.refused(token, 4)
    assert slots.cap == 4 and slots.take() is None
    slots.observe({"a", "b", "c"}, read_at=1.0)
    assert slots.take() is not None and slots.take() is None


def test_an_end_seen_on_the_event_stream_frees_the_slot_at_once() -> None:
    slots = DeploymentSlots(1)
    slots.observe(set(), read_at=0.0)
    token = slots.take()
    assert token is not None
    slots.started(token, "ours-1", at=1.0)
    assert slots.take() is None
    slots.finished("ours-1")
    assert slots.take() is not None
