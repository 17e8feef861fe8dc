"""Evaluation of LSA weights on fixed tasks (von Oswald et al. 2023; torch, float64).

:class:`Evaluator` holds a fixed evaluation set on the device and gives the 1/2-loss, the
predictions and the implicit linear models g = d y_hat / d x_q (``torch.func``) of any merged
weights.  On top of it: the alignment metrics of the authors' ``analyse`` (preds diff, model cos,
model diff) for one pair of models or along a training run's logged weights, the loss of the
code's interpolation with a construction (A.3), predictions on numpy tasks and dampened
roll-outs (A.6).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from theory.args import integer, positive
from validation.lsa.models import lsa_forward, make_tokens
from validation.lsa.readouts import interpolate_weights, layer_array

__all__ = [
    "Evaluator",
    "alignment_metrics",
    "alignment_history",
    "interpolation_losses",
    "lsa_predict",
    "lsa_rollout_losses",
]


def lsa_predict(W_KQ, W_PV, X, y, x_q, *, layers: int = 1, softmax: bool = False,
                dampening: float = 1.0, clip: float | None = None) -> np.ndarray:
    """Predictions of an LSA model with merged weights on numpy tasks, float64 on the CPU.

    X (n, N, d), y (n, N), x_q (n, d) -> (n,) = minus the query's y-slot after ``layers``
    layers (see :func:`validation.lsa.models.lsa_forward`).
    """
    KQ, PV = torch.as_tensor(layer_array(W_KQ)), torch.as_tensor(layer_array(W_PV))
    E = make_tokens(*(torch.as_tensor(np.asarray(a, dtype=float)) for a in (X, y, x_q)))
    with torch.no_grad():
        out = lsa_forward(E, KQ, PV, layers=layers, softmax=softmax, dampening=dampening, clip=clip)
    return out.numpy()


def lsa_rollout_losses(W_KQ, W_PV, X, y, x_q, y_q, *, steps: int = 50, dampening: float = 0.75,
                       y_only: bool = True) -> np.ndarray:
    """1/2-loss after 0..steps applications of one (trained or constructed) layer, dampened.

    von Oswald et al. 2023, A.6 / Fig 1 right / Fig 10: a layer trained for one step, applied
    repeatedly as e <- e + lambda * attention(e) (``y_only``: only the y-channel moves, the
    code's ``y_update``), diverges at lambda = 1 and improves steadily at lambda = 0.75.
    For the GD construction this is GD with step lambda * eta (``numerics.lsa.dampened_rollout``).

    Returns
    -------
    (steps + 1,) float64 losses, entry 0 = the zero predictor's.
    """
    steps = integer(steps, "steps", minimum=1)
    dampening = positive(dampening, "dampening")
    KQ, PV = torch.as_tensor(layer_array(W_KQ)), torch.as_tensor(layer_array(W_PV))
    if KQ.shape[0] != 1:
        raise ValueError(f"W_KQ must hold one layer for a roll-out, got {KQ.shape[0]}")
    E = make_tokens(*(torch.as_tensor(np.asarray(a, dtype=float)) for a in (X, y, x_q)))
    yq = torch.as_tensor(np.asarray(y_q, dtype=float))
    losses = [0.5 * float(((-E[:, -1, -1] - yq) ** 2).mean())]
    with torch.no_grad():
        for _ in range(steps):
            E = lsa_forward(E, KQ, PV, layers=1, dampening=dampening, y_only=y_only, return_tokens=True)
            losses.append(0.5 * float(((-E[:, -1, -1] - yq) ** 2).mean()))
    return np.array(losses)


def alignment_metrics(pred_a, grad_a, pred_b, grad_b) -> dict:
    """The code's ``analyse`` metrics between two models on the same tasks.

    preds_diff = mean_t |y_a - y_b|; model_cos = mean_t <g_a/(|g_a|+1e-8), g_b/(|g_b|+1e-8)>;
    model_diff = mean_t |g_a - g_b|, with g = d y_hat / d x_q (n, d) the implicit linear models.
    """
    na = grad_a.norm(dim=-1, keepdim=True) + 1e-8
    nb = grad_b.norm(dim=-1, keepdim=True) + 1e-8
    return {"preds_diff": float((pred_a - pred_b).abs().mean()),
            "model_cos": float(((grad_a / na) * (grad_b / nb)).sum(-1).mean()),
            "model_diff": float((grad_a - grad_b).norm(dim=-1).mean())}


class Evaluator:
    """Fixed float64 evaluation tasks (X, y, x_q, y_q, ...) on the device for merged weights of a
    model with the given ``layers``, ``softmax``, ``dampening``, ``clip``: losses, predictions and
    x_q-gradients via ``torch.func``."""

    def __init__(self, tasks, *, layers, softmax, dampening, clip, device):
        X, y, x_q, y_q = (torch.as_tensor(np.asarray(a, dtype=float), device=device) for a in tasks[:4])
        self.X, self.y, self.x_q, self.y_q = X, y, x_q, y_q
        self.kw = dict(layers=layers, softmax=softmax, dampening=dampening, clip=clip)

    def _kw(self, baseline: bool) -> dict:
        # the GD / GD++ constructions: linear attention, no token clipping (their step sizes
        # are fitted without it by numerics.lsa.fit_gdpp)
        return {**self.kw, "softmax": False, "clip": None} if baseline else self.kw

    def loss(self, KQ, PV, *, baseline: bool = False) -> tuple[float, float]:
        """Mean 1/2-loss over the tasks and its standard error."""
        kw = self._kw(baseline)
        with torch.no_grad():
            per = 0.5 * (lsa_forward(make_tokens(self.X, self.y, self.x_q), KQ, PV, **kw) - self.y_q) ** 2
        return float(per.mean()), float(per.std() / math.sqrt(per.numel()))

    def pred_and_grad(self, KQ, PV, *, baseline: bool = False):
        """Predictions (n,) and implicit models g = d y_hat / d x_q (n, d)."""
        kw = self._kw(baseline)

        def total(xq):
            pred = lsa_forward(make_tokens(self.X, self.y, xq), KQ, PV, **kw)
            return pred.sum(), pred

        # each task's prediction depends only on its own x_q, so the gradient of the sum is the
        # per-task gradient g_t = d y_hat_t / d x_q,t (exact, one backward pass)
        grad, pred = torch.func.grad(total, has_aux=True)(self.x_q)
        return pred.detach(), grad.detach()


def alignment_history(evaluator: "Evaluator", weights, reference) -> dict[str, list[float]]:
    """:func:`alignment_metrics` of each merged-weights pair in ``weights`` against one reference.

    ``weights`` is a sequence of (W_KQ, W_PV) (e.g. the weights a training run logged, float64 on
    the evaluator's device); ``reference`` is the (predictions, implicit models) pair of the model
    compared with (``evaluator.pred_and_grad(..., baseline=True)`` of a construction).  Returns one
    list per metric, entry t for ``weights[t]``.
    """
    history = {k: [] for k in ("preds_diff", "model_cos", "model_diff")}
    for KQ, PV in weights:
        pred, grad = evaluator.pred_and_grad(KQ, PV)
        for k, v in alignment_metrics(pred, grad, *reference).items():
            history[k].append(v)
    return history


def interpolation_losses(evaluator: "Evaluator", weights, C_KQ, C_PV) -> list[float]:
    """Evaluation loss of :func:`validation.lsa.readouts.interpolate_weights` of each pair in ``weights``
    with the construction (C_KQ, C_PV) (von Oswald et al. 2023, A.3; one linear head only)."""
    device = evaluator.y_q.device
    return [evaluator.loss(*(t.to(device) for t in interpolate_weights(KQ, PV, C_KQ, C_PV)))[0]
            for KQ, PV in weights]
