"""The GD and GD++ constructions of von Oswald et al. 2023 as exact sympy identities.

Proposition 1 (one LSA layer = one GD step), K stacked layers = K GD steps (Section 3), the GD++
layer (Section 3, eq. 23) and the rescaling freedom of the weights (Section 2).  Each
``*_residual`` function builds a construction on symbolic tokens (:mod:`theory.lsa.layers`) and
returns (layer output) minus (what the paper says the layer computes), expanded: the zero matrix
when the claim holds.  Step sizes are ``eta`` (``eta_k`` per layer), the GD++ scale ``gamma``.
"""
from __future__ import annotations

import sympy as sp

from theory.args import sizes

from theory.lsa.layers import (
    expand,
    gd_step,
    initial_model,
    lsa_layer,
    regression_tokens,
    symbolic_initial_model,
    tokens_after_gd,
)

__all__ = [
    "gd_construction",
    "gdpp_construction",
    "lsa_gd_residual",
    "k_layer_gd_residual",
    "gdpp_residual",
    "rescaling_residual",
]


# ----------------------------------------------------------------------------- constructions
def gd_construction(d_x, d_y, N, eta, W0=None) -> dict:
    """The Proposition 1 weights (von Oswald et al. 2023, Appendix A.1).

    W_K = W_Q = [[I_x, 0], [0, 0]],  W_V = [[0, 0], [W0, -I_y]],  P = (eta/N) I.
    Parameters
    ----------
    d_x, d_y, N : input and output dimensions, context length (integers >= 1).
    eta : step size (number or symbol).
    W0 : initial model, shape (d_y, d_x); default 0.

    Returns
    -------
    dict with keys ``W_K``, ``W_Q``, ``W_V``, ``P`` (ready for ``lsa_layer(E, **w)``).

    Examples
    --------
    >>> gd_construction(1, 1, 2, 4)["P"]
    Matrix([
    [2, 0],
    [0, 2]])
    """
    d_x, d_y, N = sizes(d_x=d_x, d_y=d_y, N=N)
    W0 = initial_model(W0, d_x, d_y)
    sel = sp.diag(sp.eye(d_x), sp.zeros(d_y, d_y))
    W_V = sp.Matrix.vstack(sp.zeros(d_x, d_x + d_y), sp.Matrix.hstack(W0, -sp.eye(d_y)))
    return {"W_K": sel, "W_Q": sel.copy(), "W_V": W_V, "P": sp.sympify(eta) / N * sp.eye(d_x + d_y)}


def gdpp_construction(d_x, d_y, N, eta, gamma, W0=None) -> dict:
    """The GD++ weights (von Oswald et al. 2023, Section 3 and Appendix A.10, eq. 23).

    W_K = W_Q = [[I_x, 0], [0, 0]],  W_V = [[I_x, 0], [W0, -I_y]],
    P = [[-gamma I_x, 0], [0, (eta/N) I_y]]: x_j <- (I - gamma X X^T) x_j plus the GD step.
    """
    w = gd_construction(d_x, d_y, N, eta, W0)
    d_x, d_y = int(d_x), int(d_y)
    w["W_V"][:d_x, :d_x] = sp.eye(d_x)
    w["P"][:d_x, :d_x] = -sp.sympify(gamma) * sp.eye(d_x)
    return w


# ----------------------------------------------------------------------------- Proposition 1 and K layers
def lsa_gd_residual(d_x, d_y, N) -> sp.Matrix:
    """One LSA layer with the Proposition 1 weights minus one GD step (von Oswald et al. 2023, Prop. 1).

    Symbolic tokens (x_j, y_j), query (x_q, -W0 x_q), symbolic W0 (d_y x d_x) and eta.  The layer
    must give (x_j, y_j - dW x_j) for every column, dW = -(eta/N) sum_i (W0 x_i - y_i) x_i^T, so the
    query's y-slot becomes -(W0 + dW) x_q.  Returns the (expanded) difference: the zero matrix.

    Examples
    --------
    >>> lsa_gd_residual(2, 1, 2).is_zero_matrix
    True
    """
    return k_layer_gd_residual(d_x, d_y, N, 1, tied=True)


