"""Task 1 of Nichani, Damian, Lee 2024, sampled in numpy: Dirichlet rows, stationary laws, sequences.

Each sequence draws a fresh transition matrix pi with rows i.i.d. Dir(alpha 1_S); roots of the
latent forest start at the stationary law mu_pi (GTH elimination), every other position i draws
s_i ~ pi(. | s_{p(i)}); the query s_T is uniform on [S] and the target is the distribution
pi(. | s_T).  The multi-parent variant is the authors' ``InContextDAG``.  This numpy sampler is
the reference that the torch sampler of ``validation.causal`` is tested against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.causal.graphs import check_alpha, check_S, validate_parent_lists, validate_parents
from numerics.seeds import make_rng
from theory.args import integer

__all__ = [
    "sample_dirichlet",
    "stationary_distribution",
    "TaskBatch",
    "sample_tree_task",
    "sample_dag_task",
]


def sample_dirichlet(alpha, shape, S: int, rng: np.random.Generator) -> np.ndarray:
    """Rows p ~ Dir(alpha 1_S), array of shape ``shape + (S,)``, float64.

    Gamma trick with the small-shape fix: G = Gamma(alpha + 1) * U^(1/alpha) has the
    Gamma(alpha) law and p = G / sum G.  For alpha >= 0.05 this is done in linear space
    (U^(1/alpha) underflows with probability < e^-35 per entry); below, in log space
    (log G = log Gamma(alpha+1) + log(U)/alpha, normalised by log-sum-exp), so rows never
    degenerate and only entries below ~1e-308 round to 0.  numpy's own ``dirichlet``
    switches to beta stick-breaking below alpha = 0.1 and then rounds ~1 % of the entries to
    exactly 0 at alpha = 0.05 (far more than the true probability): we do not use it.

    Examples
    --------
    >>> p = sample_dirichlet(0.1, (4,), 3, np.random.default_rng(0))
    >>> p.shape, bool(np.allclose(p.sum(-1), 1))
    ((4, 3), True)
    """
    alpha, S = check_alpha(alpha), check_S(S)
    size = tuple(shape) + (S,)
    if alpha >= 0.05:
        # numpy's Gamma(alpha < 1) sampler is itself the U^(1/alpha) construction (Ahrens-Dieter
        # GS): the same tail as Gamma(alpha + 1) U^(1/alpha) in linear space, and the fastest.
        g = rng.standard_gamma(alpha, size=size)
        total = g.sum(-1, keepdims=True)
        if np.all(total > 0):
            return g / total
    log_g = np.log(rng.standard_gamma(alpha + 1.0, size=size)) + np.log1p(-rng.random(size)) / alpha
    log_g -= log_g.max(-1, keepdims=True)
    p = np.exp(log_g)
    return p / p.sum(-1, keepdims=True)


def stationary_distribution(P) -> np.ndarray:
    """Stationary law mu (mu P = mu, sum mu = 1) by GTH elimination, batched over leading axes.

    Grassmann-Taksar-Heyman: censor states S-1, ..., 1 in turn, dividing by the row mass that
    leaves the censored state (a sum of non-negative numbers, never a difference), then back
    substitute.  Entrywise relative accuracy even for nearly reducible P (Dir(0.1) rows),
    where eig/SVD solvers lose all accuracy in the small entries.  A state that the
    elimination finds closed off (zero pivot: P reducible) gets mass 0.

    Parameters
    ----------
    P : array_like, shape (..., S, S), row-stochastic

    Returns
    -------
    ndarray, shape (..., S)

    Examples
    --------
    >>> stationary_distribution([[0.5, 0.5], [0.25, 0.75]])
    array([0.33333333, 0.66666667])
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"P must have shape (..., S, S), got {P.shape}")
    if np.any(P < 0) or not np.all(np.isfinite(P)):
        raise ValueError("P must have finite non-negative entries")
    # rows must sum to 1 (1e-6 admits rows rounded to float32 upstream: error <= S * 6e-8)
    if P.size and np.max(np.abs(P.sum(-1) - 1.0)) > 1e-6:
        raise ValueError(f"P must be row-stochastic (rows summing to 1), got row sums up to "
                         f"{np.max(np.abs(P.sum(-1) - 1.0)):.3g} away from 1")
    S = P.shape[-1]
    batch = P.shape[:-2]
    A = P.reshape((-1, S, S)).copy()  # (N, S, S)
    tiny = np.finfo(np.float64).tiny
    for k in range(S - 1, 0, -1):
        pivot = A[:, k, :k].sum(-1)  # (N,) mass leaving state k downwards
        scale = np.where(pivot > 0, 1.0 / np.maximum(pivot, tiny), 0.0)
        column = A[:, :k, k] * scale[:, None]  # (N, k)
        A[:, :k, k] = column
        A[:, :k, :k] += column[:, :, None] * A[:, k, None, :k]
    x = np.zeros(A.shape[:2])  # (N, S)
    x[:, 0] = 1.0
    for k in range(1, S):
        x[:, k] = (x[:, :k] * A[:, :k, k]).sum(-1)
    x /= x.sum(-1, keepdims=True)
    return x.reshape(batch + (S,))


