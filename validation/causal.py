"""Nichani, Damian, Lee 2024 trained: Algorithm 1 on the reduced model, the jointly trained
disentangled transformer, the standard transformer of Figure 8, and the first-step gradient.

Every function takes keyword-only arguments with the paper's (or the authors' code's) defaults and
returns a frozen dataclass. Training draws fresh sequences every step with the torch sampler of
:mod:`validation.causal_models`; the test set, the Bayes-style baselines and the in-context
estimators come from :mod:`numerics.causal` (an independent numpy implementation of the task), so
a model trained on the torch sampler and scored on the numpy one also checks the two samplers
against each other. ``seed`` fixes everything: the same seed gives the same numbers on a device.

Graphs: a ``parents`` tuple (``parents[i]`` in 0..i-1, -1 for a root) is the single-parent task
(query s_T uniform, T = len(parents) + 1); a list of parent lists in the authors' ``InContextDAG``
layout (one list per token, the last entry the target's parents, T = len - 1) is the multi-parent
task of Figures 5 and 7.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

import numerics.causal as nc
from validation.causal_models import (
    DisentangledTransformer,
    ReducedModel,
    StandardTransformer,
    _smoothed_loss,
    causal_softmax,
    sample_dag_task,
    sample_tree_task,
)
from validation.causal_sampling import _TestSet, _device, _graph, _positive, _positive_int, _seed

__all__ = [
    "CausalResult",
    "GradientResult",
    "InContextResult",
    "first_step_gradient",
    "in_context_agreement",
    "predict",
    "train_disentangled",
    "train_standard",
    "train_two_stage",
]  # the last four names and two results live in validation.causal_probes


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CausalResult:
    """A trained model of Nichani et al. 2024 and what it learned.

    Attributes
    ----------
    model : "reduced", "disentangled" or "standard"
    parents : the graph (a parents tuple, or parent lists for the multi-parent task)
    S, T, alpha : vocabulary size, sequence length (query included), Dirichlet concentration
    attention : (H, n, n) layer-1 attention over the n context positions, one matrix per head:
        S(A^(1)_pos,pos), the causal softmax of the position block (the paper's heat maps;
        for the standard transformer the test-batch average of the layer-1 attention)
    parent_attention : (n,) attention of position i to its parent p(i) (head 0; NaN at roots);
        for the multi-parent task the largest over heads of the attention to each listed parent
        is in ``attention`` itself
    steps, losses : logged step indices and test losses (float64 evaluation)
    final_loss, final_loss_se : test loss after training and its standard error
    bayes_loss : the Dirichlet posterior-mean baseline done right (roots not counted), same test set
    bayes_loss_authors : the authors' estimator, bug included (single-parent task), else None
    one_parent_loss : the "one NN" baseline (multi-parent task), else None
    oracle_loss : E H(pi(. | s)) = digamma(S alpha + 1) - digamma(alpha + 1)
    A1, A2, W : learned matrices; disentangled: A1 (m1, S+T, S+T), A2 (m2, d1, d1), W (d2, S);
        reduced: A1 (T, T), A2 (S, S), W None
    params : every trained array by name (rebuilds the model, see :func:`predict`)
    heads : heads per layer
    wall_time, steps_per_second : of the training loop (test evaluations included)
    config : the arguments
    """

    model: str
    parents: tuple
    S: int
    T: int
    alpha: float
    attention: np.ndarray
    parent_attention: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    final_loss: float
    final_loss_se: float
    bayes_loss: float
    bayes_loss_authors: float | None
    one_parent_loss: float | None
    oracle_loss: float
    A1: np.ndarray
    A2: np.ndarray
    W: np.ndarray | None
    params: dict = field(repr=False)
    heads: tuple = (1, 1)
    wall_time: float = 0.0
    steps_per_second: float = 0.0
    config: dict = field(default_factory=dict, repr=False)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def _sampler(kind, graph, S, alpha, generator, device, dtype):
    if kind == "tree":
        return lambda batch: sample_tree_task(graph, S, alpha, batch, generator=generator, device=device,
                                              dtype=dtype)
    return lambda batch: sample_dag_task(graph, S, alpha, batch, generator=generator, device=device,
                                         dtype=dtype)


def _log_steps(steps: int, n_log: int) -> set:
    n_log = max(1, min(int(n_log), steps))
    return {int(round(k * steps / n_log)) for k in range(n_log)}


def _parent_attention(kind, graph, attention: np.ndarray) -> np.ndarray:
    n = attention.shape[-1]
    out = np.full(n, np.nan)
    if kind == "tree":
        for i, p in enumerate(graph):
            if p >= 0:
                out[i] = attention[0, i, p]
    else:
        for i in range(n):
            if graph[i]:
                out[i] = max(attention[h, i, p] for h in range(attention.shape[0]) for p in graph[i])
    return out


def _cosine(lr: float, steps: int):
    """optax.cosine_decay_schedule(lr, steps): lr * (1 + cos(pi t / steps)) / 2."""
    return lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, steps) / steps))


# ---------------------------------------------------------------------------------------------
# Algorithm 1 on the reduced model
# ---------------------------------------------------------------------------------------------

def train_two_stage(*, parents, S: int = 5, alpha: float = 1.0, seed: int = 0, beta0: float = 1.0,
                    eta1: float = 2000.0, steps1: int = 300, eta2: float = 20.0, steps2: int = 600,
                    batch: int = 4096, epsilon: float = 1e-3, test_size: int = 2**14, n_log: int = 30,
                    train_query_row: bool = False, device="cpu", dtype=torch.float64) -> CausalResult:
    """Algorithm 1 of Nichani, Damian, Lee 2024 (layer-wise gradient descent on the reduced model).

    A1(0) = 0 (T x T), A2(0) = beta0 I_S. Stage 1: ``steps1`` steps of gradient descent with step
    ``eta1`` on A1 with A2 frozen; stage 2: ``steps2`` steps with step ``eta2`` on A2 with A1 frozen.
    Each step uses ``batch`` fresh sequences (stochastic estimate of the population gradient the
    theorem uses). The loss is -sum_s' pi(s'|s_T) log(f(X)_s' + epsilon): the reduced model's
    output can put mass 0 on a possible label (notes Section 2.2), hence the smoothing.

    The theorem: row i of softmax(A1) concentrates on the parent p(i) (the argmax of the
    chi-square information, notes Section 4.3), A2 -> beta I (token matching), and the output
    tends to the in-context empirical conditional. Defaults are the notes' Section 7.4 run.

    The query row of A1 is not trained (``train_query_row=False``, the default). Stage 1 is meant
    to write the adjacency of G into A1 (the theorem's A1 ~ c Adj(G)). The query s_T is a fresh
    uniform token and never a child in G, so the row of Adj(G) at T is 0 and there is no graph
    information to learn there. If that row is trained anyway, its population gradient favours the
    diagonal (notes Section 7.3: +0.5 against < 0 off the diagonal), and after stage 1 the query
    attends to itself with weight 1.000. Then v_T = e_{s_T} and z_T = e_{s_T}^T A2 e_{s_T} = beta
    for every sequence, so layer 2 always counts the query as one extra "match". The output then
    tends to (counts + e_{s_T}) / (N_m + 1) rather than to pi_hat(. | s_T), whose sum runs over
    context positions with a parent only. With the row kept at 0 (uniform attention) the query's
    score is beta f_hat(s_T) < beta, and its weight against a true match vanishes like
    e^{-beta (1 - f_hat(s_T))}. ``train_query_row=True`` gives the unrestricted run for comparison.
    The shortcut does not prevent learning the graph: at S = 3, T = 32, alpha = 0.1 it gives a
    lower smoothed loss (1.07 against 1.17), but a total variation to pi_hat of 0.13 against 0.03.
    The rows of the roots are trained. The forward map is unchanged, so it stays
    theory.causal.reduced_model_output.

    Examples
    --------
    >>> r = train_two_stage(parents=(-1, 0, 1, 2), S=3, alpha=1.0, steps1=5, steps2=5, batch=64,
    ...                     test_size=256, seed=0)
    >>> r.attention.shape, r.A2.shape
    ((1, 4, 4), (3, 3))
    """
    kind, graph, n, T = _graph(parents)
    if kind != "tree":
        raise ValueError("parents must be a single-parent graph for Algorithm 1 (the theorem's setting)")
    S, alpha = nc.check_S(S), nc.check_alpha(alpha)
    epsilon = nc.check_epsilon(epsilon)
    beta0, eta1, eta2 = _positive(beta0, "beta0"), _positive(eta1, "eta1"), _positive(eta2, "eta2")
    steps1 = _positive_int(steps1, "steps1", 0)
    steps2 = _positive_int(steps2, "steps2", 0)
    batch = _positive_int(batch, "batch")
    test_size = _positive_int(test_size, "test_size", 2)
    device = _device(device)
    started = time.perf_counter()
    gen = torch.Generator(device=device).manual_seed(_seed(seed, 0))
    draw = _sampler(kind, graph, S, alpha, gen, device, dtype)
    test = _TestSet(kind, graph, S, alpha, test_size, seed, device)
    model = ReducedModel(T, S, beta0=beta0, dtype=dtype, device=device)

    def log_probs(tokens):
        return torch.log(model(tokens).to(torch.float64) + epsilon)

    total = steps1 + steps2
    logged = _log_steps(max(total, 1), n_log)
    steps_log, losses = [], []
    for t in range(total):
        if t in logged:
            steps_log.append(t)
            losses.append(test.loss(log_probs)[0])
        param, eta = (model.A1, eta1) if t < steps1 else (model.A2, eta2)
        tokens, y = draw(batch)
        loss = _smoothed_loss(model(tokens), y, epsilon)
        (grad,) = torch.autograd.grad(loss, [param])
        if t < steps1 and not train_query_row:
            grad[-1] = 0.0  # the query is no child in G: its layer-1 row stays uniform (see docstring)
        with torch.no_grad():
            param -= eta * grad
    final, final_se = test.loss(log_probs)
    steps_log.append(total)
    losses.append(final)
    wall = time.perf_counter() - started
    with torch.no_grad():
        attention = causal_softmax(model.A1)[:n, :n].cpu().numpy()[None]  # (1, n, n)
    return CausalResult(
        model="reduced", parents=graph, S=S, T=T, alpha=alpha, attention=attention,
        parent_attention=_parent_attention(kind, graph, attention), steps=np.array(steps_log),
        losses=np.array(losses), final_loss=final, final_loss_se=final_se, bayes_loss=test.bayes.mean,
        bayes_loss_authors=test.bayes_authors, one_parent_loss=None, oracle_loss=nc.oracle_loss(S, alpha),
        A1=model.A1.detach().cpu().numpy().copy(), A2=model.A2.detach().cpu().numpy().copy(), W=None,
        params={"A1": model.A1.detach().cpu().numpy().copy(), "A2": model.A2.detach().cpu().numpy().copy()},
        heads=(1, 1), wall_time=wall, steps_per_second=total / wall if wall > 0 else 0.0,
        config=dict(beta0=beta0, eta1=eta1, steps1=steps1, eta2=eta2, steps2=steps2, batch=batch,
                    epsilon=epsilon, test_size=test_size, seed=seed, device=str(device)),
    )


# ---------------------------------------------------------------------------------------------
# joint training of the full models (the authors' experiments)
# ---------------------------------------------------------------------------------------------

def _train_joint(model, kind, graph, S, alpha, *, steps, batch, lr, optimizer, schedule, weight_decay,
                 seed, test_size, n_log, device, dtype, gen):
    steps = _positive_int(steps, "steps", 0)
    batch = _positive_int(batch, "batch")
    lr = _positive(lr, "lr")
    if optimizer not in ("sgd", "adamw"):
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {optimizer!r}")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    weight_decay = float(weight_decay)
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    test = _TestSet(kind, graph, S, alpha, _positive_int(test_size, "test_size", 2), seed, device)
    draw = _sampler(kind, graph, S, alpha, gen, device, dtype)
    params = list(model.parameters())
    if optimizer == "sgd":  # the authors' plain SGD; weight decay added to the gradient as in their step_fn
        opt = torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=weight_decay)
    else:  # optax.adamw defaults: b1 0.9, b2 0.999, eps 1e-8, decoupled decay scaled by the rate
        opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    factor = _cosine(lr, steps) if schedule == "cosine" else (lambda t: 1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)

    log_probs = model.log_probs
    logged = _log_steps(max(steps, 1), n_log)
    steps_log, losses = [], []
    started = time.perf_counter()
    for t in range(steps):
        if t in logged:
            steps_log.append(t)
            losses.append(test.loss(log_probs)[0])
        tokens, y = draw(batch)
        loss = -(y * log_probs(tokens)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    wall = time.perf_counter() - started
    model.to(torch.float64)  # the final score in float64 (the module is converted in place)
    final, final_se = test.loss(model.log_probs)
    steps_log.append(steps)
    losses.append(final)
    return test, np.array(steps_log), np.array(losses), final, final_se, wall


def _check_heads(heads) -> tuple[int, ...]:
    try:
        heads = tuple(int(m) for m in heads)
    except TypeError:
        raise ValueError(f"heads must be a tuple of ints >= 1 (heads per layer), got {heads!r}") from None
    if not heads or any(m < 1 for m in heads):
        raise ValueError(f"heads must be a non-empty tuple of ints >= 1 (heads per layer), got {heads!r}")
    return heads


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
    kind, graph, n, T = _graph(parents)
    S, alpha, heads = nc.check_S(S), nc.check_alpha(alpha), _check_heads(heads)
    multi = max(heads) > 1
    optimizer = optimizer or ("adamw" if multi else "sgd")
    lr = lr if lr is not None else (1e-2 if optimizer == "adamw" else 1.0)
    weight_decay = weight_decay if weight_decay is not None else (1e-4 if optimizer == "adamw" else 0.0)
    init_std = float(init_std if init_std is not None else (1e-4 if multi else 0.0))
    if init_std < 0:
        raise ValueError(f"init_std must be >= 0, got {init_std}")
    device = _device(device)
    gen = torch.Generator(device=device).manual_seed(_seed(seed, 0))
    init_gen = torch.Generator().manual_seed(_seed(seed, 2))
    model = DisentangledTransformer(S, T, heads, init_std=init_std, generator=init_gen, dtype=dtype, device=device)
    run = _train_joint(
        model, kind, graph, S, alpha, steps=steps, batch=batch, lr=lr, optimizer=optimizer, schedule=schedule,
        weight_decay=weight_decay, seed=seed, test_size=test_size, n_log=n_log, device=device, dtype=dtype,
        gen=gen)
    with torch.no_grad():
        attention = model.position_attention()[:, :n, :n].cpu().numpy()
    arrays = {f"A{k + 1}": A.detach().cpu().numpy().copy() for k, A in enumerate(model.A)}
    arrays["W"] = model.W.detach().cpu().numpy().copy()
    return _joint_result("disentangled", kind, graph, S, T, alpha, heads, attention, arrays, ("A1", "A2"), run,
                         config=dict(steps=steps, batch=batch, lr=lr, optimizer=optimizer, schedule=schedule,
                                     weight_decay=weight_decay, init_std=init_std, test_size=test_size, seed=seed,
                                     device=str(device), dtype=str(dtype)))


def _joint_result(name, kind, graph, S, T, alpha, heads, attention, arrays, layer_keys, run, config) -> CausalResult:
    """The CausalResult of a jointly trained model: ``run`` is what :func:`_train_joint` returns,
    ``layer_keys`` name the layer-1 and layer-2 attention matrices in ``arrays`` (one layer: both the same)."""
    test, steps_log, losses, final, final_se, wall = run
    A1 = arrays[layer_keys[0]]
    return CausalResult(
        model=name, parents=graph, S=S, T=T, alpha=alpha, attention=attention,
        parent_attention=_parent_attention(kind, graph, attention), steps=steps_log, losses=losses,
        final_loss=final, final_loss_se=final_se, bayes_loss=test.bayes.mean, bayes_loss_authors=test.bayes_authors,
        one_parent_loss=test.one_parent, oracle_loss=nc.oracle_loss(S, alpha), A1=A1,
        A2=arrays.get(layer_keys[1], A1), W=arrays["W"], params=arrays, heads=heads, wall_time=wall,
        steps_per_second=int(config["steps"]) / wall if wall > 0 else 0.0, config=config)


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
    kind, graph, n, T = _graph(parents)
    S, alpha, heads = nc.check_S(S), nc.check_alpha(alpha), _check_heads(heads)
    device = _device(device)
    gen = torch.Generator(device=device).manual_seed(_seed(seed, 0))
    init_gen = torch.Generator().manual_seed(_seed(seed, 2))
    model = StandardTransformer(S, T, heads, generator=init_gen, dtype=dtype, device=device)
    run = _train_joint(
        model, kind, graph, S, alpha, steps=steps, batch=batch, lr=lr, optimizer="adamw", schedule=schedule,
        weight_decay=weight_decay, seed=seed, test_size=test_size, n_log=n_log, device=device, dtype=dtype,
        gen=gen)
    with torch.no_grad():
        _, att = model(run[0].tokens, return_attention=True)  # (B, m, T, T), float64 model by now
        attention = att.mean(0)[:, :n, :n].cpu().numpy()
    arrays = {name: p.detach().cpu().numpy().copy() for name, p in model.named_parameters()}
    return _joint_result("standard", kind, graph, S, T, alpha, heads, attention, arrays, ("A.0", "A.1"), run,
                         config=dict(steps=steps, batch=batch, lr=lr, weight_decay=weight_decay, schedule=schedule,
                                     test_size=test_size, seed=seed, device=str(device), dtype=str(dtype)))


from validation.causal_probes import (  # noqa: E402  (re-exported: the public names of this paper)
    GradientResult,
    InContextResult,
    first_step_gradient,
    in_context_agreement,
    predict,
)
