"""Theorem checks for Zheng et al. (2024): symbolic = exact phase grid = trained, each with an argued tolerance.

The training runs are :mod:`validation.runs.zheng2024`'s check runs, of two kinds:

* on the exact phase grid (``phase_grid``): the weighted training set *is* the population, so GD
  is GD on the population loss and must land on the theory values up to float64 rounding
  (tolerances 1e-9 to 1e-12, plus the remaining distance of the discrete GD recursion of
  ``numerics.mesa.manifold_gd``, an independent numpy route);
* on sampled sequences (the paper's protocol): tolerances from standard errors computed on the
  run's own data (delta method for the fixed point, sample SE for test metrics), times 5.

``profile="quick"`` uses small sizes (the whole list runs in a few minutes on 2 cores);
``"paper"`` uses d = 5, T = 100, m = 10^4 and Table 1's step sizes for the sampled runs.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from numerics.mesa import balanced_flow_curve, c_star, manifold_gd, phase_grid_loss_and_grad, red_params
from theory import mesa as tm
from theory.laws import FullOne, Gaussian, SparseAxis
from validation.checks import CheckResult, check_profile, compare
from validation.runs.zheng2024 import check_run, check_settings

PAPER = "zheng2024"

__all__ = ["CHECKS", "check_fixed_point", "check_balance", "check_trajectory", "check_red_invariance",
           "check_capability", "check_full_one", "check_errata"]


def _lag(cfg, masked=False):
    """|c_GD(epochs) - c*| of the discrete GD recursion on the population manifold (numpy route)."""
    a, b = manifold_gd(cfg.get("a0", 0.1), cfg.get("b0", 0.1), cfg["d"], cfg["T"], cfg["law"], cfg["lr"],
                       cfg["epochs"], masked=masked)
    return abs(a[-1] * b[-1] - c_star(cfg["d"], cfg["T"], cfg["law"], masked=masked)), a, b


def check_fixed_point(profile: str) -> list[CheckResult]:
    """Theorem 4.1: c* symbolic = zero of the exact phase-grid gradient = trained (grid and sample)."""
    cfg = check_settings(profile, "gauss_grid")
    d, T, law = cfg["d"], cfg["T"], Gaussian(1)
    c = c_star(d, T, law)
    P, Q = red_params(math.sqrt(c), math.sqrt(c), d)
    _, gP, gQ = phase_grid_loss_and_grad(P, Q, d, T, law)
    out = [compare(PAPER, f"Thm 4.1: exact population gradient vanishes at c* (grid, d={d}, T={T})", 0.0,
                   float(max(np.abs(gP).max(), np.abs(gQ).max())), 1e-10,
                   detail="phase-grid average is exact (degree <= 3(T-2) < n_grid); 1e-10 = rounding of ~1e4 terms")]
    r = check_run(profile, "gauss_grid")
    lag = _lag(cfg)[0]
    out.append(compare(PAPER, f"Thm 4.1: GD on the exact population reaches c* = {c:.6f}", c, r.final_ab,
                       lag + 1e-10, detail=f"training set = phase grid (population); tolerance = remaining "
                                           f"distance of the manifold GD recursion ({lag:.1e}) + 1e-10"))
    cfg = check_settings(profile, "gauss_sample")
    r = check_run(profile, "gauss_sample")
    c = c_star(cfg["d"], cfg["T"], cfg["law"])
    lag = _lag(cfg)[0]
    out.append(compare(PAPER, f"Thm 4.1: trained ab (m={cfg['m']}, d={cfg['d']}, T={cfg['T']}) within 5 SE of c*",
                       c, r.final_ab, 5 * r.c_empirical_se + lag,
                       detail=f"SE {r.c_empirical_se:.2g} = delta-method SE of the empirical scalar-manifold minimiser "
                              f"({r.c_empirical:.4f}) from the heavy-tailed x^6 terms; + GD lag {lag:.1e}"))
    return out


def check_balance(profile: str) -> list[CheckResult]:
    """a^2 - b^2 is conserved by gradient flow; GD moves it by exactly -(lr^2/d) sum(|G_P|^2 - |G_Q|^2)."""
    out = []
    for name in ("gauss_sample", "gauss_grid_unbalanced"):
        r = check_run(profile, name)
        scale = max(1.0, abs(r.balance[0]))
        out.append(compare(PAPER, f"GD changes (|Q|^2-|P|^2)/d only by lr^2 sum(|G_P|^2-|G_Q|^2)/d ({name})",
                           r.balance[0] + r.balance_drift[-1], r.balance[-1], 1e-10 * scale,
                           detail="(P,Q) -> (sP, Q/s) leaves the loss invariant, so <P,G_P> = <Q,G_Q>; "
                                  f"drift {r.balance_drift[-1]:.2e} = O(lr^2); 1e-10 = rounding"))
    cfg = check_settings(profile, "gauss_grid_unbalanced")
    r = check_run(profile, "gauss_grid_unbalanced")
    conserved = cfg["a0"] ** 2 - cfg["b0"] ** 2
    out.append(compare(PAPER, "Thm 4.1: a~^2 - b~^2 = a0^2 - b0^2 (unbalanced start, exact population)",
                       conserved, r.a[-1] ** 2 - r.b[-1] ** 2, abs(r.balance_drift[-1]) + 1e-9,
                       detail="grid run stays on the scalar manifold; tolerance = the GD drift O(lr^2) + 1e-9"))
    lag = _lag(cfg)[0]
    out.append(compare(PAPER, "Thm 4.1: unbalanced start still converges to c*", c_star(cfg["d"], cfg["T"], cfg["law"]),
                       r.final_ab, lag + 1e-9, detail=f"manifold GD lag {lag:.1e} + 1e-9"))
    return out


def check_trajectory(profile: str) -> list[CheckResult]:
    """ab(epoch) against the discrete manifold GD (exact) and the closed-form balanced flow (small step)."""
    out = []
    for name in ("gauss_grid", "gauss_grid_slow"):
        cfg = check_settings(profile, name)
        r = check_run(profile, name)
        _, a, b = _lag(cfg)
        out.append(compare(PAPER, f"trained ab(epoch) = GD recursion on the population manifold ({name})",
                           0.0, float(np.abs(r.ab - a * b).max()), 1e-10,
                           detail="sup over epochs; the grid run is population GD, the recursion is "
                                  "numerics.mesa.manifold_gd (numpy)"))
    cfg = check_settings(profile, "gauss_grid_slow")
    r = check_run(profile, "gauss_grid_slow")
    k = tm.loss_coefficients(cfg["d"], cfg["T"], cfg["law"])
    rate = float(2 * k["S"] * k["k1"])
    c = c_star(cfg["d"], cfg["T"], cfg["law"])
    flow = balanced_flow_curve(cfg["lr"] * np.arange(cfg["epochs"] + 1), cfg["a0"] * cfg["b0"] if "a0" in cfg else 0.01,
                               cfg["d"], cfg["T"], cfg["law"])
    h = cfg["lr"] * rate
    out.append(compare(PAPER, "ab(epoch) follows the closed-form balanced flow at tau = lr * epoch",
                       0.0, float(np.abs(r.ab - flow).max()), h * c,
                       detail=f"GD = Euler steps of the logistic flow with h*rate = {h:.3f}; global error "
                              f"<= h*rate*c* (first-order method on a contracting flow)"))
    if profile == "paper":
        cfg = check_settings(profile, "gauss_sample")
        r = check_run(profile, "gauss_sample")
        k = tm.loss_coefficients(cfg["d"], cfg["T"], cfg["law"])
        h = cfg["lr"] * float(2 * k["S"] * k["k1"])
        c = c_star(cfg["d"], cfg["T"], cfg["law"])
        flow = balanced_flow_curve(cfg["lr"] * np.arange(cfg["epochs"] + 1), 0.01, cfg["d"], cfg["T"], cfg["law"])
        out.append(compare(PAPER, "paper run: ab(epoch) within 5 SE of the balanced flow", 0.0,
                           float(np.abs(r.ab - flow).max()), 5 * r.c_empirical_se + h * c,
                           detail="finite-sample SE of c (delta method) x 5 + discretisation h*rate*c*"))
    return out


def check_red_invariance(profile: str) -> list[CheckResult]:
    """Structural lemma: from a red-only start the non-red blocks stay exactly zero (population GD)."""
    out = []
    for name in ("gauss_grid", "full_one_masked", "full_one_unmasked"):
        r = check_run(profile, name)
        out.append(compare(PAPER, f"non-red blocks stay 0 from a red start ({name}, exact population)",
                           0.0, float(r.offred_norm.max()), 1e-12,
                           detail="their population gradient vanishes on the red-only set (phase degrees); "
                                  "1e-12 = rounding; a step size above 2/curvature of the non-red directions "
                                  "would amplify the rounding (seen at lr = 0.05 for full-one d = 3, T = 8)"))
    r = check_run(profile, "gauss_sample")
    out.append(compare(PAPER, "sampled run: non-red blocks small next to the red ones (finite-sample noise only)",
                       0.0, float(r.offred_norm[-1]), float(np.abs(np.diag(r.red_blocks[0])).sum() / 2),
                       detail="non-red gradients are zero in population but O(m^-1/2) on m sequences; "
                              "tolerance: half the trace of |A|"))
    return out


def check_capability(profile: str) -> list[CheckResult]:
    """Proposition 4.1 (Gaussian fails: ratio -> c* sigma^2) and Example 4.1 (sparse recovers: MSE -> 0)."""
    cfg = check_settings(profile, "gauss_sample")
    r = check_run(profile, "gauss_sample")
    law = Gaussian(1)
    ratio_theory = float(tm.prediction_ratio(sp.Rational(r.final_ab), cfg["d"], law))
    out = [compare(PAPER, "Prop 4.1: mean pred/true ratio at the last position = ab m2 (not 1)", ratio_theory,
                   r.ratio[-1], 5 * r.ratio_se, detail=f"5 x test-sample SE ({r.ratio_se:.2g}); theory c*sigma^2 "
                                                       f"= {c_star(cfg['d'], cfg['T'], law):.4f}")]
    e_theory = float(tm.position_error(cfg["T"] - 1, sp.Rational(r.final_ab), cfg["d"], law))
    out.append(compare(PAPER, "Prop 4.1: last-position test MSE = position_error(T-1, ab) > 0", e_theory,
                       r.test_mse[-1], 5 * r.test_mse_se + 0.05 * e_theory,
                       detail=f"5 x test SE ({r.test_mse_se:.2g}) + 5% for the off-manifold parameters "
                              f"(non-red norm {r.offred_norm[-1]:.2g}); relative error "
                              f"{float(tm.asymptotic_relative_error(cfg['d'], cfg['T'], law)):.3f} as t -> oo"))
    cfg = check_settings(profile, "sparse_sample")
    r = check_run(profile, "sparse_sample")
    lag = _lag(cfg)[0]
    # per-coordinate rates: only sequences whose active axis is j move A_jj, B_jj, so coordinate j runs the
    # manifold recursion with lr * f_j, f_j = d n_j / m, sd(f_j) = sqrt((d-1)/m) (binomial counts)
    eps = 1e-3
    hi, lo = (_lag(dict(cfg, lr=cfg["lr"] * (1 + s)))[1:] for s in (eps, -eps))
    sens = abs(hi[0][-1] * hi[1][-1] - lo[0][-1] * lo[1][-1]) / (2 * eps)
    spread = 5 * sens * math.sqrt((cfg["d"] - 1) / cfg["m"])
    out.append(compare(PAPER, "Example 4.1: sparse start, ab -> 1/c^2 (no finite-m bias in the fixed point)", 1.0,
                       r.final_ab, lag + spread + r.offred_norm[-1] ** 2,
                       detail=f"kappa3 = 0 and |x_1|^2 = c^2 per sequence, so every coordinate's limit is exactly "
                              f"1/c^2; tolerance = manifold-GD lag {lag:.2g} + 5 x (d ab/d log lr = {sens:.2g}) x "
                              f"sd of the per-coordinate rate factors + |non-red|^2"))
    A, B = r.red_blocks
    diag_error = float(np.mean((1 - (np.diag(A) * np.diag(B)).real) ** 2))
    out.append(compare(PAPER, "Example 4.1: last-position error = mean_j (1 - a_j b_j)^2 (exact for diagonal red blocks)",
                       diag_error, r.test_mse[-1], 5 * r.test_mse_se + 1e-3 * r.test_mse[0],
                       detail="x_1 = +-e_k gives y_hat = a_k b_k x_{t+1} exactly; 5 test SE + 0.1% of the start "
                              "error for the finite-sample non-red parameters"))
    out.append(CheckResult(PAPER, "Thm 4.2 / Example 4.1: sparse start recovers (test MSE falls below 1% of its start)",
                           r.test_mse[0] / 100, r.test_mse[-1], 0.0, bool(r.test_mse[-1] < r.test_mse[0] / 100),
                           f"theory: error -> 0; start {r.test_mse[0]:.3g}; the Gaussian run keeps "
                           f"{float(tm.asymptotic_relative_error(5, 100, Gaussian(1))):.0%} of E|x|^2", False, "<"))
    return out


def check_full_one(profile: str) -> list[CheckResult]:
    """Beyond Assumption 4.1 (full-one start): off-diagonal gradients, masked fixed point, unmasked is better."""
    cfg = check_settings(profile, "full_one_step")
    r = check_run(profile, "full_one_step")
    d, T, lr = cfg["d"], cfg["T"], cfg["lr"]
    gB, gA = (float(g) for g in tm.full_one_offdiag_gradients(sp.Rational(1, 10), sp.Rational(1, 10), d, T))
    A, B = r.red_blocks
    off = ~np.eye(d, dtype=bool)
    out = [compare(PAPER, "full-one: first GD step moves A_jk by -lr dL/dA_jk (closed form)", -lr * gA,
                   float(A[off].real.mean()), 1e-12, detail="exact population (grid); 1e-12 = rounding"),
           compare(PAPER, "full-one: first GD step moves B_jk by -lr dL/dB_jk (closed form)", -lr * gB,
                   float(B[off].real.mean()), 1e-12, detail="exact population (grid); 1e-12 = rounding")]
    cfg = check_settings(profile, "full_one_masked")
    rm = check_run(profile, "full_one_masked")
    c = float(tm.masked_fixed_point(d, T))
    lag = _lag(cfg, masked=True)[0]
    out.append(compare(PAPER, f"full-one masked: ab -> (T-2)/((T-2)+(d-1)H_(T-2)) = {c:.6f}", c, rm.final_ab,
                       lag + 1e-9, detail=f"exact population GD with the code's --clip; lag {lag:.1e} + 1e-9"))
    Lstar = float(tm.population_optimum(d, T, FullOne(1), masked=True))
    out.append(compare(PAPER, "full-one masked: loss -> population optimum L*", Lstar, rm.final_loss,
                       1e-9 * Lstar + lag * 10 * Lstar, detail="relative rounding + lag"))
    ru = check_run(profile, "full_one_unmasked")
    a = b = math.sqrt(c)
    gB, gA = (float(g) for g in tm.full_one_offdiag_gradients(sp.Rational(a), sp.Rational(b), d, T))
    A, B = ru.red_blocks
    for name, block, g in (("A", A, gA), ("B", B, gB)):
        measured = float(block[off].real.mean())
        out.append(compare(PAPER, f"full-one unmasked: sign of the {name} off-diagonals = sign of -dL/d{name}_jk "
                                  f"at the masked fixed point", -math.copysign(1.0, g), math.copysign(1.0, measured),
                           0.0, detail=f"closed-form gradient {g:.4f}; trained mean off-diagonal {measured:.4f}"))
    out.append(CheckResult(PAPER, "full-one unmasked: loss below the masked (vanilla-GD) optimum L*", Lstar,
                           ru.final_loss, 1e-6, bool(ru.final_loss < Lstar - 1e-6),
                           "the trained model is not vanilla one-step GD (notes 3.7); exact population, so a "
                           "margin of 1e-6 (rounding) suffices", False, "<"))
    return out


def check_errata(profile: str) -> list[CheckResult]:
    """Errata: the paper's Gaussian line 1/(5 sigma^2) is the T -> oo limit; exact c*(5, 100) = 0.19191."""
    check_profile(profile)
    exact = c_star(5, 100, Gaussian(1))
    H = np.sum(1.0 / np.arange(1, 99))  # H_98, float route independent of sympy
    direct = 1.0 / (5.0 + 4.0 * H / 98.0)
    out = [compare(PAPER, "errata: exact c*(d=5, T=100, sigma=1) = 0.19191, paper plots 0.2", exact, direct, 1e-12,
                   detail=f"sympy harmonic vs float sum; the paper's line is {100 * (0.2 / exact - 1):.2f}% high, "
                          "below what a 10^4-sequence run resolves (SE ~2-4%)")]
    Tbig = 10**7
    Hb = np.sum(1.0 / np.arange(1, Tbig - 1))
    limit = float(tm.fixed_point_limit(5, Gaussian(1)))
    out.append(compare(PAPER, "errata: 1/(5 sigma^2) = lim_{T->oo} c* (k1/k2)", limit,
                       1.0 / (5.0 + 4.0 * Hb / (Tbig - 2)), 1e-5,
                       detail="c*(T = 10^7) by the float formula; (d-1) H/T ~ 7e-6 remains"))
    sparse = float(tm.fixed_point(5, 100, SparseAxis(1)))
    out.append(compare(PAPER, "Example 4.1: sparse c* = 1/c^2 at every T (the paper's line is exact there)", 1.0,
                       sparse, 0.0, detail="kappa3 = 0: no finite-T correction"))
    return out


CHECKS = [check_fixed_point, check_balance, check_trajectory, check_red_invariance, check_capability,
          check_full_one, check_errata]
