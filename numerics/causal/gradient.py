"""The first-layer gradient of the reduced model of Nichani, Damian, Lee 2024 at initialisation,
numerically: its large-T prediction from the information matrix, and the finite-T first-order
formula by Monte Carlo over sequences (the exact counterparts are in ``theory.causal.gradient``).

The Monte Carlo draws its sequences in chunks, chunk k from ``numerics.seeds.child_rng(seed,
SEQUENCE_KEY, k)`` (the project's one seed rule).
"""
from __future__ import annotations

import numpy as np

from numerics.causal.graphs import check_epsilon, check_S, validate_parents
from numerics.causal.information import information_matrix
from numerics.causal.sampling import sample_tree_task
from numerics.seeds import child_rng
from theory.args import integer
from theory.args import seed as check_seed

__all__ = ["predicted_gradient", "first_order_gradient"]

#: the key of the Monte-Carlo sequences: chunk k of ``seed`` is ``child_rng(seed, SEQUENCE_KEY, k)``
SEQUENCE_KEY = 1


def predicted_gradient(parents, S: int, alpha: float, *, n_draws: int = 20000, seed: int = 0,
                       pi=None) -> np.ndarray:
    """Large-T first-step gradient: G[i, j] = I~_{j,i} - (1/(i+1)) sum_{k <= i} I~_{k,i} (j <= i, 0 above).

    The gradient lemma (reconstructed; our derivation of its large-T form): the limit of
    -(T (i+1) S / beta0) dL/dA1_{ij} at A1 = 0, A2 = beta0 I, beta0 -> 0 (notes Section 4.2, 0-based i: i + 1 visible positions), over the context rows (the query row is
    not in it: its finite-T value is in :func:`first_order_gradient`).  ``pi`` as in
    :func:`information_matrix`.
    """
    M = information_matrix(parents, S, alpha, n_draws=n_draws, seed=seed, pi=pi)
    n = M.shape[0]
    lower = np.tri(n, dtype=bool)
    mean = M.sum(1, keepdims=True) / np.arange(1, n + 1)[:, None]
    return np.where(lower, M - mean, 0.0)


def first_order_gradient(parents, S: int, alpha: float, *, n_sequences: int = 2**16, seed: int = 0,
                         chunk: int = 4096, pi=None, epsilon: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Finite-T first-order gradient of the reduced model, by Monte Carlo over sequences.

    At A1 = 0, A2 = beta0 I (T positions incl. the query, 0-based row i sees i + 1 of them):
    -(T (i+1) S / beta0) dL/dA1_{ij} = S E[c_i d_ij] + O(beta0), with
    c_i = pi(s_i | s_T) / (f_hat(s_i) + eps) - sum_y pi(y | s_T) f_hat(y) / (f_hat(y) + eps),
    f_hat = the empirical unigram of all T tokens, d_ij = 1{s_j = s_T} - (1/(i+1)) sum_{k <= i}
    1{s_k = s_T} (derived symbolically in theory.causal.first_order_gradient_terms), for the
    loss -sum_y pi(y | s_T) log(f_y + eps).  The notes (Section 4.2) write c_i = pi/f_hat - 1,
    which holds only when every label occurs in the sequence: with eps = 0 an absent label's
    term is a constant (+infinity) without gradient, so the subtracted mass is that of the
    labels present.  Use the epsilon the model is trained with.  ``pi`` (S x S) fixes the
    transition matrix instead of averaging over the prior (compare with
    theory.causal.expected_first_order_gradient).

    Returns
    -------
    mean, se : ndarray (T, T), lower triangle (0 above the diagonal).
    """
    parents = validate_parents(parents)
    S = check_S(S)
    epsilon = 0.0 if epsilon == 0 else check_epsilon(epsilon)
    n_sequences = integer(n_sequences, "n_sequences", minimum=2)
    T = len(parents) + 1
    total, total_sq = np.zeros((T, T)), np.zeros((T, T))
    lower = np.tri(T, dtype=bool)
    seed = check_seed(seed)
    for k, start in enumerate(range(0, n_sequences, chunk)):
        b = sample_tree_task(parents, S, alpha, min(chunk, n_sequences - start),
                             rng=child_rng(seed, SEQUENCE_KEY, k), pi=pi)
        seq, rows = b.sequences, np.arange(b.sequences.shape[0])[:, None]
        f_hat = (seq[:, :, None] == np.arange(S)).mean(1)  # (B, S)
        present = f_hat > 0
        mass = np.where(present, b.target * f_hat / np.where(present, f_hat + epsilon, 1.0), 0.0).sum(-1)  # (B,)
        c = b.target[rows, seq] / (f_hat[rows, seq] + epsilon) - mass[:, None]  # (B, T)
        m = (seq == seq[:, -1:]).astype(np.float64)  # (B, T)
        running = np.cumsum(m, 1) / np.arange(1, T + 1)  # (B, T)
        value = S * c[:, :, None] * (m[:, None, :] - running[:, :, None])  # (B, T, T)
        value = np.where(lower, value, 0.0)
        total += value.sum(0)
        total_sq += (value**2).sum(0)
    mean = total / n_sequences
    var = np.maximum(total_sq / n_sequences - mean**2, 0.0) * n_sequences / (n_sequences - 1)
    return mean, np.sqrt(var / n_sequences)
