"""Figures 11, 12 and 16 of von Oswald et al. 2023: softmax heads, and training on a fixed set of tasks.

Fig 12: one trained softmax layer with 1 head does not reach one GD step at eta*; with 2 heads it comes
close (the appendix's argument, A.9: two heads cancel the softmax offset, ``theory.lsa.softmax``).  Fig 11:
the 2-head model's per-head eta_h W_KQ_h (eta_h = (P_h W_V_h)[-1, -1]) and their sum.  Fig 16: one linear
layer trained full batch on a fixed set of B tasks.  Settings are the authors' code's (d = N = 10,
x ~ U(-1/2, 1/2)^d, 1/2 MSE); the runs and their sizes are ``validation.runs.vonoswald2023``'s softmax block.
"""
from __future__ import annotations

import time

import numpy as np

from numerics.lsa import centred_gd_predict, gd_predict, sample_tasks
from numerics.seeds import child_rng
from theory.lsa import optimal_centred_one_step_loss, optimal_centred_step_size
from paper_figs.artifacts import save_figure
from paper_figs.style import THEORY, figure_style
from paper_figs.vonoswald2023.common import FRESH_TASKS, as_curve, band, figure_config, setup, theory_values
from paper_figs.vonoswald2023.ood import ood_input_losses
from validation.runs.vonoswald2023 import D, LAW, N_CTX, PAPER, fixed_set_run, softmax_run, softmax_sizes, trained

__all__ = ["fig11_softmax_head_weights", "fig12_softmax_heads_vs_gd", "fig16_fixed_training_set", "fresh_alignment",
           "centred_gd_floor", "off_diagonal"]

def _setup(profile, seed) -> dict:
    cfg = setup(profile, seed)
    cfg.update(softmax_sizes(profile))
    cfg["seed_list"] = [cfg["seed"] + i for i in range(cfg["seeds"])]
    return cfg


def _softmax_runs(cfg, heads: int) -> list:
    return trained([softmax_run(cfg["profile"], seed=s, heads=heads) for s in cfg["seed_list"]])


def fresh_alignment(run, X, y, x_q, eta: float, h: float = 1e-5) -> np.ndarray:
    """Per-task cosine between the trained model's d y_hat / d x_q (central differences, float64) and GD's,
    (eta/N) sum_i y_i x_i: the paper's model cos, task by task (so its SE can be computed), (n,)."""
    g = np.empty_like(x_q)
    for k in range(x_q.shape[1]):
        e = np.zeros(x_q.shape[1])
        e[k] = h
        g[:, k] = (run.predict(X, y, x_q + e) - run.predict(X, y, x_q - e)) / (2 * h)
    g_gd = eta / X.shape[1] * np.einsum("ni,nid->nd", y, X)
    return np.einsum("nd,nd->n", g, g_gd) / (np.linalg.norm(g, axis=1) * np.linalg.norm(g_gd, axis=1) + 1e-300)


def centred_gd_floor(X, y, x_q, y_q) -> tuple[float, float, float, float]:
    """(eta_c*, exact L_c*, MC loss at eta_c*, its SE) of one GD step on the mean-centred context (derived: the
    s -> 0 limit of two softmax heads; ``theory.lsa.optimal_centred_one_step_loss``, d = N = 10, U(-1/2, 1/2))."""
    eta_c = float(optimal_centred_step_size(D, N_CTX, LAW))
    l = 0.5 * (centred_gd_predict(X, y, x_q, eta_c) - y_q) ** 2
    se = float(l.std(ddof=1) / np.sqrt(len(y_q)))
    return eta_c, float(optimal_centred_one_step_loss(D, N_CTX, LAW)), float(l.mean()), se


