"""The reduced model of Nichani, Damian, Lee 2024 and its first-layer gradient at initialisation, per
sequence (sympy).

Reduced model (notes Section 2.2), T positions 0..T-1, the last one the query s_T:

    sigma1[i, j] = softmax_{j <= i}(A1[i, j]),     v_i = sum_{j <= i} sigma1[i, j] e_{s_j},
    z_i = e_{s_T}^T A2 v_i,    sigma2 = softmax_i(z),    f = sum_i sigma2_i e_{s_i},
    L = -sum_y pi(y | s_T) log f_y.

Differentiating at A1 = 0, A2 = beta0 I and expanding in beta0 gives (0-based i, i + 1 visible
positions) dL/dA1[i, j] = -(beta0 / (T (i+1))) c_i d_ij + O(beta0^2) with
c_i = pi(s_i | s_T) / f_hat(s_i) - 1 (f_hat the empirical unigram of all T tokens) and
d_ij = 1{s_j = s_T} - (1/(i+1)) sum_{k <= i} 1{s_k = s_T}.  With f_hat replaced by mu (T large),
S E[c_i d_ij] = I~_{j,i} - (1/(i+1)) sum_{k <= i} I~_{k,i} exactly for context rows
(the expectation over sequences is :mod:`theory.causal.gradient`).
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError

__all__ = [
    "reduced_model_scores",
    "reduced_model_output",
    "reduced_model_loss",
    "a1_gradient",
    "first_order_gradient_terms",
    "indicator_gradient_formula",
]


def _tokens(tokens, S=None) -> tuple[int, ...]:
    if isinstance(tokens, str) or not hasattr(tokens, "__iter__"):
        raise ArgumentError(f"tokens must be a sequence of ints, got {tokens!r}")
    out = tuple(int(sp.sympify(t)) for t in tokens)
    if len(out) < 2:
        raise ArgumentError(f"tokens must hold at least 2 tokens (context and query), got {len(out)}")
    if any(t < 0 or (S is not None and t >= S) for t in out):
        raise ArgumentError(f"tokens must lie in 0..{'S-1' if S is None else S - 1}, got {out}")
    return out


def _target(target) -> sp.Matrix:
    q = sp.Matrix(target).reshape(len(sp.Matrix(target)), 1)
    if q.rows < 2:
        raise ArgumentError(f"target must be a distribution on S >= 2 tokens, got {q.rows} entries")
    total = sp.simplify(sum(q))
    if total.is_number and total != 1:
        raise ArgumentError(f"target must sum to 1, got {total}")
    return q


def _A2(A2, S: int) -> sp.Matrix:
    if isinstance(A2, sp.MatrixBase) or (hasattr(A2, "__len__") and not isinstance(A2, str)):
        M = sp.Matrix(A2)
        if M.shape != (S, S):
            raise ArgumentError(f"A2 must be {S} x {S} or a scalar beta (A2 = beta I), got {M.shape}")
        return M
    return sp.sympify(A2) * sp.eye(S)


# --------------------------------------------------------------------------- the model
def reduced_model_scores(tokens, A1, A2) -> sp.Matrix:
    """Layer-2 scores z_i = e_{s_T}^T A2 v_i (T x 1), v_i = sum_{j <= i} softmax_j(A1[i, j]) e_{s_j}.

    ``A1`` is T x T (only j <= i is used), ``A2`` an S x S matrix or a scalar beta (A2 = beta I);
    S is read from A2 when it is a matrix, else from the tokens (max + 1).
    """
    S = sp.Matrix(A2).rows if isinstance(A2, sp.MatrixBase) else max(_tokens(tokens)) + 1
    tokens = _tokens(tokens, S)
    T = len(tokens)
    A1, A2 = sp.Matrix(A1), _A2(A2, S)
    if A1.shape != (T, T):
        raise ArgumentError(f"A1 must be {T} x {T}, got {A1.shape}")
    e = [sp.eye(S).col(s) for s in range(S)]
    query = e[tokens[-1]].T * A2  # (1, S)
    z = []
    for i in range(T):
        weights = [sp.exp(A1[i, j]) for j in range(i + 1)]
        v = sum((w * e[tokens[j]] for j, w in enumerate(weights)), sp.zeros(S, 1)) / sum(weights)  # (S, 1)
        z.append((query * v)[0, 0])
    return sp.Matrix(z)


def reduced_model_output(tokens, A1, A2) -> sp.Matrix:
    """The reduced model's output f = sum_i softmax_i(z)_i e_{s_i} (S x 1): a probability vector.

    Arguments as in :func:`reduced_model_scores`.
    """
    S = sp.Matrix(A2).rows if isinstance(A2, sp.MatrixBase) else max(_tokens(tokens)) + 1
    tokens = _tokens(tokens, S)
    z = reduced_model_scores(tokens, A1, A2)
    weights = [sp.exp(zi) for zi in z]
    e = [sp.eye(S).col(s) for s in range(S)]
    return sum((w * e[tokens[i]] for i, w in enumerate(weights)), sp.zeros(S, 1)) / sum(weights)


def _epsilon(epsilon) -> sp.Expr:
    eps = sp.nsimplify(epsilon, rational=True) if isinstance(epsilon, float) else sp.sympify(epsilon)
    if eps.is_number and not (eps == 0 or 0 < eps < 1):
        raise ArgumentError(f"epsilon must be 0 or in (0, 1), got {epsilon}")
    return eps


def reduced_model_loss(tokens, target, A1, A2, epsilon=0) -> sp.Expr:
    """L = -sum_y target_y log(f_y + epsilon) for one sequence (expected cross-entropy over y ~ target).

    With ``epsilon = 0`` a label y that occurs nowhere in the sequence has f_y = 0 for every
    parameter value: its term is the constant +infinity and is left out (it carries no gradient);
    ``epsilon`` in (0, 1) is the smoothed loss used to train the reduced model.
    """
    q = _target(target)
    eps = _epsilon(epsilon)
    tokens = _tokens(tokens, q.rows)
    f = reduced_model_output(tokens, A1, _A2(A2, q.rows))
    present = set(tokens)
    return -sum(q[y] * sp.log(f[y] + eps) for y in range(q.rows) if q[y] != 0 and (eps != 0 or y in present))


def _x(T: int) -> sp.Matrix:
    return sp.Matrix(T, T, lambda i, j: sp.Symbol(f"x_{i}_{j}") if j <= i else 0)


def a1_gradient(tokens, target, A1, A2, epsilon=0) -> sp.Matrix:
    """dL/dA1 (T x T, zero above the diagonal) at the given A1, A2, by sympy differentiation."""
    tokens = _tokens(tokens, sp.Matrix(target).rows)
    T = len(tokens)
    A1 = sp.Matrix(A1)
    if A1.shape != (T, T):
        raise ArgumentError(f"A1 must be {T} x {T}, got {A1.shape}")
    x = _x(T)
    L = reduced_model_loss(tokens, target, x, A2, epsilon)
    at = {x[i, j]: A1[i, j] for i in range(T) for j in range(i + 1)}
    return sp.Matrix(T, T, lambda i, j: sp.simplify(sp.diff(L, x[i, j]).subs(at)) if j <= i else 0)


def first_order_gradient_terms(tokens, target, epsilon=0) -> sp.Matrix:
    """lim_{beta0 -> 0} (dL/dA1[i, j]) / beta0 at A1 = 0, A2 = beta0 I, by differentiation.

    Nichani, Damian, Lee 2024 (first-layer gradient at initialisation): the mixed derivative
    d^2 L / (d beta0 d A1[i, j]) at (0, 0) of the reduced model's loss (the gradient itself is 0
    at beta0 = 0).  Equals :func:`indicator_gradient_formula`.

    Examples
    --------
    >>> half = sp.Rational(1, 2)
    >>> first_order_gradient_terms((0, 1, 0), (half, half))[1, 0]  # c_1 = 1/2, d_10 = 1/2
    -1/24
    """
    beta = sp.Symbol("beta0")
    tokens = _tokens(tokens, sp.Matrix(target).rows)
    T = len(tokens)
    x = _x(T)
    # differentiate in beta0 first (the order does not matter): a much smaller expression
    slope = sp.diff(reduced_model_loss(tokens, target, x, beta, epsilon), beta).subs(beta, 0)
    zero = {x[i, j]: 0 for i in range(T) for j in range(i + 1)}
    return sp.Matrix(T, T, lambda i, j: sp.simplify(sp.diff(slope, x[i, j]).subs(zero))
                     if j <= i else sp.Integer(0))


def indicator_gradient_formula(tokens, target, epsilon=0) -> sp.Matrix:
    """-(1/(T (i+1))) c_i d_ij (0-based i; zero above the diagonal): the notes' Section 4.2 form.

    c_i = target(s_i) / (f_hat(s_i) + eps) - sum_y target(y) f_hat(y) / (f_hat(y) + eps),
    f_hat(s) = #{k : s_k = s}/T over all T tokens; d_ij = 1{s_j = s_T} - (1/(i+1)) sum_{k <= i}
    1{s_k = s_T}.  With eps = 0 the subtracted sum is the target mass of the tokens present in
    the sequence: it is the notes' "- 1" only when every label with target(y) > 0 occurs.
    """
    q = _target(target)
    eps = _epsilon(epsilon)
    tokens = _tokens(tokens, q.rows)
    T, sq = len(tokens), tokens[-1]
    f_hat = [sp.Rational(tokens.count(s), T) for s in range(q.rows)]
    mass = sum(q[y] * f_hat[y] / (f_hat[y] + eps) for y in range(q.rows) if f_hat[y] != 0)
    c = [q[s] / (f_hat[s] + eps) - mass for s in tokens]
    m = [sp.Integer(int(s == sq)) for s in tokens]

    def entry(i, j):
        if j > i:
            return sp.Integer(0)
        d = m[j] - sum(m[: i + 1]) / sp.Integer(i + 1)
        return -c[i] * d / (T * (i + 1))

    return sp.Matrix(T, T, entry)
