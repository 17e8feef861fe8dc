"""Theorem checks for Zheng et al. (2024): symbolic = exact phase grid = trained, each with an argued tolerance.

Only the abstract, the captions and the authors' code were available: Assumptions 4.1/4.2, Theorems
4.1/4.2 and Proposition 4.1 are *reconstructed* (their names are the paper's, their exact form is our
derivation checked against the code; ``../shared/papers/zheng2024.md`` marks them [uncertain]).  Each
row's ``source`` says so: ``reconstructed`` for a row asserting such a result, ``derived`` for an
identity we derived (GD laws, closed forms), ``paper`` / ``code`` where the statement was read there.

The training runs are :mod:`validation.runs.zheng2024`'s check runs, of two kinds:

* on the exact phase grid (``phase_grid``): the weighted training set *is* the population, so GD
  is GD on the population loss and must land on the theory values up to float64 rounding
  (tolerances 1e-9 to 1e-12, plus the remaining distance of the discrete GD recursion of
  ``numerics.mesa.manifold_gd``, an independent numpy route);
* on sampled sequences (the paper's protocol): tolerances from standard errors computed on the
  run's own data (delta method for the fixed point, sample SE for test metrics), times 5, or from
  a seed-to-seed spread measured over 20 seeds (``benchmarks/zheng2024_spread.py``).

Seeds: a group with a ``seed`` argument trains its *sampled* runs with ``train_mesa(seed=seed)``,
whose streams are ``numerics.seeds.child_rng(seed, key)`` (``validation.mesa.data.streams``: keys 1
training set, 2 test set, 3 initialisation); the phase-grid runs have no randomness in training
and stay at seed 0.  Seed 0 is the default table.

``profile="quick"`` uses small sizes (the whole list runs in well under a minute on 2 cores);
``"paper"`` uses d = 5, T = 100, m = 10^4 and Table 1's step sizes for the sampled runs.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import sympy as sp
import torch

from numerics.mesa import balanced_flow_curve, balanced_gd_error_bound, c_star, manifold_gd, phase_grid_loss_and_grad, red_params
from theory import mesa as tm
from theory.laws import FullOne, Gaussian, SparseAxis
from validation.checks import CheckResult, check_profile, compare, exceeds
from validation.mesa.data import dataset, last_position_statistics
from validation.mesa.model import ARData
from validation.mesa.readouts import last_position_readout
from validation.runs.zheng2024 import check_run, check_settings

PAPER = "zheng2024"
#: seed-to-seed spreads of the sampled check runs (``python -m benchmarks.zheng2024_spread``)
SPREAD_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "zheng2024_spread.json"

__all__ = ["CHECKS", "check_fixed_point", "check_balance", "check_trajectory", "check_red_invariance",
           "check_capability", "check_full_one", "check_errata", "SPREAD_FILE"]


def _lag(cfg, masked=False):
    """|c_GD(epochs) - c*| of the discrete GD recursion on the population manifold (numpy route)."""
    a, b = manifold_gd(cfg.get("a0", 0.1), cfg.get("b0", 0.1), cfg["d"], cfg["T"], cfg["law"], cfg["lr"],
                       cfg["epochs"], masked=masked)
    return abs(a[-1] * b[-1] - c_star(cfg["d"], cfg["T"], cfg["law"], masked=masked)), a, b


def _spread(profile: str, name: str, key: str):
    """(mean, SD, n) of ``key`` of the sampled check run ``name`` over seeds 1..n, or None if not measured."""
    if not SPREAD_FILE.exists():
        return None
    entry = json.loads(SPREAD_FILE.read_text()).get(profile, {}).get(name, {}).get(key)
    return None if entry is None else (entry["mean"], entry["sd"], entry["n"])


def _tensors(r):
    return torch.as_tensor(np.asarray(r.P)), torch.as_tensor(np.asarray(r.Q))


def _test_error(P, Q, cfg, seed):
    """Last-position test error of weights (P, Q) on the run's own test set (rebuilt from its seed)."""
    ds = dataset(cfg["d"], cfg["T"], cfg["law"], cfg["m"], cfg["m_test"], seed)
    return last_position_readout(P, Q, ds.C_last, ds.e_last, ds.x_last, ds.nonzero, cfg["T"])


