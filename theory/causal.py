"""Nichani, Damian, Lee 2024 (How transformers learn causal structure), exactly (sympy only).

Task 1: a transition matrix pi with rows i.i.d. Dir(alpha 1_S) drives tokens along a latent
forest (``parents[i]`` in 0..i-1 or -1 for a root; roots start at the stationary law mu);
the query s_T is uniform and the label is pi(. | s_T).

* chi-square mutual information, Dirichlet moments, the oracle entropy;
* S = 2 closed forms: pi = [[1-a, a], [b, 1-b]], a, b i.i.d. Beta(alpha, alpha),
  lambda = 1 - a - b.  Every 2-state chain is reversible, I_chi2(s_{i-k}; s_i | pi) =
  lambda^(2k) and the gradient quantity at tree distance d is I~ = E[lambda^(d+1)];
* the data-processing inequality along an S = 2 chain, proved for symbolic alpha;
* the information gap; the first-order expansion of the reduced model's loss at A1 = 0,
  A2 = beta0 I derived by differentiation (:mod:`theory.causal_gradient`).

Rationals in, exact expressions out; no floats.
"""
from __future__ import annotations

import sympy as sp

from theory.causal_gradient import _parents
from theory.laws import dirichlet_moment

__all__ = [
    "chi2_mutual_information",
    "expected_row_entropy",
    "expected_collision_probability",
    "expected_transition_trace",
    "binary_transition_matrix",
    "binary_stationary_distribution",
    "binary_joint",
    "centered_beta_moment",
    "binary_lambda_moment",
    "binary_edge_information",
    "binary_ancestor_information",
    "binary_cross_information",
    "binary_data_processing_margin",
    "binary_data_processing_inequality",
    "tree_distances",
    "binary_forest_information",
    "information_gap",
    "binary_information_gap",
]


# --------------------------------------------------------------------------- argument checks
def _alpha(alpha) -> sp.Expr:
    if isinstance(alpha, float):
        alpha = sp.nsimplify(alpha, rational=True)
    try:
        alpha = sp.sympify(alpha)
    except (sp.SympifyError, TypeError) as exc:
        raise ValueError(f"alpha must be a number or symbol > 0, got {alpha!r}") from exc
    if alpha.is_real is False or alpha.is_positive is False:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    return alpha


def _int(value, name: str, minimum: int) -> int:
    try:
        expr = sp.sympify(value)
    except (sp.SympifyError, TypeError) as exc:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from exc
    if not (expr.is_Integer and int(expr) >= minimum):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(expr)


def _S(S) -> sp.Expr:
    expr = sp.sympify(S)
    if expr.is_number:
        return sp.Integer(_int(expr, "S", 2))
    return expr


# --------------------------------------------------------------------------- general S
def chi2_mutual_information(joint) -> sp.Expr:
    """I_chi2(X; Y) = sum_{x,y} P(x,y)^2 / (P(x) P(y)) - 1 for a joint probability matrix.

    The chi-square divergence between the joint law and the product of its marginals
    (Nichani, Damian, Lee 2024, the information the first-layer gradient encodes).  Rows or
    columns of zero mass are skipped (0/0 := 0).  Symbolic entries are allowed.

    Parameters
    ----------
    joint : Matrix or nested list
        P(x, y), non-negative entries summing to 1.

    Returns
    -------
    Expr

    Examples
    --------
    >>> chi2_mutual_information(sp.Matrix([[sp.Rational(1, 2), 0], [0, sp.Rational(1, 2)]]))
    1
    >>> chi2_mutual_information(sp.ones(2, 2) / 4)
    0
    """
    P = sp.Matrix(joint)
    for entry in P:
        if entry.is_number and (entry.is_real is False or entry < 0):
            raise ValueError(f"joint must have non-negative entries, got {entry}")
    total = sp.simplify(sum(P))
    if total.is_number and total != 1:
        raise ValueError(f"joint must sum to 1, got {total}")
    px = [sum(P.row(x)) for x in range(P.rows)]
    py = [sum(P.col(y)) for y in range(P.cols)]
    out = sp.Integer(-1)
    for x in range(P.rows):
        for y in range(P.cols):
            if P[x, y] == 0 or sp.simplify(px[x]) == 0 or sp.simplify(py[y]) == 0:
                continue
            out += P[x, y] ** 2 / (px[x] * py[y])
    return sp.factor(sp.simplify(out))


