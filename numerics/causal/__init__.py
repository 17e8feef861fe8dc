"""Nichani, Damian, Lee 2024 (Task 1), numerically: graphs, the sampler, estimators, losses, information.

Task 1: each sequence draws a fresh transition matrix pi with rows i.i.d. Dir(alpha 1_S);
roots of the latent forest start at the stationary law mu_pi (GTH elimination), every other
position i draws s_i ~ pi(. | s_{p(i)}); the query s_T is uniform on [S] and the target is the
distribution pi(. | s_T).  The multi-parent variant is the authors' ``InContextDAG``.

* :mod:`~numerics.causal.graphs`: the graph vocabulary and argument checks, the papers' graphs;
* :mod:`~numerics.causal.structure`: adjacency, depths, lowest common ancestors, networkx;
* :mod:`~numerics.causal.sampling`: Dirichlet rows, GTH stationary laws, the task samplers;
* :mod:`~numerics.causal.estimators`: in-context counts, pi_hat, the Bayes-style estimators;
* :mod:`~numerics.causal.losses`: cross-entropy, the oracle loss, baseline losses by Monte Carlo;
* :mod:`~numerics.causal.information`: the chi-square information ranking (exact per pi);
* :mod:`~numerics.causal.gradient`: the first-layer gradient at initialisation.
"""
from numerics.causal.estimators import (
    bayes_estimator,
    bayes_estimator_authors,
    dag_bayes_estimator,
    dag_transition_counts,
    empirical_conditional,
    transition_counts,
)
from numerics.causal.gradient import first_order_gradient, predicted_gradient
from numerics.causal.graphs import (
    chain_graph,
    check_alpha,
    check_epsilon,
    check_S,
    is_single_parent,
    last_parent_graph,
    manual_tree,
    pairs_graph,
    random_forest,
    random_tree,
    two_parent_graph,
    validate_parent_lists,
    validate_parents,
)
from numerics.causal.information import (
    chain_information_curves,
    information_gap,
    information_matrix,
    lca_information,
    predicted_parents,
)
from numerics.causal.losses import (
    LossEstimate,
    bayes_losses,
    cross_entropy,
    dag_bayes_losses,
    mean_and_se,
    oracle_loss,
)
from numerics.causal.sampling import (
    TaskBatch,
    sample_dag_task,
    sample_dirichlet,
    sample_tree_task,
    stationary_distribution,
)
from numerics.causal.structure import (
    adjacency_matrix,
    depths,
    from_networkx,
    lowest_common_ancestors,
    roots,
    to_networkx,
)

__all__ = [
    # graphs
    "check_S",
    "check_alpha",
    "check_epsilon",
    "validate_parents",
    "validate_parent_lists",
    "is_single_parent",
    "chain_graph",
    "pairs_graph",
    "random_tree",
    "random_forest",
    "manual_tree",
    "two_parent_graph",
    "last_parent_graph",
    "adjacency_matrix",
    "roots",
    "depths",
    "lowest_common_ancestors",
    "to_networkx",
    "from_networkx",
    # the task
    "sample_dirichlet",
    "stationary_distribution",
    "TaskBatch",
    "sample_tree_task",
    "sample_dag_task",
    "transition_counts",
    "empirical_conditional",
    "bayes_estimator",
    "bayes_estimator_authors",
    "dag_transition_counts",
    "dag_bayes_estimator",
    "cross_entropy",
    "oracle_loss",
    "LossEstimate",
    "mean_and_se",
    "bayes_losses",
    "dag_bayes_losses",
    # information
    "lca_information",
    "information_matrix",
    "predicted_parents",
    "information_gap",
    "predicted_gradient",
    "chain_information_curves",
    "first_order_gradient",
]
