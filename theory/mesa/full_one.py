"""Zheng et al. 2024 beyond Assumption 4.1: off-diagonal gradients and the full-one start (sympy only).

At the scalar point A = aI, B = bI of the red blocks (A = W^KQ_32, B = W^PV_12) the off-diagonal
gradients are combinations of the odd mixed moments of x_1; they vanish under Assumption 4.1 and
not for the full-one start x_1 = scale * 1_d, where the flow leaves the scalar manifold unless the
off-diagonal gradients are masked (the authors' ``--clip``).  Notation: H = H_{T-2},
H2 = H^(2)_{T-2} = sum_{n=1}^{T-2} 1/n^2 (notes Sections 3.3, 3.7).
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError, symbolic_integer, symbolic_positive, symbolic_real
from theory.laws import as_law
from theory.mesa.flow import harmonic_number, loss_coefficients, tidy

__all__ = ["offdiag_gradients", "full_one_offdiag_gradients", "masked_fixed_point"]


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
    d = symbolic_integer(d, "d", 1)
    if d.is_number and d < 2:
        raise ArgumentError(f"d must be >= 2 for off-diagonal entries, got {d}")
    law = as_law(law)
    k = loss_coefficients(d, T, law)
    a, b = symbolic_real(a, "a"), symbolic_real(b, "b")
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
    d = symbolic_integer(d, "d", 1)
    T = symbolic_integer(T, "T", 3)
    a, b = symbolic_real(a, "a"), symbolic_real(b, "b")
    if d.is_number and d < 2:
        raise ArgumentError(f"d must be >= 2 for off-diagonal entries, got {d}")
    H, H2 = harmonic_number(T - 2), harmonic_number(T - 2, 2)
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
    d, T = symbolic_integer(d, "d", 1), symbolic_integer(T, "T", 3, allow_oo=True)
    scale = symbolic_positive(scale, "scale")
    if T == sp.oo:
        return tidy(1 / scale**2)
    return tidy((T - 2) / (scale**2 * ((T - 2) + (d - 1) * harmonic_number(T - 2))))