# ----------------------------------------------------------------------------- Figure 12
def fig12_softmax_heads_vs_gd(*, profile="quick", out="results", seed=0):
    """Figure 12: one softmax head does not reach the one-step GD loss; two heads come much closer to GD.

    (a) eval loss over training of trained 1-layer softmax models with 1 and 2 heads, GD at eta* (same tasks),
    the exact L* = 245/1188 dashed and the floor of the two-head s -> 0 limit, one GD step on the centred
    context at its optimum, 310/1419 = 0.2185 (derived, ``theory.lsa.optimal_centred_one_step_loss``);
    (b) model cos with GD at eta*; (c) OOD input scale U(-alpha/2, alpha/2), with the
    GD closed form dashed.  Quick: batch 512, lr 1.5e-3, 2000 steps (paper: 2048, 1e-3, 5000).
    """
    started = time.perf_counter()
    cfg = _setup(profile, seed)
    th = theory_values()
    runs = {1: _softmax_runs(cfg, 1), 2: _softmax_runs(cfg, 2)}
    n_fresh = FRESH_TASKS if profile != "_smoke" else 200
    n_cos = n_fresh // 10  # per-task cosines by central differences (20 predictions each): SE ~ 0.2 / sqrt(n_cos)
    X, y, x_q, y_q, _ = sample_tasks(n_fresh, D, N_CTX, law=LAW, rng=child_rng(seed, 120))
    l_gd = 0.5 * (gd_predict(X, y, x_q, th["eta_star"]) - y_q) ** 2
    eta_c, L_c, L_c_mc, L_c_se = centred_gd_floor(X, y, x_q, y_q)
    arrays = dict(steps=runs[1][0].steps, theory_L_star=np.array(th["L_star"]), theory_L_zero=np.array(th["L_zero"]),
                  fresh_tasks=np.array(n_fresh), fresh_gd=np.array(l_gd.mean()),
                  fresh_gd_se=np.array(l_gd.std(ddof=1) / np.sqrt(n_fresh)), theory_centred_floor=np.array(L_c),
                  fresh_centred=np.array(L_c_mc), fresh_centred_se=np.array(L_c_se), centred_eta=np.array(eta_c))
    per_task = {}
    for H, rs in runs.items():
        arrays[f"loss_{H}h"] = np.array([r.losses for r in rs])
        arrays[f"cos_{H}h"] = np.array([r.alignment_history["model_cos"] for r in rs])
        arrays[f"gd_eval_loss_{H}h"] = np.array([r.gd_loss for r in rs])
        l_tf = np.array([0.5 * (r.predict(X, y, x_q) - y_q) ** 2 for r in rs])  # (runs, n)
        cos = np.array([fresh_alignment(r, X[:n_cos], y[:n_cos], x_q[:n_cos], th["eta_star"]) for r in rs])
        per_task[H] = (l_tf, cos)
        arrays.update({f"fresh_tf_{H}h": l_tf.mean(1), f"fresh_tf_se_{H}h": l_tf.std(1, ddof=1) / np.sqrt(n_fresh),
                       f"fresh_paired_se_{H}h": (l_tf - l_gd).std(1, ddof=1) / np.sqrt(n_fresh),
                       f"fresh_cos_{H}h": cos.mean(1),
                       f"fresh_cos_se_{H}h": cos.std(1, ddof=1) / np.sqrt(cos.shape[1])})
    # paired SEs across the two models (same seed index, same tasks)
    g2, g1 = per_task[2][0] - l_gd, per_task[1][0] - l_gd
    arrays["fresh_half_gap_se"] = (g2 - 0.5 * g1).std(1, ddof=1) / np.sqrt(n_fresh)
    arrays["fresh_cos_diff_se"] = (per_task[2][1] - per_task[1][1]).std(1, ddof=1) / np.sqrt(per_task[1][1].shape[1])
    alphas = np.round(np.arange(0.5, 2.0 + 1e-9, 0.25 if profile != "paper" else 0.1), 6)
    n_ood = {"paper": 5000, "quick": 2000}.get(profile, 64)
    for H, rs in runs.items():
        tf, gd, gd_se, pse = ood_input_losses(rs, alphas, n_ood, child_rng(seed, 121))  # same tasks for both H
        arrays.update({f"ood_tf_{H}h": tf, f"ood_paired_se_{H}h": pse, "ood_gd": gd, "ood_gd_se": gd_se})
    arrays.update(alphas=alphas, theory_ood=as_curve(th["ood_input"], alphas), ood_tasks=np.array(n_ood))
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 3, figsize=(12, 3.3))
        a = ax[0]
        for H in (1, 2):
            band(a, arrays["steps"], arrays[f"loss_{H}h"], f"softmax, {H} head{'s' * (H > 1)}", color=f"C{H - 1}")
        a.axhline(float(np.mean(arrays["gd_eval_loss_1h"])), color="C2", lw=1.0, label="GD at eta* (same tasks)")
        a.axhline(th["L_star"], **THEORY, label=f"theory L* = {th['L_star']:.4f}")
        a.axhline(L_c, **{**THEORY, "linestyle": "-."}, label=f"theory, 2 heads as s -> 0: centred GD {L_c:.4f}")
        a.set(xlabel="training step", ylabel="1/2 MSE", ylim=(0.18, 0.52), title="(a) loss")
        a.legend(loc="upper right", fontsize=7)
        a = ax[1]
        for H in (1, 2):
            band(a, arrays["steps"], arrays[f"cos_{H}h"], f"{H} head{'s' * (H > 1)}", color=f"C{H - 1}")
        a.axhline(1.0, **THEORY, label="identical to GD")
        a.set(xlabel="training step", ylabel="model cos with GD at eta*", ylim=(0, 1.05), title="(b) alignment")
        a.legend(loc="lower right")
        a = ax[2]
        a.plot(alphas, arrays["theory_ood"], **THEORY, label="theory (GD at eta*)")
        a.plot(alphas, arrays["ood_gd"], "s", ms=3, mfc="none", color="C2", label="GD (MC)")
        for H in (1, 2):
            band(a, alphas, arrays[f"ood_tf_{H}h"], f"{H} head{'s' * (H > 1)}", color=f"C{H - 1}", marker="o", ms=2.5,
                 lw=0.8)
        a.axvline(1.0, color="0.6", lw=0.8, ls=":")
        a.set(yscale="log", xlabel="alpha: x ~ U(-alpha/2, alpha/2)", ylabel="1/2 MSE", title="(c) OOD input scale")
        a.legend(fontsize=7)
        config = figure_config(cfg, profile, seed, heads={H: dict(final_loss=[r.final_loss for r in rs],
                                                                  alignment=[r.alignment for r in rs])
                                                          for H, rs in runs.items()},
                               deviations=None if profile == "paper" else
                               "quick: batch 512, lr 1.5e-3, 2000 steps, one seed (paper: 2048, 1e-3, 5000, 5 seeds)",
                               note="softmax over the 10 context keys, logits e_i^T W_K^T W_Q e_q / sqrt(11) (the code)")
        return save_figure(fig, out, PAPER, "fig12", arrays=arrays, config=config, started=started)


