"""Closed forms of Nichani, Damian, Lee 2024 for S = 2 (sympy): the chain's eigenvalue moments.

pi = [[1-a, a], [b, 1-b]] with a, b i.i.d. Beta(alpha, alpha) (the S = 2 case of Dir(alpha 1_S)
rows), lambda = 1 - a - b.  Every 2-state chain is reversible, I_chi2(s_{i-k}; s_i | pi) =
lambda^(2k), and the gradient quantity at tree distance d is I~ = E[lambda^(d+1)]; the
data-processing inequality along the chain is proved here for a symbolic alpha.
Rationals in, exact expressions out; no floats.
"""
from __future__ import annotations

import sympy as sp

from theory.args import integer, symbolic_positive

__all__ = [
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
]


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
        integer(k, "k", minimum=0)
    a, b = sp.sympify(a), sp.sympify(b)
    mu = binary_stationary_distribution(a, b)
    one_mu = sp.ones(2, 1) * mu
    power = one_mu + (1 - a - b) ** k * (sp.eye(2) - one_mu)
    return sp.diag(*mu) * power


def _centered_beta_moment(m: int, alpha: sp.Expr) -> sp.Expr:
    out = sp.Integer(1)
    for j in range(m):
        out *= (j + sp.Rational(1, 2)) / (alpha + sp.Rational(1, 2) + j)
    return sp.factor(out / 4**m)


def centered_beta_moment(m, alpha) -> sp.Expr:
    """M_m = E[(a - 1/2)^(2m)] for a ~ Beta(alpha, alpha): 4^(-m) prod_{j<m} (j + 1/2)/(alpha + 1/2 + j).

    (2a - 1)^2 ~ Beta(1/2, alpha), whose m-th moment is the product.
    """
    return _centered_beta_moment(integer(m, "m", minimum=0), symbolic_positive(alpha, "alpha"))


def _lambda_moment(n: int, alpha: sp.Expr) -> sp.Expr:
    """E[lambda^n] for checked arguments (see :func:`binary_lambda_moment`)."""
    if n % 2:
        return sp.Integer(0)
    r = n // 2
    out = sum(sp.binomial(2 * r, 2 * m) * _centered_beta_moment(m, alpha) * _centered_beta_moment(r - m, alpha)
              for m in range(r + 1))
    return sp.factor(sp.together(out))


def binary_lambda_moment(n, alpha) -> sp.Expr:
    """E[lambda^n], lambda = 1 - a - b the second eigenvalue of an S = 2 chain with Dir(alpha) rows.

    lambda = -((a - 1/2) + (b - 1/2)) is a sum of two independent symmetric variables, so odd
    moments vanish and E[lambda^(2r)] = sum_m C(2r, 2m) M_m M_(r-m) (notes Section 7.1).

    Examples
    --------
    >>> binary_lambda_moment(2, 1), binary_lambda_moment(4, 1), binary_lambda_moment(3, 1)
    (1/6, 1/15, 0)
    """
    return _lambda_moment(integer(n, "n", minimum=0), symbolic_positive(alpha, "alpha"))


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
    return _lambda_moment(2, symbolic_positive(alpha, "alpha"))


def binary_ancestor_information(k, alpha) -> sp.Expr:
    """E_pi[I_chi2(s_{i-k}; s_i | pi)] on an S = 2 chain: E[lambda^(2k)] (k = 0 gives S - 1 = 1)."""
    return _lambda_moment(2 * integer(k, "k", minimum=0), symbolic_positive(alpha, "alpha"))


def binary_cross_information(k, alpha) -> sp.Expr:
    """The gradient quantity I~(k) on an S = 2 chain, ancestor at distance k: E[lambda^(k+1)].

    I~(k) = E_pi[sum P_{i-k,i}(s,s') pi(s'|s)/mu(s')] - 1 = E tr(pi^(k+1)) - 1 for a reversible
    chain; 0 for even k (the entries two steps back vanish).
    """
    return _lambda_moment(integer(k, "k", minimum=0) + 1, symbolic_positive(alpha, "alpha"))


def _margin(k: int, alpha: sp.Expr) -> sp.Expr:
    return sp.factor(sp.together(_lambda_moment(2 * (k - 1), alpha) - _lambda_moment(2 * k, alpha)))


def binary_data_processing_margin(k, alpha) -> sp.Expr:
    """E[I_chi2(s_{i-k+1}; s_i)] - E[I_chi2(s_{i-k}; s_i)] = E[lambda^(2k-2) (1 - lambda^2)] on an S = 2 chain."""
    return _margin(integer(k, "k", minimum=1), symbolic_positive(alpha, "alpha"))


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
    alpha = symbolic_positive(alpha, "alpha")
    margin = _margin(integer(k, "k", minimum=1), alpha)
    if margin.is_number:
        return sp.sympify(margin > 0)
    if isinstance(alpha, sp.Symbol) and alpha.is_positive:
        num, den = sp.fraction(sp.cancel(sp.together(margin)))
        coeffs = sp.Poly(num, alpha).coeffs() + sp.Poly(den, alpha).coeffs()
        # all coefficients of one sign (numerator not identically 0): margin > 0 for every alpha > 0
        if num != 0 and (all(c >= 0 for c in coeffs) or all(c <= 0 for c in coeffs)):
            return sp.true
    return sp.StrictGreaterThan(margin, 0)
