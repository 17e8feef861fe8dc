"""Read-outs of merged LSA weights (von Oswald et al. 2023; numpy or torch in, float64 out).

What a trained layer implements, read from its merged weights W_KQ = W_K^T W_Q and W_PV = P W_V:
the effective GD step size (Proposition 1), GD++'s curvature correction gamma (Section 3), and
the code's interpolation of the rescaled weights with a construction (A.3).
"""
from __future__ import annotations

import numpy as np
import torch

from validation.lsa.models import construction_weights  # noqa: F401 (doctest)

__all__ = ["effective_step_size", "curvature_readout", "interpolate_weights", "layer_array"]


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
    KQ, PV = layer_array(W_KQ), layer_array(W_PV)
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
    KQ, PV = layer_array(W_KQ), layer_array(W_PV)
    d = KQ.shape[-1] - 1
    beta = np.diagonal(KQ[..., :d, :d], axis1=-2, axis2=-1).mean(-1)  # (L, H)
    p = np.diagonal(PV[..., :d, :d], axis1=-2, axis2=-1).mean(-1)
    return -(beta * p).sum(axis=1)


def layer_array(W) -> np.ndarray:
    """Merged weights (an array or a tensor of shape (D, D), (H, D, D) or (L, H, D, D)) as a float64
    numpy array of shape (L, H, D, D), leading axes of length 1 added."""
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
    KQ, PV = torch.as_tensor(layer_array(W_KQ)), torch.as_tensor(layer_array(W_PV))
    CK, CP = torch.as_tensor(layer_array(C_KQ)), torch.as_tensor(layer_array(C_PV))
    if KQ.shape[1] != 1:
        raise ValueError(f"W_KQ must have one head for the interpolation, got {KQ.shape[1]}")
    d = KQ.shape[-1] - 1
    beta = torch.diagonal(KQ[..., :d, :d], dim1=-2, dim2=-1).mean(-1)[..., None, None]  # (L, 1, 1, 1)
    if KQ.shape[0] == 1 and CK.shape[0] > 1:
        KQ, PV, beta = (t.expand(CK.shape[0], *t.shape[1:]) for t in (KQ, PV, beta))
    return (KQ / beta + CK) / 2, (PV * beta + CP) / 2
