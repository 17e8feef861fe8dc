"""Zheng et al. 2024, Theorem 4.1 (reconstructed: its name is the paper's, its finite-T form our
derivation checked against the authors' code): reduced loss, fixed point and gradient flow (sympy only).

Setting: x_{t+1} = W x_t with W = diag(e^{i theta_j}), theta_j ~ U[0, 2 pi); real x_1 from a
law; prediction y_hat_t = (1/(t-1)) B [sum_{i<t} x_{i+1} x_i^H] A x_t with the red blocks
A = W^KQ_32, B = W^PV_12; loss L = E sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2.
With S = T - 2, H = H_{T-2} = sum_{t=2}^{T-1} 1/(t-1) and the moments of
:func:`theory.mesa.moments.mesa_moments`, the loss on the scalar manifold A = aI, B = bI is

    L(c) = (d/2) [S m2 - 2 S k1 c + Acal c^2],   c = ab,   Acal = S k2 + (d-1) H k3,

and gradient flow on the entries converges to c* = S k1 / Acal (notes Sections 3.2-3.5).
Exact at finite T: ``harmonic(T - 2)`` keeps symbolic T exact.
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError, symbolic_integer, symbolic_real
from theory.laws import as_law
from theory.mesa.moments import mesa_moments, require_assumption_41

__all__ = [
    "loss_coefficients",
    "reduced_loss",
    "diagonal_loss",
    "fixed_point",
    "fixed_point_limit",
    "population_optimum",
    "scalar_flow_rhs",
    "diagonal_flow_rhs",
    "product_flow_rhs",
    "conserved_quantity",
    "balanced_flow",
    "tidy",
]


def tidy(expr):
    """Exact numbers as they are; formulas factored (fast, readable; no costly simplify).

    The output form of every closed form of :mod:`theory.mesa` (fixed points, optima, errors).
    """
    return expr if expr.is_number else sp.factor(expr)


#: largest n for which H_n is kept as an exact rational (its numerator has ~430 digits at n = 1000 and
#: sympy builds it in 0.1 s; at n = 10^5 it takes minutes); above it, a 50-digit Float
EXACT_HARMONIC_MAX = 1000


def harmonic_number(n, order: int = 1) -> sp.Expr:
    """H_n^(order) = sum_{k=1}^n k^-order: exact for symbolic n or n <= :data:`EXACT_HARMONIC_MAX`,
    else evaluated to 50 digits (mpmath: digamma for order 1, Hurwitz zeta for order 2).

    Examples
    --------
    >>> harmonic_number(3), harmonic_number(3, 2)
    (11/6, 49/36)
    >>> float(harmonic_number(10**6)) - 14.392726722864773 < 1e-12
    True
    """
    n = sp.sympify(n)
    if not n.is_number or n <= EXACT_HARMONIC_MAX:
        return sp.harmonic(n, order)
    import mpmath

    with mpmath.workdps(50):
        value = (mpmath.digamma(int(n) + 1) + mpmath.euler if order == 1
                 else mpmath.zeta(order) - mpmath.zeta(order, int(n) + 1))
        return sp.Float(value, 50)


def loss_coefficients(d, T, law) -> dict:
    """The constants of the reduced loss: S = T-2, H = H_{T-2}, H2 = H^(2)_{T-2}, Acal and the moments.

    Acal = S k2 + (d-1) H k3 is the curvature of L(c) (notes Section 3.2); the keys are
    ``d, S, H, H2, Acal, m2, k1, k2, k3``.

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> loss_coefficients(2, 3, Gaussian(1))["Acal"]
    18
    """
    d, T = symbolic_integer(d, "d", 1), symbolic_integer(T, "T", 3)
    mom = mesa_moments(law, d)
    S, H = T - 2, harmonic_number(T - 2)
    return dict(mom, d=d, S=S, H=H, H2=harmonic_number(T - 2, 2),
                Acal=S * mom["k2"] + (d - 1) * H * mom["k3"])


def _theorem_law(law, d, masked: bool, where: str):
    return as_law(law) if masked else require_assumption_41(law, d, where)


def reduced_loss(c, d, T, law) -> sp.Expr:
    """Population loss on the scalar manifold A = aI, B = bI as a function of c = ab.

    L(c) = (d/2) [S m2 - 2 S k1 c + (S k2 + (d-1) H_{T-2} k3) c^2],  S = T - 2
    (Zheng et al. 2024, the loss behind Theorem 4.1; notes Section 3.2).  Valid for every
    exchangeable law, including FullOne (where the unmasked flow leaves the manifold).

    Examples
    --------
    >>> from theory.laws import SparseAxis
    >>> reduced_loss(1, 5, 10, SparseAxis(1))
    0
    """
    k = loss_coefficients(d, T, law)
    c = symbolic_real(c, "c")
    loss = k["d"] / 2 * (k["S"] * k["m2"] - 2 * k["S"] * k["k1"] * c + k["Acal"] * c**2)
    return sp.expand(loss)


def _vector(values, d, name):
    if not d.is_number:
        raise ArgumentError(f"d must be an integer for the diagonal manifold, got {d}")
    n = int(d)
    if values is None:
        return [sp.Symbol(f"{name}_{j + 1}", real=True) for j in range(n)]
    values = list(values)
    if len(values) != n:
        raise ArgumentError(f"{name} must have d = {n} entries, got {len(values)}")
    return [symbolic_real(v, name) for v in values]


def diagonal_loss(a, b, d, T, law) -> sp.Expr:
    """Population loss on the diagonal manifold A = diag(a_k), B = diag(b_j) (notes Section 3.2).

    L = 1/2 sum_j [ S (m2 - 2 a_j b_j k1 + a_j^2 b_j^2 k2) + H_{T-2} k3 b_j^2 sum_{k != j} a_k^2 ].

    Parameters
    ----------
    a, b : sequences of length d, or None for symbols a_1..a_d, b_1..b_d
    d : int
    T : int >= 3 or Symbol
    law : Law or str

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> diagonal_loss([1, 1], [0, 0], 2, 4, Gaussian(1))
    2
    """
    k = loss_coefficients(d, T, law)
    a, b = _vector(a, k["d"], "a"), _vector(b, k["d"], "b")
    total_a2 = sum(x**2 for x in a)
    loss = sum(k["S"] * (k["m2"] - 2 * aj * bj * k["k1"] + aj**2 * bj**2 * k["k2"])
               + k["H"] * k["k3"] * bj**2 * (total_a2 - aj**2) for aj, bj in zip(a, b)) / 2
    return sp.expand(loss)


def fixed_point(d, T, law, masked: bool = False) -> sp.Expr:
    """c* = a~ b~, the limit of gradient flow from a diagonal start (Theorem 4.1, reconstructed).

    c* = S k1 / (S k2 + (d - 1) H_{T-2} k3),  S = T - 2,
    the minimiser of :func:`reduced_loss`; ``T = oo`` gives the limit k1/k2.  The law must
    satisfy Assumption 4.1 (otherwise the flow leaves the scalar manifold) unless
    ``masked=True``: with the off-diagonal gradients of the red blocks masked (the code's
    ``--clip``) the flow stays scalar for every law, e.g. FullOne gives
    (T-2)/((T-2) + (d-1) H_{T-2}).

    Raises
    ------
    ValueError
        d < 1, T < 3, or a law that breaks Assumption 4.1 with ``masked=False``.

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> fixed_point(2, 3, Gaussian(1))
    1/6
    """
    T = symbolic_integer(T, "T", 3, allow_oo=True)
    law = _theorem_law(law, d, masked, "fixed_point (Theorem 4.1)")
    if T == sp.oo:
        return fixed_point_limit(d, law, masked=True)
    k = loss_coefficients(d, T, law)
    return tidy(k["S"] * k["k1"] / k["Acal"])


def fixed_point_limit(d, law, masked: bool = False) -> sp.Expr:
    """lim_{T -> oo} c* = k1 / k2 (the paper's plotted line, 1/(5 sigma^2) for Gaussian x_1).

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> fixed_point_limit(5, Gaussian(2))
    1/20
    """
    law = _theorem_law(law, d, masked, "fixed_point_limit (Theorem 4.1)")
    mom = mesa_moments(law, d)
    return tidy(mom["k1"] / mom["k2"])


def population_optimum(d, T, law, masked: bool = False) -> sp.Expr:
    """L* = L(c*) = (d/2) (S m2 - S^2 k1^2 / Acal), the loss at the fixed point (notes Section 5).

    Examples
    --------
    >>> from theory.laws import SparseAxis
    >>> population_optimum(5, 100, SparseAxis(1))
    0
    """
    law = as_law(law)
    c_star = fixed_point(d, T, law, masked=masked)
    return tidy(reduced_loss(c_star, d, T, law))


def scalar_flow_rhs(a, b, d, T, law, masked: bool = False) -> sp.Matrix:
    """Right-hand side of the gradient flow on the scalar manifold (notes Section 3.5).

    Every diagonal entry of A = aI and of B = bI has the same gradient, so
    da/dtau = b (S k1 - Acal a b),  db/dtau = a (S k1 - Acal a b)
    (unbalanced starts included).  Requires Assumption 4.1 unless ``masked``.

    Examples
    --------
    >>> from theory.laws import SparseAxis
    >>> scalar_flow_rhs(1, 1, 2, 3, SparseAxis(1))
    Matrix([
    [0],
    [0]])
    """
    law = _theorem_law(law, d, masked, "the scalar flow")
    k = loss_coefficients(d, T, law)
    a, b = symbolic_real(a, "a"), symbolic_real(b, "b")
    drive = k["S"] * k["k1"] - k["Acal"] * a * b
    return sp.Matrix([b * drive, a * drive])


def diagonal_flow_rhs(a, b, d, T, law, masked: bool = False) -> sp.Matrix:
    """Gradient flow on the diagonal manifold: (-dL/da_1..d, -dL/db_1..d) of :func:`diagonal_loss`.

    Under Assumption 4.1 (sign-flip symmetry of the moments) the off-diagonal gradients
    vanish at every diagonal point, so this is the full flow from a diagonal start; with
    ``masked=True`` it is the masked flow for any law.

    Examples
    --------
    >>> from theory.laws import SparseAxis
    >>> diagonal_flow_rhs([1, 1], [1, 1], 2, 3, SparseAxis(1)).T
    Matrix([[0, 0, 0, 0]])
    """
    law = _theorem_law(law, d, masked, "the diagonal flow")
    d_expr = symbolic_integer(d, "d", 1)
    a_sym, b_sym = _vector(None, d_expr, "a"), _vector(None, d_expr, "b")
    loss = diagonal_loss(a_sym, b_sym, d, T, law)
    a, b = _vector(a, d_expr, "a"), _vector(b, d_expr, "b")
    values = dict(zip(a_sym + b_sym, a + b))
    return sp.Matrix([sp.expand(-sp.diff(loss, s).subs(values, simultaneous=True)) for s in a_sym + b_sym])


def product_flow_rhs(c, Delta, d, T, law, masked: bool = False) -> sp.Expr:
    """dc/dtau for c = ab: (a^2 + b^2)(S k1 - Acal c) = sqrt(Delta^2 + 4 c^2) (S k1 - Acal c).

    Delta = a^2 - b^2 is conserved (:func:`conserved_quantity`), so c alone obeys a scalar
    ODE (notes Section 3.5).

    Examples
    --------
    >>> from theory.laws import SparseAxis
    >>> product_flow_rhs(1, 0, 3, 5, SparseAxis(1))
    0
    """
    law = _theorem_law(law, d, masked, "the product flow")
    k = loss_coefficients(d, T, law)
    c, Delta = symbolic_real(c, "c"), symbolic_real(Delta, "Delta")
    return sp.sqrt(Delta**2 + 4 * c**2) * (k["S"] * k["k1"] - k["Acal"] * c)


def conserved_quantity(a, b) -> sp.Expr:
    """sum a_k^2 - sum b_j^2, conserved by gradient flow (a^2 - b^2 on the scalar manifold).

    The prediction is bilinear in (W^PV, W^KQ), so L(s W^PV, W^KQ/s) = L and
    |W^KQ|_F^2 - |W^PV|_F^2 is conserved by the flow (Theorem 4.1 as reconstructed: a~^2 - b~^2 = a0^2 - b0^2).
    Accepts scalars, sequences or matrices (real entries).

    Examples
    --------
    >>> conserved_quantity(2, 1)
    3
    """
    def squares(x, name):
        if isinstance(x, (list, tuple, sp.MatrixBase)):
            return sum((symbolic_real(v, name) ** 2 for v in x), sp.Integer(0))
        return symbolic_real(x, name) ** 2
    return sp.expand(squares(a, "a") - squares(b, "b"))


def balanced_flow(tau, c0, d, T, law, masked: bool = False) -> sp.Expr:
    """c(tau) under gradient flow from the balanced start a0 = b0 = sqrt(c0) (derived; Theorem 4.1, reconstructed).

    With a = b the flow dc/dtau = 2 c (S k1 - Acal c) is logistic:
    c(tau) = c* / (1 + (c*/c0 - 1) exp(-2 S k1 tau)),  c* = S k1 / Acal.
    c0 = 0 is the saddle (c stays 0).  Requires Assumption 4.1 unless ``masked``.

    Raises
    ------
    ValueError
        c0 < 0 (no balanced real start), T = oo, or as for :func:`fixed_point`.

    Examples
    --------
    >>> from theory.laws import SparseAxis
    >>> balanced_flow(0, sp.Rational(1, 100), 5, 100, SparseAxis(1))
    1/100
    """
    law = _theorem_law(law, d, masked, "balanced_flow (Theorem 4.1)")
    k = loss_coefficients(d, T, law)
    tau, c0 = symbolic_real(tau, "tau"), symbolic_real(c0, "c0")
    if c0.is_negative:
        raise ArgumentError(f"c0 must be >= 0 (a0 = b0 = sqrt(c0)), got {c0}")
    if c0.is_zero:
        return sp.Integer(0)
    c_star = tidy(k["S"] * k["k1"] / k["Acal"])
    # c* / (1 + (c*/c0 - 1) e^{-r tau}) written without nested fractions
    return c0 * c_star / (c0 + (c_star - c0) * sp.exp(-2 * k["S"] * k["k1"] * tau))
