"""Proposition 3 of von Oswald et al. 2023: one attention layer copies each target next to its input.

With interleaved tokens (x_1, y_1, x_2, y_2, ..., x_q) and one-hot positions, the copy
(induction-head) construction of Appendix A.5 writes the next token's target into every x-token,
exactly for linear attention and in the limit beta -> oo for softmax attention.
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError, sizes

from theory.lsa.layers import expand, lsa_layer, softmax_attention_layer

__all__ = ["copy_tokens", "copy_construction", "copy_attention_weights", "copy_layer_residual"]


# ----------------------------------------------------------------------------- Proposition 3
def copy_tokens(d_x, d_y, N) -> sp.Matrix:
    """Interleaved tokens with one-hot positions, shape (d_x + T, T), T = 2N + 1 (paper Section 4).

    Column t (1-based) is (c_t, p_t): c = x_j for t = 2j - 1, c = (0_{d_x - d_y}, y_j) for t = 2j,
    c = x_q for t = T; p_t = e_t in R^T is the one-hot positional encoding.
    """
    d_x, d_y, N = sizes(d_x=d_x, d_y=d_y, N=N)
    if d_y > d_x:
        raise ArgumentError(f"d_y must be <= d_x = {d_x} (targets are zero-padded to d_x), got {d_y}")
    T = 2 * N + 1
    C = sp.zeros(d_x, T)
    for j in range(N):
        C[:, 2 * j] = sp.Matrix(d_x, 1, lambda k, _: sp.Symbol(f"x_{j + 1}_{k + 1}"))
        C[d_x - d_y:, 2 * j + 1] = sp.Matrix(d_y, 1, lambda k, _: sp.Symbol(f"y_{j + 1}_{k + 1}"))
    C[:, T - 1] = sp.Matrix(d_x, 1, lambda k, _: sp.Symbol(f"xq_{k + 1}"))
    return sp.Matrix.vstack(C, sp.eye(T))


def copy_construction(d_x, d_y, N) -> dict:
    """The copy (induction-head) weights of Proposition 3 (von Oswald et al. 2023, Appendix A.5).

    Blocks (content d_x | position T), T = 2N + 1, S the shift with S p_t = p_{t+1}:
    W_K = [[0, 0], [0, I_T]], W_Q = [[0, 0], [0, S]], so k_i^T q_t = p_i^T p_{t+1}: one-hot on the
    next token.  W_V = [[0, 0], [Y, -S^T]] with Y copying the target coordinates (the last d_y of the
    content) into the first d_y positional slots, and P = I.  Token t then receives
    v_{t+1} = (0, Y c_{t+1} - p_t): its position is erased and the next token's target written
    in its place, e_{2j-1} -> (x_j, y_j, 0).  This is the notes' W_Q = [[0, 0], [0, I_off^T]],
    W_V = [[0, 0], [I, -I_off]] with I_off = S^T, the shift with ones ABOVE the diagonal; with
    ones below it (the notes' "lower off-diagonal") the scores would point at the previous token.
    """
    d_x, d_y, N = sizes(d_x=d_x, d_y=d_y, N=N)
    if d_y > d_x:
        raise ArgumentError(f"d_y must be <= d_x = {d_x} (targets are zero-padded to d_x), got {d_y}")
    T = 2 * N + 1
    S = sp.Matrix(T, T, lambda r, c: 1 if r == c + 1 else 0)
    Ycopy = sp.zeros(T, d_x)
    Ycopy[:d_y, d_x - d_y:] = sp.eye(d_y)
    W_K = sp.diag(sp.zeros(d_x, d_x), sp.eye(T))
    W_Q = sp.diag(sp.zeros(d_x, d_x), S)
    W_V = sp.Matrix.vstack(sp.zeros(d_x, d_x + T), sp.Matrix.hstack(Ycopy, -S.T))
    return {"W_K": W_K, "W_Q": W_Q, "W_V": W_V, "P": sp.eye(d_x + T)}


def copy_attention_weights(d_x, d_y, N, beta=None) -> sp.Matrix:
    """Attention of the copy construction, shape (T, T): entry [i, t] is token t's weight on key i.

    Linear attention (``beta=None``): the scores k_i^T q_t = 1 if i = t + 1 else 0, one-hot on the
    next token and independent of the content.  Softmax with logit scale beta: column t < T puts
    e^beta / (e^beta + T - 1) on the next token and tends to one-hot as beta -> oo.
    """
    E = copy_tokens(d_x, d_y, N)
    w = copy_construction(d_x, d_y, N)
    scores = (w["W_K"] * E).T * (w["W_Q"] * E)
    if beta is None:
        return expand(scores)
    weights = (sp.sympify(beta) * scores).applyfunc(sp.exp)
    for t in range(weights.cols):
        weights[:, t] = weights[:, t] / sum(weights[:, t])
    return weights


def copy_layer_residual(d_x, d_y, N, beta=None) -> sp.Matrix:
    """The copy layer merges each x-token with the next target (von Oswald et al. 2023, Prop. 3).

    Returns, for the N context x-tokens and the query (shape (d_x + T, N + 1)), the layer output
    minus the expected tokens: (x_j, y_j, 0) for x-token j and the query unchanged (its next token
    does not exist, so its linear scores vanish).  Keys and values come from all T tokens.  With
    ``beta=None`` the layer is linear and the result is the zero matrix; with a logit scale beta the
    layer is softmax attention and the x-token columns tend to zero as beta -> oo (the query column
    is then an average of all values and is returned as is).
    """
    d_x, d_y, N = sizes(d_x=d_x, d_y=d_y, N=N)
    T = 2 * N + 1
    E = copy_tokens(d_x, d_y, N)
    w = copy_construction(d_x, d_y, N)
    if beta is None:
        out = lsa_layer(E, n_context=T, **w)
    else:
        out = softmax_attention_layer(E, beta=beta, n_context=T, **w)
    cols = list(range(0, T, 2))                       # x-tokens and the query
    expected = E[:, cols]
    for n, t in enumerate(cols[:-1]):
        expected[d_x:, n] = sp.zeros(T, 1)
        expected[d_x:d_x + d_y, n] = E[d_x - d_y:d_x, t + 1]   # y_j into the first d_y slots
    return expand(out[:, cols] - expected)
