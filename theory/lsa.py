"""von Oswald et al. 2023 and the one-layer fixed points that follow it (sympy only).

Task: w ~ N(0, task_var I_d); x_i, x_q i.i.d. from ``law``; y = w.x + eps with
eps ~ N(0, noise_var) for context and query alike.  One GD step from W0 = 0 with
step size eta on L(W) = 1/(2N) sum_i (W x_i - y_i)^2 predicts
y_hat = (eta/N) sum_i y_i x_i.x_q.
"""
from __future__ import annotations

import sympy as sp

from theory.laws import Law, Uniform, as_law
from theory.lsa_constructions import (
    copy_attention_weights,
    copy_construction,
    copy_layer_residual,
    copy_tokens,
    gd_construction,
    gd_step,
    gdpp_construction,
    gdpp_hessian_residual,
    gdpp_residual,
    k_layer_gd_residual,
    kernel_smoother_residual,
    lsa_gd_residual,
    lsa_layer,
    mlp_lsa_residual,
    regression_tokens,
    rescaling_residual,
    softmax_attention_layer,
)

__all__ = [
    # one-step GD losses and the one-layer fixed points
    "second_moment_matrix_traces",
    "one_step_loss",
    "optimal_step_size",
    "optimal_one_step_loss",
    "zero_predictor_loss",
    "zfb_preconditioner",
    "ood_input_scale_loss",
    "ood_task_scale_loss",
    "input_range_erratum",
    "gdpp_eigenvalue_map",
    "gdpp_eigenvalue_facts",
    # token constructions (theory.lsa_constructions)
    "lsa_layer",
    "softmax_attention_layer",
    "regression_tokens",
    "gd_step",
    "gd_construction",
    "gdpp_construction",
    "lsa_gd_residual",
    "k_layer_gd_residual",
    "gdpp_residual",
    "gdpp_hessian_residual",
    "rescaling_residual",
    "mlp_lsa_residual",
    "kernel_smoother_residual",
    "copy_construction",
    "copy_tokens",
    "copy_attention_weights",
    "copy_layer_residual",
]


# ----------------------------------------------------------------------------- argument checks
def _positive_int(value, name: str) -> sp.Expr:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    expr = sp.sympify(value)
    if expr.is_number and (not expr.is_integer or expr < 1):
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return expr


def _nonnegative(value, name: str) -> sp.Expr:
    expr = sp.sympify(value)
    if expr.is_real is False or expr.is_negative:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return expr


def _positive(value, name: str) -> sp.Expr:
    expr = sp.sympify(value)
    if expr.is_real is False or expr.is_positive is False:
        raise ValueError(f"{name} must be > 0, got {value}")
    return expr


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
    law = as_law(law)
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
    law = as_law(law)
    d = _positive_int(d, "d")
    N = _positive_int(N, "N")
    noise_var = _nonnegative(noise_var, "noise_var")
    task_var = _positive(task_var, "task_var")
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
    eta = sp.Dummy("eta")
    loss = sp.expand(one_step_loss(eta, d, N, law, noise_var, task_var))
    a, b = loss.coeff(eta, 2), loss.coeff(eta, 1)
    if a.is_zero:
        raise ValueError(f"law must make the one-step loss depend on eta, got {law}")
    return sp.simplify(-b / (2 * a))


def optimal_one_step_loss(d, N, law: Law, noise_var=0, task_var=1) -> sp.Expr:
    """:func:`one_step_loss` at the optimal step size (von Oswald et al. 2023, the "GD" line of Fig. 2).

    For i.i.d. coordinates of variance s^2 and kurtosis k (noiseless, task_var = 1):
    L* = 1/2 s^2 d (d - 2 + k) / (N + d - 2 + k); 245/1188 = 0.2062 for U(-1/2, 1/2), d = N = 10.

    Examples
    --------
    >>> optimal_one_step_loss(10, 10, "gaussian(1)")
    55/21
    """
    eta = optimal_step_size(d, N, law, noise_var, task_var)
    return sp.simplify(one_step_loss(eta, d, N, law, noise_var, task_var))


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
    d = _positive_int(d, "d")
    noise_var = _nonnegative(noise_var, "noise_var")
    task_var = _positive(task_var, "task_var")
    trM = second_moment_matrix_traces(d, law)["trM"]
    return sp.simplify((task_var * trM + noise_var) / 2)


