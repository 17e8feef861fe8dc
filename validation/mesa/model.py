"""The linear causal attention of Zheng et al. (2024) in torch: the model, its reference implementations
and the AR training set.

Model (the authors' code, ML-GSAI/MesaOpt-AR-Transformer, ``models/lsa.py``): tokens
e_t = (x_t, x_{t-1}) in C^{2d} with x_0 = 0, complex parameters P = W^PV (d x 2d) and
Q = W^KQ (2d x 2d), prediction

    y_hat_t = P E_t E_t^H Q e_t / (t - 1) = P C_t Q e_t / (t - 1),   C_t = sum_{i<=t} e_i e_i^H,

for t = 2..T-1, and the loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2 averaged over sequences.
Red blocks (Assumption 3.1): B = W^PV_12 = P[:, :d] and A = W^KQ_32 = Q[d:, :d].

Three implementations of the same map, compared by the tests:

* :func:`loop_predictions`, the reference: a Python loop over t, E_t E_t^H formed per t, as
  the authors' ``forward_train`` does;
* :func:`prefix_predictions`: prefix sums C_t = C_{t-1} + e_t e_t^H for any sequences;
* the fast path for AR data (:mod:`validation.mesa.fast_path`), O(m T d^2) per evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["DTYPE", "ARData", "embed", "loop_predictions", "prefix_predictions", "red_blocks", "red_block_masks",
           "paper_layout"]

#: the parameters' and data's complex dtype unless a run asks for single precision (complex64)
DTYPE = torch.complex128


def embed(x: torch.Tensor) -> torch.Tensor:
    """Tokens e_t = (x_t, x_{t-1}) with x_0 = 0 (the code's 2d embedding): (m, T, d) -> (m, T, 2d)."""
    prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
    return torch.cat([x, prev], dim=-1)


def loop_predictions(P: torch.Tensor, Q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reference: y_hat_t = P E_t E_t^H Q e_t/(t-1) for t = 2..T-1, one position at a time.

    Parameters
    ----------
    P : (d, 2d) complex tensor, Q : (2d, 2d) complex tensor
    x : (m, T, d) complex tensor, x[:, t-1] = x_t

    Returns
    -------
    (m, T-2, d) complex tensor; row t-2 predicts x_{t+1} = x[:, t].
    """
    e = embed(x)  # (m, T, 2d)
    out = []
    for t in range(2, x.shape[1]):
        E = e[:, :t]  # (m, t, 2d): columns e_1..e_t
        C = E.transpose(1, 2) @ E.conj()  # (m, 2d, 2d) = E_t E_t^H
        out.append((P @ C @ Q @ e[:, t - 1, :, None])[..., 0] / (t - 1))
    return torch.stack(out, dim=1)


def prefix_predictions(P: torch.Tensor, Q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """All positions at once with prefix sums C_t = C_{t-1} + e_t e_t^H (any sequences).

    Same output as :func:`loop_predictions`; memory (m, T, 2d, 2d), so use it on small batches.
    """
    T = x.shape[1]
    e = embed(x)[:, : T - 1]  # (m, T-1, 2d): e_1..e_{T-1}
    C = torch.cumsum(e[..., :, None] * e.conj()[..., None, :], dim=1)[:, 1:]  # (m, T-2, 2d, 2d)
    v = e[:, 1:] @ Q.transpose(0, 1)  # (m, T-2, 2d): Q e_t
    w = (C @ v[..., None])[..., 0]  # C_t Q e_t
    inv = 1.0 / torch.arange(1, T - 1, dtype=x.real.dtype, device=x.device)
    return (w @ P.transpose(0, 1)) * inv[None, :, None]


@dataclass(frozen=True)
class ARData:
    """A training set of AR sequences x_t = diag(lambda)^{t-1} x_1 in the form the fast path uses.

    Attributes
    ----------
    x1 : (m, d) float64 tensor, the real start points
    theta : (m, d) float64 tensor, lambda = exp(i theta)
    weights : (m,) float64 tensor, summing to 1 (1/m for a sample; quadrature weights for the
        exact phase grid)
    T : int, sequence length
    """

    x1: torch.Tensor
    theta: torch.Tensor
    weights: torch.Tensor
    T: int

    @classmethod
    def from_numpy(cls, x1, theta, T: int, weights=None, device="cpu") -> "ARData":
        x1 = torch.as_tensor(np.array(x1, np.float64), device=device)  # copies: writable
        theta = torch.as_tensor(np.array(theta, np.float64), device=device)
        m = x1.shape[0]
        w = torch.full((m,), 1.0 / m, dtype=torch.float64, device=device) if weights is None else \
            torch.as_tensor(np.array(weights, np.float64), device=device)
        return cls(x1, theta, w, int(T))

    @property
    def m(self) -> int:
        return int(self.x1.shape[0])

    @property
    def d(self) -> int:
        return int(self.x1.shape[1])

    def sequences(self, index=slice(None)) -> torch.Tensor:
        """The sequences themselves, (n, T, d) complex: x[:, t-1] = exp(i (t-1) theta) x_1."""
        th, x1 = self.theta[index], self.x1[index]
        powers = torch.arange(self.T, dtype=torch.float64, device=th.device)[None, :, None]
        return torch.polar(torch.ones_like(powers * th[:, None, :]), powers * th[:, None, :]) * x1[:, None, :]


def red_blocks(P: torch.Tensor, Q: torch.Tensor):
    """(A, B) = (W^KQ_32, W^PV_12) = (Q[d:, :d], P[:, :d]), the red blocks of Assumption 3.1."""
    d = P.shape[0]
    return Q[d:, :d], P[:, :d]


def red_block_masks(d: int, device="cpu") -> tuple[torch.Tensor, ...]:
    """Boolean masks (red_P, red_Q, offdiag_P, offdiag_Q) of the red blocks in P (d x 2d) and Q (2d x 2d)
    and of their off-diagonal entries (what the code's ``--clip`` zeroes)."""
    off = ~torch.eye(d, dtype=torch.bool, device=device)
    red_P = torch.zeros(d, 2 * d, dtype=torch.bool, device=device)
    red_P[:, :d] = True
    red_Q = torch.zeros(2 * d, 2 * d, dtype=torch.bool, device=device)
    red_Q[d:, :d] = True
    off_P = torch.zeros(d, 2 * d, dtype=torch.bool, device=device)
    off_Q = torch.zeros(2 * d, 2 * d, dtype=torch.bool, device=device)
    off_P[:, :d] = off
    off_Q[d:, :d] = off
    return red_P, red_Q, off_P, off_Q


def paper_layout(P, Q):
    """The paper's 3d x 3d W^KQ and W^PV (tokens (0, x_t, x_{t-1}), the paper's form as reconstructed, [uncertain]) from the code's P, Q.

    W^KQ[d:, d:] = Q (key/query blocks 2, 3) and W^PV[:d, d:] = P (output slot = block 1);
    every other block is zero (it never reaches the prediction).  So W^KQ_32 = Q[d:, :d] = A
    and W^PV_12 = P[:, :d] = B.

    Returns
    -------
    W_KQ, W_PV : (3d, 3d) numpy complex arrays
    """
    P = np.asarray(P.detach().cpu() if isinstance(P, torch.Tensor) else P, np.complex128)
    Q = np.asarray(Q.detach().cpu() if isinstance(Q, torch.Tensor) else Q, np.complex128)
    d = P.shape[0]
    W_KQ = np.zeros((3 * d, 3 * d), np.complex128)
    W_PV = np.zeros((3 * d, 3 * d), np.complex128)
    W_KQ[d:, d:] = Q
    W_PV[:d, d:] = P
    return W_KQ, W_PV
