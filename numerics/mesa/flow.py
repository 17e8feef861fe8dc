"""Zheng et al. 2024 in numpy/scipy: the gradient flow of Theorem 4.1 and discrete GD on its manifold.

The flow on the scalar manifold A = aI, B = bI (or the diagonal one) is integrated by
``scipy.integrate.solve_ivp`` from the lambdified right-hand sides of :mod:`theory.mesa.flow`;
:func:`manifold_gd` is the discrete recursion that full-batch GD on the population follows.  The
lambdified right-hand sides are cached per (d, T, law, masked): pure functions of hashable arguments,
tens of milliseconds to build.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from theory import mesa as tm
from theory.args import integer, positive
from theory.laws import as_law
from theory.mesa.moments import require_assumption_41

__all__ = ["integrate_flow", "manifold_gd", "balanced_gd_error_bound"]

_A, _B = sp.symbols("a b", real=True)


@lru_cache(maxsize=128)
def _scalar_rhs(d, T, law, masked):
    return sp.lambdify((_A, _B), list(tm.scalar_flow_rhs(_A, _B, d, T, law, masked=masked)), "numpy")


@lru_cache(maxsize=32)
def _diagonal_rhs(d, T, law, masked):
    a = [sp.Symbol(f"a_{j + 1}", real=True) for j in range(d)]
    b = [sp.Symbol(f"b_{j + 1}", real=True) for j in range(d)]
    rhs = tm.diagonal_flow_rhs(a, b, d, T, law, masked=masked)
    return sp.lambdify(a + b, list(rhs), "numpy")


def integrate_flow(a0, b0, d: int, T: int, law, taus, *, masked: bool = False, method: str = "DOP853",
                   rtol: float = 1e-10, atol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Gradient flow of Theorem 4.1 on the scalar (or diagonal) manifold by ``scipy.integrate.solve_ivp``.

    Scalar a0, b0 (any signs, unbalanced allowed): da/dtau = b (S k1 - Acal ab),
    db/dtau = a (S k1 - Acal ab) (:func:`theory.mesa.scalar_flow_rhs`).  Length-d vectors:
    the diagonal flow of :func:`theory.mesa.diagonal_flow_rhs`.  Requires Assumption 4.1
    unless ``masked`` (off-diagonal gradients masked, e.g. the full-one runs with --clip).

    Returns
    -------
    a, b : ndarray, shape (len(taus),) or (len(taus), d)

    Examples
    --------
    >>> a, b = integrate_flow(0.5, 1.5, 5, 100, "gaussian(1)", [0.0, 1.0])
    >>> round(float(a[-1] * b[-1]), 6), round(float(a[-1]**2 - b[-1]**2), 9)
    (0.191905, -2.0)
    """
    d, T = integer(d, "d", minimum=1), integer(T, "T", minimum=3)
    law = as_law(law)
    taus = np.asarray(taus, np.float64)
    if taus.ndim != 1 or len(taus) < 1 or taus[0] < 0 or np.any(np.diff(taus) < 0) or not np.all(np.isfinite(taus)):
        raise ValueError("taus must be a non-empty, non-decreasing 1-D sequence of finite times >= 0")
    a0, b0 = np.asarray(a0, np.float64), np.asarray(b0, np.float64)
    if a0.shape != b0.shape or a0.shape not in ((), (d,)):
        raise ValueError(f"a0 and b0 must both be scalars or both have shape ({d},), got {a0.shape}, {b0.shape}")
    if a0.ndim == 0:
        f = _scalar_rhs(d, T, law, masked)
        rhs = lambda _t, y: np.array(f(y[0], y[1]), np.float64).ravel()  # noqa: E731
    else:
        f = _diagonal_rhs(d, T, law, masked)
        rhs = lambda _t, y: np.array(f(*y), np.float64).ravel()  # noqa: E731
    y0 = np.concatenate([a0.ravel(), b0.ravel()])
    if taus[-1] == 0:
        ys = np.repeat(y0[None], len(taus), axis=0)
    else:
        sol = solve_ivp(rhs, (0.0, float(taus[-1])), y0, method=method, t_eval=taus, rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover - the flow is smooth and bounded
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        ys = sol.y.T
    k = y0.size // 2
    a, b = ys[:, :k], ys[:, k:]
    return (a[:, 0], b[:, 0]) if a0.ndim == 0 else (a, b)


def manifold_gd(a0: float, b0: float, d: int, T: int, law, lr: float, epochs: int, *,
                masked: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Discrete GD on the population loss restricted to A = aI, B = bI (what full-batch GD follows).

    a <- a - lr b (Acal ab - S k1),  b <- b - lr a (Acal ab - S k1)   (notes Section 3.5).

    Returns
    -------
    a, b : ndarray (epochs + 1,), the start included.

    Raises
    ------
    ValueError
        ``lr`` <= 0, or a step size that makes the iteration diverge (non-finite values).
    """
    epochs, lr, law = integer(epochs, "epochs", minimum=0), positive(lr, "lr"), as_law(law)
    k = tm.loss_coefficients(d, T, law)
    if not masked:
        require_assumption_41(law, d, "manifold_gd")
    Sk1, Acal = float(k["S"] * k["k1"]), float(k["Acal"])
    a, b = np.empty(epochs + 1), np.empty(epochs + 1)
    a[0], b[0] = a0, b0
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(epochs):
            g = Acal * a[i] * b[i] - Sk1
            a[i + 1], b[i + 1] = a[i] - lr * b[i] * g, b[i] - lr * a[i] * g
            if not (np.isfinite(a[i + 1]) and np.isfinite(b[i + 1])):
                raise ValueError(f"lr = {lr} makes gradient descent diverge at epoch {i + 1}; "
                                 f"lr must be < about 2/((a^2 + b^2) Acal) = {2 / ((a0**2 + b0**2) * Acal):.3g}")
    return a, b


def balanced_gd_error_bound(epochs: int, c0: float, lr: float, d: int, T: int, law, *,
                            masked: bool = False) -> np.ndarray:
    """A proven bound on |c_k - c(k lr)| between balanced GD and the balanced (logistic) flow (derived).

    From a = b = sqrt(c0), GD on the manifold keeps a = b and c = ab obeys
    c <- c (1 + (eta/2)(1 - x))^2 with x = c/c*, eta = 2 S k1 lr; the flow is x' = 2 S k1 x (1 - x).
    In the logit z = log(x / (1 - x)) the flow moves by exactly eta per step, and one GD step moves by
    dz = 2 log(1 + eta u / 2) - log(1 - eta x - eta^2 x u / 4) (u = 1 - x).  The elementary bounds
    y - y^2/2 <= log(1 + y) <= y and y <= -log(1 - y) <= y + y^2 / (2 (1 - y)) give, for every x in
    [0, 1],  -eta^2/4 <= dz - eta <= eta^2/16 + y_max^2 / (2 (1 - y_max)) with y_max = eta + eta^2/16,
    so |dz - eta| <= K eta^2.  After k steps |z_k - z(k lr)| <= k K eta^2 =: r_k, and since
    dx/dz = x (1 - x), |x_k - x(k lr)| <= r_k max{sigma'(z) : |z - z(k lr)| <= r_k}.

    Returns
    -------
    ndarray (epochs + 1,): the bound on |c_k - c(k lr)| in units of c (0 at k = 0).

    Raises
    ------
    ValueError
        ``c0`` not in (0, c*) (the logistic start this bound covers), or eta + eta^2/16 >= 1.
    """
    epochs, lr, law = integer(epochs, "epochs", minimum=0), positive(lr, "lr"), as_law(law)
    if not masked:
        require_assumption_41(law, d, "balanced_gd_error_bound")
    k = tm.loss_coefficients(d, T, law)
    Sk1, Acal = float(k["S"] * k["k1"]), float(k["Acal"])
    cs = Sk1 / Acal
    if not (np.isfinite(c0) and 0 < c0 < cs):
        raise ValueError(f"c0 must be in (0, c* = {cs:.6g}), got {c0}")
    eta = 2 * Sk1 * lr
    y = eta + eta ** 2 / 16
    if y >= 1:
        raise ValueError(f"lr too large for the bound: eta = 2 S k1 lr = {eta:.4g} needs eta + eta^2/16 < 1")
    K = max(0.25, 1 / 16 + y ** 2 / (2 * (1 - y)) / eta ** 2)
    steps = np.arange(epochs + 1)
    z_flow = np.log(c0 / (cs - c0)) + eta * steps
    r = steps * K * eta ** 2
    z_near = np.clip(0.0, z_flow - r, z_flow + r)  # the point of the interval closest to 0
    e = np.exp(-np.abs(z_near))
    return cs * r * e / (1 + e) ** 2  # sigma'(z) = e^{-|z|} / (1 + e^{-|z|})^2, without cancellation
