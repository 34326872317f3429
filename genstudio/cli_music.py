"""The music commands of ``genstudio``: ``generate`` with a music model, and ``interpolate``.

    genstudio generate --model NAME [--primer IN.mid] [--bars 8 | --seconds 20] -o OUT.mid [--wav OUT.wav]
    genstudio interpolate --model NAME A.mid B.mid --steps 5 -o OUTDIR [--wav]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genstudio.cli_progress import drive_with_bar
from genstudio.core.errors import GenStudioError

IMAGE_AND_TEXT_FLAGS = (("-n", "n"), ("--steps", "steps"), ("--sampler", "sampler"), ("--eta", "eta"),
                        ("--prompt", "prompt"), ("--negative-prompt", "negative_prompt"), ("--guidance", "guidance"),
                        ("--class", "class_name"), ("--truncation", "truncation"), ("--noise", "noise"),
                        ("--max-tokens", "max_tokens"), ("--top-k", "top_k"), ("--stop", "stop"),
                        ("--repetition-penalty", "repetition_penalty"), ("--separate", "separate"))
MUSIC_FLAGS = (("--primer", "primer"), ("--bars", "bars"), ("--seconds", "seconds"), ("--wav", "wav"),
               ("--tempo", "tempo"), ("--track", "track"))


def add_music_generate_args(g: argparse.ArgumentParser) -> None:
    g.add_argument("--primer", metavar="IN.mid", help="music models: continue this MIDI file")
    g.add_argument("--track", type=int, help="music models: use only this track of the primer (see its track list)")
    g.add_argument("--bars", type=float, help="music models: length of the new music in bars (default 8)")
    g.add_argument("--seconds", type=float, help="music models: length of the new music in seconds (instead of bars)")
    g.add_argument("--tempo", type=float, help="music models without a primer: beats per minute (default 120)")
    g.add_argument("--wav", metavar="OUT.wav", help="music models: also render the result to a WAV file")


def add_interpolate_parser(sub) -> None:
    p = sub.add_parser("interpolate", help="blend two melodies with a music-vae model, in N steps",
                       description="Encode the first melody phrase of A and of B and decode the steps between "
                                   "them; writes step_00.mid ... and all.mid (the steps one after another).")
    p.add_argument("a", metavar="A.mid")
    p.add_argument("b", metavar="B.mid")
    p.add_argument("--model", "-m", required=True)
    p.add_argument("--steps", type=int, default=5, help="phrases from A to B, both included (default 5)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = decode each step greedily (default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--wav", action="store_true", help="also render each step and all.wav")
    p.set_defaults(func=cmd_interpolate)


def refuse_flags(args, flags, why: str) -> None:
    given = [flag for flag, attr in flags if getattr(args, attr, None) not in (None, False)]
    if given:
        raise GenStudioError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} {why}.")


def cmd_compose(args) -> int:
    """``generate`` with a music model: continue --primer (or start from nothing), write MIDI (+ WAV)."""
    from genstudio.core.data.midi import read_midi, write_midi
    from genstudio.core.devices import resolve_device, set_threads
    from genstudio.tasks.compose import ComposeRequest, compose

    refuse_flags(args, IMAGE_AND_TEXT_FLAGS, f"not for music models; '{args.model}' composes music")
    if args.bars is not None and args.seconds is not None:
        raise GenStudioError("Give --bars or --seconds, not both.")
    if args.track is not None and not args.primer:
        raise GenStudioError("--track chooses a track of --primer; give a primer too.")
    primer = read_midi(args.primer, track=args.track) if args.primer else None
    request = ComposeRequest(args.model, primer=primer, **{k: v for k, v in (
        ("bars", args.bars), ("seconds", args.seconds), ("temperature", args.temperature), ("top_p", args.top_p),
        ("seed", args.seed), ("tempo", args.tempo)) if v is not None})
    if args.seconds is not None:
        request.bars = 0.0
    set_threads(args.threads)
    out = Path(args.output or f"{args.model}-seed{request.seed}.mid")
    result = drive_with_bar(compose(request, resolve_device(args.device)), f"{args.model}", "s of music", scale=0.1)
    write_midi(result, out)
    new = [n for n in result.notes if n.generated]
    print(out)
    print(f"{len(new)} new notes, {result.duration:.1f} s in all at {result.tempo:g} bpm", file=sys.stderr)
    if args.wav:
        print(render_wav(result, Path(args.wav)))
    return 0


def cmd_interpolate(args) -> int:
    from genstudio.core.data.midi import read_midi, write_midi
    from genstudio.core.devices import resolve_device, set_threads
    from genstudio.tasks.compose import InterpolateRequest, interpolate

    set_threads(args.threads)
    request = InterpolateRequest(args.model, read_midi(args.a), read_midi(args.b), steps=args.steps,
                                 temperature=args.temperature, seed=args.seed)
    blend = drive_with_bar(interpolate(request, resolve_device(args.device)), args.model, "steps")
    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GenStudioError(f"Cannot create the folder '{out}' ({err.strerror or err}).") from None
    joined = blend.joined()
    for i, phrase in enumerate(blend.phrases):
        print(write_midi(phrase, out / f"step_{i:02d}.mid"))
        if args.wav:
            render_wav(phrase, out / f"step_{i:02d}.wav")
    print(write_midi(joined, out / "all.mid"))
    if args.wav:
        print(render_wav(joined, out / "all.wav"))
    return 0


def render_wav(seq, path: Path) -> Path:
    from genstudio.core.synth import SAMPLE_RATE, render, write_wav

    return write_wav(render(seq, SAMPLE_RATE), path, SAMPLE_RATE)
