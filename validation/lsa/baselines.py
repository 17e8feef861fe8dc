"""The GD and GD++ constructions a trained LSA is compared with (von Oswald et al. 2023, Prop. 1, Sec. 3).

For one layer the baseline is one GD step at the exact optimum eta* (``theory.lsa``); for K > 1
layers, K-step GD and K-step GD++ with step sizes (and curvature corrections) fitted by
``numerics.lsa.fit_gdpp``, tied like the model.  These are fits, not training: they depend on the
run's settings only, and :func:`construction_pair` turns them into merged torch weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from numerics.lsa import fit_gdpp
from numerics.seeds import child_seed
from theory.lsa import one_step_loss, optimal_step_size
from validation.lsa.config import LSAConfig
from validation.lsa.models import construction_weights

__all__ = ["LSABaselines", "fit_baselines", "construction_pair"]

#: key of the K-step GD / GD++ fit under the run's seed: child_seed(seed, FIT_KEY) (numerics.seeds)
FIT_KEY = 0


@dataclass(frozen=True, eq=False)
class LSABaselines:
    """The exact one-step optimum and the (fitted) K-step GD and GD++ of a run's setting."""

    eta_star: float                   # theory.lsa.optimal_step_size(d, N, law)
    theory_loss: float                # theory.lsa.one_step_loss(eta*, d, N, law)
    gd_etas: np.ndarray               # (K,) step sizes of K-step GD (eta* for K = 1)
    gdpp_etas: np.ndarray | None      # (K,) GD++ step sizes (K > 1 only)
    gdpp_gammas: np.ndarray | None    # (K,) GD++ curvature corrections (K > 1 only)


def fit_baselines(config: LSAConfig) -> LSABaselines:
    """eta* and L* exactly; for K > 1 the K-step GD and GD++ fits of ``numerics.lsa.fit_gdpp``.

    The fits use ``config.gdpp_fit_tasks`` tasks of the run's law, tied as the model is
    (``recurrent``), from the seed ``numerics.seeds.child_seed(run seed, FIT_KEY)``.
    """
    c = config
    eta_star = float(optimal_step_size(c.d, c.N, c.law))
    theory_loss = float(one_step_loss(optimal_step_size(c.d, c.N, c.law), c.d, c.N, c.law))
    if c.layers == 1:
        return LSABaselines(eta_star, theory_loss, np.array([eta_star]), None, None)
    fit_seed = child_seed(c.seed, FIT_KEY)
    fit = dict(d=c.d, N=c.N, law=c.law, recurrent=c.recurrent, n_fit=c.gdpp_fit_tasks, n_eval=2, seed=fit_seed)
    gd = fit_gdpp(c.layers, curvature=False, **fit)
    pp = fit_gdpp(c.layers, curvature=True, **fit)
    return LSABaselines(eta_star, theory_loss, np.asarray(gd.etas, dtype=float),
                        np.asarray(pp.etas, float), np.asarray(pp.gammas, float))


def construction_pair(config: LSAConfig, etas, gammas=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Merged float64 weights (W_KQ, W_PV) on the run's device of the GD (``gammas`` None) or GD++
    construction, with the step sizes divided by the run's dampening (the model multiplies every
    residual update by it)."""
    etas = np.asarray(etas) / config.dampening
    gammas = None if gammas is None else np.asarray(gammas) / config.dampening
    return construction_weights(config.d, config.N, etas, gammas, dtype=torch.float64, device=config.device)
