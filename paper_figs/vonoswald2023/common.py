"""What the von Oswald et al. 2023 figures share: their setup, the trained runs, theory floats, drawing helpers.

The sizes per profile and the training runs themselves are ``validation.runs.vonoswald2023``'s
(:func:`trained_runs` takes them from the run store, so fig1_right, fig2, fig6, fig9 and fig10
share one one-layer run and fig3 and fig6 the deep ones); here are the closed forms of
``theory.lsa`` as floats, the figure config recorded in each json, and the seed band drawing.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from theory.args import seed as check_seed
from theory.lsa import (
    one_step_loss,
    ood_input_scale_loss,
    ood_task_scale_loss,
    optimal_one_step_loss,
    optimal_step_size,
    zero_predictor_loss,
)
from validation.runs.vonoswald2023 import D, LAW, N_CTX, PAPER_SCALE, figure_runs, sizes, trained

__all__ = ["setup", "figure_config", "theory_values", "as_curve", "trained_runs", "band", "run_summary", "loss_stats",
           "FRESH_TASKS"]

#: fresh tasks on which a figure evaluates its trained models for its companion (SE of a 1/2-loss near
#: 0.2: about 0.7 % of it)
FRESH_TASKS = 20_000


def setup(profile, seed) -> dict:
    """The sizes of ``profile`` for a figure drawn with ``seed`` (``ValueError`` naming a bad profile or seed),
    with the seeds of its runs (``seed_list``) and what the profile shortened from the paper's sizes."""
    cfg = sizes(profile)
    seed = check_seed(seed)
    cfg["seed_list"] = [seed + i for i in range(cfg["seeds"])]
    cfg["shortened"] = {k: f"{cfg[k]} (paper: {v})" for k, v in PAPER_SCALE.items()
                        if cfg[k] != v and k != "seed_list"}
    cfg["profile"], cfg["seed"] = profile, seed
    return cfg


def figure_config(cfg: dict, profile: str, seed: int, **extra) -> dict:
    """The ``config`` entry of a figure's json: profile, seed, setting, sizes, what was shortened, ``extra``."""
    keep = {k: v for k, v in cfg.items() if k not in ("shortened", "profile", "seed")}
    return dict(profile=profile, seed=int(seed), d=D, N=N_CTX, law=LAW.spelling, sizes=keep,
                shortened_from_paper=cfg["shortened"], **extra)


# ----------------------------------------------------------------------------- theory (exact, then floats)
@functools.lru_cache(maxsize=None)
def theory_values() -> dict:
    """Closed forms of ``theory.lsa`` at d = N = 10 on U(-1/2, 1/2), as floats and callables of alpha / n.

    Cached: a pure function of nothing (exact sympy results, lambdified once per process), not a run.
    """
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


def as_curve(f, x) -> np.ndarray:
    """``f(x)`` as a float array of ``x``'s shape (a lambdified constant broadcast too)."""
    return np.asarray(f(np.asarray(x, dtype=float)), dtype=float) * np.ones(np.shape(x))


# ----------------------------------------------------------------------------- trained models (the run store)
def trained_runs(cfg: dict, *, layers: int = 1, recurrent: bool = True, n: int = D, N: int = N_CTX) -> list:
    """The figure runs (``validation.runs.vonoswald2023.figure_runs``) of ``cfg``'s profile and seeds, trained
    once per store: ``layers`` layers (tied if ``recurrent``), d = ``n``, context length ``N``."""
    return trained(figure_runs(cfg["profile"], cfg["seed"], layers=layers, recurrent=recurrent, n=n, N=N))


def band(ax, x, curves, label, color=None, **kw):
    """Mean over seeds as a line, min..max over seeds as a band (only with several seeds)."""
    Y = np.asarray(curves, dtype=float)
    line, = ax.plot(x, Y.mean(0), label=label, color=color, **kw)
    if Y.shape[0] > 1:
        ax.fill_between(x, Y.min(0), Y.max(0), color=line.get_color(), alpha=0.2, lw=0)
    return Y.mean(0)


def run_summary(runs) -> dict:
    """Per-run numbers recorded in a figure's json (final loss, step size, alignment, ...)."""
    return {"final_loss": [r.final_loss for r in runs], "step_size": [r.step_size for r in runs],
            "alignment": [r.alignment for r in runs], "gd_loss": [r.gd_loss for r in runs],
            "interpolation_loss": [r.interpolation_loss for r in runs],
            "train_wall_time_s": [r.wall_time for r in runs]}


def loss_stats(pred, base, y_q) -> tuple[float, float, float, float, float]:
    """1/2-losses of two predictors on the same tasks: (mean a, SE a, mean b, SE b, SE of the paired a - b)."""
    la, lb = 0.5 * (np.asarray(pred) - y_q) ** 2, 0.5 * (np.asarray(base) - y_q) ** 2
    n = np.sqrt(la.size)
    return (float(la.mean()), float(la.std(ddof=1) / n), float(lb.mean()), float(lb.std(ddof=1) / n),
            float((la - lb).std(ddof=1) / n))
