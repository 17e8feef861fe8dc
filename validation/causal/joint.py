"""Nichani, Damian, Lee 2024 trained jointly, as in the authors' experiments: the disentangled
transformer (Figures 2, 5, 6, 7, 9) and the standard transformer with MLPs (Figure 8).

Both take keyword-only arguments with the authors' defaults, draw fresh sequences every step with the
torch sampler, score a numpy test set (:mod:`validation.causal.tasks`) along the way, and return a
:class:`~validation.causal.results.CausalResult`. ``seed`` fixes everything: the same seed gives the
same numbers on a device.
"""
from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from typing import NamedTuple

import numpy as np
import torch

import numerics.causal as nc
from numerics.seeds import child_seed
from theory.args import choice, integer, nonnegative, positive
from theory.args import seed as check_seed
from validation.args import device as check_device
from validation.args import dtype as check_dtype
from validation.causal.models import DisentangledTransformer, StandardTransformer
from validation.causal.results import CausalResult, parent_attention
from validation.causal.tasks import (
    INIT_KEY,
    TRAIN_KEY,
    TaskGraph,
    TestSet,
    baseline_losses,
    draw_batch,
    log_steps,
    make_test_set,
    parse_graph,
)
from validation.checkpoint import checkpoint
from validation.prefetch import prefetched
from validation.threads import limit_threads

__all__ = ["train_disentangled", "train_standard"]


def _check_heads(heads) -> tuple[int, ...]:
    try:
        heads = tuple(int(m) for m in heads)
    except TypeError:
        raise ValueError(f"heads must be a tuple of ints >= 1 (heads per layer), got {heads!r}") from None
    if not heads or any(m < 1 for m in heads):
        raise ValueError(f"heads must be a non-empty tuple of ints >= 1 (heads per layer), got {heads!r}")
    return heads


class _Run(NamedTuple):
    """What the joint training loop measured."""

    test: TestSet
    steps: np.ndarray
    losses: np.ndarray
    final: float
    final_se: float
    wall: float


def _train_joint(model, task: TaskGraph, S: int, alpha: float, *, steps: int, batch: int, lr: float,
                 optimizer: str, schedule: str, weight_decay: float, test: TestSet, n_log: int, device, dtype,
                 gen: torch.Generator) -> _Run:
    """Train ``model`` in place on fresh batches (arguments checked by the trainer calling this), on one
    torch thread: float32 training here is bit-reproducible on one thread but not always on two, and
    no faster on two (:mod:`validation.threads`)."""
    with limit_threads(1):
        return _train_loop(model, task, S, alpha, steps=steps, batch=batch, lr=lr, optimizer=optimizer,
                           schedule=schedule, weight_decay=weight_decay, test=test, n_log=n_log, device=device,
                           dtype=dtype, gen=gen)


def _train_loop(model, task: TaskGraph, S: int, alpha: float, *, steps: int, batch: int, lr: float,
                optimizer: str, schedule: str, weight_decay: float, test: TestSet, n_log: int, device, dtype,
                gen: torch.Generator) -> _Run:
    params = list(model.parameters())
    if optimizer == "sgd":  # the authors' plain SGD; weight decay added to the gradient as in their step_fn
        opt = torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=weight_decay)
    else:  # optax.adamw defaults: b1 0.9, b2 0.999, eps 1e-8, decoupled decay scaled by the rate
        opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    if schedule == "cosine":  # optax.cosine_decay_schedule(lr, steps): lr * (1 + cos(pi t / steps)) / 2
        def factor(t):
            return 0.5 * (1.0 + math.cos(math.pi * min(t, steps) / steps))
    else:
        def factor(t):
            return 1.0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)

    log_probs = model.log_probs
    logged = log_steps(max(steps, 1), n_log)
    steps_log, losses, start = [], [], 0
    ckpt = checkpoint()  # a killed run resumes from its last checkpoint (validation.checkpoint)
    state = ckpt.resume(model=model, opt=opt, sched=sched, generator=gen)
    if state is not None:
        steps_log, losses, start = state["steps_log"], state["losses"], state["step"]
    started = time.perf_counter()
    # a producer thread draws the batches ahead, the same stream (validation.prefetch); a checkpoint at
    # step t saves the generator's state after batch t - 1, not the producer's. It pays only where a core
    # is free: a run on the CPU in the main thread (S = 10, T = 20, batch 1024: 1.65x), not one of
    # run_many's threads or a cluster worker's task, where the other runs hold the cores and the extra
    # thread only contends for the GIL (two Fig 9 quick runs side by side: 23 % slower with it)
    ahead = torch.device(device).type == "cpu" and threading.current_thread() is threading.main_thread()
    drawn = gen.get_state()
    draw = functools.partial(draw_batch, task, S, alpha, batch, generator=gen, device=device, dtype=dtype)
    with contextlib.closing(prefetched(draw, steps - start, gen, ahead, name="causal-batch-sampler")) as batches:
        for t, ((tokens, y), after) in zip(range(start, steps), batches):
            if t > start and ckpt.due():
                ckpt.save_training(t, model=model, opt=opt, sched=sched, generator=drawn, steps_log=steps_log,
                                   losses=losses)
            if t in logged:
                steps_log.append(t)
                losses.append(test.loss(log_probs)[0])
            loss = -(y * log_probs(tokens)).sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            drawn = after
    wall = time.perf_counter() - started
    model.to(torch.float64)  # the final score in float64 (the module is converted in place)
    final, final_se = test.loss(model.log_probs)
    steps_log.append(steps)
    losses.append(final)
    return _Run(test, np.array(steps_log), np.array(losses), final, final_se, wall)


