"""Zheng et al. 2024 in numpy: the linear causal attention model and exact phase-grid averages.

Model (the authors' code layout): tokens e_t = (x_t, x_{t-1}) in C^{2d} (x_0 = 0), parameters
P = W^PV (d x 2d) and Q = W^KQ (2d x 2d), prediction y_hat_t = P C_t Q e_t / (t - 1) with
C_t = sum_{i <= t} e_i e_i^H, loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2.  Red blocks:
B = P[:, :d] (paper W^PV_12), A = Q[d:, :d] (paper W^KQ_32).

Gradients follow torch's convention for complex parameters, G = dL/dRe + i dL/dIm, so that
plain GD ``P -= lr * G`` is what the authors' SGD does.  Exact population averages:
the loss and its gradients are trigonometric polynomials in each theta_j of degree at most
3(T-2), so the mean over a uniform grid of n_grid >= 3T - 5 phases per coordinate is exact
(2T - 3 under Assumption 4.1, see :func:`exact_grid_size`); x_1 is averaged exactly by
enumeration (Rademacher, SparseAxis, FullOne) or by Gauss quadrature with 4 nodes per
coordinate (Gaussian: Hermite, Uniform: Legendre; the integrands have degree <= 6 per
coordinate), and Sphere through Gaussian quadrature of the homogeneous parts of degree 2, 4, 6.
The public names are re-exported by :mod:`numerics.mesa`.
"""
from __future__ import annotations

import numpy as np

from numerics.laws import law_scale
from theory.laws import as_law
from theory import mesa as tm
from theory.laws import FullOne, Gaussian, Rademacher, SparseAxis, Sphere, Uniform

__all__ = [
    "red_params",
    "predict",
    "sequence_losses",
    "empirical_loss_and_grad",
    "x1_quadrature",
    "exact_grid_size",
    "phase_grid_loss_and_grad",
]

_CHUNK_ELEMENTS = 3_000_000  # complex entries of the per-chunk work tensors (~50 MB)


