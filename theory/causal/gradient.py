"""The first-layer gradient of Nichani, Damian, Lee 2024 in expectation over sequences (sympy).

Source: the gradient lemma is reconstructed (the abstract states that the gradient encodes the
chi-square mutual information and that its largest entries are the edges; the exact first-order
form and its large-T limit below are our derivation, notes Section 4.2).

For one transition matrix pi = P: the stationary law, the gradient quantity I~_{j,i}(pi) through the
lowest common ancestor, and S E[c_i d_ij] (the first-order coefficient of dL/dA1 at A1 = 0,
A2 = beta0 I, :mod:`theory.causal.reduced_model`) by exact enumeration of all S^T sequences; and
the large-T gradient I~_{j,i} - (1/(i+1)) sum_{k <= i} I~_{k,i} whose row-wise argmax is the parent.
Averaging over pi ~ prior is numerics.causal.information_matrix.
"""
from __future__ import annotations

import itertools

import sympy as sp

from theory.args import ArgumentError

from theory.causal.forests import validate_parents
from theory.causal.reduced_model import indicator_gradient_formula

__all__ = [
    "exact_stationary_distribution",
    "information_given_pi",
    "expected_first_order_gradient",
    "large_T_gradient",
]

_MAX_SEQUENCES = 20000


def _stochastic(P) -> sp.Matrix:
    P = sp.Matrix(P)
    if P.rows != P.cols or P.rows < 2:
        raise ArgumentError(f"P must be a square S x S matrix with S >= 2, got {P.shape}")
    for entry in P:
        if entry.is_number and entry < 0:
            raise ArgumentError(f"P must have non-negative entries, got {entry}")
    for s in range(P.rows):
        if sp.simplify(sum(P.row(s)) - 1) != 0:
            raise ArgumentError(f"P must be row-stochastic; row {s} sums to {sum(P.row(s))}")
    return P


def exact_stationary_distribution(P) -> sp.Matrix:
    """The stationary row vector mu of an irreducible stochastic matrix P, exactly (nullspace)."""
    return _stationary(_stochastic(P))


def _stationary(P: sp.Matrix) -> sp.Matrix:
    null = (P.T - sp.eye(P.rows)).nullspace()
    if len(null) != 1:
        raise ArgumentError(f"P must be irreducible (unique stationary law); found {len(null)} of them")
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
    parents, P = validate_parents(parents), _stochastic(P)
    mu = _stationary(P)
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

    The gradient lemma (reconstructed; this exact form is derived here). Equals
    -(T (i+1) S / beta0) dL/dA1[i, j] to first order in beta0 (the normalisation of
    numerics.causal.first_order_gradient).  Roots ~ mu (exact), s_i ~ P(. | s_p(i)), the query
    uniform.  ``large_T=True`` replaces f_hat by mu in c_i (and the subtracted mass by 1): the
    context block then equals ``large_T_gradient(information_given_pi(parents, P))`` exactly.
    """
    parents, P = validate_parents(parents), _stochastic(P)
    S, T = P.rows, len(parents) + 1
    if S**T > _MAX_SEQUENCES:
        raise ArgumentError(f"S^T must be <= {_MAX_SEQUENCES} for exact enumeration, got {S}^{T}")
    mu = _stationary(P)
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
        raise ArgumentError(f"information must be square, got {M.shape}")
    n = M.rows
    return sp.Matrix(n, n, lambda i, j: sp.simplify(M[i, j] - sum(M[i, : i + 1]) / (i + 1)) if j <= i else 0)