def _scalar_weights(ab, d):
    """P, Q of the scalar mesa-optimizer A = ab I, B = I (the code's layout), complex128."""
    P = torch.zeros(d, 2 * d, dtype=torch.complex128)
    Q = torch.zeros(2 * d, 2 * d, dtype=torch.complex128)
    P[:, :d] = torch.eye(d)
    Q[d:, :d] = ab * torch.eye(d)
    return P, Q


def _sparse_population_error(P, Q, d, T, scale):
    """Exact population error |y_hat_{T-1} - x_T|^2 of (P, Q) for x_1 uniform on {+-scale e_k}.

    Only coordinate k of a sequence is non-zero, so the other phases do not enter, and the error is a
    trigonometric polynomial of degree < 2T in theta_k: the 2d starts x a uniform grid of 3T phases
    is an exact average (the phase-grid argument of validation.mesa.data.grid_data, in one dimension).
    """
    n = 3 * T
    x1, theta = [], []
    for k in range(d):
        for s in (1.0, -1.0):
            for j in range(n):
                x = np.zeros(d)
                x[k] = s * scale
                th = np.zeros(d)
                th[k] = 2 * np.pi * j / n
                x1.append(x)
                theta.append(th)
    data = ARData.from_numpy(np.array(x1), np.array(theta), T)
    C, e, x = last_position_statistics(data)
    return last_position_readout(P, Q, C, e, x, x.abs() > 0, T)["test_mse"]


def check_fixed_point(profile: str, seed: int = 0) -> list[CheckResult]:
    """Theorem 4.1 (reconstructed): c* symbolic = zero of the exact phase-grid gradient = trained (grid and sample)."""
    cfg = check_settings(profile, "gauss_grid")
    d, T, law = cfg["d"], cfg["T"], Gaussian(1)
    c = c_star(d, T, law)
    P, Q = red_params(math.sqrt(c), math.sqrt(c), d)
    _, gP, gQ = phase_grid_loss_and_grad(P, Q, d, T, law)
    out = [compare(PAPER, f"Thm 4.1 (reconstructed): exact population gradient vanishes at c* (grid, d={d}, T={T})",
                   0.0, float(max(np.abs(gP).max(), np.abs(gQ).max())), 1e-10, source="reconstructed",
                   detail="phase-grid average is exact (degree <= 3(T-2) < n_grid); 1e-10 = rounding of ~1e4 terms")]
    r = check_run(profile, "gauss_grid")
    lag = _lag(cfg)[0]
    limit = float(tm.fixed_point_limit(d, law))
    out.append(compare(PAPER, f"Thm 4.1 (reconstructed): GD on the exact population reaches the finite-T c* = {c:.6f} "
                              f"({100 * (1 - c / limit):.1f} % below the limit k1/k2 = {limit:g})", c, r.final_ab,
                       lag + 1e-10, source="reconstructed",
                       detail=f"training set = phase grid (population); tolerance = remaining distance of the manifold "
                              f"GD recursion ({lag:.1e}) + 1e-10: the trained route resolves the finite-T correction "
                              f"of the erratum here (d = 2, T = 6), exactly"))
    cfg = check_settings(profile, "gauss_sample")
    r = check_run(profile, "gauss_sample", seed)
    c = c_star(cfg["d"], cfg["T"], cfg["law"])
    lag = _lag(cfg)[0]
    tol = 5 * r.c_empirical_se + lag
    limit = float(tm.fixed_point_limit(cfg["d"], cfg["law"]))
    sees = "excludes" if abs(limit - r.final_ab) > tol else "would also accept"
    out.append(compare(PAPER, f"Thm 4.1 (reconstructed): trained ab (m={cfg['m']}, d={cfg['d']}, T={cfg['T']}) "
                              f"within 5 SE of c*", c, r.final_ab, tol, source="reconstructed",
                       detail=f"SE {r.c_empirical_se:.2g} = delta-method SE of the empirical scalar-manifold minimiser "
                              f"({r.c_empirical:.4f}) from the heavy-tailed x^6 terms; + GD lag {lag:.1e}. 5 SE = "
                              f"+-{100 * tol / c:.0f} % of c*: this row {sees} the T -> oo line k1/k2 = {limit:g} "
                              f"({100 * (limit / c - 1):.1f} % above c*); at m = 10^4 (paper profile) the SE is still "
                              f"~3 %, so the sampled route cannot resolve the 4 % erratum at T = 100: the exact "
                              f"phase-grid row above and the errata rows carry it"))
    return out


