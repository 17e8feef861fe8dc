"""Shared pieces of the von Oswald et al. 2023 figures: profiles, the training cache, theory helpers.

``paper_figs.vonoswald2023`` draws the figures; this module holds what they share: the
``quick`` / ``paper`` (and test-only ``_smoke``) sizes, the per-process cache of trained LSA
models (so fig1_right, fig2, fig6, fig9 and fig10 share one one-layer run, and fig3 and fig6
share the deep runs), the closed forms of ``theory.lsa`` as floats, and the Monte-Carlo OOD
curves of trained models and GD / GD++ baselines, and the roll-out drawing fig1_right and fig10
share.
"""
from __future__ import annotations

import functools
import time

import numpy as np
import sympy as sp

from paper_figs.artifacts import save_figure
from paper_figs.registry import check_run_args
from paper_figs.style import THEORY, figure_style

__all__ = ["PAPER", "D", "N_CTX", "LAW", "PAPER_FIG13"]

PAPER = "vonoswald2023"
D, N_CTX, LAW = 10, 10, "uniform(1/2)"
#: the paper's Fig 13 numbers (read from its text and plots): lambda_min, lambda_max of X X^T over
#: 10^4 tasks, and gamma of trained recurrent 2-layer models, for N = 10, 25, 50, 100
PAPER_FIG13 = {"N": (10, 25, 50, 100), "lam_min": (1e-10, 0.097, 0.666, 2.870),
               "lam_max": (4.6, 7.712, 10.845, 17.196), "gamma": (0.179, 0.099, 0.056, 0.029)}
_PAPER_SCALE = dict(seeds=5, steps_1=5000, steps_tied=5000, steps_untied=50000, batch=2048, batch_deep=2048,
                    eval_tasks=10000, log_every=100, fit_tasks=20000, mc_tasks=10000,
                    n_values=(4, 6, 8, 10, 14, 20), alpha_step=0.03, task_step=0.1, other_step=0.05,
                    spectrum_tasks=10000, gamma_points=121, rollout_steps=50, rollout_tasks=10000,
                    fig6_layers=(2, 5))
_PROFILES = {
    "paper": _PAPER_SCALE,
    "quick": dict(_PAPER_SCALE, seeds=1, steps_1=1500, steps_tied=3500, steps_untied=2000, batch_deep=512,
                  eval_tasks=2000, log_every=50, fit_tasks=10000, mc_tasks=1000,
                  n_values=(5, 10, 15), alpha_step=0.1, task_step=0.25, other_step=0.25,
                  rollout_tasks=2000, fig6_layers=(2,)),
    # tiny sizes for the smoke tests only (not a user profile)
    "_smoke": dict(_PAPER_SCALE, seeds=1, steps_1=6, steps_tied=6, steps_untied=6, batch=32, batch_deep=32,
                   eval_tasks=64, log_every=3, fit_tasks=256, mc_tasks=64, n_values=(3, 10),
                   alpha_step=0.5, task_step=1.5, other_step=1.5, spectrum_tasks=200,
                   gamma_points=11, rollout_steps=5, rollout_tasks=64, fig6_layers=(2,)),
}


def _setup(profile, seed) -> dict:
    check_run_args(profile, seed, _PROFILES)
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



def _ood_curves(runs, alphas, draw, baseline):
    """MC 1/2-losses over alpha of trained runs and of a baseline, on the same tasks per alpha.

    ``draw(alpha) -> LSATasks``; ``baseline(run, X, y, x_q) -> (n,)`` predictions (e.g. GD at
    eta*, or the K-step GD++ fitted for that run).  Returns (tf, base), each (len(runs), len(alphas)).
    """
    from numerics.lsa import mc_loss

    tf, base = np.zeros((len(runs), len(alphas))), np.zeros((len(runs), len(alphas)))
    for j, a in enumerate(alphas):
        X, y, x_q, y_q, _ = draw(float(a))
        for i, r in enumerate(runs):
            tf[i, j] = mc_loss(r.predict(X, y, x_q), y_q)[0]
            base[i, j] = mc_loss(baseline(r, X, y, x_q), y_q)[0]
    return tf, base


def _deep_ood(cfg: dict, seed: int, a_in, a_task) -> dict:
    """Fig 6 (e, f): trained deep models vs their fitted K-step GD++ on larger inputs / tasks.

    The K-layer models of ``cfg["fig6_layers"]`` (2: recurrent, the run fig3 trains and caches;
    5: untied, paper profile only), each against the GD++ (eta_k, gamma_k) that
    ``validation.lsa.train_lsa`` fitted for it (``numerics.lsa.fit_gdpp``), both on the same
    OOD tasks.  GD++ is linear in y, so on the task axis it is exactly alpha^2 L_GD++(1).
    """
    from numerics.lsa import gdpp_predict, mc_loss, sample_tasks

    def gdpp(r, X, y, x_q):
        return gdpp_predict(X, y, x_q, r.gdpp_etas, r.gdpp_gammas)

    n_mc, result = cfg["mc_tasks"], {}
    for K in cfg["fig6_layers"]:
        runs = _runs(cfg, layers=K, recurrent=K == 2)
        tf_in, pp_in = _ood_curves(runs, a_in, lambda a: sample_tasks(n_mc, D, N_CTX, input_range=a,
                                                                        rng=_rng(seed, 64 + K)), gdpp)
        tf_task, pp_task = _ood_curves(runs, a_task, lambda a: sample_tasks(n_mc, D, N_CTX, task_var=a * a,
                                                                            rng=_rng(seed, 66 + K)), gdpp)
        X, y, x_q, y_q, _ = sample_tasks(n_mc, D, N_CTX, rng=_rng(seed, 66 + K))
        pp_1 = np.array([mc_loss(gdpp(r, X, y, x_q), y_q)[0] for r in runs])  # alpha = 1, same draws
        result[K] = dict(runs=runs, tf_input=tf_in, gdpp_input=pp_in, tf_task=tf_task, gdpp_task=pp_task,
                         scaling_task=np.outer(pp_1, np.asarray(a_task) ** 2))
    return result


def _fig13_data(cfg: dict, seed: int):
    """Spectra of X X^T and fitted recurrent 2-step GD++ gammas for the N of Fig 13."""
    from numerics.lsa import fit_gdpp, gram_spectrum, sample_tasks

    lam_min, lam_max, gammas, spectra = [], [], [], {}
    for N in PAPER_FIG13["N"]:
        spec = gram_spectrum(sample_tasks(cfg["spectrum_tasks"], D, int(N), rng=_rng(seed, 1300 + N)).X)
        spectra[int(N)] = spec.eigenvalues
        lam_min.append(spec.lam_min)
        lam_max.append(spec.lam_max)
        fit = fit_gdpp(2, d=D, N=int(N), recurrent=True, n_fit=cfg["fit_tasks"], n_eval=cfg["fit_tasks"],
                       seed=seed + 13 * int(N))
        gammas.append(float(fit.gammas[0]))
    return lam_min, lam_max, gammas, spectra


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
