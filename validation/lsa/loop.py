"""The training loop of the LSA of von Oswald et al. 2023: fresh tasks every step, AdamW, clipped gradients.

With ``cycle_data`` = k > 0 (the code's option of that name) the loop instead cycles through k
batches drawn once (k = 1: full-batch training on one fixed set of ``batch`` tasks, Fig 16).

:func:`train_weights` builds the model of a checked :class:`validation.lsa.config.LSAConfig`,
trains it on a stream of fresh regression tasks and returns what training produced: the
evaluation loss every ``log_every`` steps (on the fixed tasks of an
:class:`validation.lsa.evaluation.Evaluator`), the merged weights logged at the same steps, and
the timing.  Baselines, alignment and read-outs are computed from these afterwards
(:mod:`validation.lsa.baselines`, :mod:`validation.lsa.evaluation`, :mod:`validation.lsa.readouts`).

Training follows the code (notes §3.2): AdamW (b1 0.9, b2 0.98, eps 1e-8, no weight decay)
after clipping the global gradient norm, 1/2-MSE loss; inside the run store the loop saves a checkpoint
at its evaluation steps every few minutes and resumes from it (:mod:`validation.checkpoint`); the init seed and the data seed are ``numerics.seeds.child_seed(seed, INIT_KEY)``
and ``child_seed(seed, DATA_KEY)`` (the project's one seed rule).
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import torch

from numerics.seeds import child_seed
from validation.checkpoint import checkpoint
from validation.lsa.config import LSAConfig
from validation.lsa.evaluation import Evaluator
from validation.lsa.models import LSA
from validation.lsa.sampler import TaskSampler
from validation.prefetch import prefetched

__all__ = ["LSATraining", "train_weights"]

#: keys of a run's torch streams under its seed: child_seed(seed, INIT_KEY) initialises the weights,
#: child_seed(seed, DATA_KEY) draws the training tasks (numerics.seeds, the one seed rule)
INIT_KEY, DATA_KEY = 1, 2


@dataclass(frozen=True, eq=False)
class LSATraining:
    """What one training run produced (losses are the paper's 1/2-MSE).

    ``weights[t]`` is the merged (W_KQ, W_PV) pair, float64 tensors of shape (L, H, D, D) on the
    run's device, at training step ``steps[t]`` (step 0: the initialisation).
    """

    steps: np.ndarray          # (n_log,) training steps at which we evaluated
    losses: np.ndarray         # (n_log,) eval 1/2-loss
    loss_se: np.ndarray        # (n_log,) its standard error over the eval tasks
    train_losses: np.ndarray   # (n_log,) 1/2-loss of that step's minibatch (nan at step 0)
    weights: tuple             # n_log pairs (W_KQ, W_PV)
    train_time: float          # wall seconds in the training steps (evaluation excluded)
    train_cpu: float           # CPU seconds of both threads in the training steps
    threads: int               # torch intra-op threads during training


def _cycled(batches: list, start: int, steps: int, generator: torch.Generator):
    """Yield the fixed ``batches`` in turn for steps start + 1 .. steps (the code's ``cycle_data``:
    step t uses batch (t - 1) mod k), each with ``generator``'s (unused, unchanged) state."""
    state = generator.get_state()
    for step in range(start + 1, steps + 1):
        yield batches[(step - 1) % len(batches)], state


def _train_step(model: LSA, opt, max_norm, E, y_q, C=None) -> None:
    """One step: 1/2-MSE, backward, optax-style global-norm clip, AdamW (no host sync)."""
    loss = 0.5 * ((model(E, C) - y_q) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    g = model.theta.grad
    g.mul_(max_norm / torch.maximum(g.norm(), max_norm))  # optax.clip_by_global_norm
    opt.step()
    model.last_loss = loss.detach()


def train_weights(config: LSAConfig, evaluator: Evaluator) -> LSATraining:
    """Train the LSA of ``config`` and log its evaluation loss and merged weights every ``log_every`` steps.

    ``evaluator`` holds the fixed evaluation tasks (built for the same layers, softmax, dampening
    and token clip as the model).  Same config -> bit-identical result on the same machine.
    """
    c = config
    dev, dtype = c.device, c.dtype
    init_seed, data_seed = child_seed(c.seed, INIT_KEY), child_seed(c.seed, DATA_KEY)
    model = LSA(d=c.d, layers=c.layers, recurrent=c.recurrent, heads=c.heads, key_size=c.key_size,
                softmax=c.softmax, init_scale=c.init_scale, dampening=c.dampening, clip=c.clip_tokens,
                generator=torch.Generator().manual_seed(init_seed), dtype=dtype, device=dev)
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.0,
                            foreach=False)
    max_norm = torch.tensor(c.grad_clip, dtype=dtype, device=dev)
    # tokens padded to a multiple of 4 channels (faster MKL products; the function is unchanged)
    # and, for linear attention, the context statistic C = sum_i e_i e_i^T drawn with the batch
    sampler = TaskSampler(c.d, c.N, c.law, dtype=dtype, device=dev, pad=(-(c.d + 1)) % 4, stats=not c.softmax)
    data_gen = torch.Generator(device=dev).manual_seed(data_seed)

    log = {"steps": [], "losses": [], "train": [], "se": [], "weights": []}

    def evaluate(step: int, train_loss: float):
        KQ, PV = (w.detach().to(torch.float64) for w in model.merged())
        loss, se = evaluator.loss(KQ, PV)
        log["steps"].append(step)
        log["losses"].append(loss)
        log["se"].append(se)
        log["train"].append(train_loss)
        log["weights"].append((KQ, PV))

    # a killed run resumes from its last checkpoint (validation.checkpoint; saved at evaluation steps)
    ckpt, start = checkpoint(), 0
    state = ckpt.resume(theta=model.theta, opt=opt, generator=data_gen)
    if state is None:
        evaluate(0, float("nan"))
    else:
        log, start = state["log"], state["step"]
    t_train, train_time = time.perf_counter(), 0.0
    cpu_start = time.process_time()  # CPU seconds of both threads (evaluation excluded below)
    eval_cpu = 0.0
    if c.cycle_data:
        # a fixed training set (the code's cycle_data): k batches drawn once from the data seed, so a
        # resumed run redraws the same set; the online stream below is untouched when cycle_data = 0
        fixed_gen = torch.Generator(device=dev).manual_seed(data_seed)
        fixed = [sampler(c.batch, fixed_gen) for _ in range(c.cycle_data)]
        stream = contextlib.closing(_cycled(fixed, start, c.steps, data_gen))
    else:
        # on the CPU a producer thread draws the tasks ahead (the same stream: validation.prefetch)
        stream = contextlib.closing(prefetched(lambda: sampler(c.batch, data_gen), c.steps - start, data_gen,
                                               c.prefetch, name="lsa-task-sampler"))
    with stream as batches:
        for step, (item, generator_state) in enumerate(batches, start=start + 1):
            _train_step(model, opt, max_norm, *item)
            if step % c.log_every == 0 or step == c.steps:
                train_time += time.perf_counter() - t_train
                c0 = time.process_time()
                evaluate(step, float(model.last_loss))
                eval_cpu += time.process_time() - c0
                if step < c.steps and ckpt.due():
                    ckpt.save_training(step, theta=model.theta, opt=opt, generator=generator_state, log=log)
                t_train = time.perf_counter()
    train_time += time.perf_counter() - t_train
    train_cpu = time.process_time() - cpu_start - eval_cpu
    return LSATraining(steps=np.array(log["steps"]), losses=np.array(log["losses"]), loss_se=np.array(log["se"]),
                       train_losses=np.array(log["train"]), weights=tuple(log["weights"]),
                       train_time=train_time, train_cpu=train_cpu, threads=torch.get_num_threads())
