"""Moments of the initial token and Assumptions 4.1 / 4.2 of Zheng et al. 2024 (sympy only).

The autoregressive setting of Zheng et al. (2024) depends on the law of the initial
token x_1 only through

    m2 = E x_j^2,   k1 = E x_j^4,   k2 = E x_j^6,   k3 = E x_j^2 x_k^4  (j != k)

(the paper's kappa_1, kappa_2, kappa_3), and the flow stays on the scalar manifold
A = aI, B = bI when the odd mixed moments up to order 6 vanish (Assumption 4.1).
Every law of :mod:`theory.laws` is exchangeable (its moments depend on the multiset of
powers only), so the per-coordinate equalities of Assumption 4.1 hold by construction.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import combinations_with_replacement

import sympy as sp

from theory.args import ArgumentError, symbolic_integer
from theory.laws import Law, as_law

__all__ = ["mesa_moments", "odd_moment_violations", "satisfies_assumption_41", "require_assumption_41",
           "satisfies_assumption_42", "decide"]


def decide(expr: sp.Expr, what: str):
    """True / False for an expression that is provably zero / non-zero, else ValueError naming ``what``."""
    expr = sp.simplify(expr)
    if expr.is_zero:
        return True
    if expr.is_zero is False:
        return False
    raise ArgumentError(f"cannot decide whether {what} vanishes for symbolic arguments ({expr}); "
                     "give integer d and a numeric scale")


# Exact moments and the Assumption 4.1 scan are pure functions of (Law, d), both hashable, and every
# theorem function asks for them: cached (sympy moments of order 6 cost milliseconds each).
@lru_cache(maxsize=256)
def _moments_cached(law: Law, d: sp.Expr) -> dict:
    has_pairs = not (d.is_number and d < 2)
    return {
        "m2": law.moment((2,), d),
        "k1": law.moment((4,), d),
        "k2": law.moment((6,), d),
        # with one coordinate there is no pair j != k; k3 is multiplied by (d - 1) = 0 anyway
        "k3": law.moment((2, 4), d) if has_pairs else sp.Integer(0),
    }


def mesa_moments(law, d) -> dict:
    """The moments of x_1 that the loss of Zheng et al. (2024) depends on.

    m2 = E x_j^2, k1 = E x_j^4, k2 = E x_j^6, k3 = E x_j^2 x_k^4 (j != k; 0 when d = 1),
    for the real initial token x_1 in R^d (notes Section 3.2; kappa_1..3 of Theorem 4.1).

    Parameters
    ----------
    law : Law or str
        Law of x_1 (``Gaussian(sigma)``, ``SparseAxis(c)``, ...).
    d : int or Symbol
        Dimension, >= 1.

    Returns
    -------
    dict
        Keys ``"m2"``, ``"k1"``, ``"k2"``, ``"k3"``; exact sympy values.

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> sorted(mesa_moments(Gaussian(1), 5).items())
    [('k1', 3), ('k2', 15), ('k3', 3), ('m2', 1)]
    """
    return dict(_moments_cached(as_law(law), symbolic_integer(d, "d", 1)))


def _odd_power_patterns(d: sp.Expr):
    """Multisets of positive powers with total <= 6 on distinct coordinates, some power odd."""
    max_len = 6 if not d.is_number else min(int(d), 6)
    for n in range(1, max_len + 1):
        for powers in combinations_with_replacement(range(1, 7), n):
            if sum(powers) <= 6 and any(p % 2 for p in powers):
                yield tuple(sorted(powers, reverse=True))


@lru_cache(maxsize=256)
def _violations(law: Law, d: sp.Expr) -> tuple:
    bad = []
    for powers in _odd_power_patterns(d):
        value = sp.simplify(law.moment(powers, d))
        if value != 0:
            bad.append((powers, value))
    return tuple(bad)


def odd_moment_violations(law, d) -> list:
    """The (powers, moment) pairs with an odd power and a non-zero moment (Assumption 4.1)."""
    return list(_violations(as_law(law), symbolic_integer(d, "d", 1)))


def satisfies_assumption_41(law, d) -> bool:
    """Assumption 4.1 of Zheng et al. (2024), reconstructed, as a predicate on the moments of x_1.

    The condition (reconstructed in the notes, Section 3.3): every moment
    E[ prod_k x_k^{p_k} ] of total order sum p_k <= 6 in which some coordinate appears
    an odd number of times vanishes, and the per-coordinate moments m2, k1, k2, k3 are
    the same for all coordinates.  The second part holds for every law of
    :mod:`theory.laws` (they are exchangeable), so the predicate checks the first.
    Under it the off-diagonal gradients of the red blocks vanish on the scalar manifold
    (they are combinations of E x_j^3 x_k^3, E x_j x_k^5, E x_l^2 x_j x_k^3, E x_j x_k^3).

    Parameters
    ----------
    law : Law or str
    d : int or Symbol

    Returns
    -------
    bool
        True for Gaussian, Uniform, Rademacher, SparseAxis, Sphere (sign-flip invariant);
        False for FullOne (E x_1 x_2 = scale^2 != 0).

    Examples
    --------
    >>> from theory.laws import FullOne, SparseAxis
    >>> satisfies_assumption_41(SparseAxis(1), 5), satisfies_assumption_41(FullOne(1), 5)
    (True, False)
    """
    return not odd_moment_violations(law, d)


def require_assumption_41(law, d, where: str) -> Law:
    """Raise ValueError naming ``law`` when it breaks Assumption 4.1."""
    law = as_law(law)
    bad = odd_moment_violations(law, d)
    if bad:
        powers, value = bad[0]
        monomial = " ".join(f"x_{k + 1}" + (f"^{p}" if p > 1 else "") for k, p in enumerate(powers))
        raise ArgumentError(
            f"law must satisfy Assumption 4.1 (odd mixed moments up to order 6 vanish) for {where}; "
            f"{law} has E[{monomial}] = {value}"
        )
    return law


def satisfies_assumption_42(law, d, exact: bool = False) -> bool:
    """Assumption 4.2 of Zheng et al. (2024), reconstructed: the moment condition for recovery.

    With c the trained product a~b~, the error at position t is (notes Section 3.6)
    e(t) = d [m2 - 2 c k1 + c^2 k2] + c^2 d (d-1) k3 / (t-1), and by Cauchy-Schwarz
    m2 - 2 c k1 + c^2 k2 >= (m2 - c k1)^2 / m2 >= 0, with equality iff k1^2 = m2 k2 and
    c = m2/k1.

    * ``exact=False`` (recovery as T -> infinity, Theorem 4.2): k1^2 = m2 k2, i.e.
      x_{1j}^2 takes a single non-zero value wherever it is non-zero.  Then
      c*(T) -> k1/k2 = m2/k1 and the error at the last position tends to 0.
    * ``exact=True`` (zero error at every position for the finite-T fixed point):
      additionally k3 = 0 when d >= 2 (at most one non-zero coordinate), because
      c*(T) = m2/k1 needs the (d-1) H k3 term to vanish.

    SparseAxis (Example 4.1) satisfies both; Rademacher (|x_j| constant) satisfies the
    first only; Gaussian, Uniform and Sphere (d >= 2) neither.

    Examples
    --------
    >>> from theory.laws import Rademacher
    >>> satisfies_assumption_42(Rademacher(1), 3), satisfies_assumption_42(Rademacher(1), 3, exact=True)
    (True, False)
    """
    mom = mesa_moments(law, d)
    d = symbolic_integer(d, "d", 1)
    ok = decide(mom["k1"] ** 2 / (mom["m2"] * mom["k2"]) - 1, "k1^2 - m2 k2")
    if exact and ok and not (d.is_number and d == 1):
        ok = decide(mom["k3"] / mom["k2"], "k3")
    return bool(ok)
