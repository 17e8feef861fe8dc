"""The one-step GD loss of von Oswald et al. 2023 and the one-layer fixed points that follow it.

Task: w ~ N(0, task_var I_d); x_i, x_q i.i.d. from ``law``; y = w.x + eps with
eps ~ N(0, noise_var) for context and query alike.  One GD step from W0 = 0 with
step size eta on L(W) = 1/(2N) sum_i (W x_i - y_i)^2 predicts
y_hat = (eta/N) sum_i y_i x_i.x_q.

Each public function checks its arguments once (``theory.args``) and turns ``law`` into a
:class:`theory.laws.Law`; the private cores below take checked values.
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError, symbolic_integer, symbolic_nonnegative, symbolic_positive, symbolic_real
from theory.laws import Law, Uniform, as_law  # noqa: F401  (Uniform: doctests)

__all__ = [
    "second_moment_matrix_traces",
    "one_step_loss",
    "optimal_step_size",
    "optimal_one_step_loss",
    "zero_predictor_loss",
    "zfb_preconditioner",
]


def _task_args(d, N, law, noise_var, task_var) -> tuple:
    """(d, N, law, noise_var, task_var) checked, in the order of the cores' arguments."""
    law = as_law(law)
    return (symbolic_integer(d, "d", 1), symbolic_integer(N, "N", 1), law,
            symbolic_nonnegative(noise_var, "noise_var"), symbolic_positive(task_var, "task_var"))


# ----------------------------------------------------------------------------- one-step GD
def second_moment_matrix_traces(d, law: Law) -> dict:
    """Traces of M = E[x x^T] and the fourth-order term, for an exchangeable law, symbolic d.

    M = (m2 - m11) I + m11 1 1^T has eigenvalues m2 + (d - 1) m11 (once) and m2 - m11
    (d - 1 times), so tr M^k is exact for symbolic d.  Also returns
    Q = E[ |x|^2 x^T M x ] = m2 (d m4 + d(d-1) m22) + m11 d(d-1)(2 m31 + (d-2) m211),
    where m_{abc} is the joint moment with powers a, b, c on distinct coordinates.

    Returns
    -------
    dict with keys ``trM``, ``trM2``, ``trM3``, ``Q``.

    Examples
    --------
    >>> second_moment_matrix_traces(3, "gaussian(1)")["Q"]
    15
    """
    return _traces(symbolic_integer(d, "d", 1), as_law(law))


def _traces(d: sp.Expr, law: Law) -> dict:
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
    """E[ 1/2 (y_hat - y_q)^2 ] for one GD step from W0 = 0 (the step: von Oswald et al. 2023, eq. 3; the
    closed form: derived here, notes §7.1, checked by Monte Carlo).

    y_hat = (eta/N) sum_i y_i x_i.x_q.  With M = E[x x^T], S = (1/N) sum_i x_i x_i^T,
    tau^2 = task_var and sigma_eps^2 = noise_var (query label noisy too):

    2 Loss = tau^2 [ eta^2 E tr(S^2 M) - 2 eta tr(M^2) + tr(M) ] + sigma_eps^2 [ eta^2 tr(M^2)/N + 1 ],
    E tr(S^2 M) = (1/N) E[|x|^2 x^T M x] + (1 - 1/N) tr(M^3).

    For i.i.d. coordinates of variance s^2 and kurtosis k this is
    1/2 s^2 d [1 - 2 eta s^2 + eta^2 s^4 (N + d - 2 + k)/N] (noiseless, task_var = 1).

    Parameters
    ----------
    eta : step size (number or symbol).
    d, N : input dimension and context length, integers >= 1 (or symbols).
    law : a :class:`theory.laws.Law` (or its spelling) of x_i and x_q.
    noise_var : label-noise variance sigma_eps^2 >= 0.
    task_var : task variance tau^2 > 0 (w ~ N(0, tau^2 I_d)).

    Examples
    --------
    >>> one_step_loss(0, 10, 10, Uniform(sp.Rational(1, 2)))
    5/12
    >>> one_step_loss(sp.Rational(200, 33), 10, 10, "uniform(1/2)")
    245/1188
    """
    return _one_step_loss(symbolic_real(eta, "eta"), *_task_args(d, N, law, noise_var, task_var))


def _one_step_loss(eta, d, N, law, noise_var, task_var) -> sp.Expr:
    t = _traces(d, law)
    trS2M = t["Q"] / N + (1 - sp.Integer(1) / N) * t["trM3"]
    twice = task_var * (eta**2 * trS2M - 2 * eta * t["trM2"] + t["trM"]) + noise_var * (
        eta**2 * t["trM2"] / N + 1
    )
    return sp.simplify(twice / 2)


