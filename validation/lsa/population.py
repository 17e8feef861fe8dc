"""The population path of a trained one-layer LSA run. [derived]

The same initial factors (the run's seed, :data:`validation.lsa.loop.INIT_KEY`) and the same optimiser
(AdamW b1 0.9, b2 0.98, eps 1e-8, the run's learning rate and global-norm clip) on the exact population
gradient (:func:`numerics.lsa.population_descent`): the deterministic trajectory that the trained run
follows with sampling noise in its gradients. The trained run ends a little above it: with fresh tasks
every step, Adam keeps the weights moving around the minimiser, and the excess of their population
loss is the noise floor (0.87 %, SD 0.06 % over 20 seeds at the quick length:
``benchmarks/results/lsa_trained_spread.json``).
"""
from __future__ import annotations

import numpy as np
import torch

from numerics.lsa import PopulationDescent, population_descent, population_loss
from numerics.seeds import child_seed
from theory.args import ArgumentError
from validation.lsa.loop import INIT_KEY
from validation.lsa.models import LSA

__all__ = ["initial_factors", "population_path", "weights_population_loss"]


def _one_layer(config: dict) -> None:
    if config["layers"] != 1 or config["heads"] != 1 or config["softmax"]:
        raise ArgumentError("the population loss is that of one linear layer with one head, got "
                            f"layers={config['layers']}, heads={config['heads']}, softmax={config['softmax']}")


def initial_factors(config: dict) -> list[np.ndarray]:
    """(W_Q, W_K, W_V, W_O) at the start of the run with ``config`` (an ``LSAResult.config``), float64:
    the draws of :func:`validation.lsa.train_lsa` before any step."""
    _one_layer(config)
    model = LSA(d=config["d"], layers=1, recurrent=config["recurrent"], heads=1, key_size=config["key_size"],
                softmax=False, init_scale=config["init_scale"], dampening=config["dampening"],
                clip=config["clip_tokens"], generator=torch.Generator().manual_seed(child_seed(config["seed"], INIT_KEY)),
                dtype=torch.float64)
    W_Q, W_K, W_V, W_O = (f.detach().numpy() for f in model.factors())
    return [W_Q[0, 0].copy(), W_K[0, 0].copy(), W_V[0, 0].copy(), W_O[0].copy()]


def population_path(config: dict) -> PopulationDescent:
    """Population AdamW from the run's own start, logged every ``config["log_every"]`` steps and at the end
    (the steps at which the trained run was evaluated)."""
    _one_layer(config)
    if config["dampening"] != 1.0 or config["clip_tokens"] is not None:
        raise ArgumentError("the population path is for the undampened, unclipped layer")
    return population_descent(initial_factors(config), config["d"], config["N"], config["law"],
                              steps=config["steps"], lr=config["lr"], betas=(0.9, 0.98), eps=1e-8,
                              grad_clip=config["grad_clip"], log_every=config["log_every"])


def weights_population_loss(result) -> float:
    """The exact population loss of a trained one-layer run's final weights (``numerics.lsa.population_loss``)."""
    c = result.config
    _one_layer(c)
    W_KQ, W_PV = (np.asarray(w, dtype=float)[0, 0] for w in (result.W_KQ, result.W_PV))
    return population_loss(W_KQ, W_PV, c["d"], c["N"], c["law"])
