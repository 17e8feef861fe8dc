"""Figures of von Oswald et al. 2023, "Transformers learn in-context by gradient descent".

One function per paper figure; each trains (or reuses) the LSA models of ``validation.lsa``,
evaluates the GD / GD++ baselines of ``numerics.lsa`` and draws the closed forms of
``theory.lsa`` dashed, so every picture is also a check.  Settings are the authors' code's
(notes §0): d = N = 10, x ~ U(-1/2, 1/2)^d (the paper writes U(-1, 1)), w ~ N(0, I), losses
are 1/2 MSE; the OOD axis alpha is the code's ``input_range`` (full width, U(-alpha/2, alpha/2)).

Profiles: ``"quick"`` (one seed, shortened training; every figure well under two minutes on
two cores) and ``"paper"`` (5 seeds, 5000 steps tied / 50000 untied, 10^4 evaluation tasks).
Profiles, the training cache (per configuration, within one process: fig1_right, fig2, fig6,
fig9 and fig10 share one training run, fig3 and fig6 the deep ones) and the theory helpers live
in ``paper_figs.vonoswald2023_runs``.  Each figure's json records what a profile shortened.
"""
from __future__ import annotations

import time

import numpy as np
import sympy as sp

from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023_runs import (  # noqa: F401  (_PROFILES, _trained: for tests and tools)
    _PROFILES,
    D,
    LAW,
    N_CTX,
    PAPER,
    PAPER_FIG13,
    _arr,
    _band,
    _config,
    _deep_ood,
    _fig13_data,
    _ood_curves,
    _ood_input_losses,
    _rng,
    _rollouts,
    _runs,
    _setup,
    _summary,
    _theory,
    _trained,
)


__all__ = [
    "FIGURES",
    "fig1_right_dampened_rollout",
    "fig2_one_layer_vs_gd",
    "fig3_deep_vs_gd_and_gdpp",
    "fig6_out_of_distribution",
    "fig9_weight_heatmaps",
    "fig10_dampened_rollouts",
    "fig13_gdpp_spectrum",
]


