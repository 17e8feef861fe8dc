"""Figure-claim companions of von Oswald et al. 2023's sine family: Fig 4 (sine), Fig 5 (interleaved), noisy labels.

Each reads only its figure's ``.npz`` arrays and json ``config``.  Tolerances, argued once here:

Fig 4.
- The Prop 2 identity on the trained layer (prediction = b + sum_i v_i kappa_i from its own features and
  merged weights): float64 round-off.  Each term is a 40-dim dot product and the sum has N = 10 terms,
  so the round-off is below ~50 eps = 1e-14 of the largest |term| sum; we allow 1e-9 of it (any error in
  the formula would be O(1) of it).
- "TF loss = MLP + GD loss" is the paper's reading of its Fig 4 (both curves on an axis 0-0.006): we take
  "match" as within 10 % of the GD baseline's loss plus 5 SE of the paired difference on 10^4 fresh
  tasks (10 % fixed before any run), and the alignment "partial cosine ~ 1" as >= 0.9 (the paper's axis runs
  0.5-1.1).  Both at the paper profile only (20000 steps at batch 1024; the notebook's batch is 2048); the quick profile
  (1000 steps at batch 64) asserts that both models learned (loss below the zero predictor by > 5 SE).
  Not asserted: Prop 2's literal form sum_i y_i k(x_i, x_q).  The code's embedding acts on (x, y) jointly, so
  the features depend on the labels and even the MLP + GD baseline (exactly one GD step on its features) is
  not linear in the context labels; the exact statement for this architecture is the identity above, and
  panel (d) shows the label-free, label-linear and label-nonlinear parts as measurements.
Fig 5.
- The loss "reaches the 1-step GD loss": within 3 % of the exact L* (the one-layer training band of Fig 2,
  the notes' check 11) plus 5 SE; "not the 2-step loss": above the fitted 2-step GD loss by > 5 paired SE;
  copying "far more to e_{k+1}": next >= 3 x rest (a threshold below the paper's ~7x, fixed in advance) and
  next - 3 rest > 5 SE.  All at the paper profile; the quick run (200 steps) is on its plateau and the
  quick rows say "not asserted at quick".
Noisy labels.

- GD at eta* against the closed form ``theory.lsa.noisy_label_loss``: 5 standard errors of the
  Monte-Carlo mean, saved by the figure from the same draws (one row: the largest z over k).
- The trained layer against GD at eta* on the same tasks: the one-layer training tolerance of Fig 2
  (3 % of the GD loss: the notes' companion check 11; its quick-profile seed-to-seed spread at k = 0 is
  benchmarks/results/lsa_trained_spread.json, gap 0.87 % SD 0.06 % on the 19 of 20 seeds that leave the
  plateau) plus 5 SE of the paired difference.  At every k the 20-seed spread of the same quick config
  (seeds 100..119, ``python -m benchmarks.lsa_noisy_spread``, benchmarks/results/lsa_noisy_spread.json)
  on the 19 seeds that leave the plateau: relative gap TF/GD - 1 with mean <= 0.2 %, SD <= 0.31 % and
  largest |gap| 0.64 % over k = 0..8, so the 3 % band lies > 9 SDs out; seed 119 is still on the plateau
  after 1500 steps (gap 94 % at k = 0) and would fail, as it fails Fig 2's rows (paper A.11).
"""
from __future__ import annotations

import numpy as np

from validation.checks import CheckResult
from validation.runs.vonoswald2023 import PAPER

__all__ = ["SINE_FIGURE_CHECKS", "check_noisy_labels", "check_fig4", "check_fig5"]


def check_noisy_labels(a, config):
    """GD at eta* on the closed form at every k (5 SE); each trained run within 3 % + 5 paired SE of GD."""
    ks = a["ks"]
    z = np.abs(a["gd_mc"] - a["closed_form"]) / a["gd_se"]
    worst = int(np.argmax(z))
    rows = [CheckResult(PAPER, "Noisy labels: one GD step at eta* matches the closed form "
                        "theory.lsa.noisy_label_loss for k = " + ", ".join(map(str, ks.tolist())),
                        0.0, float(z.max()), 5.0, bool(z.max() <= 5.0),
                        f"largest |MC - closed form| / SE over k (at k = {int(ks[worst])}); "
                        f"{int(a['tasks'])} tasks per k; 5 SE", source="derived")]
    for i in range(a["tf_mc"].shape[0]):
        tf, gd, se = a["tf_mc"][i], a["gd_mc"], a["paired_se"][i]
        ratio = np.abs(tf - gd) / (0.03 * gd + 5 * se)
        j = int(np.argmax(ratio))
        rows.append(CheckResult(
            PAPER, f"Noisy labels: the trained layer (seed {config['seed'] + i}) degrades as GD at eta* does, "
            "k = " + ", ".join(map(str, ks.tolist())), 0.0, float(ratio.max()), 1.0, bool(ratio.max() <= 1.0),
            f"largest |TF - GD| / (3 % GD + 5 paired SE) over k (at k = {int(ks[j])}: TF {tf[j]:.4f}, "
            f"GD {gd[j]:.4f}); 3 % is Fig 2's training band; its 20-seed spread under noisy labels: SD <= 0.31 % "
            "at every k (benchmarks/results/lsa_noisy_spread.json)", source="code"))
    return rows


def _paper(config) -> bool:
    return config.get("profile") == "paper"


