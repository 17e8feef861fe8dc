"""Figure-claim companions of von Oswald et al. 2023: each figure's claim asserted from its own arrays.

``FIGURE_CHECKS[name](arrays, config)`` reads only the figure's ``.npz`` arrays and its json ``config``
and returns check rows (``validation.checks.CheckResult``).  Tolerances, argued once here:

- Monte Carlo against a closed form: 5 standard errors, the SE saved by the figure from the same draws.
  Over a whole alpha axis one row takes the largest z over the points (``max |MC - theory| / SE <= 5``).
- Trained model against its construction (GD at eta*, GD++): the claim's training tolerance (3 % of
  the loss for one layer, 5 % of GD++ for two layers: the notes' companion check 11 and the validation
  tests; their seed-to-seed spread over 20 seeds is in benchmarks/results/lsa_trained_spread.json)
  plus 5 SE of the paired difference on the same tasks.  One row per axis: the largest ratio
  |TF - base| / (tol * base + 5 SE) over the axis, which must be <= 1.
- Exact identities (linearity in w): 1e-9 relative, float64 round-off.
- Fig 13: lambda_max of one 10^4-task set against the paper's single draw: 5 x sqrt(2) x the SD of a
  block maximum over 100 blocks; the fitted gamma against the code-law optimum: 5 x the fit-to-fit SD
  over 20 fit sets, scaled to the figure's fit size (both measured by scripts under ``benchmarks/``).
- Claims the quick profile cannot resolve (a 5-layer model after 2000 steps; loss vs size when a size
  is still on its plateau, paper A.11; the 2-layer model within 5 % of GD++ and its curvature read-out,
  whose 20-seed spread at quick is bimodal: gap to GD++ 4 % or 14-18 %, gamma read-out -4 % or -26 to
  -47 % of GD++'s gamma) are asserted in the paper profile only, or not at all; the row that remains
  says so.
"""
from __future__ import annotations

import numpy as np

from validation.checks import CheckResult, compare, exceeds
from validation.runs.vonoswald2023 import PAPER

__all__ = ["FIGURE_CHECKS", "LAM_MAX_BLOCK_SD", "GAMMA_CODE_LAW"]

#: SD of the largest eigenvalue of X X^T over a block of 10^4 tasks (U(-1/2, 1/2), d = 10), over 100
#: blocks, for N = 10, 25, 50, 100: ``python -m benchmarks.lsa_spectrum_spread``
#: (benchmarks/results/lsa_spectrum_spread.json)
LAM_MAX_BLOCK_SD = {10: 0.196, 25: 0.222, 50: 0.307, 100: 0.422}
#: the recurrent 2-step GD++ gamma under U(-1/2, 1/2): mean and SD over 20 fits of 2 * 10^4 tasks,
#: ``python -m benchmarks.gdpp_gamma_spread`` (benchmarks/results/gdpp_gamma_spread.json)
GAMMA_CODE_LAW = {10: (0.17636, 0.00128), 25: (0.09909, 0.00046), 50: (0.05608, 0.00019)}
SPREAD = "benchmarks/results/lsa_trained_spread.json"


def _paper_profile(config) -> bool:
    return config.get("profile") == "paper"


def _max_z(mc, theory, se) -> float:
    return float(np.max(np.abs(np.asarray(mc) - theory) / np.asarray(se)))


def _max_ratio(tf, base, paired_se, tol) -> float:
    """max over points of |tf - base| / (tol |base| + 5 paired SE): <= 1 is the claim."""
    tf, base, se = (np.asarray(v, dtype=float) for v in (tf, base, paired_se))
    return float(np.max(np.abs(tf - base) / (tol * np.abs(base) + 5 * se)))


def _within(claim, ratio, detail, source="paper") -> CheckResult:
    return CheckResult(PAPER, claim, 0.0, ratio, 1.0, bool(np.isfinite(ratio) and ratio <= 1.0), detail,
                       source=source)


