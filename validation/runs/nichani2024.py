"""The standard training runs of Nichani, Damian, Lee 2024 ("nichani2024"), shared by its checks
(``validation.checks.nichani2024``) and its figures (``paper_figs.nichani2024``).

Each run is a :class:`~validation.store.RunConfig` built by a ``*_config`` function from a profile:
``"quick"`` (minutes on a laptop CPU), ``"paper"`` (the authors' sizes) or ``"_smoke"`` (tiny sizes
for the figure tests only, not a user profile). The function of the same name without ``_config``
returns the trained result through :func:`validation.store.run`, so a check and a figure that need
the same run get one training between them (and none when the store already holds it).

Sizes (:data:`SIZES`): ``single`` the disentangled transformer with one head per layer (Figures 2
and 6, and the joint-training check): the authors' ``single_parent.py`` at paper scale (SGD lr 1,
cosine, 2^17 steps of batch 1024); at quick scale AdamW (the authors' multi-parent optimiser), which
finds the graph in about a thousand steps of batch 256. ``multi`` two layer-1 heads on the
two-parent graph (Figures 5 and 7, and the two-heads check): at quick scale S = 3, T = 16 (more
tuple matches per sequence than S = 5, T = 32), A ~ 0.1 N(0, 1) (init 1e-2 and 1e-4 leave both heads
on one parent for thousands of steps; 0.3 scrambles the position block), AdamW at a constant 1e-2,
8000 steps of batch 512 (batch 128 at 3e-2 split at 1-3 of 13 rows for seeds 1 and 2; this setting
splits at 10-12 of 13 rows for each of seeds 0-5, measured). ``standard`` Figure 8; ``many`` Figure 9
(the authors' SGD; AdamW at S = 3 finds a solution that does not use the position block);
``gradient`` the gradient lemma (its check and the gradient-matrix figure); ``information`` the
Monte-Carlo sizes of the information curves (no training); ``algorithm1`` Algorithm 1 on the
reduced model (its checks).
"""
from __future__ import annotations

import numerics.causal as nc
from numerics.seeds import child_rng, child_seed
from theory.args import choice
from validation.causal import (
    CausalResult,
    GradientResult,
    first_step_gradient,
    train_disentangled,
    train_standard,
    train_two_stage,
)
from validation.store import RunConfig, run, run_many

__all__ = [
    "PAPER", "PROFILES", "SIZES", "ALPHA", "S_SINGLE", "T_SINGLE", "S_MANY", "T_MANY", "S_GRADIENT",
    "ALPHA_GRADIENT", "ALGORITHM1", "MANY_GRAPHS_KEY", "check_profile", "graph",
    "algorithm1_config", "algorithm1", "single_config", "single", "two_heads_config", "two_heads",
    "standard_config", "standard", "many_graphs", "many_graphs_configs", "gradient_config", "gradient", "all_configs",
]

PAPER = "nichani2024"
PROFILES = ("quick", "paper", "_smoke")
ALPHA = 0.1  #: the Dirichlet concentration of the authors' experiments
S_SINGLE, T_SINGLE = 10, 20  #: Figures 2, 6, 8 and the joint-training check
S_MANY, T_MANY = 3, 20  #: Figure 9
S_GRADIENT, ALPHA_GRADIENT = 3, 1.0  #: the gradient lemma
#: the key of Figure 9's graph stream: ``child_rng(seed, MANY_GRAPHS_KEY)`` draws its random forests
MANY_GRAPHS_KEY = 9

