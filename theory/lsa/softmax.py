"""Softmax attention to first order in the logit scale: two heads make linear attention (von Oswald et al. 2023, A.9).

The paper's argument (Appendix A.9, eq. 14-21; the notes §1.7) [paper]: for small logits,
softmax_i(k_i^T q) ~ (1 + k_i^T q) / sum_k (1 + k_k^T q), i.e. linear attention up to an additive
offset, and two heads with key-query maps W_1, W_2 cancel the offsets, so that their difference acts
as linear attention with W_1 - W_2.  We only have the notes' summary of eq. 14-21, not their exact
form, so the paper's statement is marked ``reconstructed`` where a check cites it.

What is derived and checked here exactly [derived].  Context tokens e_1..e_N, a query e_q, logits
l_i = e_i^T W e_q, logit scale s, values v_i = V e_i; u_i = l_i - mean_k l_k, m2 = mean_k u_k^2:

* softmax_i(s l) = (1/N) (1 + s u_i + s^2/2 (u_i^2 - m2)) + O(s^3)   (:func:`softmax_weights_series`);
* one head:  sum_i softmax_i(s l) v_i = V e_bar + (s/N) sum_i u_i v_i + O(s^2), e_bar = mean_i e_i: the
  zeroth-order term V e_bar is the offset that does not depend on the query (one head cannot drop it
  without a vanishing value map);
* two heads (W_1, V) and (W_2, -V): the offsets cancel exactly, and
      head_1 + head_2 = (s/N) sum_i ((e_i - e_bar)^T (W_1 - W_2) e_q) V e_i + O(s^2)
                      = s [LSA(W_1 - W_2, V/N) - (e_bar^T (W_1 - W_2) e_q) V e_bar] + O(s^2),
  linear attention with W_1 - W_2 *on mean-centred keys*: the term s (e_bar^T dW e_q) V e_bar survives
  at first order (:func:`two_head_first_order`); it vanishes when the context mean e_bar is 0;
* the O(s^2) remainder's leading coefficient is (s^2 / 2N) sum_i [(u1_i^2 - m2_1) - (u2_i^2 - m2_2)] v_i
  (:func:`two_head_second_order`).

With the GD weights dW = diag(I_d, 0) and V = -(eta/s) e_y e_y^T the first-order limit predicts
y_hat = (eta/N) sum_i (y_i - y_bar) (x_i - x_bar)^T x_q: one GD step on the mean-centred context
(:func:`centred_gd_prediction`), the same as plain GD when the context is centred.
"""
from __future__ import annotations

import sympy as sp

from theory.args import sizes

__all__ = [
    "softmax_weights",
    "softmax_weights_series",
    "softmax_head",
    "two_head_first_order",
    "two_head_second_order",
    "two_head_residual",
    "one_head_offset",
    "centred_gd_prediction",
    "two_head_gd_limit",
    "softmax_tokens",
    "centred_one_step_loss",
    "optimal_centred_step_size",
    "optimal_centred_one_step_loss",
]


def softmax_tokens(d, N) -> tuple[sp.Matrix, sp.Matrix]:
    """Symbolic context tokens (D, N) with columns e_i = (x_i, y_i) and the query (x_q, 0), D = d + 1."""
    d, N = sizes(d=d, N=N)
    E = sp.Matrix(d + 1, N, lambda k, i: sp.Symbol(f"x_{i + 1}_{k + 1}") if k < d else sp.Symbol(f"y_{i + 1}"))
    q = sp.Matrix(d + 1, 1, lambda k, _: sp.Symbol(f"xq_{k + 1}") if k < d else sp.Integer(0))
    return E, q


def softmax_weights(logits, s) -> sp.Matrix:
    """Exact softmax weights exp(s l_i) / sum_k exp(s l_k) of a column of logits (N, 1)."""
    l = sp.Matrix(logits)
    e = l.applyfunc(lambda v: sp.exp(sp.sympify(s) * v))
    return e / sum(e)


def softmax_weights_series(logits, s, order: int = 2) -> sp.Matrix:
    """The Taylor polynomial in s of the softmax weights, [derived]:

    softmax_i(s l) = (1/N) (1 + s u_i + s^2/2 (u_i^2 - m2)) + O(s^3), u_i = l_i - mean l, m2 = mean u^2.

    ``order`` 0, 1 or 2 keeps the terms up to s^order.
    """
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
    l = sp.Matrix(logits)
    N = l.rows
    u = l - sp.ones(N, 1) * (sum(l) / N)
    m2 = sum(v ** 2 for v in u) / N
    s = sp.sympify(s)
    terms = [sp.ones(N, 1), s * u, s ** 2 / 2 * (u.applyfunc(lambda v: v ** 2) - m2 * sp.ones(N, 1))]
    return sum(terms[1:order + 1], terms[0]) / N


