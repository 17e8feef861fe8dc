"""Figures of von Oswald et al. 2023, "Transformers learn in-context by gradient descent".

One function per paper figure; each trains (or reuses) the LSA models of ``validation.lsa``,
evaluates the GD / GD++ baselines of ``numerics.lsa`` and draws the closed forms of
``theory.lsa`` dashed, so every picture is also a check.  Settings are the authors' code's
(notes §0): d = N = 10, x ~ U(-1/2, 1/2)^d (the paper writes U(-1, 1)), w ~ N(0, I), losses
are 1/2 MSE; the OOD axis alpha is the code's ``input_range`` (full width, U(-alpha/2, alpha/2)).

Profiles: ``"quick"`` (one seed, shortened training; every figure well under two minutes on
two cores) and ``"paper"`` (5 seeds, 5000 steps tied / 50000 untied, 10^4 evaluation tasks).
Trained models are cached per configuration within one process, so fig1_right, fig2, fig6,
fig9 and fig10 share one training run.  Each figure's json records what a profile shortened.
"""
from __future__ import annotations

import functools
import time

import numpy as np
import sympy as sp

from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style

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

PAPER = "vonoswald2023"
D, N_CTX, LAW = 10, 10, "uniform(1/2)"
#: the paper's Fig 13 numbers (read from its text and plots): lambda_min, lambda_max of X X^T over
#: 10^4 tasks, and gamma of trained recurrent 2-layer models, for N = 10, 25, 50, 100
PAPER_FIG13 = {"N": (10, 25, 50, 100), "lam_min": (1e-10, 0.097, 0.666, 2.870),
               "lam_max": (4.6, 7.712, 10.845, 17.196), "gamma": (0.179, 0.099, 0.056, 0.029)}
_PAPER_SCALE = dict(seeds=5, steps_1=5000, steps_tied=5000, steps_untied=50000, batch=2048, batch_deep=2048,
                    eval_tasks=10000, log_every=100, fit_tasks=20000, mc_tasks=10000,
                    n_values=(4, 6, 8, 10, 14, 20), alpha_step=0.03, task_step=0.1, other_step=0.05,
                    spectrum_tasks=10000, gamma_points=121, rollout_steps=50, rollout_tasks=10000)
_PROFILES = {
    "paper": _PAPER_SCALE,
    "quick": dict(_PAPER_SCALE, seeds=1, steps_1=1500, steps_tied=3500, steps_untied=2000, batch_deep=512,
                  eval_tasks=2000, log_every=50, fit_tasks=10000, mc_tasks=1000,
                  n_values=(5, 10, 15), alpha_step=0.1, task_step=0.25, other_step=0.25,
                  rollout_tasks=2000),
    # tiny sizes for the smoke tests only (not a user profile)
    "_smoke": dict(_PAPER_SCALE, seeds=1, steps_1=6, steps_tied=6, steps_untied=6, batch=32, batch_deep=32,
                   eval_tasks=64, log_every=3, fit_tasks=256, mc_tasks=64, n_values=(3, 10),
                   alpha_step=0.5, task_step=1.5, other_step=1.5, spectrum_tasks=200,
                   gamma_points=11, rollout_steps=5, rollout_tasks=64),
}


def _setup(profile, seed) -> dict:
    if profile not in _PROFILES:
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    cfg = dict(_PROFILES[profile])
    cfg["seed_list"] = [int(seed) + i for i in range(cfg["seeds"])]
    cfg["shortened"] = {k: f"{cfg[k]} (paper: {v})" for k, v in _PAPER_SCALE.items()
                        if cfg[k] != v and k != "seed_list"}
    return cfg


