#!/usr/bin/env python
"""How much faster than real time the built-in synthesizer (``genstudio.core.synth``) renders.

Builds a ``--seconds``-long piece at 120 bpm in four parts plus drums: a piano melody in eighth
notes, string chords (three notes a bar, held), a bass line in quarter notes and a guitar arpeggio
in eighths (Karplus–Strong), over a kick/snare/hat pattern. For each voice it renders one line
(the melody's eighth notes, or the drum pattern for the kit) with that voice forced, and then the
whole piece with each note's own voice; each is timed by ``time.process_time`` (CPU seconds of this
process, so other load on the machine counts less) and by the wall clock, best of ``--repeats``.
The figure of merit is seconds of audio rendered per CPU second (real time = 1). Prints one JSON
object.

    .venv/bin/python benchmarks/synth_speed.py               # a 60-second piece, best of 3
    .venv/bin/python benchmarks/synth_speed.py --quick       # 10 seconds, once
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genstudio.core import synth  # noqa: E402
from genstudio.core.notes import Note, NoteSequence  # noqa: E402

BEAT = 0.5  # seconds per beat at 120 bpm
SCALE = (0, 2, 4, 5, 7, 9, 11, 12)


def melody(seconds: float, program: int = 0) -> list[Note]:
    steps = int(seconds / (BEAT / 2))
    return [Note(60 + SCALE[(i * 3) % 8], i * BEAT / 2, (i + 1) * BEAT / 2, 70 + (i * 13) % 50, program=program)
            for i in range(steps)]


def chords(seconds: float) -> list[Note]:
    bars = int(seconds / (4 * BEAT))
    roots = (48, 53, 55, 45)
    return [Note(roots[b % 4] + offset, b * 4 * BEAT, (b + 1) * 4 * BEAT, 60, program=48)
            for b in range(bars) for offset in (12, 16, 19)]


def bass(seconds: float) -> list[Note]:
    roots = (36, 41, 43, 33)
    return [Note(roots[(i // 4) % 4] + (7 if i % 4 == 2 else 0), i * BEAT, (i + 0.9) * BEAT, 90, program=33)
            for i in range(int(seconds / BEAT))]


def arpeggio(seconds: float) -> list[Note]:
    shape = (0, 4, 7, 12, 7, 4)
    return [Note(52 + shape[i % 6], i * BEAT / 2, (i + 1.5) * BEAT / 2, 75, program=25)
            for i in range(int(seconds / (BEAT / 2)) - 1)]


def drums(seconds: float) -> list[Note]:
    notes = []
    for i in range(int(seconds / (BEAT / 2))):
        at = i * BEAT / 2
        notes.append(Note(42, at, at + 0.1, 60, is_drum=True))
        if i % 4 == 0:
            notes.append(Note(36, at, at + 0.1, 110, is_drum=True))
        if i % 4 == 2:
            notes.append(Note(38, at, at + 0.1, 100, is_drum=True))
    return notes


def timed(seq: NoteSequence, repeats: int, voice: str | None = None) -> dict:
    best_cpu = best_wall = float("inf")
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        audio = synth.render(seq, voice=voice)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    seconds = len(audio) / synth.SAMPLE_RATE
    return {"notes": len(seq.notes), "audio_s": round(seconds, 2), "cpu_s": round(best_cpu, 3),
            "wall_s": round(best_wall, 3), "audio_s_per_cpu_s": round(seconds / max(best_cpu, 1e-9), 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the piece")
    parser.add_argument("--repeats", type=int, default=3, help="timed renders of each; the best counts")
    parser.add_argument("--quick", action="store_true", help="10 seconds, once: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats = 10.0, 1
    synth.render(NoteSequence(melody(2.0)))  # warm the wavetable cache and numpy before timing
    line = NoteSequence(melody(args.seconds))
    per_voice = {name: timed(NoteSequence(drums(args.seconds)) if name == "drums" else line, args.repeats,
                             voice=None if name == "drums" else name)
                 for name in synth.VOICES}
    piece = NoteSequence(melody(args.seconds) + chords(args.seconds) + bass(args.seconds)
                         + arpeggio(args.seconds) + drums(args.seconds))
    result = {"benchmark": "synth_speed", "seconds": args.seconds, "repeats": args.repeats,
              "sample_rate": synth.SAMPLE_RATE, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
              "per_voice": per_voice, "piece": timed(piece, args.repeats)}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
