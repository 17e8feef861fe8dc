"""The population loss of one linear self-attention layer over its weights, in float64.

The same quantity as :func:`theory.lsa.population_loss` (its module docstring derives it): with
p = -(last row of W_PV), Q = the first d columns of W_KQ, K = Q Sigma Q^T,

    L = 1/2 sum p_a p_b K_ce F[a, c, e, b] - sum p_a G[a, c, j] (Q Sigma)_cj + 1/2 (task_var tr Sigma + noise_var),

where the moment tensors F ((d+1)^4) and G ((d+1)^2 d) depend on the law, N and the variances
only, so they are built once (:func:`moment_tensors`, cached) and every loss or gradient is a few
tensor contractions: exact up to rounding, no sampling, microseconds at d = N = 10. The gradient
is analytic: with P_ce = sum_ab p_a p_b F[a, c, e, b] and H_cj = sum_a p_a G[a, c, j],

    dL/dp = 1/2 (F[., K, p] + F[p, K, .]) - G[., Q Sigma],    dL/dQ = 1/2 (P + P^T) Q Sigma - H Sigma.
"""
from __future__ import annotations

import functools
from itertools import product

import numpy as np

from theory.args import ArgumentError, integer, nonnegative, positive
from theory.laws import as_law
from theory.lsa.weights import CovarianceGaussian

__all__ = ["input_moments", "moment_tensors", "population_tensors", "loss_and_merged_grad", "population_loss",
           "population_grad"]


def _pattern(index) -> tuple[int, ...]:
    counts: dict[int, int] = {}
    for k in index:
        counts[k] = counts.get(k, 0) + 1
    return tuple(sorted(counts.values(), reverse=True))


