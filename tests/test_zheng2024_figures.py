"""Every Zheng et al. 2024 figure at the quick profile, its claim asserted from its own arrays.

Each figure runs once into a temporary folder; ``paper_figs.registry.check_figure`` then runs its
companion (``paper_figs.zheng2024.FIGURE_CHECKS``), which reads only the figure's ``.npz`` and
``.json``.  The training runs come from the run store: ``results/.runs`` when it exists (CI runs
``icl-theory reproduce --profile quick`` first, so the store is warm there), else a temporary store
shared by the session.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from paper_figs import zheng2024 as figs
from paper_figs.registry import check_figure
from validation.store import use_store

PAPER = "zheng2024"
STORE = Path(__file__).resolve().parents[1] / "results" / ".runs"


@pytest.fixture(scope="session")
def quick_figures(tmp_path_factory):
    """Every figure at the quick profile, seed 0, into one temporary folder; returns that folder."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("zheng-figs")
    store = STORE if STORE.exists() else tmp_path_factory.mktemp("zheng-store")
    with use_store(store):
        for fn in figs.FIGURES.values():
            fn(profile="quick", out=str(out), seed=0)
    return out


def test_every_figure_has_a_companion():
    """Issue 9, item 4: fig1, fig1_appendix, fig5, fig7 and fixed_point_vs_T each have a claim check."""
    assert set(figs.FIGURE_CHECKS) == set(figs.FIGURES)


@pytest.mark.parametrize("name", sorted(figs.FIGURES))
def test_quick_figure_claim_holds_from_its_arrays(quick_figures, name):
    """Fig 1 (+ appendix): each start's final ab on the flow c(tau) within 5 finite-sample SE (the (2, 2)
    start at sigma = 2, beyond local stability, is labelled as such); Fig 5: red blocks diagonal, test
    error of the diagonal start within 5 SE; Fig 7: masked ab on the masked flow within 5 SE, unmasked
    off-diagonals negative by 5 SE; c*(T): grid points on c*(T) to 1e-9, sampled points within 5 SE."""
    rows = check_figure(PAPER, name, quick_figures)
    assert rows, f"{name}: no companion rows"
    assert all(r.source for r in rows), "every row names its source"
    failed = [f"{r.claim}: theory {r.theory:.6g}, measured {r.measured:.6g}, tol {r.tolerance:.3g} ({r.detail})"
              for r in rows if not r.passed]
    assert not failed, "\n".join(failed)
