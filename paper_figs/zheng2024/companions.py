"""Zheng et al. 2024: each figure's claim asserted from its own arrays (``FIGURE_CHECKS``; run by
``paper_figs.registry.check_figure`` on the figure's ``.npz`` and ``.json``)."""
from __future__ import annotations

import math

import numpy as np

from paper_figs.zheng2024.figures import PAPER, start_curvature
from validation.checks import compare, exceeds
from validation.runs.zheng2024 import D, INITS

__all__ = ["check_fig1", "check_fig1_appendix", "check_fig5", "check_fig7", "check_fixed_point_vs_T"]


def _ab_rows(arrays, config, figure):
    """Every Figure 1 run: final ab against the flow's value at the same tau, within the finite-sample spread."""
    out = []
    for key in sorted(k for k in arrays if "_flow_" in k):
        family, _, init = key.partition("_flow_")
        a0, b0 = init.split("_")
        prefix = f"{family}_{a0}_{b0}"
        ab, flow = arrays[f"{family}_ab_{init}"][-1], arrays[key][-1]
        edge = arrays.get(f"{family}_edge_{init}")
        if edge is not None and float(edge) > 2:
            law = f"gaussian({family[len('gauss'):]})"
            again = start_curvature(law, float(a0), float(b0), float(arrays[prefix + "_lr"]), int(config["T"]))
            out.append(compare(PAPER, f"{figure}: {family} start ({a0}, {b0}): the panel's note 'lr x lambda_max > 2, "
                                      f"not a test of Thm 4.1' holds (recomputed from the config)", float(edge),
                               again if again > 2 else float("nan"), 1e-9 * again, source="derived",
                               detail=f"final ab {ab:.4f} vs flow {flow:.4f}, non-red norm "
                                      f"{arrays[prefix + '_offred'][-1]:.3g}: the panel says so; population GD from "
                                      f"this start converges (theory test of the Table 1 erratum)"))
            continue
        if family.startswith("gauss"):
            c_emp, se = arrays[f"{prefix}_cemp"]
            cstar = float(arrays[f"{family}_cstar"])
            tol = 5 * se * flow / cstar  # 5 SE of the finite-sample fixed point, at the flow's scale
            out.append(compare(PAPER, f"{figure}: {family} ({a0}, {b0}): final ab = flow c(tau) (Thm 4.1, reconstructed) "
                                      f"within 5 SE of the finite-sample fixed point", flow, ab, tol,
                               source="reconstructed",
                               detail=f"SE {se:.2g} (delta method, m = {config['m']}) scaled by c(tau)/c*; "
                                      f"finite-sample fixed point {c_emp:.4f}, c* {cstar:.4f}"))
        else:
            mean, sd, diverged = arrays[f"{prefix}_rate_law"]
            nonred = float(arrays[prefix + "_offred"][-1])
            out.append(compare(PAPER, f"{figure}: {family} ({a0}, {b0}): final ab = flow c(tau) (Example 4.1, "
                                      f"reconstructed) averaged over the per-coordinate rates, within 5 SD",
                               mean, ab, 5 * sd + nonred * mean, source="reconstructed",
                               detail=f"kappa3 = 0: no finite-sample bias in the fixed point; coordinate j runs the "
                                      f"recursion at lr d n_j/m, (n_j) multinomial: mean {mean:.4g}, SD {sd:.2g} of "
                                      f"mean_j c_K (flow {flow:.4g}; {diverged:.1%} of draws diverge); + |non-red| x ab "
                                      f"= {nonred * mean:.2g}: on m sequences the phase-degree orthogonality holds only "
                                      f"to O(m^-1/2), so this run's non-red blocks (norm {nonred:.2g}) pull ab at first "
                                      f"order (relative pull 0.2-0.3 x |non-red| seen at seed 1)"))
    for key in sorted(k for k in arrays if k.startswith("diverged_")):
        law, a0, b0 = key[len("diverged_"):].rsplit("_", 2)
        family = law.replace("gaussian(", "gauss").replace("sparse_axis(", "sparse").rstrip(")")
        edge = arrays.get(f"{family}_edge_{a0}_{b0}")
        out.append(exceeds(PAPER, f"{figure}: {law} ({a0}, {b0}) diverged: only allowed where lr x lambda_max > 2 "
                                  f"at the start", 2.0, float(edge) if edge is not None else float("nan"), 0.0,
                           source="derived", detail=str(arrays[key])[:120]))
    return out


def check_fig1(arrays, config):
    """Figure 1: each initialisation's final ab against the flow c(tau) (Thm 4.1 / Example 4.1)."""
    return _ab_rows(arrays, config, "fig1")


def check_fig1_appendix(arrays, config):
    """Figure 1, appendix scales: the same assertion for every Table 1 scale."""
    return _ab_rows(arrays, config, "fig1_appendix")


