"""Loads stylegan2-pytorch (pip, installed with ``--no-deps``) on a CPU-only torch, for benchmarks/gan_throughput.py.

stylegan2-pytorch 1.9.0 is written for one CUDA GPU: at import it asserts ``torch.cuda.is_available()``,
and it imports torchvision (used only by its image-folder Dataset and image saving), aim (experiment
logging, only with ``log=True``) and vector_quantize_pytorch (only for its optional ``fq_layers``); its
``Trainer.train`` moves every new tensor with ``.cuda(rank)``. ``load()`` makes that import succeed and
that training step run on the CPU without changing any of the peer's model or training code:

- torchvision, torchvision.transforms, aim and vector_quantize_pytorch become empty stand-in modules
  (whose ``VectorQuantize`` raises if anything builds one);
- ``torch.cuda.is_available`` answers True during the import only;
- ``Tensor.cuda`` and ``Module.cuda`` become the identity, for good: call this only in a process
  that never uses a GPU (the benchmark runs the peer in a child process of its own).
"""

from __future__ import annotations

import sys
import types


def _stand_in(name: str, **attrs) -> types.ModuleType:
    module = sys.modules.setdefault(name, types.ModuleType(name))
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def _no_vector_quantize(*args, **kwargs):
    raise RuntimeError("vector_quantize_pytorch is stubbed out in this benchmark; leave fq_layers empty")


def load():
    """Import stylegan2_pytorch on the CPU; returns the module ``stylegan2_pytorch.stylegan2_pytorch``."""
    import torch

    torchvision = _stand_in("torchvision")
    torchvision.transforms = _stand_in("torchvision.transforms")
    torchvision.utils = _stand_in("torchvision.utils")
    _stand_in("aim")
    _stand_in("vector_quantize_pytorch", VectorQuantize=_no_vector_quantize)
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    is_available, torch.cuda.is_available = torch.cuda.is_available, lambda: True
    try:
        from stylegan2_pytorch import stylegan2_pytorch as peer
    finally:
        torch.cuda.is_available = is_available
    return peer
