"""Numerics of von Oswald et al. 2023, "Transformers learn in-context by gradient descent".

Submodules, one idea each:

- :mod:`numerics.lsa.tasks`: the samplers of the authors' code (x ~ U(-r/2, r/2)^d with r = 1,
  w ~ N(0, I); any law of ``theory.laws``; Gaussian with covariance Lambda; OOD input scale,
  task scale, other distributions with the code's Frobenius normalisation, distractor targets);
- :mod:`numerics.lsa.predictors`: the GD, K-step GD and GD++ predictors on sufficient statistics
  (and in the Gram matrix's eigenbasis), Monte-Carlo losses with standard errors, dampened
  roll-outs;
- :mod:`numerics.lsa.fits`: the step-size line search and the least-squares preconditioner;
- :mod:`numerics.lsa.gdpp`: GD++ step sizes and curvature corrections fitted by L-BFGS;
- :mod:`numerics.lsa.noisy`: the noisy-label test's one-step GD loss, closed form and Monte Carlo;
- :mod:`numerics.lsa.spectrum`: the X X^T spectrum and GD++ condition numbers;
- :mod:`numerics.lsa.tokens`: token-level linear self-attention and the constructions' weights;
- :mod:`numerics.lsa.weights`: the population loss over the layer's weights and its gradient,
  exact in float64 from moment tensors;
- :mod:`numerics.lsa.descent`: Adam on the population loss over the factored weights (the
  deterministic path of a trained run);
- :mod:`numerics.lsa.args`: the argument checks they share (task arrays, per-layer schedules).

Examples
--------
>>> X, y, x_q, y_q, w = sample_tasks(20000, 10, 10, seed=0)
>>> loss, se = mc_loss(gd_predict(X, y, x_q, 200 / 33), y_q)
>>> abs(loss - 0.20623) < 5 * se   # theory.lsa.one_step_loss at eta* = 200/33
True
"""
from numerics.lsa.descent import PopulationDescent, factor_gradients, population_descent
from numerics.lsa.fits import LR_GRID, StepSizeSearch, fit_preconditioner, line_search_step_size
from numerics.lsa.gdpp import GDPPFit, fit_gdpp, loss_and_grad
from numerics.lsa.noisy import noisy_label_losses, noisy_label_mc
from numerics.lsa.predictors import (
    SpectralTasks,
    dampened_rollout,
    gd_predict,
    gdpp_predict,
    kstep_gd_predict,
    mc_loss,
)
from numerics.lsa.spectrum import GramSpectrum, gdpp_condition_numbers, gram_spectrum
from numerics.lsa.tasks import OOD_DISTRIBUTIONS, LSATasks, sample_ood_tasks, sample_tasks
from numerics.lsa.tokens import (
    build_tokens,
    gd_construction_weights,
    gdpp_construction_weights,
    lsa_forward,
    lsa_layer,
)
from numerics.lsa.weights import (
    input_moments,
    loss_and_merged_grad,
    moment_tensors,
    population_grad,
    population_loss,
    population_tensors,
)

__all__ = [
    "noisy_label_losses",
    "noisy_label_mc",
    "population_loss",
    "population_grad",
    "moment_tensors",
    "input_moments",
    "population_tensors",
    "loss_and_merged_grad",
    "PopulationDescent",
    "population_descent",
    "factor_gradients",
    "LSATasks",
    "OOD_DISTRIBUTIONS",
    "sample_tasks",
    "sample_ood_tasks",
    "build_tokens",
    "gd_predict",
    "kstep_gd_predict",
    "gdpp_predict",
    "mc_loss",
    "LR_GRID",
    "StepSizeSearch",
    "line_search_step_size",
    "dampened_rollout",
    "fit_preconditioner",
    "SpectralTasks",
    "GDPPFit",
    "fit_gdpp",
    "loss_and_grad",
    "GramSpectrum",
    "gram_spectrum",
    "gdpp_condition_numbers",
    "lsa_layer",
    "lsa_forward",
    "gd_construction_weights",
    "gdpp_construction_weights",
]

# softmax heads in float64 and their small-logit series (softmax, A.9)
from numerics.lsa.softmax import centred_gd_predict, softmax_heads_predict, softmax_heads_update, two_head_gd_weights, two_head_remainder, two_head_series  # noqa: E402,E501
__all__ += ["softmax_heads_update", "softmax_heads_predict", "two_head_series", "two_head_remainder", "two_head_gd_weights", "centred_gd_predict"]  # noqa: E501