def softmax_head(E, q, W, V, s) -> sp.Matrix:
    """One softmax head's update of the query, exact: sum_i softmax_i(s e_i^T W e_q) V e_i, shape (D, 1).

    E (D, N) context tokens as columns, q (D, 1) the query, W the key-query bilinear form W_K^T W_Q,
    V the value map P W_V, s the logit scale (the paper's 1/sqrt(key_size) folded in).
    """
    E, q, W, V = (sp.Matrix(a) for a in (E, q, W, V))
    logits = E.T * W * q  # (N, 1)
    return (V * E) * softmax_weights(logits, s)


def one_head_offset(E, V) -> sp.Matrix:
    """The zeroth-order term of one head, V e_bar (independent of the query and of W) [derived]."""
    E, V = sp.Matrix(E), sp.Matrix(V)
    return V * E * sp.ones(E.cols, 1) / E.cols


def two_head_first_order(E, q, W1, W2, V, s) -> sp.Matrix:
    """The first-order form of heads (W1, V) + (W2, -V) [derived]:
    (s/N) sum_i ((e_i - e_bar)^T (W1 - W2) e_q) V e_i, linear attention on mean-centred keys."""
    E, q, W1, W2, V = (sp.Matrix(a) for a in (E, q, W1, W2, V))
    N = E.cols
    ebar = E * sp.ones(N, 1) / N
    centred = E - ebar * sp.ones(1, N)
    return sp.sympify(s) / N * (V * E) * (centred.T * (W1 - W2) * q)


def two_head_second_order(E, q, W1, W2, V, s) -> sp.Matrix:
    """The s^2 term of heads (W1, V) + (W2, -V) [derived]:
    (s^2 / 2N) sum_i [(u1_i^2 - m2_1) - (u2_i^2 - m2_2)] V e_i, u_h = centred logits of head h."""
    E, q, W1, W2, V = (sp.Matrix(a) for a in (E, q, W1, W2, V))
    s = sp.sympify(s)
    a1 = softmax_weights_series(E.T * W1 * q, s, 2) - softmax_weights_series(E.T * W1 * q, s, 1)
    a2 = softmax_weights_series(E.T * W2 * q, s, 2) - softmax_weights_series(E.T * W2 * q, s, 1)
    return (V * E) * (a1 - a2)


