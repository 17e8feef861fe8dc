"""Proposition 2 of von Oswald et al. 2023: an MLP followed by one LSA layer is one GD step on features.

The MLP is an arbitrary (symbolic) feature map m: R^d_in -> R^d_feat (undefined sympy functions
``m_k``); the tokens become (m(x_j), y_j), and the Proposition 1 layer on them is one GD step on
L(W) = 1/(2N) sum_i |W m(x_i) - y_i|^2, from W0 = 0 a kernel smoother (eq. 13).
"""
from __future__ import annotations

import sympy as sp

from theory.args import sizes

from theory.lsa.constructions import gd_construction
from theory.lsa.layers import expand, gd_step, lsa_layer, symbolic_initial_model, tokens_after_gd

__all__ = ["mlp_lsa_residual", "kernel_smoother_residual"]


# ----------------------------------------------------------------------------- Proposition 2
def _feature_tokens(d_in, d_feat, N, d_y, W0):
    """Tokens (m(x_j), y_j) and query (m(x_q), -W0 m(x_q)), m_k undefined functions of x."""
    m = [sp.Function(f"m_{k + 1}") for k in range(d_feat)]
    xs = [[sp.Symbol(f"x_{i + 1}_{c + 1}") for c in range(d_in)] for i in range(N)]
    xs.append([sp.Symbol(f"xq_{c + 1}") for c in range(d_in)])
    feats = sp.Matrix(d_feat, N + 1, lambda k, i: m[k](*xs[i]))            # (d_feat, N+1)
    Y = sp.Matrix(d_y, N, lambda k, i: sp.Symbol(f"y_{i + 1}_{k + 1}"))
    return sp.Matrix.vstack(feats, sp.Matrix.hstack(Y, -W0 * feats[:, N])), feats, Y


def mlp_lsa_residual(d_in, d_feat, N, d_y=1) -> sp.Matrix:
    """An MLP on x followed by LSA = one GD step on the features (von Oswald et al. 2023, Prop. 2).

    The MLP (with its residual) maps e_j = (x_j, y_j) to (m(x_j), y_j), m: R^d_in -> R^d_feat an
    arbitrary (symbolic) feature map.  The Proposition 1 layer on these tokens equals one GD step
    on L(W) = 1/(2N) sum_i |W m(x_i) - y_i|^2 from a symbolic W0.  Returns the expanded difference
    of all tokens: the zero matrix.
    """
    d_in, d_feat, N, d_y = sizes(d_in=d_in, d_feat=d_feat, N=N, d_y=d_y)
    eta, W0 = sp.Symbol("eta"), symbolic_initial_model(d_feat, d_y)
    E, feats, Y = _feature_tokens(d_in, d_feat, N, d_y, W0)
    out = lsa_layer(E, **gd_construction(d_feat, d_y, N, eta, W0))
    return expand(out - tokens_after_gd(E, d_feat, W0, gd_step(feats[:, :N], Y, W0, eta)))


def kernel_smoother_residual(d_in, d_feat, N) -> sp.Matrix:
    """MLP + LSA from W0 = 0 predicts (eta/N) sum_i y_i k(x_i, x_q) (von Oswald et al. 2023, eq. 13).

    k(a, b) = sum_k m_k(a) m_k(b) is the kernel of the feature map.  The prediction is minus the
    query's y-slot after the layer.  Returns a 1 x 1 matrix (prediction - kernel smoother): zero.
    """
    d_in, d_feat, N = sizes(d_in=d_in, d_feat=d_feat, N=N)
    eta = sp.Symbol("eta")
    E, feats, Y = _feature_tokens(d_in, d_feat, N, 1, sp.zeros(1, d_feat))
    prediction = -lsa_layer(E, **gd_construction(d_feat, 1, N, eta))[d_feat, N]

    def kernel(i, j):
        return sum(feats[k, i] * feats[k, j] for k in range(d_feat))

    smoother = eta / N * sum(Y[0, i] * kernel(i, N) for i in range(N))
    return sp.Matrix([[sp.expand(prediction - smoother)]])

