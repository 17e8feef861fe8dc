"""The reduced model of Nichani, Damian, Lee 2024 and its first-layer gradient at initialisation (sympy).

Reduced model (notes Section 2.2), T positions 0..T-1, the last one the query s_T:

    sigma1[i, j] = softmax_{j <= i}(A1[i, j]),     v_i = sum_{j <= i} sigma1[i, j] e_{s_j},
    z_i = e_{s_T}^T A2 v_i,    sigma2 = softmax_i(z),    f = sum_i sigma2_i e_{s_i},
    L = -sum_y pi(y | s_T) log f_y.

Differentiating at A1 = 0, A2 = beta0 I and expanding in beta0 gives (0-based i, i + 1 visible
positions) dL/dA1[i, j] = -(beta0 / (T (i+1))) c_i d_ij + O(beta0^2) with
c_i = pi(s_i | s_T) / f_hat(s_i) - 1 (f_hat the empirical unigram of all T tokens) and
d_ij = 1{s_j = s_T} - (1/(i+1)) sum_{k <= i} 1{s_k = s_T}.  With f_hat replaced by mu (T large),
S E[c_i d_ij] = I~_{j,i} - (1/(i+1)) sum_{k <= i} I~_{k,i} exactly for context rows.
"""
from __future__ import annotations

import itertools

import sympy as sp

__all__ = [
    "reduced_model_scores",
    "reduced_model_output",
    "reduced_model_loss",
    "a1_gradient",
    "first_order_gradient_terms",
    "indicator_gradient_formula",
    "exact_stationary_distribution",
    "information_given_pi",
    "expected_first_order_gradient",
    "large_T_gradient",
]

_MAX_SEQUENCES = 20000


def _tokens(tokens, S=None) -> tuple[int, ...]:
    if isinstance(tokens, str) or not hasattr(tokens, "__iter__"):
        raise ValueError(f"tokens must be a sequence of ints, got {tokens!r}")
    out = tuple(int(sp.sympify(t)) for t in tokens)
    if len(out) < 2:
        raise ValueError(f"tokens must hold at least 2 tokens (context and query), got {len(out)}")
    if any(t < 0 or (S is not None and t >= S) for t in out):
        raise ValueError(f"tokens must lie in 0..{'S-1' if S is None else S - 1}, got {out}")
    return out


def _target(target) -> sp.Matrix:
    q = sp.Matrix(target).reshape(len(sp.Matrix(target)), 1)
    if q.rows < 2:
        raise ValueError(f"target must be a distribution on S >= 2 tokens, got {q.rows} entries")
    total = sp.simplify(sum(q))
    if total.is_number and total != 1:
        raise ValueError(f"target must sum to 1, got {total}")
    return q


def _A2(A2, S: int) -> sp.Matrix:
    if isinstance(A2, sp.MatrixBase) or (hasattr(A2, "__len__") and not isinstance(A2, str)):
        M = sp.Matrix(A2)
        if M.shape != (S, S):
            raise ValueError(f"A2 must be {S} x {S} or a scalar beta (A2 = beta I), got {M.shape}")
        return M
    return sp.sympify(A2) * sp.eye(S)


def _parents(parents) -> tuple[int, ...]:
    if isinstance(parents, str) or not hasattr(parents, "__iter__"):
        raise ValueError(f"parents must be a sequence of ints in 0..i-1 or -1, got {parents!r}")
    out = []
    for i, p in enumerate(parents):
        expr = sp.sympify(p) if not hasattr(p, "__iter__") else None
        if expr is None or not expr.is_Integer or not (int(expr) == -1 or 0 <= int(expr) < i):
            raise ValueError(f"parents[{i}] must be -1 (root) or in 0..{i - 1} (single parent), got {p!r}")
        out.append(int(expr))
    if len(out) < 2:
        raise ValueError(f"parents must cover at least 2 context positions (T >= 3), got {len(out)}")
    return tuple(out)


def _stochastic(P) -> sp.Matrix:
    P = sp.Matrix(P)
    if P.rows != P.cols or P.rows < 2:
        raise ValueError(f"P must be a square S x S matrix with S >= 2, got {P.shape}")
    for entry in P:
        if entry.is_number and entry < 0:
            raise ValueError(f"P must have non-negative entries, got {entry}")
    for s in range(P.rows):
        if sp.simplify(sum(P.row(s)) - 1) != 0:
            raise ValueError(f"P must be row-stochastic; row {s} sums to {sum(P.row(s))}")
    return P


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
        raise ValueError(f"A1 must be {T} x {T}, got {A1.shape}")
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
        raise ValueError(f"epsilon must be 0 or in (0, 1), got {epsilon}")
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
        raise ValueError(f"A1 must be {T} x {T}, got {A1.shape}")
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


