"""Numerics of von Oswald et al. 2023, "Transformers learn in-context by gradient descent".

Samplers of the authors' code (x ~ U(-r/2, r/2)^d with r = 1, w ~ N(0, I); any law of
``theory.laws``; Gaussian with covariance Lambda; OOD input scale, task scale, other
distributions with the code's Frobenius normalisation, distractor targets), the GD, K-step
GD and GD++ predictors on sufficient statistics, Monte-Carlo losses with standard errors,
step-size line search, GD++ fits, the X X^T spectrum and dampened roll-outs.

The public names live in small modules and are all importable from here:
``numerics.lsa_tasks`` (samplers), ``numerics.lsa_predict`` (predictors, losses, search),
``numerics.lsa_gdpp`` (GD++ fits, spectrum), ``numerics.lsa_tokens`` (token-level LSA).

Examples
--------
>>> X, y, x_q, y_q, w = sample_tasks(20000, 10, 10, seed=0)
>>> loss, se = mc_loss(gd_predict(X, y, x_q, 200 / 33), y_q)
>>> abs(loss - 0.20623) < 5 * se   # theory.lsa.one_step_loss at eta* = 200/33
True
"""
from __future__ import annotations

from numerics.lsa_gdpp import (
    GDPPFit,
    GramSpectrum,
    fit_gdpp,
    gdpp_condition_numbers,
    gram_spectrum,
)
from numerics.lsa_predict import (
    LR_GRID,
    SpectralTasks,
    StepSizeSearch,
    dampened_rollout,
    fit_preconditioner,
    gd_predict,
    gdpp_predict,
    kstep_gd_predict,
    line_search_step_size,
    mc_loss,
)
from numerics.lsa_tasks import OOD_DISTRIBUTIONS, LSATasks, build_tokens, sample_ood_tasks, sample_tasks
from numerics.lsa_tokens import gd_construction_weights, gdpp_construction_weights, lsa_forward, lsa_layer

__all__ = [
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
    "GramSpectrum",
    "gram_spectrum",
    "gdpp_condition_numbers",
    "lsa_layer",
    "lsa_forward",
    "gd_construction_weights",
    "gdpp_construction_weights",
]
