"""Figures 7, 8 and 14 of von Oswald et al. 2023: deep recurrent, deep MLP and LayerNorm models vs GD / GD++.

Each figure trains its models through the run store (``validation.runs.vonoswald2023``: ``fig7_runs``,
``fig8_runs``, ``fig14_runs``) and evaluates them, and the fitted K-step GD / GD++ they are compared with,
on the same fresh tasks (per-task losses and implicit models g = d y_hat / d x_q), so that every
comparison in the companion (:mod:`~paper_figs.vonoswald2023.companions_deep`) has a paired standard error.
Settings the authors' notebook does not have are marked [reconstructed] in each json's ``config``.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from numerics.lsa import sample_tasks
from numerics.seeds import child_rng
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import band, figure_config, setup, theory_values
from validation.lsa import Evaluator, construction_weights
from validation.lsa.blocks import block_pred_and_grad
from validation.runs.vonoswald2023 import (
    D,
    LAW,
    N_CTX,
    PAPER,
    deep_sizes,
    fig7_runs,
    fig8_runs,
    fig14_runs,
    figure_runs,
    trained,
)

__all__ = ["fig7_recurrent_ten_layers", "fig8_deep_mlp_four_heads", "fig14_layernorm", "per_task",
           "deep_setup", "paired_se"]

#: what the notebook does not fix for Fig 8 (no configuration reproduces it: notes §5) and our choice
FIG8_RECONSTRUCTED = ("12 untied blocks; each: 4-head linear self-attention (key size 11, output projection 44 -> 11, "
                      "keys/values from the context only) then a GELU MLP 11 -> 44 -> 11 with residual, no biases "
                      "(config.use_bias = False), no LayerNorm; readout minus the query's last channel; init variance "
                      "0.002/12, AdamW lr 5e-4, gradient clip 10, token clip 10 (the code's K > 3 settings); "
                      "baseline: 12-step GD++ with per-layer (eta_k, gamma_k) fitted by numerics.lsa.fit_gdpp")


def deep_setup(profile, seed) -> dict:
    """``common.setup`` plus the deep-model sizes (``deep_sizes``) under ``deep``."""
    cfg = setup(profile, seed)
    cfg["deep"] = deep_sizes(profile)
    paper = deep_sizes("paper")
    cfg["shortened"].update({k: f"{v} (paper: {paper[k]})" for k, v in cfg["deep"].items() if v != paper[k]})
    return cfg


def paired_se(a, b) -> float:
    """Standard error of mean(a - b) over paired per-task values."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(diff.std(ddof=1) / np.sqrt(diff.size))


def _tensors(tasks):
    return tuple(torch.as_tensor(np.asarray(a, dtype=float)) for a in tasks[:4])


