"""Token constructions of von Oswald et al. 2023 as exact sympy identities.

A linear self-attention (LSA) layer maps the tokens E (columns e_1 .. e_T) to

    e_j <- e_j + P W_V (sum_{i in ctx} e_i e_i^T) W_K^T W_Q e_j            (paper eq. 6)

with keys and values from the context columns only (the first ``n_context``, by default
all but the last one, the query) and queries for every column.  Each ``*_residual``
function builds a construction on symbolic tokens and returns (layer output) minus (what
the paper says the layer computes), expanded: the zero matrix when the claim holds.

Symbols: x_{i,k} is ``x_i_k`` (context input i, coordinate k), the query input is
``xq_k``, targets ``y_i_k``, the initial model W0 has entries ``w0_r_c``; step sizes
``eta`` (``eta_k`` per layer), the GD++ scale ``gamma``.
"""
from __future__ import annotations

import sympy as sp

__all__ = [
    "lsa_layer",
    "softmax_attention_layer",
    "regression_tokens",
    "gd_step",
    "gd_construction",
    "gdpp_construction",
    "lsa_gd_residual",
    "k_layer_gd_residual",
    "gdpp_residual",
    "gdpp_hessian_residual",
    "rescaling_residual",
    "mlp_lsa_residual",
    "kernel_smoother_residual",
    "copy_construction",
    "copy_tokens",
    "copy_attention_weights",
    "copy_layer_residual",
]


