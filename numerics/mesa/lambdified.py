"""Zheng et al. 2024: the theory of :mod:`theory.mesa` as floats (lambdified sympy, vectorised numpy).

The sympy closed forms are turned into numpy functions once per (d, T, law): ``sympy.lambdify`` of an
exact formula is a pure function of hashable arguments (ints and a frozen Law) that costs tens of
milliseconds, and figures evaluate it for every epoch and position, so those are cached
(``functools.lru_cache``; no trained run is cached here).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from theory import mesa as tm
from theory.laws import as_law

__all__ = ["c_star", "reduced_loss_value", "balanced_flow_curve", "position_error_curve"]

_TAU, _C = sp.symbols("tau c", real=True)


def c_star(d: int, T: int, law, masked: bool = False) -> float:
    """Float value of :func:`theory.mesa.fixed_point` (Theorem 4.1).

    Examples
    --------
    >>> round(c_star(5, 100, "gaussian(1)"), 5)
    0.19191
    """
    return float(tm.fixed_point(d, T, as_law(law), masked=masked))


def reduced_loss_value(c, d: int, T: int, law) -> np.ndarray | float:
    """:func:`theory.mesa.reduced_loss` evaluated at float(s) c (vectorised)."""
    f = _lambdified_reduced(d, T, as_law(law))
    out = f(np.asarray(c, np.float64))
    return float(out) if np.ndim(out) == 0 else out


@lru_cache(maxsize=128)
def _lambdified_reduced(d, T, law):
    return sp.lambdify(_C, tm.reduced_loss(_C, d, T, law), "numpy")


@lru_cache(maxsize=128)
def _lambdified_balanced(d, T, law, masked):
    c0 = sp.Symbol("c0", positive=True)
    return sp.lambdify((_TAU, c0), tm.balanced_flow(_TAU, c0, d, T, law, masked=masked), "numpy")


def balanced_flow_curve(taus, c0: float, d: int, T: int, law, masked: bool = False) -> np.ndarray:
    """:func:`theory.mesa.balanced_flow` at times ``taus`` (tau = lr * epoch for GD with step lr)."""
    if not np.isfinite(c0) or c0 < 0:
        raise ValueError(f"c0 must be >= 0 (a0 = b0 = sqrt(c0)), got {c0}")
    taus = np.asarray(taus, np.float64)
    if c0 == 0:
        return np.zeros_like(taus)
    return np.asarray(_lambdified_balanced(d, T, as_law(law), masked)(taus, float(c0)), np.float64) + 0 * taus


@lru_cache(maxsize=128)
def _lambdified_position(d, law):
    t = sp.Symbol("t", positive=True, integer=True)
    return sp.lambdify((t, _C), tm.position_error(t, _C, d, law), "numpy")


def position_error_curve(ts, c: float, d: int, law) -> np.ndarray:
    """:func:`theory.mesa.position_error` at positions ``ts`` (>= 2) for constant c."""
    ts = np.asarray(ts, np.float64)
    if np.any(ts < 2):
        raise ValueError(f"ts must be >= 2, got min {ts.min()}")
    return np.asarray(_lambdified_position(d, as_law(law))(ts, float(c)), np.float64) + 0 * ts
