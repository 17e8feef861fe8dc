"""Training the general transformer blocks of :mod:`validation.lsa.blocks` and comparing them with GD / GD++.

:func:`train_blocks` is a run-store trainer (keyword arguments only, a picklable :class:`BlocksResult`):
the regression tasks, optimiser, clipping and evaluation of :func:`validation.lsa.train_lsa` (notes §3.2:
AdamW b1 0.9, b2 0.98, eps 1e-8, no weight decay, after a global-norm gradient clip; 1/2-MSE; lr 1e-3, or
5e-4 for K > 3; clip 10 if K > 2 else 0.001; token clip 10 for K > 3; init variance scale 0.002 / K), for
the architectures the LSA trainer does not build: LayerNorm before attention, GELU MLP blocks, several
heads in deep untied stacks.  Two data regimes: fresh tasks every step (the default), or one fixed
training set of ``train_tasks`` tasks used whole at every step (full batch: the grokking run of Fig 15,
von Oswald et al. 2023 A.11).

Every ``log_every`` steps the model is evaluated in float64 on the fixed evaluation tasks of
:func:`validation.lsa.evaluation_set` (``eval_tasks`` tasks from ``eval_seed``): its 1/2-loss and SE, and the
code's alignment metrics (preds diff, model cos, model diff) against K-step GD and K-step GD++
(:func:`validation.lsa.fit_baselines`, tied as the model is; for K = 1 GD at eta* and no GD++, which equals
GD there).  A killed run resumes from its checkpoint (:mod:`validation.checkpoint`) bit-equal.
Seeds: init ``child_seed(seed, 1)``, data ``child_seed(seed, 2)`` (as :mod:`validation.lsa.loop`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from numerics.seeds import child_seed
from theory.args import integer
from validation.checkpoint import checkpoint
from validation.lsa.baselines import construction_pair, fit_baselines
from validation.lsa.blocks import BlockSpec, BlockTransformer, block_pred_and_grad, block_predict
from validation.lsa.config import OPTIMIZER, LSAConfig
from validation.lsa.evaluation import alignment_metrics
from validation.lsa.sampler import TaskSampler
from validation.lsa.trainer import evaluation_set
from validation.threads import limit_threads

__all__ = ["BlocksResult", "train_blocks"]

INIT_KEY, DATA_KEY = 1, 2  # as validation.lsa.loop


@dataclass(frozen=True, eq=False)
class BlocksResult:
    """Outcome of :func:`train_blocks` (numpy float64; losses are 1/2-MSE on the evaluation tasks)."""

    config: dict
    spec: dict                          # BlockSpec.as_dict()
    steps: np.ndarray                   # (n_log,)
    losses: np.ndarray                  # (n_log,) eval loss
    loss_se: np.ndarray                 # (n_log,) its SE over the eval tasks
    train_losses: np.ndarray            # (n_log,) loss of that step's batch (the fixed set when train_tasks)
    final_loss: float
    final_loss_se: float
    theta: np.ndarray                   # final flat parameters (validation.lsa.blocks.unpack)
    gd_etas: np.ndarray                 # (K,) K-step GD (eta* for K = 1)
    gd_loss: float                      # on the eval tasks
    alignment_history: dict             # preds_diff, model_cos, model_diff vs GD, one entry per log step
    gdpp_etas: np.ndarray | None = None
    gdpp_gammas: np.ndarray | None = None
    gdpp_loss: float | None = None
    alignment_gdpp_history: dict | None = None
    eta_star: float = 0.0
    theory_loss: float = 0.0
    wall_time: float = 0.0
    extras: dict = field(default_factory=dict)

    def block_spec(self) -> BlockSpec:
        return BlockSpec(**self.spec)

    def predict(self, X, y, x_q) -> np.ndarray:
        """Predictions (n,) of the trained model on numpy tasks, float64."""
        return block_predict(self.block_spec(), self.theta, X, y, x_q)


def _step(model, opt, max_norm, E, y_q) -> torch.Tensor:
    loss = 0.5 * ((model(E) - y_q) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    g = model.theta.grad
    g.mul_(max_norm / torch.maximum(g.norm(), max_norm))  # optax.clip_by_global_norm
    opt.step()
    return loss.detach()


def train_blocks(*, d: int = 10, N: int = 10, law="uniform(1/2)", layers: int = 1, recurrent: bool = True,
                 heads: int = 1, softmax: bool = False, layernorm: bool = False, mlp: bool = False,
                 steps: int = 5000, batch: int = 2048, train_tasks: int | None = None, lr: float | None = None,
                 seed: int = 0, init_scale: float | None = None, grad_clip: float | None = None,
                 clip_tokens: float | None | str = "auto", eval_tasks: int = 10000, eval_seed: int = 5,
                 log_every: int = 100, gdpp_fit_tasks: int = 20000, dtype=torch.float32,
                 max_threads: int | None = None) -> BlocksResult:
    """Train a :class:`validation.lsa.blocks.BlockTransformer` on linear regression; compare with GD / GD++.

    Tasks as :func:`validation.lsa.train_lsa` (w ~ N(0, I_d), x ~ ``law``, y = w.x, tokens (x_i, y_i) and
    (x_q, 0)).  ``train_tasks``: if given, one fixed set of that many tasks (drawn once from the data
    seed) is the whole batch at every step and ``batch`` is ignored; else ``batch`` fresh tasks per step.
    Other parameters as :func:`validation.lsa.train_lsa`; ``layernorm`` / ``mlp`` as
    :class:`validation.lsa.blocks.BlockSpec`.

    Examples
    --------
    >>> r = train_blocks(layers=2, recurrent=True, mlp=True, layernorm=True, steps=2, batch=8, eval_tasks=16,
    ...                  log_every=1, gdpp_fit_tasks=64)
    >>> r.losses.shape, r.alignment_gdpp_history["model_cos"].shape
    ((3,), (3,))
    """
    c = LSAConfig.parse(d=d, N=N, law=law, layers=layers, recurrent=recurrent, steps=steps, batch=batch, lr=lr,
                        seed=seed, heads=heads, softmax=softmax, key_size=None, init_scale=init_scale,
                        grad_clip=grad_clip, clip_tokens=clip_tokens, dampening=1.0, eval_tasks=eval_tasks,
                        eval_seed=eval_seed, log_every=log_every, gdpp_fit_tasks=gdpp_fit_tasks, device="cpu",
                        dtype=dtype, prefetch=False, max_threads=max_threads)
    if train_tasks is not None:
        train_tasks = integer(train_tasks, "train_tasks", minimum=1)
    spec = BlockSpec.of(d=c.d, layers=c.layers, recurrent=c.recurrent, heads=c.heads, softmax=c.softmax,
                        layernorm=layernorm, mlp=mlp, clip=c.clip_tokens)
    with limit_threads(c.max_threads):
        started = time.perf_counter()
        base = fit_baselines(c)
        ev = evaluation_set(c)
        refs = {"gd": construction_pair(c, base.gd_etas)}
        if base.gdpp_etas is not None:
            refs["gdpp"] = construction_pair(c, base.gdpp_etas, base.gdpp_gammas)
        ref_pg = {k: ev.pred_and_grad(*w, baseline=True) for k, w in refs.items()}
        ref_loss = {k: ev.loss(*w, baseline=True)[0] for k, w in refs.items()}
        training = _train(c, spec, train_tasks, ev, ref_pg)
        extras = dict(train_wall_s=training["train_time"], threads=torch.get_num_threads())
        config = dict(c.as_dict(), layernorm=bool(layernorm), mlp=bool(mlp), train_tasks=train_tasks,
                      optimizer=OPTIMIZER, architecture=spec.as_dict())
        hist = {k: {m: np.array(v) for m, v in h.items()} for k, h in training["align"].items()}
        return BlocksResult(
            config=config, spec=spec.as_dict(), steps=np.array(training["steps"]),
            losses=np.array(training["losses"]), loss_se=np.array(training["se"]),
            train_losses=np.array(training["train"]), final_loss=float(training["losses"][-1]),
            final_loss_se=float(training["se"][-1]), theta=training["theta"], gd_etas=base.gd_etas,
            gd_loss=ref_loss["gd"], alignment_history=hist["gd"], gdpp_etas=base.gdpp_etas,
            gdpp_gammas=base.gdpp_gammas, gdpp_loss=ref_loss.get("gdpp"), alignment_gdpp_history=hist.get("gdpp"),
            eta_star=base.eta_star, theory_loss=base.theory_loss, wall_time=time.perf_counter() - started,
            extras=extras)


def _train(c: LSAConfig, spec: BlockSpec, train_tasks, ev, ref_pg) -> dict:
    """The loop: AdamW on clipped gradients, evaluation and alignment every ``log_every`` steps, checkpoints."""
    dtype = c.dtype
    model = BlockTransformer(spec, init_scale=c.init_scale,
                             generator=torch.Generator().manual_seed(child_seed(c.seed, INIT_KEY)), dtype=dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.0,
                            foreach=False)
    max_norm = torch.tensor(c.grad_clip, dtype=dtype)
    sampler = TaskSampler(c.d, c.N, c.law, dtype=dtype)
    data_gen = torch.Generator().manual_seed(child_seed(c.seed, DATA_KEY))
    fixed = sampler(train_tasks, data_gen) if train_tasks is not None else None  # drawn once, first
    log = {"steps": [], "losses": [], "se": [], "train": [], "align": {k: {} for k in ref_pg}}

    def evaluate(step: int, train_loss: float):
        theta = model.theta.detach().to(torch.float64)
        pred, grad = block_pred_and_grad(spec, theta, ev.X, ev.y, ev.x_q)
        per = 0.5 * (pred - ev.y_q) ** 2
        log["steps"].append(step)
        log["losses"].append(float(per.mean()))
        log["se"].append(float(per.std() / np.sqrt(per.numel())))
        log["train"].append(train_loss)
        for k, ref in ref_pg.items():
            for m, v in alignment_metrics(pred, grad, *ref).items():
                log["align"][k].setdefault(m, []).append(v)

    ckpt, start = checkpoint(), 0
    state = ckpt.resume(theta=model.theta, opt=opt, generator=data_gen)
    if state is None:
        evaluate(0, float("nan"))
    else:
        log, start = state["log"], state["step"]
    t0, train_time = time.perf_counter(), 0.0
    for step in range(start + 1, c.steps + 1):
        loss = _step(model, opt, max_norm, *(fixed if fixed is not None else sampler(c.batch, data_gen)))
        if step % c.log_every == 0 or step == c.steps:
            train_time += time.perf_counter() - t0
            evaluate(step, float(loss))
            if step < c.steps and ckpt.due():
                ckpt.save_training(step, theta=model.theta, opt=opt, generator=data_gen, log=log)
            t0 = time.perf_counter()
    train_time += time.perf_counter() - t0
    return dict(log, theta=model.theta.detach().to(torch.float64).numpy().copy(), train_time=train_time)
