"""GD++ of von Oswald et al. 2023: fitted step sizes and curvature corrections, and the X X^T spectrum.

Every matrix in a GD++ forward pass is a polynomial in the task's Gram matrix
G = X^T X = U diag(lam) U^T (M = I - gamma G, G <- M G M), so in G's eigenbasis a layer is
elementwise: lam <- lam (1 - gamma lam)^2 (the curvature map of ``theory.lsa.gdpp_eigenvalue_map``),
b~ <- (1 - gamma lam)(1 - (eta/N) lam) b~, x~_q <- (1 - gamma lam) x~_q, with b~ = U^T X^T y.
One batched ``eigh`` per task set makes every loss evaluation O(n d K), which is what the
scipy fits below use.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp
from scipy import optimize

from numerics.lsa_predict import SpectralTasks, mc_loss
from numerics.lsa_tasks import sample_tasks

__all__ = [
    "GDPPFit",
    "fit_gdpp",
    "GramSpectrum",
    "gram_spectrum",
    "gdpp_condition_numbers",
]


@dataclass(frozen=True)
class GDPPFit:
    """Fitted K-layer GD++ (or K-step GD when ``curvature`` is False) hyperparameters."""

    K: int
    recurrent: bool
    curvature: bool
    etas: np.ndarray    # (K,) step size per layer
    gammas: np.ndarray  # (K,) curvature correction per layer (0 without curvature)
    fit_loss: float     # 1/2-loss on the fit set at the optimum
    eval_loss: float    # 1/2-loss on fresh tasks
    eval_se: float      # its standard error
    success: bool
    message: str


def _tasks(arg, n, d, N, law, input_range, rng, name) -> SpectralTasks:
    if arg is None:
        arg = sample_tasks(n, d, N, law=law, input_range=input_range, rng=rng)
    if isinstance(arg, SpectralTasks):
        return arg
    if not isinstance(arg, tuple) or len(arg) < 4:
        raise ValueError(f"{name} must be an LSATasks (X, y, x_q, y_q, w), got {type(arg).__name__}")
    return SpectralTasks.from_tasks(*arg[:4])


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
    :class:`LSATasks` or a :class:`SpectralTasks`).  Starting point: ``x0 = (etas, gammas)``, else
    the one-step optimal eta with gamma = 0 (for untied layers: the recurrent optimum).
    scipy's L-BFGS-B runs on eta / eta_1step in [0, 50] and gamma * mean eigenvalue of G, with
    gamma in [-1, 2] / lam_max(fit set) (so |1 - gamma lam| <= 1 on the fit set; deep untied GD++
    presses against the upper bound, the overfitting the notes report in section 7.4).

    Returns
    -------
    GDPPFit
    """
    if isinstance(K, bool) or not isinstance(K, numbers.Integral) or K < 1:
        raise ValueError(f"K must be an integer >= 1, got {K!r}")
    for value, name in ((n_fit, "n_fit"), (n_eval, "n_eval")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    fit_rng, eval_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    fit = _tasks(fit_tasks, n_fit, d, N, law, input_range, fit_rng, "fit_tasks")
    eval_ = _tasks(eval_tasks, n_eval, d, N, law, input_range, eval_rng, "eval_tasks")
    return _fit(int(K), fit, eval_, bool(recurrent), bool(curvature), x0)


def _fit(K: int, fit: SpectralTasks, eval_: SpectralTasks, recurrent: bool, curvature: bool,
         x0) -> GDPPFit:
    g = np.einsum("nd,nd->n", fit.b, fit.xq) / fit.N  # one-step prediction at eta = 1
    eta0 = float(np.mean(g * fit.y_q) / np.mean(g * g))  # the one-step optimum on the fit set
    gscale = 1.0 / float(np.mean(fit.lam))
    n_eta = 1 if recurrent else K
    n_gamma = 0 if not curvature else (1 if recurrent else K - 1)

    def unpack(theta):
        theta = np.asarray(theta, dtype=float)
        etas = np.full(K, eta0 * theta[0]) if recurrent else eta0 * theta[:K]
        gammas = np.zeros(K)
        if n_gamma and recurrent:
            gammas[:] = gscale * theta[n_eta]
        elif n_gamma:
            gammas[:K - 1] = gscale * theta[n_eta:]
        return etas, gammas

    if x0 is not None:
        etas0, gammas0 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in x0)
        theta0 = list(etas0[:n_eta] / eta0) + list(gammas0[:n_gamma] / gscale)
        if len(theta0) != n_eta + n_gamma:
            raise ValueError(f"x0 must be (etas, gammas) with {n_eta} eta(s) and {n_gamma} gamma(s)")
    elif recurrent or K == 1:
        theta0 = [1.0] * n_eta + [0.0] * n_gamma
    else:
        # the recurrent optimum, with the etas spread out: K-step GD is symmetric under permuting
        # the etas, so the tied point is a saddle that L-BFGS would never leave
        tied = _fit(K, fit, eval_, True, curvature, None)
        spread = np.exp(np.linspace(-0.5, 0.5, K))
        theta0 = list(tied.etas * spread / eta0) + list(tied.gammas[:n_gamma] / gscale)

    lam_max = float(np.max(fit.lam))
    bounds = [(0.0, 50.0)] * n_eta + [(-1.0 / (lam_max * gscale), 2.0 / (lam_max * gscale))] * n_gamma
    res = optimize.minimize(lambda th: fit.loss(*unpack(th)), np.asarray(theta0, dtype=float),
                            method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})
    etas, gammas = unpack(res.x)
    eval_loss, eval_se = mc_loss(eval_.predict(etas, gammas), eval_.y_q)
    return GDPPFit(K, recurrent, curvature, etas, gammas, float(res.fun), eval_loss, eval_se,
                   bool(res.success), str(res.message))