# ----------------------------------------------------------------------------- Figure 2
def fig2_one_layer_vs_gd(*, profile="quick", out="results", seed=0):
    """Figure 2: one trained LSA layer vs one GD step at eta* (d = N = 10).

    (a) eval loss over training, with L* = one_step_loss(eta*) = 245/1188 = 0.2062 and the zero
    predictor 1/2 s^2 d = 5/12 dashed, GD and the interpolated weights; (b) alignment with GD
    (model cos -> 1, preds / model diff -> 0, dashed); (c) final loss vs n = d = N with the
    closed form L*(n) = n (n - 1/5) / (24 (2n - 1/5)); (d) OOD input scale U(-alpha/2, alpha/2)
    with the closed form (``theory.lsa.ood_input_scale_loss``), log scale.
    """
    started = time.perf_counter()
    cfg = _setup(profile, seed)
    th = _theory()
    runs = _runs(cfg)
    steps = runs[0].steps
    arrays = {"steps": steps, "tf_loss": np.array([r.losses for r in runs]),
              "interp_loss": np.array([r.interpolation_losses for r in runs])}
    n_values = np.array(cfg["n_values"])
    n_runs = [_runs(cfg, n=int(n), N=int(n)) for n in n_values]
    arrays.update(n_values=n_values, tf_loss_n=np.array([[r.final_loss for r in rs] for rs in n_runs]),
                  gd_loss_n=np.array([rs[0].gd_loss for rs in n_runs]),
                  interp_loss_n=np.array([[r.interpolation_loss for r in rs] for rs in n_runs]))
    n_grid = np.linspace(n_values.min(), n_values.max(), 100)
    alphas = np.round(np.arange(0.5, 2.0 + 1e-9, cfg["alpha_step"]), 6)
    tf_ood, gd_ood = _ood_input_losses(runs, alphas, cfg["mc_tasks"], _rng(seed, 2))
    arrays.update(theory_L_star=np.array(th["L_star"]), theory_L_zero=np.array(th["L_zero"]),
                  n_grid=n_grid, theory_L_star_n=_arr(th["L_star_n"], n_grid),
                  alphas=alphas, tf_ood_input=tf_ood, gd_ood_input=gd_ood,
                  theory_ood_input=_arr(th["ood_input"], alphas))
    for key in ("preds_diff", "model_cos", "model_diff"):
        arrays[key] = np.array([r.alignment_history[key] for r in runs])

    with figure_style() as plt:
        fig, ax = plt.subplots(1, 4, figsize=(13, 3.1))
        a = ax[0]
        _band(a, steps, arrays["tf_loss"], "trained LSA")
        _band(a, steps, arrays["interp_loss"], "interpolated", lw=1.0)
        a.axhline(np.mean([r.gd_loss for r in runs]), color="C2", lw=1.0, label="GD at eta* (same tasks)")
        a.axhline(th["L_star"], **THEORY, label=f"theory L* = {th['L_star']:.4f}")
        a.axhline(th["L_zero"], **{**THEORY, "linestyle": ":"}, label=f"zero predictor {th['L_zero']:.4f}")
        a.set(xlabel="training step", ylabel="1/2 MSE", ylim=(0.15, 0.45), title="(a) loss")
        a.legend(loc="upper right")
        a.text(0.98, 0.45, f"x ~ U(-1/2, 1/2) (the code);\nthe paper's U(-1, 1): L* = {th['L_star_paper_law']:.4f}",
               transform=a.transAxes, ha="right", fontsize=7, color="0.3")
        a = ax[1]
        for key, label in (("preds_diff", "preds diff"), ("model_diff", "model diff")):
            _band(a, steps, arrays[key], label)
        a.axhline(0.0, **THEORY, label="theory: 0 and 1")
        a.set(xlabel="training step", ylabel="L2 distance", title="(b) alignment with GD")
        b = a.twinx()
        _band(b, steps, arrays["model_cos"], "model cos", color="C3")
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
        _band(a, alphas, tf_ood, "trained LSA", marker="o", ms=2.5, lw=0.8)
        a.axvline(1.0, color="0.6", lw=0.8, ls=":")
        a.set(yscale="log", xlabel="alpha: x ~ U(-alpha/2, alpha/2)", ylabel="1/2 MSE", title="(d) OOD input scale")
        a.legend()
        config = _config(cfg, profile, seed, runs=_summary(runs),
                         runs_by_n={int(n): _summary(rs) for n, rs in zip(n_values, n_runs)},
                         errata={"L_star_code_uniform(1/2)": th["L_star"],
                                 "L_star_paper_uniform(1)": th["L_star_paper_law"]},
                         note="(c) varies n = d = N together (the paper's 'N = N_x'); "
                              "(d) alpha is the full width of the input interval (code's input_range)")
        return save_figure(fig, out, PAPER, "fig2", arrays=arrays, config=config, started=started)


