"""Probes of trained Nichani-Damian-Lee models: predictions, distance to the in-context conditional,
and the first-step gradient of the reduced model (the gradient lemma). Re-exported by
:mod:`validation.causal`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

import numerics.causal as nc
from validation.causal import CausalResult
from validation.causal_models import DisentangledTransformer, ReducedModel, StandardTransformer, _smoothed_loss
from validation.causal_sampling import _device, _graph, _positive, _positive_int, _seed, sample_tree_task

__all__ = ["GradientResult", "InContextResult", "first_step_gradient", "in_context_agreement", "predict"]


@dataclass(frozen=True)
class GradientResult:
    """The first-step gradient of the reduced model at A1 = 0, A2 = beta0 I.

    ``gradient[i, j] = -(T (i+1) S / beta0) dL/dA1_ij`` by autograd (0-based row i sees i + 1
    positions; T x T, the query row last, zero above the diagonal), averaged over
    ``n_sequences`` fresh sequences, with its Monte-Carlo standard error ``se`` (from the spread
    of per-batch gradients). ``formula`` is the exact first-order expression on the same
    sequences, S E[(pi(s_i|s_T)/f_hat(s_i) - P_present) d_ij] with P_present = sum of
    pi(y | s_T) over the tokens y present in the sequence (the beta0 -> 0, eps -> 0 limit of the
    autograd value; see notes Section 4.2, whose "- 1" equals P_present when every token occurs).
    """

    parents: tuple
    S: int
    T: int
    alpha: float
    beta0: float
    gradient: np.ndarray
    se: np.ndarray
    formula: np.ndarray
    n_sequences: int


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

def _rebuild(result: CausalResult, device):
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
    device = _device(device)
    model = _rebuild(result, device)
    tokens = torch.as_tensor(np.asarray(tokens), device=device)
    if tokens.ndim != 2 or tokens.shape[1] != result.T:
        raise ValueError(f"tokens must have shape (B, {result.T}), got {tuple(tokens.shape)}")
    with torch.no_grad():
        return model(tokens).cpu().numpy()


def in_context_agreement(result: CausalResult, *, pi=None, n_sequences: int = 4096, seed: int = 0,
                         device="cpu") -> InContextResult:
    """Distance of a trained model from the in-context empirical conditional (Theorem, item 4).

    Sequences on the model's graph with pi drawn from the prior (``pi=None``), or with a fixed
    ``pi`` (S x S, e.g. a deterministic permutation: out of distribution; roots are then drawn
    uniformly, a stationary law of any doubly stochastic pi). Compares f(X) with
    pi_hat_X(s'|s_T) = #{i: s_p(i) = s_T, s_i = s'} / #{i: s_p(i) = s_T}.
    """
    if result.model == "standard" or not all(isinstance(p, int) for p in result.parents):
        raise ValueError("result must be a reduced or disentangled model trained on a single-parent graph")
    device = _device(device)
    S, parents = result.S, result.parents
    n_sequences = _positive_int(n_sequences, "n_sequences", 2)
    gen = torch.Generator(device=device).manual_seed(_seed(seed, 3))
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


# ---------------------------------------------------------------------------------------------
# the first-step gradient (the gradient lemma, notes Section 4.2)
# ---------------------------------------------------------------------------------------------

def first_step_gradient(*, parents, S: int = 3, alpha: float = 1.0, beta0: float = 1e-4,
                        n_sequences: int = 2**18, batch: int = 2**13, epsilon: float = 1e-12, seed: int = 0,
                        device="cpu", pi=None) -> GradientResult:
    """The reduced model's gradient at A1 = 0, A2 = beta0 I by autograd on fresh sequences.

    Returns -(T (i+1) S / beta0) dL/dA1_ij (notes Section 4.2): as beta0 -> 0 and T -> infinity it
    tends to I~_{j,i} - (1/(i+1)) sum_{k<=i} I~_{k,i} (``numerics.causal.predicted_gradient``), the
    chi-square information structure whose row-wise argmax is the parent. The loss is the
    epsilon-smoothed log loss with a tiny ``epsilon`` (its gradient is then the eps -> 0 limit:
    labels absent from the sequence carry no gradient). ``pi`` (S x S) fixes the transition matrix.
    """
    kind, graph, n, T = _graph(parents)
    if kind != "tree":
        raise ValueError("parents must be a single-parent graph for the gradient lemma")
    S, alpha = nc.check_S(S), nc.check_alpha(alpha)
    beta0 = _positive(beta0, "beta0")
    epsilon = nc.check_epsilon(epsilon)
    batch = _positive_int(batch, "batch")
    n_batches = max(2, -(-_positive_int(n_sequences, "n_sequences") // batch))
    device = _device(device)
    gen = torch.Generator(device=device).manual_seed(_seed(seed, 4))
    pi_t = None if pi is None else torch.as_tensor(np.asarray(pi, dtype=np.float64))
    model = ReducedModel(T, S, beta0=beta0, device=device)
    scale = torch.tensor([-(T * (i + 1) * S) / beta0 for i in range(T)], dtype=torch.float64,
                         device=device)[:, None]
    lower = torch.ones(T, T, dtype=torch.bool, device=device).tril()
    grads, formulas = [], []
    for _ in range(n_batches):
        tokens, y = sample_tree_task(graph, S, alpha, batch, generator=gen, device=device, pi=pi_t)
        loss = _smoothed_loss(model(tokens), y, epsilon)
        (g,) = torch.autograd.grad(loss, [model.A1])
        grads.append((scale * g).masked_fill(~lower, 0.0))
        # the first-order expression on the same sequences
        X = torch.nn.functional.one_hot(tokens, S).to(torch.float64)  # (B, T, S)
        f_hat = X.mean(1)  # (B, S)
        p = torch.gather(y, 1, tokens)  # (B, T): pi(s_i | s_T)
        present = (y * (f_hat > 0)).sum(-1, keepdim=True)  # (B, 1)
        c = p / torch.gather(f_hat, 1, tokens) - present  # (B, T)
        m = (tokens == tokens[:, -1:]).to(torch.float64)  # (B, T)
        running = m.cumsum(1) / torch.arange(1, T + 1, device=device)  # (B, T)
        d = m[:, None, :] - running[:, :, None]  # (B, T, T): d_ij
        formulas.append((S * (c[:, :, None] * d).mean(0)).masked_fill(~lower, 0.0))
    G = torch.stack(grads).cpu().numpy()
    F = torch.stack(formulas).cpu().numpy()
    return GradientResult(parents=graph, S=S, T=T, alpha=alpha, beta0=beta0, gradient=G.mean(0),
                          se=G.std(0, ddof=1) / math.sqrt(len(G)), formula=F.mean(0),
                          n_sequences=n_batches * batch)
