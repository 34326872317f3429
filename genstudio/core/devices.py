"""Compute devices: ``auto`` picks CUDA, then Apple MPS, then CPU; ONNX Runtime providers likewise.

torch is imported inside the functions so that importing this module stays cheap for the UI.
"""

from __future__ import annotations

import os

from genstudio.core.errors import GenStudioError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(choice: str = "auto"):
    """Turn a setting (``auto``/``cpu``/``cuda``/``mps``/``cuda:1``) into a ``torch.device``."""
    import torch

    choice = (choice or "auto").lower()
    available = available_devices()
    if choice == "auto":
        for name in ("cuda", "mps", "cpu"):
            if name in available:
                return torch.device(name)
    base = choice.split(":")[0]
    if base not in DEVICE_CHOICES:
        raise GenStudioError(f"Unknown device '{choice}'. Choose one of: {', '.join(DEVICE_CHOICES)}.")
    if base not in available:
        raise GenStudioError(
            f"The device '{choice}' is not available on this machine (available: {', '.join(available)})."
        )
    return torch.device(choice)


def set_threads(threads: int | None) -> int:
    """Set CPU threads for torch (``None``/0 keeps the default); returns the count in force."""
    import torch

    if threads:
        torch.set_num_threads(max(1, int(threads)))
    return torch.get_num_threads()


def describe(device) -> str:
    """A human line for the status bar and logs: ``CUDA: NVIDIA H100`` or ``CPU (8 threads)``."""
    import torch

    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


def onnx_providers() -> list[str]:
    """ONNX Runtime execution providers in order of preference, among those installed."""
    import onnxruntime

    preferred = ["CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider",
                 "CPUExecutionProvider"]
    available = set(onnxruntime.get_available_providers())
    return [p for p in preferred if p in available] or ["CPUExecutionProvider"]


def default_threads() -> int:
    return int(os.environ.get("GENSTUDIO_THREADS", "0")) or (os.cpu_count() or 1)
