"""The architecture registry: what GenStudio can train and run, and what each one can do.

Each family file in ``genstudio.models`` ends with ``register(ArchSpec(...))``. The UI and CLI ask a
spec for capabilities (``Capability.GENERATE in spec.capabilities``), never for architecture names.
Presets live in ``resources/presets/<name>.toml`` as ``[preset.model]`` and ``[preset.train]`` tables.
"""

from __future__ import annotations

import enum
import importlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from genstudio.core import config as configlib
from genstudio.core.errors import ConfigError, GenStudioError
from genstudio.core.paths import resources_dir


class Capability(enum.StrEnum):
    GENERATE = "generate"
    INPAINT = "inpaint"
    TRANSLATE = "translate"
    TEXT = "text"
    INFILL = "infill"  # text models trained with fill-in-the-middle: write a gap given the text around it
    MUSIC = "music"
    ANOMALY = "anomaly"
    LIKELIHOOD = "likelihood"
    INTERPOLATE = "interpolate"  # prior_latents(seeds) + decode(z): walks between seeds
    ENCODE = "encode"  # encode(x) -> z too: a dropped image can be an endpoint of a walk
    STYLE_MIX = "style-mix"  # mix_styles(...): StyleGAN's grid of coarse styles × fine styles
    RECONSTRUCT = "reconstruct"  # reconstruct(x): autoencoders
    DENOISE = "denoise"  # reconstruct(x) also cleans a noisy image (DAE, VAE)
    TRAVERSE = "traverse"  # latent_dim + decode(z): one row per latent dimension
    ONNX = "onnx"


@dataclass(frozen=True)
class ArchSpec:
    name: str  # registry name used by the CLI: "ddpm"
    family: str  # "diffusion", "gan", "flow", ...
    modality: str  # "image", "text", "music"
    config_cls: type  # the model's config dataclass
    builder: Callable[[Any], Any]  # config -> model (an nn.Module with the family's contract)
    capabilities: frozenset[Capability]
    trainer: str  # module under trainers/ that trains it: "trainers.images"
    description: str = ""
    sampler_options: tuple[str, ...] = ()  # generation controls the model supports ("steps", "eta")
    sampler_defaults: dict[str, Any] = field(default_factory=dict, compare=False)  # the sampler's own defaults
    _presets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, compare=False)

    @property
    def presets(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{"tiny": {"model": {...}, "train": {...}}, ...}`` read once from the preset TOML."""
        if not self._presets:
            path = resources_dir() / "presets" / f"{self.name}.toml"
            try:
                with open(path, "rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as err:
                raise ConfigError(f"Cannot read the presets for '{self.name}' ({path}): {err}") from err
            for preset, tables in data.items():
                extra = set(tables) - {"model", "train"}
                if extra:
                    raise ConfigError(f"Preset '{preset}' of '{self.name}' has unknown tables {extra}.")
            self._presets.update(data)
        return self._presets

    def preset(self, preset: str) -> dict[str, dict[str, Any]]:
        if preset not in self.presets:
            raise ConfigError(
                f"'{self.name}' has no preset '{preset}'. Choose one of: {', '.join(self.presets)}."
            )
        return self.presets[preset]

    def model_config(self, preset: str = "small", overrides: dict[str, Any] | None = None) -> Any:
        return self.config_from({**self.preset(preset).get("model", {}), **(overrides or {})})

    def config_from(self, values: dict[str, Any]) -> Any:
        """The config dataclass from plain values (a preset, a card, a checkpoint), strictly checked."""
        return configlib.from_dict(self.config_cls, values, what=f"{self.name} model setting")

    def train_settings(self, preset: str = "small") -> dict[str, Any]:
        return dict(self.preset(preset).get("train", {}))

    def build(self, config: Any) -> Any:
        return self.builder(config)

    def has_setting(self, name: str) -> bool:
        """Whether the model config has this field ("image_size", "channels", ...)."""
        return name in {f.name for f in fields(self.config_cls)}

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "modality": self.modality,
            "capabilities": sorted(c.value for c in self.capabilities),
        }


_REGISTRY: dict[str, ArchSpec] = {}
# Family modules that register specs when imported. Import is lazy: torch loads only when needed.
FAMILY_MODULES = (
    "genstudio.models.diffusion",
    "genstudio.models.autoencoder",
    "genstudio.models.flows",
    "genstudio.models.autoregressive",
    "genstudio.models.ebm",
    "genstudio.models.gan",
    "genstudio.models.stylegan",
    "genstudio.models.cyclegan",
    "genstudio.models.hybrid",
    "genstudio.models.detector",
    "genstudio.models.dit",
    "genstudio.models.latent_diffusion",
    "genstudio.models.transformer",
    "genstudio.models.music_transformer",
    "genstudio.models.music_vae",
)


def register(spec: ArchSpec) -> ArchSpec:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"architecture '{spec.name}' registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def _load_families() -> None:
    for module in FAMILY_MODULES:
        importlib.import_module(module)


def specs() -> list[ArchSpec]:
    _load_families()
    return sorted(_REGISTRY.values(), key=lambda s: (s.family, s.name))


def get(name: str) -> ArchSpec:
    _load_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise GenStudioError(f"Unknown architecture '{name}'. Known architectures: {known}.") from None
