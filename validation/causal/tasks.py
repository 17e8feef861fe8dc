"""The task of Nichani, Damian, Lee 2024 as the trainers see it: the graph, the training batches, the
numpy test set with the baselines scored on it, and the steps at which a run is scored.

Graphs: a ``parents`` tuple (``parents[i]`` in 0..i-1, -1 for a root) is the single-parent task
(query s_T uniform, T = len(parents) + 1); a list of parent lists in the authors' ``InContextDAG``
layout (one list per token, the last entry the target's parents, T = len - 1) is the multi-parent
task of Figures 5 and 7. :func:`parse_graph` tells them apart once, at a trainer's entry.

Training batches come from the torch sampler (:mod:`validation.causal.sampling`); the test set,
the Bayes-style baselines and the in-context estimators from :mod:`numerics.causal` (an independent
numpy implementation of the task), so a model trained on the torch sampler and scored on the numpy
one also checks the two samplers against each other.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

import numerics.causal as nc
from numerics.seeds import child_seed
from validation.causal.sampling import sample_dag_task, sample_tree_task

__all__ = ["TaskGraph", "parse_graph", "draw_batch", "TestSet", "make_test_set", "Baselines", "baseline_losses",
           "log_steps", "TRAIN_KEY", "TEST_KEY", "INIT_KEY", "AGREEMENT_KEY", "GRADIENT_KEY"]

# The random streams of one ``seed`` (numerics.seeds.child_seed(seed, key)), one key per purpose:
TRAIN_KEY = 0  #: the torch generator of the training batches
TEST_KEY = 1  #: the numpy generator of the test set
INIT_KEY = 2  #: the torch generator of a model's random initialisation
AGREEMENT_KEY = 3  #: the sequences of validation.causal.in_context_agreement
GRADIENT_KEY = 4  #: the sequences of validation.causal.first_step_gradient


class TaskGraph(NamedTuple):
    """A checked graph: ``kind`` "tree" (a parents tuple) or "dag" (parent lists), the graph itself,
    ``n`` the context positions whose layer-1 attention is read (n = T - 1 for a tree, T for a DAG)
    and ``T`` the sequence length the model sees (query included)."""

    kind: str
    graph: tuple
    n: int
    T: int


def parse_graph(parents) -> TaskGraph:
    """A :class:`TaskGraph` from a parents tuple or a list of parent lists; ``ValueError`` naming
    ``parents`` (or ``parent_lists``) for a bad graph.

    Examples
    --------
    >>> parse_graph((-1, 0, 1))
    TaskGraph(kind='tree', graph=(-1, 0, 1), n=3, T=4)
    """
    if isinstance(parents, (str, bytes)) or not hasattr(parents, "__len__"):
        raise ValueError(f"parents must be a sequence (ints, or parent lists), got {parents!r}")
    if any(isinstance(p, (list, tuple)) and len(p) > 1 for p in parents):
        lists = nc.validate_parent_lists(parents)
        T = len(lists) - 1
        return TaskGraph("dag", lists, T, T)
    tree = nc.validate_parents(parents)
    return TaskGraph("tree", tree, len(tree), len(tree) + 1)


def draw_batch(graph: TaskGraph, S: int, alpha: float, batch: int, *, generator: torch.Generator, device,
               dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` fresh training sequences (tokens (B, T), target laws (B, S)) from the torch sampler."""
    sampler = sample_tree_task if graph.kind == "tree" else sample_dag_task
    return sampler(graph.graph, S, alpha, batch, generator=generator, device=device, dtype=dtype)


@dataclass(frozen=True)
class TestSet:
    """Test sequences drawn by the numpy sampler: ``sequences`` (n, T) and ``target`` (n, S) as numpy
    arrays, ``tokens`` and ``target_t`` (float64) the same on the training device."""

    __test__ = False  # not a pytest class

    graph: TaskGraph
    S: int
    alpha: float
    sequences: np.ndarray
    target: np.ndarray
    tokens: torch.Tensor
    target_t: torch.Tensor

    def loss(self, log_probs_fn, chunk: int = 8192) -> tuple[float, float]:
        """Mean and standard error of -sum_s' y(s') log f(s') over the test set, ``log_probs_fn``
        mapping tokens (b, T) to log f (b, S)."""
        values = []
        with torch.no_grad():
            for start in range(0, self.tokens.shape[0], chunk):
                logp = log_probs_fn(self.tokens[start:start + chunk]).to(torch.float64)
                y = self.target_t[start:start + chunk]
                values.append(-(torch.where(y > 0, y * logp, torch.zeros_like(y))).sum(-1))
        v = torch.cat(values).cpu().numpy()
        return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


def make_test_set(graph: TaskGraph, S: int, alpha: float, size: int, seed: int, device) -> TestSet:
    """``size`` test sequences of the task on ``graph`` from the numpy sampler, seeded by
    ``child_seed(seed, TEST_KEY)``; the arguments as checked by the trainer that calls it."""
    rng = np.random.default_rng(child_seed(seed, TEST_KEY))
    if graph.kind == "tree":
        b = nc.sample_tree_task(graph.graph, S, alpha, size, rng=rng)
    else:
        b = nc.sample_dag_task(graph.graph, S, alpha, size, rng=rng)
    return TestSet(graph, S, alpha, b.sequences, b.target, torch.as_tensor(b.sequences, device=device),
                   torch.as_tensor(b.target, dtype=torch.float64, device=device))


@dataclass(frozen=True)
class Baselines:
    """The baselines' losses on a test set: ``bayes`` the Dirichlet posterior mean done right (roots not
    counted; :class:`numerics.causal.LossEstimate`), ``bayes_authors`` the authors' estimator, bug
    included (single-parent task, else None), ``one_parent`` the "one NN" baseline (multi-parent task,
    else None)."""

    bayes: nc.LossEstimate
    bayes_authors: float | None
    one_parent: float | None


def baseline_losses(test: TestSet) -> Baselines:
    """The Bayes-style baselines of :mod:`numerics.causal` scored on ``test``'s sequences."""
    seq, target, graph, S, alpha = test.sequences, test.target, test.graph.graph, test.S, test.alpha
    if test.graph.kind == "tree":
        bayes = nc.mean_and_se(nc.cross_entropy(target, nc.bayes_estimator(seq, graph, S, alpha)))
        authors = nc.bayes_estimator_authors(seq, graph, S, alpha)
        return Baselines(bayes, float(nc.cross_entropy(target, authors).mean()), None)
    bayes = nc.mean_and_se(nc.cross_entropy(target, nc.dag_bayes_estimator(seq, graph, S, alpha)))
    one = nc.dag_bayes_estimator(seq, nc.last_parent_graph(graph), S, alpha)
    return Baselines(bayes, None, float(nc.cross_entropy(target, one).mean()))


def log_steps(steps: int, n_log: int) -> set:
    """The ``n_log`` (at most ``steps``) evenly spaced steps at which a training loop scores its test set."""
    n_log = max(1, min(int(n_log), steps))
    return {int(round(k * steps / n_log)) for k in range(n_log)}
