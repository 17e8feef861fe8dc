"""Softmax attention heads in float64, and their small-logit series (von Oswald et al. 2023, A.9).

The float versions of :mod:`theory.lsa.softmax`: one softmax layer with H heads on a batch of
regression tasks (keys and values from the context only, prediction = minus the query's y-slot),
the derived series of two heads with opposite value maps, the two-head GD construction at logit
scale s and its s -> 0 limit, one GD step on the mean-centred context.  Vectorised over tasks.
"""
from __future__ import annotations

import numpy as np

from theory.args import positive

__all__ = ["softmax_heads_update", "softmax_heads_predict", "two_head_series", "two_head_gd_weights",
           "centred_gd_predict", "two_head_remainder"]


def _tokens(X, y, x_q):
    X, y, x_q = (np.asarray(a, dtype=float) for a in (X, y, x_q))
    E = np.concatenate([X, y[..., None]], axis=-1)  # (n, N, D)
    q = np.concatenate([x_q, np.zeros(x_q.shape[:-1] + (1,))], axis=-1)  # (n, D)
    return E, q


def softmax_heads_update(E, q, W_KQ, W_PV) -> np.ndarray:
    """sum_h sum_i softmax_i(e_i^T W_KQ_h q) W_PV_h e_i for tokens E (n, N, D), queries q (n, D); (n, D).

    W_KQ, W_PV: (H, D, D) (the logit scale and 1/sqrt(key_size) folded into W_KQ).
    """
    E, q = np.asarray(E, dtype=float), np.asarray(q, dtype=float)
    W_KQ, W_PV = np.asarray(W_KQ, dtype=float), np.asarray(W_PV, dtype=float)
    logits = np.einsum("nid,hde,ne->nhi", E, W_KQ, q)  # (n, H, N)
    logits -= logits.max(axis=-1, keepdims=True)
    a = np.exp(logits)
    a /= a.sum(axis=-1, keepdims=True)
    return np.einsum("nhi,hde,nie->nd", a, W_PV, E)


def softmax_heads_predict(X, y, x_q, W_KQ, W_PV) -> np.ndarray:
    """The prediction of one softmax layer with H heads: minus the query's y-slot after the layer, (n,)."""
    E, q = _tokens(X, y, x_q)
    return -softmax_heads_update(E, q, W_KQ, W_PV)[:, -1]


def two_head_series(E, q, W1, W2, V, s, order: int = 1) -> np.ndarray:
    """The derived series (theory.lsa.softmax) of heads (s W1, V) + (s W2, -V) up to s^order, (n, D).

    Order 1: (s/N) sum_i ((e_i - e_bar)^T (W1 - W2) q) V e_i; order 2 adds
    (s^2 / 2N) sum_i [(u1_i^2 - m2_1) - (u2_i^2 - m2_2)] V e_i (u_h: centred logits of head h).
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    E, q = np.asarray(E, dtype=float), np.asarray(q, dtype=float)
    N = E.shape[1]
    v = np.einsum("de,nie->nid", V, E)  # (n, N, D)
    u = [np.einsum("nid,de,ne->ni", E, W, q) for W in (W1, W2)]
    u = [a - a.mean(-1, keepdims=True) for a in u]  # (n, N) centred logits
    coef = s * (u[0] - u[1])
    if order == 2:
        c2 = [a ** 2 - (a ** 2).mean(-1, keepdims=True) for a in u]
        coef = coef + s ** 2 / 2 * (c2[0] - c2[1])
    return np.einsum("ni,nid->nd", coef, v) / N


def two_head_remainder(E, q, W1, W2, V, s) -> tuple[np.ndarray, np.ndarray]:
    """(exact - first-order series, its derived s^2 term) of heads (s W1, V) + (s W2, -V), each (n, D)."""
    exact = softmax_heads_update(E, q, np.stack([s * np.asarray(W1), s * np.asarray(W2)]),
                                 np.stack([np.asarray(V), -np.asarray(V)]))
    first = two_head_series(E, q, W1, W2, V, s, 1)
    return exact - first, two_head_series(E, q, W1, W2, V, s, 2) - first


def two_head_gd_weights(d: int, N: int, eta: float, s: float, common=None) -> tuple[np.ndarray, np.ndarray]:
    """Two softmax heads that implement one GD step as s -> 0 (derived from A.9), (2, D, D) each.

    W_KQ_1 = s (G/2 + O), W_KQ_2 = s (-G/2 + O), G = diag(I_d, 0), O = ``common`` (default 0; the
    part both heads share, which cancels); W_PV_1 = -W_PV_2 = -(eta/s) e_y e_y^T.  The limit prediction
    is :func:`centred_gd_predict` (one GD step on the mean-centred context); eta_h = (W_PV_h)[-1, -1]
    gives sum_h eta_h W_KQ_h = -eta G.
    """
    s = positive(s, "s")
    D = d + 1
    G = np.diag([1.0] * d + [0.0])
    O = np.zeros((D, D)) if common is None else np.asarray(common, dtype=float)
    V = np.zeros((D, D))
    V[-1, -1] = -eta / s
    return np.stack([s * (G / 2 + O), s * (-G / 2 + O)]), np.stack([V, -V])


def centred_gd_predict(X, y, x_q, eta) -> np.ndarray:
    """One GD step on the mean-centred context (derived): (eta/N) sum_i (y_i - y_bar) (x_i - x_bar)^T x_q, (n,)."""
    X, y, x_q = (np.asarray(a, dtype=float) for a in (X, y, x_q))
    Xc = X - X.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    return eta / X.shape[1] * np.einsum("ni,nid,nd->n", yc, Xc, x_q)
