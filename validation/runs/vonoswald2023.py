"""The standard training runs of von Oswald et al. 2023 and their sizes per profile.

Every trained model the checks (``validation.checks.vonoswald2023``) and the figures
(``paper_figs.vonoswald2023``) use is one :func:`validation.lsa.train_lsa` call described here as a
:class:`validation.store.RunConfig` and obtained through the run store (:func:`trained`), so a
setting used twice trains once per store.  The checks use the figures' runs of seed 0 (the
default figure seed): ``icl-theory reproduce`` trains each of them once.  Every run uses at most
2 torch threads: the matrices are small (more threads do not make it faster), and the float32
numbers then do not depend on the machine's core count.

Profiles (:data:`PROFILES`): ``"paper"`` (the authors' sizes: 5 seeds, 5000 steps tied / 50000
untied at batch 2048, 10^4 evaluation tasks), ``"quick"`` (one seed, shortened training; every
figure well under two minutes on two cores) and the test-only ``"_smoke"`` (a few steps; its
numbers mean nothing).  Besides the runs, a profile sets the Monte-Carlo sizes of the figures
(``mc_tasks``, the alpha grids, the spectrum and roll-out task counts).

Examples
--------
>>> config = check_run("quick", layers=1)
>>> dict(config.kwargs)["steps"], dict(config.kwargs)["batch"]
(1500, 2048)
>>> config == figure_run("quick", seed=0, layers=1)
True
>>> [dict(c.kwargs)["seed"] for c in figure_runs("paper", seed=3)]
[3, 4, 5, 6, 7]
"""
from __future__ import annotations

from theory.args import integer, seed as check_seed
from theory.lsa.ood import TRAIN_LAW
from validation.lsa import LSAResult, train_lsa
from validation.lsa.blocks_training import train_blocks
from validation.lsa.interleaved_trainer import train_interleaved
from validation.lsa.sine_trainer import train_sine
from validation.store import RunConfig, run_many

__all__ = ["PAPER", "CHECK_SEED", "D", "N_CTX", "LAW", "PAPER_SCALE", "PROFILES", "USER_PROFILES", "sizes", "figure_run",
           "figure_runs", "check_run", "trained", "all_configs",
           "SINE_PROFILES", "sine_shortened", "sine_runs", "interleaved_run", "sine_family_configs",
           "DEEP_PROFILES", "deep_sizes", "fig7_runs", "fig8_runs", "fig14_runs", "fig15_runs", "grokking_run", "deep_configs",
           "SOFTMAX_SIZES", "softmax_sizes", "softmax_run", "fixed_set_run", "softmax_configs"]

PAPER = "vonoswald2023"
#: the root seed of the check table's Monte-Carlo draws and fits (each check draws from
#: ``numerics.seeds.child_rng(CHECK_SEED, its keys)``); the trained runs use the figures' seed 0
CHECK_SEED = 20230607
#: the paper's setting (the authors' code): d = N = 10, x ~ U(-1/2, 1/2)^d (the paper writes U(-1, 1))
D, N_CTX, LAW = 10, 10, TRAIN_LAW

PAPER_SCALE = dict(seeds=5, steps_1=5000, steps_tied=5000, steps_untied=50000, batch=2048, batch_deep=2048,
                   eval_tasks=10000, log_every=100, fit_tasks=20000, mc_tasks=10000,
                   n_values=(4, 6, 8, 10, 14, 20), alpha_step=0.03, task_step=0.1, other_step=0.05,
                   spectrum_tasks=10000, gamma_points=121, rollout_steps=50, rollout_tasks=10000,
                   fig6_layers=(2, 5))
PROFILES = {
    "paper": PAPER_SCALE,
    "quick": dict(PAPER_SCALE, seeds=1, steps_1=1500, steps_tied=3500, steps_untied=2000, batch_deep=512,
                  eval_tasks=2000, log_every=50, fit_tasks=10000, mc_tasks=1000,
                  n_values=(5, 10, 15), alpha_step=0.1, task_step=0.25, other_step=0.25,
                  rollout_tasks=2000, fig6_layers=(2,)),
    # tiny sizes for the smoke tests only (not a user profile)
    "_smoke": dict(PAPER_SCALE, seeds=1, steps_1=6, steps_tied=6, steps_untied=6, batch=32, batch_deep=32,
                   eval_tasks=64, log_every=3, fit_tasks=256, mc_tasks=64, n_values=(3, 10),
                   alpha_step=0.5, task_step=1.5, other_step=1.5, spectrum_tasks=200,
                   gamma_points=11, rollout_steps=5, rollout_tasks=64, fig6_layers=(2,)),
}
#: the profiles a user chooses between (the command line's choices)
USER_PROFILES = ("quick", "paper")

