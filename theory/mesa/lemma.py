"""Zheng et al. 2024: exact phase averages for small cases, and the structural lemma (sympy only).

With lambda_j = e^{i theta_j} the data x_t = W^{t-1} x_1 are Laurent polynomials in the
lambda_j (conj(lambda_j) = 1/lambda_j), so the average over theta_j ~ U[0, 2 pi) of any
polynomial in x_t, conj(x_t) is its constant term in the lambda_j: the exact population
average over W, pointwise in x_1.  Here that is done for the full model in the code's
layout: tokens e_t = (x_t, x_{t-1}) in C^{2d}, prediction
y_hat_t = W^PV E_t E_t^H W^KQ e_t / (t-1) with W^PV (d x 2d) and W^KQ (2d x 2d), and the
red blocks B = W^PV[:, :d] (paper W^PV_12) and A = W^KQ[d:, :d] (paper W^KQ_32).

The structural lemma (notes Section 3.1): at any point where only the red blocks are
non-zero, the phase-averaged gradient of every non-red entry vanishes, for every x_1.
Polynomials are handled in sympy's sparse polynomial rings (fast exact arithmetic).
"""
from __future__ import annotations

import sympy as sp
from sympy import QQ
from sympy.polys.rings import ring

from theory.args import ArgumentError, symbolic_integer
from theory.laws import as_law

__all__ = [
    "x1_symbols",
    "red_block_mask",
    "phase_averaged_gradients",
    "phase_averaged_loss",
    "structural_lemma",
    "law_expectation",
]

_RED_KINDS = ("scalar", "generic")


def _small(d, T):
    d = int(symbolic_integer(d, "d", 1))
    T = int(symbolic_integer(T, "T", 3))
    if d > 4 or T > 40:
        raise ArgumentError(f"d must be <= 4 and T <= 40 for exact symbolic phase averages, got d = {d}, T = {T}")
    return d, T


def x1_symbols(d: int) -> list:
    """Real symbols u_1..u_d for the coordinates of x_1."""
    return [sp.Symbol(f"u_{j + 1}", real=True) for j in range(d)]


def red_block_mask(d) -> tuple:
    """0/1 masks (W^PV: d x 2d, W^KQ: 2d x 2d) of the red blocks in the code's layout.

    Examples
    --------
    >>> red_block_mask(1)
    (Matrix([[1, 0]]), Matrix([
    [0, 0],
    [1, 0]]))
    """
    d = int(symbolic_integer(d, "d", 1))
    pv = sp.Matrix(d, 2 * d, lambda i, j: 1 if j < d else 0)
    kq = sp.Matrix(2 * d, 2 * d, lambda i, j: 1 if (i >= d and j < d) else 0)
    return pv, kq