# ----------------------------------------------------------------------------- Figure 3
def fig3_deep_vs_gd_and_gdpp(*, profile="quick", out="results", seed=0):
    """Figure 3: recurrent 2-layer and untied 5-layer LSA vs K-step GD and GD++.

    Baselines are fitted by ``numerics.lsa.fit_gdpp`` (tied (eta, gamma) for the recurrent
    model, per-layer (eta_k, gamma_k) for the untied one) and evaluated on the model's eval
    tasks.  Dashed: the exact one-step optimum L* = 0.2062 and the zero predictor 5/12
    (K-step losses have no closed form: notes §7.4, MC 2-step GD 0.157, GD++ 0.110).
    """
    started = time.perf_counter()
    cfg = _setup(profile, seed)
    th = _theory()
    models = {"2-layer recurrent": _runs(cfg, layers=2, recurrent=True),
              "5-layer untied": _runs(cfg, layers=5, recurrent=False)}
    arrays, summary = {}, {}
    with figure_style() as plt:
        fig, ax = plt.subplots(2, 2, figsize=(9, 6))
        for row, (name, runs) in enumerate(models.items()):
            key = name.split("-")[0]
            steps = runs[0].steps
            K = runs[0].config["layers"]
            loss = np.array([r.losses for r in runs])
            gd, pp = np.mean([r.gd_loss for r in runs]), np.mean([r.gdpp_loss for r in runs])
            cos_gd = np.array([r.alignment_history["model_cos"] for r in runs])
            cos_pp = np.array([r.alignment_gdpp_history["model_cos"] for r in runs])
            arrays.update({f"steps_{key}": steps, f"tf_loss_{key}": loss, f"gd_loss_{key}": gd,
                           f"gdpp_loss_{key}": pp, f"cos_gd_{key}": cos_gd, f"cos_gdpp_{key}": cos_pp})
            summary[name] = dict(_summary(runs), gdpp_loss=[r.gdpp_loss for r in runs],
                                 gd_etas=[r.gd_etas for r in runs], gdpp_etas=[r.gdpp_etas for r in runs],
                                 gdpp_gammas=[r.gdpp_gammas for r in runs],
                                 trained_gammas=[r.gammas for r in runs],
                                 alignment_gdpp=[r.alignment_gdpp for r in runs])
            a = ax[row, 0]
            _band(a, steps, loss, f"trained {name}")
            a.axhline(gd, color="C1", lw=1.0, label=f"{K}-step GD (fitted) {gd:.3f}")
            # GD++ contains GD (gamma = 0): a GD++ fit worse than GD on the same tasks has failed
            failed = " (fit failed: worse than GD)" if pp > gd else ""
            a.axhline(pp, color="C2", lw=1.0, label=f"{K}-step GD++ (fitted) {pp:.3g}{failed}")
            a.axhline(th["L_star"], **THEORY, label=f"theory 1-step GD {th['L_star']:.4f}")
            a.axhline(th["L_zero"], **{**THEORY, "linestyle": ":"}, label="zero predictor")
            a.set(xlabel="training step", ylabel="1/2 MSE", ylim=(0, 0.45), title=f"({'ac'[row]}) {name}: loss")
            a.legend(loc="upper right")
            a = ax[row, 1]
            _band(a, steps, cos_gd, f"model cos with {K}-step GD")
            _band(a, steps, cos_pp, f"model cos with {K}-step GD++{failed}")
            a.axhline(1.0, **THEORY, label="identical models")
            a.set(xlabel="training step", ylabel="cosine", ylim=(0, 1.05), title=f"({'bd'[row]}) {name}: alignment")
            a.legend(loc="lower right")
        config = _config(cfg, profile, seed, models=summary,
                         note="quick profile: far fewer training steps than the paper (see "
                              "shortened_from_paper), so the untied 5-layer model is not converged")
        return save_figure(fig, out, PAPER, "fig3", arrays=arrays, config=config, started=started)