def expected_row_entropy(S, alpha) -> sp.Expr:
    """E[H(p)] for p ~ Dir(alpha 1_S): digamma(S alpha + 1) - digamma(alpha + 1).

    The oracle loss of Task 1 (a model that knows pi pays the entropy of pi(. | s_T)); from
    E[p_s log p_s] = E[p_s] (digamma(alpha + 1) - digamma(S alpha + 1)).  0.8465 at S = 10,
    alpha = 1/10.

    Parameters
    ----------
    S : int >= 2 or symbol
    alpha : positive number or symbol

    Returns
    -------
    Expr (harmonic numbers for integer alpha, digamma values otherwise)

    Examples
    --------
    >>> expected_row_entropy(2, 1)
    1/2
    """
    S, alpha = _S(S), _alpha(alpha)
    out = sp.digamma(S * alpha + 1) - sp.digamma(alpha + 1)
    return sp.simplify(sp.expand_func(out)) if (S * alpha).is_Integer and alpha.is_Integer else out


def expected_collision_probability(S, alpha) -> sp.Expr:
    """E[sum_s p_s^2] = (alpha + 1)/(S alpha + 1) for p ~ Dir(alpha 1_S).

    For integer S computed as S * dirichlet_moment(alpha, (2, 0, ..., 0)); for symbolic S the
    same closed form.

    Examples
    --------
    >>> expected_collision_probability(10, sp.Rational(1, 10))
    11/20
    """
    S, alpha = _S(S), _alpha(alpha)
    if S.is_Integer:
        return sp.factor(S * dirichlet_moment(alpha, (2,) + (0,) * (int(S) - 1)))
    return (alpha + 1) / (S * alpha + 1)


def expected_transition_trace(S, alpha) -> sp.Expr:
    """E[tr pi] = S E[p_1] = 1 for rows i.i.d. Dir(alpha 1_S), so I~_{i,i} = E tr pi - 1 = 0.

    Examples
    --------
    >>> expected_transition_trace(5, sp.Rational(1, 10))
    1
    """
    S, alpha = _S(S), _alpha(alpha)
    if S.is_Integer:
        return sp.simplify(S * dirichlet_moment(alpha, (1,) + (0,) * (int(S) - 1)))
    return sp.Integer(1)


# --------------------------------------------------------------------------- S = 2 chains
def binary_transition_matrix(a, b) -> sp.Matrix:
    """pi = [[1 - a, a], [b, 1 - b]]: the general 2-state chain."""
    a, b = sp.sympify(a), sp.sympify(b)
    return sp.Matrix([[1 - a, a], [b, 1 - b]])


def binary_stationary_distribution(a, b) -> sp.Matrix:
    """mu = (b, a)/(a + b) as a row vector (mu pi = mu)."""
    a, b = sp.sympify(a), sp.sympify(b)
    return sp.Matrix([[b, a]]) / (a + b)


def binary_joint(k, a, b) -> sp.Matrix:
    """Joint law of (s_{i-k}, s_i) on a stationary 2-state chain: diag(mu) pi^k, any k >= 0.

    pi^k = 1 mu + lambda^k (I - 1 mu) with lambda = 1 - a - b, so k may be a symbol.
    """
    k = sp.sympify(k)
    if k.is_number:
        _int(k, "k", 0)
    a, b = sp.sympify(a), sp.sympify(b)
    mu = binary_stationary_distribution(a, b)
    one_mu = sp.ones(2, 1) * mu
    power = one_mu + (1 - a - b) ** k * (sp.eye(2) - one_mu)
    return sp.diag(*mu) * power


def centered_beta_moment(m, alpha) -> sp.Expr:
    """M_m = E[(a - 1/2)^(2m)] for a ~ Beta(alpha, alpha): 4^(-m) prod_{j<m} (j + 1/2)/(alpha + 1/2 + j).

    (2a - 1)^2 ~ Beta(1/2, alpha), whose m-th moment is the product.
    """
    m, alpha = _int(m, "m", 0), _alpha(alpha)
    out = sp.Integer(1)
    for j in range(m):
        out *= (j + sp.Rational(1, 2)) / (alpha + sp.Rational(1, 2) + j)
    return sp.factor(out / 4**m)