SIZES = {
    "paper": dict(single=dict(steps=2**17, batch=1024, optimizer="sgd", lr=1.0, test_size=2**16, n_log=128),
                  multi=dict(S=5, T=32, steps=2**16, batch=1024, init_std=1e-4, test_size=2**16, n_log=128),
                  standard=dict(steps=2**12, batch=1024, test_size=2**14),
                  many=dict(graphs=20, steps=2**14, batch=1024, optimizer="sgd", lr=1.0, schedule="constant",
                            test_size=2**14),
                  gradient=dict(T=24, n_sequences=2**21), information=dict(n_draws=200000, K=10),
                  algorithm1=dict(batch=4096, steps1=300, steps2=600, test_size=2**16)),
    "quick": dict(single=dict(steps=1500, batch=256, optimizer="adamw", lr=1e-2, test_size=2**13, n_log=32),
                  multi=dict(S=3, T=16, steps=8000, batch=512, init_std=0.1, lr=1e-2, schedule="constant",
                             test_size=2**12, n_log=32),
                  standard=dict(steps=800, batch=256, test_size=2**12),
                  many=dict(graphs=6, steps=6000, batch=256, optimizer="sgd", lr=1.0, schedule="constant",
                            test_size=2**11),
                  gradient=dict(T=12, n_sequences=2**18), information=dict(n_draws=20000, K=8),
                  algorithm1=dict(batch=1024, steps1=150, steps2=300, test_size=2**13)),
    "_smoke": dict(single=dict(steps=4, batch=16, optimizer="adamw", lr=1e-2, test_size=64, n_log=2),
                   multi=dict(S=3, T=8, steps=4, batch=16, test_size=64, n_log=2),
                   standard=dict(steps=4, batch=16, test_size=64),
                   many=dict(graphs=2, steps=4, batch=16, optimizer="adamw", lr=1e-2, schedule="cosine",
                             test_size=64),
                   gradient=dict(T=6, n_sequences=2**10), information=dict(n_draws=200, K=3),
                   algorithm1=dict(batch=16, steps1=2, steps2=2, test_size=64)),
}

#: Algorithm 1's two settings: "random" a random tree (the notes' Section 7.4 run), "chain" the
#: in-context Markov chain (the induction head)
ALGORITHM1 = {"random": dict(S=5, T=24, alpha=1.0), "chain": dict(S=3, T=48, alpha=0.1)}


