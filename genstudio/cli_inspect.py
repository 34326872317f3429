"""``genstudio inspect``: scan a folder with an anomaly detector, print the ranked list, write reports.

    genstudio inspect --model NAME DIR [--report OUT.csv] [--json OUT.json] [--heatmaps OUTDIR] [--threshold X]
"""

from __future__ import annotations

import sys
from pathlib import Path

from genstudio.core.errors import GenStudioError


def add_inspect_parser(sub) -> None:
    p = sub.add_parser("inspect", help="find the images in a folder that do not look like a detector's normal ones",
                       description="Score every image under DIR with a model that detects anomalies (feature-detector, "
                                   "ae, vae, flows, ...), most anomalous first. Unreadable files are listed, never "
                                   "fatal. Images scoring above the threshold are flagged: --threshold, else the one "
                                   "saved with the model (or chosen when it was trained).")
    p.add_argument("folder", metavar="DIR", help="folder of images to inspect (searched recursively)")
    p.add_argument("--model", "-m", required=True)
    p.add_argument("--report", metavar="OUT.csv", help="write rank, file, score, verdict, threshold, model as CSV")
    p.add_argument("--json", metavar="OUT.json", help="the same as JSON, with the skipped files")
    p.add_argument("--heatmaps", metavar="OUTDIR", help="write one heatmap PNG per image, in rank order")
    p.add_argument("--side-by-side", action="store_true",
                   help="heatmap PNGs as image | reconstruction | difference (image | overlay | heat without one)")
    p.add_argument("--opacity", type=float, default=0.5, help="heatmap opacity over the image, 0–1 (default 0.5)")
    p.add_argument("--threshold", type=float, help="flag images scoring above this (default: the model's own)")
    p.add_argument("--top", type=int, default=0, help="print only the N most anomalous (default: all)")
    p.add_argument("--batch", type=int, default=8, help="images per network call (default 8)")
    p.set_defaults(func=cmd_inspect)


def shown_name(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def print_table(result, root: Path, top: int) -> None:
    rows = result.ranked()[:top] if top > 0 else result.ranked()
    print(f"{'rank':>4}  {'score':>12}  {'verdict':<12}  file")
    for rank, item in enumerate(rows, 1):
        print(f"{rank:>4}  {item.score:>12.6g}  {item.verdict:<12}  {shown_name(item.path, root)}")
    if len(rows) < len(result.items):
        print(f"  ... and {len(result.items) - len(rows)} more")


def cmd_inspect(args) -> int:
    from genstudio.cli_progress import drive_with_bar
    from genstudio.core.devices import describe, resolve_device, set_threads
    from genstudio.core.store import ModelStore
    from genstudio.tasks.inspect import InspectRequest, inspect, write_csv, write_heatmaps, write_json

    if not 0 <= args.opacity <= 1:
        raise GenStudioError(f"--opacity must be between 0 and 1, not {args.opacity}.")
    ModelStore().get(args.model)  # a missing model is reported before any progress bar is drawn
    request = InspectRequest(args.model, folder=args.folder, threshold=args.threshold, batch=args.batch,
                             reconstructions=args.side_by_side)
    set_threads(args.threads)
    device = resolve_device(args.device)
    result = drive_with_bar(inspect(request, device), f"{args.model} on {describe(device)}", "image")
    root = Path(args.folder)
    print_table(result, root, args.top)
    if result.threshold is None:
        print(f"{len(result.items)} image(s) scored; no threshold: give --threshold X, or choose and save one in "
              "the Inspect canvas.")
    else:
        print(f"{len(result.flagged)} of {len(result.items)} image(s) flagged (score > {result.threshold.value:.6g}; "
              f"{result.threshold.how}).")
    if result.skipped:
        print(f"Skipped {len(result.skipped)} file(s):", file=sys.stderr)
        for item in result.skipped:
            print(f"  {shown_name(item.path, root)}: {item.reason}", file=sys.stderr)
    for path in (write_csv(result, args.report) if args.report else None,
                 write_json(result, args.json) if args.json else None):
        if path is not None:
            print(f"Wrote {path}")
    if args.heatmaps:
        written = write_heatmaps(result, args.heatmaps, opacity=args.opacity, side_by_side=args.side_by_side)
        print(f"Wrote {len(written)} heatmap(s) to {args.heatmaps}")
    return 0