def _rng(seed: int, tag: int) -> np.random.Generator:
    """An independent numpy stream per (figure seed, purpose)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(tag)]))


def _config(cfg: dict, profile: str, seed: int, **extra) -> dict:
    keep = {k: v for k, v in cfg.items() if k != "shortened"}
    return dict(profile=profile, seed=int(seed), d=D, N=N_CTX, law=LAW, sizes=keep,
                shortened_from_paper=cfg["shortened"], **extra)


# ----------------------------------------------------------------------------- theory (exact, then floats)
@functools.lru_cache(maxsize=None)
def _theory() -> dict:
    """Closed forms of ``theory.lsa`` at d = N = 10 on U(-1/2, 1/2), as floats and callables of alpha / n."""
    from theory.lsa import (one_step_loss, ood_input_scale_loss, ood_task_scale_loss,
                            optimal_one_step_loss, optimal_step_size, zero_predictor_loss)

    alpha, n, eta = sp.Symbol("alpha", positive=True), sp.Symbol("n", positive=True, integer=True), sp.Symbol("eta")
    return dict(
        eta_star=float(optimal_step_size(D, N_CTX, LAW)),
        L_star=float(optimal_one_step_loss(D, N_CTX, LAW)),
        L_zero=float(zero_predictor_loss(D, LAW)),
        L_star_paper_law=float(optimal_one_step_loss(D, N_CTX, "uniform(1)")),  # the paper's stated U(-1, 1)
        loss_eta=sp.lambdify(eta, one_step_loss(eta, D, N_CTX, LAW), "numpy"),
        ood_input=sp.lambdify(alpha, ood_input_scale_loss(alpha, D, N_CTX), "numpy"),
        ood_task=sp.lambdify(alpha, ood_task_scale_loss(alpha, D, N_CTX), "numpy"),
        L_star_n=sp.lambdify(n, optimal_one_step_loss(n, n, LAW), "numpy"),  # d = N = n
    )


def _arr(f, x) -> np.ndarray:
    return np.asarray(f(np.asarray(x, dtype=float)), dtype=float) * np.ones(np.shape(x))


# ----------------------------------------------------------------------------- trained models (cached)
@functools.lru_cache(maxsize=None)
def _trained(layers: int, recurrent: bool, n: int, N: int, steps: int, batch: int, eval_tasks: int,
             log_every: int, fit_tasks: int, seed: int):
    from validation.lsa import train_lsa

    return train_lsa(d=n, N=N, law=LAW, layers=layers, recurrent=recurrent, steps=steps, batch=batch,
                     seed=seed, eval_tasks=eval_tasks, log_every=log_every, gdpp_fit_tasks=fit_tasks)


def _runs(cfg: dict, *, layers: int = 1, recurrent: bool = True, n: int = D, N: int = N_CTX) -> list:
    steps = cfg["steps_1"] if layers == 1 else cfg["steps_tied"] if recurrent else cfg["steps_untied"]
    batch = cfg["batch"] if layers == 1 else cfg["batch_deep"]
    return [_trained(layers, recurrent, n, N, steps, batch, cfg["eval_tasks"], cfg["log_every"],
                     cfg["fit_tasks"], s) for s in cfg["seed_list"]]


def _band(ax, x, curves, label, color=None, **kw):
    """Mean over seeds as a line, min..max over seeds as a band (only with several seeds)."""
    Y = np.asarray(curves, dtype=float)
    line, = ax.plot(x, Y.mean(0), label=label, color=color, **kw)
    if Y.shape[0] > 1:
        ax.fill_between(x, Y.min(0), Y.max(0), color=line.get_color(), alpha=0.2, lw=0)
    return Y.mean(0)


def _summary(runs) -> dict:
    return {"final_loss": [r.final_loss for r in runs], "step_size": [r.step_size for r in runs],
            "alignment": [r.alignment for r in runs], "gd_loss": [r.gd_loss for r in runs],
            "interpolation_loss": [r.interpolation_loss for r in runs],
            "train_wall_time_s": [r.wall_time for r in runs]}


# ----------------------------------------------------------------------------- Figure 2
def _ood_input_losses(runs, alphas, n_tasks, rng):
    """MC 1/2-losses of the trained layers and of GD at eta* on U(-alpha/2, alpha/2) inputs."""
    from numerics.lsa import gd_predict, mc_loss, sample_tasks

    th = _theory()
    tf, gd = np.zeros((len(runs), len(alphas))), np.zeros(len(alphas))
    for j, a in enumerate(alphas):
        X, y, x_q, y_q, _ = sample_tasks(n_tasks, D, N_CTX, input_range=float(a), rng=rng)
        gd[j] = mc_loss(gd_predict(X, y, x_q, th["eta_star"]), y_q)[0]
        for i, r in enumerate(runs):
            tf[i, j] = mc_loss(r.predict(X, y, x_q), y_q)[0]
    return tf, gd


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
    """Figure 6: the trained single layer and GD out of distribution.

    (a) inputs U(-alpha/2, alpha/2) (the code's full-width alpha), theory
    ``ood_input_scale_loss``; (b) tasks alpha w, theory alpha^2 L* (``ood_task_scale_loss``);
    (c) exponential / normal / Laplace inputs (one law per task, each w.p. 1/3) with the
    context rescaled to Frobenius norm alpha as the code does (query by the same factor);
    (d) the same laws at the training scale |X|_F = sqrt(N d / 12), tasks alpha w: GD is
    exactly alpha^2 L_GD(1) (prediction and target linear in w), drawn dashed.
    """
    from numerics.lsa import gd_predict, mc_loss, sample_ood_tasks, sample_tasks

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
        tf, gd = np.zeros((len(runs), len(alphas))), np.zeros(len(alphas))
        for j, a in enumerate(alphas):
            X, y, x_q, y_q, _ = draw(float(a))
            gd[j] = mc_loss(gd_predict(X, y, x_q, eta), y_q)[0]
            for i, r in enumerate(runs):
                tf[i, j] = mc_loss(r.predict(X, y, x_q), y_q)[0]
        return tf, gd

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
    panels = [("(a) larger inputs", "alpha: x ~ U(-alpha/2, alpha/2)", a_in, tf_in, gd_in, arrays["theory_input"],
               "theory (GD at eta*)", 1.0),
              ("(b) larger tasks", "alpha: w -> alpha w", a_task, tf_task, gd_task, arrays["theory_task"],
               "theory alpha^2 L*", 1.0),
              ("(c) exp / normal / Laplace inputs", "alpha = |X|_F (code's normalisation)", a_other, tf_oth,
               gd_oth, None, None, fro_train),
              ("(d) exp / normal / Laplace, larger tasks", "alpha: w -> alpha w (|X|_F at training scale)",
               a_task, tf_oth_t, gd_oth_t, arrays["scaling_other_task"], "GD: alpha^2 L_GD(1) (exact)", 1.0)]
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 4, figsize=(13, 3.1))
        for a, (title, xlabel, x, tf, gd, theory, tlabel, train_x) in zip(ax, panels):
            if theory is not None:
                a.plot(x, theory, **THEORY, label=tlabel)
            a.plot(x, gd, "s", ms=3, mfc="none", label="GD at eta* (MC)")
            _band(a, x, tf, "trained LSA (1 layer)", marker="o", ms=2.5, lw=0.8)
            a.axvline(train_x, color="0.6", lw=0.8, ls=":")
            a.set(yscale="log", xlabel=xlabel, ylabel="1/2 MSE", title=title)
            a.legend()
        config = _config(cfg, profile, seed, runs=_summary(runs), frobenius_training_scale=fro_train,
                         note="dotted vertical lines: the training distribution's alpha")
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
def _rollouts(name: str, lams, *, profile, out, seed, title):
    """Trained single layer and GD at eta* applied repeatedly with dampening lambda (notes §1.8)."""
    from numerics.lsa import dampened_rollout, sample_tasks
    from validation.lsa import lsa_rollout_losses

    started = time.perf_counter()
    cfg = _setup(profile, seed)
    th = _theory()
    runs = _runs(cfg)
    T = cfg["rollout_steps"]
    X, y, x_q, y_q, _ = sample_tasks(cfg["rollout_tasks"], D, N_CTX, rng=_rng(seed, 10))
    ks = np.arange(T + 1)
    arrays = {"k": ks, "lambdas": np.array(lams, dtype=float)}
    with figure_style() as plt:
        fig, ax = plt.subplots(1, len(lams), figsize=(3.6 * len(lams), 3.0), squeeze=False)
        for a, lam in zip(ax[0], lams):
            tag = f"{lam:g}".replace(".", "p")
            tf = np.array([lsa_rollout_losses(r.W_KQ, r.W_PV, X, y, x_q, y_q, steps=T, dampening=lam) for r in runs])
            gd = dampened_rollout(X, y, x_q, y_q, th["eta_star"], lam, T)[0]
            theory = np.array([th["L_zero"], float(th["loss_eta"](lam * th["eta_star"]))])
            arrays.update({f"tf_{tag}": tf, f"gd_{tag}": gd, f"theory_first_{tag}": theory})
            a.plot(ks, gd, color="C1", label=f"GD, step {lam:g} eta*")
            _band(a, ks, tf, f"trained LSA, lambda = {lam:g}", color="C0")
            a.plot([0, 1], theory, "D", mfc="none", mec="black", ms=6, zorder=6, label="theory: steps 0 and 1")
            a.plot([0, 1], theory, **THEORY)
            a.set(xlabel="GD steps / layer applications", ylabel="1/2 MSE", title=f"lambda = {lam:g}")
            if lam >= 1:  # diverges: log scale, cut far above the start
                a.set(yscale="log", ylim=(1e-2, 1e4))
            else:
                a.set(ylim=(0, 0.45))
            a.legend()
        fig.suptitle(title)
        config = _config(cfg, profile, seed, runs=_summary(runs), rollout_tasks=len(y_q), lambdas=list(lams),
                         note="the trained layer is applied with y_update (only the y-channel moves) as the code does")
        return save_figure(fig, out, PAPER, name, arrays=arrays, config=config, started=started)


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
    from numerics.lsa import fit_gdpp, gdpp_condition_numbers, gram_spectrum, sample_tasks
    from theory.lsa import gdpp_eigenvalue_facts, gdpp_eigenvalue_map

    started = time.perf_counter()
    cfg = _setup(profile, seed)
    Ns = np.array(PAPER_FIG13["N"])
    lam_min, lam_max, gammas, spectra = [], [], [], {}
    for N in Ns:
        spec = gram_spectrum(sample_tasks(cfg["spectrum_tasks"], D, int(N), rng=_rng(seed, 1300 + N)).X)
        spectra[int(N)] = spec.eigenvalues
        lam_min.append(spec.lam_min)
        lam_max.append(spec.lam_max)
        fit = fit_gdpp(2, d=D, N=int(N), recurrent=True, n_fit=cfg["fit_tasks"], n_eval=cfg["fit_tasks"],
                       seed=seed + 13 * int(N))
        gammas.append(float(fit.gammas[0]))
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
