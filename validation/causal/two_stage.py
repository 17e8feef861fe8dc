"""Algorithm 1 of Nichani, Damian, Lee 2024 (reconstructed): layer-wise gradient descent on the reduced model.

Source: reconstructed. The paper's Algorithm 1 was not read; its structure (A1 then A2, from
A2(0) = beta0 I) and its constants are our reconstruction (notes Section 3.1, [uncertain]); the
authors' code has no reduced model and no layer-wise training.

Training draws fresh sequences every step with the torch sampler; the test set and the baselines
come from :mod:`validation.causal.tasks` (the numpy sampler). ``seed`` fixes everything: the same
seed gives the same numbers on a device.
"""
from __future__ import annotations

import time

import numpy as np
import torch

import numerics.causal as nc
from numerics.seeds import child_seed
from theory.args import integer, positive
from theory.args import seed as check_seed
from validation.args import device as check_device
from validation.args import dtype as check_dtype
from validation.causal.models import ReducedModel, causal_softmax, smoothed_loss
from validation.causal.results import CausalResult, parent_attention
from validation.causal.tasks import TRAIN_KEY, baseline_losses, draw_batch, log_steps, make_test_set, parse_graph

__all__ = ["train_two_stage"]


def train_two_stage(*, parents, S: int = 5, alpha: float = 1.0, seed: int = 0, beta0: float = 1.0,
                    eta1: float = 2000.0, steps1: int = 300, eta2: float = 20.0, steps2: int = 600,
                    batch: int = 4096, epsilon: float = 1e-3, test_size: int = 2**14, n_log: int = 30,
                    train_query_row: bool = False, device="cpu", dtype=torch.float64) -> CausalResult:
    """Algorithm 1 of Nichani, Damian, Lee 2024, reconstructed (layer-wise gradient descent on the reduced model).

    A1(0) = 0 (T x T), A2(0) = beta0 I_S. Stage 1: ``steps1`` steps of gradient descent with step
    ``eta1`` on A1 with A2 frozen; stage 2: ``steps2`` steps with step ``eta2`` on A2 with A1 frozen.
    Each step uses ``batch`` fresh sequences (stochastic estimate of the population gradient the
    theorem uses). The loss is -sum_s' pi(s'|s_T) log(f(X)_s' + epsilon): the reduced model's
    output can put mass 0 on a possible label (notes Section 2.2), hence the smoothing.

    The main theorem (reconstructed): row i of softmax(A1) concentrates on the parent p(i) (the argmax of the
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
    task = parse_graph(parents)
    if task.kind != "tree":
        raise ValueError("parents must be a single-parent graph for Algorithm 1 (the theorem's setting)")
    graph, n, T = task.graph, task.n, task.T
    S, alpha = nc.check_S(S), nc.check_alpha(alpha)
    epsilon = nc.check_epsilon(epsilon)
    beta0, eta1, eta2 = positive(beta0, "beta0"), positive(eta1, "eta1"), positive(eta2, "eta2")
    steps1 = integer(steps1, "steps1", minimum=0)
    steps2 = integer(steps2, "steps2", minimum=0)
    batch = integer(batch, "batch", minimum=1)
    test_size = integer(test_size, "test_size", minimum=2)
    seed, device, dtype = check_seed(seed), check_device(device), check_dtype(dtype)
    started = time.perf_counter()
    gen = torch.Generator(device=device).manual_seed(child_seed(seed, TRAIN_KEY))
    test = make_test_set(task, S, alpha, test_size, seed, device)
    model = ReducedModel(T, S, beta0=beta0, dtype=dtype, device=device)

    def log_probs(tokens):
        return torch.log(model(tokens).to(torch.float64) + epsilon)

    total = steps1 + steps2
    logged = log_steps(max(total, 1), n_log)
    steps_log, losses = [], []
    for t in range(total):
        if t in logged:
            steps_log.append(t)
            losses.append(test.loss(log_probs)[0])
        param, eta = (model.A1, eta1) if t < steps1 else (model.A2, eta2)
        tokens, y = draw_batch(task, S, alpha, batch, generator=gen, device=device, dtype=dtype)
        loss = smoothed_loss(model(tokens), y, epsilon)
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
    baselines = baseline_losses(test)
    A1, A2 = model.A1.detach().cpu().numpy().copy(), model.A2.detach().cpu().numpy().copy()
    return CausalResult(
        model="reduced", parents=graph, S=S, T=T, alpha=alpha, attention=attention,
        parent_attention=parent_attention("tree", graph, attention), steps=np.array(steps_log),
        losses=np.array(losses), final_loss=final, final_loss_se=final_se, bayes_loss=baselines.bayes.mean,
        bayes_loss_authors=baselines.bayes_authors, one_parent_loss=None, oracle_loss=nc.oracle_loss(S, alpha),
        A1=A1, A2=A2, W=None, params={"A1": A1.copy(), "A2": A2.copy()},
        heads=(1, 1), wall_time=wall, steps_per_second=total / wall if wall > 0 else 0.0,
        config=dict(beta0=beta0, eta1=eta1, steps1=steps1, eta2=eta2, steps2=steps2, batch=batch,
                    epsilon=epsilon, test_size=test_size, seed=seed, device=str(device)),
    )
