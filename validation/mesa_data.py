"""Data for :func:`validation.mesa.train_mesa`: sampled and exact (phase-grid) training sets, the
test statistics evaluated after every epoch, and the fit of the training loss on the scalar manifold.

Everything here is a pure function of (d, T, law, m, m_test, seed, phase_grid, device) and read-only
afterwards, so runs that differ only in the initialisation, step size, epochs or masking (the three
inits of a figure) share one :class:`MesaDataset` (:func:`dataset`, cached): sharing changes no number.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from numerics.laws import law_scale
from theory.laws import as_law
from numerics.mesa import sample_starts, x1_quadrature
from theory.laws import Sphere
from validation.mesa_model import DTYPE, ARData, _prepared, ar_predictions

__all__ = ["MesaDataset", "dataset", "grid_data", "scalar_manifold_fit", "last_position_statistics"]


def _int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def grid_data(d: int, T: int, law, n_grid: int, device="cpu") -> ARData:
    """The exact population as a weighted training set: every phase on a uniform grid x x_1 quadrature.

    theta ranges over {2 pi k / n_grid}^d and x_1 over :func:`numerics.mesa.x1_quadrature` (exact
    for the degree-6 dependence on x_1); since the loss and its gradients are trigonometric
    polynomials of degree <= 3(T-2) in each theta_j, the weighted mean equals the population
    expectation exactly when n_grid >= 3T - 5.  Training on it is GD on the population loss.
    """
    law = as_law(law)
    d, T, n_grid = _int(d, "d", 1), _int(T, "T", 3), _int(n_grid, "phase_grid", 1)
    if n_grid < 3 * T - 5:
        raise ValueError(f"phase_grid must be >= 3T - 5 = {3 * T - 5} for an exact average, got {n_grid}")
    if isinstance(law, Sphere):
        raise ValueError(f"law must have a product quadrature for phase_grid (not Sphere), got {law}")
    nodes, qw = x1_quadrature(law, d)  # (K, d), (K,)
    theta = 2.0 * np.pi * np.indices((n_grid,) * d).reshape(d, -1).T / n_grid  # (G, d)
    G, K = len(theta), len(nodes)
    x1 = np.broadcast_to(nodes[None], (G, K, d)).reshape(-1, d)
    th = np.broadcast_to(theta[:, None], (G, K, d)).reshape(-1, d)
    w = np.broadcast_to(qw[None] / G, (G, K)).reshape(-1)
    return ARData.from_numpy(x1, th, T, weights=w, device=device)


def scalar_manifold_fit(data: ARData) -> tuple[float, float, float, float]:
    """Fit of the training loss on the scalar manifold A = aI, B = bI: (c_emp, se, beta/d, gamma/d).

    With s_t the prediction at a = b = 1, the loss is L(c) = L0 - beta c + gamma c^2 / 2,
    beta = sum_n w_n sum_t Re <s_t, x_{t+1}>, gamma = sum_n w_n sum_t |s_t|^2, so GD on the
    entries follows a <- a - lr b (gamma/d ab - beta/d) (the empirical version of
    notes Section 3.5, whose population values are (S k1, Acal)) and c_emp = beta/gamma.
    ``se`` is the delta-method standard error of c_emp for i.i.d. sequences
    (sqrt(sum_n w_n^2 psi_n^2), psi_n = (beta_n - c_emp gamma_n)/gamma); 0 for non-uniform weights
    (the exact phase grid).
    """
    d = data.d
    P = torch.zeros(d, 2 * d, dtype=DTYPE, device=data.x1.device)
    Q = torch.zeros(2 * d, 2 * d, dtype=DTYPE, device=data.x1.device)
    P[:, :d] = torch.eye(d, dtype=DTYPE)
    Q[d:, :d] = torch.eye(d, dtype=DTYPE)
    s = ar_predictions(P, Q, data)  # (m, T-2, d)
    target = data.sequences()[:, 2:]
    beta_n = (s.conj() * target).real.sum(dim=(1, 2))
    gamma_n = (s.real.square() + s.imag.square()).sum(dim=(1, 2))
    w = data.weights
    beta, gamma = float((w * beta_n).sum()), float((w * gamma_n).sum())
    c = beta / gamma
    uniform = bool(torch.allclose(w, torch.full_like(w, 1.0 / data.m)))
    se = float(torch.sqrt((w.square() * ((beta_n - c * gamma_n) / gamma).square()).sum())) if uniform else 0.0
    return c, se, beta / d, gamma / d


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
    """One run's data: the training set (fast-path constants built), the test statistics of the last
    position (:func:`last_position_statistics`; ``nonzero`` marks the x_T entries a ratio may divide
    by) and the scalar-manifold fit of the training loss (:func:`scalar_manifold_fit`)."""

    train: ARData
    C_last: torch.Tensor
    e_last: torch.Tensor
    x_last: torch.Tensor
    nonzero: torch.Tensor
    fit: tuple


_CACHE: "OrderedDict[tuple, MesaDataset]" = OrderedDict()
_LOCK = threading.Lock()  # guards _CACHE and _BUILDING
_BUILDING: dict = {}  # key -> the lock its builder holds
_CACHE_SIZE = 2  # datasets kept (about 0.5 GB each at the paper's m = 10^4, T = 100)


def dataset(d: int, T: int, law, m: int, m_test: int, seed: int, phase_grid: int | None = None,
            device="cpu", dtype=DTYPE) -> MesaDataset:
    """Training set, test statistics and scalar fit of one configuration, cached (the last two kept).

    ``SeedSequence(seed).spawn(3)`` gives the streams of the training set, the test set and (in
    ``train_mesa``) the Gaussian initialisation.  With ``phase_grid`` the training set is
    :func:`grid_data` (m is then ignored).  ``dtype`` (complex128 or complex64) is the precision
    of the fast path's constants; the test statistics and the fit are float64 either way.
    """
    law = as_law(law)
    key = (d, T, law.spelling, None if phase_grid is not None else m, m_test, seed, phase_grid, str(device),
           str(dtype))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        building = _BUILDING.setdefault(key, threading.Lock())
    # one builder per configuration: a concurrent run of the same one waits and reuses its result,
    # runs of different configurations build side by side
    with building:
        with _LOCK:
            if key in _CACHE:  # built while this thread waited
                _CACHE.move_to_end(key)
                return _CACHE[key]
        entry = _build(d, T, law, m, m_test, seed, phase_grid, device, dtype)
        with _LOCK:
            _CACHE[key] = entry
            _BUILDING.pop(key, None)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return entry


def _build(d, T, law, m, m_test, seed, phase_grid, device, dtype) -> MesaDataset:
    train_ss, test_ss, _ = np.random.SeedSequence(seed).spawn(3)
    if phase_grid is not None:
        train = grid_data(d, T, law, phase_grid, device=device)
    else:
        train = ARData.from_numpy(*sample_starts(m, d, law, np.random.default_rng(train_ss)), T, device=device)
    fit = scalar_manifold_fit(train)  # float64
    if dtype != DTYPE:
        train._prepared_cache.pop(DTYPE)  # the fit's float64 constants: not needed by a single-precision run
    _prepared(train, dtype)  # the fast path's constants, built once per dataset
    test = ARData.from_numpy(*sample_starts(m_test, d, law, np.random.default_rng(test_ss)), T, device=device)
    C_last, e_last, x_last = last_position_statistics(test)
    nonzero = x_last.abs() > 1e-12 * max(law_scale(law), 1e-300)
    return MesaDataset(train, C_last, e_last, x_last, nonzero, fit)
