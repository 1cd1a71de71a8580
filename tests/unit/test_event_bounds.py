"""Marathon's event stream is bounded by bytes, frame by frame and as a whole (issue #22, item 9).

A stream sending ``data:`` lines with no value grew a run to 675 MB: the frame's size counted
values only. Every line counts now (its field name, blank lines and comments too), a frame over
``MAX_FRAME`` or a stream over ``MAX_STREAM`` ends the stream (the run polls instead), and the
endless generators below end after a bounded number of lines.
"""

from __future__ import annotations

import itertools
from typing import Iterator

import pytest

from fleetrewind.marathon import events as events_module
from fleetrewind.marathon.client import EventStream, _lines
from fleetrewind.marathon.events import Event, StreamBound, parse_events
from fleetrewind.errors import UnreachableError

FRAME = 4096
STREAM = 64 * 1024


@pytest.fixture(autouse=True)
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "MAX_FRAME", FRAME)
    monkeypatch.setattr(events_module, "MAX_STREAM", STREAM)


def counted(lines: Iterator[str]) -> tuple[list[str], Iterator[str]]:
    """The lines given to the parser, recorded as it pulls them."""
    seen: list[str] = []

    def pull() -> Iterator[str]:
        for line in lines:
            seen.append(line)
            yield line
    return seen, pull()


def consume(lines: Iterator[str]) -> tuple[list[Event], int]:
    seen, pulled = counted(lines)
    found: list[Event] = []
    with pytest.raises(StreamBound):
        for event in parse_events(pulled):
            found.append(event)
    return found, sum(len(line) + 1 for line in seen)


def test_data_lines_with_no_value_end_the_frame_at_its_bound() -> None:
    """The example: ``data:`` forever, each line empty, used to grow without end."""
    _, read = consume(itertools.repeat("data:"))
    assert read <= FRAME + 8


@pytest.mark.parametrize("line", [
    "event: x",  # an event name repeated forever
    "id: 1",  # a field the parser ignores
    "data",  # a field with no colon at all
    "retry: 1000",
])
def test_every_line_of_a_frame_counts(line: str) -> None:
    _, read = consume(itertools.repeat(line))
    assert read <= FRAME + len(line) + 1


@pytest.mark.parametrize("line", ["", ":", ": keep-alive"])
def test_blank_lines_and_comments_count_towards_the_whole_stream(line: str) -> None:
    _, read = consume(itertools.repeat(line))
    assert read <= STREAM + len(line) + 1


def test_small_useful_frames_forever_are_bounded_as_a_whole_stream() -> None:
    frame = ['event: deployment_info', 'data: {"eventType":"deployment_info","plan":{"id":"d"}}', ""]
    found, read = consume(itertools.chain.from_iterable(itertools.repeat(frame)))
    assert read <= STREAM + 80
    assert found and all(e.type == "deployment_info" for e in found)


def test_a_normal_stream_still_gives_its_events() -> None:
    stream = ["event: deployment_success", 'data: {"plan":{"id":"d-1"}}', "", ": ping", "",
              "event: deployment_failed", 'data: {"plan":', 'data: {"id":"d-2"}}', ""]
    assert [(e.type, e.deployment_id) for e in parse_events(stream)] == [
        ("deployment_success", "d-1"), ("deployment_failed", "d-2")]


class _Chunks:
    """A response whose body is endless newlines: the stream's reader must end."""

    def __init__(self, chunk: str) -> None:
        self.chunk = chunk
        self.closed = False

    def iter_content(self, _size: int, decode_unicode: bool) -> Iterator[str]:
        assert decode_unicode
        return itertools.repeat(self.chunk)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("chunk", ["\n" * 1000, "data:\n" * 500, "\r\n" * 700, ":\n" * 900])
def test_the_clients_stream_ends_with_one_reason_and_closes(chunk: str) -> None:
    response = _Chunks(chunk)
    with pytest.raises(UnreachableError, match="event stream sent more than"):
        list(EventStream(response))  # type: ignore[arg-type]
    assert response.closed


def test_lines_still_refuse_a_line_that_never_ends() -> None:
    with pytest.raises(ValueError):
        list(itertools.islice(_lines(itertools.repeat("x" * 4096)), 1))