def _not_at_quick(claim, config, why) -> CheckResult:
    return CheckResult(PAPER, f"{claim} (not asserted at {config.get('profile')})", 0.0, 0.0, 0.0, True,
                       f"not asserted at the {config.get('profile')} profile: {why}; the paper profile asserts it",
                       source="paper")


def check_fig4(a, config):
    """Prop 2 identity on both trained models; learning (quick) or TF = MLP + GD and cosine ~ 1 (paper)."""
    rows = []
    for name, label in (("tf", "trained MLP + LSA"), ("gd", "MLP + frozen GD layer")):
        res, scale = float(a[f"{name}_identity_residual"]), float(a[f"{name}_identity_scale"])
        rows.append(CheckResult(PAPER, f"Fig 4 / Prop 2: the {label} predicts b(x_q) + sum_i v(e_i) kappa(e_i, x_q), "
                                "a kernel smoother on its own features and merged weights", 0.0, res, 1e-9 * scale,
                                bool(res <= 1e-9 * scale), f"max |forward - smoother| over 2000 tasks; 1e-9 x the "
                                f"largest term sum ({scale:.3g}): float64 round-off; label-linear part "
                                f"sum_i y_i k(x_i, x_q) = {float(a[f'{name}_rms_label_linear']):.3g} RMS, label-free "
                                f"{float(a[f'{name}_rms_label_free']):.3g}, nonlinear "
                                f"{float(a[f'{name}_rms_label_nonlinear']):.3g}", source="derived"))
    tf, gd, pse = float(a["fresh_tf"]), float(a["fresh_gd"]), float(a["fresh_pair_se"])
    n = int(a["fresh_tasks"])
    if _paper(config):
        rows.append(CheckResult(PAPER, "Fig 4: the trained MLP + LSA reaches the loss of the MLP meta-learned through "
                                "one GD step", gd, tf, 0.1 * gd + 5 * pse, bool(abs(tf - gd) <= 0.1 * gd + 5 * pse),
                                f"{n} fresh tasks; 10 % of the GD loss (the paper's plot reading) + 5 paired SE",
                                source="paper"))
        cos = float(a["partial_cos"][-1])
        rows.append(CheckResult(PAPER, "Fig 4: partial cosine of TF and MLP + GD ~ 1 at the end of training", 1.0, cos,
                                0.1, bool(cos >= 0.9), "mean sign agreement of d y_hat / d x_q (1-D) on the eval "
                                "tasks; >= 0.9", source="paper"))
    else:
        for name, v in (("trained MLP + LSA", tf), ("MLP + GD", gd)):
            se = float(a["fresh_tf_se"] if name.startswith("trained") else a["fresh_gd_se"])
            z0, zse = float(a["zero_loss"]), float(a["zero_loss_se"])
            margin = 5 * float(np.hypot(se, zse))
            rows.append(CheckResult(PAPER, f"Fig 4 (quick): the {name} learned: its loss is below the zero predictor's",
                                    z0, v, margin, bool(v < z0 - margin), f"{n} fresh tasks; > 5 SE below",
                                    relation="<", source="paper"))
        rows.append(_not_at_quick("Fig 4: TF loss = MLP + GD loss, partial cosine ~ 1", config,
                                  "1000 steps at batch 64 (the notebook: 20000 at 2048)"))
    return rows


def check_fig5(a, config):
    """Loss -> exact 1-step GD L* (not 2-step) and copying next >> rest: paper profile; quick says not asserted."""
    if not _paper(config):
        return [_not_at_quick("Fig 5 / Prop 3: the loss reaches the 1-step GD loss, not the 2-step one, and layer 1 "
                              "copies e_{k+1}", config, "200 training steps keep the model on its plateau")]
    L, tf, se = float(a["L_star"]), float(a["fresh_tf"]), float(a["fresh_tf_se"])
    gd2, p2 = float(a["fresh_gd2"]), float(a["pair_se_tf_gd2"])
    nxt, rest = float(a["copy_next"][-1]), float(a["copy_rest"][-1])
    cse = float(np.hypot(a["copy_next_se"][-1], 3 * a["copy_rest_se"][-1]))
    return [
        CheckResult(PAPER, "Fig 5 / Prop 3: the 2-layer interleaved model reaches the 1-step GD loss L* = 245/1188",
                    L, tf,
                    0.03 * L + 5 * se, bool(abs(tf - L) <= 0.03 * L + 5 * se),
                    f"{int(a['fresh_tasks'])} fresh tasks; 3 % (Fig 2's band) + 5 SE; code's line 0.20469",
                    source="paper"),
        CheckResult(PAPER, "Fig 5 / Prop 3: its loss stays above the 2-step GD loss (one GD layer after the copy)",
                    gd2, tf,
                    5 * p2, bool(tf > gd2 + 5 * p2), "2-step GD with fitted per-step etas; > 5 paired SE",
                    relation=">", source="paper"),
        CheckResult(PAPER, "Fig 5 / Prop 3: layer 1's output at token k is far more sensitive to e_{k+1} than to the "
                    "other tokens (next >= 3 x rest)", 0.0, nxt - 3 * rest, 5 * cse, bool(nxt - 3 * rest > 5 * cse),
                    f"next {nxt:.3g}, rest {rest:.3g} at the last step; > 5 SE", relation=">", source="paper"),
    ]


#: this family's companions, merged into ``paper_figs.vonoswald2023.FIGURE_CHECKS``
SINE_FIGURE_CHECKS = {
    "fig4": check_fig4,
    "fig5": check_fig5,
    "noisy_labels": check_noisy_labels,
}
