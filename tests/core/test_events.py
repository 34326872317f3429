"""The long-work vocabulary: events survive a JSON Lines round trip; arrays never go into JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genstudio.core import events
from genstudio.core.events import Done, EtaClock, Failed, Log, Preview, Progress, drive, from_json, to_json

EVENTS = [
    Progress(step=3, total=10, eta_s=1.5, metrics={"loss": 0.25, "grad_norm": 1.0}, stage="train"),
    Progress(step=0, total=1),
    Preview(step=4, path="/tmp/preview 猫.png", caption="step 4"),
    Log(message="ünïcødé warning", level="warning"),
    Done(model="m1", path="/models/m1", steps=30, stopped=True, metrics={"loss": 0.1}),
    Done(),
    Failed(message="Out of memory.", detail="Traceback (most recent call last): ..."),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_json_lines_round_trip(event):
    line = to_json(event)
    assert "\n" not in line
    data = json.loads(line)
    assert data["type"] == event.type and isinstance(data["time"], float)
    back = from_json(line)
    assert type(back) is type(event)
    assert back == event


def test_preview_image_is_not_serialised():
    image = np.full((8, 8, 3), 7, np.uint8)
    event = Preview(step=2, path="p.png", image=image, caption="c")
    data = json.loads(to_json(event))
    assert "image" not in data
    assert data == {"type": "preview", "time": data["time"], "step": 2, "path": "p.png", "caption": "c"}
    back = from_json(to_json(event))
    assert back.image is None and back.path == "p.png" and back.step == 2
    assert event.image is image  # serialising does not touch the producer's event


def test_unknown_keys_are_ignored_for_forward_compatibility():
    back = from_json(json.dumps({"type": "log", "message": "hi", "time": 1.0, "added_later": 3}))
    assert back == Log(message="hi")


@pytest.mark.parametrize("line", [
    "",
    "not json",
    "[1, 2]",
    "null",
    '"progress"',
    "{}",
    '{"type": "nope"}',
    '{"type": null}',
    '{"type": ["progress"]}',
    '{"type": {"a": 1}}',
    '{"type": "progress"}',
    '{"type": "progress", "step": 1}',
    '{"type": "log"}',
    '{"type": "failed", "detail": "x"}',
])
def test_from_json_rejects_junk_with_value_error(line):
    with pytest.raises(ValueError):
        from_json(line)


def test_event_types_table():
    assert set(events.EVENT_TYPES) == {"progress", "preview", "log", "done", "failed", "text"}


def test_drive_passes_events_and_returns_the_result():
    def sampler():
        yield Progress(step=1, total=2)
        yield Log(message="half way")
        yield Progress(step=2, total=2)
        return "result"

    seen = []
    assert drive(sampler(), seen.append) == "result"
    assert seen == [Progress(step=1, total=2), Log(message="half way"), Progress(step=2, total=2)]
    assert drive(sampler()) == "result"  # without a listener


def test_drive_propagates_errors():
    def broken():
        yield Log(message="start")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        drive(broken())


def test_eta_clock():
    clock = EtaClock(start_step=10, total=20)
    assert clock.eta(10) is None
    eta = clock.eta(15)
    assert eta is not None and eta >= 0
    assert clock.eta(25) == 0
