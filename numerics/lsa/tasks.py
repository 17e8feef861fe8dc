"""Task samplers of von Oswald et al. 2023, as the authors' code draws them.

A task is a linear map w ~ N(0, task_var I_d); N context inputs x_i and one query x_q,
i.i.d.; targets y = w.x + eps with eps ~ N(0, noise_var) (context and query alike).
The default input law is the code's, x ~ U(-r/2, r/2)^d with r = ``input_range`` = 1
(the paper writes U(-1, 1); see the errata of the notes, section 0).

Everything is vectorised over tasks and drawn from one ``numpy.random.Generator``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sympy as sp

from numerics.laws import sample
from numerics.seeds import make_rng
from theory.args import choice, integer, nonnegative, positive
from theory.laws import Uniform, as_law

__all__ = ["LSATasks", "OOD_DISTRIBUTIONS", "sample_tasks", "sample_ood_tasks"]

OOD_DISTRIBUTIONS = ("exponential", "normal", "laplace")


class LSATasks(NamedTuple):
    """A batch of regression tasks (unpacks as ``X, y, x_q, y_q, w``)."""

    X: np.ndarray    # (n, N, d) context inputs
    y: np.ndarray    # (n, N)    context targets
    x_q: np.ndarray  # (n, d)    query input
    y_q: np.ndarray  # (n,)      query target
    w: np.ndarray    # (n, d)    task weights


def _check_Lambda(Lambda, d: int) -> np.ndarray:
    L = np.asarray(Lambda, dtype=float)
    if L.shape != (d, d):
        raise ValueError(f"Lambda must be a ({d}, {d}) matrix, got shape {L.shape}")
    if not np.all(np.isfinite(L)) or not np.allclose(L, L.T, rtol=1e-12, atol=1e-12):
        raise ValueError("Lambda must be a finite symmetric matrix")
    try:
        return np.linalg.cholesky(L)
    except np.linalg.LinAlgError:
        raise ValueError("Lambda must be positive definite") from None


def sample_tasks(n_tasks: int, d: int = 10, N: int = 10, *, law=None, input_range=None, Lambda=None,
                 noise_var: float = 0.0, task_var: float = 1.0, size_distract: int = 0,
                 seed=None, rng=None) -> LSATasks:
    """Draw regression tasks as in the authors' ``create_reg_data`` (von Oswald et al. 2023, sec. 3).

    w ~ N(0, task_var I_d); x_i, x_q i.i.d. from the input law; y_i = w.x_i + eps_i,
    y_q = w.x_q + eps_q with eps ~ N(0, noise_var).  The input law is, by priority:
    ``Lambda`` (x ~ N(0, Lambda)), ``law`` (any law of :mod:`theory.laws`, or its spelling),
    ``input_range`` r (x ~ U(-r/2, r/2)^d, the code's convention: r is the FULL width);
    none of them gives the code's default U(-1/2, 1/2)^d.  Give at most one.

    ``size_distract`` = k replaces k context targets per task, chosen uniformly without
    replacement, by N(0, 1) noise (the code's "noisy data" OOD test).  OOD task scaling
    w -> alpha w is ``task_var = alpha**2``.

    Parameters
    ----------
    n_tasks, d, N : int
        Number of tasks, input dimension, context length (all >= 1).
    law : theory.laws.Law or str, optional
    input_range : float > 0, optional
    Lambda : (d, d) symmetric positive definite array, optional
    noise_var : float >= 0
    task_var : float > 0
    size_distract : int in 0..N
    seed : int, optional;  rng : numpy.random.Generator, optional

    Returns
    -------
    LSATasks
        ``X`` (n, N, d), ``y`` (n, N), ``x_q`` (n, d), ``y_q`` (n,), ``w`` (n, d), float64.

    Examples
    --------
    >>> X, y, x_q, y_q, w = sample_tasks(3, 4, 5, seed=0)
    >>> X.shape, y.shape, x_q.shape, y_q.shape, w.shape
    ((3, 5, 4), (3, 5), (3, 4), (3,), (3, 4))
    >>> bool(np.all(np.abs(X) <= 0.5)) and bool(np.allclose(y, np.einsum("nid,nd->ni", X, w)))
    True
    """
    n = integer(n_tasks, "n_tasks", minimum=1)
    d = integer(d, "d", minimum=1)
    N = integer(N, "N", minimum=1)
    noise_var = nonnegative(noise_var, "noise_var")
    task_var = positive(task_var, "task_var")
    k = integer(size_distract, "size_distract", minimum=0, maximum=N)
    given = [name for name, v in (("law", law), ("input_range", input_range), ("Lambda", Lambda))
             if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of law, input_range, Lambda; got {', '.join(given)}")
    chol = None
    if Lambda is not None:
        chol = _check_Lambda(Lambda, d)
    elif law is not None:
        law = as_law(law)
    else:
        r = 1.0 if input_range is None else positive(input_range, "input_range")
        law = Uniform(sp.nsimplify(r, rational=True) / 2)
    rng = make_rng(seed, rng)

    w = np.sqrt(task_var) * rng.standard_normal((n, d))  # (n, d)
    if chol is not None:
        pts = rng.standard_normal((n * (N + 1), d)) @ chol.T
    else:
        pts = sample(law, n * (N + 1), d, rng)
    pts = pts.reshape(n, N + 1, d)
    X, x_q = pts[:, :N, :], pts[:, N, :]  # (n, N, d), (n, d)
    y = np.einsum("nid,nd->ni", X, w)  # (n, N)
    y_q = np.einsum("nd,nd->n", x_q, w)  # (n,)
    if noise_var > 0:
        y = y + np.sqrt(noise_var) * rng.standard_normal((n, N))
        y_q = y_q + np.sqrt(noise_var) * rng.standard_normal(n)
    if k > 0:
        chosen = np.argsort(rng.random((n, N)), axis=1)[:, :k]  # (n, k) distinct positions
        y[np.arange(n)[:, None], chosen] = rng.standard_normal((n, k))
    return LSATasks(np.ascontiguousarray(X), y, np.ascontiguousarray(x_q), y_q, w)


def sample_ood_tasks(n_tasks: int, d: int = 10, N: int = 10, *, alpha: float = 1.0,
                     distribution: str = "mixed", task_var: float = 1.0,
                     seed=None, rng=None) -> LSATasks:
    """Draw the "other distributions" OOD tasks of the authors' ``create_ood_data``.

    Each task draws a raw context Z (N, d) and query z (d,) from one of the JAX standard
    exponential (rate 1, NOT centred), standard normal, or standard Laplace laws
    (``distribution="mixed"``: each with probability 1/3 per task), then rescales both by the
    same factor so that the context has Frobenius norm alpha: X = alpha Z / |Z|_F,
    x_q = alpha z / |Z|_F.  The paper only says "alpha scales the input values"; this
    normalisation is the code's.  w ~ N(0, task_var I), noiseless targets.

    Returns
    -------
    LSATasks
        As :func:`sample_tasks`; ``np.linalg.norm(X[i]) == alpha`` for every task.

    Examples
    --------
    >>> t = sample_ood_tasks(4, 3, 5, alpha=2.0, seed=1)
    >>> np.allclose(np.linalg.norm(t.X, axis=(1, 2)), 2.0)
    True
    """
    n = integer(n_tasks, "n_tasks", minimum=1)
    d = integer(d, "d", minimum=1)
    N = integer(N, "N", minimum=1)
    alpha = positive(alpha, "alpha")
    task_var = positive(task_var, "task_var")
    distribution = choice(distribution, "distribution", OOD_DISTRIBUTIONS + ("mixed",))
    rng = make_rng(seed, rng)
    w = np.sqrt(task_var) * rng.standard_normal((n, d))
    if distribution == "mixed":
        which = rng.integers(0, 3, size=n)  # (n,) index into OOD_DISTRIBUTIONS
    else:
        which = np.full(n, OOD_DISTRIBUTIONS.index(distribution))
    draws = (rng.standard_exponential((n, N + 1, d)), rng.standard_normal((n, N + 1, d)),
             rng.laplace(0.0, 1.0, (n, N + 1, d)))
    Z = np.choose(which[:, None, None], draws)  # (n, N+1, d)
    norm = np.linalg.norm(Z[:, :N, :], axis=(1, 2))  # (n,) Frobenius norm of the context
    Z = alpha * Z / norm[:, None, None]
    X, x_q = np.ascontiguousarray(Z[:, :N, :]), np.ascontiguousarray(Z[:, N, :])
    y = np.einsum("nid,nd->ni", X, w)
    y_q = np.einsum("nd,nd->n", x_q, w)
    return LSATasks(X, y, x_q, y_q, w)