# --------------------------------------------------------------------------- expectations
def exact_stationary_distribution(P) -> sp.Matrix:
    """The stationary row vector mu of an irreducible stochastic matrix P, exactly (nullspace)."""
    P = _stochastic(P)
    null = (P.T - sp.eye(P.rows)).nullspace()
    if len(null) != 1:
        raise ValueError(f"P must be irreducible (unique stationary law); found {len(null)} of them")
    v = null[0]
    return sp.simplify(v.T / sum(v))


def _joint(P, mu, a: int, b: int) -> sp.Matrix:
    """Joint law of (s_j, s_i) with i a steps and j b steps below a common ancestor ~ mu."""
    return (P**b).T * sp.diag(*mu) * P**a


def information_given_pi(parents, P) -> sp.Matrix:
    """I~_{j,i}(pi) = sum_{s,s'} P_ji(s,s') pi(s'|s)/mu(s') - 1 for one pi, exactly (entry [i, j], j <= i).

    P_ji(s, s') = sum_c mu(c) pi^b(c, s) pi^a(c, s') through the lowest common ancestor c
    (0 across trees).  Averaging over pi gives numerics.causal.information_matrix.
    """
    parents, P = _parents(parents), _stochastic(P)
    mu = exact_stationary_distribution(P)
    n = len(parents)
    up = []
    for i in range(n):  # ancestors of i with distances
        chain, node, d = {}, i, 0
        while node >= 0:
            chain[node], node, d = d, parents[node], d + 1
        up.append(chain)
    out = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1):
            common = [c for c in up[i] if c in up[j]]
            if not common:
                continue
            c = max(common)  # the deepest common ancestor has the largest index
            J = _joint(P, mu, up[i][c], up[j][c])
            out[i, j] = sp.simplify(sum(J[s, t] * P[s, t] / mu[t] for s in range(P.rows)
                                        for t in range(P.rows) if mu[t] != 0) - 1)
    return out


def expected_first_order_gradient(parents, P, *, large_T: bool = False, epsilon=0) -> sp.Matrix:
    """S E[c_i d_ij] for one pi = P, exactly, by enumerating all S^T sequences (T x T).

    Equals -(T (i+1) S / beta0) dL/dA1[i, j] to first order in beta0 (the normalisation of
    numerics.causal.first_order_gradient).  Roots ~ mu (exact), s_i ~ P(. | s_p(i)), the query
    uniform.  ``large_T=True`` replaces f_hat by mu in c_i (and the subtracted mass by 1): the
    context block then equals ``large_T_gradient(information_given_pi(parents, P))`` exactly.
    """
    parents, P = _parents(parents), _stochastic(P)
    S, T = P.rows, len(parents) + 1
    if S**T > _MAX_SEQUENCES:
        raise ValueError(f"S^T must be <= {_MAX_SEQUENCES} for exact enumeration, got {S}^{T}")
    mu = exact_stationary_distribution(P)
    total = sp.zeros(T, T)
    for seq in itertools.product(range(S), repeat=T):
        prob = sp.Rational(1, S)  # the query
        for i, p in enumerate(parents):
            prob *= mu[seq[i]] if p < 0 else P[seq[p], seq[i]]
        if prob == 0:
            continue
        target = P.row(seq[-1]).T
        if large_T:
            sq = seq[-1]
            c = [target[s] / mu[s] - 1 for s in seq]
            m = [int(s == sq) for s in seq]
            G = sp.Matrix(T, T, lambda i, j: c[i] * (m[j] - sp.Rational(sum(m[: i + 1]), i + 1)) if j <= i else 0)
        else:  # -(T (i+1)) times the dL/dA1 / beta0 coefficient is c_i d_ij
            F = indicator_gradient_formula(seq, target, epsilon)
            G = sp.Matrix(T, T, lambda i, j: -T * (i + 1) * F[i, j])
        total += prob * S * G
    return sp.simplify(total)


def large_T_gradient(information) -> sp.Matrix:
    """G[i, j] = I[i, j] - (1/(i+1)) sum_{k <= i} I[i, k] for j <= i (0 above): the large-T gradient.

    ``information`` has entry [i, j] = I~_{j,i}.  Gradient descent subtracts the gradient, so
    row i of A1 grows along G[i, .] and its softmax concentrates on argmax_j I~_{j,i}.

    Examples
    --------
    >>> large_T_gradient(sp.Matrix([[0, 0], [sp.Rational(1, 6), 0]]))
    Matrix([
    [   0,     0],
    [1/12, -1/12]])
    """
    M = sp.Matrix(information)
    if M.rows != M.cols:
        raise ValueError(f"information must be square, got {M.shape}")
    n = M.rows
    return sp.Matrix(n, n, lambda i, j: sp.simplify(M[i, j] - sum(M[i, : i + 1]) / (i + 1)) if j <= i else 0)