def zfb_preconditioner(Lambda, N) -> sp.Matrix:
    """Gamma^{-1} with Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I (Zhang, Frei, Bartlett 2024, Thm 4.1).

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
        raise ValueError(f"Lambda must be a square matrix, got shape {Lambda.shape}")
    if Lambda != Lambda.T:
        raise ValueError(f"Lambda must be symmetric, got {Lambda.tolist()}")
    if Lambda.is_positive_definite is False:
        raise ValueError(f"Lambda must be positive definite, got {Lambda.tolist()}")
    N = _positive_int(N, "N")
    d = Lambda.rows
    Gamma = (1 + sp.Integer(1) / N) * Lambda + Lambda.trace() / N * sp.eye(d)
    return sp.simplify(Gamma.inv())


# ----------------------------------------------------------------------------- out of distribution
_TRAIN_LAW = Uniform(sp.Rational(1, 2))  # the code's U(-1/2, 1/2) (input_range = 1)


def ood_input_scale_loss(alpha, d, N, eta=None) -> sp.Expr:
    """One-step GD loss on inputs U(-alpha/2, alpha/2) (von Oswald et al. 2023, Fig. 2d / 6).

    ``alpha`` is the FULL width of the interval (the code's ``input_range``; the paper's axis
    label "U(-alpha, alpha)" is an erratum).  ``eta`` defaults to the optimal step size at the
    training width alpha = 1.  With s^2 = alpha^2/12 and k = 9/5:
    Loss = 1/2 s^2 d [1 - 2 eta s^2 + eta^2 s^4 (N + d - 1/5)/N]; for d = N = 10 this is
    0.0812, 0.2062, 1.204, 8.401 at alpha = 1/2, 1, 3/2, 2.

    Examples
    --------
    >>> ood_input_scale_loss(1, 10, 10)
    245/1188
    """
    alpha = _positive(alpha, "alpha")
    if eta is None:
        eta = optimal_step_size(d, N, _TRAIN_LAW)
    return one_step_loss(eta, d, N, Uniform(alpha / 2))


def ood_task_scale_loss(alpha, d, N, eta=None, law=_TRAIN_LAW) -> sp.Expr:
    """One-step GD loss when the task is scaled, w -> alpha w (von Oswald et al. 2023, Fig. 6).

    Prediction and target are both linear in w, so the loss is alpha^2 times the training loss;
    computed here as the loss with task variance alpha^2.  ``eta`` defaults to the optimal step
    size of ``law`` (default U(-1/2, 1/2)) with unit task variance.

    Examples
    --------
    >>> ood_task_scale_loss(2, 10, 10)
    245/297
    """
    alpha = _positive(alpha, "alpha")
    law = as_law(law)
    if eta is None:
        eta = optimal_step_size(d, N, law)
    return one_step_loss(eta, d, N, law, task_var=alpha**2)


def input_range_erratum(d=10, N=10) -> dict:
    """Optimal one-step GD loss under the paper's U(-1, 1) and the code's U(-1/2, 1/2).

    von Oswald et al. 2023 state x ~ U(-1, 1); their code draws U(-1/2, 1/2).  Their "GD loss of
    0.2" matches the code: for d = N = 10 the closed form gives 245/1188 = 0.2062 (code) versus
    245/297 = 0.8249 (paper's statement), a factor 4 = (ratio of variances).

    Returns
    -------
    dict with keys ``paper_uniform(1)`` and ``code_uniform(1/2)``.

    Examples
    --------
    >>> input_range_erratum()
    {'paper_uniform(1)': 245/297, 'code_uniform(1/2)': 245/1188}
    """
    return {"paper_uniform(1)": optimal_one_step_loss(d, N, Uniform(1)),
            "code_uniform(1/2)": optimal_one_step_loss(d, N, _TRAIN_LAW)}


# ----------------------------------------------------------------------------- GD++ spectrum
def gdpp_eigenvalue_map(lam, gamma) -> sp.Expr:
    """f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (von Oswald et al. 2023, eq. 25).

    GD++ maps the Hessian H = X X^T to (I - gamma H) H (I - gamma H), so each eigenvalue lam of
    H becomes f(lam) = lam (1 - gamma lam)^2 (see ``gdpp_hessian_residual``).

    Examples
    --------
    >>> gdpp_eigenvalue_map(2, sp.Rational(1, 4))
    1/2
    """
    lam, gamma = sp.sympify(lam), sp.sympify(gamma)
    return lam - 2 * gamma * lam**2 + gamma**2 * lam**3


def gdpp_eigenvalue_facts(gamma) -> dict:
    """Roots, local maximum and local minimum of the GD++ eigenvalue map, gamma > 0.

    Solved from f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (von Oswald et al. 2023, Sec. 3):
    roots 0 and 1/gamma (double), f' = 0 at 1/(3 gamma) (f'' = -2 gamma < 0: the maximum,
    f = 4/(27 gamma)) and at 1/gamma (the minimum, f = 0).

    Returns
    -------
    dict with keys ``roots`` (sorted list), ``argmax``, ``max``, ``argmin``, ``min``.

    Examples
    --------
    >>> gdpp_eigenvalue_facts(1)["max"]
    4/27
    """
    gamma = _positive(gamma, "gamma")
    g = sp.Dummy("gamma", positive=True)
    lam = sp.Dummy("lam", real=True)
    f = gdpp_eigenvalue_map(lam, g)
    roots = sorted(set(sp.solve(f, lam)), key=lambda r: r.subs(g, 1))
    critical = sp.solve(sp.diff(f, lam), lam)
    second = sp.diff(f, lam, 2)
    (argmax,) = [c for c in critical if sp.simplify(second.subs(lam, c)).is_negative]
    (argmin,) = [c for c in critical if sp.simplify(second.subs(lam, c)).is_positive]
    facts = {"roots": roots, "argmax": argmax, "max": sp.simplify(f.subs(lam, argmax)),
             "argmin": argmin, "min": sp.simplify(f.subs(lam, argmin))}
    sub = {g: gamma}
    return {k: [r.subs(sub) for r in v] if isinstance(v, list) else sp.simplify(v.subs(sub))
            for k, v in facts.items()}