def two_head_residual(E, q, W1, W2, V, s, order: int = 1) -> sp.Matrix:
    """Coefficients of s^0..s^order of [heads (W1, V) + (W2, -V)] minus the derived series up to that order.

    Every entry is zero exactly when the series of :func:`two_head_first_order` (``order`` = 1) and
    :func:`two_head_second_order` (``order`` = 2) is right: computed by differentiating the exact
    softmax heads in s at s = 0 (no truncated exponentials), so it is an independent route.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    t = sp.Symbol("t")
    exact = softmax_head(E, q, W1, V, t) + softmax_head(E, q, W2, -sp.Matrix(V), t)
    series = two_head_first_order(E, q, W1, W2, V, t)
    if order == 2:
        series = series + two_head_second_order(E, q, W1, W2, V, t)
    out = []
    for k in range(order + 1):
        coeff = (exact - series).applyfunc(lambda v: sp.diff(v, t, k).subs(t, 0) / sp.factorial(k))
        out.append(coeff.applyfunc(sp.expand))
    return sp.Matrix.vstack(*out)


def centred_gd_prediction(d, N, eta) -> sp.Expr:
    """The first-order limit of the two-head GD construction, symbolic [derived]:
    y_hat = (eta/N) sum_i (y_i - y_bar) (x_i - x_bar)^T x_q (one GD step on the mean-centred context)."""
    E, q = softmax_tokens(d, N)
    X, y, xq = E[:-1, :], E[-1, :], q[:-1, 0]
    xbar = X * sp.ones(N, 1) / N
    ybar = sum(y) / N
    return sp.expand(sp.sympify(eta) / N * sum(((y[i] - ybar) * ((X[:, i] - xbar).T * xq)[0, 0] for i in range(N)),
                                               sp.Integer(0)))


def two_head_gd_limit(d, N, eta, offdiag=None) -> sp.Expr:
    """The prediction of two softmax heads built from GD, in the limit s -> 0, from the exact heads [derived].

    Heads W_1 = s (G/2 + O), W_2 = s (-G/2 + O) with G = diag(I_d, 0) and a common part O (default a
    symbolic (D, D) matrix: the off-diagonal terms the two heads share, Fig 11), values +-V with
    V = -(eta/s) e_y e_y^T; the prediction -[head_1 + head_2]_y.  The s^0 terms cancel, so the limit is
    eta times the s-derivative at 0 of [head_1 + head_2]_y with V_0 = e_y e_y^T; it equals
    :func:`centred_gd_prediction` (checked exactly in the tests and the check table).
    """
    d, N = sizes(d=d, N=N)
    D = d + 1
    E, q = softmax_tokens(d, N)
    G = sp.diag(*([1] * d + [0]))
    O = sp.Matrix(D, D, lambda a, b: sp.Symbol(f"o_{a + 1}_{b + 1}")) if offdiag is None else sp.Matrix(offdiag)
    V0 = sp.zeros(D, D)
    V0[d, d] = 1
    t = sp.Symbol("t")
    heads = softmax_head(E, q, G / 2 + O, V0, t) + softmax_head(E, q, -G / 2 + O, -V0, t)
    return sp.expand(sp.sympify(eta) * sp.diff(heads[d, 0], t).subs(t, 0))


# ----------------------------------------------------------------------------- the centred step's loss
def _iid_moments(law) -> tuple[sp.Expr, sp.Expr]:
    from theory.laws import Gaussian, Rademacher, Uniform, as_law

    law = as_law(law)
    if not isinstance(law, (Gaussian, Uniform, Rademacher)):
        raise ValueError(f"law must have i.i.d. coordinates (gaussian, uniform or rademacher), got {law!r}")
    return law.moment((2,), 1), law.moment((4,), 1)


def centred_one_step_loss(eta, d, N, law) -> sp.Expr:
    """E[1/2 (y_hat - y_q)^2] of one GD step on the mean-centred context (:func:`centred_gd_prediction`) [derived].

    Noiseless tasks, w ~ N(0, I_d), coordinates of x i.i.d. with variance s2 and fourth moment m4.  With
    S_c = (1/N) sum_i (x_i - x_bar)(x_i - x_bar)^T the prediction is w^T (eta S_c) x_q, so
    2 Loss = s2 [eta^2 E tr S_c^2 - 2 eta E tr S_c + d], E tr S_c = d s2 (N - 1)/N and
    E tr S_c^2 = (1/N^2) [d E|C z|^4 + d (d - 1) s2^2 (N - 1)], C = I - 11^T/N, z one coordinate's N values:
    E|C z|^4 = (m4 - 3 s2^2)(N - 1)^2/N + s2^2 ((N - 1)^2 + 2 (N - 1)).  This is the loss floor of two softmax
    heads in the small-logit limit (A.9): above one_step_loss's optimum for every N (one sample's worth of the
    context is spent on the mean).

    Examples
    --------
    >>> optimal_centred_one_step_loss(10, 10, "uniform(1/2)")
    310/1419
    """
    d, N = sizes(d=d, N=N)
    s2, m4 = _iid_moments(law)
    eta = sp.sympify(eta)
    tr_S = d * s2 * sp.Rational(N - 1, N)
    a4 = (m4 - 3 * s2 ** 2) * sp.Rational((N - 1) ** 2, N) + s2 ** 2 * ((N - 1) ** 2 + 2 * (N - 1))
    tr_S2 = (d * a4 + d * (d - 1) * s2 ** 2 * (N - 1)) / N ** 2
    return sp.nsimplify(s2 / 2) * (eta ** 2 * tr_S2 - 2 * eta * tr_S + d)


def optimal_centred_step_size(d, N, law) -> sp.Expr:
    """The eta minimising :func:`centred_one_step_loss` (exact) [derived]."""
    eta = sp.Symbol("eta")
    return sp.solve(sp.diff(centred_one_step_loss(eta, d, N, law), eta), eta)[0]


def optimal_centred_one_step_loss(d, N, law) -> sp.Expr:
    """:func:`centred_one_step_loss` at :func:`optimal_centred_step_size` (exact) [derived]."""
    return sp.nsimplify(centred_one_step_loss(optimal_centred_step_size(d, N, law), d, N, law))
