"""Fitted one-layer parameters on Monte-Carlo tasks (von Oswald et al. 2023; Zhang, Frei, Bartlett 2024).

The step size of K tied GD layers by the authors' line search (``scan_lrs``) or by a continuous
refinement of it, and the preconditioner Gamma of the one-layer map y_hat = x_q^T Gamma h by
least squares; both are compared with the closed forms of :mod:`theory.lsa`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from numerics.lsa.args import schedule, task_arrays
from numerics.lsa.predictors import SpectralTasks, gd_predict, kstep_gd_predict, mc_loss
from theory.args import choice, integer

__all__ = ["LR_GRID", "StepSizeSearch", "line_search_step_size", "fit_preconditioner"]

LR_GRID = np.arange(0.001, 25, 0.1)  # the code's scan_lrs grid: 0.001, 0.101, ..., 24.901 (250 values)


@dataclass(frozen=True)
class StepSizeSearch:
    """Result of :func:`line_search_step_size`."""

    eta: float            # the minimiser
    loss: float           # MC 1/2-loss at eta
    se: float             # its standard error
    etas: np.ndarray      # the grid searched
    losses: np.ndarray    # MC loss on the grid


def line_search_step_size(X, y, x_q, y_q, *, layers: int = 1, method: str = "grid",
                          grid=None) -> StepSizeSearch:
    """Step size of K tied GD layers minimising the MC loss on the given tasks.

    ``method="grid"`` is the authors' ``scan_lrs``: the argmin over eta = 0.001 + 0.1 k,
    k = 0..249 (same eta in every layer); the paper calls it "line search over 10^4 tasks".
    ``method="continuous"`` refines the grid minimiser with bounded Brent
    (``scipy.optimize.minimize_scalar``) between its two neighbours.  For one layer the
    continuous minimiser is mean(g y_q)/mean(g^2), g = gd_predict(eta = 1).

    Returns
    -------
    StepSizeSearch
    """
    X, y, x_q = task_arrays(X, y, x_q)
    y_q = np.asarray(y_q, dtype=float)
    if y_q.shape != (X.shape[0],):
        raise ValueError(f"y_q must have shape ({X.shape[0]},), got {y_q.shape}")
    layers = integer(layers, "layers", minimum=1)
    method = choice(method, "method", ("grid", "continuous"))
    etas = LR_GRID if grid is None else schedule(grid, "grid")

    if layers == 1:
        g = gd_predict(X, y, x_q, 1.0)  # the prediction is linear in eta
        g2, gy, y2 = np.mean(g * g), np.mean(g * y_q), np.mean(y_q * y_q)

        def loss(eta):
            return 0.5 * (eta * eta * g2 - 2.0 * eta * gy + y2)
    else:
        spec = SpectralTasks.from_tasks(X, y, x_q, y_q)  # one eigh, then O(n d K) per eta
        zeros = [0.0] * layers

        def loss(eta):
            return spec.loss([eta] * layers, zeros)

    losses = np.array([loss(e) for e in etas])
    i = int(np.argmin(losses))
    eta = float(etas[i])
    if method == "continuous":
        lo = etas[max(i - 1, 0)]
        hi = etas[min(i + 1, etas.size - 1)]
        if hi > lo:
            res = optimize.minimize_scalar(loss, bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-10 * max(1.0, abs(hi))})
            if res.fun <= losses[i]:
                eta = float(res.x)
    if layers == 1:
        pred = eta * g
    else:
        pred = kstep_gd_predict(X, y, x_q, [eta] * layers)
    mean, se = mc_loss(pred, y_q)
    return StepSizeSearch(eta, mean, se, np.asarray(etas), losses)


def fit_preconditioner(X, y, x_q, y_q):
    """Least-squares fit of Gamma in y_hat = x_q^T Gamma (1/N) sum_i y_i x_i over the tasks.

    The population minimiser for x ~ N(0, Lambda), w ~ N(0, I) is
    ((1 + 1/N) Lambda + tr(Lambda)/N I)^{-1} (Zhang, Frei, Bartlett 2024, Thm 4.1;
    ``theory.lsa.zfb_preconditioner``).  Features phi = vec(x_q h^T), h = X^T y / N; the
    standard errors are the heteroscedasticity-robust (sandwich, HC0) ones of OLS.

    Returns
    -------
    (Gamma, se): two (d, d) arrays.
    """
    X, y, x_q = task_arrays(X, y, x_q)
    y_q = np.asarray(y_q, dtype=float)
    n, N, d = X.shape
    if y_q.shape != (n,):
        raise ValueError(f"y_q must have shape ({n},), got {y_q.shape}")
    if n <= d * d:
        raise ValueError(f"need more tasks than d^2 = {d * d} to fit Gamma, got {n}")
    h = (y[:, None, :] @ X)[:, 0, :] / N  # (n, d)
    phi = np.einsum("na,nb->nab", x_q, h).reshape(n, d * d)  # (n, d^2)
    A = phi.T @ phi
    coef = np.linalg.solve(A, phi.T @ y_q)
    r = y_q - phi @ coef
    A_inv = np.linalg.inv(A)
    meat = (phi * (r * r)[:, None]).T @ phi
    cov = A_inv @ meat @ A_inv
    return coef.reshape(d, d), np.sqrt(np.diag(cov)).reshape(d, d)