@dataclass(frozen=True)
class GramSpectrum:
    """Eigenvalues of X X^T (the paper's d x d Gram matrix; ours is X^T X with X of shape (N, d))."""

    eigenvalues: np.ndarray  # (n, d) per task, ascending
    lam_min: float           # smallest over all tasks
    lam_max: float           # largest over all tasks


def gram_spectrum(X) -> GramSpectrum:
    """Eigenvalues of the Gram matrix sum_i x_i x_i^T per task (von Oswald et al. 2023, Fig. 13).

    The paper reports min / max over 10^4 tasks: max 4.6 / 7.712 / 10.845 / 17.196 for
    N = 10 / 25 / 50 / 100 (our notes' MC under U(-1/2, 1/2): 4.22 / 7.02 / 10.81 / 17.58).

    Examples
    --------
    >>> s = gram_spectrum(np.array([[[1.0, 0.0], [0.0, 2.0]]]))
    >>> s.eigenvalues, s.lam_min, s.lam_max
    (array([[1., 4.]]), 1.0, 4.0)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 3 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, N, d) with n >= 1, got {X.shape}")
    lam = np.linalg.eigvalsh(np.swapaxes(X, 1, 2) @ X)  # (n, d)
    return GramSpectrum(lam, float(lam.min()), float(lam.max()))


@lru_cache(maxsize=None)
def _eigenvalue_map():
    from theory.lsa import gdpp_eigenvalue_map  # lambdified theory: f(lam) = lam - 2 g lam^2 + g^2 lam^3

    lam, gamma = sp.symbols("lam gamma")
    return sp.lambdify((lam, gamma), gdpp_eigenvalue_map(lam, gamma), "numpy")


def gdpp_condition_numbers(eigenvalues, gamma) -> np.ndarray:
    """Condition number per task of the GD++-corrected Hessian (von Oswald et al. 2023, eq. 24-25).

    H++ = (I - gamma H) H (I - gamma H) has eigenvalues f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3
    (``theory.lsa.gdpp_eigenvalue_map``); returns max_j f(lam_j) / min_j f(lam_j) per task
    (gamma = 0: the plain condition number), inf where the smallest is 0.

    Parameters
    ----------
    eigenvalues : (n, d) array (e.g. ``gram_spectrum(X).eigenvalues``)
    gamma : float
    """
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim != 2:
        raise ValueError(f"eigenvalues must have shape (n, d), got {lam.shape}")
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not np.isfinite(float(gamma)):
        raise ValueError(f"gamma must be a finite real number, got {gamma!r}")
    f = np.asarray(_eigenvalue_map()(lam, float(gamma)), dtype=float) * np.ones_like(lam)
    hi, lo = f.max(axis=1), f.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), np.inf)