def check_balance(profile: str, seed: int = 0) -> list[CheckResult]:
    """a^2 - b^2 is conserved by the gradient flow (Theorem 4.1, reconstructed); GD breaks it only at
    O(lr^2) per step, by the exact laws checked here."""
    out = []
    for name in ("gauss_sample", "gauss_grid_unbalanced"):
        r = check_run(profile, name, seed)
        scale = max(1.0, abs(r.balance[0]))
        out.append(compare(PAPER, f"GD changes (|Q|^2-|P|^2)/d only by lr^2 sum(|G_P|^2-|G_Q|^2)/d ({name})",
                           r.balance[0] + r.balance_drift[-1], r.balance[-1], 1e-10 * scale, source="derived",
                           detail="(P,Q) -> (sP, Q/s) leaves the loss invariant, so <P,G_P> = <Q,G_Q> and a GD step "
                                  "moves the balance by exactly -(lr^2/d)(|G_P|^2-|G_Q|^2) (drift accumulated from "
                                  f"the gradients during training, {r.balance_drift[-1]:.2e}); 1e-10 = rounding"))
    cfg = check_settings(profile, "gauss_grid_unbalanced")
    r = check_run(profile, "gauss_grid_unbalanced")
    D0 = cfg["a0"] ** 2 - cfg["b0"] ** 2
    # On the scalar manifold one GD step is a' = a - lr b g, b' = b - lr a g (g = Acal ab - S k1), so
    # a'^2 - b'^2 = (a^2 - b^2)(1 - lr^2 g^2) exactly: the product over the steps of the independent
    # numpy recursion (numerics.mesa.manifold_gd) predicts the trained balance, and
    # |D_K - D_0| <= |D_0| lr^2 sum_k g_k^2 (1 - prod(1 - x_k) <= sum x_k) bounds the drift a priori.
    _, a, b = _lag(cfg)
    k = tm.loss_coefficients(cfg["d"], cfg["T"], cfg["law"])
    g = float(k["Acal"]) * a[:-1] * b[:-1] - float(k["S"] * k["k1"])
    x = (cfg["lr"] * g) ** 2
    measured = r.a[-1] ** 2 - r.b[-1] ** 2
    out.append(compare(PAPER, "GD on the scalar manifold multiplies a^2 - b^2 by exactly (1 - lr^2 g_k^2) per step "
                              "(unbalanced start, exact population)", D0 * float(np.prod(1 - x)), measured, 1e-9,
                       source="derived",
                       detail="g_k = Acal a_k b_k - S k1 along the numpy manifold recursion (an independent route); "
                              "1e-9 = rounding over the epochs"))
    bound = abs(D0) * float(x.sum())
    out.append(compare(PAPER, "Thm 4.1 (reconstructed): a~^2 - b~^2 = a0^2 - b0^2 for the flow; GD's departure is "
                              "within the proven bound |D0| lr^2 sum_k g_k^2 = O(lr) at fixed flow time",
                       D0, measured, bound, source="reconstructed",
                       detail=f"bound {bound:.3g} from the numpy recursion, not from the run; it is lr x (lr sum g_k^2) "
                              f"-> lr x int g^2 dtau: halving lr (doubling the epochs) halves it, so the flow "
                              f"(lr -> 0) conserves a^2 - b^2 exactly"))
    lag = _lag(cfg)[0]
    out.append(compare(PAPER, "Thm 4.1 (reconstructed): unbalanced start still converges to c*",
                       c_star(cfg["d"], cfg["T"], cfg["law"]), r.final_ab, lag + 1e-9, source="reconstructed",
                       detail=f"exact population GD; tolerance = remaining distance of the manifold recursion "
                              f"{lag:.1e} + 1e-9 rounding"))
    return out


