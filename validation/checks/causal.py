"""Theorem checks for Nichani, Damian, Lee 2024 ("nichani2024"): trained models against the theory.

Each check is ``fn(profile) -> CheckResult`` or a list of them; ``profile`` is ``"quick"`` (all
checks of this paper together take a few minutes on 2 cores) or ``"paper"`` (larger runs). Every
tolerance is argued in the ``detail`` column: Monte-Carlo comparisons use 5 standard errors
computed from the same draws; trained-model thresholds are the theorem's statements (attention to
the parent >= 0.95) or bounds derived from what the run measured. Trained runs are cached per
profile, so checks that read the same run train it once.
"""
from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import torch

import numerics.causal as nc
from validation.causal import (
    first_step_gradient,
    in_context_agreement,
    predict,
    train_disentangled,
    train_two_stage,
)
from validation.checks import CheckResult, compare

__all__ = ["CHECKS", "run_algorithm1", "run_joint", "run_two_heads"]

PAPER = "nichani2024"


def _profile(profile: str) -> str:
    if profile not in ("quick", "paper"):
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    return profile


def _count(claim: str, mismatches: int, detail: str) -> CheckResult:
    return CheckResult(PAPER, claim, 0.0, float(mismatches), 0.0, mismatches == 0, detail)


# ---------------------------------------------------------------------------------------------
# cached trained runs
# ---------------------------------------------------------------------------------------------

#: Algorithm 1 runs: (S, T, alpha, graph) and the training sizes per profile
_ALG1 = {
    "tree": dict(S=5, T=24, alpha=1.0),  # the notes' Section 7.4 run
    "chain": dict(S=3, T=32, alpha=0.1),  # in-context Markov chain: the induction head
}
_ALG1_SIZES = {"quick": dict(batch=1024, steps1=150, steps2=300), "paper": dict(batch=4096, steps1=300, steps2=600)}


def _graph(name: str, T: int, seed: int = 0):
    if name == "chain":
        return nc.chain_graph(T)
    if name == "pairs":
        return nc.pairs_graph(T)
    if name == "tree":
        return nc.random_tree(T, seed=seed)
    raise ValueError(f"graph must be 'chain', 'pairs' or 'tree', got {name!r}")


@functools.lru_cache(maxsize=8)
def run_algorithm1(profile: str, graph: str):
    """Algorithm 1 (train_two_stage) on ``graph`` ('tree': S = 5, T = 24, alpha = 1; 'chain':
    S = 3, T = 32, alpha = 0.1), quick or paper sizes; cached."""
    cfg = _ALG1[graph]
    return train_two_stage(parents=_graph(graph, cfg["T"]), S=cfg["S"], alpha=cfg["alpha"], seed=0,
                           test_size=2**13 if profile == "quick" else 2**16, **_ALG1_SIZES[_profile(profile)])


#: joint training: quick = AdamW (the authors' multi-parent optimiser, converges in few steps);
#: paper = the authors' single_parent.py (plain SGD, lr 1, cosine, 2^17 steps, batch 1024)
_JOINT = {
    "quick": dict(steps=1500, batch=256, optimizer="adamw", lr=1e-2, weight_decay=0.0, test_size=2**13, n_log=32),
    "paper": dict(steps=2**17, batch=1024, optimizer="sgd", lr=1.0, weight_decay=0.0, test_size=2**16, n_log=128),
}


@functools.lru_cache(maxsize=8)
def run_joint(profile: str, graph: str = "chain", S: int = 10, T: int = 20):
    """The disentangled transformer trained jointly on ``graph`` (alpha = 0.1, one head per layer); cached."""
    return train_disentangled(parents=_graph(graph, T), S=S, alpha=0.1, heads=(1, 1), seed=0,
                              **_JOINT[_profile(profile)])


_TWO_HEADS = {  # quick: S = 3, T = 16 (more tuple matches per sequence), init 1e-2 (faster symmetry breaking)
    "quick": dict(S=3, T=16, steps=1500, batch=128, init_std=1e-2, test_size=2**12, n_log=32),
    "paper": dict(S=5, T=32, steps=2**16, batch=1024, init_std=1e-4, test_size=2**16, n_log=128),
}