def _engine(d: int, T: int, red: str, want_loss: bool):
    """Phase-averaged loss and gradients at a red-only point (code layout), as ring elements."""
    if red not in _RED_KINDS:
        raise ArgumentError(f"red must be one of {_RED_KINDS}, got {red!r}")
    u = x1_symbols(d)
    if red == "scalar":
        a, b = sp.symbols("a b", real=True)
        params = [a, b]
    else:
        A_sym = [[sp.Symbol(f"A_{j + 1}{k + 1}", real=True) for k in range(d)] for j in range(d)]
        B_sym = [[sp.Symbol(f"B_{j + 1}{k + 1}", real=True) for k in range(d)] for j in range(d)]
        params = [s for row in A_sym + B_sym for s in row]
    lam = [sp.Symbol(f"lambda_{j + 1}") for j in range(d)]
    mu = [sp.Symbol(f"mu_{j + 1}") for j in range(d)]  # mu_j = conj(lambda_j) = 1/lambda_j
    R, *gens = ring(u + params + lam + mu, QQ)
    ug, pg = gens[:d], gens[d:d + len(params)]
    lg, mg = gens[d + len(params):d + len(params) + d], gens[d + len(params) + d:]
    off = d + len(params)
    zero, n = R(0), 2 * d
    if red == "scalar":
        A = [[pg[0] if j == k else zero for k in range(d)] for j in range(d)]
        B = [[pg[1] if j == k else zero for k in range(d)] for j in range(d)]
    else:
        A = [pg[j * d:(j + 1) * d] for j in range(d)]
        B = [pg[d * d + j * d:d * d + (j + 1) * d] for j in range(d)]

    def x(t, conj=False):  # x_t (t >= 1), x_0 = 0
        base = mg if conj else lg
        return [base[j] ** (t - 1) * ug[j] if t >= 1 else zero for j in range(d)]

    def swap(f):  # complex conjugation: lambda <-> mu (x_1 and the parameters are real)
        out = {}
        for mon, coef in f.terms():
            m = list(mon)
            m[off:off + d], m[off + d:off + 2 * d] = m[off + d:off + 2 * d], m[off:off + d]
            out[tuple(m)] = coef
        return R(out)

    P0 = [[B[i][j] if j < d else zero for j in range(n)] for i in range(d)]
    Q0 = [[A[i - d][j] if (i >= d and j < d) else zero for j in range(n)] for i in range(n)]
    GP = [[zero] * n for _ in range(d)]
    GQ = [[zero] * n for _ in range(n)]
    loss = zero
    C = [[zero] * n for _ in range(n)]  # C_t = sum_{i <= t} e_i e_i^H
    for t in range(1, T):
        e_t, e_tc = x(t) + x(t - 1), x(t, True) + x(t - 1, True)
        C = [[C[p][q] + e_t[p] * e_tc[q] for q in range(n)] for p in range(n)]
        if t < 2:
            continue
        scale = QQ(1, t - 1)
        Qe = [sum((Q0[p][q] * e_t[q] for q in range(n)), zero) for p in range(n)]
        v = [sum((C[p][q] * Qe[q] for q in range(n)), zero) * scale for p in range(n)]  # C_t Q e_t/(t-1)
        r = [sum((P0[m][p] * v[p] for p in range(n)), zero) - x(t + 1)[m] for m in range(d)]
        rc = [swap(rm) for rm in r]
        if want_loss:
            loss += sum((rm * rcm for rm, rcm in zip(r, rc)), zero) * QQ(1, 2)
        # d l/d Re P_mp = Re(conj(r_m) v_p);  d l/d Re Q_pq = Re(conj(u_p) e_q), u = C P^H r/(t-1)
        for m in range(d):
            for p in range(n):
                GP[m][p] += rc[m] * v[p]
        w = [sum((P0[m][p] * rc[m] for m in range(d)), zero) for p in range(n)]
        Cw = [sum((C[q][p] * w[q] for q in range(n)), zero) * scale for p in range(n)]
        for p in range(n):
            for q in range(n):
                GQ[p][q] += Cw[p] * e_t[q]

    def const(f):
        """Constant term in the lambda_j (real: the average of Re(.) is Re of the average)."""
        out = {}
        for mon, coef in f.terms():
            if all(mon[off + j] == mon[off + d + j] for j in range(d)):
                m = list(mon)
                m[off:off + 2 * d] = [0] * (2 * d)
                out[tuple(m)] = out.get(tuple(m), 0) + coef
        return R(out).as_expr()

    G_pv = sp.Matrix(d, n, lambda i, j: const(GP[i][j]))
    G_kq = sp.Matrix(n, n, lambda i, j: const(GQ[i][j]))
    return u, params, G_pv, G_kq, (const(loss) if want_loss else None)


def law_expectation(expr, law, d) -> sp.Expr:
    """E over x_1 ~ law of a polynomial in the symbols u_1..u_d (the coordinates of x_1).

    Each monomial prod u_j^{p_j} becomes ``law.moment`` of its positive powers.

    Examples
    --------
    >>> from theory.laws import Gaussian
    >>> u1, u2 = x1_symbols(2)
    >>> law_expectation(u1**2 * u2**4 + u1, Gaussian(1), 2)
    3
    """
    law = as_law(law)
    d = int(symbolic_integer(d, "d", 1))
    u = x1_symbols(d)
    poly = sp.Poly(sp.expand(expr), *u)
    total = sp.Integer(0)
    for powers, coef in poly.terms():
        active = tuple(sorted((p for p in powers if p > 0), reverse=True))
        total += coef * (law.moment(active, d) if active else 1)
    return sp.expand(total)