def _profile(profile) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile must be {' or '.join(map(repr, USER_PROFILES))}, got {profile!r}")
    return profile


def sizes(profile: str) -> dict:
    """The sizes of ``profile`` (a copy of its row of :data:`PROFILES`); ``ValueError`` naming a bad profile."""
    return dict(PROFILES[_profile(profile)])


def figure_run(profile: str, *, seed: int, layers: int = 1, recurrent: bool = True, n: int = D,
               N: int = N_CTX) -> RunConfig:
    """The run the figures train for one seed: ``layers`` layers (tied if ``recurrent``), d = ``n``.

    Steps: ``steps_1`` for one layer, ``steps_tied`` / ``steps_untied`` for deeper models; batch
    ``batch`` for one layer, ``batch_deep`` otherwise; ``eval_tasks``, ``log_every`` and the GD++
    fit's ``fit_tasks`` from the profile; at most 2 torch threads.
    """
    cfg = sizes(profile)
    layers = integer(layers, "layers", minimum=1)
    steps = cfg["steps_1"] if layers == 1 else cfg["steps_tied"] if recurrent else cfg["steps_untied"]
    return RunConfig.of(train_lsa, d=integer(n, "n", minimum=1), N=integer(N, "N", minimum=1), law=LAW,
                        layers=layers, recurrent=bool(recurrent), steps=steps,
                        batch=cfg["batch"] if layers == 1 else cfg["batch_deep"], seed=check_seed(seed),
                        eval_tasks=cfg["eval_tasks"], log_every=cfg["log_every"], gdpp_fit_tasks=cfg["fit_tasks"],
                        max_threads=2)


def figure_runs(profile: str, seed: int, **setting) -> list[RunConfig]:
    """:func:`figure_run` for each of the profile's ``seeds`` seeds: seed, seed + 1, ..."""
    seed = check_seed(seed)
    return [figure_run(profile, seed=seed + i, **setting) for i in range(sizes(profile)["seeds"])]


def check_run(profile: str, layers: int, seed: int = 0) -> RunConfig:
    """The run a trained check uses: the figures' recurrent ``layers``-layer run of ``seed``
    (:func:`figure_run`; seed 0 is the default table's), so that checks and figures share it."""
    if profile not in USER_PROFILES:
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    return figure_run(profile, seed=seed, layers=layers, recurrent=True)


def trained(configs) -> list[LSAResult]:
    """The results of ``configs`` (a list of :class:`RunConfig`) from the current run store, trained once each."""
    return run_many(configs)


def all_configs(profile: str, *, seed: int = 0) -> list[RunConfig]:
    """Every standard run of the paper at ``profile`` (what ``--cluster`` submits first): the one-layer
    runs at d = N = 10 and at each size of Fig 2(c), the 2-layer recurrent and 5-layer untied runs of
    Figs 3 and 6, and the trained checks' runs (the same configs at seed ``seed``)."""
    cfg = sizes(profile)
    configs = figure_runs(profile, seed)
    configs += [c for n in cfg["n_values"] for c in figure_runs(profile, seed, n=int(n), N=int(n))]
    configs += figure_runs(profile, seed, layers=2, recurrent=True) + figure_runs(profile, seed, layers=5, recurrent=False)
    configs += [c for K in cfg["fig6_layers"] for c in figure_runs(profile, seed, layers=K, recurrent=K == 2)]
    if profile in USER_PROFILES:
        configs += [check_run(profile, layers, seed) for layers in (1, 2)]
    configs += sine_family_configs(profile, seed=seed)
    configs += deep_configs(profile, seed=seed)  # Figs 7, 8, 14, 15 (helper `deep`)
    configs += softmax_configs(profile, seed=seed)  # softmax family: Figs 11, 12, 16
    return list(dict.fromkeys(configs))


