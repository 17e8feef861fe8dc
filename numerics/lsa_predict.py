"""GD, K-step GD and GD++ predictors of von Oswald et al. 2023, and their Monte-Carlo losses.

All predictors work on sufficient statistics, batched over tasks: the Gram matrix
G = X^T X = sum_i x_i x_i^T (d x d) and b = X^T y = sum_i y_i x_i (d) per task.  Nothing
loops over tasks or positions; the only loop is over the K layers (steps).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = [
    "gd_predict",
    "kstep_gd_predict",
    "gdpp_predict",
    "SpectralTasks",
    "mc_loss",
    "StepSizeSearch",
    "LR_GRID",
    "line_search_step_size",
    "dampened_rollout",
    "fit_preconditioner",
]

LR_GRID = np.arange(0.001, 25, 0.1)  # the code's scan_lrs grid: 0.001, 0.101, ..., 24.901 (250 values)


def _check_tasks(X, y, x_q):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    x_q = np.asarray(x_q, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n, N, d), got {X.shape}")
    n, N, d = X.shape
    if y.shape != (n, N):
        raise ValueError(f"y must have shape ({n}, {N}), got {y.shape}")
    if x_q.shape != (n, d):
        raise ValueError(f"x_q must have shape ({n}, {d}), got {x_q.shape}")
    return X, y, x_q


def _schedule(values, name: str, K=None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"{name} must be a number or a 1-D sequence with >= 1 entries, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {values!r}")
    if K is not None and arr.size != K:
        raise ValueError(f"{name} must have {K} entries (one per layer), got {arr.size}")
    return arr


def _matvec(A, v):
    return (A @ v[..., None])[..., 0]  # (n, d, d) @ (n, d) -> (n, d)


def _scalar(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def gd_predict(X, y, x_q, eta) -> np.ndarray:
    """One GD step from W0 = 0 (von Oswald et al. 2023, eq. 3 / Proposition 1).

    y_hat = (eta/N) sum_i y_i x_i . x_q, the minimiser step on L(W) = 1/(2N) sum_i (W x_i - y_i)^2.

    Parameters
    ----------
    X : (n, N, d);  y : (n, N);  x_q : (n, d);  eta : float

    Returns
    -------
    (n,) predictions.

    Examples
    --------
    >>> X = np.ones((1, 2, 1)); y = np.array([[1.0, 3.0]]); xq = np.array([[2.0]])
    >>> gd_predict(X, y, xq, 0.5)
    array([2.])
    """
    X, y, x_q = _check_tasks(X, y, x_q)
    eta = _scalar(eta, "eta")
    b = (y[:, None, :] @ X)[:, 0, :]  # (n, d) = X^T y
    return eta / X.shape[1] * np.einsum("nd,nd->n", b, x_q)


def kstep_gd_predict(X, y, x_q, etas, *, return_all: bool = False) -> np.ndarray:
    """K steps of GD from W0 = 0 with per-step step sizes (von Oswald et al. 2023, sec. 3).

    w_{k+1} = w_k - eta_k (S w_k - b/N) with S = X^T X / N; y_hat = w_K . x_q.  K = len(etas);
    K tied LSA layers are ``etas = [eta] * K``.

    Returns
    -------
    (n,) predictions, or (K + 1, n) after 0..K steps when ``return_all``.

    Examples
    --------
    >>> X = np.ones((1, 2, 1)); y = np.array([[1.0, 3.0]]); xq = np.array([[2.0]])
    >>> kstep_gd_predict(X, y, xq, [0.5, 0.5])  # w: 0 -> 1 -> 1.5
    array([3.])
    """
    X, y, x_q = _check_tasks(X, y, x_q)
    etas = _schedule(etas, "etas")
    n, N, d = X.shape
    S = np.swapaxes(X, 1, 2) @ X / N  # (n, d, d)
    c = (y[:, None, :] @ X)[:, 0, :] / N  # (n, d)
    w = np.zeros((n, d))
    preds = [np.zeros(n)]
    for eta in etas:
        w = w - eta * (_matvec(S, w) - c)
        preds.append(np.einsum("nd,nd->n", w, x_q))
    return np.stack(preds) if return_all else preds[-1]


def gdpp_predict(X, y, x_q, etas, gammas, *, return_all: bool = False) -> np.ndarray:
    """K layers of GD++ (von Oswald et al. 2023, sec. 3 and eq. 23; notes sec. 1.4 and 9).

    Per layer, with G = sum_i x_i x_i^T over the CURRENT context (not divided by N):
    q <- q - (eta/N) sum_i y_i x_i . x_q;  y_j <- y_j - (eta/N) sum_i y_i x_i . x_j (both from the
    pre-update x);  then x <- (I - gamma G) x for the context and the query alike.  The
    prediction is -q.  In sufficient statistics (b = X^T y, M = I - gamma G):
    b <- M (b - (eta/N) G b),  x_q <- M x_q,  G <- M G M.  gammas = 0 gives K-step GD.

    Returns
    -------
    (n,) predictions, or (K + 1, n) after 0..K layers when ``return_all``.

    Examples
    --------
    >>> X = np.ones((1, 2, 1)); y = np.array([[1.0, 3.0]]); xq = np.array([[2.0]])
    >>> gdpp_predict(X, y, xq, [0.5, 0.5], [0.0, 0.0])
    array([3.])
    """
    X, y, x_q = _check_tasks(X, y, x_q)
    etas = _schedule(etas, "etas")
    gammas = _schedule(gammas, "gammas", K=etas.size)
    n, N, d = X.shape
    G = np.swapaxes(X, 1, 2) @ X  # (n, d, d)
    b = (y[:, None, :] @ X)[:, 0, :]  # (n, d)
    xq = x_q.copy()
    q = np.zeros(n)
    preds = [np.zeros(n)]
    eye = np.eye(d)
    for eta, gamma in zip(etas, gammas):
        q = q - eta / N * np.einsum("nd,nd->n", b, xq)
        b = b - eta / N * _matvec(G, b)
        if gamma != 0.0:
            M = eye - gamma * G  # (n, d, d), symmetric
            b = _matvec(M, b)
            xq = _matvec(M, xq)
            G = M @ G @ M
        preds.append(-q)
    return np.stack(preds) if return_all else preds[-1]


@dataclass(frozen=True)
class SpectralTasks:
    """Tasks in the eigenbasis of their Gram matrices G = X^T X = U diag(lam) U^T.

    Every matrix of a GD++ (or K-step GD) forward pass is a polynomial in G (M = I - gamma G,
    G <- M G M), so in G's eigenbasis a layer acts elementwise:
    q <- q - (eta/N) b~ . x~_q,  b~ <- (1 - gamma lam)(1 - (eta/N) lam) b~,  x~_q <- (1 - gamma lam) x~_q,
    lam <- lam (1 - gamma lam)^2 (the GD++ eigenvalue map, von Oswald et al. 2023, eq. 25), with
    b~ = U^T X^T y and x~_q = U^T x_q.  One batched ``eigh`` per task set makes each evaluation
    O(n d K): the fits and multi-layer line searches use this route, and the tests compare it
    with :func:`gdpp_predict` and with a per-token loop.
    """

    lam: np.ndarray  # (n, d) eigenvalues of G, ascending
    b: np.ndarray    # (n, d) U^T X^T y
    xq: np.ndarray   # (n, d) U^T x_q
    y_q: np.ndarray  # (n,)
    N: int

    @classmethod
    def from_tasks(cls, X, y, x_q, y_q) -> "SpectralTasks":
        X, y, x_q = _check_tasks(X, y, x_q)
        lam, U = np.linalg.eigh(np.swapaxes(X, 1, 2) @ X)  # (n, d), (n, d, d)
        b = np.einsum("nde,nd->ne", U, (y[:, None, :] @ X)[:, 0, :])
        xq = np.einsum("nde,nd->ne", U, x_q)
        return cls(lam, b, xq, np.asarray(y_q, dtype=float), X.shape[1])

    def predict(self, etas, gammas, *, return_all: bool = False) -> np.ndarray:
        """GD++ prediction, the same map as :func:`gdpp_predict`: (n,), or (K + 1, n) with ``return_all``."""
        etas = _schedule(etas, "etas")
        gammas = _schedule(gammas, "gammas", K=etas.size)
        lam, b, xq = self.lam, self.b, self.xq
        q = np.zeros(lam.shape[0])
        preds = [np.zeros_like(q)]
        for eta, gamma in zip(etas, gammas):
            q = q - eta / self.N * np.einsum("nd,nd->n", b, xq)
            m = 1.0 - gamma * lam  # eigenvalues of M = I - gamma G
            b = m * (1.0 - eta / self.N * lam) * b
            xq = m * xq
            lam = lam * m * m
            preds.append(-q)
        return np.stack(preds) if return_all else preds[-1]

    def loss(self, etas, gammas) -> float:
        """MC 1/2-loss of :meth:`predict` (1e300 where the roll-out overflows, for the optimisers)."""
        with np.errstate(over="ignore", invalid="ignore"):
            value = 0.5 * np.mean((self.predict(etas, gammas) - self.y_q) ** 2)
        return float(value) if np.isfinite(value) else 1e300


def mc_loss(pred, y_q):
    """Monte-Carlo 1/2-loss and its standard error: (mean_t 1/2 (pred_t - y_t)^2, SE).

    The paper's (and code's) loss convention includes the factor 1/2.  ``pred`` may carry
    leading axes (e.g. (K + 1, n) from ``return_all``); the mean is over the last (task) axis.
    SE = sample standard deviation (ddof = 1) / sqrt(n).

    Examples
    --------
    >>> mc_loss(np.array([1.0, 1.0]), np.array([0.0, 2.0]))
    (0.5, 0.0)
    """
    pred = np.asarray(pred, dtype=float)
    y_q = np.asarray(y_q, dtype=float)
    if y_q.ndim != 1 or pred.shape[-1:] != y_q.shape:
        raise ValueError(f"pred must have shape (..., {y_q.shape[-1] if y_q.ndim else '?'}) matching "
                         f"y_q of shape (n,), got {pred.shape} and {y_q.shape}")
    n = y_q.shape[0]
    if n < 2:
        raise ValueError(f"y_q must hold >= 2 tasks for a standard error, got {n}")
    per_task = 0.5 * (pred - y_q) ** 2
    mean = per_task.mean(axis=-1)
    se = per_task.std(axis=-1, ddof=1) / np.sqrt(n)
    if mean.ndim == 0:
        return float(mean), float(se)
    return mean, se


@dataclass(frozen=True)
class StepSizeSearch:
    """Result of :func:`line_search_step_size`."""

    eta: float            # the minimiser
    loss: float           # MC 1/2-loss at eta
    se: float             # its standard error
    etas: np.ndarray      # the grid searched
    losses: np.ndarray    # MC loss on the grid


def line_search_step_size(X, y, x_q, y_q, *, layers: int = 1, method: str = "grid",
                          grid=None) -> StepSizeSearch:
    """Step size of K tied GD layers minimising the MC loss on the given tasks.

    ``method="grid"`` is the authors' ``scan_lrs``: the argmin over eta = 0.001 + 0.1 k,
    k = 0..249 (same eta in every layer); the paper calls it "line search over 10^4 tasks".
    ``method="continuous"`` refines the grid minimiser with bounded Brent
    (``scipy.optimize.minimize_scalar``) between its two neighbours.  For one layer the
    continuous minimiser is mean(g y_q)/mean(g^2), g = gd_predict(eta = 1).

    Returns
    -------
    StepSizeSearch
    """
    X, y, x_q = _check_tasks(X, y, x_q)
    y_q = np.asarray(y_q, dtype=float)
    if y_q.shape != (X.shape[0],):
        raise ValueError(f"y_q must have shape ({X.shape[0]},), got {y_q.shape}")
    if isinstance(layers, bool) or not isinstance(layers, numbers.Integral) or layers < 1:
        raise ValueError(f"layers must be an integer >= 1, got {layers!r}")
    if method not in ("grid", "continuous"):
        raise ValueError(f"method must be 'grid' or 'continuous', got {method!r}")
    etas = LR_GRID if grid is None else _schedule(grid, "grid")

    if layers == 1:
        g = gd_predict(X, y, x_q, 1.0)  # the prediction is linear in eta
        g2, gy, y2 = np.mean(g * g), np.mean(g * y_q), np.mean(y_q * y_q)

        def loss(eta):
            return 0.5 * (eta * eta * g2 - 2.0 * eta * gy + y2)
    else:
        spec = SpectralTasks.from_tasks(X, y, x_q, y_q)  # one eigh, then O(n d K) per eta
        zeros = [0.0] * layers

        def loss(eta):
            return spec.loss([eta] * layers, zeros)

    losses = np.array([loss(e) for e in etas])
    i = int(np.argmin(losses))
    eta = float(etas[i])
    if method == "continuous":
        lo = etas[max(i - 1, 0)]
        hi = etas[min(i + 1, etas.size - 1)]
        if hi > lo:
            res = optimize.minimize_scalar(loss, bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-10 * max(1.0, abs(hi))})
            if res.fun <= losses[i]:
                eta = float(res.x)
    if layers == 1:
        pred = eta * g
    else:
        pred = kstep_gd_predict(X, y, x_q, [eta] * layers)
    mean, se = mc_loss(pred, y_q)
    return StepSizeSearch(eta, mean, se, np.asarray(etas), losses)


def dampened_rollout(X, y, x_q, y_q, eta, lam, steps: int):
    """The one-step GD layer applied repeatedly with dampening lam (von Oswald et al. 2023, A.6).

    Each application adds lam times the layer's update to every token: y_q-slot
    <- slot + lam dW x_q, context y_j <- y_j - lam dW x_j, i.e. GD with step lam * eta
    (the code multiplies the residual update by ``config.dampening`` and uses lr * lam).
    Figure 1 (right) / Figure 10: lam = 1 diverges at eta*, lam = 0.75 decreases steadily.

    Returns
    -------
    (losses, ses): two (steps + 1,) arrays, the MC 1/2-loss after 0..steps applications.
    """
    eta = _scalar(eta, "eta")
    lam = _scalar(lam, "lam")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    preds = kstep_gd_predict(X, y, x_q, [lam * eta] * int(steps), return_all=True)  # (steps+1, n)
    return mc_loss(preds, y_q)


def fit_preconditioner(X, y, x_q, y_q):
    """Least-squares fit of Gamma in y_hat = x_q^T Gamma (1/N) sum_i y_i x_i over the tasks.

    The population minimiser for x ~ N(0, Lambda), w ~ N(0, I) is
    ((1 + 1/N) Lambda + tr(Lambda)/N I)^{-1} (Zhang, Frei, Bartlett 2024, Thm 4.1;
    ``theory.lsa.zfb_preconditioner``).  Features phi = vec(x_q h^T), h = X^T y / N; the
    standard errors are the heteroscedasticity-robust (sandwich, HC0) ones of OLS.

    Returns
    -------
    (Gamma, se): two (d, d) arrays.
    """
    X, y, x_q = _check_tasks(X, y, x_q)
    y_q = np.asarray(y_q, dtype=float)
    n, N, d = X.shape
    if y_q.shape != (n,):
        raise ValueError(f"y_q must have shape ({n},), got {y_q.shape}")
    if n <= d * d:
        raise ValueError(f"need more tasks than d^2 = {d * d} to fit Gamma, got {n}")
    h = (y[:, None, :] @ X)[:, 0, :] / N  # (n, d)
    phi = np.einsum("na,nb->nab", x_q, h).reshape(n, d * d)  # (n, d^2)
    A = phi.T @ phi
    coef = np.linalg.solve(A, phi.T @ y_q)
    r = y_q - phi @ coef
    A_inv = np.linalg.inv(A)
    meat = (phi * (r * r)[:, None]).T @ phi
    cov = A_inv @ meat @ A_inv
    return coef.reshape(d, d), np.sqrt(np.diag(cov)).reshape(d, d)
