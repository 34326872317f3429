"""One-class MNIST: AUROC per digit for our anomaly detectors and pyod's, side by side in one run.

Protocol (docs/BENCHMARKS.md): the 10k MNIST test set in ``../shared/data/mnist``; for each digit d,
the first 5,000 images of digit d train (about 500), and all of the last 5,000 are scored, digit d
normal and every other digit anomalous. Anchor: Deep SVDD (Ruff et al. 2018), mean AUROC 94.8 %.

Ours: each detector's ``small`` preset at 28 px grayscale, trained with the app's recipe (its
``training_loss``, AdamW, warmup + cosine learning rate, EMA, all from ``trainers.loop``) for
``--steps`` steps or ``--minutes-per-detector`` minutes, whichever ends first; the feature detector
then fits its memory bank on all the training images (the app holds 10 % out for the threshold: AUROC
needs none). Scores: ``anomaly_map(x)[0]``. Peers: pyod's AutoEncoder, VAE, IForest and OCSVM on the
784 pixels in [0, 1], with pyod's defaults (``--peer-epochs`` overrides AE/VAE epochs).

    .venv/bin/python -m pip install torch==2.13.0 -r benchmarks/requirements.txt   # scikit-learn, numba, ...
    .venv/bin/python -m pip install torch==2.13.0 --no-deps pyod                   # tested: pyod 3.6.7
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/anomaly_mnist.py --out anomaly.json          # everything
    .venv/bin/python benchmarks/anomaly_mnist.py --digits 2 --steps 100 --ours feature-detector --peers iforest

Prints one JSON object: settings, per detector the AUROC per digit (in %), their mean, train and score
seconds, and a verdict against the anchor and the best pyod detector.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "mnist"
DEEP_SVDD = [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5]  # one-class Deep SVDD, Ruff et al.
OURS = ("feature-detector", "vae", "ae")
PEERS = ("ae", "vae", "iforest", "ocsvm")


def load_mnist(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28).copy()
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8).copy()
    return images, labels


def one_class_split(images, labels, digit: int):
    """(training images of ``digit`` from the first 5,000; the last 5,000; 1 = anomalous for those)."""
    train = images[:5000][labels[:5000] == digit]
    return train, images[5000:], (labels[5000:] != digit).astype(np.int64)


def auroc(scores: np.ndarray, anomalous: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half), in %."""
    scores = np.asarray(scores, np.float64)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = anomalous == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float(100 * (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float()[:, None] / 127.5 - 1  # (N, 1, 28, 28) in [-1, 1]


def train_ours(arch: str, train: np.ndarray, steps: int | None, minutes: float, seed: int):
    """The app's recipe on the ``small`` preset, stopped at ``steps`` or the time budget."""
    from genstudio.core import config as configlib
    from genstudio.core.registry import get
    from trainers.loop import TrainConfig, lr_at, update_ema

    spec = get(arch)
    cfg = spec.model_config("small", {"image_size": 28, "channels": 1})
    train_cfg = configlib.from_dict(TrainConfig, {**spec.train_settings("small"), "seed": seed},
                                    what="training setting")
    if steps:
        train_cfg.steps = steps
    torch.manual_seed(seed)
    model = spec.build(cfg)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train_cfg.lr, betas=tuple(train_cfg.betas),
                                  weight_decay=train_cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    data = to_tensor(train)
    t0, step = time.perf_counter(), 0
    model.train()
    while step < train_cfg.steps and time.perf_counter() - t0 < minutes * 60:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, train_cfg)
        idx = torch.randint(len(data), (train_cfg.batch_size,), generator=gen)
        loss, _ = model.training_loss(data[idx], gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if train_cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
        optimizer.step()
        step += 1
        update_ema(ema, model, min(train_cfg.ema_decay, (1 + step) / (10 + step)))
    if hasattr(ema, "fit"):
        ema.fit(data)
    return ema, step, time.perf_counter() - t0


def score_ours(model, test: np.ndarray, batch: int = 250) -> np.ndarray:
    x = to_tensor(test)
    return torch.cat([model.anomaly_map(x[i:i + batch])[0].detach().float()
                      for i in range(0, len(x), batch)]).numpy()


def make_peer(name: str, epochs: int | None, seed: int):
    if name == "iforest":
        from pyod.models.iforest import IForest
        return IForest(random_state=seed)
    if name == "ocsvm":
        from pyod.models.ocsvm import OCSVM
        return OCSVM()
    kwargs = {"random_state": seed, "verbose": 0, "device": "cpu", **({"epoch_num": epochs} if epochs else {})}
    if name == "ae":
        from pyod.models.auto_encoder import AutoEncoder
        return AutoEncoder(**kwargs)
    from pyod.models.vae import VAE
    return VAE(**kwargs)


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    images, labels = load_mnist(Path(args.data))
    digits = [int(d) for d in args.digits.split(",")]
    ours = [a for a in args.ours.split(",") if a]
    peers = [p for p in args.peers.split(",") if p]
    results: dict[str, dict] = {}

    def record(key: str, digit: int, value: float, train_s: float, score_s: float, extra: dict | None = None):
        entry = results.setdefault(key, {"auroc": {}, "train_s": 0.0, "score_s": 0.0})
        entry["auroc"][str(digit)] = round(value, 2)
        entry["train_s"] = round(entry["train_s"] + train_s, 1)
        entry["score_s"] = round(entry["score_s"] + score_s, 1)
        for k, v in (extra or {}).items():
            entry.setdefault(k, {})[str(digit)] = v
        print(f"digit {digit} {key}: AUROC {value:.2f} (train {train_s:.0f} s, score {score_s:.0f} s)",
              file=sys.stderr, flush=True)

    for digit in digits:
        train, test, anomalous = one_class_split(images, labels, digit)
        for arch in ours:
            model, steps, train_s = train_ours(arch, train, args.steps, args.minutes_per_detector, args.seed)
            t0 = time.perf_counter()
            with torch.no_grad():
                scores = score_ours(model, test)
            record(f"ours:{arch}", digit, auroc(scores, anomalous), train_s, time.perf_counter() - t0,
                   {"steps": steps})
        flat_train = train.reshape(len(train), -1).astype(np.float32) / 255
        flat_test = test.reshape(len(test), -1).astype(np.float32) / 255
        for name in peers:
            detector = make_peer(name, args.peer_epochs, args.seed)
            t0 = time.perf_counter()
            detector.fit(flat_train)
            t1 = time.perf_counter()
            scores = detector.decision_function(flat_test)
            record(f"pyod:{name}", digit, auroc(scores, anomalous), t1 - t0, time.perf_counter() - t1)
            torch.set_num_threads(args.threads)  # pyod's torch models may change it

    anchor = {str(d): DEEP_SVDD[d] for d in digits}
    for entry in results.values():
        entry["mean"] = round(float(np.mean(list(entry["auroc"].values()))), 2)
    anchor_mean = round(float(np.mean(list(anchor.values()))), 2)
    best_ours = max((k for k in results if k.startswith("ours:")), key=lambda k: results[k]["mean"], default=None)
    best_peer = max((k for k in results if k.startswith("pyod:")), key=lambda k: results[k]["mean"], default=None)
    verdict = {}
    if best_ours:
        verdict = {"best_ours": best_ours, "best_ours_mean": results[best_ours]["mean"],
                   "beats_deep_svdd_on_these_digits": results[best_ours]["mean"] >= anchor_mean}
        if best_peer:
            verdict.update(best_pyod=best_peer, best_pyod_mean=results[best_peer]["mean"],
                           beats_every_pyod=results[best_ours]["mean"] > results[best_peer]["mean"])
    return {"benchmark": "one-class MNIST AUROC (%)", "digits": digits,
            "protocol": "t10k: first 5,000 (normal digit only) train, last 5,000 test",
            "settings": {"steps": args.steps, "minutes_per_detector": args.minutes_per_detector,
                         "peer_epochs": args.peer_epochs, "threads": args.threads, "seed": args.seed},
            "torch": torch.__version__, "pyod": getattr(sys.modules.get("pyod"), "__version__", None),
            "python": platform.python_version(), "loadavg_1m": round(os.getloadavg()[0], 2),
            "deep_svdd": {"auroc": anchor, "mean": anchor_mean}, "results": results, "verdict": verdict}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9", help="normal digits to run, comma-separated")
    p.add_argument("--ours", default=",".join(OURS), help=f"our architectures (default {','.join(OURS)}; '' = none)")
    p.add_argument("--peers", default=",".join(PEERS), help=f"pyod detectors (default {','.join(PEERS)}; '' = none)")
    p.add_argument("--steps", type=int, help="training steps of ours (default: each preset's own)")
    p.add_argument("--minutes-per-detector", type=float, default=3.0,
                   help="training wall-time cap per digit for each of ours (default 3)")
    p.add_argument("--peer-epochs", type=int, help="pyod AE/VAE epochs (default: pyod's, 10 and 30)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(DATA), help="folder with t10k-images-idx3-ubyte.gz and the labels")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
