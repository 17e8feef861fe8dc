"""The mutual-information ranking of Nichani, Damian, Lee 2024, numerically (exact per pi, MC over pi).

For a forest G and two positions j <= i in the same tree, let c be their lowest common
ancestor, i be a steps and j be b steps below it.  Given pi (stationary law mu, reverse
kernel R(x, y) = mu(y) pi(y, x) / mu(x), a stochastic matrix with entries <= 1), the joint
law of (s_j, s_i) is P_ji(s, s') = sum_c mu(c) pi^b(c, s) pi^a(c, s'), so

    I~_{j,i} + 1 = sum_{s,s'} P_ji(s,s') pi(s,s') / mu(s') = tr(R^a pi^(b+1)),
    I_chi2(s_j; s_i) + 1 = sum P_ji^2 / (mu mu) = tr(R^a pi^b R^b pi^a),

both computed without dividing by small mu (P_ji(s,s')/mu(s') = (R^a pi^b)(s', s) <= 1).
Positions in different trees are independent given pi: I~ = I_chi2 = 0 exactly.
Every quantity is exact given pi and averaged over n_draws priors with common draws
(chunk k of the priors from ``numerics.seeds.child_rng(seed, PRIOR_KEY, k)``, the project's one
seed rule).
"""
from __future__ import annotations

import numpy as np

from numerics.causal.graphs import check_alpha, check_S, validate_parents
from numerics.causal.sampling import sample_dirichlet, stationary_distribution
from numerics.causal.structure import depths, lowest_common_ancestors
from numerics.seeds import child_rng
from theory.args import integer
from theory.args import seed as check_seed

__all__ = [
    "lca_information",
    "information_matrix",
    "predicted_parents",
    "information_gap",
    "chain_information_curves",
]

_CHUNK = 4000
#: the key of the prior draws: chunk k of ``seed`` is ``child_rng(seed, PRIOR_KEY, k)``
PRIOR_KEY = 1