def binary_lambda_moment(n, alpha) -> sp.Expr:
    """E[lambda^n], lambda = 1 - a - b the second eigenvalue of an S = 2 chain with Dir(alpha) rows.

    lambda = -((a - 1/2) + (b - 1/2)) is a sum of two independent symmetric variables, so odd
    moments vanish and E[lambda^(2r)] = sum_m C(2r, 2m) M_m M_(r-m) (notes Section 7.1).

    Examples
    --------
    >>> binary_lambda_moment(2, 1), binary_lambda_moment(4, 1), binary_lambda_moment(3, 1)
    (1/6, 1/15, 0)
    """
    n, alpha = _int(n, "n", 0), _alpha(alpha)
    if n % 2:
        return sp.Integer(0)
    r = n // 2
    out = sum(sp.binomial(2 * r, 2 * m) * centered_beta_moment(m, alpha) * centered_beta_moment(r - m, alpha)
              for m in range(r + 1))
    return sp.factor(sp.together(out))


def binary_edge_information(alpha) -> sp.Expr:
    """E_pi[I_chi2(s_parent; s_child | pi)] for S = 2: E[lambda^2] = 1/(2(2 alpha + 1)).

    Per pi the edge information is lambda^2 (:func:`binary_joint`, :func:`chi2_mutual_information`).

    Parameters
    ----------
    alpha : positive number or symbol

    Examples
    --------
    >>> binary_edge_information(sp.Rational(1, 10))
    5/12
    """
    return binary_lambda_moment(2, alpha)


def binary_ancestor_information(k, alpha) -> sp.Expr:
    """E_pi[I_chi2(s_{i-k}; s_i | pi)] on an S = 2 chain: E[lambda^(2k)] (k = 0 gives S - 1 = 1)."""
    return binary_lambda_moment(2 * _int(k, "k", 0), alpha)


def binary_cross_information(k, alpha) -> sp.Expr:
    """The gradient quantity I~(k) on an S = 2 chain, ancestor at distance k: E[lambda^(k+1)].

    I~(k) = E_pi[sum P_{i-k,i}(s,s') pi(s'|s)/mu(s')] - 1 = E tr(pi^(k+1)) - 1 for a reversible
    chain; 0 for even k (the entries two steps back vanish).
    """
    return binary_lambda_moment(_int(k, "k", 0) + 1, alpha)


def binary_data_processing_margin(k, alpha) -> sp.Expr:
    """E[I_chi2(s_{i-k+1}; s_i)] - E[I_chi2(s_{i-k}; s_i)] = E[lambda^(2k-2) (1 - lambda^2)] on an S = 2 chain."""
    k = _int(k, "k", 1)
    return sp.factor(sp.together(binary_ancestor_information(k - 1, alpha) - binary_ancestor_information(k, alpha)))


def binary_data_processing_inequality(k, alpha):
    """The data-processing inequality along an S = 2 chain, E I_chi2(s_{i-k}; s_i) < E I_chi2(s_{i-k+1}; s_i).

    Returns ``sympy.true`` when proved: for a number alpha by evaluation, for a positive symbol
    alpha because the margin is a ratio of polynomials in alpha with non-negative coefficients
    (not all zero).  Otherwise the unevaluated relation.  Per pi the statement is
    lambda^(2k) <= lambda^(2k-2), since lambda^2 <= 1.

    Examples
    --------
    >>> binary_data_processing_inequality(3, sp.Symbol("alpha", positive=True))
    True
    """
    alpha = _alpha(alpha)
    margin = binary_data_processing_margin(k, alpha)
    if margin.is_number:
        return sp.sympify(margin > 0)
    if isinstance(alpha, sp.Symbol) and alpha.is_positive:
        num, den = sp.fraction(sp.cancel(sp.together(margin)))
        coeffs = sp.Poly(num, alpha).coeffs() + sp.Poly(den, alpha).coeffs()
        # all coefficients of one sign (numerator not identically 0): margin > 0 for every alpha > 0
        if num != 0 and (all(c >= 0 for c in coeffs) or all(c <= 0 for c in coeffs)):
            return sp.true
    return sp.StrictGreaterThan(margin, 0)