def check_profile(profile) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else ``ValueError`` naming it."""
    return choice(profile, "profile", PROFILES)


def graph(name: str, T: int, seed: int = 0) -> tuple[int, ...]:
    """The named single-parent graph on T positions (query included): "chain" (the in-context Markov
    chain), "pairs" (the (x, f(x)) pairs) or "random" (the authors' random tree, drawn from ``seed``)."""
    name = choice(name, "graph", ("chain", "pairs", "random"))
    if name == "chain":
        return nc.chain_graph(T)
    if name == "pairs":
        return nc.pairs_graph(T)
    return nc.random_tree(T, seed=seed)


# ---------------------------------------------------------------------------------------------
# Algorithm 1 on the reduced model (the checks)
# ---------------------------------------------------------------------------------------------

def algorithm1_config(profile: str, name: str, train_query_row: bool = False, *, seed: int = 0) -> RunConfig:
    """Algorithm 1 (``train_two_stage``, training seed ``seed``) on the setting ``name`` of
    :data:`ALGORITHM1` (its graph fixed: the random tree is ``random_tree(24, seed=0)`` for every
    training seed); ``train_query_row=True`` is the unrestricted run (the query row of A1 trained too)."""
    setting, sizes = ALGORITHM1[name], SIZES[check_profile(profile)]["algorithm1"]
    return RunConfig.of(train_two_stage, parents=graph(name, setting["T"]), S=setting["S"], alpha=setting["alpha"],
                        seed=seed, train_query_row=bool(train_query_row), **sizes)


def algorithm1(profile: str, name: str, train_query_row: bool = False, *, seed: int = 0) -> CausalResult:
    """The trained run of :func:`algorithm1_config`."""
    return run(algorithm1_config(profile, name, train_query_row, seed=seed))


# ---------------------------------------------------------------------------------------------
# the disentangled transformer trained jointly
# ---------------------------------------------------------------------------------------------

def single_config(profile: str, name: str = "chain", *, seed: int = 0, fraction: float = 1.0) -> RunConfig:
    """One head per layer on the graph ``name`` (S = 10, T = 20, alpha = 0.1, weight decay 0):
    Figures 2 and 6, and the joint-training check; ``fraction`` of the profile's steps (with its own
    cosine schedule)."""
    sizes = dict(SIZES[check_profile(profile)]["single"])
    sizes["steps"] = max(1, int(round(fraction * sizes["steps"])))
    return RunConfig.of(train_disentangled, parents=graph(name, T_SINGLE, seed), S=S_SINGLE, alpha=ALPHA,
                        heads=(1, 1), seed=seed, weight_decay=0.0, **sizes)


def single(profile: str, name: str = "chain", *, seed: int = 0, fraction: float = 1.0) -> CausalResult:
    """The trained run of :func:`single_config`."""
    return run(single_config(profile, name, seed=seed, fraction=fraction))


def two_heads_config(profile: str, *, seed: int = 0) -> RunConfig:
    """Two layer-1 heads on the two-parent graph p(i) = {(i-1)//2, i-1}, alpha = 0.1, AdamW (the
    authors' multi-parent defaults, sizes ``SIZES[profile]["multi"]``): Figures 5 and 7 and the
    two-heads check."""
    sizes = dict(SIZES[check_profile(profile)]["multi"])
    S, T = sizes.pop("S"), sizes.pop("T")
    return RunConfig.of(train_disentangled, parents=nc.two_parent_graph(T), S=S, alpha=ALPHA, heads=(2, 1),
                        seed=seed, **sizes)


def two_heads(profile: str, *, seed: int = 0) -> CausalResult:
    """The trained run of :func:`two_heads_config`."""
    return run(two_heads_config(profile, seed=seed))


def standard_config(profile: str, *, seed: int = 0) -> RunConfig:
    """Figure 8: the standard transformer with MLPs on the chain (S = 10, T = 20, alpha = 0.1)."""
    return RunConfig.of(train_standard, parents=nc.chain_graph(T_SINGLE), S=S_SINGLE, alpha=ALPHA, seed=seed,
                        **SIZES[check_profile(profile)]["standard"])


def standard(profile: str, *, seed: int = 0) -> CausalResult:
    """The trained run of :func:`standard_config`."""
    return run(standard_config(profile, seed=seed))


def many_graphs_configs(profile: str, *, seed: int = 0) -> list[RunConfig]:
    """Figure 9: one run per random forest (parent probability 1/2, S = 3, T = 20, alpha = 0.1), graph
    k drawn k-th from ``child_rng(seed, MANY_GRAPHS_KEY)`` and trained with seed
    ``child_seed(seed, MANY_GRAPHS_KEY, k)`` (the one seed rule: no two seeds share a graph's run)."""
    sizes = dict(SIZES[check_profile(profile)]["many"])
    n_graphs = sizes.pop("graphs")
    rng = child_rng(seed, MANY_GRAPHS_KEY)
    graphs = [nc.random_forest(T_MANY, 0.5, rng=rng) for _ in range(n_graphs)]
    return [RunConfig.of(train_disentangled, parents=g, S=S_MANY, alpha=ALPHA,
                         seed=child_seed(seed, MANY_GRAPHS_KEY, k), weight_decay=0.0, n_log=2, **sizes)
            for k, g in enumerate(graphs)]


def many_graphs(profile: str, *, seed: int = 0, workers: int = 1) -> list[CausalResult]:
    """The trained runs of :func:`many_graphs_configs` (the distinct missing ones on ``workers`` threads)."""
    return run_many(many_graphs_configs(profile, seed=seed), workers=workers)


# ---------------------------------------------------------------------------------------------
# the gradient lemma (no training: autograd at initialisation, costly enough to store)
# ---------------------------------------------------------------------------------------------

def gradient_config(profile: str, parents, *, seed: int = 0) -> RunConfig:
    """The reduced model's first-step gradient (``first_step_gradient``, S = 3, alpha = 1) on ``parents``
    with the profile's number of sequences."""
    n_sequences = SIZES[check_profile(profile)]["gradient"]["n_sequences"]
    return RunConfig.of(first_step_gradient, parents=tuple(parents), S=S_GRADIENT, alpha=ALPHA_GRADIENT,
                        n_sequences=n_sequences, seed=seed)


def gradient(profile: str, parents, *, seed: int = 0) -> GradientResult:
    """The result of :func:`gradient_config`."""
    return run(gradient_config(profile, parents, seed=seed))


def all_configs(profile: str, *, seed: int = 0) -> list[RunConfig]:
    """The standard runs of the paper at ``profile`` (what ``--cluster`` submits first): Algorithm 1 on
    both settings, the single-head runs of Figs 2 and 6 (and the half-length chain run of the checks), the
    two-head run, the standard transformer, Fig 9's graphs and the chain's gradient run. (The check's
    random-tree gradient run is left to train when asked: it is small.)"""
    profile = check_profile(profile)
    T = SIZES[profile]["gradient"]["T"]
    configs = [algorithm1_config(profile, name, query, seed=seed)
               for name, query in (("random", False), ("chain", False), ("chain", True))]
    configs += [single_config(profile, name, seed=seed) for name in ("chain", "pairs", "random")]
    configs += [single_config(profile, "chain", seed=seed, fraction=0.5), two_heads_config(profile, seed=seed),
                standard_config(profile, seed=seed)]
    configs += many_graphs_configs(profile, seed=seed) + [gradient_config(profile, nc.chain_graph(T), seed=seed)]
    return list(dict.fromkeys(configs))
