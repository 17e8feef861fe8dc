"""Population gradient descent on the factored weights of one LSA layer (derived here).

The trained layer of the authors' code holds four factors, W_Q, W_K, W_V (k x D) and the output
projection W_O (D x k), D = d + 1, merged as W_KQ = W_K^T W_Q and W_PV = W_O W_V; its optimiser is
AdamW (b1 0.9, b2 0.98, eps 1e-8, no weight decay) after clipping the gradient's global norm
(notes §3.2). :func:`population_descent` runs the same optimiser on the *population* gradient
(:func:`numerics.lsa.population_grad`, chained through the factors):

    dL/dW_Q = W_K G_KQ,   dL/dW_K = W_Q G_KQ^T,   dL/dW_V = W_O^T G_PV,   dL/dW_O = G_PV W_V^T,

with (G_KQ, G_PV) the gradient in the merged weights. From the trained run's own initial factors
this is the deterministic path that the trained run follows with sampling noise in its gradients
(Adam's second-moment estimate also sees that noise, so the noisy run's effective steps are
somewhat shorter; both end at the minimiser, where the losses must agree).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.lsa.weights import loss_and_merged_grad, population_tensors
from theory.args import ArgumentError, integer, nonnegative, positive
from theory.laws import as_law
from theory.lsa.weights import CovarianceGaussian

__all__ = ["PopulationDescent", "population_descent", "factor_gradients"]


@dataclass(frozen=True)
class PopulationDescent:
    """The path of :func:`population_descent`: ``steps`` (logged step numbers, the last = all
    steps), ``losses`` (population loss there), and the final merged weights."""

    steps: np.ndarray
    losses: np.ndarray
    W_KQ: np.ndarray
    W_PV: np.ndarray


def factor_gradients(factors, G_KQ: np.ndarray, G_PV: np.ndarray) -> list[np.ndarray]:
    """The gradient with respect to (W_Q, W_K, W_V, W_O) from the gradient (G_KQ, G_PV) with respect
    to the merged weights W_KQ = W_K^T W_Q, W_PV = W_O W_V (the chain rule of the module docstring)."""
    W_Q, W_K, W_V, W_O = factors
    return [W_K @ G_KQ, W_Q @ G_KQ.T, W_O.T @ G_PV, G_PV @ W_V.T]


def population_descent(factors, d: int, N: int, law, *, steps: int, lr: float, betas=(0.9, 0.98),
                       eps: float = 1e-8, grad_clip: float | None = None, noise_var: float = 0.0,
                       task_var: float = 1.0, log_every: int = 1) -> PopulationDescent:
    """Adam (the authors' settings by default) on the population loss from ``factors``.

    Parameters
    ----------
    factors : (W_Q, W_K, W_V, W_O) as arrays of shapes (k, D), (k, D), (k, D), (D, k), D = d + 1
        (one layer, one head: the merged weights are W_K^T W_Q and W_O W_V).
    d, N, law, noise_var, task_var : the task, as for :func:`numerics.lsa.population_loss`.
    steps : number of optimiser steps; lr : Adam's learning rate; betas, eps : Adam's constants.
    grad_clip : clip the gradient's global norm (over the four factors) to this (None: no clip).
    log_every : log the loss every this many steps (and after the last).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> factors = [0.03 * rng.standard_normal(s) for s in [(4, 4), (4, 4), (4, 4), (4, 4)]]
    >>> path = population_descent(factors, 3, 10, "gaussian(1)", steps=3000, lr=3e-3, log_every=1000)
    >>> from theory.lsa import optimal_one_step_loss
    >>> L_star = float(optimal_one_step_loss(3, 10, "gaussian(1)"))  # 3/7
    >>> bool(path.losses[0] > 3 * L_star and abs(path.losses[-1] - L_star) < 1e-4)
    True

    (Adam's constant step keeps each weight moving by O(lr) around the minimiser, so the loss
    stays O(lr^2) above it: about 1e-5 here.)
    """
    d, N = integer(d, "d", minimum=1), integer(N, "N", minimum=1)
    steps, log_every = integer(steps, "steps", minimum=0), integer(log_every, "log_every", minimum=1)
    lr, eps = positive(lr, "lr"), positive(eps, "eps")
    b1, b2 = (float(b) for b in betas)
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ArgumentError(f"betas must lie in [0, 1), got {betas}")
    if grad_clip is not None:
        grad_clip = positive(grad_clip, "grad_clip")
    law = law if isinstance(law, CovarianceGaussian) else as_law(law)
    tensors = population_tensors(law, d, N, nonnegative(noise_var, "noise_var"), positive(task_var, "task_var"))
    W_Q, W_K, W_V, W_O = (np.array(f, dtype=float) for f in factors)
    D = d + 1
    k = W_Q.shape[0]
    for name, W, shape in (("W_Q", W_Q, (k, D)), ("W_K", W_K, (k, D)), ("W_V", W_V, (k, D)), ("W_O", W_O, (D, k))):
        if W.shape != shape:
            raise ArgumentError(f"factors: {name} must have shape {shape}, got {W.shape}")
    params = [W_Q, W_K, W_V, W_O]
    m = [np.zeros_like(w) for w in params]
    v = [np.zeros_like(w) for w in params]
    logged_steps, losses = [], []
    for t in range(steps + 1):
        loss, G_KQ, G_PV = loss_and_merged_grad(W_K.T @ W_Q, W_O @ W_V, d, tensors)
        if t % log_every == 0 or t == steps:
            logged_steps.append(t)
            losses.append(loss)
        if t == steps:
            break
        grads = factor_gradients(params, G_KQ, G_PV)
        if grad_clip is not None:
            norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
            scale = grad_clip / max(norm, grad_clip)
            grads = [g * scale for g in grads]
        c1, c2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
        for w, g, mi, vi in zip(params, grads, m, v):
            mi *= b1
            mi += (1 - b1) * g
            vi *= b2
            vi += (1 - b2) * g * g
            w -= lr * (mi / c1) / (np.sqrt(vi / c2) + eps)
    return PopulationDescent(steps=np.array(logged_steps), losses=np.array(losses), W_KQ=W_K.T @ W_Q,
                             W_PV=W_O @ W_V)