def _sample_categorical(cdf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw from each distribution given by its CDF in the last axis (inverse CDF).

    The uniform is scaled by the CDF's last entry, so a state of mass 0 is never drawn even
    when the CDF rounds below 1.
    """
    u = rng.random(cdf.shape[:-1] + (1,)) * cdf[..., -1:]
    return np.minimum((u >= cdf).sum(-1), cdf.shape[-1] - 1)


@dataclass(frozen=True)
class TaskBatch:
    """A batch of Task 1 sequences.

    Attributes
    ----------
    sequences : (B, T) int64; the last column is the query s_T (tree task) or the last token
    query : (B,) int64 for the tree task, (B, k) for the DAG task (the target's parent tokens)
    target : (B, S) float64, the label distribution pi(. | query)
    pi : (B, S, S) for the tree task; for the DAG task a dict k -> (B, S^k, S)
    mu : (B, S) stationary laws (tree task) or None (DAG task: roots are uniform)
    """

    sequences: np.ndarray
    query: np.ndarray
    target: np.ndarray
    pi: object
    mu: object


def sample_tree_task(parents, S: int, alpha: float, batch: int, *, seed=None, rng=None,
                     pi=None) -> TaskBatch:
    """Sample Task 1 on a forest (the authors' ``InContextTree``), vectorised over sequences.

    pi has rows i.i.d. Dir(alpha 1_S); roots ~ mu_pi (GTH); s_i ~ pi(. | s_{p(i)}); the query
    s_T ~ Unif[S]; target = pi(. | s_T).  T = len(parents) + 1.  Positions of equal depth are
    drawn together, so the loop runs over depth levels, not positions.

    Parameters
    ----------
    parents : sequence of int
        A forest over the context positions (``parents[i]`` in 0..i-1 or -1).
    S : int
        Vocabulary size, >= 2.
    alpha : float
        Dirichlet concentration, > 0 (the paper: 0.1).
    batch : int
        Number of sequences B.
    seed, rng
        The randomness (an int seed, or a ``numpy.random.Generator``).
    pi : array_like, optional
        Shape (S, S) or (B, S, S), row-stochastic: fixed transition matrices instead of prior
        draws (alpha is then unused but still checked), e.g. a deterministic permutation for
        the out-of-distribution check.

    Returns
    -------
    TaskBatch
        sequences (B, T) int with the query last, query (B,), target (B, S), pi (B, S, S), mu (B, S).

    Examples
    --------
    >>> b = sample_tree_task((-1, 0, 1), 3, 0.1, 5, seed=0)
    >>> b.sequences.shape, b.target.shape
    ((5, 4), (5, 3))
    """
    parents = np.asarray(validate_parents(parents))
    S, alpha = check_S(S), check_alpha(alpha)
    batch = integer(batch, "batch", minimum=1)
    rng = make_rng(seed, rng)
    n = len(parents)
    if pi is None:
        pi = sample_dirichlet(alpha, (batch, S), S, rng)  # (B, S, S)
    else:
        pi = np.asarray(pi, dtype=np.float64)
        if pi.shape not in ((S, S), (batch, S, S)):
            raise ValueError(f"pi must have shape ({S}, {S}) or ({batch}, {S}, {S}), got {pi.shape}")
        if np.any(pi < 0) or not np.allclose(pi.sum(-1), 1.0, atol=1e-12, rtol=0):
            raise ValueError("pi must be row-stochastic (non-negative rows summing to 1)")
        pi = np.broadcast_to(pi, (batch, S, S))
    mu = stationary_distribution(pi)  # (B, S)
    seq = np.zeros((batch, n + 1), dtype=np.int64)
    depth = np.zeros(n, dtype=int)
    for i, p in enumerate(parents):
        depth[i] = 0 if p < 0 else depth[p] + 1
    rows = np.arange(batch)[:, None]
    cdf_pi, cdf_mu = np.cumsum(pi, -1), np.cumsum(mu, -1)  # (B, S, S), (B, S)
    for level in range(depth.max() + 1):
        nodes = np.flatnonzero(depth == level)
        if level == 0:
            cdf = np.broadcast_to(cdf_mu[:, None, :], (batch, len(nodes), S))  # (B, m, S)
        else:
            cdf = cdf_pi[rows, seq[:, parents[nodes]]]  # (B, m, S)
        seq[:, nodes] = _sample_categorical(cdf, rng)
    query = rng.integers(0, S, size=batch)
    seq[:, n] = query
    target = pi[np.arange(batch), query]  # (B, S)
    return TaskBatch(sequences=seq, query=query, target=target, pi=pi, mu=mu)


def sample_dag_task(parent_lists, S: int, alpha: float, batch: int, *, seed=None, rng=None) -> TaskBatch:
    """Sample the multi-parent task (the authors' ``InContextDAG``), vectorised over sequences.

    For each parent count k >= 1 in the graph a tensor pi_k with S^k rows i.i.d. Dir(alpha 1_S);
    roots are **uniform** (not stationary); s_i ~ pi_k(. | s_{p_1(i)}, ..., s_{p_k(i)}) with the
    row index sum_m s_{p_m} S^(k-1-m) (parents in the order listed).  Node T (the last entry)
    is the target: target = its conditional law, query = its parents' tokens.
    """
    lists = validate_parent_lists(parent_lists)
    S, alpha = check_S(S), check_alpha(alpha)
    batch = integer(batch, "batch", minimum=1)
    rng = make_rng(seed, rng)
    T = len(lists) - 1
    pis = {k: sample_dirichlet(alpha, (batch, S**k), S, rng) for k in sorted({len(p) for p in lists} - {0})}
    level = np.zeros(T + 1, dtype=int)
    for i, plist in enumerate(lists):
        level[i] = 0 if not plist else 1 + max(level[p] for p in plist)
    seq = np.zeros((batch, T), dtype=np.int64)
    rows = np.arange(batch)[:, None]

    def conditional(nodes, k):  # (B, m, S) laws of the given nodes, all with k parents
        if k == 0:
            return np.full((batch, len(nodes), S), 1.0 / S)
        par = np.array([lists[i] for i in nodes])  # (m, k)
        index = (seq[:, par] * S ** np.arange(k - 1, -1, -1)).sum(-1)  # (B, m)
        return pis[k][rows, index]

    for lev in range(level[:T].max() + 1):
        nodes = np.flatnonzero(level[:T] == lev)
        for k in sorted({len(lists[i]) for i in nodes}):
            group = np.array([i for i in nodes if len(lists[i]) == k])
            seq[:, group] = _sample_categorical(np.cumsum(conditional(group, k), -1), rng)
    target = conditional(np.array([T]), len(lists[T]))[:, 0]  # (B, S)
    query = seq[:, list(lists[T])]
    return TaskBatch(sequences=seq, query=query, target=target, pi=pis, mu=None)
