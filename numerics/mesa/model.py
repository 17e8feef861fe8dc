"""Zheng et al. 2024 in numpy: the linear causal attention model, its loss and gradients on given sequences.

Model (the authors' code layout): tokens e_t = (x_t, x_{t-1}) in C^{2d} (x_0 = 0), parameters
P = W^PV (d x 2d) and Q = W^KQ (2d x 2d), prediction y_hat_t = P C_t Q e_t / (t - 1) with
C_t = sum_{i <= t} e_i e_i^H, loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2.  Red blocks:
B = P[:, :d] (paper W^PV_12), A = Q[d:, :d] (paper W^KQ_32).

Gradients follow torch's convention for complex parameters, G = dL/dRe + i dL/dIm, so that
plain GD ``P -= lr * G`` is what the authors' SGD does.  Exact population averages of the same
quantities are :mod:`numerics.mesa.population`.
"""
from __future__ import annotations

import numpy as np

from theory.args import integer

__all__ = [
    "red_params",
    "predict",
    "sequence_losses",
    "empirical_loss_and_grad",
    "check_params",
    "CHUNK_ELEMENTS",
]

#: complex entries of the per-chunk work tensors (~50 MB); the phase-grid averages chunk by it too
CHUNK_ELEMENTS = 3_000_000


