"""A task's progress events as a tqdm bar on the terminal, for the CLI subcommands."""

from __future__ import annotations

import sys


def drive_with_bar(gen, desc: str, unit: str, stage: str | None = None, scale: float = 1.0):
    """Run the task generator ``gen`` to its result, showing its Progress events (those of ``stage``
    only, when given) as a bar on stderr. The bar is drawn at the first such event, so a request
    that fails its checks prints its error alone; ``scale`` turns the events' counts into ``unit``
    (0.1 for tenths of a second)."""
    from tqdm import tqdm

    from genstudio.core.events import drive

    bars = []
    number = "{n:.0f}/{total:.0f}" if scale == 1 else "{n:.1f}/{total:.1f}"

    def on_event(event):
        if event.type != "progress" or (stage is not None and event.stage != stage):
            return
        if not bars:
            bars.append(tqdm(total=event.total * scale, desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr,
                             bar_format="{l_bar}{bar}| " + number + " {unit} [{elapsed}<{remaining}]"))
        bars[0].total, bars[0].n = event.total * scale, event.step * scale
        bars[0].refresh()

    try:
        return drive(gen, on_event)
    finally:
        for bar in bars:
            bar.close()
