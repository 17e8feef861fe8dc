"""Trained linear self-attention of von Oswald et al. 2023, "Transformers learn in-context by GD".

``train_lsa`` trains the attention-only transformer of the authors' code (K LSA layers, tied or
not, linear or softmax, H heads; keys and values from the context only; prediction = minus the
query's y-slot) on fresh regression tasks every step, and compares it with the GD constructions:

* the loss on a fixed evaluation set (10^4 tasks, the code's PRNGKey(5) role: ``eval_seed``)
  against K-step GD (eta* = ``theory.lsa.optimal_step_size`` for K = 1) and K-step GD++;
* the effective step size read from the trained weights (Proposition 1 read-out);
* the alignment metrics of the code's ``analyse`` (preds diff, model cos, model diff, with
  g = d y_hat / d x_q computed by ``torch.func``);
* the interpolation of the rescaled trained weights with the construction (notes §4.4).

Each of these is its own function; ``train_lsa`` checks its arguments once
(:class:`validation.lsa.config.LSAConfig`), fits the baselines
(:func:`validation.lsa.baselines.fit_baselines`), trains (:func:`validation.lsa.loop.train_weights`)
and assembles the comparisons (:func:`compare_training`) into one :class:`LSAResult`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from numerics.lsa import sample_tasks
from validation.lsa.baselines import LSABaselines, construction_pair, fit_baselines
from validation.lsa.config import LSAConfig
from validation.lsa.evaluation import Evaluator, alignment_history, interpolation_losses, lsa_predict
from validation.lsa.loop import LSATraining, train_weights
from validation.lsa.readouts import curvature_readout, effective_step_size
from validation.threads import limit_threads

__all__ = ["LSAResult", "train_lsa", "compare_training", "evaluation_set"]


@dataclass(frozen=True, eq=False)
class LSAResult:
    """Outcome of :func:`train_lsa` (all arrays numpy float64; losses are the paper's 1/2-MSE).

    ``W_KQ`` / ``W_PV`` have shape (L, H, D, D) with L = 1 for a recurrent model: the logits are
    e_i^T W_KQ_h e_j and the value map is W_PV_h = P_h W_V_h (column-vector convention).
    ``alignment`` compares the trained model with K-step GD (eta* for K = 1; a fitted eta,
    tied like the model, for K > 1); ``alignment_gdpp`` with K-step GD++ (K > 1 only).
    """

    config: dict
    steps: np.ndarray                   # (n_log,) training steps at which we evaluated
    losses: np.ndarray                  # (n_log,) eval 1/2-loss
    train_losses: np.ndarray            # (n_log,) 1/2-loss of that step's minibatch (nan at step 0)
    final_loss: float
    final_loss_se: float                # standard error of final_loss over the eval tasks
    step_size: float                    # effective eta of the first (or only, or shared) layer
    step_sizes: np.ndarray              # (L,) per distinct layer
    gammas: np.ndarray                  # (L,) curvature read-out per distinct layer (GD++'s gamma)
    eta_star: float                     # theory.lsa.optimal_step_size(d, N, law)
    theory_loss: float                  # theory.lsa.one_step_loss(eta*, d, N, law)
    gd_etas: np.ndarray                 # (K,) step sizes of the GD baseline
    gd_loss: float                      # its eval loss (same tasks)
    alignment: dict                     # final preds_diff, model_cos, model_diff vs GD
    alignment_history: dict             # the same, one entry per logged step
    W_KQ: np.ndarray
    W_PV: np.ndarray
    interpolation_loss: float | None    # eval loss of (rescaled trained + construction) / 2
    interpolation_losses: np.ndarray | None
    gdpp_etas: np.ndarray | None = None
    gdpp_gammas: np.ndarray | None = None
    gdpp_loss: float | None = None
    alignment_gdpp: dict | None = None
    alignment_gdpp_history: dict | None = None
    wall_time: float = 0.0
    steps_per_second: float = 0.0
    extras: dict = field(default_factory=dict)

    def predict(self, X, y, x_q, *, layers: int | None = None, dampening: float | None = None,
                clip: float | None | str = "config") -> np.ndarray:
        """The trained model's predictions on numpy tasks X (n, N, d), y (n, N), x_q (n, d), float64."""
        c = self.config
        return lsa_predict(self.W_KQ, self.W_PV, X, y, x_q,
                           layers=c["layers"] if layers is None else layers,
                           softmax=c["softmax"],
                           dampening=c["dampening"] if dampening is None else dampening,
                           clip=c["clip_tokens"] if clip == "config" else clip)


def evaluation_set(config: LSAConfig) -> Evaluator:
    """The run's fixed float64 evaluation tasks: ``eval_tasks`` tasks of ``numerics.lsa.sample_tasks``
    drawn with ``eval_seed`` (the code's PRNGKey(5)), for a model with the run's layers, softmax,
    dampening and token clip."""
    c = config
    tasks = sample_tasks(c.eval_tasks, c.d, c.N, law=c.law, seed=c.eval_seed)
    return Evaluator(tasks, layers=c.layers, softmax=c.softmax, dampening=c.dampening, clip=c.clip_tokens,
                     device=c.device)


def compare_training(config: LSAConfig, baselines: LSABaselines, evaluator: Evaluator,
                     training: LSATraining) -> dict:
    """The comparisons of a training run with its baselines, as the fields of :class:`LSAResult`.

    On the evaluation tasks: the GD (and GD++) losses, the alignment metrics of every logged
    weight pair against GD (and GD++), and the loss of the code's interpolation of the rescaled
    weights with the construction (one linear head only; with GD++ for K > 1, one construction per
    distinct layer of the model); from the final weights, the step-size and curvature read-outs.
    """
    c, b = config, baselines
    gd_KQ, gd_PV = construction_pair(c, b.gd_etas)
    gd_ref = evaluator.pred_and_grad(gd_KQ, gd_PV, baseline=True)
    gd_loss = evaluator.loss(gd_KQ, gd_PV, baseline=True)[0]
    hist = alignment_history(evaluator, training.weights, gd_ref)
    C_KQ, C_PV = gd_KQ, gd_PV
    gdpp = {}
    if b.gdpp_etas is not None:
        C_KQ, C_PV = construction_pair(c, b.gdpp_etas, b.gdpp_gammas)
        hist_pp = alignment_history(evaluator, training.weights,
                                    evaluator.pred_and_grad(C_KQ, C_PV, baseline=True))
        gdpp = dict(gdpp_etas=b.gdpp_etas, gdpp_gammas=b.gdpp_gammas,
                    gdpp_loss=evaluator.loss(C_KQ, C_PV, baseline=True)[0],
                    alignment_gdpp={k: v[-1] for k, v in hist_pp.items()},
                    alignment_gdpp_history={k: np.array(v) for k, v in hist_pp.items()})
    if c.recurrent and C_KQ.shape[0] > 1:
        C_KQ, C_PV = C_KQ[:1], C_PV[:1]  # tied fits: every layer holds the same (eta, gamma)
    interp = (interpolation_losses(evaluator, training.weights, C_KQ, C_PV)
              if c.heads == 1 and not c.softmax else None)
    W_KQ, W_PV = (w.cpu().numpy() for w in training.weights[-1])
    return dict(
        step_size=float(c.dampening * effective_step_size(W_KQ, W_PV, c.N)[0]),
        step_sizes=c.dampening * effective_step_size(W_KQ, W_PV, c.N),
        gammas=c.dampening * curvature_readout(W_KQ, W_PV),
        eta_star=b.eta_star, theory_loss=b.theory_loss, gd_etas=b.gd_etas, gd_loss=gd_loss,
        alignment={k: v[-1] for k, v in hist.items()},
        alignment_history={k: np.array(v) for k, v in hist.items()},
        W_KQ=W_KQ, W_PV=W_PV,
        interpolation_loss=interp[-1] if interp else None,
        interpolation_losses=np.array(interp) if interp else None,
        **gdpp)


def train_lsa(*, d: int = 10, N: int = 10, law="uniform(1/2)", layers: int = 1, recurrent: bool = True,
              steps: int | None = None, batch: int = 2048, lr: float | None = None, seed: int = 0,
              heads: int = 1, softmax: bool = False, key_size: int | None = None,
              init_scale: float | None = None, grad_clip: float | None = None,
              clip_tokens: float | None | str = "auto", dampening: float = 1.0,
              eval_tasks: int = 10000, eval_seed: int = 5, log_every: int = 100,
              gdpp_fit_tasks: int = 20000, device="cpu", dtype=torch.float32,
              prefetch: bool | None = None, max_threads: int | None = None, cycle_data: int = 0) -> LSAResult:
    """Train the LSA transformer of von Oswald et al. 2023 on linear regression; compare with GD.

    Task: w ~ N(0, I_d), x_i, x_q i.i.d. from ``law`` (the code's U(-1/2, 1/2)^d by default;
    the paper writes U(-1, 1): notes §0), y = w.x; tokens (x_i, y_i) and (x_q, 0); loss
    1/2 (y_hat - y_q)^2 with y_hat = minus the query's y-slot after K = ``layers`` layers.
    Fresh tasks every step; every ``log_every`` steps the model is evaluated (float64) on
    ``eval_tasks`` fixed tasks drawn by ``numerics.lsa.sample_tasks`` with ``eval_seed``.

    The one-layer target (§7.2 of the notes; Proposition 1 plus the optimality of one GD step):
    loss -> L* = one_step_loss(eta*), eta* = optimal_step_size (0.2062 and 6.06 at d = N = 10),
    model cos -> 1, effective step size -> eta*.

    Parameters
    ----------
    d, N : input dimension and context length (paper: 10, 10).
    law : input law or its spelling (``"uniform(1/2)"``).
    layers, recurrent : K layers; tied weights if ``recurrent`` (the code's ``deq``).
    steps : training steps; default 5000 for a recurrent (or one-layer) model, 50000 otherwise
        (the code).
    batch : tasks per step (2048).
    lr : AdamW learning rate; default 1e-3, 5e-4 for K > 3 (the code).
    seed : fixes the initialisation and the training stream (and the GD++ fit set).
    heads, softmax, key_size : H heads (1), softmax instead of linear attention, key size (D = d+1).
    init_scale : variance scale of the init; default 0.002 / K.
    grad_clip : global-norm clip; default the code's 10 if K > 2 else 0.001 (the paper says 10;
        0.001 makes every step a normalised-gradient step for shallow models).
    clip_tokens : token clip after every layer; "auto" = 10 if K > 3 else none (the code).
    dampening : lambda on every residual update (1 in training; roll-outs use 0.75).
    eval_tasks, eval_seed : size and seed of the fixed evaluation set (10^4, 5 as the code's key).
    log_every : evaluation period in steps (100).
    gdpp_fit_tasks : tasks used by ``numerics.lsa.fit_gdpp`` for the K > 1 baselines.
    device : a torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...; ``validation.args.device``).
    dtype : training precision.  Default float32: about twice as fast here, and the claims
        checked on trained models (loss within 3 %, cos >= 0.99, eta within 5 %) are six orders
        of magnitude above float32 round-off.  Evaluation, read-outs and alignment are always
        float64 (the float32 weights are cast).
    prefetch : draw the next batches in a second thread (default: on the CPU).
    max_threads : run with at most this many torch intra-op threads (restored afterwards);
        ``None`` leaves torch's setting alone.
    cycle_data : the code's ``cycle_data`` (constructed_token_setup.ipynb, cell 8): 0 (default) draws
        fresh tasks every step; k > 0 trains on k batches of ``batch`` tasks drawn once and cycled;
        k = 1 is full-batch training on one fixed set of ``batch`` tasks (Fig 16).  The evaluation
        tasks are always fresh (a test loss).

    Returns
    -------
    LSAResult
        The training run's losses and final weights (:func:`validation.lsa.loop.train_weights`) with
        its baselines (:func:`validation.lsa.baselines.fit_baselines`) and the comparisons of
        :func:`compare_training`.

    Examples
    --------
    >>> r = train_lsa(steps=2, batch=8, eval_tasks=16, log_every=1)
    >>> r.losses.shape, round(r.eta_star, 4)
    ((3,), 6.0606)
    """
    config = LSAConfig.parse(d=d, N=N, law=law, layers=layers, recurrent=recurrent, steps=steps, batch=batch,
                             lr=lr, seed=seed, heads=heads, softmax=softmax, key_size=key_size,
                             init_scale=init_scale, grad_clip=grad_clip, clip_tokens=clip_tokens,
                             dampening=dampening, eval_tasks=eval_tasks, eval_seed=eval_seed,
                             log_every=log_every, gdpp_fit_tasks=gdpp_fit_tasks, device=device, dtype=dtype,
                             prefetch=prefetch, max_threads=max_threads, cycle_data=cycle_data)
    with limit_threads(config.max_threads):
        started = time.perf_counter()
        baselines = fit_baselines(config)
        evaluator = evaluation_set(config)
        training = train_weights(config, evaluator)
        fields = compare_training(config, baselines, evaluator, training)
        return LSAResult(
            config=config.as_dict(), steps=training.steps, losses=training.losses,
            train_losses=training.train_losses, final_loss=float(training.losses[-1]),
            final_loss_se=float(training.loss_se[-1]), **fields,
            wall_time=time.perf_counter() - started,
            steps_per_second=config.steps / training.train_time if training.train_time > 0 else float("inf"),
            extras=dict(train_wall_s=training.train_time, train_cpu_s=training.train_cpu,
                        threads=torch.get_num_threads(), prefetch=config.prefetch))