# --------------------------------------------------------------------------- forests
def tree_distances(parents) -> sp.Matrix:
    """Matrix of tree distances between positions of a forest; -1 across trees."""
    parents = _parents(parents)
    n = len(parents)
    chains = []
    for i in range(n):  # ancestors of i with their distance, i itself at 0
        chain, node, d = {}, i, 0
        while node >= 0:
            chain[node] = d
            node, d = parents[node], d + 1
        chains.append(chain)
    out = sp.zeros(n, n)
    for i in range(n):
        for j in range(n):
            common = [chains[i][c] + chains[j][c] for c in chains[i] if c in chains[j]]
            out[i, j] = min(common) if common else -1
    return out


def binary_forest_information(parents, alpha) -> sp.Matrix:
    """Exact n x n matrix of I~_{j,i} for S = 2 on a forest: entry [i, j] = E[lambda^(d(i,j) + 1)], j <= i.

    The two nodes descend from their lowest common ancestor (stationary law mu) by a and b
    steps; reversibility gives P_ji = diag(mu) pi^(a+b), so I~ depends only on the tree
    distance d = a + b.  Entries across trees and above the diagonal are 0; the diagonal is
    E[lambda] = 0.  The exact counterpart of numerics.causal.information_matrix at S = 2.

    Examples
    --------
    >>> binary_forest_information((-1, 0, 0), 1)
    Matrix([
    [  0, 0, 0],
    [1/6, 0, 0],
    [1/6, 0, 0]])
    """
    alpha = _alpha(alpha)
    dist = tree_distances(parents)
    n = dist.rows
    out = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1):
            if dist[i, j] >= 0:
                out[i, j] = binary_lambda_moment(int(dist[i, j]) + 1, alpha)
    return out


def information_gap(information, parents) -> sp.Expr:
    """Delta = min over non-roots i of [ I[i, p(i)] - max_{j <= i, j != p(i)} I[i, j] ].

    ``information`` is an n x n Matrix with entry [i, j] = I~_{j,i} (as from
    :func:`binary_forest_information`).  The maximum runs over the whole causal row, the
    diagonal included, so Delta > 0 means the parent wins the row of the first-layer gradient
    (the theorem's information-gap assumption).
    """
    parents = _parents(parents)
    M = sp.Matrix(information)
    if M.shape != (len(parents), len(parents)):
        raise ValueError(f"information must be {len(parents)} x {len(parents)}, got {M.shape}")
    margins = []
    for i, p in enumerate(parents):
        if p < 0:
            continue
        others = [M[i, j] for j in range(i + 1) if j != p]
        margins.append(M[i, p] - sp.Max(*others))
    if not margins:
        raise ValueError("parents must have at least one non-root position for the gap to exist")
    return sp.simplify(sp.Min(*margins))


def binary_information_gap(parents, alpha) -> sp.Expr:
    """Delta for S = 2 in closed form (symbolic alpha allowed).

    Row i holds E[lambda^2] at the parent and E[lambda^(d+1)] elsewhere: 0 for even d + 1,
    and decreasing in odd d (:func:`binary_data_processing_inequality`).  So the margin of
    node i is E[lambda^2] - E[lambda^(d_i + 1)] with d_i the smallest odd distance >= 3 in its
    row (E[lambda^2] if none), and Delta takes the smallest d_i over the graph.

    Examples
    --------
    >>> binary_information_gap((-1, 0, 1, 2), 1)  # chain: 1/6 - 1/15
    1/10
    """
    parents = _parents(parents)
    alpha = _alpha(alpha)
    dist = tree_distances(parents)
    candidates = []
    for i, p in enumerate(parents):
        if p < 0:
            continue
        odd = [int(dist[i, j]) for j in range(i + 1) if j != p and dist[i, j] >= 3 and dist[i, j] % 2]
        candidates.append(min(odd) if odd else None)
    if not candidates:
        raise ValueError("parents must have at least one non-root position for the gap to exist")
    finite = [d for d in candidates if d is not None]
    worst = min(finite) if finite else None  # the smallest odd distance has the largest E[lambda^(d+1)]
    edge = binary_lambda_moment(2, alpha)
    if worst is None:
        return edge
    return sp.factor(sp.simplify(edge - binary_lambda_moment(worst + 1, alpha)))


from theory.causal_gradient import *  # noqa: E402,F401,F403  (the first-order expansion)
from theory.causal_gradient import __all__ as _gradient_names  # noqa: E402

__all__ += list(_gradient_names)