@functools.lru_cache(maxsize=2)
def run_two_heads(profile: str):
    """Figure 5: two layer-1 heads on p(i) = {(i-1)//2, i-1}, alpha = 0.1, AdamW 1e-2; cached."""
    cfg = dict(_TWO_HEADS[_profile(profile)])
    S, T = cfg.pop("S"), cfg.pop("T")
    return train_disentangled(parents=nc.two_parent_graph(T), S=S, alpha=0.1, heads=(2, 1), seed=0, **cfg)


# ---------------------------------------------------------------------------------------------
# the gradient lemma
# ---------------------------------------------------------------------------------------------

def check_gradient_lemma(profile: str):
    """The first-step gradient of A1 encodes the chi-square information (notes Section 4.2).

    Autograd on the reduced model (torch sampler) against the first-order formula evaluated by
    numerics.causal.first_order_gradient (numpy sampler, independent draws), row by row over the
    context rows; and the row-wise argmax of the autograd gradient against the parents predicted
    by the information ranking (numerics.causal.predicted_parents).
    """
    _profile(profile)
    n_seq = 2**18 if profile == "quick" else 2**21
    S, alpha, T = 3, 1.0, 12
    out = []
    for name, parents in (("chain", nc.chain_graph(T)), ("random tree", nc.random_tree(T, seed=3))):
        g = first_step_gradient(parents=parents, S=S, alpha=alpha, n_sequences=n_seq, seed=0)
        ref, ref_se = nc.first_order_gradient(parents, S, alpha, n_sequences=n_seq, seed=1)
        n = len(parents)
        rows, cols = np.tril_indices(n)
        z = (g.gradient - ref)[rows, cols] / np.sqrt(g.se**2 + ref_se**2)[rows, cols].clip(1e-300)
        worst = float(np.abs(z[np.isfinite(z)]).max())
        out.append(compare(PAPER, f"gradient lemma ({name}, S={S}, T={T}): autograd vs first-order formula, "
                                  "max |z| over context entries", 0.0, worst, 5.0,
                           detail=f"{g.n_sequences} + {n_seq} independent sequences; z = difference / combined "
                                  "standard error, 5 SE"))
        predicted = nc.predicted_parents(parents, S, alpha, n_draws=20000, seed=0)
        lower = np.where(np.tri(n, k=-1, dtype=bool), g.gradient[:n, :n], -np.inf)
        argmax = np.where(np.isfinite(lower).any(1), lower.argmax(1), -1)
        wrong = sum(int(argmax[i] != p) for i, p in enumerate(parents) if p >= 0)
        wrong += sum(int(predicted[i] != p) for i, p in enumerate(parents) if p >= 0)
        out.append(_count(f"gradient lemma ({name}): row argmax of the first-step gradient = parent "
                          "= information argmax", wrong,
                          "mismatches over non-root rows, autograd argmax and numerics.predicted_parents"))
    return out


# ---------------------------------------------------------------------------------------------
# Algorithm 1
# ---------------------------------------------------------------------------------------------

def check_algorithm1_recovers_graph(profile: str):
    """Theorem (layer 1 learns the graph): softmax(A1)_{i, p(i)} >= 1 - eps at every non-root i."""
    r = run_algorithm1(profile, "tree")
    parents = r.parents
    am = r.attention[0].argmax(1)
    wrong = sum(int(am[i] != p) for i, p in enumerate(parents) if p >= 0)
    return [
        compare(PAPER, f"Algorithm 1 (random tree, S={r.S}, T={r.T}, alpha={r.alpha:g}): min attention to the parent",
                1.0, float(np.nanmin(r.parent_attention)), 0.05,
                detail="the theorem's 1 - eps with eps = 0.05 (issue 4); "
                       f"{r.config['steps1']} + {r.config['steps2']} steps of batch {r.config['batch']}"),
        _count("Algorithm 1 (random tree): argmax of each layer-1 row = parent", wrong,
               "mismatches over non-root positions"),
        compare(PAPER, "Algorithm 1 (random tree): test loss above the Bayes-style baseline", 0.0,
                max(0.0, r.bayes_loss - r.final_loss), 5 * r.final_loss_se,
                detail="the reduced model cannot beat the posterior mean; 5 SE of the test loss"),
    ]


def _construction(r, *, A2_scale: float = 1.0, query_row: str = "trained", A1_scale: float = 60.0):
    """A reduced-model result with a hard adjacency in A1 (roots as trained: uniform rows), the query
    row as trained or uniform, and A2 scaled."""
    n = len(r.parents)
    A1 = np.zeros((r.T, r.T))
    for i, p in enumerate(r.parents):
        if p >= 0:
            A1[i, p] = A1_scale
    if query_row == "trained":
        A1[n] = r.A1[n]
    return dataclasses.replace(r, params={"A1": A1, "A2": A2_scale * r.A2})