# ----------------------------------------------------------------------------- sine family: Figs 4, 5 (Props 2, 3)
# Fig 4 (sine regression, MLP + LSA vs MLP + one GD step) and Fig 5 (interleaved tokens, softmax copy layer);
# the noisy-label figure reuses the one-layer runs above.  Paper: the notebooks' settings [code], one seed as
# the notebooks (num_seeds = 1), with two size changes for 2 CPU cores (measured 1-thread CPU per step:
# sine 0.081 s at batch 2048, 0.026 s at 512; interleaved 0.067 s at 2048): Fig 4 at batch 1024 (the
# notebook's 2048 for 20000 steps is ~27 min per model, two models; at 1024 ~15 min each).  Fig 5 runs the
# paper's plot length, 40000 steps (~45 min; the code's 10000): the drop to the one-step loss comes after
# a plateau whose length varies over seeds (paper), and a shorter run may end before it.  Quick: far
# shorter training (Fig 5 cannot learn to copy in it; Fig 4 only shows that both models learn).
SINE_PROFILES = {
    "paper": dict(sine_steps=20000, sine_batch=1024, sine_eval=2048, sine_log=1000,
                  il_steps=40000, il_batch=2048, il_eval=10000, il_copy=1000, il_log=500),
    "quick": dict(sine_steps=1000, sine_batch=64, sine_eval=1024, sine_log=250,
                  il_steps=200, il_batch=128, il_eval=2000, il_copy=200, il_log=50),
    "_smoke": dict(sine_steps=4, sine_batch=16, sine_eval=64, sine_log=2,
                   il_steps=4, il_batch=16, il_eval=64, il_copy=8, il_log=2),
}


def sine_shortened(profile: str, prefix: str) -> dict:
    """What ``profile`` shortened from the paper profile's sine-family sizes whose names start with ``prefix``."""
    c, p = SINE_PROFILES[_profile(profile)], SINE_PROFILES["paper"]
    return {k: f"{c[k]} (paper: {p[k]})" for k in c if k.startswith(prefix) and c[k] != p[k]}


def sine_runs(profile: str, *, seed: int) -> list[RunConfig]:
    """Fig 4's two runs of ``seed``: the MLP + LSA transformer and the MLP + frozen-GD baseline
    (:func:`validation.lsa.sine_trainer.train_sine`; the notebook's settings, sizes from :data:`SINE_PROFILES`)."""
    c = SINE_PROFILES[_profile(profile)]
    return [RunConfig.of(train_sine, gd=gd, N=N_CTX, steps=c["sine_steps"], batch=c["sine_batch"],
                         seed=check_seed(seed), eval_tasks=c["sine_eval"], log_every=c["sine_log"], max_threads=1)
            for gd in (False, True)]


def interleaved_run(profile: str, *, seed: int) -> RunConfig:
    """Fig 5's run of ``seed``: 2 layers, softmax first, interleaved tokens
    (:func:`validation.lsa.interleaved_trainer.train_interleaved`; sizes from :data:`SINE_PROFILES`)."""
    c = SINE_PROFILES[_profile(profile)]
    return RunConfig.of(train_interleaved, d=D, N=N_CTX, steps=c["il_steps"], batch=c["il_batch"],
                        seed=check_seed(seed), eval_tasks=c["il_eval"], copy_tasks=c["il_copy"],
                        log_every=c["il_log"], max_threads=1)


def sine_family_configs(profile: str, *, seed: int = 0) -> list[RunConfig]:
    """Every run of the sine family (Figs 4 and 5) at ``profile``."""
    return sine_runs(profile, seed=seed) + [interleaved_run(profile, seed=seed)]


# ----------------------------------------------------------------------------- deep models: Figs 7, 8, 14, 15
# (helper `deep`; figures in paper_figs.vonoswald2023.deep_models).  Settings the notebook lacks are ours:
# each figure's json records them under "deviations" / "reconstructed".

