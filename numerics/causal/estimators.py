"""In-context estimators of Nichani, Damian, Lee 2024, numerically: transition counts, the empirical
conditional pi_hat(. | s_T) (the limit of the trained model) and the Bayes-style baselines.
"""
from __future__ import annotations

import numpy as np

from numerics.causal.graphs import check_alpha, check_S, validate_parent_lists, validate_parents

__all__ = [
    "transition_counts",
    "empirical_conditional",
    "bayes_estimator",
    "bayes_estimator_authors",
    "dag_transition_counts",
    "dag_bayes_estimator",
]


def _check_sequences(sequences, n_tokens: int, S: int) -> np.ndarray:
    seq = np.asarray(sequences)
    if seq.ndim != 2 or seq.shape[1] != n_tokens:
        raise ValueError(f"sequences must have shape (B, {n_tokens}), got {seq.shape}")
    if seq.size and (seq.min() < 0 or seq.max() >= S):
        raise ValueError(f"sequences must hold tokens in 0..{S - 1}")
    return seq


def transition_counts(sequences, parents, S: int) -> np.ndarray:
    """In-context counts C[b, s'] = #{non-root i : s_{p(i)} = s_T, s_i = s'}, shape (B, S)."""
    parents = np.asarray(validate_parents(parents))
    S = check_S(S)
    seq = _check_sequences(sequences, len(parents) + 1, S)
    child = np.flatnonzero(parents >= 0)
    match = seq[:, parents[child]] == seq[:, -1:]  # (B, m)
    onehot = seq[:, child, None] == np.arange(S)  # (B, m, S)
    return (onehot & match[:, :, None]).sum(1).astype(np.float64)


def empirical_conditional(sequences, parents, S: int) -> np.ndarray:
    """The in-context empirical conditional pi_hat(s' | s_T) = C[s'] / sum C, shape (B, S).

    The limit of the trained model (the paper's OOD statement).  Rows without any parent
    match (sum C = 0) are uniform; select them with ``transition_counts(...).sum(-1) > 0``.
    """
    counts = transition_counts(sequences, parents, S)
    total = counts.sum(-1, keepdims=True)
    return np.where(total > 0, counts / np.where(total > 0, total, 1.0), 1.0 / counts.shape[-1])


def bayes_estimator(sequences, parents, S: int, alpha: float) -> np.ndarray:
    """The authors' "Bayes" baseline done right: (alpha + C[s']) / (S alpha + sum C), roots not counted.

    The Dirichlet posterior mean of the row pi(. | s_T) from the in-context transitions
    only (it ignores what the mu-distributed roots say about pi; approximately Bayes).
    """
    alpha = check_alpha(alpha)
    counts = transition_counts(sequences, parents, S) + alpha
    return counts / counts.sum(-1, keepdims=True)


def bayes_estimator_authors(sequences, parents, S: int, alpha: float) -> np.ndarray:
    """The authors' ``InContextTree.bayes``, bug included (for the errata).

    The parent array indexes the context, so a root (-1) reads the last context token
    s_{T-1}: each root's token is counted whenever s_{T-1} = s_T.
    """
    parents = np.asarray(validate_parents(parents))
    S, alpha = check_S(S), check_alpha(alpha)
    seq = _check_sequences(sequences, len(parents) + 1, S)
    context = seq[:, :-1]
    match = context[:, parents] == seq[:, -1:]  # parents = -1 reads context[:, -1]
    onehot = context[:, :, None] == np.arange(S)  # (B, n, S)
    counts = (onehot & match[:, :, None]).sum(1) + alpha
    return counts / counts.sum(-1, keepdims=True)


def dag_transition_counts(sequences, parent_lists, S: int) -> np.ndarray:
    """Multi-parent counts: over tokens i with as many parents as the target and matching parent tuple.

    As the authors' ``InContextDAG.bayes``: C[b, s'] = #{i < T : |p(i)| = |p(T)|,
    s_{p(i)} = s_{p(T)} entrywise, s_i = s'}, shape (B, S).
    """
    lists = validate_parent_lists(parent_lists)
    S = check_S(S)
    seq = _check_sequences(sequences, len(lists) - 1, S)
    k = len(lists[-1])
    nodes = [i for i in range(len(lists) - 1) if len(lists[i]) == k]
    if not nodes:
        return np.zeros((seq.shape[0], S))
    par = np.array([lists[i] for i in nodes]).reshape(len(nodes), k)  # (m, k)
    query = seq[:, list(lists[-1])]  # (B, k)
    match = np.all(seq[:, par] == query[:, None, :], axis=-1)  # (B, m)
    onehot = seq[:, nodes, None] == np.arange(S)  # (B, m, S)
    return (onehot & match[:, :, None]).sum(1).astype(np.float64)


def dag_bayes_estimator(sequences, parent_lists, S: int, alpha: float) -> np.ndarray:
    """(alpha + C) / (S alpha + sum C) with the multi-parent counts; with
    :func:`numerics.causal.graphs.last_parent_graph` it is the "one NN" (one-parent) baseline of Figure 7."""
    alpha = check_alpha(alpha)
    counts = dag_transition_counts(sequences, parent_lists, S) + alpha
    return counts / counts.sum(-1, keepdims=True)
