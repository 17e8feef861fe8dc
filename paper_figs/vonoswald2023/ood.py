"""Figure 6 of von Oswald et al. 2023: trained models and GD / GD++ out of distribution.

Also the Monte-Carlo OOD curves that Figure 2 (d) shares: the 1/2-losses of trained runs and of
a baseline on the same tasks at each alpha (common random numbers along each alpha axis).
"""
from __future__ import annotations

import time

import numpy as np

from numerics.lsa import gd_predict, gdpp_predict, mc_loss, sample_ood_tasks, sample_tasks
from numerics.seeds import child_rng
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import (
    as_curve,
    band,
    figure_config,
    loss_stats,
    run_summary,
    setup,
    theory_values,
    trained_runs,
)
from validation.runs.vonoswald2023 import D, N_CTX, PAPER

__all__ = ["fig6_out_of_distribution", "ood_input_losses", "ood_curves", "deep_ood"]


def ood_input_losses(runs, alphas, n_tasks, rng):
    """MC 1/2-losses of the trained layers and of GD at eta* on U(-alpha/2, alpha/2) inputs.

    Returns (tf, gd, gd_se, paired_se): (runs, alphas), (alphas,), (alphas,), (runs, alphas); the last is
    the SE of the per-task difference TF - GD on the same tasks."""
    th = theory_values()
    tf, gd = np.zeros((len(runs), len(alphas))), np.zeros(len(alphas))
    gd_se, paired_se = np.zeros(len(alphas)), np.zeros((len(runs), len(alphas)))
    for j, a in enumerate(alphas):
        X, y, x_q, y_q, _ = sample_tasks(n_tasks, D, N_CTX, input_range=float(a), rng=rng)
        base = gd_predict(X, y, x_q, th["eta_star"])
        for i, r in enumerate(runs):
            tf[i, j], _, gd[j], gd_se[j], paired_se[i, j] = loss_stats(r.predict(X, y, x_q), base, y_q)
    return tf, gd, gd_se, paired_se


def ood_curves(runs, alphas, draw, baseline):
    """MC 1/2-losses over alpha of trained runs and of a baseline, on the same tasks per alpha.

    ``draw(alpha) -> LSATasks``; ``baseline(run, X, y, x_q) -> (n,)`` predictions (e.g. GD at
    eta*, or the K-step GD++ fitted for that run).  Returns (tf, base, base_se, paired_se), each
    (len(runs), len(alphas)); paired_se is the SE of the per-task difference TF - baseline.
    """
    shape = (len(runs), len(alphas))
    tf, base, base_se, paired_se = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for j, a in enumerate(alphas):
        X, y, x_q, y_q, _ = draw(float(a))
        for i, r in enumerate(runs):
            tf[i, j], _, base[i, j], base_se[i, j], paired_se[i, j] = loss_stats(
                r.predict(X, y, x_q), baseline(r, X, y, x_q), y_q)
    return tf, base, base_se, paired_se


