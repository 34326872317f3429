"""Dataclass configs from plain dicts (TOML presets, card.json), strictly: unknown keys are errors."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

from genstudio.core.errors import ConfigError

T = TypeVar("T")


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{key}' must be a list, got {value!r}.")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:  # tuple[int, ...]: check every item
            return tuple(_coerce(item, args[0], f"{key}[{i}]") for i, item in enumerate(value))
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"'{key}' must be {hint.__name__}, got {value!r}.")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"'{key}' must be int, got {value!r}.")
    return value


def from_dict(cls: type[T], data: dict[str, Any], *, what: str = "config") -> T:
    """Build ``cls`` from ``data``; every key must be a field, values are type-checked."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"Unknown {what} key(s): {', '.join(unknown)}. Known keys: {', '.join(sorted(names))}."
        )
    values = {k: _coerce(v, hints[k], k) for k, v in data.items()}
    try:
        obj = cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"Invalid {what}: {err}") from err
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    """JSON-friendly dict of a config dataclass (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(obj).items()}


def merged(obj: T, overrides: dict[str, Any], *, what: str = "config") -> T:
    return from_dict(type(obj), {**dataclasses.asdict(obj), **overrides}, what=what)