def k_layer_gd_residual(d_x, d_y, N, K, tied=False) -> sp.Matrix:
    """K stacked Proposition 1 layers minus K GD steps (von Oswald et al. 2023, Section 3).

    Layer k uses step size eta_k (one shared eta when ``tied``, the recurrent model), and the
    same initial W0 in W_V.  After K layers the context y-slots hold y_j - (W_K - W0) x_j and the
    query's y-slot -W_K x_q, where W_{k} = W_{k-1} - (eta_k/N) sum_i (W_{k-1} x_i - y_i) x_i^T.
    Returns the expanded difference of the tokens: the zero matrix of shape (d_x + d_y, N + 1).

    Examples
    --------
    >>> k_layer_gd_residual(1, 1, 2, 2).is_zero_matrix
    True
    """
    d_x, d_y, N, K = sizes(d_x=d_x, d_y=d_y, N=N, K=K)
    W0 = symbolic_initial_model(d_x, d_y)
    E = regression_tokens(d_x, d_y, N, W0)
    X, Y = E[:d_x, :N], E[d_x:, :N]
    etas = [sp.Symbol("eta")] * K if tied else [sp.Symbol(f"eta_{k + 1}") for k in range(K)]
    out, W = E, W0
    for eta in etas:
        out = expand(lsa_layer(out, **gd_construction(d_x, d_y, N, eta, W0)))
        W = expand(gd_step(X, Y, W, eta))
    return expand(out - tokens_after_gd(E, d_x, W0, W))


# ----------------------------------------------------------------------------- GD++
def gdpp_residual(d_x, d_y, N) -> sp.Matrix:
    """One GD++ layer minus its stated update (von Oswald et al. 2023, eq. 23).

    Expected: x_j <- (I - gamma X X^T) x_j for every column (query included; X X^T is the
    Gram matrix of the context inputs, not divided by N), and y_j <- y_j - dW x_j with the GD
    step dW of Proposition 1 computed from the pre-update inputs.  Symbolic W0, eta, gamma.
    Returns the expanded difference: the zero matrix.
    """
    d_x, d_y, N = sizes(d_x=d_x, d_y=d_y, N=N)
    eta, gamma = sp.Symbol("eta"), sp.Symbol("gamma")
    W0 = symbolic_initial_model(d_x, d_y)
    E = regression_tokens(d_x, d_y, N, W0)
    X, Y = E[:d_x, :N], E[d_x:, :N]
    out = lsa_layer(E, **gdpp_construction(d_x, d_y, N, eta, gamma, W0))
    expected = tokens_after_gd(E, d_x, W0, gd_step(X, Y, W0, eta))
    expected[:d_x, :] = (sp.eye(d_x) - gamma * X * X.T) * E[:d_x, :]
    return expand(out - expected)


# ----------------------------------------------------------------------------- rescaling
def rescaling_residual(d_x, d_y, N) -> sp.Matrix:
    """Only P W_V and W_K^T W_Q matter, up to (s P W_V, W_K^T W_Q / s) (von Oswald et al. 2023, Sec. 2).

    Generic symbolic tokens (D x (N+1)), generic symbolic W_K, W_Q, W_V, P (D x D) and a scalar
    s: lsa_layer(E, W_K, W_Q, W_V, P) - lsa_layer(E, I, W_K^T W_Q / s, I, s P W_V), expanded:
    the zero matrix.
    """
    d_x, d_y, N = sizes(d_x=d_x, d_y=d_y, N=N)
    D = d_x + d_y
    E = sp.Matrix(D, N + 1, lambda r, c: sp.Symbol(f"e_{c + 1}_{r + 1}"))
    W_K, W_Q, W_V, P = (sp.Matrix(D, D, lambda r, c, n=n: sp.Symbol(f"{n}_{r + 1}_{c + 1}"))
                        for n in ("k", "q", "v", "p"))
    s = sp.Symbol("s", nonzero=True)
    I = sp.eye(D)
    return expand(lsa_layer(E, W_K, W_Q, W_V, P) - lsa_layer(E, I, W_K.T * W_Q / s, I, s * P * W_V))

