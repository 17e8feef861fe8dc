"""Every Zheng et al. 2024 figure at the quick profile, its claim asserted from its own arrays.

Each figure runs once into a temporary folder; ``paper_figs.registry.check_figure`` then runs its
companion (``paper_figs.zheng2024.FIGURE_CHECKS``), which reads only the figure's ``.npz`` and
``.json``.  The training runs come from the run store: ``results/.runs`` when it exists (CI runs
``icl-theory reproduce --profile quick`` first, so the store is warm there), else a temporary store
shared by the session.
"""
from __future__ import annotations


import pytest

from paper_figs import zheng2024 as figs
from paper_figs.registry import check_figure

PAPER = "zheng2024"


@pytest.fixture(scope="session")
def quick_figures(draw_quick_figures):
    """Every figure at the quick profile, seed 0, into one temporary folder (tests/conftest.py); returns
    that folder."""
    return draw_quick_figures(PAPER)[0]


def test_all_configs_lists_every_run_the_figures_use(draw_quick_figures):
    """``--cluster`` submits ``validation.runs.zheng2024.all_configs`` first: it must hold every run a
    figure asks for, or that run would train alone later."""
    from validation.runs.zheng2024 import all_configs

    used = draw_quick_figures(PAPER)[1]
    missing = set(used) - set(all_configs("quick"))
    assert used and not missing, sorted(c.name for c in missing)


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


def test_diagonal_hessian_is_sympys_hessian_of_the_diagonal_loss():
    """The closed-form Hessian behind the Fig 1 stability note equals sympy's Hessian of
    ``theory.mesa.diagonal_loss`` at a random diagonal point (Gaussian sigma = 2, d = 5, T = 12), and gives
    lr x lambda_max = 2.34 at Table 1's sigma = 2, (2, 2), lr = 2e-6 (T = 100)."""
    import numpy as np
    import sympy as sp

    from theory.mesa import diagonal_loss

    a, b = sp.symbols("a1:6"), sp.symbols("b1:6")
    x = np.random.default_rng(0).normal(size=10)
    loss = diagonal_loss(list(a), list(b), 5, 12, "gaussian(2)")
    exact = np.array(sp.hessian(loss, list(a) + list(b)).subs(dict(zip(list(a) + list(b), x))), dtype=float)
    assert np.allclose(figs.diagonal_hessian("gaussian(2)", x[:5], x[5:], 12), exact, rtol=1e-12, atol=1e-9)
    assert figs.start_curvature("gaussian(2)", 2.0, 2.0, 2e-6) == pytest.approx(2.3438, abs=1e-4)