# ----------------------------------------------------------------------------- Figure 11
def off_diagonal(M) -> np.ndarray:
    """The entries of a (D, D) matrix off its diagonal, as a vector."""
    M = np.asarray(M)
    return M[~np.eye(M.shape[0], dtype=bool)]


def fig11_softmax_head_weights(*, profile="quick", out="results", seed=0):
    """Figure 11: the two softmax heads' eta_h W_KQ_h have opposite off-diagonal terms; their sum is close to diagonal.

    eta_h = (P_h W_V_h)[-1, -1] (the notebook's cell 14-15 product KQ * LV[-1, -1]; here W_KQ includes the
    logits' 1/sqrt(11)).  A.9: to first order, heads (W_1, V) and (W_2, -V) act as linear attention with
    W_1 - W_2, so eta_1 W_1 + eta_2 W_2 = eta_1 (W_1 - W_2) when eta_2 = -eta_1: what the heads share cancels.
    """
    started = time.perf_counter()
    cfg = _setup(profile, seed)
    runs = _softmax_runs(cfg, 2)
    A = np.array([[r.W_PV[0, h, -1, -1] * r.W_KQ[0, h] for h in range(2)] for r in runs])  # (runs, 2, D, D)
    S = A.sum(axis=1)  # (runs, D, D)
    off = np.array([[off_diagonal(A[i, h]) for h in range(2)] for i in range(len(runs))])  # (runs, 2, D(D-1))
    corr = np.array([np.corrcoef(o[0], o[1])[0, 1] for o in off])
    norm = lambda v: np.sqrt((v ** 2).sum(-1))  # noqa: E731
    arrays = dict(head_1=A[:, 0], head_2=A[:, 1], head_sum=S,
                  eta_h=np.array([[r.W_PV[0, h, -1, -1] for h in range(2)] for r in runs]),
                  offdiag_corr=corr, n_offdiag=np.array(off.shape[-1]),
                  offdiag_norm_heads=norm(off), offdiag_norm_sum=norm(np.array([off_diagonal(s) for s in S])),
                  diag_norm_sum=norm(np.array([np.diag(s)[:D] for s in S])))
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 3, figsize=(11, 3.3))
        vmax = float(np.abs(A[0]).max())
        for a, M, title in zip(ax, (A[0, 0], A[0, 1], S[0]),
                               ("head 1: eta_1 W_KQ,1", "head 2: eta_2 W_KQ,2", "sum over heads")):
            im = a.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            a.set(title=title, xticks=[0, D], yticks=[0, D])
            a.grid(False)
            fig.colorbar(im, ax=a, shrink=0.8)
        fig.suptitle(f"2-head softmax layer (seed {seed}): corr of the heads' off-diagonal entries {corr[0]:.2f}; "
                     f"off-diagonal norm of the sum / per head {arrays['offdiag_norm_sum'][0]:.2f} / "
                     f"{', '.join(f'{v:.2f}' for v in arrays['offdiag_norm_heads'][0])}", fontsize=8)
        config = figure_config(cfg, profile, seed, eta_h=arrays["eta_h"].tolist(),
                               deviations=None if profile == "paper" else
                               "quick: batch 512, lr 1.5e-3, 2000 steps, one seed (paper: 2048, 1e-3, 5000, 5 seeds)")
        return save_figure(fig, out, PAPER, "fig11", arrays=arrays, config=config, started=started)