# ----------------------------------------------------------------------------- Figure 6
def fig6_out_of_distribution(*, profile="quick", out="results", seed=0):
    """Figure 6: trained models and GD / GD++ out of distribution.

    One trained layer vs GD at eta*: (a) inputs U(-alpha/2, alpha/2) (the code's full-width alpha),
    theory ``ood_input_scale_loss``; (b) tasks alpha w, theory alpha^2 L* (``ood_task_scale_loss``);
    (c) exponential / normal / Laplace inputs (one law per task, each w.p. 1/3) with the context
    rescaled to Frobenius norm alpha as the code does (query by the same factor); (d) the same laws
    at the training scale |X|_F = sqrt(N d / 12), tasks alpha w: GD is exactly alpha^2 L_GD(1)
    (prediction and target linear in w), dashed.  Deeper models (the paper's 2- and 5-layer curves)
    vs their fitted K-step GD++ on the same tasks: (e) larger inputs, (f) larger tasks, dashed the
    exact alpha^2 L_GD++(1).  The 2-layer recurrent model (fig3's cached run) is in every profile,
    the untied 5-layer model in the paper profile only.
    """
    from numerics.lsa import gd_predict, sample_ood_tasks, sample_tasks

    started = time.perf_counter()
    cfg = _setup(profile, seed)
    th = _theory()
    runs = _runs(cfg)
    n_mc, eta = cfg["mc_tasks"], th["eta_star"]
    a_in = np.round(np.arange(0.5, 2.0 + 1e-9, cfg["alpha_step"]), 6)
    a_task = np.round(np.arange(0.5, 5.0 + 1e-9, cfg["task_step"]), 6)
    a_other = np.round(np.arange(0.5, 5.0 + 1e-9, cfg["other_step"]), 6)
    fro_train = float(np.sqrt(N_CTX * D / 12.0))
    tf_in, gd_in = _ood_input_losses(runs, a_in, n_mc, _rng(seed, 6))

    def curves(alphas, draw):
        tf, gd = _ood_curves(runs, alphas, draw, lambda r, X, y, x_q: gd_predict(X, y, x_q, eta))
        return tf, gd[0]  # GD does not depend on the run

    # common random numbers along each alpha axis: the same seed at every alpha
    tf_task, gd_task = curves(a_task, lambda a: sample_tasks(n_mc, D, N_CTX, task_var=a * a, rng=_rng(seed, 61)))
    tf_oth, gd_oth = curves(a_other, lambda a: sample_ood_tasks(n_mc, D, N_CTX, alpha=a, rng=_rng(seed, 62)))
    tf_oth_t, gd_oth_t = curves(a_task, lambda a: sample_ood_tasks(n_mc, D, N_CTX, alpha=fro_train,
                                                                   task_var=a * a, rng=_rng(seed, 63)))
    gd_oth_1 = curves([1.0], lambda a: sample_ood_tasks(n_mc, D, N_CTX, alpha=fro_train, rng=_rng(seed, 63)))[1][0]
    arrays = dict(alpha_input=a_in, tf_input=tf_in, gd_input=gd_in, theory_input=_arr(th["ood_input"], a_in),
                  alpha_task=a_task, tf_task=tf_task, gd_task=gd_task, theory_task=_arr(th["ood_task"], a_task),
                  alpha_other=a_other, tf_other=tf_oth, gd_other=gd_oth,
                  tf_other_task=tf_oth_t, gd_other_task=gd_oth_t, scaling_other_task=a_task**2 * gd_oth_1)
    deep = _deep_ood(cfg, seed, a_in, a_task)
    for K, v in deep.items():
        arrays.update({f"{k}_{K}layer": v[k] for k in ("tf_input", "gdpp_input", "tf_task", "gdpp_task",
                                                        "scaling_task")})
    panels = [("(a) larger inputs", "alpha: x ~ U(-alpha/2, alpha/2)", a_in, tf_in, gd_in, arrays["theory_input"],
               "theory (GD at eta*)", 1.0),
              ("(b) larger tasks", "alpha: w -> alpha w", a_task, tf_task, gd_task, arrays["theory_task"],
               "theory alpha^2 L*", 1.0),
              ("(c) exp / normal / Laplace inputs", "alpha = |X|_F (code's normalisation)", a_other, tf_oth,
               gd_oth, None, None, fro_train),
              ("(d) exp / normal / Laplace, larger tasks", "alpha: w -> alpha w (|X|_F at training scale)",
               a_task, tf_oth_t, gd_oth_t, arrays["scaling_other_task"], "GD: alpha^2 L_GD(1) (exact)", 1.0)]
    with figure_style() as plt:
        fig, axes = plt.subplots(2, 3, figsize=(11, 6.4))
        ax = axes.ravel()
        for a, (title, xlabel, x, tf, gd, theory, tlabel, train_x) in zip(ax, panels):
            if theory is not None:
                a.plot(x, theory, **THEORY, label=tlabel)
            a.plot(x, gd, "s", ms=3, mfc="none", label="GD at eta* (MC)")
            _band(a, x, tf, "trained LSA (1 layer)", marker="o", ms=2.5, lw=0.8)
            a.axvline(train_x, color="0.6", lw=0.8, ls=":")
            a.set(yscale="log", xlabel=xlabel, ylabel="1/2 MSE", title=title)
            a.legend()
        for a, axis, x, title, xlabel in ((ax[4], "input", a_in, "(e) deeper models, larger inputs",
                                           "alpha: x ~ U(-alpha/2, alpha/2)"),
                                          (ax[5], "task", a_task, "(f) deeper models, larger tasks",
                                           "alpha: w -> alpha w")):
            for c, (K, v) in enumerate(deep.items()):
                name = "2-layer recurrent" if K == 2 else f"{K}-layer untied"
                color = f"C{2 * c}"
                if axis == "task":
                    a.plot(x, v["scaling_task"].mean(0), **{**THEORY, "color": color},
                           label=f"{K}-step GD++: alpha^2 L(1) (exact)")
                a.plot(x, v[f"gdpp_{axis}"].mean(0), "s", ms=3, mfc="none", color=color,
                       label=f"{K}-step GD++ (fitted, MC)")
                _band(a, x, v[f"tf_{axis}"], f"trained {name}", color=f"C{2 * c + 1}", marker="o", ms=2.5, lw=0.8)
            a.axvline(1.0, color="0.6", lw=0.8, ls=":")
            a.set(yscale="log", xlabel=xlabel, ylabel="1/2 MSE", title=title)
            a.legend()
        deep_summary = {f"{K}-layer": dict(_summary(v["runs"]), gdpp_etas=[r.gdpp_etas for r in v["runs"]],
                                           gdpp_gammas=[r.gdpp_gammas for r in v["runs"]])
                        for K, v in deep.items()}
        config = _config(cfg, profile, seed, runs=_summary(runs), deep_runs=deep_summary,
                         frobenius_training_scale=fro_train,
                         note="dotted vertical lines: the training distribution's alpha; (e, f): deep models "
                              "vs their fitted GD++ (5-layer: paper profile only; it clips tokens at 10 as "
                              "the code does, GD++ does not)")
        return save_figure(fig, out, PAPER, "fig6", arrays=arrays, config=config, started=started)


