"""Samplers for the laws of :mod:`theory.laws`.

``sample(law, n, d, rng)`` draws n i.i.d. vectors in R^d as a float64 array of
shape (n, d).  Every random draw comes from the ``rng`` (a
``numpy.random.Generator``) or ``seed`` argument.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from theory.laws import FullOne, Gaussian, Law, Rademacher, SparseAxis, Sphere, Uniform, as_law

__all__ = ["law_scale", "sample"]


def law_scale(law: Law) -> float:
    """The law's scale parameter as a float (symbolic parameters cannot be sampled)."""
    (name,) = law.__dataclass_fields__
    value = sp.sympify(getattr(law, name))
    if not value.is_number:
        raise ValueError(f"law {law} has a symbolic {name}; give a number to sample it")
    return float(value)


def sample(law, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Draw n i.i.d. vectors of the law in R^d, shape (n, d), float64.

    Examples
    --------
    >>> x = sample("uniform(1/2)", 4, 3, np.random.default_rng(0))
    >>> x.shape, bool(np.all(np.abs(x) <= 0.5))
    ((4, 3), True)
    """
    law = as_law(law)
    n, d = int(n), int(d)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    c = law_scale(law)
    if isinstance(law, Gaussian):
        return c * rng.standard_normal((n, d))
    if isinstance(law, Uniform):
        return rng.uniform(-c, c, size=(n, d))
    if isinstance(law, Rademacher):
        return c * (2.0 * rng.integers(0, 2, size=(n, d)) - 1.0)
    if isinstance(law, SparseAxis):
        out = np.zeros((n, d))
        k = rng.integers(0, d, size=n)
        s = 2.0 * rng.integers(0, 2, size=n) - 1.0
        out[np.arange(n), k] = c * s
        return out
    if isinstance(law, Sphere):
        g = rng.standard_normal((n, d))
        return c * g / np.linalg.norm(g, axis=1, keepdims=True)
    if isinstance(law, FullOne):
        return np.full((n, d), c)
    raise TypeError(f"no sampler for law {law!r}")  # pragma: no cover - all laws covered
