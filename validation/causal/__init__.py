"""Nichani, Damian, Lee 2024 trained (torch): the models, their trainers and probes.

* :mod:`~validation.causal.sampling`: the torch sampler of Task 1, drawn on the device every step;
* :mod:`~validation.causal.models`: the reduced model, the disentangled transformer, the standard
  transformer with MLPs;
* :mod:`~validation.causal.tasks`: the graph, training batches, the numpy test set and its baselines;
* :mod:`~validation.causal.results`: :class:`CausalResult` and the read-out of parent attention;
* :mod:`~validation.causal.two_stage`: Algorithm 1 on the reduced model (:func:`train_two_stage`);
* :mod:`~validation.causal.joint`: joint training as in the authors' experiments
  (:func:`train_disentangled`, :func:`train_standard`);
* :mod:`~validation.causal.probes`: predictions and the distance to the in-context conditional;
* :mod:`~validation.causal.gradient`: the first-step gradient of the reduced model (gradient lemma).

Every trainer and probe takes keyword-only arguments with the paper's (or the authors' code's)
defaults and returns a frozen dataclass; ``seed`` fixes everything.
"""
from validation.causal.gradient import GradientResult, first_step_gradient
from validation.causal.joint import train_disentangled, train_standard
from validation.causal.models import (
    DisentangledTransformer,
    ReducedModel,
    StandardTransformer,
    causal_softmax,
    smoothed_loss,
)
from validation.causal.probes import InContextResult, in_context_agreement, predict
from validation.causal.results import CausalResult, parent_attention
from validation.causal.sampling import dirichlet_rows, log_gamma, sample_dag_task, sample_tree_task, stationary_gth
from validation.causal.tasks import Baselines, TaskGraph, TestSet, baseline_losses, make_test_set, parse_graph
from validation.causal.two_stage import train_two_stage

__all__ = [
    # trainers and their results
    "CausalResult",
    "train_two_stage",
    "train_disentangled",
    "train_standard",
    # probes
    "GradientResult",
    "InContextResult",
    "first_step_gradient",
    "in_context_agreement",
    "predict",
    "parent_attention",
    # the task as the trainers see it
    "TaskGraph",
    "parse_graph",
    "TestSet",
    "make_test_set",
    "Baselines",
    "baseline_losses",
    # models
    "ReducedModel",
    "DisentangledTransformer",
    "StandardTransformer",
    "causal_softmax",
    "smoothed_loss",
    # the torch sampler
    "dirichlet_rows",
    "log_gamma",
    "stationary_gth",
    "sample_tree_task",
    "sample_dag_task",
]
