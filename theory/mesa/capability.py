"""Zheng et al. 2024: what the converged mesa-optimizer can do (Theorem 4.2, Proposition 4.1, Example 4.1).

The trained model is the mesa-optimizer y_hat_t = W_hat_t x_t with
W_hat_t = (c/(t-1)) sum_{i<t} x_{i+1} x_i^H, one GD step from 0 on the in-context OLS loss, and
c = c*(T) the fixed point of Theorem 4.1 (:mod:`theory.mesa.flow`).  Its error at position t, its
prediction/truth ratio, and whether it recovers the sequence as T -> oo depend on the moments
m2 = E x_j^2, k1 = E x_j^4, k2 = E x_j^6, k3 = E x_j^2 x_k^4 of x_1 (:mod:`theory.mesa.moments`).
"""
from __future__ import annotations

import sympy as sp

from theory.args import symbolic_integer, symbolic_real
from theory.laws import as_law
from theory.mesa.flow import fixed_point, tidy
from theory.mesa.moments import mesa_moments, require_assumption_41, satisfies_assumption_42

__all__ = ["position_error", "prediction_ratio", "asymptotic_relative_error", "recovers_distribution"]


def position_error(t, c, d, law) -> sp.Expr:
    """E |y_hat_t - x_{t+1}|^2 at position t for the mesa-optimizer with constant c (Theorem 4.2, reconstructed: derived
    here, the paper's statement was not available).

    e(t) = d [m2 - 2 c k1 + c^2 k2] + c^2 d (d - 1) k3 / (t - 1),
    where t >= 2 is the number of tokens seen (t = oo gives the limit).  Orthogonality of
    the phase monomials makes this exact for every exchangeable law of x_1 (notes Section
    3.6; sum_{t=2}^{T-1} e(t)/2 = :func:`reduced_loss`).

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> position_error(2, sp.Rational(1, 5), 3, Gaussian(1))
    48/25
    """
    t = symbolic_integer(t, "t", 2, allow_oo=True)
    c = symbolic_real(c, "c")
    d = symbolic_integer(d, "d", 1)
    mom = mesa_moments(law, d)
    limit = d * (mom["m2"] - 2 * c * mom["k1"] + c**2 * mom["k2"])
    if t == sp.oo:
        return sp.expand(limit)
    return sp.expand(limit + c**2 * d * (d - 1) * mom["k3"] / (t - 1))


def prediction_ratio(c, d, law) -> sp.Expr:
    """E[ y_hat_{t,j} / x_{t+1,j} ] = c m2 at every position t (notes Section 3.6).

    y_hat_{t,j} / x_{t+1,j} = c x_{1j}^2 + (a phase term of mean 0), so the mean ratio is
    c m2: c* sigma^2 = 0.19191 for Gaussian x_1 at d = 5, T = 100 (the paper plots 0.2).

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> prediction_ratio(sp.Rational(1, 20), 5, Gaussian(2))
    1/5
    """
    return sp.expand(symbolic_real(c, "c") * mesa_moments(law, d)["m2"])


def asymptotic_relative_error(d, T, law) -> sp.Expr:
    """lim_{t -> oo} E|y_hat_t - x_{t+1}|^2 / E|x_{t+1}|^2 for c = c*(T) (Proposition 4.1, reconstructed).

    (m2 - 2 c* k1 + c*^2 k2) / m2 with c* = :func:`fixed_point` at training length T
    (T = oo: c* = k1/k2, giving 1 - k1^2/(m2 k2)).  Gaussian x_1:
    1 - 6/(5 + delta) + 15/(5 + delta)^2 with delta = (d-1) H_{T-2}/(T-2): 2/5 at T = oo
    and 0.40098 at d = 5, T = 100, so the mesa-optimizer does not recover the sequence.

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> asymptotic_relative_error(5, sp.oo, Gaussian(1))
    2/5
    """
    law = as_law(law)
    c = fixed_point(d, T, law)
    mom = mesa_moments(law, d)
    return tidy((mom["m2"] - 2 * c * mom["k1"] + c**2 * mom["k2"]) / mom["m2"])


def recovers_distribution(law, d) -> bool:
    """Whether the converged mesa-optimizer's last-position error tends to 0 as T -> oo (Theorem 4.2, reconstructed).

    The error at the last position t = T - 1 with c = c*(T) is
    d [m2 - 2 c* k1 + c*^2 k2] + c*^2 d (d-1) k3/(T-2) -> d (m2 - k1^2/k2), which is 0 iff
    k1^2 = m2 k2 (Assumption 4.2 as reconstructed, limit form): x_{1j}^2 takes one non-zero value.
    True for SparseAxis (Example 4.1) and Rademacher (|x_j| constant; c* -> 1/scale^2), and
    for Sphere only at d = 1; False for Gaussian (Proposition 4.1), Uniform, Sphere (d >= 2).
    Exact recovery at finite T additionally needs k3 = 0 (only SparseAxis):
    ``satisfies_assumption_42(law, d, exact=True)``.

    Raises
    ------
    ValueError
        For a law that breaks Assumption 4.1 (e.g. FullOne), where the theorem does not apply.

    Examples
    --------
    >>> from theory.laws import Gaussian, SparseAxis
    >>> recovers_distribution(SparseAxis(1), 5), recovers_distribution(Gaussian(1), 5)
    (True, False)
    """
    law = require_assumption_41(law, d, "recovers_distribution (Theorem 4.2)")
    return satisfies_assumption_42(law, d)