# ----------------------------------------------------------------------------- Figure 9
def fig9_weight_heatmaps(*, profile="quick", out="results", seed=0):
    """Figure 9: trained W_K^T W_Q and P W_V (one layer) next to the Proposition 1 construction.

    Normalised as the code's interpolation (notes §4.4): beta = mean diagonal of the x-block of
    W_K^T W_Q, shown W_K^T W_Q / beta and beta P W_V.  The construction (``theory.lsa.gd_construction``
    at eta* = 200/33) has W_K^T W_Q = diag(I, 0) and P W_V with the single entry -eta*/N = -0.606.
    The paper's title "W_K^T W_V" is a typo for the key-query product (errata).
    """
    from theory.lsa import gd_construction, optimal_step_size

    started = time.perf_counter()
    cfg = _setup(profile, seed)
    run = _runs(cfg)[0]
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
        config = _config(cfg, profile, seed, runs=_summary([run]), beta=beta,
                         max_abs_dev_KQ=float(np.max(np.abs(KQ / beta - C_KQ))),
                         max_abs_dev_PV=float(np.max(np.abs(beta * PV - C_PV))))
        return save_figure(fig, out, PAPER, "fig9", arrays=arrays, config=config, started=started)


# ----------------------------------------------------------------------------- Figures 1 (right) and 10
def fig1_right_dampened_rollout(*, profile="quick", out="results", seed=0):
    """Figure 1 (right): the trained single layer and GD, repeated 50 times with lambda = 0.75.

    Dashed theory: the zero predictor 5/12 at step 0 and one_step_loss(0.75 eta*) at step 1.
    """
    return _rollouts("fig1_right", (0.75,), profile=profile, out=out, seed=seed,
                     title="dampened roll-out (lambda = 0.75) of one trained layer vs GD")


