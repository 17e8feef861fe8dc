"""Attention layers, regression tokens and the GD step of von Oswald et al. 2023 as exact sympy maps.

A linear self-attention (LSA) layer maps the tokens E (columns e_1 .. e_T) to

    e_j <- e_j + P W_V (sum_{i in ctx} e_i e_i^T) W_K^T W_Q e_j            (paper eq. 6)

with keys and values from the context columns only (the first ``n_context``, by default
all but the last one, the query) and queries for every column.

Symbols: x_{i,k} is ``x_i_k`` (context input i, coordinate k), the query input is
``xq_k``, targets ``y_i_k``, the initial model W0 has entries ``w0_r_c``.

Besides the layers, this module owns the small helpers the construction modules
(:mod:`theory.lsa.constructions`, :mod:`theory.lsa.features`, :mod:`theory.lsa.copying`,
:mod:`theory.lsa.gdpp`) share: :func:`expand`, :func:`initial_model`,
:func:`symbolic_initial_model` and :func:`tokens_after_gd`.
"""
from __future__ import annotations

import sympy as sp

from theory.args import ArgumentError, integer, sizes

__all__ = [
    "lsa_layer",
    "softmax_attention_layer",
    "regression_tokens",
    "gd_step",
    "expand",
    "initial_model",
    "symbolic_initial_model",
    "tokens_after_gd",
]


# ----------------------------------------------------------------------------- shared helpers
def expand(M: sp.Matrix) -> sp.Matrix:
    """``M`` with every entry expanded (the form in which a residual is exactly the zero matrix)."""
    return M.applyfunc(sp.expand)


def _matrix(value, name: str, shape: tuple[int, int]) -> sp.Matrix:
    M = sp.Matrix(value)
    if M.shape != shape:
        raise ArgumentError(f"{name} must have shape {shape}, got {M.shape}")
    return M


def initial_model(W0, d_x: int, d_y: int) -> sp.Matrix:
    """The initial model W0 of shape (d_y, d_x) as a Matrix (the zero matrix when ``W0`` is None)."""
    if W0 is None:
        return sp.zeros(d_y, d_x)
    return _matrix(W0, "W0", (d_y, d_x))


def symbolic_initial_model(d_x: int, d_y: int) -> sp.Matrix:
    """A generic initial model: the (d_y, d_x) Matrix of symbols ``w0_r_c``."""
    return sp.Matrix(d_y, d_x, lambda r, c: sp.Symbol(f"w0_{r + 1}_{c + 1}"))


def tokens_after_gd(E: sp.Matrix, d_x: int, W0: sp.Matrix, W: sp.Matrix) -> sp.Matrix:
    """Tokens after GD from W0 to W: context (x_j, y_j - (W - W0) x_j), query (x_q, -W x_q).

    ``E`` holds the tokens (x_j, y_j) and the query (x_q, -W0 x_q) as columns; the inputs (the
    first ``d_x`` rows) are unchanged and every y-slot moves by -(W - W0) x_j.
    """
    out = E.copy()
    out[d_x:, :] = E[d_x:, :] - (W - W0) * E[:d_x, :]
    return out


def _check_layer(E, W_K, W_Q, W_V, P, n_context):
    E = sp.Matrix(E)
    D, T = E.shape
    mats = [_matrix(M, name, (D, D)) if name in ("W_V", "P") else sp.Matrix(M)
            for M, name in ((W_K, "W_K"), (W_Q, "W_Q"), (W_V, "W_V"), (P, "P"))]
    W_K, W_Q, W_V, P = mats
    if W_K.cols != D or W_Q.cols != D or W_K.rows != W_Q.rows:
        raise ArgumentError(f"W_K and W_Q must both have shape (key_size, {D}), got {W_K.shape} and {W_Q.shape}")
    n_ctx = T - 1 if n_context is None else integer(n_context, "n_context", minimum=1)
    if n_ctx > T:
        raise ArgumentError(f"n_context must be between 1 and the number of tokens {T}, got {n_ctx}")
    return E, W_K, W_Q, W_V, P, n_ctx