# ----------------------------------------------------------------------------- Fig 2
def check_fig2(a, config):
    """(a) trained loss -> L*, (b) model cos -> 1, (c) GD (and, paper profile, TF) at L*(n), (d) OOD = closed form."""
    L_star = float(a["theory_L_star"])
    n_fresh = int(a["fresh_tasks"])
    rows = []
    for i, (tf, se) in enumerate(zip(a["fresh_tf"], a["fresh_tf_se"])):
        rows.append(compare(PAPER, f"Fig 2a: trained layer (seed {config['seed'] + i}) reaches L* = 245/1188",
                            L_star, tf, 0.03 * L_star + 5 * se, source="paper",
                            detail=f"MC loss on {n_fresh} fresh tasks (SE {se:.2g}); 3 % training tolerance + 5 SE"))
    if "tf_population_loss" in a:
        for i, (exact, tf, se) in enumerate(zip(a["tf_population_loss"], a["fresh_tf"], a["fresh_tf_se"])):
            rows.append(compare(PAPER, f"Fig 2a: trained weights (seed {config['seed'] + i}): exact population loss "
                                "= their MC loss on fresh tasks", float(exact), float(tf), 5 * float(se),
                                source="derived", detail=f"numerics.lsa.population_loss vs {n_fresh} fresh tasks; "
                                "5 SE"))
        end = a["pop_loss"][:, -1]
        rows.append(compare(PAPER, "Fig 2a: the population path ends at the global minimum L* (Prop 1 weights at eta*)",
                            L_star, float(np.max(np.abs(end - L_star))) + L_star, 1e-4 * L_star, source="derived",
                            detail="largest |end - L*| over seeds; AdamW's constant step keeps the weights O(lr) from "
                            "the minimiser, so the loss O(lr^2) ~ 1e-6 above it; 1e-4 relative"))
        excess = a["tf_population_loss"] - end
        rows.append(compare(PAPER, "Fig 2a: the trained run ends on the population path (exact losses, trained - "
                            "population, largest over seeds)", 0.0, float(np.max(np.abs(excess))), 0.03 * L_star,
                            source="derived", detail="both exact; the trained run sits above by the noise floor of "
                            f"fresh-task AdamW (0.87 %, SD 0.06 % over 20 seeds, {SPREAD}); 3 % = the trained rows' "
                            "claim tolerance"))
    rows.append(compare(PAPER, "Fig 2a: GD at eta* on the same tasks = L*", L_star, float(a["fresh_gd"][0]),
                        5 * float(a["fresh_gd_se"][0]), source="derived", detail="5 SE"))
    cos = a["model_cos"][:, -1]
    rows.append(exceeds(PAPER, "Fig 2b: final model cos with GD > 0.99 (every seed)", 0.99, float(cos.min()), 0.0,
                        source="paper", detail=f"smallest final cos over {cos.size} seeds; 0.99 = notes check 11, "
                        f"seed spread in {SPREAD}"))
    n_values = [int(n) for n in a["n_values"]]
    z = _max_z([a[f"fresh_n{n}_gd"][0] for n in n_values], a["theory_L_star_at_n"],
               [a[f"fresh_n{n}_gd_se"][0] for n in n_values])
    rows.append(compare(PAPER, f"Fig 2c: GD at eta*(n) = L*(n) for n = d = N in {list(n_values)} (max z)", 0.0, z,
                        5.0, source="derived", detail=f"largest |MC - L*(n)| / SE over the sizes, {n_fresh} tasks "
                        "each" + ("" if _paper_profile(config) else "; the trained models at each n are asserted in "
                                  "the paper profile only (quick training leaves some sizes on their plateau, A.11)")))
    if _paper_profile(config):
        ratio = max(_max_ratio(a[f"fresh_n{n}_tf"], a["theory_L_star_at_n"][j], a[f"fresh_n{n}_tf_se"], 0.03)
                    for j, n in enumerate(n_values))
        rows.append(_within("Fig 2c: trained layers reach L*(n) at every n (3 % + 5 SE)", ratio,
                            f"largest |TF - L*(n)| / (0.03 L*(n) + 5 SE) over sizes and seeds; must be <= 1"))
    z = _max_z(a["gd_ood_input"], a["theory_ood_input"], a["gd_ood_input_se"])
    rows.append(compare(PAPER, "Fig 2d: GD at eta* on U(-alpha/2, alpha/2) = closed form (max z over alpha)", 0.0, z,
                        5.0, source="derived", detail=f"{int(a['ood_tasks'])} tasks per alpha, 5 SE"))
    ratio = _max_ratio(a["tf_ood_input"], a["gd_ood_input"][None, :], a["ood_paired_se"], 0.03)
    rows.append(_within("Fig 2d: trained layer = GD out of distribution (3 % + 5 paired SE, every alpha)", ratio,
                        "largest |TF - GD| / (0.03 GD + 5 SE) over alpha and seeds, same tasks; must be <= 1"))
    return rows


