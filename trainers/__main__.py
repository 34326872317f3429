"""``python -m trainers ARCH --data DIR --name NAME ...``: train one model into the library (an
architecture that translates between two folders takes ``--data-a DIR --data-b DIR`` instead).

With ``--events`` only JSON-Lines events go to stdout (the app runs trainers this way, as a child
process, and reads them); otherwise a tqdm bar. SIGTERM, Ctrl-C, or a ``stop`` line on stdin saves a
checkpoint, publishes the model trained so far, and exits 0; ``--resume`` continues exactly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback

from genstudio.core.errors import GenStudioError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PID_FILE, STOP_FILE = "trainer.pid", "stop.request"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainers", description="Train a GenStudio model.")
    p.add_argument("arch", help="architecture name (see `genstudio archs`)")
    p.add_argument("--data", help="folder of training data (not needed with --resume)")
    p.add_argument("--data-a", metavar="DIR", help="two-domain architectures (cyclegan): the domain A folder")
    p.add_argument("--data-b", metavar="DIR", help="two-domain architectures (cyclegan): the domain B folder")
    p.add_argument("--name", required=True, help="name of the model in the library")
    p.add_argument("--preset", default="small", help="tiny, small or medium (default: small)")
    p.add_argument("--config", metavar="FILE.toml", help="[model] and [train] settings over the preset")
    p.add_argument("--steps", type=int, help="total optimizer steps (overrides the preset)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--preview-every", type=int, help="sample a preview grid every N steps (0: never)")
    p.add_argument("--image-size", type=int, help="train at this size in pixels (overrides the preset)")
    p.add_argument("--color", choices=("auto", "rgb", "gray"), default="auto",
                   help="train on colour or grayscale images (default auto: grayscale when every image is grey)")
    p.add_argument("--tokenizer", choices=("char", "bpe"),
                   help="text architectures: characters or byte-level BPE fitted on the folder (default: the preset's)")
    p.add_argument("--resume", action="store_true", help="continue the run named --name from its checkpoint")
    p.add_argument("--from", dest="from_model", metavar="MODEL", help="fine-tune from a library model")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model/run of that name")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = default)")
    p.add_argument("--events", action="store_true", help="print JSON-Lines events only (for the app)")
    return p


class Emitter:
    """Sends events to stdout (JSON Lines or a tqdm bar) and keeps a copy in the run's events.jsonl."""

    def __init__(self, json_lines: bool):
        self.json_lines, self.bar, self.log_path, self.stdout_ok = json_lines, None, None, True

    def __call__(self, event) -> None:
        from genstudio.core.events import to_json

        line = to_json(event)
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        if self.json_lines:
            self._print(line)
        else:
            self._human(event)

    def _print(self, line: str) -> None:
        if not self.stdout_ok:
            return
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            # The app went away (closed with "keep training", or crashed): keep training; the run
            # folder has the log. Later writes to the dead pipes (warnings on stderr) must not kill us.
            self.stdout_ok = False
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process

    def _human(self, event) -> None:
        from tqdm import tqdm

        if event.type == "progress":
            if self.bar is None:
                self.bar = tqdm(total=event.total, initial=event.step, unit="step", dynamic_ncols=True)
            self.bar.update(event.step - self.bar.n)
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in event.metrics.items() if k in ("loss", "lr")})
        elif event.type == "done":
            self.close()
            verb = "Stopped and saved" if event.stopped else "Finished"
            print(f"{verb}: model '{event.model}' ({event.steps} steps) is in the library at {event.path}")
        elif event.type == "failed":
            self.close()
            print(f"Training failed: {event.message}", file=sys.stderr)
        else:
            text = event.message if event.type == "log" else f"preview: {event.path}"
            (self.bar.write if self.bar else print)(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def install_stop_handlers(stop, emit, listen_stdin: bool) -> None:
    from genstudio.core.events import Log

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop at once, the last checkpoint stands
        emit(Log("Stopping: saving a checkpoint after this step (press Ctrl-C again to abort)."))
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, on_signal)
    if listen_stdin and sys.stdin is not None:
        def read_stdin():
            try:
                for line in sys.stdin:
                    if line.strip().lower() == "stop":
                        stop.set()
                        return
            except (OSError, ValueError):
                return  # stdin closed: the parent may have gone; training carries on

        threading.Thread(target=read_stdin, name="stop-listener", daemon=True).start()


