"""The gradient lemma of Nichani, Damian, Lee 2024 (reconstructed: the paper states that the gradient
encodes the chi-square information; its exact form here is our derivation, notes Section 4.2) on the torch model: the reduced model's first-step
gradient of A1 at A1 = 0, A2 = beta0 I, by autograd on fresh sequences, with the first-order formula
on the same sequences (notes Section 4.2; numerics.causal.first_order_gradient is the numpy route).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

import numerics.causal as nc
from numerics.seeds import child_seed
from theory.args import integer, positive
from theory.args import seed as check_seed
from validation.args import device as check_device
from validation.causal.models import ReducedModel, smoothed_loss
from validation.causal.sampling import sample_tree_task
from validation.causal.tasks import GRADIENT_KEY, parse_graph

__all__ = ["GradientResult", "first_step_gradient"]


@dataclass(frozen=True)
class GradientResult:
    """The first-step gradient of the reduced model at A1 = 0, A2 = beta0 I.

    ``gradient[i, j] = -(T (i+1) S / beta0) dL/dA1_ij`` by autograd (0-based row i sees i + 1
    positions; T x T, the query row last, zero above the diagonal), averaged over
    ``n_sequences`` fresh sequences, with its Monte-Carlo standard error ``se`` (from the spread
    of per-batch gradients). ``formula`` is the exact first-order expression on the same
    sequences, S E[(pi(s_i|s_T)/f_hat(s_i) - P_present) d_ij] with P_present = sum of
    pi(y | s_T) over the tokens y present in the sequence (the beta0 -> 0, eps -> 0 limit of the
    autograd value; see notes Section 4.2, whose "- 1" equals P_present when every token occurs).
    """

    parents: tuple
    S: int
    T: int
    alpha: float
    beta0: float
    gradient: np.ndarray
    se: np.ndarray
    formula: np.ndarray
    n_sequences: int



def first_step_gradient(*, parents, S: int = 3, alpha: float = 1.0, beta0: float = 1e-4,
                        n_sequences: int = 2**18, batch: int = 2**13, epsilon: float = 1e-12, seed: int = 0,
                        device="cpu", pi=None) -> GradientResult:
    """The reduced model's gradient at A1 = 0, A2 = beta0 I by autograd on fresh sequences.

    Returns -(T (i+1) S / beta0) dL/dA1_ij (notes Section 4.2): as beta0 -> 0 and T -> infinity it
    tends to I~_{j,i} - (1/(i+1)) sum_{k<=i} I~_{k,i} (``numerics.causal.predicted_gradient``), the
    chi-square information structure whose row-wise argmax is the parent. The loss is the
    epsilon-smoothed log loss with a tiny ``epsilon`` (its gradient is then the eps -> 0 limit:
    labels absent from the sequence carry no gradient). ``pi`` (S x S) fixes the transition matrix.
    """
    task = parse_graph(parents)
    if task.kind != "tree":
        raise ValueError("parents must be a single-parent graph for the gradient lemma")
    graph, T = task.graph, task.T
    S, alpha = nc.check_S(S), nc.check_alpha(alpha)
    beta0 = positive(beta0, "beta0")
    epsilon = nc.check_epsilon(epsilon)
    batch = integer(batch, "batch", minimum=1)
    n_batches = max(2, -(-integer(n_sequences, "n_sequences", minimum=1) // batch))
    device = check_device(device)
    gen = torch.Generator(device=device).manual_seed(child_seed(check_seed(seed), GRADIENT_KEY))
    pi_t = None if pi is None else torch.as_tensor(np.asarray(pi, dtype=np.float64))
    model = ReducedModel(T, S, beta0=beta0, device=device)
    scale = torch.tensor([-(T * (i + 1) * S) / beta0 for i in range(T)], dtype=torch.float64,
                         device=device)[:, None]
    lower = torch.ones(T, T, dtype=torch.bool, device=device).tril()
    grads, formulas = [], []
    for _ in range(n_batches):
        tokens, y = sample_tree_task(graph, S, alpha, batch, generator=gen, device=device, pi=pi_t)
        loss = smoothed_loss(model(tokens), y, epsilon)
        (g,) = torch.autograd.grad(loss, [model.A1])
        grads.append((scale * g).masked_fill(~lower, 0.0))
        # the first-order expression on the same sequences
        X = torch.nn.functional.one_hot(tokens, S).to(torch.float64)  # (B, T, S)
        f_hat = X.mean(1)  # (B, S)
        p = torch.gather(y, 1, tokens)  # (B, T): pi(s_i | s_T)
        present = (y * (f_hat > 0)).sum(-1, keepdim=True)  # (B, 1)
        c = p / torch.gather(f_hat, 1, tokens) - present  # (B, T)
        m = (tokens == tokens[:, -1:]).to(torch.float64)  # (B, T)
        running = m.cumsum(1) / torch.arange(1, T + 1, device=device)  # (B, T)
        d = m[:, None, :] - running[:, :, None]  # (B, T, T): d_ij
        formulas.append((S * (c[:, :, None] * d).mean(0)).masked_fill(~lower, 0.0))
    G = torch.stack(grads).cpu().numpy()
    F = torch.stack(formulas).cpu().numpy()
    return GradientResult(parents=graph, S=S, T=T, alpha=alpha, beta0=beta0, gradient=G.mean(0),
                          se=G.std(0, ddof=1) / math.sqrt(len(G)), formula=F.mean(0),
                          n_sequences=n_batches * batch)