def fig10_dampened_rollouts(*, profile="quick", out="results", seed=0):
    """Figure 10: roll-outs for lambda = 1, 0.875, 0.75 (lambda = 1 diverges, 0.75 decreases)."""
    return _rollouts("fig10", (1.0, 0.875, 0.75), profile=profile, out=out, seed=seed,
                     title="roll-outs of one trained layer vs GD for three dampening factors")


# ----------------------------------------------------------------------------- Figure 13
def fig13_gdpp_spectrum(*, profile="quick", out="results", seed=0):
    """Figure 13: the spectrum of X X^T and the GD++ curvature correction.

    (a) min / max eigenvalue of X X^T over the tasks for N = 10, 25, 50, 100 (the paper's values
    annotated; they match U(-1/2, 1/2), not U(-1, 1), where they would be 4x larger);
    (b) the GD++ eigenvalue map f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (dashed,
    ``theory.lsa.gdpp_eigenvalue_map``) at the fitted gamma for N = 25 over the eigenvalues' range,
    root 1/gamma and maximum at 1/(3 gamma); (c) condition number of f(X X^T) over the tasks vs
    gamma for N = 25 (median and 10-90 % band); (d) gamma of recurrent 2-step GD++ fitted by
    ``numerics.lsa.fit_gdpp`` vs the paper's trained 2-layer models.
    """
    from numerics.lsa import gdpp_condition_numbers
    from theory.lsa import gdpp_eigenvalue_facts, gdpp_eigenvalue_map

    started = time.perf_counter()
    cfg = _setup(profile, seed)
    Ns = np.array(PAPER_FIG13["N"])
    lam_min, lam_max, gammas, spectra = _fig13_data(cfg, seed)
    g25 = gammas[1]
    lam25 = spectra[25]
    gamma_grid = np.linspace(0.0, 0.2, cfg["gamma_points"])
    kappa = np.array([gdpp_condition_numbers(lam25, float(g)) for g in gamma_grid])  # (G, n)
    q = np.nanpercentile(np.where(np.isfinite(kappa), kappa, np.nan), [10, 50, 90], axis=1)
    lam_grid = np.linspace(0.0, max(float(lam25.max()), 1.0 / g25) * 1.05, 200)
    lam_s, gam_s = sp.symbols("lam gamma")
    f = sp.lambdify((lam_s, gam_s), gdpp_eigenvalue_map(lam_s, gam_s), "numpy")
    facts = gdpp_eigenvalue_facts(sp.nsimplify(g25))
    arrays = dict(N=Ns, lam_min=np.array(lam_min), lam_max=np.array(lam_max), gamma_fit=np.array(gammas),
                  paper_lam_min=np.array(PAPER_FIG13["lam_min"]), paper_lam_max=np.array(PAPER_FIG13["lam_max"]),
                  paper_gamma=np.array(PAPER_FIG13["gamma"]), gamma_grid=gamma_grid, kappa_q10_50_90=q,
                  lam_grid=lam_grid, theory_map=_arr(lambda x: f(x, g25), lam_grid), gamma_25=np.array(g25))
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 4, figsize=(13, 3.1))
        a = ax[0]
        a.plot(Ns, lam_max, "o-", label="max eig (ours)")
        a.plot(Ns, np.maximum(lam_min, 1e-12), "o-", label="min eig (ours)")
        a.plot(Ns, 4 * np.array(lam_max), ":", color="C0", lw=1.0, label="max eig if x ~ U(-1, 1) (4x)")
        a.plot(Ns, PAPER_FIG13["lam_max"], "kx", ms=7, label="paper")
        a.plot(Ns, PAPER_FIG13["lam_min"], "kx", ms=7)
        for N, lo, hi in zip(Ns, PAPER_FIG13["lam_min"], PAPER_FIG13["lam_max"]):
            a.annotate(f"{hi:g}", (N, hi), textcoords="offset points", xytext=(3, 4), fontsize=7)
            a.annotate(f"{lo:g}", (N, lo), textcoords="offset points", xytext=(3, -9), fontsize=7)
        a.set(xscale="log", yscale="log", xlabel="N", ylabel="eigenvalue of X X^T",
              title=f"(a) spectrum over {cfg['spectrum_tasks']} tasks")
        a.legend()
        a = ax[1]
        a.axvspan(float(lam25.min()), float(lam25.max()), color="C0", alpha=0.15, label="eigenvalues, N = 25")
        a.plot(lam_grid, arrays["theory_map"], **THEORY, label=f"f(lam), gamma = {g25:.3f}")
        a.plot(lam_grid, lam_grid, color="0.6", lw=0.8, label="identity")
        a.plot([float(facts["argmax"])], [float(facts["max"])], "kv", label="max 4/(27 gamma) at 1/(3 gamma)")
        a.axvline(1 / g25, color="0.4", lw=0.8, ls=":", label="root 1/gamma")
        a.set(xlabel="lam", ylabel="f(lam)", ylim=(0, 1.2 * float(facts["max"]) + 0.5),
              title="(b) GD++ eigenvalue map")
        a.legend(loc="upper left")
        a = ax[2]
        a.fill_between(gamma_grid, q[0], q[2], color="C0", alpha=0.2, lw=0, label="10-90 % of tasks")
        a.plot(gamma_grid, q[1], color="C0", label="median condition number")
        a.axvline(g25, color="C1", lw=1.0, label=f"fitted gamma {g25:.3f}")
        a.axvline(PAPER_FIG13["gamma"][1], **THEORY, label=f"paper gamma {PAPER_FIG13['gamma'][1]}")
        a.axvline(1 / float(lam25.max()), color="0.4", lw=0.8, ls=":", label="1 / max eig: f(lam_max) = 0")
        a.set(yscale="log", xlabel="gamma", ylabel="cond f(X X^T)", title="(c) condition number, N = 25")
        a.legend()
        a = ax[3]
        a.plot(Ns, gammas, "o-", label="fitted recurrent 2-step GD++")
        a.plot(Ns, PAPER_FIG13["gamma"], "kx", ms=7, label="paper (trained 2-layer TF)")
        for N, g in zip(Ns, PAPER_FIG13["gamma"]):
            a.annotate(f"{g:g}", (N, g), textcoords="offset points", xytext=(4, 3), fontsize=7)
        a.set(xscale="log", yscale="log", xlabel="N", ylabel="gamma", title="(d) curvature correction")
        a.legend()
        config = _config(cfg, profile, seed, paper=PAPER_FIG13, lam_min=lam_min, lam_max=lam_max,
                         gamma_fit=gammas, eigenvalue_facts_N25={k: str(v) for k, v in facts.items()},
                         note="gamma is fitted on MC tasks (recurrent 2-step GD++), not read from a trained model")
        return save_figure(fig, out, PAPER, "fig13", arrays=arrays, config=config, started=started)


FIGURES = {
    "fig1_right": fig1_right_dampened_rollout,
    "fig2": fig2_one_layer_vs_gd,
    "fig3": fig3_deep_vs_gd_and_gdpp,
    "fig6": fig6_out_of_distribution,
    "fig9": fig9_weight_heatmaps,
    "fig10": fig10_dampened_rollouts,
    "fig13": fig13_gdpp_spectrum,
}
