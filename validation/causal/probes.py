"""Probes of trained Nichani-Damian-Lee models: the model rebuilt from a result's arrays, its
predictions, and its distance to the in-context empirical conditional pi_hat(. | s_T) (the theorem's limit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

import numerics.causal as nc
from numerics.seeds import child_seed
from theory.args import integer
from theory.args import seed as check_seed
from validation.args import device as check_device
from validation.causal.models import DisentangledTransformer, ReducedModel, StandardTransformer
from validation.causal.results import CausalResult
from validation.causal.sampling import sample_tree_task
from validation.causal.tasks import AGREEMENT_KEY

__all__ = ["InContextResult", "in_context_agreement", "predict"]


@dataclass(frozen=True)
class InContextResult:
    """How far a trained model is from the in-context empirical conditional pi_hat(. | s_T).

    ``tv`` is the mean total variation 1/2 |f(X) - pi_hat_X(. | s_T)|_1 over the sequences in
    which s_T occurs as a parent token at least once (``fraction_defined`` of them), ``tv_se``
    its standard error; ``match_attention`` the mean layer-2 attention mass from the query on
    positions i with s_{p(i)} = s_T (reduced model; NaN otherwise); ``tv_bayes`` the same
    distance for the Bayes-style estimator (a reference scale).
    """

    tv: float
    tv_se: float
    match_attention: float
    fraction_defined: float
    tv_bayes: float
    n_sequences: int


# ---------------------------------------------------------------------------------------------
# trained models as estimators
# ---------------------------------------------------------------------------------------------

def _rebuild(result: CausalResult, device: torch.device) -> torch.nn.Module:
    """The trained model of ``result`` (float64, on ``device``), rebuilt from its ``params``."""
    if result.model == "reduced":
        model = ReducedModel(result.T, result.S, device=device)
    elif result.model == "disentangled":
        model = DisentangledTransformer(result.S, result.T, result.heads, device=device)
    else:
        model = StandardTransformer(result.S, result.T, result.heads, generator=torch.Generator(), device=device)
    names = {}
    if result.model == "disentangled":  # params "A1", "A2", ... are the ParameterList "A.0", "A.1", ...
        names = {f"A{k + 1}": f"A.{k}" for k in range(len(result.heads))}
    state = {names.get(k, k): torch.as_tensor(v, dtype=torch.float64, device=device)
             for k, v in result.params.items()}
    model.load_state_dict(state)
    return model


def predict(result: CausalResult, tokens, *, device="cpu") -> np.ndarray:
    """The trained model's output f(X) in float64 for token sequences ``tokens`` (B, T)."""
    device = check_device(device)
    model = _rebuild(result, device)
    tokens = torch.as_tensor(np.asarray(tokens), device=device)
    if tokens.ndim != 2 or tokens.shape[1] != result.T:
        raise ValueError(f"tokens must have shape (B, {result.T}), got {tuple(tokens.shape)}")
    with torch.no_grad():
        return model(tokens).cpu().numpy()


def in_context_agreement(result: CausalResult, *, pi=None, n_sequences: int = 4096, seed: int = 0,
                         device="cpu") -> InContextResult:
    """Distance of a trained model from the in-context empirical conditional (main theorem, item 4; reconstructed).

    Sequences on the model's graph with pi drawn from the prior (``pi=None``), or with a fixed
    ``pi`` (S x S, e.g. a deterministic permutation: out of distribution; roots are then drawn
    uniformly, a stationary law of any doubly stochastic pi). Compares f(X) with
    pi_hat_X(s'|s_T) = #{i: s_p(i) = s_T, s_i = s'} / #{i: s_p(i) = s_T}.
    """
    if result.model == "standard" or not all(isinstance(p, int) for p in result.parents):
        raise ValueError("result must be a reduced or disentangled model trained on a single-parent graph")
    device = check_device(device)
    S, parents = result.S, result.parents
    n_sequences = integer(n_sequences, "n_sequences", minimum=2)
    gen = torch.Generator(device=device).manual_seed(child_seed(check_seed(seed), AGREEMENT_KEY))
    mu = None
    if pi is not None:
        pi = np.asarray(pi, dtype=np.float64)
        if pi.shape != (S, S) or np.any(pi < 0) or not np.allclose(pi.sum(-1), 1.0):
            raise ValueError(f"pi must be a row-stochastic ({S}, {S}) matrix")
        mu = torch.full((S,), 1.0 / S)
        pi = torch.as_tensor(pi)
    tokens, _ = sample_tree_task(parents, S, result.alpha, n_sequences, generator=gen, device=device,
                                 pi=pi, mu=mu)
    seq = tokens.cpu().numpy()
    counts = nc.transition_counts(seq, parents, S)
    defined = counts.sum(-1) > 0
    pi_hat = nc.empirical_conditional(seq, parents, S)
    model = _rebuild(result, device)
    with torch.no_grad():
        if result.model == "reduced":
            f, _, sigma2 = model(tokens, return_attention=True)
            par = np.asarray(parents)
            match = np.zeros(seq.shape, dtype=bool)  # (B, T): non-root i with s_p(i) = s_T
            child = np.flatnonzero(par >= 0)
            match[:, child] = seq[:, par[child]] == seq[:, -1:]
            mass = (sigma2.cpu().numpy() * match).sum(-1)
            match_attention = float(mass[defined].mean()) if defined.any() else float("nan")
        else:
            f = model(tokens)
            match_attention = float("nan")
    f = f.cpu().numpy()
    tv = 0.5 * np.abs(f - pi_hat).sum(-1)[defined]
    bayes = nc.bayes_estimator(seq, parents, S, result.alpha)
    tv_bayes = 0.5 * np.abs(bayes - pi_hat).sum(-1)[defined]
    if tv.size < 2:
        raise ValueError("too few sequences with a parent match of the query; raise n_sequences")
    return InContextResult(tv=float(tv.mean()), tv_se=float(tv.std(ddof=1) / math.sqrt(tv.size)),
                           match_attention=match_attention, fraction_defined=float(defined.mean()),
                           tv_bayes=float(tv_bayes.mean()), n_sequences=n_sequences)
