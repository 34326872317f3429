"""``genstudio ...``: everything the app does, headless, with tqdm progress.

User errors (``GenStudioError``) print one sentence and exit 1; Ctrl-C cancels cleanly (exit 130).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genstudio import __version__
from genstudio.core.errors import GenStudioError

COMMANDS = ("archs", "models", "train", "generate", "devices", "selftest", "gui")


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
                   help="flows, PixelCNN/RNN, RBM and EBM: below 1 safer, above 1 wilder (default 1)")
    g.add_argument("--prompt", help="text-to-image models: what to draw")
    g.add_argument("--negative-prompt", help="text-to-image models: what guidance steers away from")
    g.add_argument("--guidance", type=float, help="classifier-free guidance scale (0 = unconditional, 1 = plain)")
    g.add_argument("--class", dest="class_name", metavar="NAME", help="class-conditional models: the class to draw "
                   "(a training subfolder's name; default: each image's class from its seed)")
    g.add_argument("--truncation", type=float, help="StyleGAN ψ: 1 = full variety, 0 = the average image")
    g.add_argument("--noise", choices=("const", "random"), help="StyleGAN per-layer noise (default const)")
    g.add_argument("--from", dest="from_png", metavar="PNG", help="repeat the settings stored in a GenStudio PNG")
    g.add_argument("-o", "--output", help="output PNG (a grid, or a stem with --separate)")
    g.add_argument("--separate", action="store_true", help="one PNG per image instead of a grid")
    g.add_argument("--device", default="auto")
    g.add_argument("--threads", type=int, default=0)
    g.set_defaults(func=cmd_generate)

    sub.add_parser("devices", help="show compute devices").set_defaults(func=cmd_devices)
    sub.add_parser("selftest", help="check the installation end to end, headless").set_defaults(func=cmd_selftest)
    sub.add_parser("gui", help="open the window").set_defaults(func=cmd_gui)
    return p


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