def phase_averaged_gradients(d, T, red: str = "generic", law=None) -> tuple:
    """Exact phase average of the gradient of the sequence loss at a red-only point.

    l = sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2 is differentiated with respect to the real
    part of every entry of W^PV (d x 2d) and W^KQ (2d x 2d) (code layout; the torch
    convention dl/dRe + i dl/dIm has zero imaginary part here), at W^PV = [B, 0],
    W^KQ = [[0, 0], [A, 0]], and averaged exactly over the phases theta_j.

    Parameters
    ----------
    d, T : int
        Small sizes (d <= 4, 3 <= T <= 40).
    red : {"generic", "scalar"}
        ``generic``: A, B full symbolic matrices (A_jk, B_jk); ``scalar``: A = aI, B = bI.
    law : Law or str, optional
        If given, also average over x_1 ~ law; otherwise the result is a polynomial in
        u_1..u_d (the coordinates of x_1), i.e. it holds pointwise in x_1.

    Returns
    -------
    (Matrix, Matrix)
        Averaged gradients for W^PV and W^KQ.

    Examples
    --------
    >>> G_pv, G_kq = phase_averaged_gradients(1, 3, red="scalar", law="full_one(1)")
    >>> list(G_pv), list(G_kq)
    ([a*(a*b - 1), 0], [0, 0, b*(a*b - 1), 0])
    """
    d, T = _small(d, T)
    law = None if law is None else as_law(law)
    _, _, G_pv, G_kq, _ = _engine(d, T, red, want_loss=False)
    if law is not None:
        G_pv = G_pv.applyfunc(lambda g: law_expectation(g, law, d))
        G_kq = G_kq.applyfunc(lambda g: law_expectation(g, law, d))
    return G_pv.applyfunc(sp.factor), G_kq.applyfunc(sp.factor)


def phase_averaged_loss(d, T, law=None) -> sp.Expr:
    """Exact population loss at the scalar red point A = aI, B = bI, by phase averaging.

    An independent route to :func:`theory.mesa.flow.reduced_loss` (with c = ab) for small d, T:
    the constant term in the lambda_j of sum_t 1/2 |y_hat_t - x_{t+1}|^2, then (if ``law``
    is given) the expectation over x_1 from the law's moments.

    Examples
    --------
    >>> phase_averaged_loss(1, 3, "full_one(1)")
    a**2*b**2/2 - a*b + 1/2
    """
    d, T = _small(d, T)
    _, _, _, _, loss = _engine(d, T, "scalar", want_loss=True)
    return law_expectation(loss, law, d) if law is not None else sp.expand(loss)


def structural_lemma(d=2, T=4) -> bool:
    """The structural lemma of the notes (Section 3.1), proved exactly for one small case.

    At a point where only the red blocks A = W^KQ_32, B = W^PV_12 are non-zero (A, B
    generic symbolic matrices), the phase-averaged gradient of every non-red entry of
    W^KQ and W^PV is identically 0 as a polynomial in A, B and x_1 (so for every law of
    x_1), while the red-block gradients are not identically 0.  Returns True when both
    hold; "only red blocks non-zero" is then invariant under the gradient flow.

    Examples
    --------
    >>> structural_lemma(2, 3)
    True
    """
    d, T = _small(d, T)
    _, _, G_pv, G_kq, _ = _engine(d, T, "generic", want_loss=False)
    mask_pv, mask_kq = red_block_mask(d)
    non_red_zero = all(g == 0 for g, m in zip(list(G_pv) + list(G_kq), list(mask_pv) + list(mask_kq))
                       if m == 0)
    red_nonzero = any(g != 0 for g, m in zip(list(G_pv) + list(G_kq), list(mask_pv) + list(mask_kq))
                      if m == 1)
    return bool(non_red_zero and red_nonzero)