def make_job(args):
    """Resolve presets, checkpoint and library into a TrainJob; raises GenStudioError for the user."""
    from genstudio.core import config as configlib
    from genstudio.core.devices import resolve_device, set_threads
    from genstudio.core.errors import CheckpointError, ConfigError, ModelFileError
    from genstudio.core.paths import runs_dir
    from genstudio.core.registry import Capability, get
    from genstudio.core.store import ModelStore, check_name
    from trainers import checkpoint
    from trainers.loop import TrainConfig, TrainJob

    spec = get(args.arch)
    name = check_name(args.name)
    store = ModelStore()
    set_threads(args.threads)
    device = resolve_device(args.device)
    overrides = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size), ("lr", args.lr),
                                   ("seed", args.seed), ("preview_every", args.preview_every)) if v is not None}
    job_kwargs = {"spec": spec, "name": name, "device": device, "store": store, "preset": args.preset,
                  "from_model": args.from_model}
    found = checkpoint.find(runs_dir() / name / "checkpoint")
    data, data_b = data_folders(args, spec)
    if args.resume:
        if args.tokenizer:
            raise ConfigError("A resumed run keeps the tokenizer it started with; drop --tokenizer.")
        if found is None:
            raise CheckpointError(f"There is no checkpoint to resume for '{name}'. Start it without --resume.")
        meta = checkpoint.load_meta(found)
        if meta["arch"] != spec.name:
            raise CheckpointError(f"The run '{name}' trains '{meta['arch']}', not '{spec.name}'.")
        train = configlib.from_dict(TrainConfig, {**meta["train_config"], **overrides}, what="training setting")
        model_config = spec.config_from(meta["model_config"])
        return TrainJob(**{**job_kwargs, "preset": meta["preset"], "from_model": meta.get("from_model")},
                        model_config=model_config, train=train, data_dir=data or meta["data_dir"],
                        data_dir_b=data_b or meta.get("data_dir_b"), resume=True)
    two_domains = spec.can(Capability.TRANSLATE)
    if not data or (two_domains and not data_b):
        raise ConfigError("Give both training folders with --data-a DIR and --data-b DIR." if two_domains
                          else "Give the training folder with --data DIR.")
    if not args.overwrite and (found is not None or store.exists(name)):
        raise ModelFileError(f"A model or training run named '{name}' already exists. Use --resume to "
                             "continue it, --overwrite to start again, or choose another name.")
    custom = read_config_file(args.config) if args.config else {}
    shape = {**image_shape_overrides(args, spec, custom.get("model", {})), **tokenizer_override(args, spec)}
    train = configlib.from_dict(TrainConfig, {**spec.train_settings(args.preset), **custom.get("train", {}),
                                              **overrides}, what="training setting")
    if args.from_model:
        card = store.get(args.from_model).card
        if card["arch"] != spec.name:
            raise ConfigError(f"'{args.from_model}' is a '{card['arch']}' model; it cannot fine-tune '{spec.name}'.")
        if custom.get("model") or shape:
            raise ConfigError("--from keeps the network (and tokenizer) of the model it starts from; drop the "
                              "[model] table from the config file and the --image-size/--color/--tokenizer options.")
        model_config = spec.config_from(card["config"])
    else:
        model_config = spec.model_config(args.preset, {**custom.get("model", {}), **shape})
    if args.overwrite:  # only once everything above is valid: a typo must not cost the old run
        import shutil

        shutil.rmtree(runs_dir() / name, ignore_errors=True)
    return TrainJob(**job_kwargs, model_config=model_config, train=train, data_dir=data, data_dir_b=data_b)


def data_folders(args, spec) -> tuple[str | None, str | None]:
    """(training folder, domain B folder): ``--data``, or ``--data-a`` and ``--data-b`` for an
    architecture that translates between two folders; a ConfigError for the wrong kind."""
    from genstudio.core.errors import ConfigError
    from genstudio.core.registry import Capability

    if spec.can(Capability.TRANSLATE):
        if args.data:
            raise ConfigError(f"'{spec.name}' learns from two folders: give --data-a DIR (domain A) and "
                              "--data-b DIR (domain B) instead of --data.")
        return args.data_a, args.data_b
    if args.data_a or args.data_b:
        raise ConfigError(f"'{spec.name}' learns from one folder: give --data DIR (--data-a and --data-b are "
                          "for architectures that translate between two folders, such as cyclegan).")
    return args.data, None


def image_shape_overrides(args, spec, custom_model: dict) -> dict:
    """``--image-size`` and ``--color`` as model settings, for the architectures that have them.
    ``--color auto`` (the default) looks at the folder, unless a config file or --from decides."""
    from genstudio.core.data.images import folder_is_grayscale
    from genstudio.core.errors import ConfigError

    if spec.modality != "image":
        given = [flag for flag, value in (("--image-size", args.image_size), ("--color", args.color != "auto")) if value]
        if given:
            raise ConfigError(f"'{spec.name}' learns from {spec.modality}, not images; drop {' and '.join(given)}.")
        return {}
    shape = {}
    if args.image_size is not None:
        shape["image_size"] = args.image_size
    if args.color == "auto":
        if spec.has_setting("channels") and "channels" not in custom_model and not args.from_model:
            folders = [f for f in (args.data, args.data_a, args.data_b) if f]
            shape["channels"] = 1 if all(folder_is_grayscale(f) for f in folders) else 3
    else:
        shape["channels"] = 3 if args.color == "rgb" else 1
    missing = sorted(name for name in shape if not spec.has_setting(name))
    if missing:
        raise ConfigError(f"'{spec.name}' has no {' or '.join(missing)} setting; drop "
                          f"{'--image-size' if 'image_size' in missing else '--color'}.")
    return shape


