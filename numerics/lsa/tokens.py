"""Linear self-attention on token matrices, and the constructions of von Oswald et al. 2023 (numpy).

Column-vector maths as in the paper: a token is e = (x, y); one LSA layer maps
e_j <- e_j + P W_V (sum_{i <= N} e_i e_i^T) W_K^T W_Q e_j, with keys and values from the N
context tokens only and queries for all N + 1 tokens (eq. 6).  The prediction is minus the
query's y-slot.  These are the float64 counterparts of the symbolic constructions in
``theory.lsa``; ``numerics.lsa.gdpp_predict`` is checked against them.  ``build_tokens``
stacks a batch of tasks in this layout (the authors' ``seq``).
"""
from __future__ import annotations

import numpy as np

from theory.args import integer

__all__ = ["build_tokens", "lsa_layer", "lsa_forward", "gd_construction_weights", "gdpp_construction_weights"]


def build_tokens(X: np.ndarray, y: np.ndarray, x_q: np.ndarray, y_init=None) -> np.ndarray:
    """Token matrix of the constructed layout: rows e_i = (x_i, y_i), query (x_q, y_init).

    ``y`` is (n, N) or (n, N, d_y); ``y_init`` defaults to 0 (i.e. -W0 x_q with W0 = 0).
    Returns E of shape (n, N + 1, d + d_y) (the code's ``seq``).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    x_q = np.asarray(x_q, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n, N, d), got {X.shape}")
    n, N, d = X.shape
    if y.shape == (n, N):
        y = y[..., None]
    if y.ndim != 3 or y.shape[:2] != (n, N):
        raise ValueError(f"y must have shape ({n}, {N}) or ({n}, {N}, d_y), got {y.shape}")
    if x_q.shape != (n, d):
        raise ValueError(f"x_q must have shape ({n}, {d}), got {x_q.shape}")
    d_y = y.shape[2]
    q = np.zeros((n, d_y)) if y_init is None else np.asarray(y_init, dtype=float).reshape(n, d_y)
    ctx = np.concatenate([X, y], axis=2)  # (n, N, d + d_y)
    query = np.concatenate([x_q, q], axis=1)[:, None, :]  # (n, 1, d + d_y)
    return np.concatenate([ctx, query], axis=1)  # (n, N + 1, d + d_y)



def lsa_layer(E, W_K, W_Q, W_V, P, *, dampening: float = 1.0) -> np.ndarray:
    """One linear self-attention layer on tokens E of shape (n, N + 1, D) (von Oswald et al. 2023, eq. 6).

    E_j <- E_j + dampening * P W_V C W_K^T W_Q E_j with C = sum over the N context tokens of e_i e_i^T
    (the query, the last row, is not a key or value).
    """
    E = np.asarray(E, dtype=float)
    if E.ndim != 3 or E.shape[1] < 2:
        raise ValueError(f"E must have shape (n, N + 1, D) with N >= 1, got {E.shape}")
    D = E.shape[2]
    mats = [np.asarray(m, dtype=float) for m in (W_K, W_Q, W_V, P)]
    for m, name in zip(mats, ("W_K", "W_Q", "W_V", "P")):
        if m.shape != (D, D):
            raise ValueError(f"{name} must have shape ({D}, {D}), got {m.shape}")
    W_K, W_Q, W_V, P = mats
    ctx = E[:, :-1, :]  # (n, N, D)
    C = np.einsum("nia,nib->nab", ctx, ctx)  # (n, D, D)
    A = P @ W_V @ C @ W_K.T @ W_Q  # (n, D, D): the per-task linear map on each token
    return E + dampening * np.einsum("nab,njb->nja", A, E)


def lsa_forward(E, layers, *, dampening: float = 1.0) -> np.ndarray:
    """Apply LSA layers in order; ``layers`` is a sequence of (W_K, W_Q, W_V, P).

    Tied (recurrent) models repeat the same tuple.  Returns the final tokens (n, N + 1, D).
    """
    for W_K, W_Q, W_V, P in layers:
        E = lsa_layer(E, W_K, W_Q, W_V, P, dampening=dampening)
    return E


def gd_construction_weights(d_x: int, d_y: int, N: int, eta: float, W0=None):
    """Proposition 1 weights (von Oswald et al. 2023, A.1): one LSA layer = one GD step.

    W_K = W_Q = [[I_x, 0], [0, 0]], W_V = [[0, 0], [W0, -I_y]], P = (eta/N) I.  The query's
    y-slot must start at -W0 x_q; after the layer it holds -(W0 + dW) x_q.

    Returns
    -------
    (W_K, W_Q, W_V, P), each (d_x + d_y, d_x + d_y).
    """
    d_x, d_y, N = (integer(v, name, minimum=1) for v, name in ((d_x, "d_x"), (d_y, "d_y"), (N, "N")))
    D = d_x + d_y
    W0 = np.zeros((d_y, d_x)) if W0 is None else np.asarray(W0, dtype=float)
    if W0.shape != (d_y, d_x):
        raise ValueError(f"W0 must have shape ({d_y}, {d_x}), got {W0.shape}")
    W_K = np.zeros((D, D))
    W_K[:d_x, :d_x] = np.eye(d_x)
    W_V = np.zeros((D, D))
    W_V[d_x:, :d_x] = W0
    W_V[d_x:, d_x:] = -np.eye(d_y)
    P = float(eta) / N * np.eye(D)
    return W_K, W_K.copy(), W_V, P


def gdpp_construction_weights(d_x: int, N: int, eta: float, gamma: float):
    """GD++ weights (von Oswald et al. 2023, sec. 3, A.10), scalar output, W0 = 0.

    W_K = W_Q = [[I_x, 0], [0, 0]], W_V = [[I_x, 0], [0, -1]], P = [[-gamma I_x, 0], [0, eta/N]]:
    x_j <- x_j - gamma X X^T x_j and y_j <- y_j - dW x_j from the same (pre-update) tokens.
    """
    d_x, N = integer(d_x, "d_x", minimum=1), integer(N, "N", minimum=1)
    D = d_x + 1
    W_K = np.zeros((D, D))
    W_K[:d_x, :d_x] = np.eye(d_x)
    W_V = np.eye(D)
    W_V[d_x, d_x] = -1.0
    P = np.diag(np.r_[np.full(d_x, -float(gamma)), float(eta) / N])
    return W_K, W_K.copy(), W_V, P
