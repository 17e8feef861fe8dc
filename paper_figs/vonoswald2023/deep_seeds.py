"""Figure 15 of von Oswald et al. 2023: plateaus over seeds (1 vs 2 heads) and grokking on a fixed task set.

Drop times are read from each run's evaluation-loss array (:func:`drop_times`): with L0 = 5/12 the zero
predictor's loss and L* = 245/1188 the one-step GD optimum (both exact, ``theory.lsa``),

- plateau length: the first logged step at which the loss is below L0 - (L0 - L*) / 10 (a tenth of the way
  down: the run has left the plateau);
- drop time: the first logged step below (L0 + L*) / 2 (midway: the lead's ``benchmarks.lsa_plateau_escape``
  uses the same level);

a run that never gets there is censored at its last step (recorded as ``steps[-1] + log_every`` with a flag).
"""
from __future__ import annotations

import time

import numpy as np

from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import figure_config, theory_values
from paper_figs.vonoswald2023.deep_models import deep_setup
from validation.runs.vonoswald2023 import PAPER, fig15_runs, grokking_run, trained
from validation.store import run

__all__ = ["fig15_seeds_heads_grokking", "drop_times", "LEAVE_FRACTION"]

#: a run has left the plateau once its loss is a tenth of the way from L0 down to L*
LEAVE_FRACTION = 0.1


def drop_times(steps, losses, L0: float, L_star: float, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """First logged step with loss < L0 - fraction (L0 - L*), per run; (times, censored flags).

    ``losses`` (runs, n_log) on the logged ``steps``; a run that never crosses gets steps[-1] + (steps[-1] -
    steps[-2]) and censored = True.
    """
    steps, losses = np.asarray(steps), np.atleast_2d(np.asarray(losses, dtype=float))
    level = L0 - fraction * (L0 - L_star)
    below = losses < level
    hit = below.any(axis=1)
    first = np.where(hit, below.argmax(axis=1), 0)
    times = np.where(hit, steps[first], steps[-1] + (steps[-1] - steps[-2]))
    return times.astype(float), ~hit


def fig15_seeds_heads_grokking(*, profile="quick", out="results", seed=0):
    """Figure 15: one head shows long seed-dependent plateaus, two heads converge fast; a fixed-set MLP block groks.

    (a, b) Evaluation loss of 10 seeds of a 1-layer linear LSA with 1 and with 2 heads (``train_lsa``, the code's
    1-layer settings); (c) each seed's plateau length and drop time (module docstring); (d) the grokking run
    [reconstructed]: one block (linear attention + GELU MLP, no LayerNorm) trained full-batch on one fixed set of
    8192 tasks (the notebook's ``cycle_data`` reuses batches; we take "the same fixed set every step"), its
    training loss on the set and its test loss on fresh evaluation tasks.  The quick profile (45 s for four
    figures) trains the grokking block on 256 tasks for 300 steps: it cannot show grokking.
    """
    started = time.perf_counter()
    cfg = deep_setup(profile, seed)
    dc = cfg["deep"]
    th = theory_values()
    L0, Ls = th["L_zero"], th["L_star"]
    heads = {h: trained(fig15_runs(profile, cfg["seed"], h)) for h in (1, 2)}
    grok = run(grokking_run(profile, cfg["seed"]))
    arrays = {"theory_L_star": Ls, "theory_L_zero": L0, "leave_fraction": LEAVE_FRACTION,
              "grok_steps": grok.steps, "grok_test": grok.losses, "grok_test_se": grok.loss_se,
              "grok_train": grok.train_losses, "grok_gd": grok.gd_loss, "grok_tasks": np.array(dc["grok_tasks"]),
              "seeds": np.array([cfg["seed"] + i for i in range(dc["fig15_seeds"])])}
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
        for i, (h, runs) in enumerate(heads.items()):
            steps, L = runs[0].steps, np.array([r.losses for r in runs])
            se_end = np.array([r.final_loss_se for r in runs])
            leave, leave_c = drop_times(steps, L, L0, Ls, LEAVE_FRACTION)
            drop, drop_c = drop_times(steps, L, L0, Ls, 0.5)
            arrays.update({f"steps_{h}": steps, f"loss_{h}": L, f"final_se_{h}": se_end, f"plateau_{h}": leave,
                           f"plateau_censored_{h}": leave_c, f"drop_{h}": drop, f"drop_censored_{h}": drop_c})
            for k, curve in enumerate(L):
                ax[i].plot(steps, curve, lw=0.9, color=f"C{k % 10}")
            ax[i].axhline(Ls, **THEORY, label=f"1-step GD L* {Ls:.4f}")
            ax[i].axhline(0.5 * (L0 + Ls), color="grey", lw=0.8, ls=":", label="drop level (L0 + L*)/2")
            ax[i].set(xlabel="training step", ylabel="1/2 MSE (eval tasks)", ylim=(0.15, 0.45),
                      title=f"({'ab'[i]}) {h} head{'s' if h > 1 else ''}, {len(runs)} seeds")
            ax[i].legend(loc="upper right", fontsize=7)
            jitter = (np.arange(len(runs)) - len(runs) / 2) * 0.02
            ax[2].scatter(np.full(len(runs), h) + jitter, drop, marker="o", color=f"C{h - 1}",
                          label=f"{h} head(s): drop time")
            ax[2].scatter(np.full(len(runs), h) + 0.3 + jitter, leave, marker="^", color=f"C{h - 1}", alpha=0.6,
                          label=f"{h} head(s): plateau length")
        ax[2].axhline(steps[-1], color="grey", lw=0.8, ls=":", label="end of training (censored above)")
        ax[2].set(xticks=[1.15, 2.15], xticklabels=["1 head", "2 heads"], ylabel="training step",
                  title="(c) plateau length and drop time per seed")
        ax[2].legend(fontsize=6)
        ax[3].plot(grok.steps, grok.losses, label="test loss (fresh eval tasks)")
        ax[3].plot(grok.steps[1:], grok.train_losses[1:], label=f"train loss ({dc['grok_tasks']} fixed tasks)")
        ax[3].axhline(Ls, **THEORY, label=f"1-step GD L* {Ls:.4f}")
        ax[3].set(xlabel="training step", ylabel="1/2 MSE", ylim=(0, 0.6),
                  title="(d) MLP block on a fixed task set")
        ax[3].legend(fontsize=7)
        if profile != "paper":
            ax[3].text(0.02, 0.03, f"quick: {dc['grok_tasks']} tasks, {dc['grok_steps']} steps: cannot show "
                       "grokking (paper: 8192 tasks)", transform=ax[3].transAxes, fontsize=7)
        summary = {f"{h} head(s)": dict(final_loss=[r.final_loss for r in runs], run_config=runs[0].config)
                   for h, runs in heads.items()}
        summary["grokking"] = dict(final_loss=grok.final_loss, run_config=grok.config)
        config = figure_config(cfg, profile, seed, models=summary,
                               reconstructed="grokking block: 1 layer, 1-head linear attention + GELU MLP (widening 4),"
                               " no LayerNorm, no biases, full batch on the fixed set, the code's 1-layer optimiser "
                               "settings (lr 1e-3, gradient clip 0.001); the paper gives neither steps nor batch",
                               deviations="paper profile: grokking run 8000 full-batch steps (the paper states no "
                               "length; about 25 min on 2 cores)",
                               escape_benchmark="benchmarks/results/lsa_plateau_escape.json (quick 1-layer config, "
                               "seeds 100..139)")
        return save_figure(fig, out, PAPER, "fig15", arrays=arrays, config=config, started=started)
