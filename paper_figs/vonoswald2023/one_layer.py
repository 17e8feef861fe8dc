"""Figures 2 and 9 of von Oswald et al. 2023: one trained LSA layer is one GD step at eta*.

Settings are the authors' code's (notes §0): d = N = 10, x ~ U(-1/2, 1/2)^d (the paper writes
U(-1, 1)), w ~ N(0, I), losses are 1/2 MSE; the OOD axis alpha is the code's ``input_range``
(full width, U(-alpha/2, alpha/2)).  The closed forms of ``theory.lsa`` are drawn dashed.
"""
from __future__ import annotations

import time

import numpy as np

from numerics.lsa import gd_predict, sample_tasks
from numerics.seeds import child_rng
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import (
    FRESH_TASKS,
    as_curve,
    band,
    figure_config,
    loss_stats,
    run_summary,
    setup,
    theory_values,
    trained_runs,
)
from paper_figs.vonoswald2023.ood import ood_input_losses
from theory.lsa import gd_construction, optimal_step_size
from validation.lsa.population import population_path, weights_population_loss
from validation.runs.vonoswald2023 import D, LAW, N_CTX, PAPER

__all__ = ["fig2_one_layer_vs_gd", "fig9_weight_heatmaps"]


# ----------------------------------------------------------------------------- Figure 2
def fig2_one_layer_vs_gd(*, profile="quick", out="results", seed=0):
    """Figure 2: one trained LSA layer vs one GD step at eta* (d = N = 10).

    (a) eval loss over training, with L* = one_step_loss(eta*) = 245/1188 = 0.2062 and the zero
    predictor 1/2 s^2 d = 5/12 dashed, GD and the interpolated weights, and the population path (the
    same start and AdamW on the exact population gradient, ``validation.lsa.population_path``); (b) alignment with GD
    (model cos -> 1, preds / model diff -> 0, dashed); (c) final loss vs n = d = N with the
    closed form L*(n) = n (n - 1/5) / (24 (2n - 1/5)); (d) OOD input scale U(-alpha/2, alpha/2)
    with the closed form (``theory.lsa.ood_input_scale_loss``), log scale.
    """
    started = time.perf_counter()
    cfg = setup(profile, seed)
    th = theory_values()
    runs = trained_runs(cfg)
    steps = runs[0].steps
    arrays = {"steps": steps, "tf_loss": np.array([r.losses for r in runs]),
              "interp_loss": np.array([r.interpolation_losses for r in runs])}
    n_values = np.array(cfg["n_values"])
    n_runs = [trained_runs(cfg, n=int(n), N=int(n)) for n in n_values]
    arrays.update(n_values=n_values, tf_loss_n=np.array([[r.final_loss for r in rs] for rs in n_runs]),
                  gd_loss_n=np.array([rs[0].gd_loss for rs in n_runs]),
                  interp_loss_n=np.array([[r.interpolation_loss for r in rs] for rs in n_runs]))
    n_grid = np.linspace(n_values.min(), n_values.max(), 100)
    alphas = np.round(np.arange(0.5, 2.0 + 1e-9, cfg["alpha_step"]), 6)
    tf_ood, gd_ood, gd_ood_se, ood_paired_se = ood_input_losses(runs, alphas, cfg["mc_tasks"], child_rng(seed, 2))
    # the companion's numbers: each trained model and GD at eta* on FRESH_TASKS fresh tasks (d = N = n)
    fresh = {}
    for key, n, rs in [("", D, runs)] + [(f"_n{int(n)}", int(n), r) for n, r in zip(n_values, n_runs)]:
        X, y, x_q, y_q, _ = sample_tasks(FRESH_TASKS, n, n, law=LAW, rng=child_rng(seed, 3, n))
        gd = gd_predict(X, y, x_q, float(optimal_step_size(n, n, LAW)))
        stats = np.array([loss_stats(r.predict(X, y, x_q), gd, y_q) for r in rs])  # (runs, 5)
        fresh.update({f"fresh{key}_tf": stats[:, 0], f"fresh{key}_tf_se": stats[:, 1], f"fresh{key}_gd": stats[:, 2],
                      f"fresh{key}_gd_se": stats[:, 3], f"fresh{key}_paired_se": stats[:, 4]})
    arrays.update(theory_L_star=np.array(th["L_star"]), theory_L_zero=np.array(th["L_zero"]),
                  n_grid=n_grid, theory_L_star_n=as_curve(th["L_star_n"], n_grid),
                  theory_L_star_at_n=as_curve(th["L_star_n"], n_values),
                  alphas=alphas, tf_ood_input=tf_ood, gd_ood_input=gd_ood,
                  theory_ood_input=as_curve(th["ood_input"], alphas), gd_ood_input_se=gd_ood_se,
                  ood_paired_se=ood_paired_se, ood_tasks=np.array(cfg["mc_tasks"]), fresh_tasks=np.array(FRESH_TASKS),
                  **fresh)
    for key in ("preds_diff", "model_cos", "model_diff"):
        arrays[key] = np.array([r.alignment_history[key] for r in runs])
    # the population path: the same start and optimiser on the exact population gradient (derived)
    paths = [population_path(r.config) for r in runs]
    arrays.update(pop_steps=paths[0].steps, pop_loss=np.array([p.losses for p in paths]),
                  tf_population_loss=np.array([weights_population_loss(r) for r in runs]))

    with figure_style() as plt:
        fig, ax = plt.subplots(1, 4, figsize=(13, 3.1))
        a = ax[0]
        band(a, steps, arrays["tf_loss"], "trained LSA")
        band(a, steps, arrays["interp_loss"], "interpolated", lw=1.0)
        a.plot(arrays["pop_steps"], arrays["pop_loss"].mean(0), color="0.2", lw=1.0, ls="--",
               label="population AdamW, same start (exact)")
        a.axhline(np.mean([r.gd_loss for r in runs]), color="C2", lw=1.0, label="GD at eta* (same tasks)")
        a.axhline(th["L_star"], **THEORY, label=f"theory L* = {th['L_star']:.4f}")
        a.axhline(th["L_zero"], **{**THEORY, "linestyle": ":"}, label=f"zero predictor {th['L_zero']:.4f}")
        a.set(xlabel="training step", ylabel="1/2 MSE", ylim=(0.15, 0.45), title="(a) loss")
        a.legend(loc="upper right")
        a.text(0.98, 0.45, f"x ~ U(-1/2, 1/2) (the code);\nthe paper's U(-1, 1): L* = {th['L_star_paper_law']:.4f}",
               transform=a.transAxes, ha="right", fontsize=7, color="0.3")
        a = ax[1]
        for key, label in (("preds_diff", "preds diff"), ("model_diff", "model diff")):
            band(a, steps, arrays[key], label)
        a.axhline(0.0, **THEORY, label="theory: 0 and 1")
        a.set(xlabel="training step", ylabel="L2 distance", title="(b) alignment with GD")
        b = a.twinx()
        band(b, steps, arrays["model_cos"], "model cos", color="C3")
        b.axhline(1.0, **THEORY)
        b.set(ylim=(0, 1.05), ylabel="cosine")
        b.grid(False)
        h1, l1 = a.get_legend_handles_labels()
        h2, l2 = b.get_legend_handles_labels()
        a.legend(h1 + h2, l1 + l2, loc="center right")
        a = ax[2]
        top = 1.6 * float(arrays["theory_L_star_n"].max())
        a.plot(n_grid, arrays["theory_L_star_n"], **THEORY, label="theory L*(n)")
        a.plot(n_values, arrays["gd_loss_n"], "s", mfc="none", label="GD at eta* (MC)")
        for vals, marker, label in ((arrays["tf_loss_n"], "o", "trained LSA"),
                                    (arrays["interp_loss_n"], "x", "interpolated")):
            v = vals.mean(1)
            line, = a.plot(n_values, np.minimum(v, top), marker, ls="none", label=label)
            for n, val in zip(n_values[v > top], v[v > top]):  # off the scale: say so
                a.annotate(f"{label}: {val:.3g} (off scale)", (n, top), textcoords="offset points",
                           xytext=(6, -3), fontsize=7, color=line.get_color())
        for n, tf, gd in zip(n_values, arrays["tf_loss_n"].mean(1), arrays["gd_loss_n"]):
            if gd * 1.1 < tf <= top:  # a seed still on a plateau (paper A.11: seed-dependent plateaus)
                a.annotate(f"not converged\n({cfg['steps_1']} steps)", (n, tf), textcoords="offset points",
                           xytext=(6, -16), fontsize=7, color="0.3")
        a.set(xlabel="n = d = N", ylabel="1/2 MSE", ylim=(0, 1.05 * top), title="(c) loss vs size")
        a.legend(loc="lower right")
        a = ax[3]
        a.plot(alphas, arrays["theory_ood_input"], **THEORY, label="theory (GD at eta*)")
        a.plot(alphas, gd_ood, "s", ms=3, mfc="none", label="GD (MC)")
        band(a, alphas, tf_ood, "trained LSA", marker="o", ms=2.5, lw=0.8)
        a.axvline(1.0, color="0.6", lw=0.8, ls=":")
        a.set(yscale="log", xlabel="alpha: x ~ U(-alpha/2, alpha/2)", ylabel="1/2 MSE", title="(d) OOD input scale")
        a.legend()
        config = figure_config(cfg, profile, seed, runs=run_summary(runs),
                               runs_by_n={int(n): run_summary(rs) for n, rs in zip(n_values, n_runs)},
                               errata={"L_star_code_uniform(1/2)": th["L_star"],
                                 "L_star_paper_uniform(1)": th["L_star_paper_law"]},
                               note="(c) varies n = d = N together (the paper's 'N = N_x'); "
                              "(d) alpha is the full width of the input interval (code's input_range)")
        return save_figure(fig, out, PAPER, "fig2", arrays=arrays, config=config, started=started)