def check_induction_head(profile: str):
    """Corollary (in-context Markov chain): layer 1 is a previous-token head, layer 2 matches the
    query token, and the circuit outputs the in-context empirical conditional pi_hat(. | s_T)."""
    r = run_algorithm1(profile, "chain")
    n = len(r.parents)
    prev = min(r.attention[0, i, i - 1] for i in range(1, n))
    A2 = r.A2 - (r.A2.sum() - np.trace(r.A2)) / (r.S * (r.S - 1))  # 11^T does not change the model
    off = A2[~np.eye(r.S, dtype=bool)]
    delta = 1.0 - prev
    # the trained model vs the construction with the same A2 (hard previous-token head): a layer-1
    # row off by delta in L1 moves each layer-2 score by <= 2 delta max|A2|, each softmax weight by a
    # factor e^{+-4 delta max|A2|}, so the outputs differ in total variation by <= e^{4 delta max|A2|} - 1
    bound = math.expm1(4 * delta * np.abs(A2).max())
    tokens = nc.sample_tree_task(r.parents, r.S, r.alpha, 4096, seed=7).sequences
    tv = float(0.5 * np.abs(predict(r, tokens) - predict(_construction(r), tokens)).sum(-1).max())
    query_self = float(torch.softmax(torch.as_tensor(r.A1[n]), -1)[n])
    sharp = in_context_agreement(_construction(r, A2_scale=30.0, query_row="uniform"), n_sequences=4096, seed=5)
    return [
        compare(PAPER, f"induction head (chain, S={r.S}, T={r.T}, alpha={r.alpha:g}): previous-token head, "
                       "min attention to i-1", 1.0, prev, 0.05, detail="theorem's 1 - eps, eps = 0.05"),
        CheckResult(PAPER, "induction head: layer 2 matches the query token (min diag - max off-diag of A2)",
                    0.0, float(np.diag(A2).min() - off.max()), 0.0, bool(np.diag(A2).min() > off.max()),
                    "A2 ~ beta I: every diagonal entry above every off-diagonal one (> 0 required)"),
        compare(PAPER, "induction head: trained model = construction (hard previous-token head, trained A2), "
                       "max TV over 4096 sequences", 0.0, tv, bound,
                detail=f"bound e^(4 delta max|A2|) - 1 with delta = 1 - min parent attention = {delta:.2e}"),
        compare(PAPER, "induction head: the learned circuit at 30 x A2, query row uniform, outputs "
                       "pi_hat(. | s_T): mean TV", 0.0, sharp.tv, 0.05,
                detail=f"issue 4's 0.05; the trained query row attends to itself ({query_self:.3f}), which makes "
                       "the query an extra match, so it is set uniform; the root position 0 remains"),
    ]


# ---------------------------------------------------------------------------------------------
# the jointly trained disentangled transformer
# ---------------------------------------------------------------------------------------------

def check_joint_training(profile: str):
    """Figures 2 and 6: the jointly trained disentangled transformer approaches the Bayes loss and
    its layer-1 position block reproduces the adjacency matrix of the graph."""
    r = run_joint(profile, "chain")
    am = r.attention[0].argmax(1)
    wrong = sum(int(am[i] != p) for i, p in enumerate(r.parents) if p >= 0)
    uniform = math.log(r.S)
    fraction = (r.final_loss - r.bayes_loss) / (uniform - r.bayes_loss)
    tol = 0.15 if profile == "quick" else 0.05
    return [
        _count(f"joint training (chain, S={r.S}, T={r.T}): argmax of S(A1_pos,pos) rows = parent", wrong,
               "mismatches over non-root positions"),
        compare(PAPER, "joint training: (loss - Bayes) / (log S - Bayes), fraction of the gap left", 0.0,
                fraction, tol, detail=f"loss {r.final_loss:.4f} +- {r.final_loss_se:.4f}, Bayes {r.bayes_loss:.4f}, "
                                      f"log S {uniform:.4f}; {r.config['steps']} steps ({r.config['optimizer']})"),
    ]


