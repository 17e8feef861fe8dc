"""The spectrum of X X^T and the GD++ condition numbers (von Oswald et al. 2023, Fig. 13, eq. 24-25).

GD++ maps the Gram matrix's eigenvalues by f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3
(``theory.lsa.gdpp_eigenvalue_map``, evaluated here in float64 through ``sympy.lambdify``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from theory.args import real
from theory.lsa import gdpp_eigenvalue_map

__all__ = ["GramSpectrum", "gram_spectrum", "gdpp_condition_numbers"]


@dataclass(frozen=True)
class GramSpectrum:
    """Eigenvalues of X X^T (the paper's d x d Gram matrix; ours is X^T X with X of shape (N, d))."""

    eigenvalues: np.ndarray  # (n, d) per task, ascending
    lam_min: float           # smallest over all tasks
    lam_max: float           # largest over all tasks


def gram_spectrum(X) -> GramSpectrum:
    """Eigenvalues of the Gram matrix sum_i x_i x_i^T per task (von Oswald et al. 2023, Fig. 13).

    The paper reports min / max over 10^4 tasks: max 4.6 / 7.712 / 10.845 / 17.196 for
    N = 10 / 25 / 50 / 100 (our notes' MC under U(-1/2, 1/2): 4.22 / 7.02 / 10.81 / 17.58).

    Examples
    --------
    >>> s = gram_spectrum(np.array([[[1.0, 0.0], [0.0, 2.0]]]))
    >>> s.eigenvalues, s.lam_min, s.lam_max
    (array([[1., 4.]]), 1.0, 4.0)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 3 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, N, d) with n >= 1, got {X.shape}")
    lam = np.linalg.eigvalsh(np.swapaxes(X, 1, 2) @ X)  # (n, d)
    return GramSpectrum(lam, float(lam.min()), float(lam.max()))


@lru_cache(maxsize=None)
def _eigenvalue_map():
    """f(lam, gamma) lambdified once per process (a pure function of nothing: cheap to keep, not a run)."""
    lam, gamma = sp.symbols("lam gamma")
    return sp.lambdify((lam, gamma), gdpp_eigenvalue_map(lam, gamma), "numpy")


def gdpp_condition_numbers(eigenvalues, gamma) -> np.ndarray:
    """Condition number per task of the GD++-corrected Hessian (von Oswald et al. 2023, eq. 24-25).

    H++ = (I - gamma H) H (I - gamma H) has eigenvalues f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3
    (``theory.lsa.gdpp_eigenvalue_map``); returns max_j f(lam_j) / min_j f(lam_j) per task
    (gamma = 0: the plain condition number), inf where the smallest is 0.

    Parameters
    ----------
    eigenvalues : (n, d) array (e.g. ``gram_spectrum(X).eigenvalues``)
    gamma : float
    """
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim != 2:
        raise ValueError(f"eigenvalues must have shape (n, d), got {lam.shape}")
    gamma = real(gamma, "gamma")
    f = np.asarray(_eigenvalue_map()(lam, gamma), dtype=float) * np.ones_like(lam)
    hi, lo = f.max(axis=1), f.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), np.inf)
