"""Generate images from a library model: the request, model loading, and the run as a generator.

A request is a dataclass holding everything the job needs, so the UI, the CLI and a PNG's metadata
all describe a generation the same way, and ``GenerateRequest.from_params`` rebuilds one from a PNG.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
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
    temperature: float = 1.0  # flows, autoregressive and energy models: < 1 safer, > 1 wilder
    label: int = -1  # class-conditional models: the class index; -1 = a class drawn from each image's seed
    guidance: float = 1.0  # classifier-free guidance scale: 0 unconditional, 1 conditional, > 1 stronger
    truncation: float = 1.0  # StyleGAN ψ: 1 = full variety, 0 = the average image
    prompt: str = ""  # text-to-image models
    negative_prompt: str = ""  # what guidance steers away from (empty: the unconditional prediction)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GenerateRequest:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})


@dataclass
class GenerateResult:
    images: np.ndarray  # N×H×W×3 uint8
    params: dict[str, Any]  # what went into it; image i used seed + i
    likelihoods: list[dict[str, Any]] = field(default_factory=list)  # per image, for LIKELIHOOD models

    def image_params(self, index: int) -> dict[str, Any]:
        """Parameters that regenerate image ``index`` alone (plus its likelihood, for the record)."""
        extra = self.likelihoods[index] if self.likelihoods else {}
        return {**self.params, "n": 1, "seed": self.params["seed"] + index, **extra}

    def caption(self, index: int) -> str:
        """What the grid prints under image ``index``: its likelihood where the model has one."""
        if not self.likelihoods:
            return ""
        item = self.likelihoods[index]
        approx = "" if item["likelihood_kind"] == "exact" else "≈ "
        return f"{approx}{item['bits_per_dim']:.3f} bits/dim"


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


def sampler_kwargs(request: GenerateRequest, spec, image_size: int) -> dict[str, Any]:
    """The request's settings that this architecture's sampler takes (its ``sampler_options``),
    plus how often to preview: ~40 times for step-wise samplers (every step of a short DDIM run, every
    25th sweep of a 1,000-step Gibbs chain), once a row for pixel-wise ones."""
    kwargs = {name: getattr(request, name) for name in spec.sampler_options}
    kwargs["preview_every"] = max(1, request.steps // 40) if "steps" in kwargs else max(1, image_size)
    return kwargs


def as_rgb(images: np.ndarray) -> np.ndarray:
    """N×H×W×1 grayscale -> N×H×W×3 (what the canvases, grids and PNG files expect)."""
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def sample_likelihoods(model, images: np.ndarray) -> list[dict[str, Any]]:
    """Each sample's negative log-likelihood under the model that made it (nats and bits/dim)."""
    import math

    import torch

    from genstudio.models.common import from_uint8

    x = from_uint8(images).to(next(model.parameters()).device)
    with torch.inference_mode():
        nats = model.negative_log_likelihood(x).double().cpu().tolist()
    dims = images[0].size
    return [{"nll_nats": round(v, 3), "bits_per_dim": round(v / (dims * math.log(2)), 4),
             "likelihood_kind": model.likelihood_kind} for v in nats]


def generate(request: GenerateRequest, device, store: ModelStore | None = None):
    """Generator of progress/preview events; returns a GenerateResult."""
    card, model = load_model(request.model, device, store)
    spec = get(card["arch"])
    if not spec.can(Capability.GENERATE) or spec.modality != "image":
        raise GenStudioError(f"'{request.model}' ({card['arch']}) does not generate images.")
    if not 1 <= request.n <= 256:
        raise GenStudioError("The number of images must be between 1 and 256.")
    kwargs = sampler_kwargs(request, spec, model.config.image_size)
    images = yield from model.sample(n=request.n, seed=request.seed, **kwargs)
    likelihoods = sample_likelihoods(model, images) if spec.can(Capability.LIKELIHOOD) else []
    used = {"model", "n", "seed", *spec.sampler_options}
    params = {**{k: v for k, v in asdict(request).items() if k in used}, "arch": card["arch"],
              "model_sha256": card["weights_sha256"], "app": "GenStudio", "app_version": __version__}
    return GenerateResult(as_rgb(images), params, likelihoods)
