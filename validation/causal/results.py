"""What a trained model of Nichani, Damian, Lee 2024 learned: the result of every trainer, and the
read-out of the attention to the true parents.

A :class:`CausalResult` holds arrays, tuples and plain numbers only (the trained weights as arrays in
``params``, no model object), so the run store can pickle it; ``validation.causal.predict`` rebuilds
the model from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CausalResult", "parent_attention"]


@dataclass(frozen=True)
class CausalResult:
    """A trained model of Nichani et al. 2024 and what it learned.

    Attributes
    ----------
    model : "reduced", "disentangled" or "standard"
    parents : the graph (a parents tuple, or parent lists for the multi-parent task)
    S, T, alpha : vocabulary size, sequence length (query included), Dirichlet concentration
    attention : (H, n, n) layer-1 attention over the n context positions, one matrix per head:
        S(A^(1)_pos,pos), the causal softmax of the position block (the paper's heat maps;
        for the standard transformer the test-batch average of the layer-1 attention)
    parent_attention : (n,) attention of position i to its parent p(i) (head 0; NaN at roots);
        for the multi-parent task the largest over heads and listed parents (:func:`parent_attention`)
    steps, losses : logged step indices and test losses (float64 evaluation)
    final_loss, final_loss_se : test loss after training and its standard error
    bayes_loss : the Dirichlet posterior-mean baseline done right (roots not counted), same test set
    bayes_loss_authors : the authors' estimator, bug included (single-parent task), else None
    one_parent_loss : the "one NN" baseline (multi-parent task), else None
    oracle_loss : E H(pi(. | s)) = digamma(S alpha + 1) - digamma(alpha + 1)
    A1, A2, W : learned matrices; disentangled: A1 (m1, S+T, S+T), A2 (m2, d1, d1), W (d2, S);
        reduced: A1 (T, T), A2 (S, S), W None
    params : every trained array by name (rebuilds the model, see ``validation.causal.predict``)
    heads : heads per layer
    wall_time, steps_per_second : of the training loop (test evaluations included)
    config : the arguments
    """

    model: str
    parents: tuple
    S: int
    T: int
    alpha: float
    attention: np.ndarray
    parent_attention: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    final_loss: float
    final_loss_se: float
    bayes_loss: float
    bayes_loss_authors: float | None
    one_parent_loss: float | None
    oracle_loss: float
    A1: np.ndarray
    A2: np.ndarray
    W: np.ndarray | None
    params: dict = field(repr=False)
    heads: tuple = (1, 1)
    wall_time: float = 0.0
    steps_per_second: float = 0.0
    config: dict = field(default_factory=dict, repr=False)


def parent_attention(kind: str, graph, attention: np.ndarray) -> np.ndarray:
    """The attention of each context position i to its parent p(i), (n,), NaN at roots.

    ``kind`` "tree": head 0's weight on the parent; "dag": the largest weight over heads on any listed
    parent. ``attention`` (H, n, n) is the layer-1 position-block attention of :class:`CausalResult`.
    """
    n = attention.shape[-1]
    out = np.full(n, np.nan)
    if kind == "tree":
        for i, p in enumerate(graph):
            if p >= 0:
                out[i] = attention[0, i, p]
    else:
        for i in range(n):
            if graph[i]:
                out[i] = max(attention[h, i, p] for h in range(attention.shape[0]) for p in graph[i])
    return out
