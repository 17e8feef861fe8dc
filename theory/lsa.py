"""von Oswald et al. 2023 and the one-layer fixed points that follow it (sympy only).

Task: w ~ N(0, task_var I_d); x_i, x_q i.i.d. from ``law``; y = w.x + eps with
eps ~ N(0, noise_var) for context and query alike.  One GD step from W0 = 0 with
step size eta on L(W) = 1/(2N) sum_i (W x_i - y_i)^2 predicts
y_hat = (eta/N) sum_i y_i x_i.x_q.
"""
from __future__ import annotations

import sympy as sp

from theory.laws import Law

__all__ = [
    "second_moment_matrix_traces",
    "one_step_loss",
    "optimal_step_size",
    "zfb_preconditioner",
]


def _positive_int(value, name: str) -> sp.Expr:
    expr = sp.sympify(value)
    if expr.is_number and (not expr.is_integer or expr < 1):
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return expr


def _nonnegative(value, name: str) -> sp.Expr:
    expr = sp.sympify(value)
    if expr.is_real is False or expr.is_negative:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return expr


def second_moment_matrix_traces(d, law: Law) -> dict:
    """Traces of M = E[x x^T] and the fourth-order term, for an exchangeable law, symbolic d.

    M = (m2 - m11) I + m11 1 1^T has eigenvalues m2 + (d - 1) m11 (once) and m2 - m11
    (d - 1 times), so tr M^k is exact for symbolic d.  Also returns
    Q = E[ |x|^2 x^T M x ] = m2 (d m4 + d(d-1) m22) + m11 d(d-1)(2 m31 + (d-2) m211).

    Returns a dict with keys ``trM``, ``trM2``, ``trM3``, ``Q``.
    """
    if not isinstance(law, Law):
        raise TypeError(f"law must be a theory.laws.Law, got {law!r}")
    d = _positive_int(d, "d")
    size = 4 if not d.is_number else min(int(d), 4)

    def mom(powers):
        powers = tuple(powers)
        if len(powers) > size:
            return sp.Integer(0)  # a coordinate that does not exist: never multiplied by a non-zero count
        return law.moment(powers, d)

    m2, m4 = mom((2,)), mom((4,))
    m11, m22, m31, m211 = mom((1, 1)), mom((2, 2)), mom((3, 1)), mom((2, 1, 1))
    top, rest = m2 + (d - 1) * m11, m2 - m11

    def tr(k):
        return top**k + (d - 1) * rest**k

    Q = m2 * (d * m4 + d * (d - 1) * m22) + m11 * d * (d - 1) * (2 * m31 + (d - 2) * m211)
    return {"trM": sp.simplify(tr(1)), "trM2": sp.simplify(tr(2)), "trM3": sp.simplify(tr(3)),
            "Q": sp.simplify(Q)}


def one_step_loss(eta, d, N, law: Law, noise_var=0, task_var=1) -> sp.Expr:
    """E[ 1/2 (y_hat - y_q)^2 ] for one GD step from W0 = 0 (von Oswald et al. 2023, eq. 3).

    With M = E[x x^T], S = (1/N) sum_i x_i x_i^T and tau^2 = task_var, sigma_eps^2 = noise_var:

    2 Loss = tau^2 [ eta^2 E tr(S^2 M) - 2 eta tr(M^2) + tr(M) ] + sigma_eps^2 [ eta^2 tr(M^2)/N + 1 ],
    E tr(S^2 M) = (1/N) E[|x|^2 x^T M x] + (1 - 1/N) tr(M^3).

    For i.i.d. coordinates of variance s^2 and kurtosis k this is
    1/2 s^2 d [1 - 2 eta s^2 + eta^2 s^4 (N + d - 2 + k)/N] (noiseless, task_var = 1).

    Examples
    --------
    >>> from theory.laws import Uniform
    >>> one_step_loss(0, 10, 10, Uniform(sp.Rational(1, 2)))
    5/12
    """
    d = _positive_int(d, "d")
    N = _positive_int(N, "N")
    noise_var = _nonnegative(noise_var, "noise_var")
    task_var = _nonnegative(task_var, "task_var")
    if task_var.is_zero:
        raise ValueError(f"task_var must be > 0, got {task_var}")
    t = second_moment_matrix_traces(d, law)
    eta = sp.sympify(eta)
    trS2M = t["Q"] / N + (1 - sp.Integer(1) / N) * t["trM3"]
    twice = task_var * (eta**2 * trS2M - 2 * eta * t["trM2"] + t["trM"]) + noise_var * (
        eta**2 * t["trM2"] / N + 1
    )
    return sp.simplify(twice / 2)


def optimal_step_size(d, N, law: Law, noise_var=0, task_var=1) -> sp.Expr:
    """The eta minimising :func:`one_step_loss` (the loss is a convex quadratic in eta).

    eta* = tau^2 tr(M^2) / ( tau^2 E tr(S^2 M) + sigma_eps^2 tr(M^2)/N ).  For i.i.d.
    coordinates: eta* = N / (s^2 (N + d - 2 + k) + sigma_eps^2/tau^2), which is
    N/(N + d + 1) for standard Gaussian inputs (Zhang, Frei, Bartlett 2024, Thm 4.1) and
    N/(N + d + 1 + sigma_eps^2/tau^2) with label noise (Mahankali et al. 2024).

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> optimal_step_size(10, 10, Gaussian(1))
    10/21
    """
    eta = sp.Symbol("eta")
    loss = sp.expand(one_step_loss(eta, d, N, law, noise_var, task_var))
    a, b = loss.coeff(eta, 2), loss.coeff(eta, 1)
    if a.is_zero:
        raise ValueError(f"the one-step loss does not depend on eta for law {law}")
    return sp.simplify(-b / (2 * a))


def zfb_preconditioner(Lambda, N) -> sp.Matrix:
    """Gamma^{-1} with Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I (Zhang, Frei, Bartlett 2024, Thm 4.1).

    The trained one-layer linear transformer on x ~ N(0, Lambda), w ~ N(0, I) predicts
    y_hat = x_q^T Gamma^{-1} (1/N) sum_i y_i x_i.

    Examples
    --------
    >>> zfb_preconditioner(sp.eye(2), 4)
    Matrix([
    [4/7,   0],
    [  0, 4/7]])
    """
    Lambda = sp.Matrix(Lambda)
    if Lambda.rows != Lambda.cols or Lambda.rows < 1:
        raise ValueError(f"Lambda must be a square matrix, got shape {Lambda.shape}")
    if Lambda != Lambda.T:
        raise ValueError("Lambda must be symmetric")
    if Lambda.is_positive_definite is False:
        raise ValueError("Lambda must be positive definite")
    N = _positive_int(N, "N")
    d = Lambda.rows
    Gamma = (1 + sp.Integer(1) / N) * Lambda + Lambda.trace() / N * sp.eye(d)
    return sp.simplify(Gamma.inv())
