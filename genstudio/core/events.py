"""One vocabulary for all long work: training, sampling, scanning, exporting.

Producers (samplers, the trainer loop) yield or emit these; consumers (the CLI's tqdm bar, the UI's
progress bar, tests) read them. Across a process boundary they travel as JSON Lines: one object per
line with a ``"type"`` field. Arrays (a preview image) never go into JSON: a preview crosses the
process boundary as the path of a PNG the producer wrote.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass
class Progress:
    """``step`` of ``total`` done; ``eta_s`` is the estimated seconds left (None while unknown)."""

    step: int
    total: int
    eta_s: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    stage: str = ""  # "train", "sample", "scan", ...
    type: ClassVar[str] = "progress"


@dataclass
class Preview:
    """An intermediate picture: ``image`` (H×W×3 uint8, or N×H×W×3) in-process, ``path`` across; or,
    from a text model, an intermediate ``text`` (which does travel in the JSON line)."""

    step: int
    path: str | None = None
    image: Any = None  # numpy array; not serialised
    caption: str = ""
    text: str = ""  # a text model's sample; left out of the JSON line when empty
    type: ClassVar[str] = "preview"


@dataclass
class Log:
    message: str
    level: str = "info"  # "info", "warning", "error"
    type: ClassVar[str] = "log"


@dataclass
class Done:
    """The work finished (or was stopped and saved: ``stopped``); ``model`` names what it produced."""

    model: str | None = None
    path: str | None = None
    steps: int | None = None
    stopped: bool = False
    metrics: dict[str, float] = field(default_factory=dict)
    type: ClassVar[str] = "done"


@dataclass
class Failed:
    """The work failed; ``message`` is for the user, ``detail`` (a traceback) for the log."""

    message: str
    detail: str = ""
    type: ClassVar[str] = "failed"


@dataclass
class TextChunk:
    """Text as it is written (streamed generation); ``index`` says which alternative it belongs to."""

    text: str
    index: int = 0
    type: ClassVar[str] = "text"


Event = Progress | Preview | Log | Done | Failed | TextChunk
EVENT_TYPES: dict[str, type] = {cls.type: cls for cls in (Progress, Preview, Log, Done, Failed, TextChunk)}
_NOT_SERIALISED = {"image"}
_LEFT_OUT_WHEN_EMPTY = {"preview": {"text"}}  # an image preview's line stays as before previews had text


def to_dict(event: Event) -> dict[str, Any]:
    optional = _LEFT_OUT_WHEN_EMPTY.get(event.type, ())
    data = {k: v for k, v in asdict(event).items() if k not in _NOT_SERIALISED and not (k in optional and v == "")}
    return {"type": event.type, "time": round(time.time(), 3), **data}


def to_json(event: Event) -> str:
    return json.dumps(to_dict(event), ensure_ascii=False)


def from_json(line: str) -> Event:
    """Parse one JSON line back into an event; raises ValueError on anything that is not one."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not a JSON event line: {line[:80]!r}") from err
    if not isinstance(data, dict) or not isinstance(data.get("type"), str) or data["type"] not in EVENT_TYPES:
        raise ValueError(f"not a GenStudio event: {line[:80]!r}")
    cls = EVENT_TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as err:  # a required field is missing
        raise ValueError(f"incomplete {data['type']} event ({err}): {line[:80]!r}") from None


class EtaClock:
    """Estimates seconds left from the average time per step since ``start`` (resets on resume)."""

    def __init__(self, start_step: int, total: int):
        self.start_step, self.total = start_step, total
        self.t0 = time.perf_counter()

    def eta(self, step: int) -> float | None:
        done = step - self.start_step
        if done <= 0:
            return None
        per_step = (time.perf_counter() - self.t0) / done
        return round(per_step * max(self.total - step, 0), 1)


def describe_eta(seconds: float | None) -> str:
    """``EtaClock.eta`` in words, for a status line."""
    if seconds is None:
        return "estimating time…"
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    return f"about {int(seconds // 60)} min {int(seconds % 60):02d} s left"


def drive(gen, on_event=None):
    """Run a generator of events to the end, passing each to ``on_event``; return its return value.

    Samplers are generators that ``yield`` events and ``return`` their result, so callers that do
    not stream (tests, batch jobs) use this; the UI worker iterates them itself to check for cancel.
    """
    while True:
        try:
            event = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(event)
