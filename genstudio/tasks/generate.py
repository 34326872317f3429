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
    noise: str = "const"  # StyleGAN per-layer noise: "const" (fixed) or "random" (from each image's seed)
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
    classes: list[str] = field(default_factory=list)  # per image, for class-conditional models

    def image_params(self, index: int) -> dict[str, Any]:
        """Parameters that regenerate image ``index`` alone (plus its likelihood and class, for the record)."""
        extra = dict(self.likelihoods[index]) if self.likelihoods else {}
        if self.classes:
            extra["class"] = self.classes[index]
        return {**self.params, "n": 1, "seed": self.params["seed"] + index, **extra}

    def caption(self, index: int) -> str:
        """What the grid prints under image ``index``: its class and its likelihood, where the model has them."""
        parts = [self.classes[index]] if self.classes else []
        if self.likelihoods:
            item = self.likelihoods[index]
            approx = "" if item["likelihood_kind"] == "exact" else "≈ "
            parts.append(f"{approx}{item['bits_per_dim']:.3f} bits/dim")
        return " · ".join(parts)


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
    params = {**{k: v for k, v in asdict(request).items() if k in used_options(spec, card)}, "arch": card["arch"],
              "model_sha256": card["weights_sha256"], "app": "GenStudio", "app_version": __version__}
    return GenerateResult(as_rgb(images), params, likelihoods, image_classes(card, request))


def used_options(spec, card: dict) -> set[str]:
    """The request fields that shaped the images: the sampler's options, less a class picker and
    guidance on a model that has no classes and no prompt to follow."""
    used = {"model", "n", "seed", *spec.sampler_options}
    if not card["config"].get("classes"):
        used.discard("label")
        if "prompt" not in used:
            used.discard("guidance")
    return used


def image_classes(card: dict, request: GenerateRequest) -> list[str]:
    """Each image's class name for a class-conditional model (drawn from its seed for "any class")."""
    from genstudio.models.common import seed_labels

    classes = card["config"].get("classes") or []
    if not classes:
        return []
    seeds = [request.seed + i for i in range(request.n)]
    return [classes[int(i)] for i in seed_labels(seeds, request.label, len(classes))]