def deep_ood(cfg: dict, seed: int, a_in, a_task) -> dict:
    """Fig 6 (e, f): trained deep models vs their fitted K-step GD++ on larger inputs / tasks.

    The K-layer models of ``cfg["fig6_layers"]`` (2: recurrent, the run fig3 trains and caches;
    5: untied, paper profile only), each against the GD++ (eta_k, gamma_k) that
    ``validation.lsa.train_lsa`` fitted for it (``numerics.lsa.fit_gdpp``), both on the same
    OOD tasks.  GD++ is linear in y, so on the task axis it is exactly alpha^2 L_GD++(1).
    """
    def gdpp(r, X, y, x_q):
        return gdpp_predict(X, y, x_q, r.gdpp_etas, r.gdpp_gammas)

    n_mc, result = cfg["mc_tasks"], {}
    for K in cfg["fig6_layers"]:
        runs = trained_runs(cfg, layers=K, recurrent=K == 2)
        tf_in, pp_in, _, _ = ood_curves(runs, a_in, lambda a: sample_tasks(n_mc, D, N_CTX, input_range=a,
                                                                        rng=child_rng(seed, 64 + K)), gdpp)
        tf_task, pp_task, _, _ = ood_curves(runs, a_task, lambda a: sample_tasks(n_mc, D, N_CTX, task_var=a * a,
                                                                            rng=child_rng(seed, 66 + K)), gdpp)
        X, y, x_q, y_q, _ = sample_tasks(n_mc, D, N_CTX, rng=child_rng(seed, 66 + K))
        pp_1 = np.array([mc_loss(gdpp(r, X, y, x_q), y_q)[0] for r in runs])  # alpha = 1, same draws
        result[K] = dict(runs=runs, tf_input=tf_in, gdpp_input=pp_in, tf_task=tf_task, gdpp_task=pp_task,
                         scaling_task=np.outer(pp_1, np.asarray(a_task) ** 2))
    return result


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
    started = time.perf_counter()
    cfg = setup(profile, seed)
    th = theory_values()
    runs = trained_runs(cfg)
    n_mc, eta = cfg["mc_tasks"], th["eta_star"]
    a_in = np.round(np.arange(0.5, 2.0 + 1e-9, cfg["alpha_step"]), 6)
    a_task = np.round(np.arange(0.5, 5.0 + 1e-9, cfg["task_step"]), 6)
    a_other = np.round(np.arange(0.5, 5.0 + 1e-9, cfg["other_step"]), 6)
    fro_train = float(np.sqrt(N_CTX * D / 12.0))
    tf_in, gd_in, gd_in_se, in_paired_se = ood_input_losses(runs, a_in, n_mc, child_rng(seed, 6))
    ses = {}

    def curves(alphas, draw, key=None):
        tf, gd, gd_se, paired_se = ood_curves(runs, alphas, draw, lambda r, X, y, x_q: gd_predict(X, y, x_q, eta))
        if key is not None:
            ses.update({f"gd_{key}_se": gd_se[0], f"paired_{key}_se": paired_se})
        return tf, gd[0]  # GD does not depend on the run

    # common random numbers along each alpha axis: the same seed at every alpha
    tf_task, gd_task = curves(a_task, lambda a: sample_tasks(n_mc, D, N_CTX, task_var=a * a, rng=child_rng(seed, 61)),
                              "task")
    tf_oth, gd_oth = curves(a_other, lambda a: sample_ood_tasks(n_mc, D, N_CTX, alpha=a, rng=child_rng(seed, 62)),
                            "other")
    tf_oth_t, gd_oth_t = curves(a_task, lambda a: sample_ood_tasks(n_mc, D, N_CTX, alpha=fro_train,
                                                                   task_var=a * a, rng=child_rng(seed, 63)), "other_task")
    gd_oth_1 = curves([1.0], lambda a: sample_ood_tasks(n_mc, D, N_CTX, alpha=fro_train, rng=child_rng(seed, 63)))[1][0]
    arrays = dict(alpha_input=a_in, tf_input=tf_in, gd_input=gd_in, theory_input=as_curve(th["ood_input"], a_in),
                  alpha_task=a_task, tf_task=tf_task, gd_task=gd_task, theory_task=as_curve(th["ood_task"], a_task),
                  alpha_other=a_other, tf_other=tf_oth, gd_other=gd_oth,
                  tf_other_task=tf_oth_t, gd_other_task=gd_oth_t, scaling_other_task=a_task**2 * gd_oth_1,
                  gd_input_se=gd_in_se, paired_input_se=in_paired_se, n_mc=np.array(n_mc), **ses)
    deep = deep_ood(cfg, seed, a_in, a_task)
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
            band(a, x, tf, "trained LSA (1 layer)", marker="o", ms=2.5, lw=0.8)
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
                band(a, x, v[f"tf_{axis}"], f"trained {name}", color=f"C{2 * c + 1}", marker="o", ms=2.5, lw=0.8)
            a.axvline(1.0, color="0.6", lw=0.8, ls=":")
            a.set(yscale="log", xlabel=xlabel, ylabel="1/2 MSE", title=title)
            a.legend()
        deep_summary = {f"{K}-layer": dict(run_summary(v["runs"]), gdpp_etas=[r.gdpp_etas for r in v["runs"]],
                                           gdpp_gammas=[r.gdpp_gammas for r in v["runs"]])
                        for K, v in deep.items()}
        config = figure_config(cfg, profile, seed, runs=run_summary(runs), deep_runs=deep_summary,
                               frobenius_training_scale=fro_train,
                               note="dotted vertical lines: the training distribution's alpha; (e, f): deep models "
                              "vs their fitted GD++ (5-layer: paper profile only; it clips tokens at 10 as "
                              "the code does, GD++ does not)")
        return save_figure(fig, out, PAPER, "fig6", arrays=arrays, config=config, started=started)