def _joint_result(name, task: TaskGraph, S, alpha, heads, attention, arrays, layer_keys, run: _Run,
                  config) -> CausalResult:
    """The CausalResult of a jointly trained model; ``layer_keys`` name the layer-1 and layer-2
    attention matrices in ``arrays`` (one layer: both the same). The baselines are scored here, on
    the run's test set."""
    baselines = baseline_losses(run.test)
    A1 = arrays[layer_keys[0]]
    return CausalResult(
        model=name, parents=task.graph, S=S, T=task.T, alpha=alpha, attention=attention,
        parent_attention=parent_attention(task.kind, task.graph, attention), steps=run.steps, losses=run.losses,
        final_loss=run.final, final_loss_se=run.final_se, bayes_loss=baselines.bayes.mean,
        bayes_loss_authors=baselines.bayes_authors, one_parent_loss=baselines.one_parent,
        oracle_loss=nc.oracle_loss(S, alpha), A1=A1, A2=arrays.get(layer_keys[1], A1), W=arrays["W"],
        params=arrays, heads=heads, wall_time=run.wall,
        steps_per_second=int(config["steps"]) / run.wall if run.wall > 0 else 0.0, config=config)


def train_disentangled(*, parents, S: int = 10, alpha: float = 0.1, heads=(1, 1), steps: int = 2**17,
                       batch: int = 1024, lr: float | None = None, seed: int = 0, optimizer: str | None = None,
                       schedule: str = "cosine", weight_decay: float | None = None,
                       init_std: float | None = None, test_size: int = 2**16, n_log: int = 128,
                       device="cpu", dtype=torch.float32) -> CausalResult:
    """Train the disentangled transformer jointly, as in the authors' experiments.

    Model (Nichani et al. 2024, Section 2; the authors' ``CatFormer``): h^(0)_i = [e_{s_i}; e_i],
    h^(l) = [h^(l-1), attn(h^(l-1); A^(l,1)), ...], attn(h; A) = S(h A h^T) h, output
    softmax(W^T h^(L)_T); loss -sum_s' pi(s'|s_T) log f(X)_s' on fresh sequences every step.

    Defaults follow the authors: one head per layer -> plain SGD, lr 1, cosine decay to 0, zero
    initialisation, weight decay 0 (``single_parent.py``, Figures 2 and 6); more than one head in a
    layer -> AdamW, lr 1e-2, cosine, weight decay 1e-4, A ~ 1e-4 N(0, 1), W = 0
    (``multi_parent.ipynb``, Figures 5 and 7). ``dtype`` float32 as the authors' JAX code (the
    final test loss is scored in float64).

    Examples
    --------
    >>> r = train_disentangled(parents=(-1, 0, 1), S=3, steps=4, batch=32, test_size=64, seed=0)
    >>> r.attention.shape, r.A1.shape, r.A2.shape, r.W.shape
    ((1, 3, 3), (1, 7, 7), (1, 14, 14), (28, 3))
    """
    task = parse_graph(parents)
    S, alpha, heads = nc.check_S(S), nc.check_alpha(alpha), _check_heads(heads)
    multi = max(heads) > 1
    optimizer = choice(optimizer or ("adamw" if multi else "sgd"), "optimizer", ("sgd", "adamw"))
    lr = positive(lr if lr is not None else (1e-2 if optimizer == "adamw" else 1.0), "lr")
    weight_decay = nonnegative(weight_decay if weight_decay is not None else (1e-4 if optimizer == "adamw" else 0.0),
                               "weight_decay")
    init_std = nonnegative(init_std if init_std is not None else (1e-4 if multi else 0.0), "init_std")
    schedule = choice(schedule, "schedule", ("cosine", "constant"))
    steps, batch = integer(steps, "steps", minimum=0), integer(batch, "batch", minimum=1)
    test_size = integer(test_size, "test_size", minimum=2)
    seed, device, dtype = check_seed(seed), check_device(device), check_dtype(dtype)
    gen = torch.Generator(device=device).manual_seed(child_seed(seed, TRAIN_KEY))
    init_gen = torch.Generator().manual_seed(child_seed(seed, INIT_KEY))
    model = DisentangledTransformer(S, task.T, heads, init_std=init_std, generator=init_gen, dtype=dtype,
                                    device=device)
    test = make_test_set(task, S, alpha, test_size, seed, device)
    run = _train_joint(model, task, S, alpha, steps=steps, batch=batch, lr=lr, optimizer=optimizer,
                       schedule=schedule, weight_decay=weight_decay, test=test, n_log=n_log, device=device,
                       dtype=dtype, gen=gen)
    with torch.no_grad():
        attention = model.position_attention()[:, :task.n, :task.n].cpu().numpy()
    arrays = {f"A{k + 1}": A.detach().cpu().numpy().copy() for k, A in enumerate(model.A)}
    arrays["W"] = model.W.detach().cpu().numpy().copy()
    return _joint_result("disentangled", task, S, alpha, heads, attention, arrays, ("A1", "A2"), run,
                         config=dict(steps=steps, batch=batch, lr=lr, optimizer=optimizer, schedule=schedule,
                                     weight_decay=weight_decay, init_std=init_std, test_size=test_size, seed=seed,
                                     device=str(device), dtype=str(dtype)))


