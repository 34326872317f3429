"""Generate images from a library model: the request, model loading, and the run as a generator.

A request is a dataclass holding everything the job needs, so the UI, the CLI and a PNG's metadata
all describe a generation the same way, and ``GenerateRequest.from_params`` rebuilds one from a PNG.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from genstudio import __version__
from genstudio.core.errors import GenStudioError
from genstudio.core.registry import Capability, get
from genstudio.core.store import ModelStore


@dataclass
class GenerateRequest:
    model: str
    n: int = 16
    seed: int = 0
    steps: int = 25
    sampler: str = "ddim"  # "ddim" or "ddpm"
    eta: float = 0.0  # DDIM stochasticity: 0 deterministic, 1 like DDPM

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GenerateRequest:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})


@dataclass
class GenerateResult:
    images: np.ndarray  # N×H×W×3 uint8
    params: dict[str, Any]  # what went into it; image i used seed + i

    def image_params(self, index: int) -> dict[str, Any]:
        """Parameters that regenerate image ``index`` alone."""
        return {**self.params, "n": 1, "seed": self.params["seed"] + index}


_cache: dict[tuple, Any] = {}
_cache_lock = threading.Lock()


def load_model(name: str, device, store: ModelStore | None = None):
    """(card, model in eval mode on ``device``); validated on load, cached by weights hash."""
    store = store or ModelStore()
    info = store.get(name)
    key = (str(info.path), info.card["weights_sha256"], str(device))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    card, tensors = store.load(name)
    spec = get(card["arch"])
    model = spec.build(spec.config_from(card["config"]))
    model.load_state_dict(tensors)
    model = model.to(device).eval()
    with _cache_lock:
        _cache.clear()  # keep one model resident: image models are small, RAM is not free
        _cache[key] = (card, model)
    return card, model


def generate(request: GenerateRequest, device, store: ModelStore | None = None):
    """Generator of progress/preview events; returns a GenerateResult."""
    card, model = load_model(request.model, device, store)
    spec = get(card["arch"])
    if not spec.can(Capability.GENERATE) or spec.modality != "image":
        raise GenStudioError(f"'{request.model}' ({card['arch']}) does not generate images.")
    if not 1 <= request.n <= 256:
        raise GenStudioError("The number of images must be between 1 and 256.")
    images = yield from model.sample(n=request.n, seed=request.seed, steps=request.steps,
                                     sampler=request.sampler, eta=request.eta,
                                     preview_every=max(1, request.steps // 10))
    params = {**asdict(request), "arch": card["arch"], "model_sha256": card["weights_sha256"],
              "app": "GenStudio", "app_version": __version__}
    return GenerateResult(images, params)
