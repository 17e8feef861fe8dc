"""The population loss of one linear self-attention layer over its weights (derived here).

Setting (von Oswald et al. 2023, Section 2; the convention of ``API.md``): tokens e_i = (x_i, y_i)
in R^(d+1), i = 1..N, query e_q = (x_q, 0); w ~ N(0, task_var I_d), x_i, x_q i.i.d. from ``law``,
y = w.x + eps, eps ~ N(0, noise_var) for context and query labels alike. One layer with
W_KQ = W_K^T W_Q and W_PV = P W_V, both (d+1) x (d+1), predicts

    y_hat = -[ sum_i W_PV e_i e_i^T W_KQ e_q ]_(d+1) = p^T M Q x_q,

with M = sum_i e_i e_i^T, p = -(last row of W_PV) and Q = the first d columns of W_KQ (only these
entries reach the prediction). The loss is L = 1/2 E (y_hat - y_q)^2. [derived]

**The loss as two moment tensors.** x_q is independent of M, so with K = Q Sigma Q^T
(Sigma = E x x^T),

    L = 1/2 sum p_a p_b K_cd F[a, c, d, b]  -  sum p_a G[a, c, j] (Q Sigma)_cj  +  1/2 (task_var tr Sigma + noise_var),

F[a, c, d, b] = E[M_ac M_db] = N E[e_a e_c e_d e_b] + N (N - 1) E_w[S_ac(w) S_db(w)],
S(w) = E[e e^T | w], and G[a, c, j] = E[M_ac w_j]. Both hold only moments of x up to the fourth
(:func:`input_moments`) and of w and eps, so the loss is exact, for any law with four moments
and any weights (numbers or symbols): :func:`population_loss`.

**What the weights do: an effective preconditioner and a left-over.** Write p = (p_x, c) and
Q = [Q_x; q_y^T]. Then y_hat splits into the part odd in (w, eps) and the part even in it:

    y_hat = sum_i y_i x_i^T Gamma x_q  +  sum_i [ (p_x.x_i)(x_i^T Q_x x_q) + c y_i^2 (q_y.x_q) ],
    Gamma = c Q_x + p_x q_y^T,

and (w, eps) -> -(w, eps) leaves the law of everything unchanged while flipping the labels, so the
cross term vanishes:

    L(W_KQ, W_PV) = L_GD(Gamma) + 1/2 E[even part^2],

where L_GD(Gamma) is the loss of one preconditioned GD step y_hat = sum_i y_i x_i^T Gamma x_q
(Gamma = (eta / N) I is one plain GD step with step size eta). The left-over is a second moment,
hence >= 0, and it is 0 when p_x = 0 and c q_y = 0 (the Proposition 1 weights). So the minimum over
the weights is the minimum of the convex quadratic L_GD over Gamma: for a law invariant under signed
permutations of the coordinates (Gaussian, uniform, Rademacher, sparse-axis, sphere) that minimiser
is a multiple of I (average a minimiser over the group; the loss is convex), i.e. the Proposition 1
weights at eta* are a global minimiser with the loss :func:`theory.lsa.optimal_one_step_loss`; for
x ~ N(0, Lambda) it is Gamma = Gamma_ZFB / N, the preconditioner of Zhang, Frei and Bartlett 2024
(:func:`theory.lsa.zfb_preconditioner`). [derived] :func:`population_loss_parts` returns the
two parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import sympy as sp

from theory.args import ArgumentError, ArgumentKindError, symbolic_integer, symbolic_nonnegative, symbolic_positive
from theory.laws import Law, as_law

__all__ = [
    "CovarianceGaussian",
    "input_moments",
    "population_loss",
    "population_gradient",
    "population_loss_parts",
    "effective_preconditioner",
    "preconditioned_weights",
]


@dataclass(frozen=True)
class CovarianceGaussian:
    """x ~ N(0, Lambda) for a symmetric positive definite d x d ``Lambda`` (any sympy entries).

    Not a :class:`theory.laws.Law` (its coordinates are not exchangeable); accepted as the ``law``
    of the population loss, where only the second and fourth moments of x enter.
    """

    Lambda: sp.ImmutableMatrix

    def __post_init__(self):
        try:
            L = sp.ImmutableMatrix(self.Lambda)
        except (TypeError, ValueError, sp.SympifyError):
            raise ArgumentKindError(f"Lambda must be a square matrix, got {self.Lambda!r}") from None
        if L.rows != L.cols or L.rows < 1:
            raise ArgumentError(f"Lambda must be a square d x d matrix, got shape {L.shape}")
        if L != L.T:
            raise ArgumentError("Lambda must be symmetric")
        object.__setattr__(self, "Lambda", L)

    @property
    def d(self) -> int:
        return self.Lambda.rows


def _pattern(index: tuple[int, ...]) -> tuple[int, ...]:
    """The powers of a monomial x_index[0] x_index[1] ... on distinct coordinates, largest first."""
    counts: dict[int, int] = {}
    for k in index:
        counts[k] = counts.get(k, 0) + 1
    return tuple(sorted(counts.values(), reverse=True))


def input_moments(law, d: int) -> tuple[sp.Matrix, dict]:
    """(Sigma, M4): E[x x^T] as a d x d Matrix and E[x_j x_k x_l x_m] as a dict keyed by (j, k, l, m).

    ``law`` is a :class:`theory.laws.Law` (or its spelling), whose moments depend only on the
    pattern of repeated coordinates, or a :class:`CovarianceGaussian` (Isserlis' theorem).

    Examples
    --------
    >>> Sigma, M4 = input_moments("gaussian(1)", 2)
    >>> Sigma, M4[0, 0, 0, 0], M4[0, 0, 1, 1], M4[0, 1, 0, 1], M4[0, 0, 0, 1]
    (Matrix([
    [1, 0],
    [0, 1]]), 3, 1, 1, 0)
    """
    if isinstance(law, CovarianceGaussian):
        if law.d != d:
            raise ArgumentError(f"d = {d} does not match the {law.d} x {law.d} covariance of the law")
        L = law.Lambda
        M4 = {(j, k, l, m): L[j, k] * L[l, m] + L[j, l] * L[k, m] + L[j, m] * L[k, l]
              for j, k, l, m in product(range(d), repeat=4)}
        return sp.Matrix(L), M4
    law = as_law(law)
    cache: dict[tuple[int, ...], sp.Expr] = {}

    def moment(index):
        key = _pattern(index)
        if key not in cache:
            cache[key] = sp.sympify(law.moment(key, d))
        return cache[key]

    Sigma = sp.Matrix(d, d, lambda j, k: moment((j, k)))
    M4 = {idx: moment(idx) for idx in product(range(d), repeat=4)}
    return Sigma, M4


def _moment_tensors(d: int, N, Sigma: sp.Matrix, M4: dict, noise_var, task_var):
    """F[a, c, e, b] = E[M_ac M_eb] and G[a, c, j] = E[M_ac w_j] as dicts of their non-zero entries
    (indices 0..d, d the label), from the closed forms in the module docstring."""
    tau, s2 = task_var, noise_var
    y = d
    xs = range(d)
    trS = Sigma.trace()
    S2 = Sigma * Sigma
    M4_trace = {(j, k): sum((M4[j, k, l, l] for l in xs), sp.Integer(0)) for j in xs for k in xs}  # sum_l M4_jkll

    def e4(idx):  # E[e_a e_c e_e e_b] over w, x, eps
        ys = [i for i in idx if i == y]
        xi = [i for i in idx if i != y]
        if len(ys) == 0:
            return M4[tuple(xi)]
        if len(ys) == 2:
            j, k = xi
            return tau * M4_trace[j, k] + s2 * Sigma[j, k]
        if len(ys) == 4:
            return 3 * tau**2 * sum((M4_trace[j, j] for j in xs), sp.Integer(0)) + 6 * s2 * tau * trS + 3 * s2**2
        return sp.Integer(0)

    def ss(a, c, e, b):  # E_w[S_ac(w) S_eb(w)]
        first, second = (a == y) + (c == y), (e == y) + (b == y)
        if first == 0 and second == 0:
            return Sigma[a, c] * Sigma[e, b]
        if (first, second) in ((0, 2), (2, 0)):
            j, k = (e, b) if first == 2 else (a, c)
            return Sigma[j, k] * (tau * trS + s2)
        if first == 1 and second == 1:
            j = c if a == y else a
            l = b if e == y else e
            return tau * S2[j, l]
        if first == 2 and second == 2:
            return tau**2 * (trS**2 + 2 * S2.trace()) + 2 * s2 * tau * trS + s2**2
        return sp.Integer(0)

    F = {}
    for idx in product(range(d + 1), repeat=4):
        value = N * e4(idx) + N * (N - 1) * ss(*idx)
        if value != 0:
            F[idx] = value
    G = {}
    for k in xs:
        for j in xs:
            if Sigma[k, j] != 0:
                G[k, y, j] = G[y, k, j] = N * tau * Sigma[k, j]
    return F, G


def _check_weights(W_KQ, W_PV, d: int) -> tuple[sp.Matrix, sp.Matrix]:
    out = []
    for name, W in (("W_KQ", W_KQ), ("W_PV", W_PV)):
        try:
            W = sp.Matrix(W)
        except (TypeError, ValueError, sp.SympifyError):
            raise ArgumentKindError(f"{name} must be a (d+1) x (d+1) matrix, got {W!r}") from None
        if W.shape != (d + 1, d + 1):
            raise ArgumentError(f"{name} must be (d+1) x (d+1) = {d + 1} x {d + 1}, got {W.shape[0]} x {W.shape[1]}")
        out.append(W)
    return out[0], out[1]


def _args(W_KQ, W_PV, d, N, law, noise_var, task_var):
    d = int(symbolic_integer(d, "d", 1, allow_oo=False)) if sp.sympify(d).is_number else None
    if d is None:
        raise ArgumentError("d must be a number (the weights are d+1 x d+1 matrices)")
    W_KQ, W_PV = _check_weights(W_KQ, W_PV, d)
    N = symbolic_integer(N, "N", 1)
    if not isinstance(law, CovarianceGaussian):
        law = as_law(law)
    return (W_KQ, W_PV, d, N, law, symbolic_nonnegative(noise_var, "noise_var"),
            symbolic_positive(task_var, "task_var"))


def _loss(W_KQ, W_PV, d, N, law, noise_var, task_var) -> sp.Expr:
    Sigma, M4 = input_moments(law, d)
    F, G = _moment_tensors(d, N, Sigma, M4, noise_var, task_var)
    p = -W_PV[d, :].T  # (d+1,)
    Q = W_KQ[:, :d]  # (d+1, d)
    K = Q * Sigma * Q.T  # (d+1, d+1)
    QS = Q * Sigma  # (d+1, d)
    quadratic = sum((v * p[a] * p[b] * K[c, e] for (a, c, e, b), v in F.items()), sp.Integer(0))
    linear = sum((v * p[a] * QS[c, j] for (a, c, j), v in G.items()), sp.Integer(0))
    return sp.expand(quadratic / 2 - linear + (task_var * Sigma.trace() + noise_var) / 2)


def population_loss(W_KQ, W_PV, d, N, law, noise_var=0, task_var=1) -> sp.Expr:
    """The population loss 1/2 E (y_hat - y_q)^2 of one LSA layer with weights W_KQ, W_PV. [derived]

    Parameters
    ----------
    W_KQ, W_PV : (d+1) x (d+1) matrices (entries numbers or symbols), the convention of the module
        docstring (y_hat = -[W_PV M W_KQ e_q]_(d+1)).
    d : input dimension, an integer >= 1.
    N : context length, an integer >= 1 (or a symbol).
    law : the law of x_i and x_q: a :class:`theory.laws.Law`, its spelling, or a
        :class:`CovarianceGaussian`.
    noise_var, task_var : label-noise variance (>= 0) and task variance (> 0), w ~ N(0, task_var I).

    Examples
    --------
    The Proposition 1 weights give one GD step, so the loss is :func:`theory.lsa.one_step_loss`:

    >>> eta, d = sp.Symbol("eta"), 2
    >>> W_KQ, W_PV = preconditioned_weights(eta * sp.eye(d) / 3)  # Gamma = (eta / N) I, N = 3
    >>> from theory.lsa import one_step_loss
    >>> sp.simplify(population_loss(W_KQ, W_PV, d, 3, "gaussian(1)") - one_step_loss(eta, d, 3, "gaussian(1)"))
    0
    """
    return _loss(*_args(W_KQ, W_PV, d, N, law, noise_var, task_var))


def population_gradient(W_KQ, W_PV, d, N, law, noise_var=0, task_var=1) -> tuple[sp.Matrix, sp.Matrix]:
    """The gradient of :func:`population_loss` with respect to W_KQ and W_PV, entry by entry (exact).

    Only the first d columns of W_KQ and the last row of W_PV reach the prediction; the other
    entries of the gradient are 0.

    Examples
    --------
    The Proposition 1 weights at the optimal step size are a stationary point:

    >>> from theory.lsa import optimal_step_size
    >>> eta = optimal_step_size(2, 3, "gaussian(1)")
    >>> G_KQ, G_PV = population_gradient(*preconditioned_weights(eta * sp.eye(2) / 3), 2, 3, "gaussian(1)")
    >>> G_KQ.is_zero_matrix, G_PV.is_zero_matrix
    (True, True)
    """
    W_KQ, W_PV, d, N, law, noise_var, task_var = _args(W_KQ, W_PV, d, N, law, noise_var, task_var)
    kq = sp.Matrix(d + 1, d + 1, lambda i, j: sp.Symbol(f"_kq_{i}_{j}"))
    pv = sp.Matrix(d + 1, d + 1, lambda i, j: sp.Symbol(f"_pv_{i}_{j}"))
    loss = _loss(kq, pv, d, N, law, noise_var, task_var)
    at = {**dict(zip(kq, W_KQ)), **dict(zip(pv, W_PV))}
    grad_kq = kq.applyfunc(lambda s: sp.expand(sp.diff(loss, s).xreplace(at)))
    grad_pv = pv.applyfunc(lambda s: sp.expand(sp.diff(loss, s).xreplace(at)))
    return grad_kq, grad_pv


def effective_preconditioner(W_KQ, W_PV, d) -> sp.Matrix:
    """Gamma = c Q_x + p_x q_y^T: the part of the prediction odd in the labels is
    sum_i y_i x_i^T Gamma x_q, one preconditioned GD step (Gamma = (eta / N) I: one GD step). [derived]

    Examples
    --------
    >>> W_KQ, W_PV = preconditioned_weights(sp.Matrix([[1, 2], [3, 4]]))
    >>> effective_preconditioner(W_KQ, W_PV, 2)
    Matrix([
    [1, 2],
    [3, 4]])
    """
    d = int(symbolic_integer(d, "d", 1))
    W_KQ, W_PV = _check_weights(W_KQ, W_PV, d)
    p = -W_PV[d, :].T
    p_x, c = p[:d, :], p[d]
    Q_x, q_y = W_KQ[:d, :d], W_KQ[d, :d].T
    return sp.expand(c * Q_x + p_x * q_y.T)


def preconditioned_weights(Gamma) -> tuple[sp.Matrix, sp.Matrix]:
    """Weights whose prediction is exactly sum_i y_i x_i^T Gamma x_q (Proposition 1's form:
    W_KQ = diag(Gamma, 0), W_PV = diag(0_d, -1)); Gamma = (eta / N) I is the paper's construction
    with W_PV = (eta / N) diag(0, -1) rescaled into W_KQ.

    Examples
    --------
    >>> preconditioned_weights(sp.eye(1) / 2)
    (Matrix([
    [1/2, 0],
    [  0, 0]]), Matrix([
    [0,  0],
    [0, -1]]))
    """
    Gamma = sp.Matrix(Gamma)
    if Gamma.rows != Gamma.cols:
        raise ArgumentError(f"Gamma must be square, got shape {Gamma.shape}")
    d = Gamma.rows
    W_KQ = sp.zeros(d + 1, d + 1)
    W_KQ[:d, :d] = Gamma
    W_PV = sp.zeros(d + 1, d + 1)
    W_PV[d, d] = -1
    return W_KQ, W_PV


def population_loss_parts(W_KQ, W_PV, d, N, law, noise_var=0, task_var=1) -> dict:
    """The loss split as L = L_GD(Gamma) + left-over (module docstring). [derived]

    Returns
    -------
    dict with ``Gamma`` (:func:`effective_preconditioner`), ``gd`` (L_GD(Gamma), the loss of the
    preconditioned GD step with that Gamma), ``leftover`` (L - L_GD = 1/2 E[even part^2] >= 0) and
    ``loss``.

    Examples
    --------
    >>> a = sp.Symbol("a")
    >>> W_KQ = sp.Matrix([[1, 0], [a, 0]])   # q_y = a puts y_i^2 x_q into the prediction
    >>> W_PV = sp.Matrix([[0, 0], [0, -1]])  # c = 1, p_x = 0
    >>> population_loss_parts(W_KQ, W_PV, 1, 2, "gaussian(1)")["leftover"]
    12*a**2
    """
    args = _args(W_KQ, W_PV, d, N, law, noise_var, task_var)
    W_KQ, W_PV, d = args[:3]
    Gamma = effective_preconditioner(W_KQ, W_PV, d)
    loss = _loss(*args)
    gd = _loss(*preconditioned_weights(Gamma), *args[2:])
    return {"Gamma": Gamma, "gd": gd, "leftover": sp.expand(loss - gd), "loss": loss}
