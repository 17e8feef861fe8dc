"""Figures 1 (right) and 10 of von Oswald et al. 2023: one trained layer applied repeatedly, dampened."""
from __future__ import annotations

import time

import numpy as np

from numerics.lsa import gram_spectrum, kstep_gd_predict, sample_tasks
from numerics.seeds import child_rng
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import band, figure_config, run_summary, setup, theory_values, trained_runs
from validation.lsa import lsa_forward, make_tokens
from validation.runs.vonoswald2023 import D, N_CTX, PAPER

__all__ = ["fig1_right_dampened_rollout", "fig10_dampened_rollouts"]



def _tf_rollout(r, X, y, x_q, y_q, steps, lam) -> np.ndarray:
    """Per-task 1/2-losses (steps + 1, n) of the trained layer applied ``steps`` times with dampening
    ``lam``, y-channel only (the code's ``y_update``): ``validation.lsa.lsa_rollout_losses`` per task."""
    import torch

    KQ, PV = torch.as_tensor(np.asarray(r.W_KQ, dtype=float)), torch.as_tensor(np.asarray(r.W_PV, dtype=float))
    E = make_tokens(*(torch.as_tensor(np.asarray(v, dtype=float)) for v in (X, y, x_q)))  # (n, N+1, D)
    yq = torch.as_tensor(np.asarray(y_q, dtype=float))
    out = [0.5 * ((-E[:, -1, -1] - yq) ** 2).numpy()]
    with torch.no_grad():
        for _ in range(steps):
            E = lsa_forward(E, KQ, PV, layers=1, dampening=lam, y_only=True, return_tokens=True)
            out.append(0.5 * ((-E[:, -1, -1] - yq) ** 2).numpy())
    return np.array(out)


def _rollouts(name: str, lams, *, profile, out, seed, title):
    """Trained single layer and GD at eta* applied repeatedly with dampening lambda (notes §1.8)."""
    from validation.lsa import lsa_forward, make_tokens

    started = time.perf_counter()
    cfg = setup(profile, seed)
    th = theory_values()
    runs = trained_runs(cfg)
    T = cfg["rollout_steps"]
    X, y, x_q, y_q, _ = sample_tasks(cfg["rollout_tasks"], D, N_CTX, rng=child_rng(seed, 10))
    ks = np.arange(T + 1)
    lam_max_S = gram_spectrum(X).eigenvalues[:, -1] / N_CTX  # largest eigenvalue of S = X^T X / N per task
    arrays = {"k": ks, "lambdas": np.array(lams, dtype=float), "n_tasks": np.array(len(y_q))}
    with figure_style() as plt:
        fig, ax = plt.subplots(1, len(lams), figsize=(3.6 * len(lams), 3.0), squeeze=False)
        for a, lam in zip(ax[0], lams):
            tag = f"{lam:g}".replace(".", "p")
            l_tf = np.array([_tf_rollout(r, X, y, x_q, y_q, T, lam) for r in runs])  # (runs, T + 1, n)
            l_gd = 0.5 * (kstep_gd_predict(X, y, x_q, [lam * th["eta_star"]] * T, return_all=True) - y_q) ** 2
            with np.errstate(invalid="ignore", over="ignore"):
                tf, gd = l_tf.mean(-1), l_gd.mean(-1)
                tf_se = l_tf.std(-1, ddof=1) / np.sqrt(len(y_q))
                gd_se = l_gd.std(-1, ddof=1) / np.sqrt(len(y_q))
                paired_se = (l_tf - l_gd[None]).std(-1, ddof=1) / np.sqrt(len(y_q))
            theory = np.array([th["L_zero"], float(th["loss_eta"](lam * th["eta_star"]))])
            unstable = float(np.mean(lam * th["eta_star"] * lam_max_S >= 2))
            arrays.update({f"tf_{tag}": tf, f"gd_{tag}": gd, f"theory_first_{tag}": theory, f"tf_{tag}_se": tf_se,
                           f"gd_{tag}_se": gd_se, f"paired_{tag}_se": paired_se, f"unstable_{tag}": np.array(unstable)})
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
