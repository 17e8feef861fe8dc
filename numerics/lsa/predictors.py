"""GD, K-step GD and GD++ predictors of von Oswald et al. 2023, and their Monte-Carlo losses.

All predictors work on sufficient statistics, batched over tasks: the Gram matrix
G = X^T X = sum_i x_i x_i^T (d x d) and b = X^T y = sum_i y_i x_i (d) per task.  Nothing
loops over tasks or positions; the only loop is over the K layers (steps).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.lsa.args import schedule, task_arrays
from theory.args import integer, real

__all__ = [
    "gd_predict",
    "kstep_gd_predict",
    "gdpp_predict",
    "SpectralTasks",
    "mc_loss",
    "dampened_rollout",
]


def _matvec(A, v):
    return (A @ v[..., None])[..., 0]  # (n, d, d) @ (n, d) -> (n, d)


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
    X, y, x_q = task_arrays(X, y, x_q)
    eta = real(eta, "eta")
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
    X, y, x_q = task_arrays(X, y, x_q)
    etas = schedule(etas, "etas")
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
    X, y, x_q = task_arrays(X, y, x_q)
    etas = schedule(etas, "etas")
    gammas = schedule(gammas, "gammas", K=etas.size)
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
        X, y, x_q = task_arrays(X, y, x_q)
        lam, U = np.linalg.eigh(np.swapaxes(X, 1, 2) @ X)  # (n, d), (n, d, d)
        b = np.einsum("nde,nd->ne", U, (y[:, None, :] @ X)[:, 0, :])
        xq = np.einsum("nde,nd->ne", U, x_q)
        return cls(lam, b, xq, np.asarray(y_q, dtype=float), X.shape[1])

    def predict(self, etas, gammas, *, return_all: bool = False) -> np.ndarray:
        """GD++ prediction, the same map as :func:`gdpp_predict`: (n,), or (K + 1, n) with ``return_all``."""
        etas = schedule(etas, "etas")
        gammas = schedule(gammas, "gammas", K=etas.size)
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
    eta = real(eta, "eta")
    lam = real(lam, "lam")
    steps = integer(steps, "steps", minimum=1)
    preds = kstep_gd_predict(X, y, x_q, [lam * eta] * steps, return_all=True)  # (steps+1, n)
    return mc_loss(preds, y_q)