def per_task(model, tasks, *, layers=None, etas=None, gammas=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-task 1/2-losses (n,) and unit implicit models g / (|g| + 1e-8) (n, d) on numpy ``tasks``.

    ``model``: an ``LSAResult``, a ``BlocksResult``, or ``"construction"`` (K-step GD, or GD++ with
    ``gammas``, at ``etas``: ``validation.lsa.construction_weights``, no token clip).
    """
    X, y, x_q, y_q = _tensors(tasks)
    if model == "construction":
        KQ, PV = construction_weights(D, N_CTX, etas, gammas)
        ev = Evaluator(tasks, layers=len(np.atleast_1d(etas)), softmax=False, dampening=1.0, clip=None, device="cpu")
        pred, g = ev.pred_and_grad(KQ, PV, baseline=True)
    elif hasattr(model, "theta"):
        pred, g = block_pred_and_grad(model.block_spec(), torch.as_tensor(model.theta), X, y, x_q)
    else:
        c = model.config
        ev = Evaluator(tasks, layers=c["layers"], softmax=c["softmax"], dampening=c["dampening"],
                       clip=c["clip_tokens"], device="cpu")
        pred, g = ev.pred_and_grad(torch.as_tensor(model.W_KQ), torch.as_tensor(model.W_PV))
    loss = 0.5 * (pred - y_q) ** 2
    return loss.numpy(), (g / (g.norm(dim=-1, keepdim=True) + 1e-8)).numpy()


def _deep_arrays(runs, tasks, tag: str) -> dict:
    """Fresh-task losses of each run and of its fitted GD / GD++, and the per-task cos of the run with each."""
    out = {k: [] for k in ("tf", "gd", "pp", "se_tf", "se_gd_tf", "se_pp_tf", "se_gd_pp", "cos_gd", "cos_pp",
                           "se_cos")}
    for r in runs:
        l_tf, g_tf = per_task(r, tasks)
        l_gd, g_gd = per_task("construction", tasks, etas=r.gd_etas)
        l_pp, g_pp = per_task("construction", tasks, etas=r.gdpp_etas, gammas=r.gdpp_gammas)
        c_gd, c_pp = (g_tf * g_gd).sum(-1), (g_tf * g_pp).sum(-1)
        for k, v in (("tf", l_tf.mean()), ("gd", l_gd.mean()), ("pp", l_pp.mean()),
                     ("se_tf", l_tf.std(ddof=1) / np.sqrt(l_tf.size)), ("se_gd_tf", paired_se(l_gd, l_tf)),
                     ("se_pp_tf", paired_se(l_pp, l_tf)), ("se_gd_pp", paired_se(l_gd, l_pp)),
                     ("cos_gd", c_gd.mean()), ("cos_pp", c_pp.mean()), ("se_cos", paired_se(c_pp, c_gd))):
            out[k].append(float(v))
    return {f"fresh_{k}_{tag}": np.array(v) for k, v in out.items()}


def _loss_panel(ax, runs, th, title, extra=None):
    K = runs[0].config["layers"]
    steps = runs[0].steps
    band(ax, steps, [r.losses for r in runs], f"trained {title}")
    title = f"(a) {title}"
    gd, pp = np.mean([r.gd_loss for r in runs]), np.mean([r.gdpp_loss for r in runs])
    ax.axhline(gd, color="C1", lw=1.0, label=f"{K}-step GD (fitted) {gd:.3f}")
    ax.axhline(pp, color="C2", lw=1.0, label=f"{K}-step GD++ (fitted) {pp:.3f}")
    for label, value in (extra or {}).items():
        ax.axhline(value, color="C4", lw=1.0, ls="-.", label=label)
    ax.axhline(th["L_star"], **THEORY, label=f"theory 1-step GD {th['L_star']:.4f}")
    ax.axhline(th["L_zero"], **{**THEORY, "linestyle": ":"}, label="zero predictor 5/12")
    ax.set(xlabel="training step", ylabel="1/2 MSE (eval tasks)", ylim=(0, 0.45), title=f"{title}: loss")
    ax.legend(loc="upper right", fontsize=7)


def _cos_panel(ax, runs, title):
    steps = runs[0].steps
    band(ax, steps, [r.alignment_history["model_cos"] for r in runs], "model cos with K-step GD")
    band(ax, steps, [r.alignment_gdpp_history["model_cos"] for r in runs], "model cos with K-step GD++")
    ax.axhline(1.0, **THEORY, label="identical models")
    ax.set(xlabel="training step", ylabel="cosine", ylim=(0, 1.05), title=f"{title}: alignment")
    ax.legend(loc="lower right", fontsize=7)


def _two_panel(name, title, runs, cfg, out, profile, seed, tasks, started, extra_lines=None, extra_arrays=None,
               note="", **config_extra):
    th = theory_values()
    arrays = _deep_arrays(runs, tasks, "k")
    arrays.update({"steps": runs[0].steps, "tf_loss": np.array([r.losses for r in runs]),
                   "gd_loss": np.array([r.gd_loss for r in runs]), "gdpp_loss": np.array([r.gdpp_loss for r in runs]),
                   "cos_gd": np.array([r.alignment_history["model_cos"] for r in runs]),
                   "cos_gdpp": np.array([r.alignment_gdpp_history["model_cos"] for r in runs]),
                   "fresh_tasks": np.array(len(tasks[3])), "theory_L_star": th["L_star"], "theory_L_zero": th["L_zero"],
                   **(extra_arrays or {})})
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 2, figsize=(10, 4.2))
        _loss_panel(ax[0], runs, th, title, extra_lines)
        _cos_panel(ax[1], runs, f"(b) {title}")
        if note:
            fig.suptitle(note, fontsize=7)
        summary = dict(final_loss=[r.final_loss for r in runs], gd_etas=[r.gd_etas for r in runs],
                       gdpp_etas=[r.gdpp_etas for r in runs], gdpp_gammas=[r.gdpp_gammas for r in runs],
                       train_wall_time_s=[r.wall_time for r in runs], run_config=runs[0].config)
        config = figure_config(cfg, profile, seed, models=summary, note=note, **config_extra)
        return save_figure(fig, out, PAPER, name, arrays=arrays, config=config, started=started)


def fig7_recurrent_ten_layers(*, profile="quick", out="results", seed=0):
    """Figure 7: a recurrent 10-layer LSA ends close to 10-step GD++ (not GD), and worse than the untied 5-layer model.

    ``train_lsa(layers=10, recurrent=True)`` with the code's K > 3 settings (lr 5e-4, token clip 10, gradient
    clip 10); 10-step GD and GD++ (tied eta, gamma) fitted by ``numerics.lsa.fit_gdpp``.  The comparison with
    the untied 5-layer model of Fig 3(b) is drawn and asserted at the paper profile only (its quick run, 2000
    steps, is not converged); there it takes Fig 3's five untied 5-layer runs from the run store (trained by
    fig3, or here if absent).  Paper profile: 1 seed (the paper's plot length, 15000 steps at batch 2048, costs
    about 35 min on 2 cores).
    """
    started = time.perf_counter()
    cfg = deep_setup(profile, seed)
    dc = cfg["deep"]
    runs = trained(fig7_runs(profile, cfg["seed"]))
    tasks = sample_tasks(dc["fresh_tasks"], D, N_CTX, law=LAW, rng=child_rng(cfg["seed"], 70))
    extra_lines, extra_arrays = {}, {}
    if profile == "paper":
        five = trained(figure_runs(profile, cfg["seed"], layers=5, recurrent=False))
        l10 = per_task(runs[0], tasks)[0]
        l5 = np.array([per_task(r, tasks)[0] for r in five])  # (seeds, n)
        extra_arrays = {"fresh_tf5": l5.mean(1), "fresh_se_tf10_tf5": np.array([paired_se(l10, v) for v in l5])}
        extra_lines = {f"untied 5-layer TF (Fig 3b) {l5.mean():.3f}": float(np.mean([r.final_loss for r in five]))}
    note = ("" if profile == "paper" else f"quick: {dc['fig7_steps']} steps at batch {dc['fig7_batch']} (paper plot: "
            "15000 at 2048): the model is still descending; 'close to GD++' and the 5-layer comparison are "
            "asserted at the paper profile")
    return _two_panel("fig7", "recurrent 10-layer LSA", runs, cfg, out, profile, seed, tasks, started, extra_lines,
                      extra_arrays, note, deviations="paper profile: 1 seed; the paper's number of seeds is not stated")


def fig8_deep_mlp_four_heads(*, profile="quick", out="results", seed=0):
    """Figure 8: a 12-block transformer with MLPs and 4-head linear attention (no LN) resembles 12-step GD++.

    [reconstructed] No notebook setting exists (the notebook forces attention-only): our choice is
    ``FIG8_RECONSTRUCTED`` (``validation.runs.vonoswald2023.fig8_runs``, ``validation.lsa.train_blocks``).
    Paper profile: batch 256 and 10000 steps instead of the code's untied default 2048 x 50000 (about 30 min
    instead of about 20 h on 2 cores), the 12-step fits on 10^4 tasks.
    """
    started = time.perf_counter()
    cfg = deep_setup(profile, seed)
    dc = cfg["deep"]
    runs = trained(fig8_runs(profile, cfg["seed"]))
    tasks = sample_tasks(dc["fresh_tasks"], D, N_CTX, law=LAW, rng=child_rng(cfg["seed"], 80))
    note = ("" if profile == "paper" else f"quick: {dc['fig8_steps']} steps at batch {dc['fig8_batch']}, baselines fitted on "
            f"{dc['fig8_fit_tasks']} tasks: the model "
            "has not left its plateau; the resemblance to GD++ is asserted at the paper profile")
    return _two_panel("fig8", "12 blocks, MLP + 4-head LSA", runs, cfg, out, profile, seed, tasks, started, note=note,
                      reconstructed=FIG8_RECONSTRUCTED,
                      deviations="paper profile: batch 256, 10000 steps (code's untied default: 2048, 50000); "
                      "fits on 10^4 tasks")


def fig14_layernorm(*, profile="quick", out="results", seed=0):
    """Figure 14: LayerNorm before attention (1 and 2 layers) is worse than GD and GD++, less aligned, better for large inputs.

    1 layer: recurrent (the code requires it for K = 1), LN before the attention.  2 layers: untied, LN only
    between the layers (the authors' ``trans_block`` skips LN before layer 0 of a non-recurrent model,
    transformer.py line 170).  LN with learned scale and offset (Haiku ``LayerNorm``).  Baselines: GD at eta*
    (1 layer; GD++ equals GD for one layer), 2-step GD and GD++ with per-layer parameters (2 layers).  OOD:
    inputs U(-alpha/2, alpha/2) (the code's ``input_range``) up to alpha = 5, against GD (eta* for 1 layer, the
    fitted 2-step GD for 2 layers: the paper's claim is "better than GD"; the fitted GD++ explodes there).
    """
    started = time.perf_counter()
    cfg = deep_setup(profile, seed)
    dc = cfg["deep"]
    th = theory_values()
    models = {1: trained(fig14_runs(profile, cfg["seed"], 1)), 2: trained(fig14_runs(profile, cfg["seed"], 2))}
    tasks = sample_tasks(dc["fresh_tasks"], D, N_CTX, law=LAW, rng=child_rng(cfg["seed"], 140))
    alphas = np.array(dc["ood_alphas"], dtype=float)
    arrays = {"alphas": alphas, "fresh_tasks": np.array(dc["fresh_tasks"]), "theory_L_star": th["L_star"],
              "theory_L_zero": th["L_zero"]}
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 3, figsize=(14, 3.8))
        for K, runs in models.items():
            steps = runs[0].steps
            band(ax[0], steps, [r.losses for r in runs], f"{K}-layer LN TF", color=f"C{K - 1}")
            ax[0].axhline(runs[0].gd_loss, color=f"C{K - 1}", lw=0.9, ls="-.", label=f"{K}-step GD {runs[0].gd_loss:.3f}")
            if K > 1:
                ax[0].axhline(runs[0].gdpp_loss, color="C2", lw=0.9, ls="-.", label=f"2-step GD++ {runs[0].gdpp_loss:.3f}")
            band(ax[1], steps, [r.alignment_history["model_cos"] for r in runs], f"{K}-layer: cos with {K}-step GD",
                 color=f"C{K - 1}")
            arrays.update({f"steps_{K}": steps, f"tf_loss_{K}": np.array([r.losses for r in runs]),
                           f"cos_gd_{K}": np.array([r.alignment_history["model_cos"] for r in runs])})
            if K > 1:
                arrays.update(_deep_arrays(runs, tasks, "2"))
                band(ax[1], steps, [r.alignment_gdpp_history["model_cos"] for r in runs], "2-layer: cos with 2-step GD++",
                     color="C2")
            else:
                l_gd, g_gd = per_task("construction", tasks, etas=runs[0].gd_etas)
                per = [per_task(r, tasks) for r in runs]
                cos = [(g * g_gd).sum(-1) for _, g in per]
                arrays.update({"fresh_tf_1": np.array([lt.mean() for lt, _ in per]), "fresh_gd_1": l_gd.mean(),
                               "fresh_se_gd_tf_1": np.array([paired_se(l_gd, lt) for lt, _ in per]),
                               "fresh_cos_gd_1": np.array([c.mean() for c in cos]),
                               "fresh_se_cos_1": np.array([c.std(ddof=1) / np.sqrt(c.size) for c in cos])})
            tf_ood, gd_ood, se_ood = [], [], []
            for j, a in enumerate(alphas):
                t = sample_tasks(dc["ood_tasks"], D, N_CTX, input_range=float(a), rng=child_rng(cfg["seed"], 141, j))
                l_gd = per_task("construction", t, etas=runs[0].gd_etas)[0]  # the paper's claim: better than GD
                l_tf = np.array([per_task(r, t)[0] for r in runs])
                tf_ood.append(l_tf.mean(1))
                gd_ood.append(l_gd.mean())
                se_ood.append([paired_se(l_gd, v) for v in l_tf])
            arrays.update({f"ood_tf_{K}": np.array(tf_ood).T, f"ood_base_{K}": np.array(gd_ood),
                           f"ood_se_{K}": np.array(se_ood).T})
            ax[2].plot(alphas, np.mean(tf_ood, axis=1), "o-", color=f"C{K - 1}", label=f"{K}-layer LN TF")
            ax[2].plot(alphas, gd_ood, "s--", color=f"C{K - 1}", alpha=0.6,
                       label="GD at eta*" if K == 1 else "2-step GD (fitted)")
        ax[0].axhline(th["L_star"], **THEORY, label=f"theory 1-step GD {th['L_star']:.4f}")
        ax[0].axhline(th["L_zero"], **{**THEORY, "linestyle": ":"}, label="zero predictor 5/12")
        ax[0].set(xlabel="training step", ylabel="1/2 MSE (eval tasks)", ylim=(0, 0.45), title="(a) LayerNorm: loss")
        ax[0].legend(loc="upper right", fontsize=7)
        ax[1].axhline(1.0, **THEORY, label="identical models")
        ax[1].set(xlabel="training step", ylabel="model cos", ylim=(0, 1.05), title="(b) alignment")
        ax[1].legend(loc="lower right", fontsize=7)
        ax[2].set(xscale="log", yscale="log", xlabel="alpha (x ~ U(-alpha/2, alpha/2))", ylabel="1/2 MSE",
                  title="(c) larger inputs")
        ax[2].set_xticks(alphas, [f"{a:g}" for a in alphas], minor=False)
        ax[2].set_xticks([], minor=True)
        ax[2].legend(fontsize=7)
        if profile != "paper":
            fig.suptitle(f"quick: {dc['fig14_steps_1']} / {dc['fig14_steps_2']} steps; a model short of GD is also what "
                         "an unconverged one shows: the paper profile carries the claim", fontsize=7)
        summary = {f"{K}-layer": dict(final_loss=[r.final_loss for r in runs], gd_etas=[r.gd_etas for r in runs],
                                      gdpp_etas=[r.gdpp_etas for r in runs], gdpp_gammas=[r.gdpp_gammas for r in runs],
                                      run_config=runs[0].config) for K, runs in models.items()}
        config = figure_config(cfg, profile, seed, models=summary,
                               deviations="paper profile: 3 seeds; 2-layer model 12000 steps at batch 1024 (code's "
                               "untied default: 50000 at 2048)",
                               code="LN placement from transformer.py lines 159-173 (HEAD 3d5547c)")
        return save_figure(fig, out, PAPER, "fig14", arrays=arrays, config=config, started=started)