def _int_at_least(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def red_params(a, b, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q) with only the red blocks set: B = P[:, :d], A = Q[d:, :d] (complex128).

    ``a``/``b`` may be scalars (A = aI), length-d vectors (diagonal) or d x d matrices.

    Examples
    --------
    >>> P, Q = red_params(2.0, 3.0, 1)
    >>> P.real.tolist(), Q.real.tolist()
    ([[3.0, 0.0]], [[0.0, 0.0], [2.0, 0.0]])
    """
    d = _int_at_least(d, "d", 1)

    def block(v, name):
        v = np.asarray(v, dtype=np.complex128)
        if v.ndim == 0:
            return v * np.eye(d)
        if v.shape == (d,):
            return np.diag(v)
        if v.shape == (d, d):
            return v
        raise ValueError(f"{name} must be a scalar, a length-{d} vector or a {d}x{d} matrix, got shape {v.shape}")

    P = np.zeros((d, 2 * d), np.complex128)
    Q = np.zeros((2 * d, 2 * d), np.complex128)
    P[:, :d] = block(b, "b")
    Q[d:, :d] = block(a, "a")
    return P, Q


def _check_params(P, Q, d: int):
    P, Q = np.asarray(P, np.complex128), np.asarray(Q, np.complex128)
    if P.shape != (d, 2 * d):
        raise ValueError(f"P must have shape (d, 2d) = ({d}, {2 * d}), got {P.shape}")
    if Q.shape != (2 * d, 2 * d):
        raise ValueError(f"Q must have shape (2d, 2d) = ({2 * d}, {2 * d}), got {Q.shape}")
    return P, Q


def _check_x(x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] < 3 or x.shape[2] < 1:
        raise ValueError(f"x must have shape (m, T, d) with T >= 3, d >= 1, got {x.shape}")
    return x.astype(np.complex128, copy=False)


class _Causal:
    """z_t = C_t y_t with C_t = sum_{i <= t} e_i e_i^H, for e, y of shape (m, L, n).

    Short sequences use the masked Gram matrix e_i^H y_t (O(m L^2 n)); long ones the prefix
    sums C_t (O(m L n^2)), computed once and reused for every y.
    """

    def __init__(self, e):
        self.e = e
        m, L, n = e.shape
        if L <= 2 * n:
            self.mask = np.triu(np.ones((L, L)))  # [i, t] = 1 for i <= t
            self.C = None
        else:
            self.C = np.cumsum(e[..., :, None] * e.conj()[..., None, :], axis=1)  # (m, L, n, n)

    def apply(self, y):
        if self.C is not None:
            return np.matmul(self.C, y[..., None])[..., 0]
        G = np.matmul(self.e.conj(), np.swapaxes(y, 1, 2)) * self.mask  # (m, L, L): e_i^H y_t
        return np.matmul(np.swapaxes(G, 1, 2), self.e)  # (m, L, n)


def _forward(P, Q, x):
    """Predictions for t = 2..T-1 tokens: the causal operator, e_t, v_t = C_t Q e_t/(t-1), r_t."""
    m, T, d = x.shape
    e = np.concatenate([x[:, :T - 1], np.concatenate([np.zeros((m, 1, d), x.dtype), x[:, :T - 2]], 1)], 2)
    # e: (m, T-1, 2d), e[:, t-1] = e_t = (x_t, x_{t-1}) for t = 1..T-1
    causal = _Causal(e)
    inv = 1.0 / np.maximum(np.arange(T - 1, dtype=np.float64), 1.0)[None, :, None]  # 1/(t-1); t = 1 unused
    v = causal.apply(e @ Q.T) * inv  # (m, T-1, 2d)
    v[:, 0] = 0.0  # t = 1 makes no prediction
    r = v @ P.T  # (m, T-1, d)
    r[:, 1:] -= x[:, 2:]  # r_t = y_hat_t - x_{t+1} for t >= 2; row t = 1 stays 0
    return causal, e, v, r, inv


def _chunks(x):
    m, T, d = x.shape
    step = max(1, _CHUNK_ELEMENTS // (T * max(T, 4 * d * d)))
    for start in range(0, m, step):
        yield slice(start, min(m, start + step))


def predict(P, Q, x) -> np.ndarray:
    """Predictions y_hat_t = P C_t Q e_t/(t-1) for t = 2..T-1, shape (m, T-2, d); targets x[:, 2:].

    Examples
    --------
    >>> x = np.ones((2, 6, 2), complex)  # (m, T, d): the constant sequence x_t = 1_d
    >>> P, Q = red_params(0.5, 1.0, 2)
    >>> predict(P, Q, x)[0, -1].real  # (c/(t-1)) sum_{i<t} x_{i+1} x_i^H x_t = c d 1_d
    array([1., 1.])
    """
    x = _check_x(x)
    P, Q = _check_params(P, Q, x.shape[2])
    out = np.empty((x.shape[0], x.shape[1] - 2, x.shape[2]), np.complex128)
    for sl in _chunks(x):
        _, _, v, _, _ = _forward(P, Q, x[sl])
        out[sl] = (v @ P.T)[:, 1:]
    return out


def sequence_losses(P, Q, x) -> np.ndarray:
    """Per-sequence loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2, shape (m,)."""
    x = _check_x(x)
    P, Q = _check_params(P, Q, x.shape[2])
    out = np.empty(x.shape[0])
    for sl in _chunks(x):
        r = _forward(P, Q, x[sl])[3]
        out[sl] = 0.5 * (r.real**2 + r.imag**2).sum(axis=(1, 2))
    return out


def empirical_loss_and_grad(P, Q, x, weights=None) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted mean of the sequence loss and its gradients (torch convention dL/dRe + i dL/dIm).

    G_P = sum_t r_t v_t^H and G_Q = sum_t (C_t P^H r_t / (t-1)) e_t^H with
    v_t = C_t Q e_t/(t-1), r_t = P v_t - x_{t+1}.  ``weights`` (m,) default 1/m (the code's
    mean over training sequences).

    Returns
    -------
    loss : float
    G_P : ndarray (d, 2d) complex128
    G_Q : ndarray (2d, 2d) complex128
    """
    x = _check_x(x)
    m, _, d = x.shape
    P, Q = _check_params(P, Q, d)
    w = np.full(m, 1.0 / m) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (m,):
        raise ValueError(f"weights must have shape (m,) = ({m},), got {w.shape}")
    loss, G_P, G_Q = 0.0, np.zeros_like(P), np.zeros_like(Q)
    for sl in _chunks(x):
        causal, e, v, r, inv = _forward(P, Q, x[sl])
        wr = w[sl, None, None] * r  # (mc, T-1, d), row t = 1 is 0
        loss += 0.5 * float(np.sum(w[sl, None, None] * (r.real**2 + r.imag**2)))
        mc = wr.shape[0]
        G_P += wr.reshape(mc * wr.shape[1], d).T @ v.conj().reshape(-1, 2 * d)
        u = causal.apply(wr @ P.conj()) * inv  # (mc, T-1, 2d): C_t P^H r_t/(t-1)
        G_Q += u.reshape(-1, 2 * d).T @ e.conj().reshape(-1, 2 * d)
    return loss, G_P, G_Q


def x1_quadrature(law, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (n, d) and weights (n,) averaging polynomials of degree <= 7 per coordinate exactly.

    Rademacher: the 2^d sign vectors; SparseAxis: the 2d points +-c e_k; FullOne: one point;
    Gaussian: Gauss-Hermite, Uniform: Gauss-Legendre, 4 nodes per coordinate (4^d points).
    Sphere has no product rule (see :func:`phase_grid_loss_and_grad`).

    Examples
    --------
    >>> nodes, w = x1_quadrature("gaussian(2)", 1)
    >>> round(float(w @ nodes[:, 0] ** 6), 9)
    960.0
    """
    law, d = as_law(law), _int_at_least(d, "d", 1)
    c = law_scale(law)
    if isinstance(law, FullOne):
        return np.full((1, d), c), np.ones(1)
    if isinstance(law, Rademacher):
        nodes = c * (2.0 * ((np.arange(2**d)[:, None] >> np.arange(d)) & 1) - 1.0)
        return nodes, np.full(2**d, 2.0**-d)
    if isinstance(law, SparseAxis):
        nodes = np.concatenate([c * np.eye(d), -c * np.eye(d)])
        return nodes, np.full(2 * d, 1.0 / (2 * d))
    if isinstance(law, (Gaussian, Uniform)):
        if isinstance(law, Gaussian):
            z, w = np.polynomial.hermite_e.hermegauss(4)
        else:
            z, w = np.polynomial.legendre.leggauss(4)
        z, w = c * z, w / w.sum()
        idx = np.indices((4,) * d).reshape(d, -1).T  # (4^d, d)
        return z[idx], np.prod(w[idx], axis=1)
    raise ValueError(f"law must be one of Rademacher, SparseAxis, FullOne, Gaussian, Uniform for a product "
                     f"quadrature, got {law}")


def _grid_average(P, Q, d, T, nodes, weights, n_grid):
    theta = 2.0 * np.pi * np.indices((n_grid,) * d).reshape(d, -1).T / n_grid  # (n_grid^d, d)
    phases = np.exp(1j * np.arange(T)[None, :, None] * theta[:, None, :])  # (G, T, d)
    loss, G_P, G_Q = 0.0, np.zeros_like(P), np.zeros_like(Q)
    K = len(nodes)
    step = max(1, _CHUNK_ELEMENTS // (K * T * 4 * d * d))
    for start in range(0, len(theta), step):
        ph = phases[start:start + step]
        x = (ph[:, None] * nodes[None, :, None, :]).reshape(-1, T, d)  # (g*K, T, d)
        w = np.broadcast_to(weights[None, :] / len(theta), (len(ph), K)).reshape(-1)
        lo, gp, gq = empirical_loss_and_grad(P, Q, x, weights=w)
        loss, G_P, G_Q = loss + lo, G_P + gp, G_Q + gq
    return loss, G_P, G_Q


def exact_grid_size(T: int, law, d: int) -> int:
    """Phases per coordinate for which the uniform-grid average of the loss is exact.

    In |y_hat_t - x_{t+1}|^2 every lambda_j has degree |k| <= 3(t-1) <= 3(T-2) (value and
    query contribute up to t-1 each, a conjugated key down to -(t-1)), so n_grid = 3T - 5 is
    exact for every law (and the bound is attained for FullOne).  A monomial that aliases on
    a grid of n_grid >= 2T - 3 needs |k_j| > 2(T-2) on two coordinates, i.e. all three
    positive factors on one coordinate and all three negative ones on another, which comes
    with the x_1 moment E[x_j^3 x_k^3] (the total degree sum_j k_j lies in [-3, 3]); under
    Assumption 4.1 it vanishes, so max(2T - 3, 4) is exact there (n_grid > 3 makes the
    total degree of an aliasing monomial 0).
    """
    T, d = _int_at_least(T, "T", 3), _int_at_least(d, "d", 1)
    return max(2 * T - 3, 4) if tm.satisfies_assumption_41(as_law(law), d) else 3 * T - 5


def phase_grid_loss_and_grad(P, Q, d: int, T: int, law, n_grid: int | None = None, *, strict: bool = True):
    """Exact population loss E[sum_t 1/2 |y_hat_t - x_{t+1}|^2] and its gradients (small d).

    Averages over a uniform grid of n_grid phases per coordinate (exact for trigonometric
    polynomials of degree < n_grid; default and minimum :func:`exact_grid_size`: 3T - 5, or
    2T - 3 under Assumption 4.1) and exactly over x_1 (:func:`x1_quadrature`; Sphere via
    E_sphere p_{2k} = r^{2k} E_gauss p_{2k}(g) / (d (d+2) ... (d+2k-2)) for the
    homogeneous parts of degree 2, 4, 6, separated by evaluating at 3 Gaussian scales).
    Cost ~ n_grid^d * (quadrature points) * T * (2d)^2: use d <= 3.  ``strict=False``
    allows coarser (inexact) grids, to show where aliasing starts.

    Returns
    -------
    loss : float
    G_P : ndarray (d, 2d) complex128, dL/dRe P + i dL/dIm P
    G_Q : ndarray (2d, 2d) complex128

    Examples
    --------
    >>> P, Q = red_params(1.0, 0.5, 2)
    >>> round(phase_grid_loss_and_grad(P, Q, 2, 4, "sparse_axis(1)")[0], 12)  # (d/2) S (1 - c)^2 m2
    0.25
    """
    d, T = _int_at_least(d, "d", 1), _int_at_least(T, "T", 3)
    P, Q = _check_params(P, Q, d)
    law = as_law(law)
    need = exact_grid_size(T, law, d)
    n_grid = need if n_grid is None else _int_at_least(n_grid, "n_grid", 1)
    if strict and n_grid < need:
        raise ValueError(f"n_grid must be >= {need} for an exact average (T = {T}, law {law}), got {n_grid}")
    if not isinstance(law, Sphere):
        nodes, weights = x1_quadrature(law, d)
        return _grid_average(P, Q, d, T, nodes, weights, n_grid)
    nodes, weights = x1_quadrature(Gaussian(1), d)
    scales = np.array([1.0, 2.0, 3.0])
    parts = [_grid_average(P, Q, d, T, s * nodes, weights, n_grid) for s in scales]
    V = scales[:, None] ** (2 * np.arange(1, 4))[None, :]  # F(s) = sum_k s^{2k} G_k, i.e. F = V G
    r = law_scale(law)
    moments_g = np.array([d, d * (d + 2), d * (d + 2) * (d + 4)], dtype=np.float64)  # E|g|^{2k}
    factors = r ** (2 * np.arange(1, 4)) / moments_g  # sphere average = sum_k factors_k G_k
    mix = np.linalg.solve(V.T, factors)  # = factors^T V^{-1}: weights on F(1), F(2), F(3)
    loss = sum(mu * p[0] for mu, p in zip(mix, parts))
    G_P = sum(mu * p[1] for mu, p in zip(mix, parts))
    G_Q = sum(mu * p[2] for mu, p in zip(mix, parts))
    return float(loss), G_P, G_Q
