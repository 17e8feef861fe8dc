"""Zheng et al. 2024, "On Mesa-Optimization in Autoregressively Trained Transformers" (sympy only).

Setting: x_{t+1} = W x_t, W = diag(e^{i theta_j}), theta_j ~ U[0, 2 pi); real x_1 ~ law;
tokens (0, x_t, x_{t-1}); loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2; red blocks
W^KQ_32 = A, W^PV_12 = B, and on the scalar manifold A = aI, B = bI, c = ab.
The trained model is the mesa-optimizer y_hat_t = W_hat_t x_t with
W_hat_t = (c/(t-1)) sum_{i<t} x_{i+1} x_i^H, one GD step from 0 on the in-context OLS loss.

This module holds the capability results (Theorem 4.2, Proposition 4.1, Example 4.1) and
the full-one start beyond Assumption 4.1, and re-exports the rest of the public names:

* :mod:`theory.mesa_moments`: ``mesa_moments``, ``satisfies_assumption_41``, ``satisfies_assumption_42``;
* :mod:`theory.mesa_flow`: reduced / diagonal losses, ``fixed_point`` (Theorem 4.1), flows;
* :mod:`theory.mesa_lemma`: exact phase averages and the structural lemma.

Notation: S = T - 2, H = H_{T-2}, H2 = H^(2)_{T-2} = sum_{n=1}^{T-2} 1/n^2,
m2 = E x_j^2, k1 = E x_j^4, k2 = E x_j^6, k3 = E x_j^2 x_k^4, Acal = S k2 + (d-1) H k3.
"""
from __future__ import annotations

import sympy as sp

from theory.laws import FullOne
from theory.mesa_flow import (balanced_flow, conserved_quantity, diagonal_flow_rhs, diagonal_loss,
                              fixed_point, fixed_point_limit, loss_coefficients, population_optimum,
                              product_flow_rhs, reduced_loss, scalar_flow_rhs)
from theory.mesa_lemma import (law_expectation, phase_averaged_gradients, phase_averaged_loss,
                               red_block_mask, structural_lemma)
from theory.mesa_moments import (as_expr, as_law, dimension, integer_at_least, mesa_moments,
                                 require_assumption_41, satisfies_assumption_41,
                                 satisfies_assumption_42, seq_length)

__all__ = [
    # moments and assumptions
    "mesa_moments", "satisfies_assumption_41", "satisfies_assumption_42",
    # Theorem 4.1
    "loss_coefficients", "reduced_loss", "diagonal_loss", "fixed_point", "fixed_point_limit", "population_optimum",
    "scalar_flow_rhs", "diagonal_flow_rhs", "product_flow_rhs", "conserved_quantity", "balanced_flow",
    # capability: Theorem 4.2, Proposition 4.1, Example 4.1
    "position_error", "prediction_ratio", "asymptotic_relative_error", "recovers_distribution",
    # beyond Assumption 4.1
    "offdiag_gradients", "full_one_offdiag_gradients", "masked_fixed_point",
    # structural lemma
    "red_block_mask", "phase_averaged_gradients", "phase_averaged_loss", "structural_lemma",
    "law_expectation",
]


def _tidy(expr):
    """Exact numbers as they are; formulas factored (fast, readable; no costly simplify)."""
    return expr if expr.is_number else sp.factor(expr)


def position_error(t, c, d, law) -> sp.Expr:
    """E |y_hat_t - x_{t+1}|^2 at position t for the mesa-optimizer with constant c (Theorem 4.2).

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
    t = integer_at_least(t, "t", 2, allow_oo=True)
    c = as_expr(c, "c")
    d = dimension(d)
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
    return sp.expand(as_expr(c, "c") * mesa_moments(law, d)["m2"])


def asymptotic_relative_error(d, T, law) -> sp.Expr:
    """lim_{t -> oo} E|y_hat_t - x_{t+1}|^2 / E|x_{t+1}|^2 for c = c*(T) (Proposition 4.1).

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
    c = fixed_point(d, T, law)
    mom = mesa_moments(law, d)
    return _tidy((mom["m2"] - 2 * c * mom["k1"] + c**2 * mom["k2"]) / mom["m2"])


