"""``genstudio ...``: everything the app does, headless, with tqdm progress.

User errors (``GenStudioError``) print one sentence and exit 1; Ctrl-C cancels cleanly (exit 130).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genstudio import __version__
from genstudio.cli_inspect import add_inspect_parser
from genstudio.cli_music import (
    MUSIC_FLAGS,
    add_interpolate_parser,
    add_music_generate_args,
    cmd_compose,
    refuse_flags,
)
from genstudio.core.errors import GenStudioError

COMMANDS = ("archs", "models", "train", "generate", "inpaint", "infill", "translate", "interpolate", "inspect",
            "devices", "selftest", "gui")


def cmd_archs(args) -> int:
    from genstudio.core.registry import specs

    rows = [s.summary() for s in specs()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = ("name", "family", "modality", "capabilities", "presets")
    table = [header] + [(s.name, s.family, s.modality, ", ".join(r["capabilities"]), ", ".join(s.presets))
                        for s, r in zip(specs(), rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def _model_row(info) -> dict:
    card = info.card
    return {"name": info.name, "arch": card["arch"], "steps": card["steps"], "created": card["created"],
            "size_mb": round(info.size_bytes / 1e6, 2), "bundled": info.bundled, "path": str(info.path)}


def cmd_models(args) -> int:
    from genstudio.core.store import ModelStore

    store = ModelStore()
    action = args.action or "list"
    if action == "list":
        models, problems = store.list()
        rows = [_model_row(m) for m in models]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print(f"No models yet. Train one: genstudio train ddpm --data FOLDER --name NAME\n(library: {store.root})")
        for r in rows if not args.json else []:
            tag = " (bundled)" if r["bundled"] else ""
            print(f"{r['name']:<24} {r['arch']:<10} {r['steps']:>7} steps  {r['size_mb']:>6} MB  {r['created']}{tag}")
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        return 0
    if action == "show":
        info = store.get(_need(args.names, 1, "models show NAME")[0])
        print(json.dumps({**info.card, "path": str(info.path), "bundled": info.bundled}, indent=2))
    elif action == "rename":
        old, new = _need(args.names, 2, "models rename OLD NEW")
        print(f"Renamed to '{store.rename(old, new).name}'.")
    elif action == "delete":
        (name,) = _need(args.names, 1, "models delete NAME")
        if not args.yes and not _confirm(f"Delete the model '{name}'? [y/N] "):
            print("Nothing deleted.")
            return 1
        store.delete(name)
        print(f"Deleted '{name}'.")
    elif action == "export":
        name, dest = _need(args.names, 2, "models export NAME OUT.zip")
        print(f"Exported to {store.export_zip(name, Path(dest))}")
    elif action == "import":
        (src,) = _need(args.names, 1, "models import FILE.zip")
        info = store.import_zip(Path(src), name=args.name)
        print(f"Imported '{info.name}' ({info.arch}, {info.card['steps']} steps).")
    return 0


def _need(values: list[str], count: int, usage: str) -> list[str]:
    if len(values) != count:
        raise GenStudioError(f"Usage: genstudio {usage}")
    return values


def _confirm(question: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        raise GenStudioError("Refusing to delete without confirmation; add --yes.")
    return input(question).strip().lower() in ("y", "yes")


def cmd_generate(args) -> int:
    modality = model_modality(args.model) if args.model and not args.from_png else "image"
    if modality == "text":
        refuse_flags(args, MUSIC_FLAGS, f"for music models; '{args.model}' writes text")
        return cmd_write(args)
    if modality == "music":
        return cmd_compose(args)
    refuse_flags(args, MUSIC_FLAGS, "for music models")
    text_only = [flag for flag, value in (("--max-tokens", args.max_tokens), ("--top-k", args.top_k), ("--top-p", args.top_p),
                                          ("--repetition-penalty", args.repetition_penalty), ("--stop", args.stop))
                 if value is not None]
    if text_only:
        raise GenStudioError(f"{', '.join(text_only)} {'is' if len(text_only) == 1 else 'are'} for text models.")
    from tqdm import tqdm

    from genstudio.core.devices import describe, resolve_device, set_threads
    from genstudio.core.store import ModelStore
    from genstudio.tasks.generate import GenerateRequest, generate
    from genstudio.tasks.images import make_grid, read_png_params, save_png

    given = {k: v for k, v in (("model", args.model), ("n", args.n), ("seed", args.seed), ("steps", args.steps),
                               ("sampler", args.sampler), ("eta", args.eta), ("temperature", args.temperature),
                               ("prompt", args.prompt), ("negative_prompt", args.negative_prompt),
                               ("guidance", args.guidance), ("truncation", args.truncation), ("noise", args.noise))
             if v is not None}
    if args.from_png:
        params = read_png_params(args.from_png)
        request = GenerateRequest.from_params({**params, **given})
        current = ModelStore().get(request.model).card["weights_sha256"]
        if params.get("model_sha256") not in (None, current):
            print(f"warning: '{request.model}' has changed since {args.from_png} was made; the result will differ.",
                  file=sys.stderr)
    elif "model" not in given:
        raise GenStudioError("Name a model with --model NAME (see `genstudio models`), or use --from PNG.")
    else:
        request = GenerateRequest(**given)
    card = ModelStore().get(request.model).card  # a missing model is reported before any progress bar is drawn
    if args.class_name is not None:
        request.label = class_index(card, args.class_name)
    warn_unknown_words(card, request.prompt)
    set_threads(args.threads)
    device = resolve_device(args.device)
    out = Path(args.output or f"{request.model}-seed{request.seed}.png")
    bar = tqdm(total=request.steps, unit="step", desc=f"{request.model} ×{request.n} on {describe(device)}", dynamic_ncols=True)

    def on_event(event):
        if event.type == "progress":
            bar.total = event.total
            bar.update(event.step - bar.n)

    from genstudio.core.events import drive

    try:
        result = drive(generate(request, device), on_event)
    finally:
        bar.close()
    if args.separate:
        for i, image in enumerate(result.images):
            path = out.with_name(f"{out.stem}_{i:03d}{out.suffix or '.png'}")
            save_png(make_grid(image[None]), path, {**result.image_params(i), "layout": "single"})
            print(path)
    else:
        save_png(make_grid(result.images), out, {**result.params, "layout": "grid"})
        print(out)
    for i in range(len(result.images)) if result.likelihoods or result.classes else ():
        nats = f" ({result.likelihoods[i]['nll_nats']:.1f} nats)" if result.likelihoods else ""
        print(f"image {i} (seed {request.seed + i}): {result.caption(i)}{nats}")
    return 0


def model_modality(name: str) -> str:
    from genstudio.core.registry import get
    from genstudio.core.store import ModelStore

    return get(ModelStore().get(name).card["arch"]).modality


def sampling_settings(args) -> dict:
    """The text sampling flags that were given (the request's defaults stand for the others)."""
    return {k: v for k, v in (("max_tokens", args.max_tokens), ("temperature", args.temperature), ("top_k", args.top_k),
                              ("top_p", args.top_p), ("repetition_penalty", args.repetition_penalty),
                              ("seed", args.seed)) if v is not None}


def write_text(path: Path, text: str) -> None:
    """UTF-8, newlines exactly as given (no CRLF translation): the text around a gap stays byte-for-byte."""
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as err:
        raise GenStudioError(f"Cannot write '{path}' ({err.strerror or err}).") from None


def echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def cmd_write(args) -> int:
    """``generate`` with a text model: the prompt, then the continuation as it is written."""
    from genstudio.core.devices import resolve_device, set_threads
    from genstudio.core.events import drive
    from genstudio.tasks.write import WriteRequest, continue_text

    image_only = [flag for flag, value in (("-n", args.n), ("--steps", args.steps), ("--sampler", args.sampler),
                                           ("--eta", args.eta), ("--negative-prompt", args.negative_prompt),
                                           ("--guidance", args.guidance), ("--class", args.class_name),
                                           ("--truncation", args.truncation), ("--noise", args.noise),
                                           ("--separate", args.separate or None)) if value is not None]
    if image_only:
        raise GenStudioError(f"{', '.join(image_only)} {'is' if len(image_only) == 1 else 'are'} for image models; "
                             f"'{args.model}' writes text.")
    request = WriteRequest(args.model, prompt=args.prompt or "", stop=list(args.stop or []), **sampling_settings(args))
    set_threads(args.threads)
    device = resolve_device(args.device)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a console without the characters must not stop the writing
    out = Path(args.output) if args.output else None
    written: list[str] = []
    echo(request.prompt)
    try:
        result = drive(continue_text(request, device), lambda chunk: (written.append(chunk.text), echo(chunk.text)))
    except KeyboardInterrupt:
        if out and written:
            write_text(out, request.prompt + "".join(written))  # keep what was written before Ctrl-C
            print(f"\n(stopped; the text so far is in {out})", file=sys.stderr)
        raise
    print(flush=True)  # before the summary on stderr
    if out:
        write_text(out, request.prompt + result.text)
    ending = {"length": "reached --max-tokens", "stop": "met a stop sequence", "end": "the model ended the text"}
    rate = f", {result.tokens / result.seconds:.0f} tokens/s" if result.seconds > 0 else ""
    print(f"{result.tokens} tokens in {result.seconds:.2f} s{rate}; {ending[result.finish]}"
          f"{f'; written to {out}' if out else ''}", file=sys.stderr)
    return 0


def read_text_arg(text: str | None, path: str | None, flag: str) -> str:
    """``--before`` or ``--before-file`` (UTF-8, newlines kept as they are), or ""."""
    if text is not None and path is not None:
        raise GenStudioError(f"Give --{flag} or --{flag}-file, not both.")
    if path is None:
        return text or ""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        raise GenStudioError(f"No such file: '{path}'.") from None
    except UnicodeDecodeError:
        raise GenStudioError(f"'{path}' is not UTF-8 text; save it as UTF-8 and try again.") from None
    except OSError as err:
        raise GenStudioError(f"Cannot read '{path}' ({err.strerror or err}).") from None


def cmd_infill(args) -> int:
    from genstudio.core.devices import resolve_device, set_threads
    from genstudio.core.events import drive
    from genstudio.tasks.write import InfillRequest, infill

    before = read_text_arg(args.before, args.before_file, "before")
    after = read_text_arg(args.after, args.after_file, "after")
    request = InfillRequest(args.model, before, after, n=args.n, **sampling_settings(args))
    set_threads(args.threads)
    device = resolve_device(args.device)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    shown = [-1]  # the last alternative whose heading is out (one with an empty middle sends no chunk)

    def show_until(index: int) -> None:
        while shown[0] < index:
            shown[0] += 1
            separator = "\n" if shown[0] else ""
            echo(f"{separator}--- alternative {shown[0] + 1} (seed {request.seed + shown[0]}) ---\n")

    def on_chunk(chunk) -> None:
        show_until(chunk.index)
        echo(chunk.text)

    middles = drive(infill(request, device), on_chunk)
    show_until(len(middles) - 1)
    print(flush=True)
    if args.output:
        out = Path(args.output)
        for i, middle in enumerate(middles):
            path = out if len(middles) == 1 else out.with_name(f"{out.stem}-{i + 1}{out.suffix or '.txt'}")
            write_text(path, before + middle + after)
            print(path, file=sys.stderr)
    return 0


def class_index(card: dict, name: str) -> int:
    """``--class`` as a class name (or its number) of a class-conditional model."""
    classes = card["config"].get("classes") or []
    if not classes:
        raise GenStudioError(f"'{card['name']}' was not trained with classes (a folder of class subfolders).")
    if name in classes:
        return classes.index(name)
    if name.isdigit() and int(name) < len(classes):
        return int(name)
    raise GenStudioError(f"'{card['name']}' has no class '{name}'. Its classes: {', '.join(classes)}.")


def warn_unknown_words(card: dict, prompt: str) -> None:
    from genstudio.core.data.captions import unknown_words

    vocab = card["config"].get("vocab")
    unknown = unknown_words(prompt, vocab) if vocab and prompt else []
    if unknown:
        print(f"note: not in this model's vocabulary (ignored): {', '.join(dict.fromkeys(unknown))}", file=sys.stderr)


def cmd_inpaint(args) -> int:
    import numpy as np
    from PIL import Image
    from tqdm import tqdm

    from genstudio.core.devices import describe, resolve_device, set_threads
    from genstudio.core.events import drive
    from genstudio.core.store import ModelStore
    from genstudio.tasks.images import save_png
    from genstudio.tasks.inpaint import InpaintRequest, inpaint, normalise_outpaint

    given = {k: v for k, v in (("n", args.n), ("seed", args.seed), ("steps", args.steps), ("strength", args.strength),
                               ("harmonize", args.harmonize), ("feather", args.feather), ("prompt", args.prompt),
                               ("negative_prompt", args.negative_prompt), ("guidance", args.guidance))
             if v is not None}
    request = InpaintRequest(args.model, outpaint=normalise_outpaint(parse_outpaint(args.outpaint)), **given)
    card = ModelStore().get(request.model).card  # a missing model is reported before any progress bar is drawn
    if args.class_name is not None:
        request.label = class_index(card, args.class_name)
    warn_unknown_words(card, request.prompt)
    image = read_picture(args.image)
    if args.mask:
        mask = read_mask(args.mask, image.shape[:2])
    elif request.outpaint:
        mask = np.zeros(image.shape[:2], np.uint8)  # the new area alone
    else:
        raise GenStudioError("Give a --mask MASK.png (white = repaint) or --outpaint SIDE:PIXELS.")
    set_threads(args.threads)
    device = resolve_device(args.device)
    out = Path(args.output or f"{Path(args.image).stem}-inpainted.png")
    bar = tqdm(total=request.steps, unit="step", desc=f"{request.model} ×{request.n} on {describe(device)}",
               dynamic_ncols=True)

    def on_event(event):
        if event.type == "progress":
            bar.total = event.total
            bar.update(event.step - bar.n)

    try:
        result = drive(inpaint(request, image, mask, device), on_event)
    finally:
        bar.close()
    for i, candidate in enumerate(result.candidates):
        path = out if request.n == 1 else out.with_name(f"{out.stem}-{i + 1}{out.suffix or '.png'}")
        save_png(Image.fromarray(candidate), path, result.image_params(i))
        print(path)
    return 0


def parse_outpaint(values: list[str] | None) -> dict[str, int]:
    """``["left:128", "up:64,right:32"]`` -> ``{"left": 128, "up": 64, "right": 32}``."""
    sides: dict[str, int] = {}
    for item in ",".join(values or []).split(","):
        if not item.strip():
            continue
        side, sep, amount = (part.strip() for part in item.partition(":"))
        if not sep or not amount.isdigit():
            raise GenStudioError(f"--outpaint takes SIDE:PIXELS with SIDE left, right, up or down (e.g. left:128); "
                                 f"got '{item.strip()}'.")
        if side.lower() in sides:
            raise GenStudioError(f"--outpaint names '{side}' twice.")
        sides[side.lower()] = int(amount)
    return sides


def read_picture(path: str):
    from genstudio.core.data.images import load_image

    if not Path(path).is_file():
        raise GenStudioError(f"No such image: '{path}'.")
    try:
        return load_image(path)
    except ValueError as err:
        raise GenStudioError(f"Cannot read '{path}': {err}.") from None


def read_mask(path: str, shape: tuple[int, int]):
    """A mask file of any mode as H×W uint8 (white = repaint; transparent counts as black), the image's size."""
    import numpy as np
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if "A" in img.getbands() or "transparency" in img.info:
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
            mask = np.array(img.convert("L"))
    except FileNotFoundError:
        raise GenStudioError(f"No such mask: '{path}'.") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise GenStudioError(f"Cannot read the mask '{path}' ({err}).") from None
    if mask.shape != shape:
        raise GenStudioError(f"The mask is {mask.shape[1]}×{mask.shape[0]} pixels but the image is "
                             f"{shape[1]}×{shape[0]}: they must be the same size.")
    return mask


def cmd_translate(args) -> int:
    from genstudio.cli_progress import drive_with_bar
    from genstudio.core.devices import describe, resolve_device, set_threads
    from genstudio.core.store import ModelStore
    from genstudio.tasks.translate import TranslateRequest, translate_files

    request = TranslateRequest(args.model, direction=args.direction, inputs=list(args.inputs), output_dir=args.output,
                               tile=args.tile, overlap=args.overlap)
    ModelStore().get(request.model)  # a missing model is reported before any progress bar is drawn
    set_threads(args.threads)
    device = resolve_device(args.device)
    report = drive_with_bar(translate_files(request, device), f"{request.model} {request.direction} on "
                            f"{describe(device)}", "image", stage="translate")
    print(f"Wrote {len(report.written)} image(s) to {request.output_dir}")
    if report.skipped:
        listed = "; ".join(f"{path} ({reason})" for path, reason in report.skipped)
        print(f"Skipped {len(report.skipped)} file(s): {listed}", file=sys.stderr)
    return 0 if report.written else 1


def cmd_devices(args) -> int:
    from genstudio.core.devices import available_devices, describe, onnx_providers, resolve_device

    print(f"torch devices: {', '.join(available_devices())}; auto -> {describe(resolve_device('auto'))}")
    print(f"onnxruntime providers: {', '.join(onnx_providers())}")
    return 0


def cmd_selftest(args) -> int:
    from genstudio.selftest import run_selftest

    return run_selftest()


def cmd_gui(args) -> int:
    from genstudio.ui.app import run_app

    return run_app()


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """Where a command runs: --device auto|cpu|cuda|mps and --threads (0 = torch's default)."""
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genstudio", description="GenStudio: train and run generative models locally.")
    p.add_argument("--version", action="version", version=f"GenStudio {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("archs", help="list the architectures GenStudio can train")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_archs)

    m = sub.add_parser("models", help="the model library: list, show, rename, delete, export, import")
    m.add_argument("action", nargs="?", choices=("list", "show", "rename", "delete", "export", "import"))
    m.add_argument("names", nargs="*")
    m.add_argument("--json", action="store_true")
    m.add_argument("--yes", action="store_true", help="delete without asking")
    m.add_argument("--name", help="import under this name")
    m.set_defaults(func=cmd_models)

    sub.add_parser("train", help="train a model (same as python -m trainers; see genstudio train -h)",
                   add_help=False)

    g = sub.add_parser("generate", help="generate from a library model")
    g.add_argument("--model", "-m")
    g.add_argument("-n", type=int, help="number of images (default 16)")
    g.add_argument("--seed", type=int, help="image i uses seed + i (default 0)")
    g.add_argument("--steps", type=int, help="sampling steps (default 25)")
    g.add_argument("--sampler", choices=("ddim", "ddpm"), help="default ddim")
    g.add_argument("--eta", type=float, help="DDIM noise, 0 (deterministic) to 1")
    g.add_argument("--temperature", type=float,
                   help="flows, PixelCNN/RNN, RBM, EBM and text models: below 1 safer, above 1 wilder "
                        "(default 1; text 0.8, 0 = always the likeliest token)")
    g.add_argument("--prompt", help="text-to-image models: what to draw; text models: the text to continue")
    g.add_argument("--negative-prompt", help="text-to-image models: what guidance steers away from")
    g.add_argument("--guidance", type=float, help="classifier-free guidance scale (0 = unconditional, 1 = plain)")
    g.add_argument("--class", dest="class_name", metavar="NAME", help="class-conditional models: the class to draw "
                   "(a training subfolder's name; default: each image's class from its seed)")
    g.add_argument("--truncation", type=float, help="StyleGAN ψ: 1 = full variety, 0 = the average image")
    g.add_argument("--noise", choices=("const", "random"), help="StyleGAN per-layer noise (default const)")
    g.add_argument("--from", dest="from_png", metavar="PNG", help="repeat the settings stored in a GenStudio PNG")
    add_text_sampling(g)
    g.add_argument("--stop", action="append", metavar="TEXT",
                   help="text models: end where this text appears (left out); repeat for several")
    add_music_generate_args(g)
    g.add_argument("-o", "--output", help="output PNG (a grid, or a stem with --separate); text models: a .txt "
                   "with the prompt and its continuation; music models: a .mid file")
    g.add_argument("--separate", action="store_true", help="one PNG per image instead of a grid")
    add_device_args(g)
    g.set_defaults(func=cmd_generate)

    f = sub.add_parser("infill", help="write the missing middle of a text, given what comes before and after",
                       description="Fill a gap in a text with an infill model. The alternatives stream to the "
                       "terminal; with -o, each is written whole (before + middle + after) to OUT, or to OUT-1.txt "
                       "... OUT-N.txt for several. The text around the gap is kept byte-for-byte.")
    f.add_argument("--model", "-m", required=True)
    f.add_argument("--before", help="the text before the gap")
    f.add_argument("--after", help="the text after the gap")
    f.add_argument("--before-file", metavar="FILE", help="the text before the gap, from a UTF-8 file")
    f.add_argument("--after-file", metavar="FILE", help="the text after the gap, from a UTF-8 file")
    f.add_argument("-n", type=int, default=3, help="alternatives (default 3; alternative i uses seed + i)")
    f.add_argument("--temperature", type=float, help="below 1 safer, above 1 wilder (default 0.8)")
    add_text_sampling(f)
    f.add_argument("--seed", type=int, help="default 0")
    f.add_argument("-o", "--output", metavar="OUT.txt", help="write the filled text(s) here")
    add_device_args(f)
    f.set_defaults(func=cmd_infill)

    i = sub.add_parser("inpaint", help="repaint the masked part of an image, or extend it (outpaint)",
                       description="Repaint where MASK is white, with a model that can inpaint. With -n N > 1 the "
                       "candidates go to OUT-1.png ... OUT-N.png (candidate k uses seed + k - 1).")
    i.add_argument("image", metavar="IMAGE", help="the picture to repaint or extend (any size)")
    i.add_argument("--model", "-m", required=True)
    i.add_argument("--mask", metavar="MASK.png", help="white = repaint, black = keep; the image's size (any mode)")
    i.add_argument("--outpaint", action="append", metavar="SIDE:PIXELS",
                   help="extend the canvas and fill the new area: left, right, up or down, e.g. left:128; "
                        "repeat it or give a comma list (left:64,down:32); without --mask only the new area is painted")
    i.add_argument("-n", type=int, default=1,
                   help="candidates (default 1; more are written as OUT-1.png, OUT-2.png ...)")
    i.add_argument("--seed", type=int, help="candidate i uses seed + i (default 0)")
    i.add_argument("--steps", type=int, help="sampling steps, or the VAE's optimisation steps (default 25)")
    i.add_argument("--strength", type=float, help="1 repaints from scratch (default); lower keeps more of the original")
    i.add_argument("--harmonize", type=int, help="diffusion: resampling passes per step (default 2)")
    i.add_argument("--feather", type=int, help="blend width outside the mask in pixels (default 8)")
    i.add_argument("--prompt", help="text-to-image models: what to draw")
    i.add_argument("--negative-prompt", help="text-to-image models: what guidance steers away from")
    i.add_argument("--guidance", type=float, help="classifier-free guidance scale (default 3)")
    i.add_argument("--class", dest="class_name", metavar="NAME", help="class-conditional models: the class to draw")
    i.add_argument("-o", "--output", help="output PNG (default IMAGE-inpainted.png)")
    add_device_args(i)
    i.set_defaults(func=cmd_inpaint)

    t = sub.add_parser("translate", help="translate images between a model's two domains (A→B or B→A)",
                       description="Translate image files, or every image in folders, with a model trained on two "
                                   "folders (cyclegan). Images of any size; large ones go in blended tiles. "
                                   "Unreadable files are skipped and listed at the end.")
    t.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders (searched recursively)")
    t.add_argument("--model", "-m", required=True)
    t.add_argument("--direction", choices=("a2b", "b2a"), default="a2b",
                   help="a2b: from the first training folder's kind to the second's (default); b2a: back")
    t.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the <name>_a2b.png results")
    t.add_argument("--tile", type=int, default=0, help="tile side in pixels for large images (default: 1024, or twice the model's "
                   "training size if that is larger); smaller tiles use less memory")
    t.add_argument("--overlap", type=int, default=32, help="pixels over which neighbouring tiles are blended")
    add_device_args(t)
    t.set_defaults(func=cmd_translate)

    add_interpolate_parser(sub)
    add_device_args(sub.choices["interpolate"])
    add_inspect_parser(sub)
    add_device_args(sub.choices["inspect"])
    sub.add_parser("devices", help="show compute devices").set_defaults(func=cmd_devices)
    sub.add_parser("selftest", help="check the installation end to end, headless").set_defaults(func=cmd_selftest)
    sub.add_parser("gui", help="open the window").set_defaults(func=cmd_gui)
    return p


def add_text_sampling(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-tokens", type=int, help="text models: tokens to write (default 200; infill 100)")
    p.add_argument("--top-k", type=int, help="text models: sample among the k likeliest tokens (default 0 = all)")
    p.add_argument("--top-p", type=float, help="text models: ... and among the fewest whose probability reaches "
                   "top-p (default 0.95; 1 = all)")
    p.add_argument("--repetition-penalty", type=float, help="text models: above 1 makes repeating less likely "
                   "(default 1.1; infill 1)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        from trainers.__main__ import main as train_main

        return train_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except GenStudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
