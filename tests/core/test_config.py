"""Configs from plain dicts, strictly: unknown keys and wrong types are ConfigErrors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from genstudio.core import config as configlib
from genstudio.core.errors import ConfigError, GenStudioError
from genstudio.core.registry import get


@dataclass
class Sample:
    width: int = 8
    rate: float = 0.5
    name: str = "x"
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)

    def __post_init__(self):
        if self.width <= 0:
            raise ValueError("width must be positive")


def test_from_dict_builds_and_defaults():
    obj = configlib.from_dict(Sample, {"width": 3, "name": "y"})
    assert obj == Sample(width=3, name="y")
    assert configlib.from_dict(Sample, {}) == Sample()


def test_lists_become_tuples_and_back():
    obj = configlib.from_dict(Sample, {"sizes": [4, 5, 6]})
    assert obj.sizes == (4, 5, 6) and isinstance(obj.sizes, tuple)
    assert configlib.to_dict(obj)["sizes"] == [4, 5, 6]
    assert configlib.from_dict(Sample, configlib.to_dict(obj)) == obj


def test_int_is_accepted_for_float():
    obj = configlib.from_dict(Sample, {"rate": 1})
    assert obj.rate == 1.0 and isinstance(obj.rate, float)


def test_unknown_keys_are_refused_with_the_known_ones_listed():
    with pytest.raises(ConfigError, match="Unknown config key") as info:
        configlib.from_dict(Sample, {"width": 1, "widht": 2, "zzz": 3})
    message = str(info.value)
    assert "widht" in message and "zzz" in message and "width" in message.split("Known keys:")[1]


@pytest.mark.parametrize("key,value", [
    ("width", "8"),
    ("width", 8.5),
    ("width", True),
    ("rate", "0.5"),
    ("rate", False),
    ("name", 3),
    ("flag", 1),
    ("flag", "yes"),
    ("sizes", 3),
    ("sizes", "12"),
    ("sizes", [1, "2"]),
    ("sizes", [1.5]),
    ("sizes", [True]),
])
def test_wrong_types_are_refused(key, value):
    with pytest.raises(ConfigError, match=f"'{key}"):
        configlib.from_dict(Sample, {key: value})


def test_invalid_values_become_config_errors():
    with pytest.raises(ConfigError, match="width must be positive"):
        configlib.from_dict(Sample, {"width": -1})


def test_merged_overrides_and_checks():
    base = Sample()
    assert configlib.merged(base, {"width": 9}) == Sample(width=9)
    with pytest.raises(ConfigError):
        configlib.merged(base, {"nope": 1})


def test_config_error_is_user_facing():
    assert issubclass(ConfigError, GenStudioError)


def test_registry_preset_config():
    spec = get("ddpm")
    cfg = spec.model_config("tiny")
    assert cfg.image_size == 32 and cfg.channel_mults == (1, 2) and isinstance(cfg.attention_resolutions, tuple)
    assert spec.model_config("tiny", {"base_width": 8}).base_width == 8
    with pytest.raises(ConfigError, match="no preset 'nope'"):
        spec.model_config("nope")
    with pytest.raises(ConfigError, match="Unknown"):
        spec.model_config("tiny", {"not_a_setting": 1})
    with pytest.raises(ConfigError, match="image_size"):
        spec.model_config("tiny", {"image_size": 7})
