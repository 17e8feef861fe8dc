"""Training the sine model of von Oswald et al. 2023 (Fig 4): the MLP + LSA transformer and the MLP + GD baseline.

:func:`train_module` is a small checkpointed loop (fresh tasks every step, global-norm clipping, Adam
or AdamW, evaluation on fixed tasks every ``log_every`` steps; a killed run resumes bit-equal through
:mod:`validation.checkpoint`), shared with the interleaved-token trainer.  :func:`train_sine` trains one
:class:`validation.lsa.sine.SineLSA` with the notebook's settings (notes §3.2, ``non_linear_regression.ipynb``
[code]): the transformer with AdamW (b1 0.9, b2 0.98, eps 1e-8, no decay), lr 1e-3, clip 100; the GD
baseline (``gd=True``) with Adam (b1 0.9, b2 0.999), lr 3e-4, clip 100 (``pre_train_gd_hps``); batch
2048 and 20000 steps each in the notebook.  Seeds: the init, data and evaluation streams are
``numerics.seeds.child_seed(seed, 1, gd)`` (the two models start independently), ``child_seed(seed, 2)``
and ``child_seed(eval_seed, 3)``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from numerics.seeds import child_seed
from theory.args import integer, positive, seed as check_seed
from validation.checkpoint import checkpoint
from validation.lsa.sine import SineLSA, sample_sine_tasks
from validation.threads import limit_threads

__all__ = ["train_module", "train_sine", "SineResult", "sine_model", "sine_eval_tasks"]


def train_module(model: torch.nn.Module, draw, loss_of, evaluate, *, steps: int, lr: float, betas, grad_clip: float,
                 log_every: int, generator: torch.Generator, weight_decay_free_adamw: bool = True) -> dict:
    """Train ``model`` for ``steps`` steps on ``draw(generator)`` batches; evaluate every ``log_every`` steps.

    ``loss_of(model, batch)`` is the training loss; ``evaluate(model)`` returns the logged eval loss, or
    (loss, dict of extra numbers), at step 0 too.  The optimiser is AdamW without weight decay
    (``weight_decay_free_adamw``; optax's adamw with wd 0) or Adam, both eps 1e-8, after optax-style
    global-norm clipping.  Inside the run store the loop checkpoints (step, model, optimiser, generator, log)
    at evaluation steps and resumes.  Returns ``steps``, ``losses`` (eval), ``extras``, ``snapshots`` (state
    dicts at the logged steps), ``train_time``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    opt_cls = torch.optim.AdamW if weight_decay_free_adamw else torch.optim.Adam
    opt = opt_cls(params, lr=lr, betas=tuple(betas), eps=1e-8, weight_decay=0.0, foreach=False)
    log = {"steps": [], "losses": [], "extras": [], "snapshots": []}

    def record(step):
        with torch.no_grad():
            value = evaluate(model)
            loss, extra = value if isinstance(value, tuple) else (value, {})
            log["steps"].append(step)
            log["losses"].append(float(loss))
            log["extras"].append(extra)
            log["snapshots"].append({k: v.detach().to(torch.float64).cpu().numpy().copy()
                                     for k, v in model.state_dict().items()})

    ckpt, start = checkpoint(), 0
    state = ckpt.resume(model=model, opt=opt, generator=generator)
    if state is None:
        record(0)
    else:
        log, start = state["log"], state["step"]
    t0, train_time = time.perf_counter(), 0.0
    for step in range(start + 1, steps + 1):
        batch = draw(generator)
        loss = loss_of(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
        scale = grad_clip / torch.maximum(norm, torch.tensor(grad_clip, dtype=norm.dtype))
        for p in params:
            p.grad.mul_(scale)  # optax.clip_by_global_norm
        opt.step()
        if step % log_every == 0 or step == steps:
            train_time += time.perf_counter() - t0
            record(step)
            if step < steps and ckpt.due():
                ckpt.save_training(step, model=model, opt=opt, generator=generator, log=log)
            t0 = time.perf_counter()
    train_time += time.perf_counter() - t0
    return dict(steps=np.array(log["steps"]), losses=np.array(log["losses"]), extras=log["extras"],
                snapshots=log["snapshots"], train_time=train_time)


@dataclass(frozen=True, eq=False)
class SineResult:
    """Outcome of :func:`train_sine`: eval 1/2-losses at the logged steps and the model's state at each."""

    config: dict
    steps: np.ndarray
    losses: np.ndarray
    snapshots: list          # state dicts (numpy float64) at ``steps``
    final_loss: float
    wall_time: float
    train_time: float

    def model(self, index: int = -1) -> SineLSA:
        """The float64 model at logged step ``steps[index]``."""
        return sine_model(self.config, self.snapshots[index])


def sine_model(config: dict, state: dict | None = None) -> SineLSA:
    """A float64 :class:`SineLSA` of ``config`` (a :class:`SineResult` config), loaded with ``state`` if given."""
    m = SineLSA(N=config["N"], gd=config["gd"], gd_lr=config["gd_lr"])
    if state is not None:
        m.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return m


def sine_eval_tasks(n: int, N: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed float64 evaluation tasks of a run of ``seed``: ``child_seed(seed, 3)``."""
    return sample_sine_tasks(n, N, torch.Generator().manual_seed(child_seed(seed, 3)))


def train_sine(*, gd: bool = False, N: int = 10, steps: int = 20000, batch: int = 2048, lr: float | None = None,
               grad_clip: float = 100.0, gd_lr: float = 0.1, seed: int = 0, eval_tasks: int = 2048,
               log_every: int = 1000, eval_seed: int | None = None, max_threads: int | None = 1) -> SineResult:
    """Train the sine notebook's MLP + LSA (``gd=False``) or its MLP + frozen-GD baseline (``gd=True``).

    von Oswald et al. 2023, Fig 4 / Prop 2 [code: ``non_linear_regression.ipynb``].  Training in float32
    (as the code), evaluation in float64 on ``eval_tasks`` fixed tasks (the code uses bs = 2048 of them)
    drawn from ``eval_seed`` (default: the run's ``seed``, ``child_seed(eval_seed, 3)``), every ``log_every``
    steps.  ``lr`` defaults to the notebook's: 1e-3 (transformer), 3e-4 (GD baseline).
    """
    gd = bool(gd)
    N, steps = integer(N, "N", minimum=1), integer(steps, "steps", minimum=1)
    batch, eval_tasks = integer(batch, "batch", minimum=1), integer(eval_tasks, "eval_tasks", minimum=2)
    log_every = integer(log_every, "log_every", minimum=1)
    lr = (3e-4 if gd else 1e-3) if lr is None else positive(lr, "lr")
    grad_clip, gd_lr, seed = positive(grad_clip, "grad_clip"), positive(gd_lr, "gd_lr"), check_seed(seed)
    eval_seed = seed if eval_seed is None else check_seed(eval_seed, "eval_seed")
    config = dict(gd=gd, N=N, steps=steps, batch=batch, lr=lr, grad_clip=grad_clip, gd_lr=gd_lr, seed=seed,
                  eval_tasks=eval_tasks, log_every=log_every, eval_seed=eval_seed,
                  optimizer="Adam(b1=0.9, b2=0.999)" if gd else "AdamW(b1=0.9, b2=0.98, eps=1e-8, wd=0)",
                  dtype="float32 (training), float64 (evaluation)")
    started = time.perf_counter()
    with limit_threads(max_threads):
        model = SineLSA(N=N, gd=gd, gd_lr=gd_lr, generator=torch.Generator().manual_seed(child_seed(seed, 1, int(gd))),
                        dtype=torch.float32)
        E_ev, yq_ev, _ = sine_eval_tasks(eval_tasks, N, eval_seed)

        def evaluate(m):
            m64 = sine_model(config, {k: v.detach().double() for k, v in m.state_dict().items()})
            return 0.5 * ((m64(E_ev) - yq_ev) ** 2).mean()

        def draw(g):
            E, y_q, _ = sample_sine_tasks(batch, N, g, dtype=torch.float32)
            return E, y_q

        def loss_of(m, b):
            return 0.5 * ((m(b[0]) - b[1]) ** 2).mean()

        out = train_module(model, draw, loss_of, evaluate, steps=steps, lr=lr,
                           betas=(0.9, 0.999) if gd else (0.9, 0.98), grad_clip=grad_clip, log_every=log_every,
                           generator=torch.Generator().manual_seed(child_seed(seed, 2)),
                           weight_decay_free_adamw=not gd)
    return SineResult(config=config, steps=out["steps"], losses=out["losses"], snapshots=out["snapshots"],
                      final_loss=float(out["losses"][-1]), wall_time=time.perf_counter() - started,
                      train_time=out["train_time"])
