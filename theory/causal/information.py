"""The chi-square mutual information and expectations under the Dirichlet prior of Task 1, any S (sympy).

Nichani, Damian, Lee 2024, Task 1: the rows of the transition matrix pi are i.i.d. Dir(alpha 1_S).
Here: I_chi2 of a joint law, the oracle loss E H(pi(. | s)), E sum_s p_s^2 and E tr pi.
Rationals in, exact expressions out; S and alpha may be symbols.
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError, symbolic_integer, symbolic_positive
from theory.laws import dirichlet_moment

__all__ = [
    "chi2_mutual_information",
    "expected_row_entropy",
    "expected_collision_probability",
    "expected_transition_trace",
]


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
            raise ArgumentError(f"joint must have non-negative entries, got {entry}")
    total = sp.simplify(sum(P))
    if total.is_number and total != 1:
        raise ArgumentError(f"joint must sum to 1, got {total}")
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
    S, alpha = symbolic_integer(S, "S", 2), symbolic_positive(alpha, "alpha")
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
    S, alpha = symbolic_integer(S, "S", 2), symbolic_positive(alpha, "alpha")
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
    S, alpha = symbolic_integer(S, "S", 2), symbolic_positive(alpha, "alpha")
    if S.is_Integer:
        return sp.simplify(S * dirichlet_moment(alpha, (1,) + (0,) * (int(S) - 1)))
    return sp.Integer(1)