def check_trajectory(profile: str, seed: int = 0) -> list[CheckResult]:
    """ab(epoch) against the discrete manifold GD (exact) and the closed-form balanced flow (small step)."""
    out = []
    for name in ("gauss_grid", "gauss_grid_slow"):
        cfg = check_settings(profile, name)
        r = check_run(profile, name)
        _, a, b = _lag(cfg)
        out.append(compare(PAPER, f"trained ab(epoch) = GD recursion on the population manifold ({name})",
                           0.0, float(np.abs(r.ab - a * b).max()), 1e-10, source="derived",
                           detail="sup over epochs; the grid run is population GD, the recursion is "
                                  "numerics.mesa.manifold_gd (numpy); 1e-10 = rounding"))
    cfg = check_settings(profile, "gauss_grid_slow")
    r = check_run(profile, "gauss_grid_slow")
    k = tm.loss_coefficients(cfg["d"], cfg["T"], cfg["law"])
    c, c0 = c_star(cfg["d"], cfg["T"], cfg["law"]), cfg["a0"] * cfg["b0"] if "a0" in cfg else 0.01
    flow = balanced_flow_curve(cfg["lr"] * np.arange(cfg["epochs"] + 1), c0, cfg["d"], cfg["T"], cfg["law"])
    bound = balanced_gd_error_bound(cfg["epochs"], c0, cfg["lr"], cfg["d"], cfg["T"], cfg["law"])
    # proven bound (numerics.mesa.balanced_gd_error_bound); 1e-10 c* = the run's rounding (the row above)
    out.append(compare(PAPER, "ab(epoch) follows the closed-form balanced (logistic) flow at tau = lr * epoch, "
                       "within the proven Euler bound", 0.0, float(np.max(np.abs(r.ab - flow) / (bound + 1e-10 * c))),
                       1.0, source="derived",
                       detail=f"max over epochs of |ab - flow| / bound_k (eta = 2 S k1 lr = "
                              f"{2 * float(k['S'] * k['k1']) * cfg['lr']:.3f}; largest bound {bound.max():.2e}, largest "
                              f"gap {np.abs(r.ab - flow).max():.2e}); <= 1 is proven for exact arithmetic"))
    if profile == "paper":
        cfg = check_settings(profile, "gauss_sample")
        r = check_run(profile, "gauss_sample", seed)
        flow = balanced_flow_curve(cfg["lr"] * np.arange(cfg["epochs"] + 1), 0.01, cfg["d"], cfg["T"], cfg["law"])
        bound = balanced_gd_error_bound(cfg["epochs"], 0.01, cfg["lr"], cfg["d"], cfg["T"], cfg["law"])
        out.append(compare(PAPER, "paper run: ab(epoch) within 5 SE plus the proven Euler bound of the balanced flow",
                           0.0, float(np.max(np.abs(r.ab - flow) / (5 * r.c_empirical_se + bound))), 1.0,
                           source="derived", detail=f"max over epochs of |ab - flow| / (5 x the finite-sample SE of c "
                           f"(delta method, {r.c_empirical_se:.2e}) + bound_k); largest gap {np.abs(r.ab - flow).max():.2e}"))
    return out


def check_red_invariance(profile: str, seed: int = 0) -> list[CheckResult]:
    """Structural lemma (derived): from a red-only start the non-red blocks stay exactly zero (population GD)."""
    out = []
    for name in ("gauss_grid", "full_one_masked", "full_one_unmasked"):
        r = check_run(profile, name)
        out.append(compare(PAPER, f"non-red blocks stay 0 from a red start ({name}, exact population)",
                           0.0, float(r.offred_norm.max()), 1e-12, source="derived",
                           detail="their population gradient vanishes on the red-only set (phase degrees); "
                                  "1e-12 = rounding; a step size above 2/curvature of the non-red directions "
                                  "would amplify the rounding (seen at lr = 0.05 for full-one d = 3, T = 8)"))
    spread = _spread(profile, "gauss_sample", "offred_norm")
    if spread is not None:
        r = check_run(profile, "gauss_sample", seed)
        mean, sd, n = spread
        out.append(compare(PAPER, "sampled run: non-red norm at the finite-sample noise level (seed-to-seed band)",
                           mean, float(r.offred_norm[-1]), 5 * sd, source="derived",
                           detail=f"non-red gradients are zero in population but O(m^-1/2) on m sequences; band = "
                                  f"mean +- 5 SD over {n} seeds (benchmarks/zheng2024_spread.py); a non-red direction "
                                  f"that the population fits would grow to O(|A|) = O(1) instead"))
    return out