# ----------------------------------------------------------------------------- layers
def lsa_layer(E, W_K, W_Q, W_V, P, n_context=None) -> sp.Matrix:
    """One linear self-attention layer with a residual (von Oswald et al. 2023, eq. 6).

    E holds the tokens as columns, shape (D, T).  Keys k_i = W_K e_i and values v_i = W_V e_i
    come from the first ``n_context`` columns (default T - 1: the query is excluded);
    queries q_j = W_Q e_j from all T columns:  e_j <- e_j + P sum_i v_i (k_i^T q_j).

    Parameters
    ----------
    E : tokens as columns, shape (D, T).
    W_K, W_Q : key and query weights, shape (key_size, D).
    W_V, P : value and projection weights, shape (D, D).
    n_context : number of leading columns that give keys and values (default T - 1).

    Returns
    -------
    Matrix of shape (D, T), exact.

    Examples
    --------
    >>> lsa_layer([[1, 2, 3]], [[1]], [[1]], [[1]], [[1]])
    Matrix([[6, 12, 18]])
    """
    E, W_K, W_Q, W_V, P, n_ctx = _check_layer(E, W_K, W_Q, W_V, P, n_context)
    Ec = E[:, :n_ctx]                    # (D, n_ctx)
    scores = (W_K * Ec).T * (W_Q * E)    # (n_ctx, T): k_i^T q_j
    return E + P * (W_V * Ec) * scores   # (D, T)


def softmax_attention_layer(E, W_K, W_Q, W_V, P, beta=1, n_context=None) -> sp.Matrix:
    """One softmax self-attention layer with a residual (von Oswald et al. 2023, eq. 1).

    e_j <- e_j + P sum_i v_i softmax_i(beta k_i^T q_j), the softmax taken over the
    ``n_context`` keys (default T - 1) for each query column j; ``beta`` is the logit scale.
    """
    E, W_K, W_Q, W_V, P, n_ctx = _check_layer(E, W_K, W_Q, W_V, P, n_context)
    Ec = E[:, :n_ctx]
    logits = sp.sympify(beta) * (W_K * Ec).T * (W_Q * E)      # (n_ctx, T)
    weights = logits.applyfunc(sp.exp)
    for j in range(weights.cols):
        total = sum(weights[:, j])
        weights[:, j] = weights[:, j] / total
    return E + P * (W_V * Ec) * weights


def regression_tokens(d_x, d_y, N, W0=None) -> sp.Matrix:
    """Symbolic tokens of the paper's concatenated layout, shape (d_x + d_y, N + 1).

    Columns e_j = (x_j, y_j) for j = 1..N and the query e_{N+1} = (x_q, -W0 x_q)
    (von Oswald et al. 2023, Section 2; W0 = 0 gives the query (x_q, 0)).

    Examples
    --------
    >>> regression_tokens(1, 1, 2)
    Matrix([
    [x_1_1, x_2_1, xq_1],
    [y_1_1, y_2_1,    0]])
    """
    d_x, d_y, N = sizes(d_x=d_x, d_y=d_y, N=N)
    W0 = initial_model(W0, d_x, d_y)
    X = sp.Matrix(d_x, N, lambda k, i: sp.Symbol(f"x_{i + 1}_{k + 1}"))
    Y = sp.Matrix(d_y, N, lambda k, i: sp.Symbol(f"y_{i + 1}_{k + 1}"))
    xq = sp.Matrix(d_x, 1, lambda k, _: sp.Symbol(f"xq_{k + 1}"))
    return sp.Matrix.vstack(sp.Matrix.hstack(X, xq), sp.Matrix.hstack(Y, -W0 * xq))


def gd_step(X, Y, W, eta) -> sp.Matrix:
    """One GD step on L(W) = 1/(2N) sum_i |W x_i - y_i|^2 (von Oswald et al. 2023, eq. 3).

    W - (eta/N) sum_i (W x_i - y_i) x_i^T, with X of shape (d_x, N) and Y of shape (d_y, N).

    Examples
    --------
    >>> gd_step([[1, 2]], [[1, 2]], [[0]], 1)
    Matrix([[5/2]])
    """
    X, Y, W = sp.Matrix(X), sp.Matrix(Y), sp.Matrix(W)
    if Y.cols != X.cols:
        raise ArgumentError(f"Y must have {X.cols} columns like X, got {Y.cols}")
    if W.shape != (Y.rows, X.rows):
        raise ArgumentError(f"W must have shape {(Y.rows, X.rows)}, got {W.shape}")
    return W - sp.sympify(eta) / X.cols * (W * X - Y) * X.T