# ----------------------------------------------------------------------------- Figure 9
def fig9_weight_heatmaps(*, profile="quick", out="results", seed=0):
    """Figure 9: trained W_K^T W_Q and P W_V (one layer) next to the Proposition 1 construction.

    Normalised as the code's interpolation (notes §4.4): beta = mean diagonal of the x-block of
    W_K^T W_Q, shown W_K^T W_Q / beta and beta P W_V.  The construction (``theory.lsa.gd_construction``
    at eta* = 200/33) has W_K^T W_Q = diag(I, 0) and P W_V with the single entry -eta*/N = -0.606.
    The paper's title "W_K^T W_V" is a typo for the key-query product (errata).
    """
    started = time.perf_counter()
    cfg = setup(profile, seed)
    run = trained_runs(cfg)[0]
    KQ, PV = run.W_KQ[0, 0], run.W_PV[0, 0]  # (D+1, D+1): layer 0, head 0
    beta = float(np.mean(np.diag(KQ)[:D]))
    w = gd_construction(D, 1, N_CTX, optimal_step_size(D, N_CTX, LAW))
    C_KQ = np.array((w["W_K"].T * w["W_Q"]).evalf(), dtype=float)
    C_PV = np.array((w["P"] * w["W_V"]).evalf(), dtype=float)
    arrays = dict(trained_KQ=KQ / beta, trained_PV=beta * PV, theory_KQ=C_KQ, theory_PV=C_PV,
                  beta=np.array(beta))
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 4, figsize=(12, 3.2))
        pairs = [(arrays["trained_KQ"], "trained W_K^T W_Q / beta"), (C_KQ, "construction W_K^T W_Q"),
                 (arrays["trained_PV"], f"trained beta P W_V\n[-1,-1] = {beta * PV[-1, -1]:.4f}"),
                 (C_PV, f"construction P W_V\n[-1,-1] = -eta*/N = {C_PV[-1, -1]:.4f}")]
        for i, (a, (M, title)) in enumerate(zip(ax, pairs)):
            j = 2 * (i // 2)  # the (trained, construction) pair shares one symmetric colour scale
            vmax = max(np.abs(pairs[j][0]).max(), np.abs(pairs[j + 1][0]).max()) or 1.0
            im = a.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            a.set(title=title, xticks=[0, D], yticks=[0, D])
            a.grid(False)
            fig.colorbar(im, ax=a, shrink=0.8)
        fig.suptitle(f"one trained LSA layer (beta = {beta:.3g}; the paper's title 'W_K^T W_V' means W_K^T W_Q)")
        config = figure_config(cfg, profile, seed, runs=run_summary([run]), beta=beta,
                               max_abs_dev_KQ=float(np.max(np.abs(KQ / beta - C_KQ))),
                               max_abs_dev_PV=float(np.max(np.abs(beta * PV - C_PV))))
        return save_figure(fig, out, PAPER, "fig9", arrays=arrays, config=config, started=started)