def check_capability(profile: str, seed: int = 0) -> list[CheckResult]:
    """Proposition 4.1 (Gaussian fails) and Theorem 4.2 / Example 4.1 (sparse recovers), all reconstructed."""
    cfg = check_settings(profile, "gauss_sample")
    r = check_run(profile, "gauss_sample", seed)
    d, T, law = cfg["d"], cfg["T"], Gaussian(1)
    ratio_theory = float(tm.prediction_ratio(sp.Rational(r.final_ab), d, law))
    out = [compare(PAPER, "Prop 4.1 (reconstructed): mean pred/true ratio at the last position = ab m2 (not 1)",
                   ratio_theory, r.ratio[-1], 5 * r.ratio_se, source="reconstructed",
                   detail=f"5 x test-sample SE ({r.ratio_se:.2g}); theory c* sigma^2 = {c_star(d, T, law):.4f}")]
    # the scalar mesa-optimizer at the trained ab, evaluated on the run's own test set: position_error is
    # its population value, so 5 test SE is the whole tolerance
    scalar = _test_error(*_scalar_weights(r.final_ab, d), cfg, seed)
    e_theory = float(tm.position_error(T - 1, sp.Rational(r.final_ab), d, law))
    out.append(compare(PAPER, "Prop 4.1 (reconstructed): last-position test MSE of the mesa-optimizer at the trained "
                              "ab = position_error(T-1, ab)", e_theory, scalar["test_mse"], 5 * scalar["test_mse_se"],
                       source="derived",
                       detail=f"A = ab I, B = I on the run's test set; 5 x test SE ({scalar['test_mse_se']:.2g}); the "
                              f"full trained weights give {r.test_mse[-1]:.4g} (their non-red/off-diagonal finite-sample "
                              f"parameters, norm {r.offred_norm[-1]:.2g}, are not part of this claim)"))
    c = sp.Symbol("c")
    e = tm.position_error(T - 1, c, d, law)
    floor = float(e.subs(c, sp.solve(sp.diff(e, c), c)[0]))
    out.append(exceeds(PAPER, "Prop 4.1 (reconstructed): Gaussian start does not recover: trained test MSE stays above "
                              "the best error of any scalar mesa-optimizer (minus 5 SE)", floor, r.test_mse[-1],
                       -5 * r.test_mse_se, source="reconstructed",
                       detail=f"floor min_c position_error(T-1, c) = {floor:.4g} > 0 (Cauchy-Schwarz: k1^2 < m2 k2 for "
                              f"the Gaussian) against E|x_T|^2 = {d}; relative error "
                              f"{float(tm.asymptotic_relative_error(d, T, law)):.3f} as t -> oo"))
    cfg = check_settings(profile, "sparse_sample")
    r = check_run(profile, "sparse_sample", seed)
    d, T, scale = cfg["d"], cfg["T"], 1.0
    lag = _lag(cfg)[0]
    # per-coordinate rates: only sequences whose active axis is j move A_jj, B_jj, so coordinate j runs the
    # manifold recursion with lr * f_j, f_j = d n_j / m, sd(f_j) = sqrt((d-1)/m) (binomial counts)
    eps = 1e-3
    hi, lo = (_lag(dict(cfg, lr=cfg["lr"] * (1 + s)))[1:] for s in (eps, -eps))
    sens = abs(hi[0][-1] * hi[1][-1] - lo[0][-1] * lo[1][-1]) / (2 * eps)
    sd_f = math.sqrt((d - 1) / cfg["m"])
    spread = 5 * sens * sd_f
    # the finite-sample non-red blocks pull a_k b_k off 1 (at first order: on m sequences the phase-degree
    # orthogonality holds only to O(m^-1/2)); relative pull <= |non-red|, their norm bounded by the band over
    # 20 other seeds
    band = _spread(profile, "sparse_sample", "offred_norm")
    # without a measured band at this profile (paper: run ``python -m benchmarks.zheng2024_spread paper``)
    # the run's own non-red norm stands in, and the detail says so
    nonred = (band[0] + 5 * band[1]) if band is not None else float(r.offred_norm[-1])
    where = "mean + 5 SD over 20 seeds (benchmarks/zheng2024_spread.py)" if band is not None else \
        "this run's own non-red norm (no band measured at this profile)"
    out.append(compare(PAPER, "Example 4.1 (reconstructed): sparse start, ab -> 1/c^2 (no finite-m bias in the fixed "
                              "point)", 1.0, r.final_ab, lag + spread + nonred, source="reconstructed",
                       detail=f"kappa3 = 0 and |x_1|^2 = c^2 per sequence, so every coordinate's limit is exactly "
                              f"1/c^2; tolerance = manifold-GD lag {lag:.2g} + 5 x (d ab/d log lr = {sens:.2g}) x "
                              f"sd of the per-coordinate rate factors + B (first-order pull of the non-red blocks), B = "
                              f"{nonred:.2g} = {where}; this run's "
                              f"non-red norm {r.offred_norm[-1]:.2g}"))
    P, Q = _tensors(r)
    exact = _sparse_population_error(P, Q, d, T, scale)
    out.append(compare(PAPER, "Example 4.1: sampled last-position test MSE = exact population error of the trained "
                              "weights", exact, r.test_mse[-1], 5 * r.test_mse_se, source="derived",
                       detail=f"population error by exact enumeration (2d starts x 3T phases); 5 x test SE "
                              f"({r.test_mse_se:.2g})"))
    A = np.asarray(r.red_blocks[0])
    B = np.asarray(r.red_blocks[1])
    Pr, Qr = _scalar_weights(0.0, d)
    Pr[:, :d] = torch.as_tensor(B)
    Qr[d:, :d] = torch.as_tensor(A)
    red_only = _sparse_population_error(Pr, Qr, d, T, scale)
    a_s, b_s = manifold_gd(cfg.get("a0", 0.1), cfg.get("b0", 0.1), d, T, cfg["law"], cfg["lr"] * (1 - 5 * sd_f),
                           cfg["epochs"])
    bound = scale**2 * (abs(1 - a_s[-1] * b_s[-1]) + nonred) ** 2
    out.append(compare(PAPER, "Thm 4.2 (reconstructed) / Example 4.1: sparse start recovers: population error of the "
                              "trained mesa-optimizer -> 0, within its GD lag", 0.0, red_only, bound,
                       source="reconstructed",
                       detail=f"error = (c^2/d) sum_k (1 - a_k b_k)^2 for the red blocks (exact enumeration); bound = "
                              f"c^2 (|1 - c_K| + B)^2 with c_K the manifold recursion at the slowest coordinate rate "
                              f"lr (1 - 5 sd_f) and B the non-red pull of the row above ({bound:.2g}); start error "
                              f"{r.test_mse[0]:.3g}; with the finite-sample non-red blocks the population error is "
                              f"{exact:.2g}"))
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
                   float(A[off].real.mean()), 1e-12, source="derived", detail="exact population (grid); 1e-12 = rounding"),
           compare(PAPER, "full-one: first GD step moves B_jk by -lr dL/dB_jk (closed form)", -lr * gB,
                   float(B[off].real.mean()), 1e-12, source="derived", detail="exact population (grid); 1e-12 = rounding")]
    cfg = check_settings(profile, "full_one_masked")
    rm = check_run(profile, "full_one_masked")
    c = float(tm.masked_fixed_point(d, T))
    lag, a, b = _lag(cfg, masked=True)
    out.append(compare(PAPER, f"full-one masked: ab -> (T-2)/((T-2)+(d-1)H_(T-2)) = {c:.6f}", c, rm.final_ab,
                       lag + 1e-9, source="derived",
                       detail=f"exact population GD with the code's --clip; lag {lag:.1e} + 1e-9"))
    Lstar = float(tm.population_optimum(d, T, FullOne(1), masked=True))
    k = tm.loss_coefficients(d, T, FullOne(1))
    # masked, the diagonal-manifold loss is L(c) = L* + (d/2) Acal_m (c - c_m*)^2 with Acal_m = S k1 / c_m*
    excess = float(d / 2 * k["S"] * k["k1"] / c) * (a[-1] * b[-1] - c) ** 2
    out.append(compare(PAPER, "full-one masked: loss = L* + (d/2) Acal (c_K - c*)^2 at the recursion's c_K",
                       Lstar + excess, rm.final_loss, 1e-9 * Lstar, source="derived",
                       detail=f"L* = {Lstar:.6g}; remaining excess {excess:.2g} from the numpy recursion; "
                              f"1e-9 relative = rounding"))
    ru = check_run(profile, "full_one_unmasked")
    a = b = math.sqrt(c)
    gB, gA = (float(g) for g in tm.full_one_offdiag_gradients(sp.Rational(a), sp.Rational(b), d, T))
    A, B = ru.red_blocks
    for name, block, g in (("A", A, gA), ("B", B, gB)):
        measured = float(block[off].real.mean())
        out.append(compare(PAPER, f"full-one unmasked: sign of the {name} off-diagonals = sign of -dL/d{name}_jk "
                                  f"at the masked fixed point", -math.copysign(1.0, g), math.copysign(1.0, measured),
                           0.0, source="derived",
                           detail=f"closed-form gradient {g:.4f}; trained mean off-diagonal {measured:.4f}"))
    out.append(CheckResult(PAPER, "full-one unmasked: loss below the masked (vanilla-GD) optimum L* (the paper: not "
                                  "vanilla GD beyond Assumption 4.1)", Lstar,
                           ru.final_loss, 1e-6, bool(ru.final_loss < Lstar - 1e-6),
                           "the trained model is not vanilla one-step GD (notes 3.7); exact population, so a "
                           "margin of 1e-6 (rounding) suffices", False, "<", "paper"))
    return out


