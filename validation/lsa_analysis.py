"""Read-outs and comparisons for the LSA of von Oswald et al. 2023 (torch, float64).

The effective step size and curvature read from merged weights (Proposition 1, GD++), the
alignment metrics of the authors' ``analyse`` (preds diff, model cos, model diff with
g = d y_hat / d x_q from ``torch.func``), the interpolation of rescaled trained weights with a
construction (A.3), predictions on numpy tasks and dampened roll-outs (A.6).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from validation.lsa_models import construction_weights, lsa_forward, make_tokens  # noqa: F401 (doctest)

__all__ = [
    "effective_step_size",
    "curvature_readout",
    "interpolate_weights",
    "lsa_predict",
    "lsa_rollout_losses",
    "alignment_metrics",
    "Evaluator",
]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_pos(value, name: str, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")
    return float(value)


def effective_step_size(W_KQ, W_PV, N: int) -> np.ndarray:
    """Effective GD step size of each layer, read from the merged weights (Proposition 1 read-out).

    With the query's y-slot 0, one layer's prediction term linear in the targets is
    y_hat = x_q^T Gamma^T (1/N) sum_i y_i x_i with Gamma = -N sum_h (u_h,y A_h + u_h,x k_h^T),
    u_h = W_PV_h[-1, :] (split into x- and y-part), A_h = W_KQ_h[:d, :d], k_h = W_KQ_h[d, :d].
    We return eta = tr(Gamma) / d.  For weights with u_x = 0 and k = 0 (the construction, and
    what training converges to) this is the paper's read-out  -N (P W_V)[-1,-1] * mean diag of
    the x-block of W_K^T W_Q  (the sign makes the construction's eta positive, since its
    P W_V[-1,-1] = -eta/N).  Invariant under (s W_PV, W_KQ / s).

    Parameters
    ----------
    W_KQ, W_PV : (L, H, D, D), (H, D, D) or (D, D) arrays or tensors (d_y = 1).
    N : context length.

    Returns
    -------
    (L,) float64 array.

    Examples
    --------
    >>> KQ, PV = construction_weights(3, 5, 2.5)
    >>> effective_step_size(KQ, PV, 5)
    array([2.5])
    """
    KQ, PV = _np_layers(W_KQ), _np_layers(W_PV)
    d = KQ.shape[-1] - 1
    u_x, u_y = PV[..., -1, :d], PV[..., -1, d]  # (L, H, d), (L, H)
    trA = np.trace(KQ[..., :d, :d], axis1=-2, axis2=-1)  # (L, H)
    cross = np.einsum("lhd,lhd->lh", u_x, KQ[..., d, :d])
    return -N / d * (u_y * trA + cross).sum(axis=1)


def curvature_readout(W_KQ, W_PV) -> np.ndarray:
    """GD++'s gamma of each layer: -sum_h mean diag(W_PV_h[:d, :d]) * mean diag(W_KQ_h[:d, :d]).

    The GD++ layer maps x_j <- x_j - gamma X X^T x_j (notes §1.4); with W_KQ_xx = beta I and
    W_PV_xx = p I a layer maps x_j <- x_j + beta p X X^T x_j, so gamma = -beta p.  The
    construction gives its gamma back; the 1-layer trained model gives ~0.
    """
    KQ, PV = _np_layers(W_KQ), _np_layers(W_PV)
    d = KQ.shape[-1] - 1
    beta = np.diagonal(KQ[..., :d, :d], axis1=-2, axis2=-1).mean(-1)  # (L, H)
    p = np.diagonal(PV[..., :d, :d], axis1=-2, axis2=-1).mean(-1)
    return -(beta * p).sum(axis=1)


def _np_layers(W) -> np.ndarray:
    W = W.detach().cpu().double().numpy() if isinstance(W, torch.Tensor) else np.asarray(W, dtype=float)
    while W.ndim < 4:
        W = W[None]
    return W


def interpolate_weights(W_KQ, W_PV, C_KQ, C_PV) -> tuple[torch.Tensor, torch.Tensor]:
    """Average rescaled trained weights with a construction (von Oswald et al. 2023, A.3; code
    ``interpolate_weights``): per layer beta = mean diag of the x-block of W_KQ (one head),
    W_KQ <- W_KQ / beta, W_PV <- beta W_PV, then ((W + C) / 2) for both products.

    The rescaling leaves the trained model's function unchanged (Proposition 1's
    non-uniqueness); the midpoint's loss equals both ends' when the trained model is the
    construction up to that rescaling (linear-mode connectivity).
    """
    KQ, PV = torch.as_tensor(_np_layers(W_KQ)), torch.as_tensor(_np_layers(W_PV))
    CK, CP = torch.as_tensor(_np_layers(C_KQ)), torch.as_tensor(_np_layers(C_PV))
    if KQ.shape[1] != 1:
        raise ValueError(f"W_KQ must have one head for the interpolation, got {KQ.shape[1]}")
    d = KQ.shape[-1] - 1
    beta = torch.diagonal(KQ[..., :d, :d], dim1=-2, dim2=-1).mean(-1)[..., None, None]  # (L, 1, 1, 1)
    if KQ.shape[0] == 1 and CK.shape[0] > 1:
        KQ, PV, beta = (t.expand(CK.shape[0], *t.shape[1:]) for t in (KQ, PV, beta))
    return (KQ / beta + CK) / 2, (PV * beta + CP) / 2


def lsa_predict(W_KQ, W_PV, X, y, x_q, *, layers: int = 1, softmax: bool = False,
                dampening: float = 1.0, clip: float | None = None) -> np.ndarray:
    """Predictions of an LSA model with merged weights on numpy tasks, float64 on the CPU.

    X (n, N, d), y (n, N), x_q (n, d) -> (n,) = minus the query's y-slot after ``layers``
    layers (see :func:`validation.lsa_models.lsa_forward`).
    """
    KQ, PV = torch.as_tensor(_np_layers(W_KQ)), torch.as_tensor(_np_layers(W_PV))
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
    steps = _check_int(steps, "steps", 1)
    dampening = _check_pos(dampening, "dampening")
    KQ, PV = torch.as_tensor(_np_layers(W_KQ)), torch.as_tensor(_np_layers(W_PV))
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