def recovers_distribution(law, d) -> bool:
    """Whether the converged mesa-optimizer's last-position error tends to 0 as T -> oo (Theorem 4.2).

    The error at the last position t = T - 1 with c = c*(T) is
    d [m2 - 2 c* k1 + c*^2 k2] + c*^2 d (d-1) k3/(T-2) -> d (m2 - k1^2/k2), which is 0 iff
    k1^2 = m2 k2 (Assumption 4.2, limit form): x_{1j}^2 takes one non-zero value.
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


def offdiag_gradients(a, b, d, T, law) -> tuple:
    """(dL/dB_jk, dL/dA_jk), j != k, at the scalar point A = aI, B = bI, for any exchangeable law.

    dL/dB_jk = a^2 b H E[x_j^3 x_k^3],
    dL/dA_jk = b [ a b (H (E[x_j^3 x_k^3] + E[x_j x_k^5]) + (d-2) H2 E[x_l^2 x_j x_k^3]) - H E[x_j x_k^3] ]
    (notes Section 3.3; A_jk multiplies the query coordinate k into the key coordinate j,
    B = W^PV_12, A = W^KQ_32).  Zero under Assumption 4.1; non-zero for FullOne.

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> offdiag_gradients(1, 1, 3, 5, Gaussian(1))
    (0, 0)
    """
    d = dimension(d)
    if d.is_number and d < 2:
        raise ValueError(f"d must be >= 2 for off-diagonal entries, got {d}")
    k = loss_coefficients(d, T, law)
    law = as_law(law)
    a, b = as_expr(a, "a"), as_expr(b, "b")
    e33, e15, e13 = law.moment((3, 3), d), law.moment((1, 5), d), law.moment((1, 3), d)
    e213 = law.moment((2, 1, 3), d) if not (d.is_number and d < 3) else sp.Integer(0)
    dB = a**2 * b * k["H"] * e33
    dA = b * (a * b * (k["H"] * (e33 + e15) + (d - 2) * k["H2"] * e213) - k["H"] * e13)
    return sp.expand(dB), sp.expand(dA)


def full_one_offdiag_gradients(a, b, d, T) -> tuple:
    """Full-one start x_1 = 1_d: off-diagonal red-block gradients at A = aI, B = bI (notes Section 3.7).

    dL/dB_jk = a^2 b H_{T-2},   dL/dA_jk = b [a b (2 H_{T-2} + (d-2) H^(2)_{T-2}) - H_{T-2}].
    They do not vanish, so the flow leaves the scalar manifold: beyond Assumption 4.1 the
    trained transformer is not vanilla one-step GD.

    Examples
    --------
    >>> full_one_offdiag_gradients(1, sp.Rational(3, 10), 2, 3)
    (3/10, -3/25)
    """
    d = dimension(d)
    T = seq_length(T)
    a, b = as_expr(a, "a"), as_expr(b, "b")
    if d.is_number and d < 2:
        raise ValueError(f"d must be >= 2 for off-diagonal entries, got {d}")
    H, H2 = sp.harmonic(T - 2), sp.harmonic(T - 2, 2)
    return sp.expand(a**2 * b * H), sp.expand(b * (a * b * (2 * H + (d - 2) * H2) - H))


def masked_fixed_point(d, T, scale=1) -> sp.Expr:
    """Full-one start with the off-diagonal gradients masked (the code's --clip): the limit of ab.

    c* = (T-2) / (scale^2 ((T-2) + (d-1) H_{T-2})), the scalar fixed point with
    k1 = scale^4, k2 = k3 = scale^6 (0.82583 at d = 5, T = 100, scale = 1).

    Examples
    --------
    >>> masked_fixed_point(2, 3)
    1/2
    """
    d, T = dimension(d), seq_length(T, allow_oo=True)
    FullOne(scale)  # validates scale > 0
    scale = as_expr(scale, "scale")
    if T == sp.oo:
        return _tidy(1 / scale**2)
    return _tidy((T - 2) / (scale**2 * ((T - 2) + (d - 1) * sp.harmonic(T - 2))))