#: Fig 7: recurrent 10 layers (the paper's plot: 15000 steps); Fig 8: 12 untied blocks with MLP and 4 heads (no
#: notebook setting; batch 256 and 10^4 steps instead of the untied default 2048 x 50000, its 12-step fits on 10^4
#: tasks); Fig 14: LayerNorm, 1 and 2 layers (2 layers: 12000 steps at batch 1024 instead of 50000 at 2048); Fig 15:
#: 10 seeds x 1 / 2 heads (logged every 25 steps) and the grokking block, 8000 full-batch steps on 8192 fixed
#: tasks (the paper states no length).  Each paper-profile figure costs about 25-40 min on 2 cores (see
#: benchmarks/vonoswald2023_deep.py)
DEEP_PAPER = dict(
    fig7_seeds=1, fig7_steps=15000, fig7_batch=2048,
    fig8_seeds=1, fig8_steps=10000, fig8_batch=256, fig8_fit_tasks=10000, fig8_log_every=250,
    fig14_seeds=3, fig14_steps_1=5000, fig14_steps_2=12000, fig14_batch=2048, fig14_batch_2=1024,
    fig15_seeds=10, fig15_steps=5000, fig15_batch=2048, fig15_log_every=25,
    grok_tasks=8192, grok_steps=8000, grok_log_every=100,
    deep_eval_tasks=10000, deep_log_every=100, deep_fit_tasks=20000, fresh_tasks=20000,
    ood_alphas=(0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0), ood_tasks=10000, threads=2)
DEEP_PROFILES = {
    "paper": DEEP_PAPER,
    # the family's four quick figures share a 45 s budget: demonstrations, the claims at the paper profile
    "quick": dict(DEEP_PAPER, fig7_steps=300, fig7_batch=128,
                  fig8_steps=60, fig8_batch=64, fig8_fit_tasks=300, fig8_log_every=20,
                  fig14_seeds=1, fig14_steps_1=400, fig14_steps_2=400, fig14_batch=256, fig14_batch_2=256,
                  fig15_steps=800, fig15_batch=256, fig15_log_every=25,
                  grok_tasks=256, grok_steps=200, grok_log_every=25,
                  deep_eval_tasks=1000, deep_log_every=50, deep_fit_tasks=2000, fresh_tasks=4000, ood_tasks=2000,
                  threads=1),
    "_smoke": dict(DEEP_PAPER, fig7_steps=4, fig7_batch=16,
                   fig8_steps=3, fig8_batch=8, fig8_fit_tasks=50, fig8_log_every=2,
                   fig14_seeds=1, fig14_steps_1=4, fig14_steps_2=4, fig14_batch=16, fig14_batch_2=16,
                   fig15_seeds=3, fig15_steps=6, fig15_batch=16, fig15_log_every=2,
                   grok_tasks=32, grok_steps=4, grok_log_every=2,
                   deep_eval_tasks=64, deep_log_every=2, deep_fit_tasks=200, fresh_tasks=64,
                   ood_alphas=(1.0, 4.0), ood_tasks=64, threads=1),
}


def deep_sizes(profile: str) -> dict:
    """The deep-model sizes of ``profile`` (a copy of its row of :data:`DEEP_PROFILES`)."""
    return dict(DEEP_PROFILES[_profile(profile)])


def _deep_common(cfg: dict) -> dict:
    # one torch thread for the small quick models (two threads only add synchronisation there), two at paper scale
    return dict(d=D, N=N_CTX, law=LAW, eval_tasks=cfg["deep_eval_tasks"], gdpp_fit_tasks=cfg["deep_fit_tasks"],
                max_threads=cfg["threads"])


def fig7_runs(profile: str, seed: int) -> list[RunConfig]:
    """Fig 7: the recurrent 10-layer LSA (``train_lsa``; the code's K > 3 settings: lr 5e-4, token clip 10,
    gradient clip 10, init 0.002/K), ``fig7_seeds`` seeds from ``seed``."""
    cfg, seed = deep_sizes(profile), check_seed(seed)
    return [RunConfig.of(train_lsa, layers=10, recurrent=True, steps=cfg["fig7_steps"], batch=cfg["fig7_batch"],
                         seed=seed + i, log_every=cfg["deep_log_every"], **_deep_common(cfg))
            for i in range(cfg["fig7_seeds"])]


