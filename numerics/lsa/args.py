"""Argument checks shared by the ``numerics.lsa`` modules: task arrays and per-layer schedules.

Scalars, sizes and seeds are checked with :mod:`theory.args`; what is specific to this layer is
the shape of a batch of regression tasks and of a per-layer schedule of step sizes.

Examples
--------
>>> X, y, x_q = task_arrays(np.zeros((2, 3, 4)), np.zeros((2, 3)), np.zeros((2, 4)))
>>> schedule(0.5, "etas")
array([0.5])
>>> schedule([1.0, 2.0], "gammas", K=3)
Traceback (most recent call last):
...
ValueError: gammas must have 3 entries (one per layer), got 2
"""
from __future__ import annotations

import numpy as np

__all__ = ["task_arrays", "schedule"]


def task_arrays(X, y, x_q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, x_q) as float64 arrays of shapes (n, N, d), (n, N), (n, d), else ``ValueError`` naming the array."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    x_q = np.asarray(x_q, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n, N, d), got {X.shape}")
    n, N, d = X.shape
    if y.shape != (n, N):
        raise ValueError(f"y must have shape ({n}, {N}), got {y.shape}")
    if x_q.shape != (n, d):
        raise ValueError(f"x_q must have shape ({n}, {d}), got {x_q.shape}")
    return X, y, x_q


def schedule(values, name: str, K=None) -> np.ndarray:
    """A number or a 1-D sequence of finite floats (one per layer; exactly ``K`` of them if given)."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"{name} must be a number or a 1-D sequence with >= 1 entries, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {values!r}")
    if K is not None and arr.size != K:
        raise ValueError(f"{name} must have {K} entries (one per layer), got {arr.size}")
    return arr
