"""Figure-claim companions of von Oswald et al. 2023, Figs 7, 8, 14 and 15: each claim from the figure's own arrays.

``FIGURE_CHECKS_DEEP[name](arrays, config)`` reads only the figure's ``.npz`` and json ``config``.  Tolerances,
argued once here:

- Orderings of losses or of implicit-model cosines ("beats GD", "closer to GD++ than to GD", "worse than
  the untied 5-layer model"): the paired difference on the same fresh tasks must exceed 5 of its standard
  errors (saved by the figure from the same draws); no tuned margin.
- "Alignment drops" (Fig 14): the mean per-task cos with GD must lie more than 5 SE below 0.99, the bar the
  no-LayerNorm layer clears (Fig 2's companion, notes check 11).
- "Converges" (Fig 15, 2 heads; grokking): the final loss within 3 % of L* + 5 SE, the one-layer training
  tolerance of the existing trained rows (seed spread over 20 seeds: benchmarks/results/lsa_trained_spread.json).
- Drop times (Fig 15): a one-sided Mann-Whitney U test (permutation p-value: times sit on the log grid, so ties
  are mid-ranked; censored runs ranked last) at
  level 0.01 fixed before looking; the spread of plateau lengths by a bootstrap (4000 resamples, fixed seed)
  whose 1 % lower bound of log(SD_1 / SD_2) must exceed 0, each SD including the grid-rounding SD Delta/sqrt(12)
  of a time read on a log grid of spacing Delta.
- Claims the quick profile cannot resolve (the 45 s budget of four figures leaves the 10- and 12-layer models
  far from converged, and the grokking run tiny) are asserted at the paper profile; the quick row says so.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from numerics.seeds import child_rng
from validation.checks import CheckResult, exceeds
from validation.runs.vonoswald2023 import PAPER

__all__ = ["FIGURE_CHECKS_DEEP", "ALPHA_TEST", "SPREAD"]

#: level of the Fig 15 tests, fixed before any run was looked at
ALPHA_TEST = 0.01
SPREAD = "benchmarks/results/lsa_trained_spread.json"


def _paper(config) -> bool:
    return config.get("profile") == "paper"


def _not_at_quick(fig: str, claim: str, why: str) -> CheckResult:
    return CheckResult(PAPER, f"{fig}: {claim} (not asserted at quick)", 0.0, 0.0, 0.0, True,
                       f"the quick profile cannot resolve it: {why}; the paper-profile row asserts it", source="paper")


def _z_min(num, se) -> float:
    return float(np.min(np.asarray(num, dtype=float) / np.asarray(se, dtype=float)))


def _deep_rows(a, config, fig: str, K: int, why: str, source: str, fit_why: str = "") -> list[CheckResult]:
    n = int(a["fresh_tasks"])
    claim = f"{K}-step GD++ beats {K}-step GD (smallest paired gap over runs, in SE)"
    if fit_why and not _paper(config):
        rows = [_not_at_quick(fig, claim, fit_why)]
    else:
        rows = [exceeds(PAPER, f"{fig}: {claim}", 5.0,
                        _z_min(a["fresh_gd_k"] - a["fresh_pp_k"], a["fresh_se_gd_pp_k"]), 0.0, source="derived",
                        detail=f"fitted baselines on {n} fresh tasks; paired GD - GD++ over its SE must exceed 5")]
    claims = [("the trained model beats " + f"{K}-step GD (paired loss gap, in SE)",
               a["fresh_gd_k"] - a["fresh_tf_k"], a["fresh_se_gd_tf_k"]),
              (f"the trained model's implicit model is closer to {K}-step GD++ than to GD (cos with GD++ - cos with "
               "GD, in paired SE)", a["fresh_cos_pp_k"] - a["fresh_cos_gd_k"], a["fresh_se_cos_k"])]
    for claim, num, se in claims:
        if _paper(config):
            rows.append(exceeds(PAPER, f"{fig}: {claim}", 5.0, _z_min(num, se), 0.0, source=source,
                                detail=f"{n} fresh tasks; smallest over runs must exceed 5"))
        else:
            rows.append(_not_at_quick(fig, claim, why))
    return rows


def check_fig7(a, config):
    """10-step GD++ beats GD; paper: the recurrent 10-layer model beats GD, sits nearer GD++, and loses to 5 untied layers."""
    why = "300 steps at batch 128 leave the recurrent 10-layer model far above 10-step GD"
    rows = _deep_rows(a, config, "Fig 7", 10, why, "paper")
    claim = "the recurrent 10-layer model is worse than the untied 5-layer model of Fig 3(b) (paired gap, in SE)"
    if "fresh_tf5" in a:
        rows.append(exceeds(PAPER, f"Fig 7: {claim}", 5.0,
                            _z_min(a["fresh_tf_k"][0] - a["fresh_tf5"], a["fresh_se_tf10_tf5"]), 0.0, source="paper",
                            detail="same fresh tasks; smallest over the 5-layer seeds must exceed 5"))
    else:
        rows.append(_not_at_quick("Fig 7", claim, "the quick 5-layer run (2000 steps) is not converged and the "
                                  "quick figure does not train it"))
    return rows


def check_fig8(a, config):
    """12-step GD++ beats GD; paper: the 12-block MLP model beats 12-step GD and sits nearer GD++ [reconstructed setting]."""
    why = "60 steps at batch 64 leave the 12-block model on its plateau"
    fit_why = ("the untied 12-step fits (23 and 12 parameters) need many tasks: fitted on 2000 tasks the 12-step GD "
               "diverges on a few fresh tasks (mean loss 0.21, GD - GD++ only 1.4 SE) and the two fits cost about 40 s "
               "of CPU; the quick figure fits on 300 tasks and draws them only")
    return _deep_rows(a, config, "Fig 8", 12, why, "reconstructed", fit_why)


def check_fig14(a, config):
    """LN models are worse than GD / GD++, less aligned than the no-LN layer, and better than GD for large inputs."""
    quick = "" if _paper(config) else " (at quick an unconverged model is also worse: the paper row carries the meaning)"
    n = int(a["fresh_tasks"])
    rows = [exceeds(PAPER, "Fig 14: 1-layer LN model is worse than GD at eta* (paired loss gap, in SE)", 5.0,
                    _z_min(a["fresh_tf_1"] - a["fresh_gd_1"], a["fresh_se_gd_tf_1"]), 0.0, source="paper",
                    detail=f"{n} fresh tasks; smallest over seeds must exceed 5" + quick)]
    for base, key in (("2-step GD", "gd"), ("2-step GD++", "pp")):
        rows.append(exceeds(PAPER, f"Fig 14: 2-layer LN model is worse than {base} (paired loss gap, in SE)", 5.0,
                            _z_min(a["fresh_tf_2"] - a[f"fresh_{key}_2"], a[f"fresh_se_{key}_tf_2"]), 0.0,
                            source="paper", detail=f"{n} fresh tasks; smallest over seeds must exceed 5" + quick))
    rows.append(exceeds(PAPER, "Fig 14: alignment drops: 1-layer LN model's cos with GD stays below 0.99 (in SE)", 5.0,
                        _z_min(0.99 - a["fresh_cos_gd_1"], a["fresh_se_cos_1"]), 0.0, source="paper",
                        detail="0.99 = the bar the no-LN layer clears (Fig 2 companion); 5 SE of the mean per-task cos"
                        + quick))
    j = int(np.argmax(a["alphas"]))
    for K, base in ((1, "GD at eta*"), (2, "2-step GD")):
        gap = a[f"ood_base_{K}"][j] - a[f"ood_tf_{K}"][:, j]
        rows.append(exceeds(PAPER, f"Fig 14: for much larger inputs (alpha = {a['alphas'][j]:g}) the {K}-layer LN model "
                            f"beats {base} (paired gap, in SE)", 5.0, _z_min(gap, a[f"ood_se_{K}"][:, j]), 0.0,
                            source="paper", detail="x ~ U(-alpha/2, alpha/2), the code's input_range; same tasks"))
    return rows


def _mwu_p(early, late, early_c, late_c) -> float:
    """One-sided Mann-Whitney p-value (permutation, 20000 resamples) for 'early' < 'late'; censored times ranked above every observed one."""
    top = max(np.max(early), np.max(late)) + 1.0
    e = np.where(early_c, top, early)
    l_ = np.where(late_c, top, late)
    method = stats.PermutationMethod(n_resamples=20000, rng=child_rng(15, 1))  # ties: permutation of mid-ranks
    return float(stats.mannwhitneyu(e, l_, alternative="less", method=method).pvalue)


def _spread_bound(x1, x2, delta, seed) -> float:
    """1 % bootstrap lower bound of log(SD(x1) / SD(x2)), each SD with the rounding SD delta / sqrt(12)."""
    rng = child_rng(seed, 15)
    q = delta ** 2 / 12

    def ratio(u, v):
        return 0.5 * np.log((u.var(ddof=1, axis=-1) + q) / (v.var(ddof=1, axis=-1) + q))

    b1 = x1[rng.integers(0, x1.size, (4000, x1.size))]
    b2 = x2[rng.integers(0, x2.size, (4000, x2.size))]
    return float(np.quantile(ratio(b1, b2), ALPHA_TEST))


def check_fig15(a, config):
    """2 heads drop earlier (rank test); 1-head plateaus vary more over seeds; 2 heads reach L*; paper: grokking."""
    Ls = float(a["theory_L_star"])
    k = int(a["seeds"].size)
    p = _mwu_p(a["drop_2"], a["drop_1"], a["drop_censored_2"], a["drop_censored_1"])
    claim = f"Fig 15: 2 heads drop earlier than 1 head over {k} seeds (one-sided Mann-Whitney p)"
    detail = (f"drop time = first logged step below (L0 + L*)/2; censored runs ranked last; p < {ALPHA_TEST} (level "
              f"fixed in advance); medians 1 head {np.median(a['drop_1']):g}, 2 heads {np.median(a['drop_2']):g}; "
              "escape steps of 40 more 1-head seeds: benchmarks/results/lsa_plateau_escape.json")
    if _paper(config):
        rows = [CheckResult(PAPER, claim, ALPHA_TEST, p, 0.0, bool(p < ALPHA_TEST), detail, relation="<",
                            source="paper")]
    else:
        rows = [CheckResult(PAPER, claim + " (not asserted at quick)", ALPHA_TEST, p, 0.0, True,
                            f"the quick profile cannot resolve it at level {ALPHA_TEST}: 800 steps at batch 256 (the "
                            "45 s budget) gave p = 0.013, at batch 128 and 600 steps p = 0.16 (runs that stall at "
                            "small batches add noise to both groups); measured p shown, the paper-profile row asserts "
                            "it. " + detail, relation="<", source="paper")]
    delta = float(np.diff(a["steps_1"][:2])[0])
    lb = _spread_bound(a["plateau_1"], a["plateau_2"], delta, int(config.get("seed", 0)))
    rows.append(exceeds(PAPER, "Fig 15: 1-head plateau lengths are seed-dependent: they vary more over seeds than "
                        "2-head ones (1 % bootstrap lower bound of log SD ratio)", 0.0, lb, 0.0, source="paper",
                        detail=f"plateau length = first logged step a tenth of the way from 5/12 to L*; SDs include the "
                        f"grid rounding {delta:g}/sqrt(12); censored runs at the end of training (understates 1 head)"))
    L2, se2 = a["loss_2"][:, -1], a["final_se_2"]
    worst = float(np.max(np.abs(L2 - Ls) / (0.03 * Ls + 5 * se2)))
    rows.append(CheckResult(PAPER, "Fig 15: every 2-head seed converges to L* (largest |L - L*| / (3 % L* + 5 SE))",
                            0.0, worst, 1.0, bool(worst <= 1.0),
                            f"final eval loss of each seed; 3 % = the one-layer training tolerance ({SPREAD})",
                            source="paper"))
    claim = "the fixed-set MLP block groks: its test loss rises, then drops to about L*"
    if not _paper(config):
        rows.append(_not_at_quick("Fig 15", claim, f"{int(a['grok_tasks'])} tasks and {a['grok_steps'][-1]} steps "
                                  "(a 45 s budget for four figures) cannot show grokking"))
        return rows
    t, se = a["grok_test"], a["grok_test_se"]
    i = int(np.argmax(t))
    rows.append(exceeds(PAPER, "Fig 15: grokking: the test loss first rises above its start (peak - start)", 0.0,
                        float(t[i] - t[0]), 5 * float(se[i] + se[0]), source="paper",
                        detail="must exceed 5 (SE_peak + SE_start): the SD of a difference is at most the sum"))
    end = float((t[-1] - Ls) / (0.03 * Ls + 5 * se[-1]))
    rows.append(CheckResult(PAPER, "Fig 15: grokking: the test loss then drops to about L* (|L_end - L*| / (3 % L* + "
                            "5 SE))", 0.0, end, 1.0, bool(i < t.size - 1 and abs(end) <= 1.0),
                            f"the peak must come before the end; 3 % = the one-layer training tolerance ({SPREAD})",
                            source="paper"))
    return rows


FIGURE_CHECKS_DEEP = {"fig7": check_fig7, "fig8": check_fig8, "fig14": check_fig14, "fig15": check_fig15}