def fig8_runs(profile: str, seed: int) -> list[RunConfig]:
    """Fig 8 [reconstructed]: 12 untied blocks, 4-head linear attention + GELU MLP (widening 4), no LayerNorm,
    no biases (``train_blocks``; the code's K > 3 settings)."""
    cfg, seed = deep_sizes(profile), check_seed(seed)
    common = dict(_deep_common(cfg), gdpp_fit_tasks=cfg["fig8_fit_tasks"])  # the 12-step untied fit is slow
    return [RunConfig.of(train_blocks, layers=12, recurrent=False, heads=4, mlp=True, steps=cfg["fig8_steps"],
                         batch=cfg["fig8_batch"], seed=seed + i, log_every=cfg["fig8_log_every"], **common)
            for i in range(cfg["fig8_seeds"])]


def fig14_runs(profile: str, seed: int, layers: int) -> list[RunConfig]:
    """Fig 14: LayerNorm before attention; 1 layer (recurrent: LN before it) or 2 untied layers (LN only
    between them: the code skips it before layer 0 of a non-recurrent model)."""
    cfg, seed = deep_sizes(profile), check_seed(seed)
    layers = integer(layers, "layers", minimum=1)
    one = layers == 1
    return [RunConfig.of(train_blocks, layers=layers, recurrent=one, layernorm=True,
                         steps=cfg["fig14_steps_1" if one else "fig14_steps_2"],
                         batch=cfg["fig14_batch" if one else "fig14_batch_2"], seed=seed + i,
                         log_every=cfg["deep_log_every"], **_deep_common(cfg))
            for i in range(cfg["fig14_seeds"])]


def fig15_runs(profile: str, seed: int, heads: int) -> list[RunConfig]:
    """Fig 15: one linear layer with ``heads`` heads, ``fig15_seeds`` seeds, logged every ``fig15_log_every`` steps
    (25 at both profiles: drop times are read on that grid).  Where the sizes equal Fig 2's, the one-head runs are
    Fig 2's configs (:func:`figure_run`)."""
    cfg, seed = deep_sizes(profile), check_seed(seed)
    heads = integer(heads, "heads", minimum=1)
    seeds = [seed + i for i in range(cfg["fig15_seeds"])]
    base = sizes(profile)
    if (profile == "paper" and heads == 1 and cfg["fig15_steps"] == base["steps_1"] and cfg["fig15_batch"] == base["batch"]
            and cfg["fig15_log_every"] == base["log_every"] and cfg["deep_eval_tasks"] == base["eval_tasks"]):
        return [figure_run(profile, seed=s, layers=1) for s in seeds]
    extra = {} if heads == 1 else {"heads": heads}
    return [RunConfig.of(train_lsa, d=D, N=N_CTX, law=LAW, layers=1, recurrent=True, steps=cfg["fig15_steps"],
                         batch=cfg["fig15_batch"], seed=s, eval_tasks=cfg["deep_eval_tasks"],
                         log_every=cfg["fig15_log_every"], gdpp_fit_tasks=cfg["deep_fit_tasks"],
                         max_threads=cfg["threads"], **extra) for s in seeds]


def grokking_run(profile: str, seed: int) -> RunConfig:
    """Fig 15 (grokking) [reconstructed]: one block (linear attention + GELU MLP, no LayerNorm) trained full-batch
    on one fixed set of ``grok_tasks`` tasks (8192 in the paper)."""
    cfg = deep_sizes(profile)
    return RunConfig.of(train_blocks, layers=1, recurrent=True, mlp=True, train_tasks=cfg["grok_tasks"],
                        steps=cfg["grok_steps"], seed=check_seed(seed), log_every=cfg["grok_log_every"],
                        **_deep_common(cfg))


def deep_configs(profile: str, *, seed: int = 0) -> list[RunConfig]:
    """Every run of Figs 7, 8, 14 and 15 at ``profile``."""
    return (fig7_runs(profile, seed) + fig8_runs(profile, seed) + fig14_runs(profile, seed, 1)
            + fig14_runs(profile, seed, 2) + fig15_runs(profile, seed, 1) + fig15_runs(profile, seed, 2)
            + [grokking_run(profile, seed)])