def check_fig5(arrays, config):
    """Figure 5: from a random start the red blocks become diagonal and match the diagonal start's test error."""
    out = []
    ref, ref_se = arrays["diag_test_mse"]
    d = D
    for sw in config["sigma_w"]:
        W_KQ, W_PV = arrays[f"W_KQ_{sw:g}"], arrays[f"W_PV_{sw:g}"]
        A, B = W_KQ[2 * d:, d:2 * d], W_PV[:d, d:2 * d]  # the red blocks in the paper's layout
        prod = A * B.T
        diag = float(np.abs(np.diag(A) * np.diag(B)).mean())
        off = ~np.eye(d, dtype=bool)
        offd = float(np.abs(A[off] * B.T[off]).mean())
        out.append(exceeds(PAPER, f"fig5: sigma_w = {sw:g}: red blocks diagonal ('strong' read as: mean |A_jj B_jj| "
                                  f"above 5 x mean |A_jk B_kj|, j != k)", 5 * offd, diag, 0.0, source="paper",
                           detail=f"caption: 'the same strong diagonal structure'; population gradients of the "
                                  f"off-diagonals vanish (Assumption 4.1), so they only decay from their random start; "
                                  f"diag {diag:.3g}, off {offd:.3g} ({prod.shape})"))
        c_se = float(arrays["diag_cemp"][1])
        out.append(compare(PAPER, f"fig5: sigma_w = {sw:g}: mean diagonal product ab = the diagonal start's within "
                                  f"5 SE", float(arrays["diag_ab"][-1]), float(arrays[f"ab_{sw:g}"][-1]), 5 * c_se,
                           source="paper",
                           detail=f"same data and epochs; SE {c_se:.2g} = delta-method SE of the finite-sample fixed "
                                  f"point, the scale on which two starts' end points may differ"))
        mse, se = float(arrays[f"test_mse_{sw:g}"][-1]), float(arrays[f"test_mse_se_{sw:g}"])
        tol = 5 * math.hypot(se, ref_se)
        out.append(compare(PAPER, f"fig5: sigma_w = {sw:g}: last-position test MSE = the diagonal start's within 5 SE",
                           ref, mse, tol, source="paper",
                           detail=f"caption: 'the same ... test performance'; 5 x SE of the difference of two test "
                                  f"means ({config['fig5_m']} training sequences each, m_test = {config['m_test']})"))
    return out


def check_fig7(arrays, config):
    """Figure 7: masked runs reach the masked fixed point; unmasked runs grow negative off-diagonals."""
    out = []
    c = float(config["masked_c_star"])
    d = D
    for a0, b0 in INITS:
        tag = f"{a0:g}_{b0:g}"
        if f"ab_masked_{tag}" in arrays:
            ab, flow = arrays[f"ab_masked_{tag}"][-1], arrays[f"flow_masked_{tag}"][-1]
            c_emp, se = arrays[f"cemp_masked_{tag}"]
            out.append(compare(PAPER, f"fig7: masked ({a0:g}, {b0:g}): final ab = masked flow c(tau) within 5 SE "
                                      f"(c* = {c:.4f})", flow, ab, 5 * se, source="derived",
                               detail=f"SE {se:.2g}: delta-method SE of the finite-sample fixed point {c_emp:.4f} "
                                      f"(m = {config['fig7_m']})"))
        if f"W_KQ_unmasked_{tag}" in arrays:
            A = arrays[f"W_KQ_unmasked_{tag}"][2 * d:, d:2 * d]
            B = arrays[f"W_PV_unmasked_{tag}"][:d, d:2 * d]
            off = ~np.eye(d, dtype=bool)
            for name, block in (("A", A), ("B", B)):
                vals = block[off]
                se = float(vals.std(ddof=1) / math.sqrt(vals.size))
                out.append(exceeds(PAPER, f"fig7: unmasked ({a0:g}, {b0:g}): {name} off-diagonals negative (mean below "
                                          f"0 by 5 SE of the entries' mean)", 0.0, float(-vals.mean()), 5 * se,
                                   source="derived",
                                   detail=f"closed-form off-diagonal gradients at the masked fixed point are positive "
                                          f"(theory.mesa.full_one_offdiag_gradients); mean {vals.mean():.4f}"))
    return out


def check_fixed_point_vs_T(arrays, config):
    """c*(T): grid points on the exact d = 2 curve to rounding; sampled d = 5 points within 5 SE of c*(T)."""
    out = []
    for T, ab, exact in zip(arrays["grid_T"], arrays["grid_ab"], arrays["exact_at_grid"]):
        out.append(compare(PAPER, f"fixed_point_vs_T: exact-grid GD at d = 2, T = {T}: ab = c*(T) (Thm 4.1, "
                                  f"reconstructed)", exact, ab, 1e-9, source="reconstructed",
                           detail="training set = population; 120 epochs at logistic rate 0.36 per epoch leave "
                                  "< 1e-15; 1e-9 = rounding"))
    for T, ab, se, exact in zip(arrays["sweep_T"], arrays["trained"], arrays["se"], arrays["exact_at_sweep"]):
        out.append(compare(PAPER, f"fixed_point_vs_T: sampled d = 5, T = {T}: ab within 5 SE of c*(T)", exact, ab,
                           5 * se, source="reconstructed",
                           detail=f"SE {se:.2g}: delta-method SE (m = {config['sweep_m']}); GD lag e^-15 after 150 "
                                  f"epochs at rate 0.1"))
    return out