# ----------------------------------------------------------------------------- helpers
def _size(value, name: str, minimum: int = 1) -> int:
    """A concrete integer size >= minimum (constructions need explicit matrices)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    expr = sp.sympify(value)
    if not (expr.is_Integer and expr >= minimum):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(expr)


def _matrix(value, name: str, shape: tuple[int, int]) -> sp.Matrix:
    M = sp.Matrix(value)
    if M.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {M.shape}")
    return M


def _w0(W0, d_x: int, d_y: int) -> sp.Matrix:
    if W0 is None:
        return sp.zeros(d_y, d_x)
    return _matrix(W0, "W0", (d_y, d_x))


def _symbolic_w0(d_x: int, d_y: int) -> sp.Matrix:
    return sp.Matrix(d_y, d_x, lambda r, c: sp.Symbol(f"w0_{r + 1}_{c + 1}"))


def _expand(M: sp.Matrix) -> sp.Matrix:
    return M.applyfunc(sp.expand)


def _check_layer(E, W_K, W_Q, W_V, P, n_context):
    E = sp.Matrix(E)
    D, T = E.shape
    mats = [_matrix(M, name, (D, D)) if name in ("W_V", "P") else sp.Matrix(M)
            for M, name in ((W_K, "W_K"), (W_Q, "W_Q"), (W_V, "W_V"), (P, "P"))]
    W_K, W_Q, W_V, P = mats
    if W_K.cols != D or W_Q.cols != D or W_K.rows != W_Q.rows:
        raise ValueError(f"W_K and W_Q must both have shape (key_size, {D}), got {W_K.shape} and {W_Q.shape}")
    n_ctx = T - 1 if n_context is None else _size(n_context, "n_context")
    if n_ctx > T:
        raise ValueError(f"n_context must be between 1 and the number of tokens {T}, got {n_ctx}")
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
    d_x, d_y, N = _size(d_x, "d_x"), _size(d_y, "d_y"), _size(N, "N")
    W0 = _w0(W0, d_x, d_y)
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
        raise ValueError(f"Y must have {X.cols} columns like X, got {Y.cols}")
    if W.shape != (Y.rows, X.rows):
        raise ValueError(f"W must have shape {(Y.rows, X.rows)}, got {W.shape}")
    return W - sp.sympify(eta) / X.cols * (W * X - Y) * X.T


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
    d_x, d_y, N = _size(d_x, "d_x"), _size(d_y, "d_y"), _size(N, "N")
    W0 = _w0(W0, d_x, d_y)
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


def _gd_expected(E, d_x, X, Y, W0, W):
    """Tokens after GD from W0 to W: context (x_j, y_j - (W - W0) x_j), query (x_q, -W x_q)."""
    out = E.copy()
    out[d_x:, :] = E[d_x:, :] - (W - W0) * E[:d_x, :]
    return out


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
    d_x, d_y, N, K = _size(d_x, "d_x"), _size(d_y, "d_y"), _size(N, "N"), _size(K, "K")
    W0 = _symbolic_w0(d_x, d_y)
    E = regression_tokens(d_x, d_y, N, W0)
    X, Y = E[:d_x, :N], E[d_x:, :N]
    etas = [sp.Symbol("eta")] * K if tied else [sp.Symbol(f"eta_{k + 1}") for k in range(K)]
    out, W = E, W0
    for eta in etas:
        out = _expand(lsa_layer(out, **gd_construction(d_x, d_y, N, eta, W0)))
        W = _expand(gd_step(X, Y, W, eta))
    return _expand(out - _gd_expected(E, d_x, X, Y, W0, W))


# ----------------------------------------------------------------------------- GD++
def gdpp_residual(d_x, d_y, N) -> sp.Matrix:
    """One GD++ layer minus its stated update (von Oswald et al. 2023, eq. 23).

    Expected: x_j <- (I - gamma X X^T) x_j for every column (query included; X X^T is the
    Gram matrix of the context inputs, not divided by N), and y_j <- y_j - dW x_j with the GD
    step dW of Proposition 1 computed from the pre-update inputs.  Symbolic W0, eta, gamma.
    Returns the expanded difference: the zero matrix.
    """
    d_x, d_y, N = _size(d_x, "d_x"), _size(d_y, "d_y"), _size(N, "N")
    eta, gamma = sp.Symbol("eta"), sp.Symbol("gamma")
    W0 = _symbolic_w0(d_x, d_y)
    E = regression_tokens(d_x, d_y, N, W0)
    X, Y = E[:d_x, :N], E[d_x:, :N]
    out = lsa_layer(E, **gdpp_construction(d_x, d_y, N, eta, gamma, W0))
    expected = _gd_expected(E, d_x, X, Y, W0, gd_step(X, Y, W0, eta))
    expected[:d_x, :] = (sp.eye(d_x) - gamma * X * X.T) * E[:d_x, :]
    return _expand(out - expected)


def gdpp_hessian_residual(d_x, N) -> sp.Matrix:
    """H++ minus f(H) for the GD++ input map (von Oswald et al. 2023, eq. 24-25).

    With H = X X^T and X' = (I - gamma H) X:  X' X'^T = (I - gamma H) H (I - gamma H)
    = H - 2 gamma H^2 + gamma^2 H^3 = f(H), so every eigenvalue maps by
    f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 (``gdpp_eigenvalue_map``).  Returns the zero matrix.
    """
    d_x, N = _size(d_x, "d_x"), _size(N, "N")
    gamma = sp.Symbol("gamma")
    X = sp.Matrix(d_x, N, lambda k, i: sp.Symbol(f"x_{i + 1}_{k + 1}"))
    H = X * X.T
    Xpp = (sp.eye(d_x) - gamma * H) * X
    return _expand(Xpp * Xpp.T - (H - 2 * gamma * H**2 + gamma**2 * H**3))


# ----------------------------------------------------------------------------- rescaling
def rescaling_residual(d_x, d_y, N) -> sp.Matrix:
    """Only P W_V and W_K^T W_Q matter, up to (s P W_V, W_K^T W_Q / s) (von Oswald et al. 2023, Sec. 2).

    Generic symbolic tokens (D x (N+1)), generic symbolic W_K, W_Q, W_V, P (D x D) and a scalar
    s: lsa_layer(E, W_K, W_Q, W_V, P) - lsa_layer(E, I, W_K^T W_Q / s, I, s P W_V), expanded:
    the zero matrix.
    """
    D = _size(d_x, "d_x") + _size(d_y, "d_y")
    N = _size(N, "N")
    E = sp.Matrix(D, N + 1, lambda r, c: sp.Symbol(f"e_{c + 1}_{r + 1}"))
    W_K, W_Q, W_V, P = (sp.Matrix(D, D, lambda r, c, n=n: sp.Symbol(f"{n}_{r + 1}_{c + 1}"))
                        for n in ("k", "q", "v", "p"))
    s = sp.Symbol("s", nonzero=True)
    I = sp.eye(D)
    return _expand(lsa_layer(E, W_K, W_Q, W_V, P) - lsa_layer(E, I, W_K.T * W_Q / s, I, s * P * W_V))


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
    d_in, d_feat, N, d_y = _size(d_in, "d_in"), _size(d_feat, "d_feat"), _size(N, "N"), _size(d_y, "d_y")
    eta, W0 = sp.Symbol("eta"), _symbolic_w0(d_feat, d_y)
    E, feats, Y = _feature_tokens(d_in, d_feat, N, d_y, W0)
    out = lsa_layer(E, **gd_construction(d_feat, d_y, N, eta, W0))
    return _expand(out - _gd_expected(E, d_feat, feats[:, :N], Y, W0, gd_step(feats[:, :N], Y, W0, eta)))


def kernel_smoother_residual(d_in, d_feat, N) -> sp.Matrix:
    """MLP + LSA from W0 = 0 predicts (eta/N) sum_i y_i k(x_i, x_q) (von Oswald et al. 2023, eq. 13).

    k(a, b) = sum_k m_k(a) m_k(b) is the kernel of the feature map.  The prediction is minus the
    query's y-slot after the layer.  Returns a 1 x 1 matrix (prediction - kernel smoother): zero.
    """
    d_in, d_feat, N = _size(d_in, "d_in"), _size(d_feat, "d_feat"), _size(N, "N")
    eta = sp.Symbol("eta")
    E, feats, Y = _feature_tokens(d_in, d_feat, N, 1, sp.zeros(1, d_feat))
    prediction = -lsa_layer(E, **gd_construction(d_feat, 1, N, eta))[d_feat, N]

    def kernel(i, j):
        return sum(feats[k, i] * feats[k, j] for k in range(d_feat))

    smoother = eta / N * sum(Y[0, i] * kernel(i, N) for i in range(N))
    return sp.Matrix([[sp.expand(prediction - smoother)]])


# ----------------------------------------------------------------------------- Proposition 3
def copy_tokens(d_x, d_y, N) -> sp.Matrix:
    """Interleaved tokens with one-hot positions, shape (d_x + T, T), T = 2N + 1 (paper Section 4).

    Column t (1-based) is (c_t, p_t): c = x_j for t = 2j - 1, c = (0_{d_x - d_y}, y_j) for t = 2j,
    c = x_q for t = T; p_t = e_t in R^T is the one-hot positional encoding.
    """
    d_x, d_y, N = _size(d_x, "d_x"), _size(d_y, "d_y"), _size(N, "N")
    if d_y > d_x:
        raise ValueError(f"d_y must be <= d_x = {d_x} (targets are zero-padded to d_x), got {d_y}")
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
    d_x, d_y, N = _size(d_x, "d_x"), _size(d_y, "d_y"), _size(N, "N")
    if d_y > d_x:
        raise ValueError(f"d_y must be <= d_x = {d_x} (targets are zero-padded to d_x), got {d_y}")
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
        return _expand(scores)
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
    d_x, d_y, N = _size(d_x, "d_x"), _size(d_y, "d_y"), _size(N, "N")
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
    return _expand(out[:, cols] - expected)
