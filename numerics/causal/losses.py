"""Losses of Task 1 of Nichani, Damian, Lee 2024, numerically: cross-entropy, the oracle loss, and
Monte-Carlo losses of the Bayes-style baselines (with standard errors).

The Monte Carlo draws its sequences in chunks, chunk k from ``numerics.seeds.child_rng(seed,
SEQUENCE_KEY, k)`` (the project's one seed rule).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma

from numerics.causal.estimators import bayes_estimator, bayes_estimator_authors, dag_bayes_estimator
from numerics.causal.graphs import (
    check_alpha,
    check_epsilon,
    check_S,
    last_parent_graph,
    validate_parent_lists,
    validate_parents,
)
from numerics.causal.sampling import sample_dag_task, sample_tree_task
from numerics.seeds import child_rng
from theory.args import integer
from theory.args import seed as check_seed

__all__ = [
    "cross_entropy",
    "oracle_loss",
    "LossEstimate",
    "mean_and_se",
    "bayes_losses",
    "dag_bayes_losses",
]

#: the key of the Monte-Carlo sequences: chunk k of ``seed`` is ``child_rng(seed, SEQUENCE_KEY, k)``
SEQUENCE_KEY = 1


def cross_entropy(target, prediction, *, epsilon=None) -> np.ndarray:
    """Per-sequence loss -sum_s' target(s') log(prediction(s') [+ epsilon]), shape (B,).

    The authors' label is the whole distribution pi(. | s_T), so this is the expected
    cross-entropy over y ~ pi(. | s_T).  ``epsilon`` in (0, 1) gives the smoothed log loss
    used for the reduced model (whose output can put mass 0 on a possible label).
    Terms with target 0 contribute 0.
    """
    target = np.asarray(target, dtype=np.float64)
    prediction = np.asarray(prediction, dtype=np.float64)
    if target.shape != prediction.shape:
        raise ValueError(f"target and prediction must have the same shape, got {target.shape}, {prediction.shape}")
    if epsilon is not None:
        prediction = prediction + check_epsilon(epsilon)
    with np.errstate(divide="ignore"):
        logs = np.where(target > 0, np.log(prediction), 0.0)
    return -(target * logs).sum(-1)


def oracle_loss(S: int, alpha: float) -> float:
    """E H(pi(. | s)) = digamma(S alpha + 1) - digamma(alpha + 1): the loss of a model knowing pi.

    Examples
    --------
    >>> round(oracle_loss(10, 0.1), 4)
    0.8465
    """
    S, alpha = check_S(S), check_alpha(alpha)
    return float(digamma(S * alpha + 1.0) - digamma(alpha + 1.0))


@dataclass(frozen=True)
class LossEstimate:
    """A Monte-Carlo mean with its standard error and sample size."""

    mean: float
    se: float
    n: int


def mean_and_se(values) -> LossEstimate:
    """Sample mean, standard error std/sqrt(n) (ddof 1) and n."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size < 2:
        raise ValueError(f"values must hold at least 2 samples, got {values.size}")
    return LossEstimate(float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size)), values.size)


def bayes_losses(parents, S: int = 10, alpha: float = 0.1, *, n_sequences: int = 2**17, seed: int = 0,
                 chunk: int = 2**14) -> dict:
    """Losses of the Bayes-style baselines on common sequences (Monte Carlo, chunked).

    Returns a dict of :class:`LossEstimate`: ``"correct"`` (roots not counted), ``"authors"``
    (the authors' estimator, bug included), ``"difference"`` (authors - correct, paired),
    ``"oracle"`` (mean entropy of the target: Monte Carlo of :func:`oracle_loss`).
    For a ``parents`` forest (tree task); at S = 10, T = 20, alpha = 0.1 the notes give
    1.7625 / 1.7753 for the chain.
    """
    parents = validate_parents(parents)
    S, alpha = check_S(S), check_alpha(alpha)
    n_sequences = integer(n_sequences, "n_sequences", minimum=2)
    seed = check_seed(seed)
    parts = {"correct": [], "authors": [], "oracle": []}
    for k, start in enumerate(range(0, n_sequences, chunk)):
        b = sample_tree_task(parents, S, alpha, min(chunk, n_sequences - start), rng=child_rng(seed, SEQUENCE_KEY, k))
        parts["correct"].append(cross_entropy(b.target, bayes_estimator(b.sequences, parents, S, alpha)))
        parts["authors"].append(cross_entropy(b.target, bayes_estimator_authors(b.sequences, parents, S, alpha)))
        parts["oracle"].append(cross_entropy(b.target, b.target))
    values = {key: np.concatenate(v) for key, v in parts.items()}
    out = {key: mean_and_se(v) for key, v in values.items()}
    out["difference"] = mean_and_se(values["authors"] - values["correct"])
    return out


def dag_bayes_losses(parent_lists, S: int = 5, alpha: float = 0.1, *, n_sequences: int = 2**16, seed: int = 0,
                     chunk: int = 2**14) -> dict:
    """Losses of the multi-parent baselines of Figure 7 on common sequences (Monte Carlo, chunked).

    Returns a dict of :class:`LossEstimate`: ``"bayes"`` (all parents, the authors'
    ``InContextDAG.bayes``), ``"one_nn"`` (the last listed parent only: :func:`last_parent_graph`)
    and ``"oracle"`` (the target's mean entropy).
    """
    lists = validate_parent_lists(parent_lists)
    S, alpha = check_S(S), check_alpha(alpha)
    n_sequences = integer(n_sequences, "n_sequences", minimum=2)
    one_nn = last_parent_graph(lists)
    seed = check_seed(seed)
    parts = {"bayes": [], "one_nn": [], "oracle": []}
    for k, start in enumerate(range(0, n_sequences, chunk)):
        b = sample_dag_task(lists, S, alpha, min(chunk, n_sequences - start), rng=child_rng(seed, SEQUENCE_KEY, k))
        parts["bayes"].append(cross_entropy(b.target, dag_bayes_estimator(b.sequences, lists, S, alpha)))
        parts["one_nn"].append(cross_entropy(b.target, dag_bayes_estimator(b.sequences, one_nn, S, alpha)))
        parts["oracle"].append(cross_entropy(b.target, b.target))
    return {key: mean_and_se(np.concatenate(v)) for key, v in parts.items()}