def red_params(a, b, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q) with only the red blocks set: B = P[:, :d], A = Q[d:, :d] (complex128).

    ``a``/``b`` may be scalars (A = aI), length-d vectors (diagonal) or d x d matrices.

    Examples
    --------
    >>> P, Q = red_params(2.0, 3.0, 1)
    >>> P.real.tolist(), Q.real.tolist()
    ([[3.0, 0.0]], [[0.0, 0.0], [2.0, 0.0]])
    """
    d = integer(d, "d", minimum=1)

    def block(v, name):
        v = np.asarray(v, dtype=np.complex128)
        if v.ndim == 0:
            return v * np.eye(d)
        if v.shape == (d,):
            return np.diag(v)
        if v.shape == (d, d):
            return v
        raise ValueError(f"{name} must be a scalar, a length-{d} vector or a {d}x{d} matrix, got shape {v.shape}")

    P = np.zeros((d, 2 * d), np.complex128)
    Q = np.zeros((2 * d, 2 * d), np.complex128)
    P[:, :d] = block(b, "b")
    Q[d:, :d] = block(a, "a")
    return P, Q


def check_params(P, Q, d: int):
    """(P, Q) as complex128 arrays, ``ValueError`` naming P or Q unless their shapes are (d, 2d), (2d, 2d)."""
    P, Q = np.asarray(P, np.complex128), np.asarray(Q, np.complex128)
    if P.shape != (d, 2 * d):
        raise ValueError(f"P must have shape (d, 2d) = ({d}, {2 * d}), got {P.shape}")
    if Q.shape != (2 * d, 2 * d):
        raise ValueError(f"Q must have shape (2d, 2d) = ({2 * d}, {2 * d}), got {Q.shape}")
    return P, Q


def _check_x(x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] < 3 or x.shape[2] < 1:
        raise ValueError(f"x must have shape (m, T, d) with T >= 3, d >= 1, got {x.shape}")
    return x.astype(np.complex128, copy=False)


class _Causal:
    """z_t = C_t y_t with C_t = sum_{i <= t} e_i e_i^H, for e, y of shape (m, L, n).

    Short sequences use the masked Gram matrix e_i^H y_t (O(m L^2 n)); long ones the prefix
    sums C_t (O(m L n^2)), computed once and reused for every y.
    """

    def __init__(self, e):
        self.e = e
        m, L, n = e.shape
        if L <= 2 * n:
            self.mask = np.triu(np.ones((L, L)))  # [i, t] = 1 for i <= t
            self.C = None
        else:
            self.C = np.cumsum(e[..., :, None] * e.conj()[..., None, :], axis=1)  # (m, L, n, n)

    def apply(self, y):
        if self.C is not None:
            return np.matmul(self.C, y[..., None])[..., 0]
        G = np.matmul(self.e.conj(), np.swapaxes(y, 1, 2)) * self.mask  # (m, L, L): e_i^H y_t
        return np.matmul(np.swapaxes(G, 1, 2), self.e)  # (m, L, n)


def _forward(P, Q, x):
    """Predictions for t = 2..T-1 tokens: the causal operator, e_t, v_t = C_t Q e_t/(t-1), r_t."""
    m, T, d = x.shape
    e = np.concatenate([x[:, :T - 1], np.concatenate([np.zeros((m, 1, d), x.dtype), x[:, :T - 2]], 1)], 2)
    # e: (m, T-1, 2d), e[:, t-1] = e_t = (x_t, x_{t-1}) for t = 1..T-1
    causal = _Causal(e)
    inv = 1.0 / np.maximum(np.arange(T - 1, dtype=np.float64), 1.0)[None, :, None]  # 1/(t-1); t = 1 unused
    v = causal.apply(e @ Q.T) * inv  # (m, T-1, 2d)
    v[:, 0] = 0.0  # t = 1 makes no prediction
    r = v @ P.T  # (m, T-1, d)
    r[:, 1:] -= x[:, 2:]  # r_t = y_hat_t - x_{t+1} for t >= 2; row t = 1 stays 0
    return causal, e, v, r, inv


def _chunks(x):
    m, T, d = x.shape
    step = max(1, CHUNK_ELEMENTS // (T * max(T, 4 * d * d)))
    for start in range(0, m, step):
        yield slice(start, min(m, start + step))


def predict(P, Q, x) -> np.ndarray:
    """Predictions y_hat_t = P C_t Q e_t/(t-1) for t = 2..T-1, shape (m, T-2, d); targets x[:, 2:].

    Examples
    --------
    >>> x = np.ones((2, 6, 2), complex)  # (m, T, d): the constant sequence x_t = 1_d
    >>> P, Q = red_params(0.5, 1.0, 2)
    >>> predict(P, Q, x)[0, -1].real  # (c/(t-1)) sum_{i<t} x_{i+1} x_i^H x_t = c d 1_d
    array([1., 1.])
    """
    x = _check_x(x)
    P, Q = check_params(P, Q, x.shape[2])
    out = np.empty((x.shape[0], x.shape[1] - 2, x.shape[2]), np.complex128)
    for sl in _chunks(x):
        _, _, v, _, _ = _forward(P, Q, x[sl])
        out[sl] = (v @ P.T)[:, 1:]
    return out


def sequence_losses(P, Q, x) -> np.ndarray:
    """Per-sequence loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2, shape (m,)."""
    x = _check_x(x)
    P, Q = check_params(P, Q, x.shape[2])
    out = np.empty(x.shape[0])
    for sl in _chunks(x):
        r = _forward(P, Q, x[sl])[3]
        out[sl] = 0.5 * (r.real**2 + r.imag**2).sum(axis=(1, 2))
    return out


def empirical_loss_and_grad(P, Q, x, weights=None) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted mean of the sequence loss and its gradients (torch convention dL/dRe + i dL/dIm).

    G_P = sum_t r_t v_t^H and G_Q = sum_t (C_t P^H r_t / (t-1)) e_t^H with
    v_t = C_t Q e_t/(t-1), r_t = P v_t - x_{t+1}.  ``weights`` (m,) default 1/m (the code's
    mean over training sequences).

    Returns
    -------
    loss : float
    G_P : ndarray (d, 2d) complex128
    G_Q : ndarray (2d, 2d) complex128
    """
    x = _check_x(x)
    m, _, d = x.shape
    P, Q = check_params(P, Q, d)
    w = np.full(m, 1.0 / m) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (m,):
        raise ValueError(f"weights must have shape (m,) = ({m},), got {w.shape}")
    loss, G_P, G_Q = 0.0, np.zeros_like(P), np.zeros_like(Q)
    for sl in _chunks(x):
        causal, e, v, r, inv = _forward(P, Q, x[sl])
        wr = w[sl, None, None] * r  # (mc, T-1, d), row t = 1 is 0
        loss += 0.5 * float(np.sum(w[sl, None, None] * (r.real**2 + r.imag**2)))
        mc = wr.shape[0]
        G_P += wr.reshape(mc * wr.shape[1], d).T @ v.conj().reshape(-1, 2 * d)
        u = causal.apply(wr @ P.conj()) * inv  # (mc, T-1, 2d): C_t P^H r_t/(t-1)
        G_Q += u.reshape(-1, 2 * d).T @ e.conj().reshape(-1, 2 * d)
    return loss, G_P, G_Q
