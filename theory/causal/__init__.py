"""Nichani, Damian, Lee 2024 (How transformers learn causal structure), exactly (sympy only).

Task 1: a transition matrix pi with rows i.i.d. Dir(alpha 1_S) drives tokens along a latent
forest (``parents[i]`` in 0..i-1 or -1 for a root; roots start at the stationary law mu);
the query s_T is uniform and the label is pi(. | s_T).

* :mod:`~theory.causal.information`: the chi-square mutual information, Dirichlet expectations,
  the oracle entropy (any S);
* :mod:`~theory.causal.binary`: S = 2 closed forms (pi = [[1-a, a], [b, 1-b]], a, b i.i.d.
  Beta(alpha, alpha), lambda = 1 - a - b; I_chi2(s_{i-k}; s_i | pi) = lambda^(2k), I~ at tree
  distance d = E[lambda^(d+1)]) and the data-processing inequality for symbolic alpha;
* :mod:`~theory.causal.forests`: the latent forest, its tree distances, the information gap;
* :mod:`~theory.causal.reduced_model`: the reduced model, its loss and the first-order expansion
  of dL/dA1 at A1 = 0, A2 = beta0 I derived by differentiation;
* :mod:`~theory.causal.gradient`: that gradient in expectation over sequences, exactly.

Rationals in, exact expressions out; no floats.  ``__all__`` is the set of exact results (what
``icl-theory derive`` lists); the graph check ``validate_parents`` is public in
:mod:`theory.causal.forests`.
"""
from theory.causal.binary import (
    binary_ancestor_information,
    binary_cross_information,
    binary_data_processing_inequality,
    binary_data_processing_margin,
    binary_edge_information,
    binary_joint,
    binary_lambda_moment,
    binary_stationary_distribution,
    binary_transition_matrix,
    centered_beta_moment,
)
from theory.causal.forests import (
    binary_forest_information,
    binary_information_gap,
    information_gap,
    tree_distances,
)
from theory.causal.gradient import (
    exact_stationary_distribution,
    expected_first_order_gradient,
    information_given_pi,
    large_T_gradient,
)
from theory.causal.information import (
    chi2_mutual_information,
    expected_collision_probability,
    expected_row_entropy,
    expected_transition_trace,
)
from theory.causal.reduced_model import (
    a1_gradient,
    first_order_gradient_terms,
    indicator_gradient_formula,
    reduced_model_loss,
    reduced_model_output,
    reduced_model_scores,
)

__all__ = [
    "chi2_mutual_information",
    "expected_row_entropy",
    "expected_collision_probability",
    "expected_transition_trace",
    "binary_transition_matrix",
    "binary_stationary_distribution",
    "binary_joint",
    "centered_beta_moment",
    "binary_lambda_moment",
    "binary_edge_information",
    "binary_ancestor_information",
    "binary_cross_information",
    "binary_data_processing_margin",
    "binary_data_processing_inequality",
    "tree_distances",
    "binary_forest_information",
    "information_gap",
    "binary_information_gap",
    "reduced_model_scores",
    "reduced_model_output",
    "reduced_model_loss",
    "a1_gradient",
    "first_order_gradient_terms",
    "indicator_gradient_formula",
    "exact_stationary_distribution",
    "information_given_pi",
    "expected_first_order_gradient",
    "large_T_gradient",
]
