"""The noisy-label test of von Oswald et al. 2023: k of the N context labels replaced by N(0, 1) noise.

The authors' code (``noisy_data_ana`` in ``train.py``, ``size_distract`` in ``data.py``; notes §2.1)
evaluates the trained one-layer model and GD on 10^4 tasks for k = 0, 2, 4, 6, 8.  The one-step GD loss
under that corruption has a closed form (``theory.lsa.noisy_label_loss``, [derived]), drawn dashed.
"""
from __future__ import annotations

import time

import numpy as np

from numerics.lsa import gd_predict, noisy_label_losses, sample_tasks
from numerics.seeds import child_rng
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import figure_config, run_summary, setup, theory_values, trained_runs
from validation.runs.vonoswald2023 import D, LAW, N_CTX, PAPER

__all__ = ["noisy_labels_vs_gd", "NOISY_KS", "NOISY_TASKS"]

#: the code's corruption levels (``range(0, dataset_size, 2)``) and task count per level
NOISY_KS = (0, 2, 4, 6, 8)
NOISY_TASKS = 10_000


def noisy_labels_vs_gd(*, profile="quick", out="results", seed=0):
    """Noisy labels: the trained layer and GD at eta* degrade alike, on the closed form, as k labels become noise.

    For each k in 0, 2, 4, 6, 8 (the code's ``noisy_data_ana``), 10^4 fresh tasks (the code's count, both
    profiles) with k of the N = 10 context labels replaced by N(0, 1) draws; on the same tasks, GD at
    eta* = 200/33 and each trained one-layer run of Fig 2 (``validation.runs.vonoswald2023.figure_run``,
    reused from the run store).  Dashed: ``theory.lsa.noisy_label_loss`` at eta*; dotted: the same
    closed form at the trained layer's own read-out step size.  Arrays: Monte-Carlo losses with their
    standard errors and the SE of each paired TF - GD difference.
    """
    started = time.perf_counter()
    cfg = setup(profile, seed)
    th = theory_values()
    runs = trained_runs(cfg)
    eta = th["eta_star"]
    ks = np.array(NOISY_KS)
    n = NOISY_TASKS
    gd, gd_se, tf, tf_se, pair_se = [], [], [], [], []
    for k in ks:
        X, y, x_q, y_q, _ = sample_tasks(n, D, N_CTX, law=LAW, size_distract=int(k), rng=child_rng(seed, 500, int(k)))
        l_gd = 0.5 * (gd_predict(X, y, x_q, eta) - y_q) ** 2
        l_tf = np.array([0.5 * (r.predict(X, y, x_q) - y_q) ** 2 for r in runs])  # (runs, n)
        gd.append(l_gd.mean())
        gd_se.append(l_gd.std(ddof=1) / np.sqrt(n))
        tf.append(l_tf.mean(1))
        tf_se.append(l_tf.std(1, ddof=1) / np.sqrt(n))
        pair_se.append((l_tf - l_gd).std(1, ddof=1) / np.sqrt(n))
    closed = noisy_label_losses(eta, D, N_CTX, ks, LAW)
    all_k = np.arange(N_CTX + 1)
    closed_all = noisy_label_losses(eta, D, N_CTX, all_k, LAW)
    tf_etas = np.array([r.step_size for r in runs])
    closed_tf = np.array([noisy_label_losses(e, D, N_CTX, ks, LAW) for e in tf_etas])  # (runs, k)
    arrays = dict(ks=ks, tasks=np.array(n), eta_star=np.array(eta), closed_form=closed, all_k=all_k,
                  closed_form_all_k=closed_all, gd_mc=np.array(gd),
                  gd_se=np.array(gd_se), tf_mc=np.array(tf).T, tf_se=np.array(tf_se).T,
                  paired_se=np.array(pair_se).T, tf_step_size=tf_etas, closed_form_tf_eta=closed_tf,
                  tf_final_loss=np.array([r.final_loss for r in runs]))
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
        a = ax[0]
        a.plot(all_k[:-1], closed_all[:-1], **THEORY, label="closed form, GD at eta* [derived]")
        a.errorbar(ks, gd, yerr=5 * np.array(gd_se), fmt="o", color="C1", capsize=3, label="GD at eta* (MC, 5 SE)")
        for i, r in enumerate(runs):
            a.errorbar(ks + 0.15, arrays["tf_mc"][i], yerr=5 * arrays["tf_se"][i], fmt="s", color="C0", capsize=3,
                       alpha=0.8, label="trained layer (MC, 5 SE)" if i == 0 else None)
            a.plot(ks, closed_tf[i], color="C0", linestyle=":", lw=1,
                   label="closed form at the layer's read-out eta" if i == 0 else None)
        a.set(xlabel="k corrupted context labels (of N = 10)", ylabel="1/2 MSE", title="(a) loss vs noisy labels")
        a.legend(loc="upper left", fontsize=7)
        a = ax[1]
        for i in range(len(runs)):
            a.errorbar(ks, arrays["tf_mc"][i] - np.array(gd), yerr=5 * arrays["paired_se"][i], fmt="s", color="C0",
                       capsize=3, label="trained - GD (paired, 5 SE)" if i == 0 else None)
        a.errorbar(ks + 0.15, np.array(gd) - closed, yerr=5 * np.array(gd_se), fmt="o", color="C1", capsize=3,
                   label="GD MC - closed form (5 SE)")
        a.axhline(0.0, **THEORY)
        a.set(xlabel="k corrupted context labels", ylabel="loss difference", title="(b) differences")
        a.legend(loc="upper left", fontsize=7)
        config = figure_config(cfg, profile, seed, runs=run_summary(runs), ks=ks.tolist(), tasks_per_k=n,
                               label_noise="N(0, 1) (the code's size_distract)", step_size=eta,
                               note="the trained runs are Fig 2's (shared through the run store)")
        return save_figure(fig, out, PAPER, "noisy_labels", arrays=arrays, config=config, started=started)
