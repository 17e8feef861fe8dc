"""Training the interleaved-token transformer of von Oswald et al. 2023 (Fig 5, Proposition 3).

The notebook ``normal_token_construct.ipynb`` [code]: AdamW (b1 0.9, b2 0.98, eps 1e-8, no decay; the code's
``init``), lr 1e-3, global-norm clip 10, batch 2048, 10000 steps, init scale 0.02 / 2, evaluation every 500
steps on 10^4 tasks with the copy analysis (``analyse_copy``).  The loop is
:func:`validation.lsa.sine_trainer.train_module` (checkpointed; a killed run resumes bit-equal).  Training in
float32 (as the code), evaluation and copy analysis in float64.  Seeds: init, data and evaluation streams
``numerics.seeds.child_seed(seed, 1 / 2 / 3)``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from numerics.seeds import child_seed
from theory.args import integer, positive, seed as check_seed
from validation.lsa.interleaved import InterleavedTransformer, copy_sensitivity, sample_interleaved_tasks
from validation.lsa.sine_trainer import train_module
from validation.threads import limit_threads

__all__ = ["InterleavedResult", "train_interleaved", "interleaved_eval_tasks", "interleaved_model"]


@dataclass(frozen=True, eq=False)
class InterleavedResult:
    """Outcome of :func:`train_interleaved`: eval 1/2-losses, copy sensitivities and weights at the logged steps."""

    config: dict
    steps: np.ndarray
    losses: np.ndarray
    loss_se: np.ndarray
    copy: dict               # own, next, other, rest (+ _se): arrays over the logged steps
    snapshots: list          # state dicts (numpy float64) at ``steps``
    final_loss: float
    wall_time: float
    train_time: float

    def model(self, index: int = -1) -> InterleavedTransformer:
        """The float64 model at logged step ``steps[index]``."""
        return interleaved_model(self.config, self.snapshots[index])


def interleaved_model(config: dict, state: dict | None = None) -> InterleavedTransformer:
    """A float64 :class:`InterleavedTransformer` of ``config``, loaded with ``state`` if given."""
    m = InterleavedTransformer(d=config["d"], N=config["N"], softmax_first=config["softmax_first"])
    if state is not None:
        m.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return m


def interleaved_eval_tasks(n: int, d: int, N: int, seed: int):
    """The fixed float64 evaluation tasks of a run of ``seed`` (``child_seed(seed, 3)``): tokens, y_q."""
    return sample_interleaved_tasks(n, d, N, torch.Generator().manual_seed(child_seed(seed, 3)))


def train_interleaved(*, d: int = 10, N: int = 10, steps: int = 10000, batch: int = 2048, lr: float = 1e-3,
                      grad_clip: float = 10.0, softmax_first: bool = True, seed: int = 0, eval_tasks: int = 10000,
                      copy_tasks: int = 1000, log_every: int = 500, max_threads: int | None = 1) -> InterleavedResult:
    """Train the 2-layer interleaved-token model (softmax first layer) on fresh tasks; log loss and copying.

    von Oswald et al. 2023, Fig 5 [code: ``normal_token_construct.ipynb``].  Every ``log_every`` steps: the
    1/2-loss (and its SE) on ``eval_tasks`` fixed tasks and :func:`validation.lsa.interleaved.copy_sensitivity`
    on the first ``copy_tasks`` of them.
    """
    d, N = integer(d, "d", minimum=1), integer(N, "N", minimum=1)
    steps, batch = integer(steps, "steps", minimum=1), integer(batch, "batch", minimum=1)
    eval_tasks = integer(eval_tasks, "eval_tasks", minimum=2)
    copy_tasks = integer(copy_tasks, "copy_tasks", minimum=2, maximum=eval_tasks)
    log_every = integer(log_every, "log_every", minimum=1)
    lr, grad_clip = positive(lr, "lr"), positive(grad_clip, "grad_clip")
    seed = check_seed(seed)
    config = dict(d=d, N=N, steps=steps, batch=batch, lr=lr, grad_clip=grad_clip, softmax_first=bool(softmax_first),
                  seed=seed, eval_tasks=eval_tasks, copy_tasks=copy_tasks, log_every=log_every, init_scale=0.02 / 2,
                  key_size=20, pe_size=10, optimizer="AdamW(b1=0.9, b2=0.98, eps=1e-8, wd=0)",
                  dtype="float32 (training), float64 (evaluation)")
    started = time.perf_counter()
    with limit_threads(max_threads):
        model = InterleavedTransformer(d=d, N=N, softmax_first=softmax_first, dtype=torch.float32,
                                       generator=torch.Generator().manual_seed(child_seed(seed, 1)))
        tok, y_q = interleaved_eval_tasks(eval_tasks, d, N, seed)

        def evaluate(m):
            m64 = interleaved_model(config, {k: v.detach().double() for k, v in m.state_dict().items()})
            per = 0.5 * (m64(tok) - y_q) ** 2
            with torch.enable_grad():
                extra = copy_sensitivity(m64, tok[:copy_tasks])
            extra["loss_se"] = float(per.std() / np.sqrt(per.numel()))
            return per.mean(), extra

        def draw(g):
            return sample_interleaved_tasks(batch, d, N, g, dtype=torch.float32)

        def loss_of(m, b):
            return 0.5 * ((m(b[0]) - b[1]) ** 2).mean()

        out = train_module(model, draw, loss_of, evaluate, steps=steps, lr=lr, betas=(0.9, 0.98), grad_clip=grad_clip,
                           log_every=log_every, generator=torch.Generator().manual_seed(child_seed(seed, 2)))
    extras = out["extras"]
    copy = {key: np.array([e[key] for e in extras]) for key in extras[0] if key != "loss_se"}
    return InterleavedResult(config=config, steps=out["steps"], losses=out["losses"],
                             loss_se=np.array([e["loss_se"] for e in extras]),
                             copy=copy, snapshots=out["snapshots"], final_loss=float(out["losses"][-1]),
                             wall_time=time.perf_counter() - started, train_time=out["train_time"])
