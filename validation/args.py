"""Argument checks of the torch layer: devices and dtypes, with one meaning everywhere.

``device`` accepts what ``torch.device`` accepts (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a
``torch.device``) and refuses a CUDA device on a machine without one; ``dtype`` accepts a floating
torch dtype. The numeric checks (sizes, seeds, rates) are :mod:`theory.args`.

Examples
--------
>>> device("cpu")
device(type='cpu')
>>> dtype(torch.float32)
torch.float32
"""
from __future__ import annotations

import torch

from theory.args import ArgumentError

__all__ = ["device", "dtype"]


def device(value, name: str = "device") -> torch.device:
    """``torch.device(value)``; ``ValueError`` naming ``name`` for a bad spelling or an absent GPU."""
    try:
        dev = torch.device(value)
    except (RuntimeError, TypeError) as exc:
        raise ArgumentError(f"{name} must be a torch device such as 'cpu' or 'cuda[:i]', got {value!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ArgumentError(f"{name} must be 'cpu' here: {value!r} was requested but CUDA is not available")
    return dev


def dtype(value, name: str = "dtype") -> torch.dtype:
    """A floating torch dtype (``torch.float32`` or ``torch.float64``), else ``ValueError``."""
    if value not in (torch.float32, torch.float64):
        raise ArgumentError(f"{name} must be torch.float32 or torch.float64, got {value!r}")
    return value