def input_moments(law, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(Sigma, M4): E[x x^T] (d, d) and E[x_j x_k x_l x_m] (d, d, d, d) in float64.

    ``law``: a :class:`theory.laws.Law` or its spelling (exchangeable: each moment depends on the
    pattern of repeated coordinates only), or a :class:`theory.lsa.CovarianceGaussian` (Isserlis).

    Examples
    --------
    >>> Sigma, M4 = input_moments("gaussian(1)", 3)
    >>> [float(v) for v in (Sigma.trace(), M4[0, 0, 0, 0], M4[0, 0, 1, 1], M4[0, 1, 2, 2])]
    [3.0, 3.0, 1.0, 0.0]
    """
    d = integer(d, "d", minimum=1)
    if isinstance(law, CovarianceGaussian):
        if law.d != d:
            raise ArgumentError(f"d = {d} does not match the {law.d} x {law.d} covariance of the law")
        L = np.array(law.Lambda.evalf(), dtype=float)
        M4 = (np.einsum("jk,lm->jklm", L, L) + np.einsum("jl,km->jklm", L, L) + np.einsum("jm,kl->jklm", L, L))
        return L, M4
    return _exchangeable_moments(as_law(law), d)


@functools.lru_cache(maxsize=64)
def _exchangeable_moments(law, d: int) -> tuple[np.ndarray, np.ndarray]:
    values: dict[tuple[int, ...], float] = {}

    def moment(index):
        key = _pattern(index)
        if key not in values:
            values[key] = float(law.moment(key, d))
        return values[key]

    Sigma = np.array([[moment((j, k)) for k in range(d)] for j in range(d)])
    M4 = np.empty((d,) * 4)
    for idx in product(range(d), repeat=4):
        M4[idx] = moment(idx)
    Sigma.setflags(write=False)
    M4.setflags(write=False)
    return Sigma, M4


def moment_tensors(Sigma: np.ndarray, M4: np.ndarray, N: int, noise_var: float = 0.0,
                   task_var: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """F[a, c, e, b] = E[M_ac M_eb] and G[a, c, j] = E[M_ac w_j] (M = sum_i e_i e_i^T, index d the
    label), from the closed forms of :mod:`theory.lsa.weights`."""
    d = Sigma.shape[0]
    y, tau, s2 = d, float(task_var), float(noise_var)
    trS, S2 = np.trace(Sigma), Sigma @ Sigma
    Mt = np.einsum("jkll->jk", M4)  # sum_l M4_jkll
    two_y = tau * Mt + s2 * Sigma  # E[x_j x_k y^2]
    E4 = np.zeros((d + 1,) * 4)
    E4[:d, :d, :d, :d] = M4
    slots = range(4)
    for a in slots:
        for b in slots:
            if a < b:
                index = [slice(None, d)] * 4
                index[a] = index[b] = y
                # the two x slots keep their order: E[x_j x_k y^2] is symmetric in (j, k)
                E4[tuple(index)] = two_y
    E4[y, y, y, y] = 3 * tau**2 * np.trace(Mt) + 6 * s2 * tau * trS + 3 * s2**2
    SS = np.zeros((d + 1,) * 4)
    SS[:d, :d, :d, :d] = np.einsum("ac,eb->aceb", Sigma, Sigma)
    SS[:d, :d, y, y] = SS[y, y, :d, :d] = Sigma * (tau * trS + s2)
    SS[y, :d, y, :d] = SS[y, :d, :d, y] = SS[:d, y, y, :d] = SS[:d, y, :d, y] = tau * S2
    SS[y, y, y, y] = tau**2 * (trS**2 + 2 * np.trace(S2)) + 2 * s2 * tau * trS + s2**2
    F = N * E4 + N * (N - 1) * SS
    G = np.zeros((d + 1, d + 1, d))
    G[:d, y, :] = G[y, :d, :] = N * tau * Sigma
    return F, G


@functools.lru_cache(maxsize=64)
def population_tensors(law, d: int, N: int, noise_var: float, task_var: float) -> tuple:
    """(Sigma, F, G, constant) of :func:`moment_tensors` for a parsed law (a :class:`theory.laws.Law`
    or :class:`theory.lsa.CovarianceGaussian`) and checked sizes, cached and read-only: what
    :func:`loss_and_merged_grad` needs."""
    Sigma, M4 = input_moments(law, d)
    F, G = moment_tensors(Sigma, M4, N, noise_var, task_var)
    const = 0.5 * (task_var * np.trace(Sigma) + noise_var)
    for a in (Sigma, F, G):
        a.setflags(write=False)
    return Sigma, F, G, const


def _setup(W_KQ, W_PV, d, N, law, noise_var, task_var):
    d, N = integer(d, "d", minimum=1), integer(N, "N", minimum=1)
    law = law if isinstance(law, CovarianceGaussian) else as_law(law)
    noise_var, task_var = nonnegative(noise_var, "noise_var"), positive(task_var, "task_var")
    weights = []
    for name, W in (("W_KQ", W_KQ), ("W_PV", W_PV)):
        W = np.asarray(W, dtype=float)
        if W.shape != (d + 1, d + 1):
            raise ArgumentError(f"{name} must have shape (d+1, d+1) = ({d + 1}, {d + 1}), got {W.shape}")
        if not np.all(np.isfinite(W)):
            raise ArgumentError(f"{name} must be finite")
        weights.append(W)
    return weights[0], weights[1], d, population_tensors(law, d, N, noise_var, task_var)


def loss_and_merged_grad(W_KQ, W_PV, d: int, tensors) -> tuple[float, np.ndarray, np.ndarray]:
    """(loss, dL/dW_KQ, dL/dW_PV) for checked float arrays and :func:`population_tensors`."""
    return _loss_grad(W_KQ, W_PV, d, tensors, grad=True)


def _loss_grad(W_KQ, W_PV, d, tensors, grad: bool):
    Sigma, F, G, const = tensors
    D = d + 1
    p = -W_PV[d]  # (D,)
    Q = W_KQ[:, :d]  # (D, d)
    QS = Q @ Sigma  # (D, d)
    K = QS @ Q.T  # (D, D)
    Fp = (p @ F.reshape(D, -1)).reshape(D, D, D)  # sum_a p_a F[a, c, e, b] -> (c, e, b)
    P = Fp @ p  # (c, e)
    H = np.tensordot(p, G, axes=1)  # (D, d)
    loss = 0.5 * np.sum(P * K) - np.sum(H * QS) + const
    if not grad:
        return loss
    first = (F @ p).reshape(D, D * D) @ K.reshape(-1)  # sum_{c,e,b} F[a, c, e, b] K_ce p_b
    second = np.tensordot(K, Fp, axes=([0, 1], [0, 1]))  # sum_{a,c,e} p_a K_ce F[a, c, e, b]
    dp = 0.5 * (first + second) - np.tensordot(G, QS, axes=([1, 2], [0, 1]))
    dQ = 0.5 * (P + P.T) @ QS - H @ Sigma
    g_KQ = np.zeros_like(W_KQ)
    g_KQ[:, :d] = dQ
    g_PV = np.zeros_like(W_PV)
    g_PV[d] = -dp
    return loss, g_KQ, g_PV


def population_loss(W_KQ, W_PV, d, N, law, noise_var=0.0, task_var=1.0) -> float:
    """:func:`theory.lsa.population_loss` in float64 from numpy weights (exact up to rounding).

    Examples
    --------
    >>> d, N, eta = 10, 10, 200 / 33  # the optimal step for uniform(1/2) inputs
    >>> W_KQ, W_PV = np.zeros((11, 11)), np.zeros((11, 11))
    >>> W_KQ[:d, :d], W_PV[d, d] = np.eye(d), -eta / N
    >>> round(population_loss(W_KQ, W_PV, d, N, "uniform(1/2)") * 1188, 9)  # = 245/1188
    245.0
    """
    W_KQ, W_PV, d, tensors = _setup(W_KQ, W_PV, d, N, law, noise_var, task_var)
    return float(_loss_grad(W_KQ, W_PV, d, tensors, grad=False))


def population_grad(W_KQ, W_PV, d, N, law, noise_var=0.0, task_var=1.0) -> tuple[float, np.ndarray, np.ndarray]:
    """(loss, dL/dW_KQ, dL/dW_PV): :func:`population_loss` and its gradient (analytic, float64).

    Only the first d columns of W_KQ and the last row of W_PV reach the prediction; the other
    gradient entries are 0.
    """
    W_KQ, W_PV, d, tensors = _setup(W_KQ, W_PV, d, N, law, noise_var, task_var)
    loss, g_KQ, g_PV = _loss_grad(W_KQ, W_PV, d, tensors, grad=True)
    return float(loss), g_KQ, g_PV