# ----------------------------------------------------------------------------- softmax family (Figs 11, 12, 16)
# Sizes per profile of the softmax heads (Figs 11, 12) and the fixed training sets (Fig 16).  Paper: the
# notebook's 1-layer settings (batch 2048, lr 1e-3, 5000 steps, 10^4 evaluation tasks); Fig 16 trains full
# batch on one fixed set of B tasks (the code's cycle_data = 1 with bs = B: constructed_token_setup.ipynb,
# cell 8).  Quick: one seed; the softmax runs at batch 512 and lr 1.5e-3 for 2000 steps (2 heads reach
# their end plateau there; batch 256 stayed on the first plateau in a trial), Fig 16 without B = 8192
# and 1000 steps (full-batch runs with B >= 2048 settle within 500 steps).  Over seeds 100..119 at quick
# the 2-head run is still on its first plateau for 2 of 20 seeds (benchmarks.vonoswald2023_softmax_spread).
SOFTMAX_SIZES = {
    "paper": dict(seeds=5, sm_steps=5000, sm_batch=2048, sm_lr=1e-3, sm_eval=10000, sm_log=100,
                  fixed_B=(128, 512, 2048, 8192), fixed_steps=5000, fixed_seeds=5, fixed_eval=10000, fixed_log=100),
    "quick": dict(seeds=1, sm_steps=2000, sm_batch=512, sm_lr=1.5e-3, sm_eval=2000, sm_log=100,
                  fixed_B=(128, 512, 2048), fixed_steps=1000, fixed_seeds=1, fixed_eval=2000, fixed_log=100),
    "_smoke": dict(seeds=1, sm_steps=6, sm_batch=32, sm_lr=1e-3, sm_eval=64, sm_log=3,
                   fixed_B=(16, 64), fixed_steps=6, fixed_seeds=1, fixed_eval=64, fixed_log=3),
}


def softmax_sizes(profile: str) -> dict:
    """The softmax family's sizes of ``profile`` (a copy of its row of :data:`SOFTMAX_SIZES`)."""
    return dict(SOFTMAX_SIZES[_profile(profile)])


def softmax_run(profile: str, *, seed: int, heads: int) -> RunConfig:
    """A one-layer softmax run with ``heads`` heads (Figs 11, 12): the notebook's softmax setting
    (``use_softmax=True``, key size 11 per head, logits over sqrt(11)), the profile's sizes."""
    cfg = softmax_sizes(profile)
    return RunConfig.of(train_lsa, d=D, N=N_CTX, law=LAW, layers=1, recurrent=True, softmax=True,
                        heads=integer(heads, "heads", minimum=1), steps=cfg["sm_steps"], batch=cfg["sm_batch"],
                        lr=cfg["sm_lr"], seed=check_seed(seed), eval_tasks=cfg["sm_eval"],
                        log_every=cfg["sm_log"], max_threads=2)


def fixed_set_run(profile: str, *, seed: int, B: int) -> RunConfig:
    """A one-layer linear run trained full batch on one fixed set of ``B`` tasks (Fig 16; cycle_data = 1)."""
    cfg = softmax_sizes(profile)
    return RunConfig.of(train_lsa, d=D, N=N_CTX, law=LAW, layers=1, recurrent=True,
                        steps=cfg["fixed_steps"], batch=integer(B, "B", minimum=1), cycle_data=1,
                        seed=check_seed(seed), eval_tasks=cfg["fixed_eval"], log_every=cfg["fixed_log"],
                        max_threads=2)


def softmax_configs(profile: str, *, seed: int = 0) -> list[RunConfig]:
    """Every run of the softmax family at ``profile``: 1 and 2 heads and each B, for the profile's seeds."""
    cfg = softmax_sizes(profile)
    seeds = [check_seed(seed) + i for i in range(cfg["seeds"])]
    fixed_seeds = [check_seed(seed) + i for i in range(cfg["fixed_seeds"])]
    return ([softmax_run(profile, seed=s, heads=h) for h in (1, 2) for s in seeds]
            + [fixed_set_run(profile, seed=s, B=int(B)) for B in cfg["fixed_B"] for s in fixed_seeds])