# ----------------------------------------------------------------------------- Fig 3
def check_fig3(a, config):
    """GD++ beats GD (both depths); the 2-layer model beats 2-step GD; paper profile: TF ~ GD++, 5-layer beats GD."""
    rows, n = [], int(a["fresh_tasks"])
    for key, K in (("2", 2), ("5", 5)):
        d = a[f"fresh_gd_{key}"] - a[f"fresh_pp_{key}"]
        se = a[f"fresh_se_gd_pp_{key}"]
        rows.append(exceeds(PAPER, f"Fig 3: {K}-step GD++ beats {K}-step GD (smallest gap over seeds, in SE)", 5.0,
                            float(np.min(d / se)), 0.0, source="paper",
                            detail=f"paired GD - GD++ on {n} fresh tasks over its SE must exceed 5"))
        if K == 2 or _paper_profile(config):
            d = a[f"fresh_gd_{key}"] - a[f"fresh_tf_{key}"]
            rows.append(exceeds(PAPER, f"Fig 3: trained {K}-layer model beats {K}-step GD (smallest gap, in SE)", 5.0,
                                float(np.min(d / a[f"fresh_se_gd_tf_{key}"])), 0.0, source="paper",
                                detail=f"paired GD - TF on {n} fresh tasks over its SE must exceed 5"
                                + ("" if K == 5 or _paper_profile(config) else "; the 5-layer model (2000 quick "
                                   "steps, not converged) is asserted in the paper profile only")))
    if _paper_profile(config):
        ratio = _max_ratio(a["fresh_tf_2"], a["fresh_pp_2"], a["fresh_se_tf_pp_2"], 0.05)
        rows.append(_within("Fig 3a: trained 2-layer model within 5 % of 2-step GD++ (+ 5 paired SE)", ratio,
                            f"largest |TF - GD++| / (0.05 GD++ + 5 SE) over seeds; seed spread in {SPREAD}"))
    return rows


# ----------------------------------------------------------------------------- Fig 6
def check_fig6(a, config):
    """OOD: GD = closed forms, trained layer = GD on every axis, exact alpha^2 task scaling of GD and GD++."""
    n = int(a["n_mc"])
    rows = [compare(PAPER, "Fig 6a: GD at eta* on larger inputs = closed form (max z over alpha)", 0.0,
                    _max_z(a["gd_input"], a["theory_input"], a["gd_input_se"]), 5.0, source="derived",
                    detail=f"{n} tasks per alpha, 5 SE"),
            compare(PAPER, "Fig 6b: GD at eta* on tasks alpha w = alpha^2 L* (max z over alpha)", 0.0,
                    _max_z(a["gd_task"], a["theory_task"], a["gd_task_se"]), 5.0, source="derived",
                    detail=f"{n} tasks per alpha, 5 SE")]
    for key, tf, gd, title in (("input", "tf_input", "gd_input", "6a larger inputs"),
                               ("task", "tf_task", "gd_task", "6b larger tasks"),
                               ("other", "tf_other", "gd_other", "6c exp / normal / Laplace inputs"),
                               ("other_task", "tf_other_task", "gd_other_task", "6d other laws, larger tasks")):
        se = a["paired_input_se"] if key == "input" else a[f"paired_{key}_se"]
        rows.append(_within(f"Fig {title}: trained layer = GD (3 % + 5 paired SE, every alpha)",
                            _max_ratio(a[tf], a[gd][None, :], se, 0.03),
                            "largest |TF - GD| / (0.03 GD + 5 SE) over alpha and seeds, same tasks; must be <= 1"))
    rel = float(np.max(np.abs(a["gd_other_task"] / a["scaling_other_task"] - 1)))
    rows.append(compare(PAPER, "Fig 6d: GD loss on tasks alpha w = alpha^2 L_GD(1) exactly (other laws)", 0.0, rel,
                        1e-9, source="derived", detail="GD is linear in w: float64 round-off"))
    deep = sorted(k[len("gdpp_task_"):] for k in a if k.startswith("gdpp_task_"))
    for key in deep:
        rel = float(np.max(np.abs(a[f"gdpp_task_{key}"] / a[f"scaling_task_{key}"] - 1)))
        rows.append(compare(PAPER, f"Fig 6f: {key} GD++ loss on tasks alpha w = alpha^2 L(1) exactly", 0.0, rel, 1e-9,
                            source="derived", detail="GD++ is linear in w: float64 round-off; the trained deep "
                            "models' OOD curves are drawn, not asserted (no argued tolerance far from alpha = 1)"))
    return rows