def optimal_step_size(d, N, law: Law, noise_var=0, task_var=1) -> sp.Expr:
    """The eta minimising :func:`one_step_loss` (the loss is a convex quadratic in eta; derived, notes §7.1).

    eta* = tau^2 tr(M^2) / ( tau^2 E tr(S^2 M) + sigma_eps^2 tr(M^2)/N ).  For i.i.d.
    coordinates of variance s^2 and kurtosis k: eta* = N / (s^2 (N + d - 2 + k) + sigma_eps^2/tau^2),
    which is N/(N + d + 1) for standard Gaussian inputs
    (Zhang, Frei, Bartlett 2024, Thm 4.1) and to N/(N + d + 1 + sigma_eps^2/tau^2) with label
    noise (Mahankali et al. 2024; derived in our notes, Section 8.3).

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> optimal_step_size(10, 10, Gaussian(1))
    10/21
    >>> optimal_step_size(10, 10, "uniform(1/2)")
    200/33
    """
    return _optimal_step_size(*_task_args(d, N, law, noise_var, task_var))


def _optimal_step_size(d, N, law, noise_var, task_var) -> sp.Expr:
    eta = sp.Dummy("eta")
    loss = sp.expand(_one_step_loss(eta, d, N, law, noise_var, task_var))
    a, b = loss.coeff(eta, 2), loss.coeff(eta, 1)
    if a.is_zero:
        raise ArgumentError(f"law must make the one-step loss depend on eta, got {law}")
    return sp.simplify(-b / (2 * a))


def optimal_one_step_loss(d, N, law: Law, noise_var=0, task_var=1) -> sp.Expr:
    """:func:`one_step_loss` at the optimal step size (derived; von Oswald et al. 2023 draw it as the "GD" line
    of Fig. 2).

    For i.i.d. coordinates of variance s^2 and kurtosis k (noiseless, task_var = 1):
    L* = 1/2 s^2 d (d - 2 + k) / (N + d - 2 + k); 245/1188 = 0.2062 for U(-1/2, 1/2), d = N = 10.

    Examples
    --------
    >>> optimal_one_step_loss(10, 10, "gaussian(1)")
    55/21
    """
    args = _task_args(d, N, law, noise_var, task_var)
    return sp.simplify(_one_step_loss(_optimal_step_size(*args), *args))


def zero_predictor_loss(d, law: Law, noise_var=0, task_var=1) -> sp.Expr:
    """E[ 1/2 y_q^2 ] = 1/2 (tau^2 tr E[x x^T] + sigma_eps^2): the loss of y_hat = 0.

    The start of every training curve (von Oswald et al. 2023, Fig. 2: 1/2 s^2 d = 5/12 for
    U(-1/2, 1/2), d = 10); equal to :func:`one_step_loss` at eta = 0.

    Examples
    --------
    >>> zero_predictor_loss(10, "uniform(1/2)")
    5/12
    """
    law = as_law(law)
    d = symbolic_integer(d, "d", 1)
    noise_var = symbolic_nonnegative(noise_var, "noise_var")
    task_var = symbolic_positive(task_var, "task_var")
    trM = _traces(d, law)["trM"]
    return sp.simplify((task_var * trM + noise_var) / 2)


def zfb_preconditioner(Lambda, N) -> sp.Matrix:
    """Gamma^{-1} with Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I (the form of Zhang, Frei, Bartlett 2024,
    Thm 4.1, a follow-up paper; derived and checked here for non-diagonal Lambda).

    The trained one-layer linear transformer on x ~ N(0, Lambda), w ~ N(0, I) predicts
    y_hat = x_q^T Gamma^{-1} (1/N) sum_i y_i x_i.  Derivation: E[S^2] = Gamma Lambda for Gaussian
    x, so the loss tr(Lambda (G S - I)(G S - I)^T) is minimised by G = Gamma^{-1}.

    Examples
    --------
    >>> zfb_preconditioner(sp.eye(2), 4)
    Matrix([
    [4/7,   0],
    [  0, 4/7]])
    """
    Lambda = sp.Matrix(Lambda)
    if Lambda.rows != Lambda.cols or Lambda.rows < 1:
        raise ArgumentError(f"Lambda must be a square matrix, got shape {Lambda.shape}")
    if Lambda != Lambda.T:
        raise ArgumentError(f"Lambda must be symmetric, got {Lambda.tolist()}")
    if Lambda.is_positive_definite is False:
        raise ArgumentError(f"Lambda must be positive definite, got {Lambda.tolist()}")
    N = symbolic_integer(N, "N", 1)
    d = Lambda.rows
    Gamma = (1 + sp.Integer(1) / N) * Lambda + Lambda.trace() / N * sp.eye(d)
    return sp.simplify(Gamma.inv())