def tokenizer_override(args, spec) -> dict:
    """``--tokenizer`` as the model setting ``tokenizer_kind``, for the architectures that have one."""
    from genstudio.core.errors import ConfigError

    if args.tokenizer is None:
        return {}
    if not spec.has_setting("tokenizer_kind"):
        raise ConfigError(f"'{spec.name}' has no tokenizer to choose; drop --tokenizer.")
    return {"tokenizer_kind": args.tokenizer}


def read_config_file(path: str) -> dict:
    import tomllib

    from genstudio.core.errors import ConfigError

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"Cannot read the config file '{path}': {err}") from None
    if set(data) - {"model", "train"}:
        raise ConfigError(f"'{path}' may only hold [model] and [train] tables, not {sorted(set(data) - {'model', 'train'})}.")
    return data


def run(args, emit, stop) -> int:
    """Train; every outcome ends in one Done or Failed event. Returns the process exit code."""
    from genstudio.core.devices import describe
    from genstudio.core.events import Failed, Log
    from genstudio.core.paths import log_dir
    from trainers.loop import Trainer

    job = None
    try:
        job = make_job(args)
        emit.log_path = job.run_dir / "events.jsonl"
        job.run_dir.mkdir(parents=True, exist_ok=True)
        announce_running(job.run_dir, stop, emit.log_path)
        family = importlib.import_module(job.spec.trainer)
        emit(Log(f"Training '{job.name}' ({job.spec.name}, preset {job.preset}) on {describe(job.device)}."))
        cfg = job.model_config
        if hasattr(cfg, "channels") and hasattr(cfg, "image_size"):
            tone = "grayscale" if cfg.channels == 1 else "colour (RGB)"
            emit(Log(f"Images: {cfg.image_size}×{cfg.image_size} px, {tone}."))
        trainer = Trainer(job, family, emit, stop)
        emit(Log(trainer.report.to_text()))
        emit(trainer.run())
        return EXIT_OK
    except GenStudioError as err:
        emit(Failed(str(err)))
        return EXIT_FAILED
    except (FloatingPointError, MemoryError) as err:
        emit(Failed(str(err) or "Out of memory: try a smaller batch size or preset."))
        return EXIT_FAILED
    except OSError as err:
        emit(Failed(f"A file could not be written or read: {err}. The last checkpoint is kept; "
                    "free some disk space and run again with --resume."))
        return EXIT_FAILED
    except Exception as err:  # noqa: BLE001 - last resort: the user gets a sentence, the log the trace
        detail = traceback.format_exc()
        try:
            log_dir().mkdir(parents=True, exist_ok=True)
            logging.basicConfig(filename=log_dir() / "trainer.log", level=logging.ERROR)
            logging.error(detail)
        except OSError:
            pass
        emit(Failed(f"Training failed unexpectedly: {err}", detail=detail))
        return EXIT_FAILED
    finally:
        if job is not None:
            for marker in (PID_FILE, STOP_FILE):
                (job.run_dir / marker).unlink(missing_ok=True)


def announce_running(run_dir, stop, events_path) -> None:
    """Leave ``trainer.pid`` in the run folder while training, so a window opened later can find this
    run, follow its events.jsonl and ask it to stop (by creating ``stop.request``)."""
    (run_dir / STOP_FILE).unlink(missing_ok=True)  # a stale request must not stop this run
    stop.request_file = run_dir / STOP_FILE
    # events_offset: where this session's events start in events.jsonl (earlier sessions come before).
    offset = events_path.stat().st_size if events_path.exists() else 0
    (run_dir / PID_FILE).write_text(json.dumps({"pid": os.getpid(), "started": time.time(),
                                                "events_offset": offset}))


def main(argv: list[str] | None = None) -> int:
    from trainers.loop import StopFlag

    args = build_parser().parse_args(argv)
    emit, stop = Emitter(json_lines=args.events), StopFlag()
    install_stop_handlers(stop, emit, listen_stdin=args.events)
    try:
        return run(args, emit, stop)
    except KeyboardInterrupt:
        from genstudio.core.events import Failed

        emit(Failed("Aborted by a second Ctrl-C; the last checkpoint stands (resume with --resume)."))
        return 130
    finally:
        emit.close()


if __name__ == "__main__":
    sys.exit(main())