# ----------------------------------------------------------------------------- Fig 9
def check_fig9(a, config):
    """The construction panel is Prop 1 at eta*; the trained weights have its shape after the scalar correction."""
    C_KQ, C_PV = a["theory_KQ"], a["theory_PV"]
    eta_over_N = -float(C_PV[-1, -1])
    shape_ok = np.array_equal(C_KQ, np.diag([1.0] * 10 + [0.0])) and np.count_nonzero(C_PV) == 1
    rows = [CheckResult(PAPER, "Fig 9: construction panel = Prop 1 (W_KQ = diag(I, 0), P W_V = -eta*/N at [-1,-1])",
                        200 / 330, eta_over_N, 1e-12, bool(shape_ok and abs(eta_over_N - 200 / 330) <= 1e-12),
                        "exact shape; eta*/N = 20/33 to round-off", source="paper")]
    KQ, PV = a["trained_KQ"], a["trained_PV"]
    dev = float(np.max(np.abs(KQ - C_KQ)))
    rows.append(compare(PAPER, "Fig 9: trained W_KQ / beta = diag(I, 0) (max abs deviation)", 0.0, dev, 0.1,
                        source="paper", detail=f"entrywise; 0.1 = the validation test's bound, seed spread in {SPREAD}"))
    off = float(np.max(np.abs(np.delete(PV.ravel(), -1))) / abs(PV[-1, -1]))
    rows.append(compare(PAPER, "Fig 9: trained beta P W_V has only its [-1,-1] entry (largest other / it)", 0.0, off,
                        0.1, source="paper", detail=f"0.1 = the validation test's bound, seed spread in {SPREAD}"))
    rows.append(compare(PAPER, "Fig 9: trained beta P W_V[-1,-1] = -eta*/N (within 5 %)", -eta_over_N, float(PV[-1, -1]),
                        0.05, relative=True, source="paper",
                        detail=f"the step-size read-out; 5 % = the claim's training tolerance, seed spread in {SPREAD}"))
    return rows


