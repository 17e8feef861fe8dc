"""Zheng et al. 2024 in numpy: exact population averages by phase grids and x_1 quadrature.

The loss and its gradients are trigonometric polynomials in each theta_j of degree at most 3(T-2),
so the mean over a uniform grid of n_grid >= 3T - 5 phases per coordinate is exact (2T - 3 under
Assumption 4.1, see :func:`exact_grid_size`); x_1 is averaged exactly by enumeration (Rademacher,
SparseAxis, FullOne) or by Gauss quadrature with 4 nodes per coordinate (Gaussian: Hermite,
Uniform: Legendre; the integrands have degree <= 6 per coordinate), and Sphere through Gaussian
quadrature of the homogeneous parts of degree 2, 4, 6.
"""
from __future__ import annotations

import numpy as np

from numerics.laws import law_scale
from numerics.mesa.model import CHUNK_ELEMENTS, check_params, empirical_loss_and_grad
from theory.args import integer
from theory.laws import FullOne, Gaussian, Rademacher, SparseAxis, Sphere, Uniform, as_law
from theory.mesa.moments import satisfies_assumption_41

__all__ = ["x1_quadrature", "exact_grid_size", "phase_grid_loss_and_grad"]


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
    law, d = as_law(law), integer(d, "d", minimum=1)
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
    step = max(1, CHUNK_ELEMENTS // (K * T * 4 * d * d))
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
    T, d = integer(T, "T", minimum=3), integer(d, "d", minimum=1)
    return max(2 * T - 3, 4) if satisfies_assumption_41(as_law(law), d) else 3 * T - 5


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
    >>> from numerics.mesa.model import red_params
    >>> P, Q = red_params(1.0, 0.5, 2)
    >>> round(phase_grid_loss_and_grad(P, Q, 2, 4, "sparse_axis(1)")[0], 12)  # (d/2) S (1 - c)^2 m2
    0.25
    """
    d, T = integer(d, "d", minimum=1), integer(T, "T", minimum=3)
    P, Q = check_params(P, Q, d)
    law = as_law(law)
    need = exact_grid_size(T, law, d)
    n_grid = need if n_grid is None else integer(n_grid, "n_grid", minimum=1)
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