# ----------------------------------------------------------------------------- Figure 16
def fig16_fixed_training_set(*, profile="quick", out="results", seed=0):
    """Figure 16: full-batch training on B fixed tasks: alignment fails for B = 128, grows with B; B >= 2048 ~ GD.

    The paper: alignment fails for B = 128 and is almost perfect for B >= 2048.  Asserted (companion): for
    B = 128 model cos < 0.5 and a test loss above the zero predictor; cos increasing in B; for B >= 2048 the
    test loss within the classical over-fitting excess 2 L* p / B of GD (p = 242 weights), with the model cos
    recorded (0.96 at B = 2048, quick).

    (a) test loss on fresh tasks over training per B, with GD at eta* (same tasks), the exact L* and the zero
    predictor 5/12 dashed; (b) model cos with GD at eta* per B; (c) final model cos vs B.  One linear layer,
    the code's cycle_data = 1 with bs = B.  Quick: B = 128, 512, 2048, 1000 steps, one seed (paper: also
    8192, the notebook's 5000 steps, 5 seeds).
    """
    started = time.perf_counter()
    cfg = _setup(profile, seed)
    th = theory_values()
    Bs = [int(B) for B in cfg["fixed_B"]]
    seeds = [cfg["seed"] + i for i in range(cfg["fixed_seeds"])]
    runs = {B: trained([fixed_set_run(profile, seed=s, B=B) for s in seeds]) for B in Bs}
    n_fresh = FRESH_TASKS if profile != "_smoke" else 200
    n_cos = n_fresh // 10  # per-task cosines by central differences (20 predictions each): SE ~ 0.2 / sqrt(n_cos)
    X, y, x_q, y_q, _ = sample_tasks(n_fresh, D, N_CTX, law=LAW, rng=child_rng(seed, 160))
    l_gd = 0.5 * (gd_predict(X, y, x_q, th["eta_star"]) - y_q) ** 2
    arrays = dict(B=np.array(Bs), steps=runs[Bs[0]][0].steps, theory_L_star=np.array(th["L_star"]),
                  theory_L_zero=np.array(th["L_zero"]), fresh_tasks=np.array(n_fresh), fresh_gd=np.array(l_gd.mean()),
                  n_params=np.array(2 * (D + 1) ** 2))
    for B, rs in runs.items():
        l_tf = np.array([0.5 * (r.predict(X, y, x_q) - y_q) ** 2 for r in rs])
        cos = np.array([fresh_alignment(r, X[:n_cos], y[:n_cos], x_q[:n_cos], th["eta_star"]) for r in rs])
        arrays.update({f"test_loss_B{B}": np.array([r.losses for r in rs]),
                       f"train_loss_B{B}": np.array([r.train_losses for r in rs]),
                       f"cos_B{B}": np.array([r.alignment_history["model_cos"] for r in rs]),
                       f"fresh_tf_B{B}": l_tf.mean(1), f"fresh_tf_se_B{B}": l_tf.std(1, ddof=1) / np.sqrt(n_fresh),
                       f"fresh_excess_se_B{B}": (l_tf - l_gd).std(1, ddof=1) / np.sqrt(n_fresh),
                       f"fresh_cos_B{B}": cos.mean(1),
                       f"fresh_cos_se_B{B}": cos.std(1, ddof=1) / np.sqrt(cos.shape[1])})
    steps = arrays["steps"]
    with figure_style() as plt:
        fig, ax = plt.subplots(1, 3, figsize=(12, 3.3))
        for k, B in enumerate(Bs):
            band(ax[0], steps, arrays[f"test_loss_B{B}"], f"B = {B}", color=f"C{k}")
            train = arrays[f"train_loss_B{B}"].mean(0)
            ax[0].plot(steps[1:], train[1:], color=f"C{k}", lw=0.8, ls="--", alpha=0.7,
                       label="training loss on the B tasks" if k == 0 else None)
            band(ax[1], steps, arrays[f"cos_B{B}"], f"B = {B}", color=f"C{k}")
        ax[0].axhline(float(l_gd.mean()), color="C7", lw=1.0, label="GD at eta* (fresh tasks)")
        ax[0].axhline(th["L_star"], **THEORY, label=f"theory L* = {th['L_star']:.4f}")
        ax[0].axhline(th["L_zero"], **{**THEORY, "linestyle": ":"}, label="zero predictor 5/12")
        ax[0].set(xlabel="training step (full batch)", ylabel="test 1/2 MSE (fresh tasks)", yscale="log",
                  title="(a) test loss")
        ax[0].legend(fontsize=7)
        ax[1].axhline(1.0, **THEORY, label="identical to GD")
        ax[1].set(xlabel="training step (full batch)", ylabel="model cos with GD at eta*", ylim=(-0.1, 1.05),
                  title="(b) alignment")
        ax[1].legend(loc="lower right", fontsize=7)
        a = ax[2]
        final = np.array([arrays[f"fresh_cos_B{B}"].mean() for B in Bs])
        a.plot(Bs, final, "o-", label="trained (fresh tasks)")
        a.axhline(1.0, **THEORY)
        a.set(xscale="log", xlabel="B (fixed training tasks)", ylabel="final model cos", ylim=(-0.1, 1.05),
              title="(c) alignment vs B", xticks=Bs, xticklabels=[str(B) for B in Bs])
        a.minorticks_off()
        a.legend(loc="lower right")
        final_loss = {B: [r.final_loss for r in rs] for B, rs in runs.items()}
        config = figure_config(cfg, profile, seed, final_test_loss=final_loss,
                               deviations=None if profile == "paper" else
                               "quick: B = 128, 512, 2048 (no 8192), 1000 steps, one seed "
                               "(paper: also 8192, 5000 steps, 5 seeds)",
                               note="full-batch AdamW on one fixed set of B tasks (the code's cycle_data = 1, bs = B)")
        return save_figure(fig, out, PAPER, "fig16", arrays=arrays, config=config, started=started)
