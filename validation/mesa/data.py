"""Data for :func:`validation.mesa.train_mesa`: sampled and exact (phase-grid) training sets, the
test statistics evaluated after every epoch, and the fit of the training loss on the scalar manifold.

Everything here is a pure function of (d, T, law, m, m_test, seed, phase_grid, device, dtype) and
read-only afterwards, so runs that differ only in the initialisation, step size, epochs or masking
(the three inits of a figure) can share one :class:`MesaDataset`.  :func:`dataset` keeps the last
two built (``functools.lru_cache`` on those hashable arguments): at the paper's size a build (sample,
fast-path constants, scalar fit, test statistics) takes about 3 s of a 30 s run, and each figure
trains three inits per training set.  This caches data, not trained runs (those are the run store's,
:mod:`validation.store`); two threads asking for the same data at once may both build it (the
same numbers).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from numerics.laws import law_scale
from numerics.mesa import sample_starts, x1_quadrature
from numerics.seeds import child_rng, child_seed
from theory.args import integer
from theory.laws import Law, Sphere, as_law
from validation.args import device as check_device
from validation.mesa.fast_path import ARConstants, prepare
from validation.mesa.model import DTYPE, ARData
from validation.mesa.readouts import scalar_manifold_fit

__all__ = ["MesaDataset", "dataset", "grid_data", "last_position_statistics", "streams"]


# The random streams of one ``seed`` (the project's one rule, numerics.seeds), one key per purpose:
TRAIN_KEY, TEST_KEY, INIT_KEY = 1, 2, 3


def streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, int]:
    """The three random streams of a run with ``seed``: training set, test set, initialisation.

    ``child_rng(seed, TRAIN_KEY)`` and ``child_rng(seed, TEST_KEY)`` for the training and the test
    draws, and ``child_seed(seed, INIT_KEY)`` for the ``torch.Generator`` of the Gaussian
    initialisation (:mod:`numerics.seeds`).
    """
    return child_rng(seed, TRAIN_KEY), child_rng(seed, TEST_KEY), child_seed(seed, INIT_KEY)


def grid_data(d: int, T: int, law, n_grid: int, device="cpu") -> ARData:
    """The exact population as a weighted training set: every phase on a uniform grid x x_1 quadrature.

    theta ranges over {2 pi k / n_grid}^d and x_1 over :func:`numerics.mesa.x1_quadrature` (exact
    for the degree-6 dependence on x_1); since the loss and its gradients are trigonometric
    polynomials of degree <= 3(T-2) in each theta_j, the weighted mean equals the population
    expectation exactly when n_grid >= 3T - 5.  Training on it is GD on the population loss.
    """
    law = as_law(law)
    d, T = integer(d, "d", minimum=1), integer(T, "T", minimum=3)
    n_grid = check_phase_grid(n_grid, T, law)
    return _grid_data(d, T, law, n_grid, check_device(device))


def check_phase_grid(n_grid, T: int, law: Law) -> int:
    """``n_grid`` if it is an integer >= 3T - 5 (an exact average) and ``law`` has a product quadrature."""
    n_grid = integer(n_grid, "phase_grid", minimum=1)
    if n_grid < 3 * T - 5:
        raise ValueError(f"phase_grid must be >= 3T - 5 = {3 * T - 5} for an exact average, got {n_grid}")
    if isinstance(law, Sphere):
        raise ValueError(f"law must have a product quadrature for phase_grid (not Sphere), got {law}")
    return n_grid


def _grid_data(d: int, T: int, law: Law, n_grid: int, device) -> ARData:
    nodes, qw = x1_quadrature(law, d)  # (K, d), (K,)
    theta = 2.0 * np.pi * np.indices((n_grid,) * d).reshape(d, -1).T / n_grid  # (G, d)
    G, K = len(theta), len(nodes)
    x1 = np.broadcast_to(nodes[None], (G, K, d)).reshape(-1, d)
    th = np.broadcast_to(theta[:, None], (G, K, d)).reshape(-1, d)
    w = np.broadcast_to(qw[None] / G, (G, K)).reshape(-1)
    return ARData.from_numpy(x1, th, T, weights=w, device=device)


def last_position_statistics(test: ARData):
    """What the per-epoch test evaluation needs: C_{T-1} (m, 2d, 2d), e_{T-1} (m, 2d), x_T (m, d).

    With x_s = phi_s x_1 (phi_s = lambda^{s-1}) and S_k = sum_{s<=k} phi_s phi_s^H (one batched
    product), the blocks of C_{T-1} = sum_{s<=T-1} e_s e_s^H, e_s = (x_s, x_{s-1}), are
    X S_{T-1} X, X Lambda S_{T-2} X (and its adjoint) and X S_{T-2} X with X = diag(x_1),
    Lambda = diag(lambda): O(m T d^2), no (m, T, 2d) token array.  The tests compare it with the
    token sums.
    """
    T = test.T
    x1 = test.x1.to(DTYPE)
    powers = torch.arange(T, dtype=torch.float64, device=x1.device)  # s - 1 for s = 1..T
    phi = torch.polar(torch.ones_like(test.theta[:, :, None] * powers),
                      test.theta[:, :, None] * powers)  # (m, d, T): phi_s
    S_prev = phi[:, :, : T - 2] @ phi[:, :, : T - 2].mH  # S_{T-2}
    last = phi[:, :, T - 2]  # phi_{T-1}
    S_last = S_prev + last[:, :, None] * last.conj()[:, None, :]  # S_{T-1}
    XX = x1[:, :, None] * x1[:, None, :]
    lam = phi[:, :, 1]
    top = torch.cat([XX * S_last, XX * lam[:, :, None] * S_prev], dim=2)
    bottom = torch.cat([XX * S_prev * lam.conj()[:, None, :], XX * S_prev], dim=2)
    C_last = torch.cat([top, bottom], dim=1)
    e_last = torch.cat([last * x1, phi[:, :, T - 3] * x1], dim=1)  # (x_{T-1}, x_{T-2})
    x_last = phi[:, :, T - 1] * x1  # x_T
    return C_last, e_last, x_last


@dataclass(frozen=True)
class MesaDataset:
    """One run's data: the training set and its fast-path constants in the run's precision
    (``fast``), the test statistics of the last position (:func:`last_position_statistics`;
    ``nonzero`` marks the x_T entries a ratio may divide by) and the scalar-manifold fit of the
    training loss (:func:`validation.mesa.readouts.scalar_manifold_fit`, float64)."""

    train: ARData
    fast: ARConstants
    C_last: torch.Tensor
    e_last: torch.Tensor
    x_last: torch.Tensor
    nonzero: torch.Tensor
    fit: tuple


def dataset(d: int, T: int, law, m: int, m_test: int, seed: int, phase_grid: int | None = None,
            device="cpu", dtype=DTYPE) -> MesaDataset:
    """Training set, test statistics and scalar fit of one configuration (the last two kept).

    The streams are :func:`streams` of ``seed``.  With ``phase_grid`` the training set is
    :func:`grid_data` (m is then ignored).  ``dtype`` (complex128 or complex64) is the precision
    of the fast path's constants; the test statistics and the fit are float64 either way.
    Arguments as :func:`validation.mesa.train_mesa` checked them.
    """
    return _dataset(d, T, as_law(law), None if phase_grid is not None else m, m_test, seed, phase_grid,
                    torch.device(device), dtype)


@lru_cache(maxsize=2)  # about 0.5 GB each at the paper's m = 10^4, T = 100
def _dataset(d, T, law, m, m_test, seed, phase_grid, device, dtype) -> MesaDataset:
    train_rng, test_rng, _ = streams(seed)
    if phase_grid is not None:
        train = _grid_data(d, T, law, phase_grid, device)
    else:
        train = ARData.from_numpy(*sample_starts(m, d, law, train_rng), T, device=device)
    fast = prepare(train, DTYPE)
    fit = scalar_manifold_fit(fast)  # float64
    if dtype != DTYPE:
        fast = prepare(train, dtype)  # the fast path's constants in the run's precision
    test = ARData.from_numpy(*sample_starts(m_test, d, law, test_rng), T, device=device)
    C_last, e_last, x_last = last_position_statistics(test)
    nonzero = x_last.abs() > 1e-12 * max(law_scale(law), 1e-300)
    return MesaDataset(train, fast, C_last, e_last, x_last, nonzero, fit)