# ----------------------------------------------------------------------------- Fig 1 right / Fig 10
def _rollout_rows(a, config, fig):
    rows, n = [], int(a["n_tasks"])
    for lam in a["lambdas"]:
        tag = f"{lam:g}".replace(".", "p")
        gd, gd_se, tf, tf_se = a[f"gd_{tag}"], a[f"gd_{tag}_se"], a[f"tf_{tag}"], a[f"tf_{tag}_se"]
        unstable = float(a[f"unstable_{tag}"])
        rows.append(compare(PAPER, f"{fig}, lambda = {lam:g}: GD step 1 = one_step_loss(lambda eta*)",
                            float(a[f"theory_first_{tag}"][1]), float(gd[1]), 5 * float(gd_se[1]), source="derived",
                            detail=f"{n} tasks, 5 SE"))
        if lam >= 1:
            se_p = float(np.sqrt(max(unstable * (1 - unstable), 1.0 / n) / n))
            rows.append(exceeds(PAPER, f"{fig}, lambda = {lam:g}: GD diverges (fraction of tasks with lambda eta* "
                                "lam_max(S) >= 2)", 0.0, unstable, 5 * se_p, source="paper",
                                detail=f"binomial SE {se_p:.2g} over {n} tasks; the mean loss is carried by these "
                                "tasks, so its own SE is as large as it (the TF's, at its read-out eta, likewise)"))
            continue
        if unstable == 0.0:
            rises = int(np.sum(np.diff(gd) > 0))
            rows.append(CheckResult(PAPER, f"{fig}, lambda = {lam:g}: GD loss decreases at every step", 0.0,
                                    float(rises), 0.0, rises == 0, "no task has lambda eta* lam_max(S) >= 2, so every "
                                    "task's loss is non-increasing: zero rises is a proven bound", source="paper"))
        for i in range(tf.shape[0]):
            drop, margin = float(tf[i, 0] - tf[i, -1]), 5 * float(tf_se[i, 0] + tf_se[i, -1])
            rows.append(exceeds(PAPER, f"{fig}, lambda = {lam:g}: trained layer's loss falls over {len(gd) - 1} "
                                f"applications (seed {config['seed'] + i})", 0.0, drop, margin, source="paper",
                                detail=f"step 0 - step {len(gd) - 1} must exceed 5 (SE_0 + SE_end) ({n} tasks; the SD of a "
                                "difference is at most the sum of the SDs)"))
        if abs(lam - 0.75) < 1e-12:
            ratio = _max_ratio(tf[:, 1], gd[1], a[f"paired_{tag}_se"][:, 1], 0.03)
            rows.append(_within(f"{fig}, lambda = 0.75: trained layer = GD after one application (3 % + 5 paired SE)",
                                ratio, "the 50-step curves are drawn, not asserted: no argued tolerance for errors "
                                "compounded over 50 applications"))
    return rows


def check_fig1_right(a, config):
    """Fig 1 right: the trained layer and GD, repeated with lambda = 0.75, both decrease."""
    return _rollout_rows(a, config, "Fig 1 right")


def check_fig10(a, config):
    """Fig 10: lambda = 1 diverges; lambda < 1 decreases."""
    return _rollout_rows(a, config, "Fig 10")


# ----------------------------------------------------------------------------- Fig 13
def check_fig13(a, config):
    """lambda_max of X X^T vs the paper's values; the fitted GD++ gamma vs the code-law optimum."""
    rows = []
    for N, ours, paper in zip(a["N"].astype(int), a["lam_max"], a["paper_lam_max"]):
        sd = LAM_MAX_BLOCK_SD[int(N)]
        n_tasks = config["sizes"]["spectrum_tasks"]
        if n_tasks != 10_000:
            continue  # the SD is that of a 10^4-task maximum (the _smoke sizes differ)
        rows.append(compare(PAPER, f"Fig 13: max eig X X^T over 10^4 tasks, N = {N}: ours vs the paper's", float(paper),
                            float(ours), 5 * np.sqrt(2) * sd, source="paper",
                            detail=f"two single draws of a block maximum: 5 sqrt(2) x its SD {sd} over 100 blocks "
                            "(benchmarks/results/lsa_spectrum_spread.json)"))
    n_fit = config["sizes"]["fit_tasks"]
    for N, g in zip(a["N"].astype(int), a["gamma_fit"]):
        if int(N) not in GAMMA_CODE_LAW:
            continue
        mean, sd = GAMMA_CODE_LAW[int(N)]
        tol = 5 * sd * np.sqrt(20_000 / n_fit) * np.sqrt(1 + 1 / 20)
        rows.append(compare(PAPER, f"Fig 13d: fitted 2-step GD++ gamma, N = {N} = the code-law optimum", mean, float(g),
                            tol, source="derived",
                            detail=f"5 x the fit SD {sd} (2e4 tasks, 20 fits) scaled to {n_fit} tasks, and the "
                            "reference mean's own SD (benchmarks/results/gdpp_gamma_spread.json); the paper's "
                            "0.179 / 0.099 / 0.056 are in the errata"))
    return rows


FIGURE_CHECKS = {
    "fig1_right": check_fig1_right,
    "fig2": check_fig2,
    "fig3": check_fig3,
    "fig6": check_fig6,
    "fig9": check_fig9,
    "fig10": check_fig10,
    "fig13": check_fig13,
}
