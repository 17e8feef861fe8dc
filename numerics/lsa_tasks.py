"""Task samplers of von Oswald et al. 2023, as the authors' code draws them.

A task is a linear map w ~ N(0, task_var I_d); N context inputs x_i and one query x_q,
i.i.d.; targets y = w.x + eps with eps ~ N(0, noise_var) (context and query alike).
The default input law is the code's, x ~ U(-r/2, r/2)^d with r = ``input_range`` = 1
(the paper writes U(-1, 1); see the errata of the notes, section 0).

Everything is vectorised over tasks and drawn from one ``numpy.random.Generator``.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import sympy as sp

from numerics.laws import sample
from numerics.seeds import make_rng
from theory.laws import as_law
from theory.laws import Uniform

__all__ = ["LSATasks", "OOD_DISTRIBUTIONS", "sample_tasks", "sample_ood_tasks", "build_tokens"]

OOD_DISTRIBUTIONS = ("exponential", "normal", "laplace")


class LSATasks(NamedTuple):
    """A batch of regression tasks (unpacks as ``X, y, x_q, y_q, w``)."""

    X: np.ndarray    # (n, N, d) context inputs
    y: np.ndarray    # (n, N)    context targets
    x_q: np.ndarray  # (n, d)    query input
    y_q: np.ndarray  # (n,)      query target
    w: np.ndarray    # (n, d)    task weights


def _int_arg(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _float_arg(value, name: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'} and finite, got {value}")
    return value


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
    n = _int_arg(n_tasks, "n_tasks", 1)
    d = _int_arg(d, "d", 1)
    N = _int_arg(N, "N", 1)
    noise_var = _float_arg(noise_var, "noise_var", positive=False)
    task_var = _float_arg(task_var, "task_var", positive=True)
    k = _int_arg(size_distract, "size_distract", 0)
    if k > N:
        raise ValueError(f"size_distract must be in 0..N = 0..{N}, got {k}")
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
        r = 1.0 if input_range is None else _float_arg(input_range, "input_range", positive=True)
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
    n = _int_arg(n_tasks, "n_tasks", 1)
    d = _int_arg(d, "d", 1)
    N = _int_arg(N, "N", 1)
    alpha = _float_arg(alpha, "alpha", positive=True)
    task_var = _float_arg(task_var, "task_var", positive=True)
    choices = OOD_DISTRIBUTIONS + ("mixed",)
    if distribution not in choices:
        raise ValueError(f"distribution must be one of {', '.join(choices)}, got {distribution!r}")
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


def build_tokens(X: np.ndarray, y: np.ndarray, x_q: np.ndarray, y_init=None) -> np.ndarray:
    """Token matrix of the constructed layout: rows e_i = (x_i, y_i), query (x_q, y_init).

    ``y`` is (n, N) or (n, N, d_y); ``y_init`` defaults to 0 (i.e. -W0 x_q with W0 = 0).
    Returns E of shape (n, N + 1, d + d_y) (the code's ``seq``).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    x_q = np.asarray(x_q, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n, N, d), got {X.shape}")
    n, N, d = X.shape
    if y.shape == (n, N):
        y = y[..., None]
    if y.ndim != 3 or y.shape[:2] != (n, N):
        raise ValueError(f"y must have shape ({n}, {N}) or ({n}, {N}, d_y), got {y.shape}")
    if x_q.shape != (n, d):
        raise ValueError(f"x_q must have shape ({n}, {d}), got {x_q.shape}")
    d_y = y.shape[2]
    q = np.zeros((n, d_y)) if y_init is None else np.asarray(y_init, dtype=float).reshape(n, d_y)
    ctx = np.concatenate([X, y], axis=2)  # (n, N, d + d_y)
    query = np.concatenate([x_q, q], axis=1)[:, None, :]  # (n, 1, d + d_y)
    return np.concatenate([ctx, query], axis=1)  # (n, N + 1, d + d_y)
