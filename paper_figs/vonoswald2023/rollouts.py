"""Figures 1 (right) and 10 of von Oswald et al. 2023: one trained layer applied repeatedly, dampened."""
from __future__ import annotations

import time

import numpy as np

from numerics.lsa import dampened_rollout, sample_tasks
from numerics.seeds import child_rng
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import band, figure_config, run_summary, setup, theory_values, trained_runs
from validation.lsa import lsa_rollout_losses
from validation.runs.vonoswald2023 import D, N_CTX, PAPER

__all__ = ["fig1_right_dampened_rollout", "fig10_dampened_rollouts"]


def _rollouts(name: str, lams, *, profile, out, seed, title):
    """Trained single layer and GD at eta* applied repeatedly with dampening lambda (notes §1.8)."""
    from validation.lsa import lsa_rollout_losses

    started = time.perf_counter()
    cfg = setup(profile, seed)
    th = theory_values()
    runs = trained_runs(cfg)
    T = cfg["rollout_steps"]
    X, y, x_q, y_q, _ = sample_tasks(cfg["rollout_tasks"], D, N_CTX, rng=child_rng(seed, 10))
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
            band(a, ks, tf, f"trained LSA, lambda = {lam:g}", color="C0")
            a.plot([0, 1], theory, "D", mfc="none", mec="black", ms=6, zorder=6, label="theory: steps 0 and 1")
            a.plot([0, 1], theory, **THEORY)
            a.set(xlabel="GD steps / layer applications", ylabel="1/2 MSE", title=f"lambda = {lam:g}")
            if lam >= 1:  # diverges: log scale, cut far above the start
                a.set(yscale="log", ylim=(1e-2, 1e4))
            else:
                a.set(ylim=(0, 0.45))
            a.legend()
        fig.suptitle(title)
        config = figure_config(cfg, profile, seed, runs=run_summary(runs), rollout_tasks=len(y_q),
                               lambdas=list(lams), note="the trained layer is applied with y_update (only the "
                                                        "y-channel moves) as the code does")
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