def train_standard(*, parents, S: int = 10, alpha: float = 0.1, heads=(1, 1), steps: int = 2**12,
                   batch: int = 1024, lr: float = 1e-2, seed: int = 0, weight_decay: float = 2e-4,
                   schedule: str = "cosine", test_size: int = 2**14, n_log: int = 64, device="cpu",
                   dtype=torch.float32) -> CausalResult:
    """Train the standard transformer with MLPs of Figure 8 (the authors' ``tf_with_mlp.ipynb``).

    Random trainable embeddings wte, wpe ~ N(0, 1/d), d = S + T; per layer
    x <- x + MLP(attn(x; A) V); readout softmax(x_T W); AdamW lr 1e-2 with cosine decay, weight
    decay 2e-4. ``attention`` is the layer-1 attention S(x A x^T) averaged over the test set: the
    previous-token pattern appears on the chain despite the random embeddings and the MLPs.
    """
    task = parse_graph(parents)
    S, alpha, heads = nc.check_S(S), nc.check_alpha(alpha), _check_heads(heads)
    lr, weight_decay = positive(lr, "lr"), nonnegative(weight_decay, "weight_decay")
    schedule = choice(schedule, "schedule", ("cosine", "constant"))
    steps, batch = integer(steps, "steps", minimum=0), integer(batch, "batch", minimum=1)
    test_size = integer(test_size, "test_size", minimum=2)
    seed, device, dtype = check_seed(seed), check_device(device), check_dtype(dtype)
    gen = torch.Generator(device=device).manual_seed(child_seed(seed, TRAIN_KEY))
    init_gen = torch.Generator().manual_seed(child_seed(seed, INIT_KEY))
    model = StandardTransformer(S, task.T, heads, generator=init_gen, dtype=dtype, device=device)
    test = make_test_set(task, S, alpha, test_size, seed, device)
    run = _train_joint(model, task, S, alpha, steps=steps, batch=batch, lr=lr, optimizer="adamw",
                       schedule=schedule, weight_decay=weight_decay, test=test, n_log=n_log, device=device,
                       dtype=dtype, gen=gen)
    with torch.no_grad():
        _, att = model(test.tokens, return_attention=True)  # (B, m, T, T), float64 model by now
        attention = att.mean(0)[:, :task.n, :task.n].cpu().numpy()
    arrays = {name: p.detach().cpu().numpy().copy() for name, p in model.named_parameters()}
    return _joint_result("standard", task, S, alpha, heads, attention, arrays, ("A.0", "A.1"), run,
                         config=dict(steps=steps, batch=batch, lr=lr, weight_decay=weight_decay, schedule=schedule,
                                     test_size=test_size, seed=seed, device=str(device), dtype=str(dtype)))