def _reverse_kernel(pi: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """R(x, y) = mu(y) pi(y, x) / mu(x), rows with mu(x) = 0 set to 0; shape (N, S, S)."""
    safe = np.where(mu > 0, mu, 1.0)
    R = mu[:, None, :] * np.swapaxes(pi, 1, 2) / safe[:, :, None]
    return np.where((mu > 0)[:, :, None], R, 0.0)


def _powers(M: np.ndarray, top: int) -> list:
    """[M^0, M^1, ..., M^top] for a batch (N, S, S)."""
    out = [np.broadcast_to(np.eye(M.shape[-1]), M.shape)]
    for _ in range(top):
        out.append(out[-1] @ M)
    return out


def _prior_chunks(S: int, alpha: float, n_draws: int, seed: int, pi):
    """Chunks of transition matrices (N, S, S): drawn from the prior, or the given ``pi``."""
    if pi is not None:
        pi = np.asarray(pi, dtype=np.float64)
        pi = pi[None] if pi.ndim == 2 else pi
        if pi.ndim != 3 or pi.shape[1:] != (S, S):
            raise ValueError(f"pi must have shape ({S}, {S}) or (N, {S}, {S}), got {pi.shape}")
        if np.any(pi < 0) or not np.allclose(pi.sum(-1), 1.0, atol=1e-12, rtol=0):
            raise ValueError("pi must be row-stochastic (non-negative rows summing to 1)")
        for start in range(0, len(pi), _CHUNK):
            yield pi[start:start + _CHUNK]
        return
    for k, start in enumerate(range(0, n_draws, _CHUNK)):
        yield sample_dirichlet(alpha, (min(_CHUNK, n_draws - start), S), S, child_rng(seed, PRIOR_KEY, k))


def lca_information(S: int, alpha: float, pairs, *, n_draws: int = 20000, seed: int = 0,
                    chi2: bool = False, pi=None) -> tuple[np.ndarray, np.ndarray]:
    """E_pi of the information between two nodes a and b steps below their common ancestor.

    ``chi2=False``: the gradient quantity I~ = E_pi tr(R^a pi^(b+1)) - 1 (node i a steps,
    node j b steps below the LCA; (a, 0) is an ancestor at distance a).  ``chi2=True``: the
    chi-square mutual information E_pi I_chi2(s_j; s_i | pi) = E_pi tr(R^a pi^b R^b pi^a) - 1.
    Nichani, Damian, Lee 2024, Section 4.2 (gradient encodes chi2-MI); notes Section 7.2.
    ``pi`` (S x S or N x S x S) averages over the given matrices instead of the prior.

    Returns
    -------
    mean, se : ndarray of shape (len(pairs),)
        Monte-Carlo mean over the priors (exact given each pi) and its standard error
        (0 for a single given pi).
    """
    S, alpha = check_S(S), check_alpha(alpha)
    if pi is None:
        n_draws, seed = integer(n_draws, "n_draws", minimum=2), check_seed(seed)
    pairs = [(integer(a, "pairs", minimum=0), integer(b, "pairs", minimum=0)) for a, b in pairs]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    top_a = max(a for a, _ in pairs)
    top_b = max(b for _, b in pairs)
    total, total_sq, count = np.zeros(len(pairs)), np.zeros(len(pairs)), 0
    for chunk in _prior_chunks(S, alpha, n_draws, seed, pi):  # (N, S, S)
        R = _reverse_kernel(chunk, stationary_distribution(chunk))
        Rp = _powers(R, max(top_a, top_b) if chi2 else top_a)
        Pp = _powers(chunk, max(top_a, top_b) if chi2 else top_b + 1)
        for k, (a, b) in enumerate(pairs):
            if chi2:
                value = np.einsum("nij,nji->n", Rp[a] @ Pp[b], Rp[b] @ Pp[a]) - 1.0
            else:
                value = np.einsum("nij,nji->n", Rp[a], Pp[b + 1]) - 1.0
            total[k] += value.sum()
            total_sq[k] += (value**2).sum()
        count += len(chunk)
    mean = total / count
    if count < 2:
        return mean, np.zeros_like(mean)
    var = np.maximum(total_sq / count - mean**2, 0.0) * count / (count - 1)
    return mean, np.sqrt(var / count)


def information_matrix(parents, S: int, alpha: float, *, n_draws: int = 20000, seed: int = 0,
                       return_se: bool = False, pi=None):
    """The n x n matrix of I~_{j,i} (entry [i, j], row i = child position, j <= i; 0 above).

    I~_{j,i} = E_pi[ sum_{s,s'} P_ji(s,s') pi(s'|s) / mu(s') ] - 1 (Nichani, Damian, Lee 2024,
    the population gradient of A1 at initialisation, Section 4.2 of the notes), exact per pi
    through the lowest common ancestor, averaged over n_draws priors.  I~_{p(i),i} is the
    expected chi2 mutual information of the edge; entries across trees are exactly 0; the
    diagonal is E tr(pi) - 1 (= 0 in expectation, left as its Monte-Carlo average).
    ``pi`` (S x S or N x S x S) replaces the prior draws (theory.causal.information_given_pi
    is the exact value for one pi).

    Parameters
    ----------
    parents : sequence of int
        A forest over the context positions (``parents[i]`` in 0..i-1 or -1).
    S : int
        Vocabulary size, >= 2.
    alpha : float
        Dirichlet concentration of the rows of pi, > 0.
    n_draws, seed : int
        Number of priors pi averaged over, and the seed of their draws (common to all entries).
    return_se : bool
        Also return the Monte-Carlo standard errors.
    pi : array_like, optional
        Fixed transition matrices instead of prior draws.

    Returns
    -------
    ndarray (n, n), or (mean, se) when ``return_se``.

    References
    ----------
    Nichani, Damian, Lee 2024, How Transformers Learn Causal Structure with Gradient Descent
    (ICML), the gradient of the first attention layer at initialisation.

    Examples
    --------
    >>> M = information_matrix((-1, 0, 1), 2, 1, n_draws=2000, seed=0)
    >>> M.shape, bool(M[1, 0] > 0.1), bool(abs(M[2, 0]) < 0.05)  # S = 2: I~(2) = E[lambda^3] = 0
    ((3, 3), True, True)
    """
    parents = validate_parents(parents)
    n = len(parents)
    lca, depth = lowest_common_ancestors(parents), depths(parents)
    i_idx, j_idx = np.tril_indices(n)
    same = lca[i_idx, j_idx] >= 0
    i_idx, j_idx = i_idx[same], j_idx[same]
    c = lca[i_idx, j_idx]
    a, b = depth[i_idx] - depth[c], depth[j_idx] - depth[c]
    keys = sorted(set(zip(a.tolist(), b.tolist())))
    mean, se = lca_information(S, alpha, keys, n_draws=n_draws, seed=seed, pi=pi)
    lookup = {key: k for k, key in enumerate(keys)}
    where = np.array([lookup[key] for key in zip(a.tolist(), b.tolist())])
    M, E = np.zeros((n, n)), np.zeros((n, n))
    M[i_idx, j_idx], E[i_idx, j_idx] = mean[where], se[where]
    return (M, E) if return_se else M


def predicted_parents(parents, S: int, alpha: float, *, n_draws: int = 20000, seed: int = 0,
                      pi=None) -> np.ndarray:
    """The ranking: argmax over j < i of row i of :func:`information_matrix`; -1 where no entry is > 0.

    Roots have an all-zero row (no common ancestor with any earlier position), so they get -1;
    the theorem (data processing + Cauchy-Schwarz; reconstructed) says the argmax is the true parent.

    Parameters
    ----------
    parents, S, alpha, n_draws, seed, pi
        As in :func:`information_matrix`.

    Returns
    -------
    ndarray of int, shape (n,)

    Examples
    --------
    >>> predicted_parents((-1, 0, 1, -1, 3), 3, 0.1, n_draws=2000, seed=0).tolist()
    [-1, 0, 1, -1, 3]
    """
    M = information_matrix(parents, S, alpha, n_draws=n_draws, seed=seed, pi=pi)
    n = M.shape[0]
    masked = np.where(np.tri(n, k=-1, dtype=bool), M, -np.inf)  # (n, n), j < i only
    best = masked.argmax(axis=1)
    has = np.max(masked, axis=1) > 0
    return np.where(has, best, -1)


def information_gap(parents, S: int, alpha: float, *, n_draws: int = 20000, seed: int = 0,
                    per_node: bool = False, pi=None):
    """The information gap Delta = min over non-roots i of [ I~_{p(i),i} - max_{j <= i, j != p(i)} I~_{j,i} ].

    The maximum runs over the whole causal attention row (diagonal included).  Delta > 0 is the
    theorem's information-gap assumption (the parent wins every row of the first gradient).

    Parameters
    ----------
    parents, S, alpha, n_draws, seed, pi
        As in :func:`information_matrix`.
    per_node : bool
        Return the margins of every position (NaN at roots) instead of their minimum.

    Returns
    -------
    float, or ndarray (n,) when ``per_node``.
    """
    parents = np.asarray(validate_parents(parents))
    M = information_matrix(parents, S, alpha, n_draws=n_draws, seed=seed, pi=pi)
    n = len(parents)
    margins = np.full(n, np.nan)
    for i in np.flatnonzero(parents >= 0):  # a reduction per row; rows differ in length
        others = np.delete(M[i, : i + 1], parents[i])
        margins[i] = M[i, parents[i]] - others.max()
    if per_node:
        return margins
    if np.all(np.isnan(margins)):
        raise ValueError("parents must have at least one non-root position for the gap to exist")
    return float(np.nanmin(margins))


def chain_information_curves(S: int, alpha: float, max_distance: int, *, n_draws: int = 20000,
                             seed: int = 0) -> dict:
    """I~(k) and E I_chi2(s_{i-k}; s_i) against the ancestor distance k = 0..max_distance.

    Returns a dict of arrays: ``k``, ``cross`` / ``cross_se`` (I~(k) = E tr(R^k pi) - 1) and
    ``chi2`` / ``chi2_se`` (E tr(R^k pi^k) - 1; S - 1 at k = 0).  For S = 2 the closed forms are
    theory.causal.binary_cross_information and binary_ancestor_information.
    """
    K = integer(max_distance, "max_distance", minimum=1)
    pairs = [(k, 0) for k in range(K + 1)]
    cross, cross_se = lca_information(S, alpha, pairs, n_draws=n_draws, seed=seed)
    chi2, chi2_se = lca_information(S, alpha, pairs, n_draws=n_draws, seed=seed, chi2=True)
    return dict(k=np.arange(K + 1), cross=cross, cross_se=cross_se, chi2=chi2, chi2_se=chi2_se)
