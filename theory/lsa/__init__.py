"""von Oswald et al. 2023 and the one-layer fixed points that follow it (sympy only).

Task: w ~ N(0, task_var I_d); x_i, x_q i.i.d. from ``law``; y = w.x + eps with
eps ~ N(0, noise_var) for context and query alike.  One GD step from W0 = 0 with
step size eta on L(W) = 1/(2N) sum_i (W x_i - y_i)^2 predicts
y_hat = (eta/N) sum_i y_i x_i.x_q.

Submodules, one idea each:

- :mod:`theory.lsa.losses`: the one-step GD loss, its optimal step size and the one-layer
  fixed points (Zhang, Frei, Bartlett's preconditioner);
- :mod:`theory.lsa.noisy`: the one-step GD loss with k context labels replaced by noise;
- :mod:`theory.lsa.ood`: the out-of-distribution losses and the input-law erratum;
- :mod:`theory.lsa.gdpp`: the GD++ curvature map of the Hessian's eigenvalues;
- :mod:`theory.lsa.layers`: linear and softmax attention on symbolic tokens, the GD step;
- :mod:`theory.lsa.constructions`: Proposition 1 (one layer = one GD step), K layers, GD++,
  the rescaling freedom;
- :mod:`theory.lsa.features`: Proposition 2 (MLP + LSA = GD on features, kernel smoother);
- :mod:`theory.lsa.copying`: Proposition 3 (the copy / induction-head layer);
- :mod:`theory.lsa.weights`: the population loss over the layer's weights, its gradient, and its
  split into an effective preconditioner's GD loss plus a non-negative left-over;
"""
from theory.lsa.constructions import (
    gd_construction,
    gdpp_construction,
    gdpp_residual,
    k_layer_gd_residual,
    lsa_gd_residual,
    rescaling_residual,
)
from theory.lsa.copying import copy_attention_weights, copy_construction, copy_layer_residual, copy_tokens
from theory.lsa.features import kernel_smoother_residual, mlp_lsa_residual
from theory.lsa.gdpp import gdpp_eigenvalue_facts, gdpp_eigenvalue_map, gdpp_hessian_residual
from theory.lsa.layers import gd_step, lsa_layer, regression_tokens, softmax_attention_layer
from theory.lsa.losses import (
    one_step_loss,
    optimal_one_step_loss,
    optimal_step_size,
    second_moment_matrix_traces,
    zero_predictor_loss,
    zfb_preconditioner,
)
from theory.lsa.noisy import noisy_label_loss, noisy_label_loss_enumerated, noisy_label_optimal_loss
from theory.lsa.ood import input_range_erratum, ood_input_scale_loss, ood_task_scale_loss
from theory.lsa.weights import (
    CovarianceGaussian,
    effective_preconditioner,
    input_moments,
    population_gradient,
    population_loss,
    population_loss_parts,
    preconditioned_weights,
)

__all__ = [
    # the population loss over the layer's weights (weights)
    "CovarianceGaussian",
    "input_moments",
    "population_loss",
    "population_gradient",
    "population_loss_parts",
    "effective_preconditioner",
    "preconditioned_weights",
    # one-step GD losses and the one-layer fixed points (losses, ood)
    "second_moment_matrix_traces",
    "one_step_loss",
    "optimal_step_size",
    "optimal_one_step_loss",
    "zero_predictor_loss",
    "zfb_preconditioner",
    "noisy_label_loss",
    "noisy_label_optimal_loss",
    "noisy_label_loss_enumerated",
    "ood_input_scale_loss",
    "ood_task_scale_loss",
    "input_range_erratum",
    # the GD++ curvature map (gdpp)
    "gdpp_eigenvalue_map",
    "gdpp_eigenvalue_facts",
    # token constructions (layers, constructions, features, copying)
    "lsa_layer",
    "softmax_attention_layer",
    "regression_tokens",
    "gd_step",
    "gd_construction",
    "gdpp_construction",
    "lsa_gd_residual",
    "k_layer_gd_residual",
    "gdpp_residual",
    "gdpp_hessian_residual",
    "rescaling_residual",
    "mlp_lsa_residual",
    "kernel_smoother_residual",
    "copy_construction",
    "copy_tokens",
    "copy_attention_weights",
    "copy_layer_residual",
]

# softmax attention to first order in the logit scale: two heads = linear attention on centred keys (softmax, A.9)
from theory.lsa.softmax import centred_gd_prediction, centred_one_step_loss, optimal_centred_one_step_loss, optimal_centred_step_size, one_head_offset, softmax_head, softmax_tokens, softmax_weights, softmax_weights_series, two_head_first_order, two_head_gd_limit, two_head_residual, two_head_second_order  # noqa: E402,E501
__all__ += ["softmax_weights", "softmax_weights_series", "softmax_head", "softmax_tokens", "one_head_offset", "two_head_first_order", "two_head_second_order", "two_head_residual", "two_head_gd_limit", "centred_gd_prediction", "centred_one_step_loss", "optimal_centred_step_size", "optimal_centred_one_step_loss"]  # noqa: E501