def check_errata(profile: str) -> list[CheckResult]:
    """Errata: the paper's Gaussian line 1/(5 sigma^2) (plot.py) is the T -> oo limit; exact c*(5, 100) = 0.19191."""
    check_profile(profile)
    exact = c_star(5, 100, Gaussian(1))
    H = np.sum(1.0 / np.arange(1, 99))  # H_98, float route independent of sympy
    direct = 1.0 / (5.0 + 4.0 * H / 98.0)
    out = [compare(PAPER, "errata: exact c*(d=5, T=100, sigma=1) = 0.19191; the authors' plot.py draws 0.2", exact,
                   direct, 1e-12, source="derived",
                   detail=f"sympy harmonic vs float sum; the plotted line is {100 * (0.2 / exact - 1):.2f}% high, "
                          "below what a 10^4-sequence run resolves (SE ~2-4%)")]
    Tbig = 10**7
    Hb = np.sum(1.0 / np.arange(1, Tbig - 1))
    limit = float(tm.fixed_point_limit(5, Gaussian(1)))
    out.append(compare(PAPER, "errata: 1/(5 sigma^2) = lim_{T->oo} c* (k1/k2)", limit,
                       1.0 / (5.0 + 4.0 * Hb / (Tbig - 2)), 1e-5, source="derived",
                       detail="c*(T = 10^7) by the float formula; (d-1) H/T ~ 7e-6 remains"))
    sparse = float(tm.fixed_point(5, 100, SparseAxis(1)))
    out.append(compare(PAPER, "Example 4.1 (reconstructed): sparse c* = 1/c^2 at every T (the plotted line is exact "
                              "there)", 1.0, sparse, 0.0, source="reconstructed",
                       detail="kappa3 = 0: no finite-T correction; exact rational"))
    return out


CHECKS = [check_fixed_point, check_balance, check_trajectory, check_red_invariance, check_capability,
          check_full_one, check_errata]
