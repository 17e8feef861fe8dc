"""The GD++ curvature map of von Oswald et al. 2023 (Section 3, eq. 24-25), exact.

GD++ moves every input by x <- (I - gamma X X^T) x, which maps the Hessian H = X X^T to
(I - gamma H) H (I - gamma H) = f(H) with f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3: the
map, its roots and extrema, and the matrix identity behind it.
"""
from __future__ import annotations

import sympy as sp

from theory.args import sizes, symbolic_positive
from theory.lsa.layers import expand

__all__ = ["gdpp_eigenvalue_map", "gdpp_eigenvalue_facts", "gdpp_hessian_residual"]


def gdpp_eigenvalue_map(lam, gamma) -> sp.Expr:
    """f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (von Oswald et al. 2023, eq. 25).

    GD++ maps the Hessian H = X X^T to (I - gamma H) H (I - gamma H), so each eigenvalue lam of
    H becomes f(lam) = lam (1 - gamma lam)^2 (see ``gdpp_hessian_residual``).

    Examples
    --------
    >>> gdpp_eigenvalue_map(2, sp.Rational(1, 4))
    1/2
    """
    lam, gamma = sp.sympify(lam), sp.sympify(gamma)
    return lam - 2 * gamma * lam**2 + gamma**2 * lam**3


def gdpp_eigenvalue_facts(gamma) -> dict:
    """Roots, local maximum and local minimum of the GD++ eigenvalue map, gamma > 0.

    Solved from f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (von Oswald et al. 2023, Sec. 3):
    roots 0 and 1/gamma (double), f' = 0 at 1/(3 gamma) (f'' = -2 gamma < 0: the maximum,
    f = 4/(27 gamma)) and at 1/gamma (the minimum, f = 0).

    Returns
    -------
    dict with keys ``roots`` (sorted list), ``argmax``, ``max``, ``argmin``, ``min``.

    Examples
    --------
    >>> gdpp_eigenvalue_facts(1)["max"]
    4/27
    """
    gamma = symbolic_positive(gamma, "gamma")
    g = sp.Dummy("gamma", positive=True)
    lam = sp.Dummy("lam", real=True)
    f = gdpp_eigenvalue_map(lam, g)
    roots = sorted(set(sp.solve(f, lam)), key=lambda r: r.subs(g, 1))
    critical = sp.solve(sp.diff(f, lam), lam)
    second = sp.diff(f, lam, 2)
    (argmax,) = [c for c in critical if sp.simplify(second.subs(lam, c)).is_negative]
    (argmin,) = [c for c in critical if sp.simplify(second.subs(lam, c)).is_positive]
    facts = {"roots": roots, "argmax": argmax, "max": sp.simplify(f.subs(lam, argmax)),
             "argmin": argmin, "min": sp.simplify(f.subs(lam, argmin))}
    sub = {g: gamma}
    return {k: [r.subs(sub) for r in v] if isinstance(v, list) else sp.simplify(v.subs(sub))
            for k, v in facts.items()}


def gdpp_hessian_residual(d_x, N) -> sp.Matrix:
    """H++ minus f(H) for the GD++ input map (von Oswald et al. 2023, eq. 24-25).

    With H = X X^T and X' = (I - gamma H) X:  X' X'^T = (I - gamma H) H (I - gamma H)
    = H - 2 gamma H^2 + gamma^2 H^3 = f(H), so every eigenvalue maps by
    f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (``gdpp_eigenvalue_map``).  Returns the zero matrix.
    """
    d_x, N = sizes(d_x=d_x, N=N)
    gamma = sp.Symbol("gamma")
    X = sp.Matrix(d_x, N, lambda k, i: sp.Symbol(f"x_{i + 1}_{k + 1}"))
    H = X * X.T
    Xpp = (sp.eye(d_x) - gamma * H) * X
    return expand(Xpp * Xpp.T - (H - 2 * gamma * H**2 + gamma**2 * H**3))

