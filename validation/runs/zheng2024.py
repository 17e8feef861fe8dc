"""Zheng et al. 2024: the standard training runs of the checks and the figures, and their sizes per profile.

Every run is a :class:`validation.store.RunConfig` of :func:`validation.mesa.train_mesa` (checks) or of
:func:`train_figure_run` (figures: a run that diverges at a Table 1 step size is a result to draw, not
an error), obtained through :func:`validation.store.run` / :func:`validation.store.run_many`, so a
setting trains once per store whoever asks for it.

Checks (``validation.checks.zheng2024``), float64, seed 0:

* on the exact phase grid (``phase_grid``): the weighted training set *is* the population, so GD is
  GD on the population loss (``gauss_grid*``, ``full_one_*``; ``gauss_grid`` is also the T = 6 point
  of the c*(T) figure, :func:`grid_settings`);
* on sampled sequences (the paper's protocol): ``gauss_sample``, ``sparse_sample``; ``quick`` uses
  small sizes, ``paper`` d = 5, T = 100, m = 10^4 and Table 1's step sizes.

Figures (``paper_figs.zheng2024``): d = 5, T = 100, Table 1's step sizes and epochs, in the authors'
precision (``torch.cfloat``: ``dtype=torch.float32``, twice as fast, within 1e-6 relative of
complex128 per gradient); ``paper``: m = 10^4 training and test sequences, every init of every
Table 1 scale, two runs side by side (``workers``: one thread each, torch single-threaded in each);
``quick``: m = a few hundred sequences; ``_smoke``: tiny sizes for the tests.  The exact phase-grid
points of ``fixed_point_vs_T`` train in float64.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from theory.args import choice, seed as check_seed
from theory.laws import FullOne, Gaussian, SparseAxis, as_law
from validation.checks import check_profile
from validation.mesa import GDDiverged, table1_step, train_mesa
from validation.store import RunConfig, run, run_many

__all__ = ["D", "T_PAPER", "INITS", "FIGURE_PROFILES", "CHECK_RUNS", "grid_settings", "check_settings", "check_config", "check_run",
           "figure_settings", "figure_config", "ab_configs", "random_init_configs", "full_one_configs",
           "sweep_configs", "grid_configs", "figure_runs", "train_figure_run", "Diverged", "all_configs"]

D, T_PAPER = 5, 100  # the paper's dimension and sequence length
INITS = ((0.1, 0.1), (0.5, 1.5), (2.0, 2.0))  # the diagonal starts (a0, b0) of Figure 1



def grid_settings(T: int, epochs: int = 120) -> dict:
    """GD on the exact population at d = 2 (Gaussian x_1, n_grid = 3T - 5 phases x 16 Gauss-Hermite points),
    float64: keyword arguments of train_mesa (the seed aside).

    Step lr = 0.06/(T - 2): logistic rate 2 S k1 lr = 0.36 per epoch from (0.1, 0.1), converged to
    rounding well within 120 epochs.  The check run ``gauss_grid`` is the T = 6 point of the c*(T)
    figure (one training for both).
    """
    return dict(d=2, T=T, law=Gaussian(1), phase_grid=3 * T - 5, lr=0.06 / (T - 2), epochs=epochs, m_test=10)


# --- checks: run name -> keyword arguments of train_mesa (seed 0), per profile ------------------------
_GRID = dict(d=2, T=6, phase_grid=13, m_test=2000)  # 13^2 phases x 16 Gauss-Hermite points, exact
_FULL_ONE = dict(d=3, T=6, law=FullOne(1), phase_grid=13, m_test=10)
CHECK_RUNS = {
    "quick": {
        "gauss_grid": grid_settings(6),
        "gauss_grid_slow": dict(_GRID, law=Gaussian(1), lr=0.002, epochs=400),
        "gauss_grid_unbalanced": dict(_GRID, law=Gaussian(1), lr=0.003, epochs=150, a0=0.5, b0=1.5),
        "gauss_sample": dict(d=5, T=30, law=Gaussian(1), m=2000, lr=2e-3, epochs=60, m_test=4000),
        "sparse_sample": dict(d=5, T=30, law=SparseAxis(1), m=1000, lr=0.05, epochs=60, m_test=2000),
        "full_one_step": dict(_FULL_ONE, lr=0.02, epochs=1),
        "full_one_masked": dict(_FULL_ONE, lr=0.02, epochs=150, mask_offdiag=True),
        "full_one_unmasked": dict(_FULL_ONE, lr=0.02, epochs=150),
    },
}
CHECK_RUNS["paper"] = dict(CHECK_RUNS["quick"])
CHECK_RUNS["paper"].update({
    "gauss_sample": dict(d=5, T=100, law=Gaussian(1), m=10000, lr=1e-4, epochs=150, m_test=10000),
    "sparse_sample": dict(d=5, T=100, law=SparseAxis(1), m=10000, lr=1e-3, epochs=201, m_test=10000),
})


def check_settings(profile: str, name: str) -> dict:
    """The keyword arguments of train_mesa for the check run ``name`` of ``profile`` (a copy).

    Examples
    --------
    >>> check_settings("quick", "gauss_grid")["phase_grid"]
    13
    """
    runs = CHECK_RUNS[check_profile(profile)]
    return dict(runs[choice(name, "name", tuple(runs))])


def check_config(profile: str, name: str, seed: int = 0) -> RunConfig:
    """The run config of the check run ``name`` of ``profile`` with ``seed`` (default 0: the check table).

    The run's streams are ``child_rng(seed, key)`` (:func:`validation.mesa.data.streams`).  The runs
    on the exact phase grid train on the population whatever the seed (only their test sets would
    move, and no check reads those), so :func:`check_run` keeps them at seed 0.
    """
    return RunConfig.of(train_mesa, seed=check_seed(seed), **check_settings(profile, name))


def check_run(profile: str, name: str, seed: int = 0):
    """The trained :class:`validation.mesa.MesaResult` of the check run ``name`` of ``profile``:
    sampled runs at ``seed``, phase-grid runs (no randomness in training) at seed 0."""
    settings = check_settings(profile, name)
    return run(check_config(profile, name, 0 if "phase_grid" in settings else seed))


# --- figures ---------------------------------------------------------------------------------------
FIGURE_PROFILES = {
    "paper": dict(m=10000, m_test=10000, appendix_inits=INITS, fig5_m=10000, fig5_epochs=450, fig7_m=10000,
                  sweep_T=(6, 10, 20, 30, 50, 100, 200), sweep_m=2000, sigma_w=(0.01, 0.1, 0.3),
                  grid_T=(4, 6, 8, 10), workers=2),
    "quick": dict(grid_T=(4, 6, 8), m=150, m_test=1000, appendix_inits=INITS[:1], fig5_m=150, fig5_epochs=450,
                  fig7_m=100,
                  sweep_T=(10, 30, 100), sweep_m=400, sigma_w=(0.01, 0.1, 0.3), workers=1),
    # test-only: every figure in seconds
    "_smoke": dict(m=8, m_test=8, appendix_inits=INITS[:1], fig5_m=8, fig5_epochs=3, fig7_m=8,
                   sweep_T=(6,), sweep_m=8, sigma_w=(0.1,), epochs=3, T=8, grid_T=(4,), workers=2),
}


def figure_settings(profile: str, seed: int) -> dict:
    """The sizes of ``profile`` with ``profile`` and ``seed`` added (both checked).

    Examples
    --------
    >>> figure_settings("quick", 0)["m"]
    150
    """
    choice(profile, "profile", tuple(FIGURE_PROFILES))
    return dict(FIGURE_PROFILES[profile], profile=profile, seed=check_seed(seed))


@dataclass(frozen=True)
class Diverged:
    """A figure run whose step size makes full-batch GD diverge: the message of :class:`GDDiverged`."""

    message: str


def train_figure_run(**kwargs):
    """``train_mesa(**kwargs)``, or :class:`Diverged` when GD diverges at that step size.

    Table 1's lr = 2e-6 for Gaussian sigma = 2 with the (2, 2) start is close to the stability limit;
    the figures name such a run in the legend instead of failing, and the store keeps the outcome.
    """
    try:
        return train_mesa(**kwargs)
    except GDDiverged as exc:
        return Diverged(str(exc))


def figure_config(settings: dict, law, a0: float = 0.1, b0: float = 0.1, **kw) -> RunConfig:
    """A figure run: d = 5, the profile's m, m_test (and T, epochs of ``_smoke``), Table 1's lr and
    epochs for ``law``, complex64; ``kw`` overrides (any argument of train_mesa)."""
    law = as_law(law)
    kw.setdefault("dtype", torch.float32)  # the authors' torch.cfloat: twice as fast, 1e-6 relative (tested)
    kw.setdefault("m", settings["m"])
    kw.setdefault("m_test", settings["m_test"])
    kw.setdefault("T", settings.get("T", T_PAPER))
    if "lr" not in kw or "epochs" not in kw:
        lr, epochs = table1_step(law)
        kw.setdefault("lr", lr)
        kw.setdefault("epochs", settings.get("epochs", epochs))
    return RunConfig.of(train_figure_run, d=D, law=law, a0=a0, b0=b0, seed=settings["seed"], **kw)


def ab_configs(settings: dict, law, inits) -> list[RunConfig]:
    """Figure 1 (and its appendix): one diagonal start (a0, b0) per entry of ``inits``."""
    return [figure_config(settings, law, a0, b0) for a0, b0 in inits]


def random_init_configs(settings: dict) -> list[RunConfig]:
    """Figure 5: Gaussian x_1 (sigma = 1), every weight N(0, sigma_w^2), one run per sigma_w, then the
    diagonal start (0.1, 0.1) on the same data and epochs (the caption's reference).

    Table 1's lr = 1e-4 with ``fig5_epochs`` = 450 instead of its 150: from a random start the
    diagonal product is c0 ~ sigma_w^2 (1e-4 at sigma_w = 0.01), and the logistic flow at rate
    2 S k1 lr = 0.059 per epoch needs ln(c*/c0)/0.059 ~ 130 epochs to reach c*, after which the
    non-red blocks still decay (their population gradient vanishes only where they are zero).
    """
    kw = dict(m=settings["fig5_m"], lr=table1_step(Gaussian(1))[0], epochs=settings["fig5_epochs"])
    return [figure_config(settings, Gaussian(1), init="gaussian", init_std=sw, **kw)
            for sw in settings["sigma_w"]] + [figure_config(settings, Gaussian(1), **kw)]


def full_one_configs(settings: dict) -> list[RunConfig]:
    """Figure 7: full-one start, each init of :data:`INITS` masked (the code's --clip) then unmasked."""
    return [figure_config(settings, FullOne(1), a0, b0, m=settings["fig7_m"], mask_offdiag=mask)
            for a0, b0 in INITS for mask in (True, False)]


def sweep_configs(settings: dict) -> list[RunConfig]:
    """c*(T) figure, sampled d = 5 runs, one per T of ``sweep_T`` (in that order).

    Step lr = 0.05/(k1 (T - 2)) with k1 = 3: logistic rate 2 S k1 lr = 0.1 per epoch, and
    lr (a^2 + b^2) Acal ~ 0.06 << 2 (stable)."""
    k1 = 3.0
    return [figure_config(settings, Gaussian(1), T=T, m=settings["sweep_m"], lr=0.05 / (k1 * (T - 2)),
                          epochs=settings.get("epochs", 150)) for T in settings["sweep_T"]]


def grid_configs(settings: dict) -> list[RunConfig]:
    """c*(T) figure, d = 2 runs on the exact phase grid (:func:`grid_settings`), one per T of ``grid_T``."""
    return [RunConfig.of(train_mesa, seed=settings["seed"], **grid_settings(T, settings.get("epochs", 120)))
            for T in settings["grid_T"]]


def figure_runs(settings: dict, configs) -> list:
    """The results of ``configs`` in order (MesaResult or :class:`Diverged`), the missing ones trained
    ``settings["workers"]`` at a time (:func:`validation.store.run_many`)."""
    return run_many(configs, workers=settings["workers"])


def all_configs(profile: str, *, seed: int = 0) -> list[RunConfig]:
    """Every standard run of the paper at ``profile``: the check runs and the runs of each figure
    (what ``--cluster`` submits first, so they train side by side)."""
    checks = [check_config(profile, name, 0 if "phase_grid" in settings else seed)
              for name, settings in CHECK_RUNS[check_profile(profile)].items()]
    cfg = figure_settings(profile, seed)
    fig1 = ab_configs(cfg, "gaussian(2)", INITS) + ab_configs(cfg, "sparse_axis(1)", INITS)
    appendix = [c for scale in (0.5, 1.0, 2.0) for law in (f"gaussian({scale:g})", f"sparse_axis({scale:g})")
                for c in ab_configs(cfg, law, cfg["appendix_inits"])]
    figures = fig1 + appendix + random_init_configs(cfg) + full_one_configs(cfg) + sweep_configs(cfg) + grid_configs(cfg)
    return list(dict.fromkeys(checks + figures))
