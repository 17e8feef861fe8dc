"""GD++ of von Oswald et al. 2023: step sizes and curvature corrections fitted on Monte-Carlo tasks.

Every matrix in a GD++ forward pass is a polynomial in the task's Gram matrix
G = X^T X = U diag(lam) U^T (M = I - gamma G, G <- M G M), so in G's eigenbasis a layer is
elementwise: lam <- lam (1 - gamma lam)^2 (the curvature map of ``theory.lsa.gdpp_eigenvalue_map``),
b~ <- (1 - gamma lam)(1 - (eta/N) lam) b~, x~_q <- (1 - gamma lam) x~_q, with b~ = U^T X^T y.
One batched ``eigh`` per task set makes every loss evaluation O(n d K), which is what the
scipy fits below use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from numerics.lsa.predictors import SpectralTasks, mc_loss
from numerics.lsa.tasks import sample_tasks
from numerics.seeds import child_rng
from theory.args import integer
from theory.laws import as_law

__all__ = ["GDPPFit", "fit_gdpp", "loss_and_grad"]

#: keys of fit_gdpp's two streams under its seed: child_rng(seed, FIT_KEY) draws the fit set,
#: child_rng(seed, EVAL_KEY) the evaluation set (numerics.seeds, the one seed rule)
FIT_KEY, EVAL_KEY = 0, 1


@dataclass(frozen=True)
class GDPPFit:
    """Fitted K-layer GD++ (or K-step GD when ``curvature`` is False) hyperparameters."""

    K: int
    recurrent: bool
    curvature: bool
    etas: np.ndarray    # (K,) step size per layer
    gammas: np.ndarray  # (K,) curvature correction per layer (0 without curvature)
    fit_loss: float     # 1/2-loss on the tasks the returned parameters were fitted on
    eval_loss: float    # 1/2-loss on fresh tasks
    eval_se: float      # its standard error
    success: bool
    message: str
    select_loss: float = float("nan")  # 1/2-loss on the selection set (see fit_gdpp)
    candidates: tuple = ()             # ((start name, selection loss), ...) of every start tried


def _tasks(arg, n, d, N, law, input_range, rng, name) -> SpectralTasks:
    if arg is None:
        arg = sample_tasks(n, d, N, law=law, input_range=input_range, rng=rng)
    if isinstance(arg, SpectralTasks):
        return arg
    if not isinstance(arg, tuple) or len(arg) < 4:
        raise ValueError(f"{name} must be an LSATasks (X, y, x_q, y_q, w), got {type(arg).__name__}")
    return SpectralTasks.from_tasks(*arg[:4])


def _subset(t: SpectralTasks, idx) -> SpectralTasks:
    return SpectralTasks(t.lam[idx], t.b[idx], t.xq[idx], t.y_q[idx], t.N)


def loss_and_grad(tasks: SpectralTasks, etas, gammas):
    """MC 1/2-loss of K-layer GD++ on ``tasks`` and its exact gradient in (etas, gammas).

    Reverse-mode differentiation of the eigenbasis recursion of :class:`SpectralTasks`
    (per layer: q <- q - (eta/N) b.x, m = 1 - gamma lam, c = 1 - (eta/N) lam, b <- m c b,
    x <- m x, lam <- lam m^2; prediction -q).  The tests compare it with central differences.

    Returns
    -------
    (loss, d loss / d etas (K,), d loss / d gammas (K,))
    """
    etas = np.asarray(etas, dtype=float)
    gammas = np.asarray(gammas, dtype=float)
    lam, b, xq, N = tasks.lam, tasks.b, tasks.xq, tasks.N
    n, K = lam.shape[0], etas.size
    q = np.zeros(n)
    cache = []
    for eta, gamma in zip(etas, gammas):
        s = np.einsum("nd,nd->n", b, xq)  # (n,)
        q = q - eta / N * s
        m, c = 1.0 - gamma * lam, 1.0 - eta / N * lam  # (n, d)
        cache.append((b, xq, lam, m, c, s))
        b, xq, lam = m * c * b, m * xq, lam * m * m
    r = -q - tasks.y_q
    loss = 0.5 * float(np.mean(r * r))
    gq = -r / n  # d loss / d q_K, the same for every layer (q only accumulates)
    gb = gx = gl = np.zeros_like(b)
    d_eta, d_gamma = np.zeros(K), np.zeros(K)
    for k in range(K - 1, -1, -1):
        bk, xk, lk, m, c, s = cache[k]
        eta, gamma = etas[k], gammas[k]
        gm = gb * c * bk + gx * xk + 2.0 * gl * lk * m
        gc = gb * m * bk
        d_eta[k] = -(gq @ s + np.sum(gc * lk)) / N
        d_gamma[k] = -np.sum(gm * lk)
        gb, gx, gl = (gb * m * c - (eta / N) * gq[:, None] * xk,
                      gx * m - (eta / N) * gq[:, None] * bk,
                      gl * m * m - gamma * gm - (eta / N) * gc)
    return loss, d_eta, d_gamma


def fit_gdpp(K: int, *, d: int = 10, N: int = 10, law=None, input_range=None, recurrent: bool = True,
             curvature: bool = True, n_fit: int = 20000, n_eval: int = 20000, seed: int = 0,
             fit_tasks=None, eval_tasks=None, x0=None) -> GDPPFit:
    """Fit (eta_k, gamma_k) of K-layer GD++ by L-BFGS on the MC loss of a fixed fit set.

    Von Oswald et al. 2023, sec. 3 and A.10: GD++ layers x <- (I - gamma G) x plus a GD step
    (:func:`numerics.lsa.gdpp_predict`).  ``recurrent`` ties (eta, gamma) across layers (the
    2-layer recurrent model has gamma = 0.179 in the paper for N = 10; our notes' fit: 0.175);
    otherwise each layer has its own pair, except that the last layer's gamma only moves x
    after the last readout, so it is fixed to 0.  ``curvature=False`` fits K-step GD (gammas 0).
    The fit set (``n_fit`` tasks) and the evaluation set (``n_eval`` fresh tasks) are drawn from
    independent streams of ``seed`` unless given as ``fit_tasks`` / ``eval_tasks`` (an
    :class:`LSATasks` or a :class:`SpectralTasks`); ``eval_loss`` never takes part in the fit.

    L-BFGS-B with the exact gradient (:func:`loss_and_grad`) on eta / eta_1step in [0, 50]
    (eta_1step: the one-step optimum on the fit set) and gamma in [-1, 2] / lam_max(fit set),
    so |1 - gamma lam| <= 1 on the fit set's spectrum: no layer expands a direction of it.
    The untied fits press against these bounds (the loss keeps falling, on fresh tasks too, as
    they widen: the notes' "large eta" of section 7.4), so they define the fitted family.

    Starts and selection.  With ``x0 = (etas, gammas)`` only that start is used.  Otherwise:
    K-step GD (and recurrent GD++) start from the one-step optimum with gamma = 0 (untied GD:
    from the tied optimum with the etas spread out, since the tied point is a saddle of the
    permutation-symmetric GD loss).  Untied GD++ (2K - 1 parameters) holds out a fifth of the
    fit set as a selection set, fits on the rest from two starts (the fitted K-step GD etas
    with gamma = 0; the tied GD++ optimum with spread etas) and returns the start with the lowest selection loss, the fitted K-step GD itself being a
    candidate.  With curvature the fitted K-step GD (gamma = 0, a special case of GD++) is always
    a candidate, so the returned GD++ is never worse on the selection set (the held-out fifth,
    else the whole fit set) than the GD solution it nests.

    Returns
    -------
    GDPPFit
    """
    K = integer(K, "K", minimum=1)
    n_fit, n_eval = integer(n_fit, "n_fit", minimum=2), integer(n_eval, "n_eval", minimum=2)
    law = None if law is None else as_law(law)
    fit_rng, eval_rng = child_rng(seed, FIT_KEY), child_rng(seed, EVAL_KEY)
    fit = _tasks(fit_tasks, n_fit, d, N, law, input_range, fit_rng, "fit_tasks")
    eval_ = _tasks(eval_tasks, n_eval, d, N, law, input_range, eval_rng, "eval_tasks")
    recurrent, curvature = bool(recurrent), bool(curvature)
    if x0 is not None:
        etas0, gammas0 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in x0)
        res = _minimise(K, fit, recurrent, curvature, etas0, gammas0, strict=True)
        return _result(K, recurrent, curvature, res, fit, fit, eval_, ())
    if not curvature or K == 1:
        return _result(K, recurrent, curvature, _fit_gd(K, fit, recurrent), fit, fit, eval_, ())
    if recurrent:
        gd = _fit_gd(K, fit, True)
        pp = _minimise(K, fit, True, True, gd[0], np.zeros(K))
        return _select(K, True, [("tied GD start", pp), ("K-step GD", gd)], fit, fit, eval_)
    # untied GD++: fit on four fifths, select on the held-out fifth
    n_sel = fit.y_q.size // 5
    if n_sel < 2:
        raise ValueError(f"n_fit must hold >= 10 tasks for the held-out selection of untied GD++, "
                         f"got {fit.y_q.size}")
    train, select = _subset(fit, slice(n_sel, None)), _subset(fit, slice(0, n_sel))
    gd = _fit_gd(K, train, False)
    tied = _minimise(K, train, True, True, np.full(K, _fit_gd(K, train, True)[0][0]), np.zeros(K))
    spread = np.exp(np.linspace(-0.5, 0.5, K))
    gamma_tied = np.r_[np.full(K - 1, tied[1][0]), 0.0]
    starts = [("GD etas, gamma = 0", gd[0], np.zeros(K)),
              ("tied GD++, spread etas", tied[0] * spread, gamma_tied)]
    cands = [(name, _minimise(K, train, False, True, e0, g0)) for name, e0, g0 in starts]
    return _select(K, False, cands + [("K-step GD", gd)], train, select, eval_)


def _scales(fit: SpectralTasks):
    g = np.einsum("nd,nd->n", fit.b, fit.xq) / fit.N  # one-step prediction at eta = 1
    eta0 = float(np.mean(g * fit.y_q) / np.mean(g * g))  # the one-step optimum on the fit set
    return eta0, 1.0 / float(np.mean(fit.lam)), float(np.max(fit.lam))


def _fit_gd(K: int, fit: SpectralTasks, recurrent: bool):
    """K-step GD (gammas 0): tied from the one-step optimum, untied from the spread tied optimum."""
    eta0 = _scales(fit)[0]
    if recurrent or K == 1:
        return _minimise(K, fit, recurrent, False, np.full(K, eta0), np.zeros(K))
    tied = _minimise(K, fit, True, False, np.full(K, eta0), np.zeros(K))
    return _minimise(K, fit, False, False, tied[0] * np.exp(np.linspace(-0.5, 0.5, K)), np.zeros(K))


def _minimise(K, fit, recurrent, curvature, etas0, gammas0, strict=False):
    """L-BFGS-B from (etas0, gammas0) in scaled coordinates; returns (etas, gammas, loss, ok, msg)."""
    eta0, gscale, lam_max = _scales(fit)
    n_eta = 1 if recurrent else K
    n_gamma = 0 if not curvature else (1 if recurrent else K - 1)
    # parameter i of theta -> (eta or gamma, layers it sets)
    J = np.zeros((2 * K, n_eta + n_gamma))  # d (etas, gammas) / d theta
    J[:K, :n_eta] = eta0 if recurrent else eta0 * np.eye(K)
    if n_gamma:
        J[K:, n_eta:] = gscale if recurrent else np.r_[gscale * np.eye(K - 1), np.zeros((1, K - 1))]

    def unpack(theta):
        v = J @ theta
        return v[:K], v[K:]

    theta0 = list(etas0[:n_eta] / eta0) + list(gammas0[:n_gamma] / gscale)
    if len(theta0) != n_eta + n_gamma:
        if strict:
            raise ValueError(f"x0 must be (etas, gammas) with {n_eta} eta(s) and {n_gamma} gamma(s)")
        raise RuntimeError("internal: start of the wrong size")

    def fun(theta):
        with np.errstate(over="ignore", invalid="ignore"):
            loss, de, dg = loss_and_grad(fit, *unpack(theta))
            grad = J.T @ np.r_[de, dg]
        if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros_like(theta)
        return loss, grad

    lo, hi = 0.0, 50.0
    bounds = [(lo, hi)] * n_eta + [(-1.0 / (lam_max * gscale), 2.0 / (lam_max * gscale))] * n_gamma
    theta0 = np.clip(np.asarray(theta0, dtype=float), [b[0] for b in bounds], [b[1] for b in bounds])
    res = optimize.minimize(fun, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})
    etas, gammas = unpack(res.x)
    return etas, gammas, float(res.fun), bool(res.success), str(res.message)


def _select(K, recurrent, cands, train, select, eval_) -> GDPPFit:
    """The candidate with the lowest loss on ``select`` (ties: the earlier one)."""
    scored = [(select.loss(c[0], c[1]), name, c) for name, c in cands]
    best = min(range(len(scored)), key=lambda i: scored[i][0])
    table = tuple((name, float(s)) for s, name, _ in scored)
    return _result(K, recurrent, True, scored[best][2], train, select, eval_, table)


def _result(K, recurrent, curvature, res, train, select, eval_, table) -> GDPPFit:
    etas, gammas, _, ok, msg = res
    eval_loss, eval_se = mc_loss(eval_.predict(etas, gammas), eval_.y_q)
    return GDPPFit(K, recurrent, curvature, np.asarray(etas, float), np.asarray(gammas, float),
                   train.loss(etas, gammas), eval_loss, eval_se, ok, msg,
                   select_loss=select.loss(etas, gammas), candidates=table)