def check_ood_permutation(profile: str):
    """Theorem (OOD): what Algorithm 1 learned (A1 = the graph, A2 = token matching) does not depend on
    pi: on a deterministic permutation pi, far outside the Dirichlet prior, the learned circuit read
    at 30 x A2 (query row uniform, as in the induction-head check) outputs pi_hat (TV <= 0.05)."""
    r = run_algorithm1(profile, "chain")
    S = r.S
    perm = np.eye(S)[np.roll(np.arange(S), 1)]
    sharp = in_context_agreement(_construction(r, A2_scale=30.0, query_row="uniform"), pi=perm, n_sequences=4096,
                                 seed=0)
    raw = in_context_agreement(r, pi=perm, n_sequences=4096, seed=0)
    return compare(PAPER, f"OOD (chain, S={S}, T={r.T}): learned circuit vs pi_hat on a deterministic permutation, "
                          "mean TV", 0.0, sharp.tv, 0.05,
                   detail=f"issue 4's 0.05; the trained model itself (finite beta, query attending to itself) sits at "
                          f"TV {raw.tv:.3f}, the Bayes-style estimator at {raw.tv_bayes:.3f}")


def check_two_heads(profile: str):
    """Figure 5: with two layer-1 heads the model uses both parents of p(i) = {(i-1)//2, i-1}; at the
    paper's scale each head attends to a different parent (quick: the loss claim only, since the
    heads separate after several thousand steps)."""
    r = run_two_heads(profile)
    T = r.T
    lists = r.parents
    heads = [r.attention[h].argmax(1) for h in range(2)]
    # which head took which parent: decide by majority over the nodes with two parents
    nodes = [i for i in range(2, T) if len(lists[i]) == 2]
    first = sum(int(heads[0][i] == lists[i][0]) for i in nodes)
    order = (1, 0) if first >= len(nodes) / 2 else (0, 1)  # head order[1] reads parent (i-1)//2
    wrong = sum(int(heads[order[1]][i] != lists[i][0]) + int(heads[order[0]][i] != lists[i][1]) for i in nodes)
    frac = wrong / (2 * len(nodes))
    out = [compare(PAPER, f"two heads (S={r.S}, T={T}): test loss below the one-parent baseline", 0.0,
                   max(0.0, r.final_loss - r.one_parent_loss), 5 * r.final_loss_se,
                   detail=f"loss {r.final_loss:.4f}, one-parent {r.one_parent_loss:.4f}, Bayes {r.bayes_loss:.4f}; "
                          f"5 SE; {r.config['steps']} steps; heads' argmax off their parent: {frac:.2f} of pairs")]
    if profile == "paper":
        out.append(compare(PAPER, f"two heads (S={r.S}, T={T}): fraction of (node, head) pairs whose argmax is "
                                  "not the head's parent", 0.0, frac, 0.1,
                           detail="heads matched to parents by majority; 10 % of the pairs allowed"))
    return out


# ---------------------------------------------------------------------------------------------
# errata
# ---------------------------------------------------------------------------------------------

def check_errata_bayes(profile: str):
    """Errata: the authors' Bayes baseline counts roots when s_{T-1} = s_T (chain, S = 10, T = 20)."""
    _profile(profile)
    n = 2**15 if profile == "quick" else 2**18
    est = nc.bayes_losses(nc.chain_graph(20), 10, 0.1, n_sequences=n, seed=11)
    c, a = est["correct"], est["authors"]
    notes_se = c.se * math.sqrt(n / 2**17)  # the notes' values: a Monte Carlo over 2^17 sequences
    return [
        compare(PAPER, "errata: correct Bayes-style loss, chain S=10 T=20 alpha=0.1 (notes 1.7625)", 1.7625,
                c.mean, 5 * math.hypot(c.se, notes_se), detail=f"{n} sequences; 5 x combined SE with the notes' MC"),
        compare(PAPER, "errata: the authors' estimator, same setting (notes 1.7753)", 1.7753, a.mean,
                5 * math.hypot(a.se, a.se * math.sqrt(n / 2**17)), detail=f"{n} sequences; 5 x combined SE with the notes' MC"),
        CheckResult(PAPER, "errata: the authors' bug costs loss (authors - correct, paired)", 0.0,
                    est["difference"].mean, 5 * est["difference"].se,
                    est["difference"].mean > 5 * est["difference"].se,
                    "paired difference > 5 SE required (notes: 0.0128)"),
    ]


CHECKS = [
    check_gradient_lemma,
    check_algorithm1_recovers_graph,
    check_induction_head,
    check_joint_training,
    check_ood_permutation,
    check_two_heads,
    check_errata_bayes,
]
