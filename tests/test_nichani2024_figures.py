"""Nichani, Damian, Lee 2024: every figure's claim asserted from its own arrays (issue 9, item 4).

Each figure of ``paper_figs.nichani2024`` runs once at the quick profile into a temporary folder,
and its companion (``FIGURE_CHECKS``) reads back only that figure's ``.npz`` and ``.json``; every row
must pass and name its source. The training runs come from the run store: the folder
``results/.runs`` when it exists (CI runs ``icl-theory reproduce --profile quick`` before pytest, so
the store is warm there and this file costs seconds), else the process's own store, shared with the
trained checks of tests/test_nichani2024_validation.py (a cold run trains every quick run once:
several minutes on 2 cores). Then each companion is shown able to fail: fed arrays that
contradict its claim, it reports a failing row.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from paper_figs import nichani2024 as figs
from paper_figs.registry import check_figure, figure_checks_of
from validation.checks import SOURCES
from validation.checks.nichani2024 import chance_split_tail
from validation.store import current_store

PAPER = "nichani2024"


@pytest.fixture(scope="session")
def quick_figures(draw_quick_figures):
    """Every figure at the quick profile in a temporary folder; returns that folder (tests/conftest.py;
    without results/.runs the runs are shared with the trained checks through the process's store)."""
    return draw_quick_figures(PAPER, fallback=current_store())[0]


def test_all_configs_lists_every_run_the_figures_use(draw_quick_figures):
    """``--cluster`` submits ``validation.runs.nichani2024.all_configs`` first: it must hold every run a
    figure asks for, or that run would train alone later."""
    from validation.runs.nichani2024 import all_configs

    used = draw_quick_figures(PAPER, fallback=current_store())[1]
    if not used:
        pytest.skip("the figures shared the session's in-memory store (no results/.runs): their own runs unknown")
    missing = set(used) - set(all_configs("quick"))
    assert not missing, sorted(c.name for c in missing)


def test_every_figure_has_a_companion():
    """FIGURE_CHECKS covers all 8 figures (fig2, fig5, fig6, fig7, fig8, fig9, gradient_matrix,
    information_vs_distance)."""
    assert set(figure_checks_of(PAPER)) == set(figs.FIGURES) and len(figs.FIGURES) == 8


@pytest.mark.parametrize("name", sorted(figs.FIGURES))
def test_quick_figure_claim_holds_on_its_own_arrays(quick_figures, name):
    """The companion of each quick figure: every row passes and names its source."""
    rows = check_figure(PAPER, name, quick_figures)
    assert rows, name
    for r in rows:
        assert r.passed and r.source in SOURCES, r


def _load(folder, name):
    import json

    with np.load(Path(folder) / PAPER / f"{name}.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads((Path(folder) / PAPER / f"{name}.json").read_text())["config"]


def _corrupt(name, arrays):
    """Arrays that contradict the figure's claim."""
    a = {k: np.array(v, copy=True) for k, v in arrays.items()}
    if name in ("fig2", "fig6"):
        for k in [k for k in a if k.endswith("_A1")]:
            a[k] = -a[k]  # the parent becomes the least attended position
    elif name == "fig5":
        a["attention"][1] = a["attention"][0]  # both heads on the same parent: no row splits
    elif name == "fig7":
        a["baselines"][1] = a["final_loss"][0]  # loss no longer below the one-parent line
    elif name == "fig8":
        a["attention"][0] = np.eye(a["attention"].shape[-1])  # attention to itself, not to i - 1
    elif name == "fig9":
        n = a["attention_to_parent"].shape[1]
        a["attention_to_parent"] = np.where(np.isfinite(a["attention_to_parent"]), 1.0 / (np.arange(n) + 1), np.nan)
    elif name == "gradient_matrix":
        a["autograd"] = a["autograd"] + 10 * a["autograd_se"]  # 10 SE off the formula
    elif name == "information_vs_distance":
        for k in [k for k in a if k.startswith("mc_") and k.endswith("_chi2")]:
            a[k] = a[k][::-1].copy()  # information rising with the distance
    return a


@pytest.mark.parametrize("name", sorted(figs.FIGURES))
def test_each_companion_fails_on_arrays_that_contradict_its_claim(quick_figures, name):
    """A companion that could not fail would be a defect: fed contradicting arrays, one row fails."""
    arrays, config = _load(quick_figures, name)
    rows = figs.FIGURE_CHECKS[name](_corrupt(name, arrays), config)
    assert not all(r.passed for r in rows), name


def test_chance_split_tail_equals_brute_force():
    """chance_split_tail (Poisson-binomial by convolution) = enumeration of every outcome, rows 2..5."""
    nodes = [2, 3, 4, 5]
    q = [2 / (i + 1) ** 2 for i in nodes]
    for k in range(len(nodes) + 1):
        exact = sum(np.prod([qi if b else 1 - qi for qi, b in zip(q, bits)])
                    for bits in itertools.product([0, 1], repeat=len(nodes)) if sum(bits) >= k)
        assert chance_split_tail(nodes, k) == pytest.approx(exact, rel=1e-12, abs=1e-15)
