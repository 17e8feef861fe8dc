"""Zheng et al. 2024 in numpy/scipy: AR sampler, exact population loss, flows, lambdified theory.

Data: x_{t+1} = W x_t with W = diag(e^{i theta_j}), theta_j ~ U[0, 2 pi), real x_1 ~ law.
The model, its exact phase-grid population loss and gradients live in
:mod:`numerics.mesa_model` (re-exported here); this module holds the sampler, the scipy
integration of the gradient flow of Theorem 4.1 on the scalar / diagonal manifold, discrete
GD on that manifold, and float-valued (lambdified) theory helpers.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from numerics.laws import sample
from numerics.seeds import make_rng
from theory.laws import as_law
from numerics.mesa_model import (_int_at_least, empirical_loss_and_grad, exact_grid_size,
                                 phase_grid_loss_and_grad, predict, red_params, sequence_losses,
                                 x1_quadrature)
from theory import mesa as tm

__all__ = [
    "sample_starts",
    "sample_sequences",
    "red_params",
    "predict",
    "sequence_losses",
    "empirical_loss_and_grad",
    "x1_quadrature",
    "exact_grid_size",
    "phase_grid_loss_and_grad",
    "integrate_flow",
    "manifold_gd",
    "c_star",
    "reduced_loss_value",
    "balanced_flow_curve",
    "position_error_curve",
]


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return make_rng(seed=int(rng))
    return make_rng(rng=rng)


def sample_starts(m: int, d: int, law, rng) -> tuple[np.ndarray, np.ndarray]:
    """The random part of m AR sequences: real start points x_1 ~ law and phases theta ~ U[0, 2 pi)^d.

    Everything else is determined: x_t = exp(i (t-1) theta) x_1.  The same generator state gives
    the same (x_1, theta) as :func:`sample_sequences` (which calls this and then expands), so a
    consumer that needs only the start points and phases (the fast training path) skips the
    (m, T, d) array.

    Returns
    -------
    x1 : ndarray, float64, shape (m, d)
    theta : ndarray, float64, shape (m, d)

    Examples
    --------
    >>> x1, theta = sample_starts(4, 3, "gaussian(1)", 0)
    >>> x, theta2 = sample_sequences(4, 3, 5, "gaussian(1)", 0)
    >>> bool(np.array_equal(x[:, 0].real, x1) and np.array_equal(theta, theta2))
    True
    """
    m, d = _int_at_least(m, "m", 1), _int_at_least(d, "d", 1)
    rng = _rng(rng)
    x1 = sample(as_law(law), m, d, rng)  # (m, d)
    theta = rng.uniform(0.0, 2.0 * np.pi, size=(m, d))
    return x1, theta


def sample_sequences(m: int, d: int, T: int, law, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw m AR(1) sequences x_{t+1} = W x_t, W = diag(e^{i theta_j}) (Zheng et al. 2024, Section 3).

    x_1 is drawn first (``numerics.laws.sample``, real), then theta ~ U[0, 2 pi)^d;
    x_t = e^{i (t-1) theta} x_1 is computed directly (no accumulated rounding).

    Parameters
    ----------
    m, d, T : int
        Sequences (>= 1), dimension (>= 1), length (>= 3).
    law : Law or str
        Law of x_1.
    rng : numpy.random.Generator or int
        Generator, or a seed.

    Returns
    -------
    x : ndarray, complex128, shape (m, T, d)
        x[:, t-1] is x_t.
    theta : ndarray, float64, shape (m, d)

    Examples
    --------
    >>> x, theta = sample_sequences(4, 3, 5, "sparse_axis(1)", 0)
    >>> x.shape, x.dtype, bool(np.allclose(np.abs(x[:, 0]).sum(axis=1), 1))
    ((4, 5, 3), dtype('complex128'), True)
    """
    T = _int_at_least(T, "T", 3)
    x1, theta = sample_starts(m, d, law, rng)
    powers = np.arange(T, dtype=np.float64)[None, :, None]  # t - 1
    x = np.exp(1j * powers * theta[:, None, :]) * x1[:, None, :]  # (m, T, d)
    return x, theta


# --- lambdified theory -----------------------------------------------------------------
_A, _B, _TAU, _C = sp.symbols("a b tau c", real=True)


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
    d, T = _int_at_least(d, "d", 1), _int_at_least(T, "T", 3)
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
    epochs = _int_at_least(epochs, "epochs", 0)
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    k = tm.loss_coefficients(d, T, as_law(law))
    if not masked:
        tm.require_assumption_41(law, d, "manifold_gd")
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
