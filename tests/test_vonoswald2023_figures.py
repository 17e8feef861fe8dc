"""Tests of the von Oswald et al. 2023 figures: each figure's claim from its own arrays, artifacts, theory lines.

Two runs of every figure.  At the quick profile (the figures ``icl-theory reproduce --profile quick``
draws), into a temporary folder, with the trained models from the run store ``results/.runs`` when it
exists (CI runs ``reproduce --profile quick`` first, so the store is warm) and a temporary store
otherwise: every row of the figure's companion (``paper_figs.vonoswald2023.FIGURE_CHECKS``: the claim
asserted from the figure's ``.npz`` with argued tolerances) must pass.  At the tiny ``_smoke`` sizes
(a few training steps; the numbers mean nothing): each figure writes its four artifacts, and the
dashed theory lines it draws are the closed forms of ``theory.lsa``, recomputed here exactly (sympy
Rationals) or from the independent formula of the notes (§7.1: L*(d, N) = 1/2 s^2 d (d - 2 + k)/(N +
d - 2 + k), s^2 = 1/12, k = 9/5 for U(-1/2, 1/2)).
"""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from paper_figs import vonoswald2023 as figs
from paper_figs.registry import check_figure, figure_checks_of, figures_of
from theory.lsa import (gdpp_eigenvalue_map, one_step_loss, ood_input_scale_loss, optimal_one_step_loss,
                        optimal_step_size)
from validation.checks import SOURCES
from validation.store import use_store
from validation.threads import limit_threads

PAPER = "vonoswald2023"
#: the linear-regression figures this file tests in detail (the other families have their own test files:
#: test_vonoswald2023_props.py for Figs 4, 5 and the noisy labels, test_vonoswald2023_deep_models.py for Figs 7,
#: 8, 14, 15, test_vonoswald2023_softmax.py for Figs 11, 12, 16)
LINEAR = {"fig1_right", "fig2", "fig3", "fig6", "fig9", "fig10", "fig13"}
#: every registered figure of the paper
EXPECTED = LINEAR | {"fig4", "fig5", "noisy_labels", "fig7", "fig8", "fig11", "fig12", "fig14", "fig15", "fig16"}
ETA_STAR = sp.Rational(200, 33)  # N / (s^2 (N + d - 2 + k)) = 10 / ((1/12)(18 + 9/5)), notes §7.1
L_STAR = sp.Rational(245, 1188)  # notes §7.1 table: 0.20623


def _notes_L_star(d, N):
    """Notes §7.1, written out independently of theory.lsa: 1/2 s^2 d (d - 2 + k) / (N + d - 2 + k)."""
    s2, k = 1 / 12, 9 / 5
    return 0.5 * s2 * d * (d - 2 + k) / (N + d - 2 + k)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Run every linear-regression figure once at the smoke sizes in a fresh in-memory run store; return
    (out folder, {name: paths}, the store)."""
    out = tmp_path_factory.mktemp("figs")
    with limit_threads(1), use_store(None) as store:
        written = {name: figs.FIGURES[name](profile="_smoke", out=str(out), seed=0) for name in sorted(LINEAR)}
    return out / PAPER, written, store


def _npz(smoke, name):
    with np.load(smoke[0] / f"{name}.npz") as z:
        return {k: z[k] for k in z.files}


def test_registry_lists_every_figure_of_the_brief_and_a_companion_for_each():
    """FIGURES holds every figure of the paper reproduced here, the registry finds them, and every one has
    a figure-claim companion in FIGURE_CHECKS."""
    assert set(figs.FIGURES) == EXPECTED
    assert set(figures_of(PAPER)) == EXPECTED
    assert set(figure_checks_of(PAPER)) == EXPECTED


@pytest.fixture(scope="session")
def quick_figures(draw_quick_figures):
    """Every figure at the quick profile in a temporary folder (tests/conftest.py: the runs from
    results/.runs when it exists, warm in CI, else from a temporary store)."""
    return draw_quick_figures(PAPER)[0]


def test_all_configs_lists_every_run_the_figures_use(draw_quick_figures):
    """``--cluster`` submits ``validation.runs.vonoswald2023.all_configs`` first: it must hold every run a
    figure asks for, or that run would train alone later."""
    from validation.runs.vonoswald2023 import all_configs

    used = draw_quick_figures(PAPER)[1]
    missing = set(used) - set(all_configs("quick"))
    assert used and not missing, sorted(c.name for c in missing)


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_every_companion_row_passes_on_the_quick_figures(quick_figures, name):
    """The figure's claim, asserted from its own quick arrays (paper_figs.vonoswald2023.companions): every
    row passes and names its source."""
    rows = check_figure(PAPER, name, quick_figures)
    assert rows, name
    for row in rows:
        assert row.source in SOURCES, (row.claim, row.source)
        assert row.passed, (row.claim, row.theory, row.measured, row.tolerance, row.detail)


def test_each_figure_writes_png_pdf_npz_json(smoke):
    """Each figure returns and writes out/vonoswald2023/<name>.{png,pdf,npz,json}, none empty."""
    folder, written, _ = smoke
    for name, paths in written.items():
        assert sorted(p.name for p in paths) == sorted(f"{name}.{e}" for e in ("png", "pdf", "npz", "json"))
        for p in paths:
            assert p.parent == folder and p.stat().st_size > 0
        assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        meta = json.loads((folder / f"{name}.json").read_text())
        assert meta["figure"] == name and meta["config"]["profile"] == "_smoke"
        assert meta["config"]["seed"] == 0 and meta["wall_time_s"] > 0
        assert "steps_1" in meta["config"]["shortened_from_paper"]  # the json says what was shortened
        assert len(_npz(smoke, name)) > 0


def test_fig2_theory_lines_are_the_one_step_closed_forms(smoke):
    """Fig 2: L* = one_step_loss(eta*) = 245/1188, zero predictor 5/12, L*(n) for d = N = n, OOD input curve."""
    z = _npz(smoke, "fig2")
    assert z["theory_L_star"] == pytest.approx(float(L_STAR), rel=1e-15)
    assert z["theory_L_star"] == pytest.approx(_notes_L_star(10, 10), rel=1e-12)
    assert z["theory_L_zero"] == pytest.approx(5 / 12, rel=1e-15)  # 1/2 s^2 d
    # L*(n), d = N = n: the notes' formula on the whole grid, theory.lsa exactly at the integers
    np.testing.assert_allclose(z["theory_L_star_n"], _notes_L_star(z["n_grid"], z["n_grid"]), rtol=1e-12)
    for n in z["n_values"]:
        i = int(np.argmin(np.abs(z["n_grid"] - n)))
        if z["n_grid"][i] == n:
            exact = optimal_one_step_loss(int(n), int(n), "uniform(1/2)")
            assert z["theory_L_star_n"][i] == pytest.approx(float(exact), rel=1e-12)
    # OOD: the code's full-width alpha; exact Rational route per point
    exact = [float(ood_input_scale_loss(sp.Rational(Fraction(a).limit_denominator(1000)), 10, 10))
             for a in z["alphas"]]
    np.testing.assert_allclose(z["theory_ood_input"], exact, rtol=1e-12)
    assert float(ood_input_scale_loss(2, 10, 10)) == pytest.approx(8.401, abs=5e-4)  # notes §7.3


def test_fig6_theory_lines_and_the_exact_task_scaling_of_gd(smoke):
    """Fig 6: input curve = ood_input_scale_loss; task curve = alpha^2 L*; GD's MC loss scales exactly as alpha^2.

    The task-scale tasks share one seed at every alpha (w -> alpha w on the same draws), and GD's
    prediction and target are both linear in w, so L_GD(alpha) / alpha^2 is constant to round-off.
    """
    z = _npz(smoke, "fig6")
    exact = [float(ood_input_scale_loss(sp.Rational(Fraction(a).limit_denominator(1000)), 10, 10))
             for a in z["alpha_input"]]
    np.testing.assert_allclose(z["theory_input"], exact, rtol=1e-12)
    np.testing.assert_allclose(z["theory_task"], z["alpha_task"] ** 2 * float(L_STAR), rtol=1e-12)
    for gd in (z["gd_task"], z["gd_other_task"]):
        ratio = gd / z["alpha_task"] ** 2
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)
    np.testing.assert_allclose(z["scaling_other_task"], z["gd_other_task"], rtol=1e-10)


def test_fig9_construction_panel_is_proposition_1_at_eta_star(smoke):
    """Fig 9: W_K^T W_Q = diag(I_10, 0) and P W_V has the single entry -eta*/N = -20/33."""
    z = _npz(smoke, "fig9")
    expected_kq = np.diag([1.0] * 10 + [0.0])
    expected_pv = np.zeros((11, 11))
    expected_pv[-1, -1] = -float(ETA_STAR) / 10
    np.testing.assert_array_equal(z["theory_KQ"], expected_kq)
    np.testing.assert_allclose(z["theory_PV"], expected_pv, rtol=1e-15, atol=0)
    assert ETA_STAR == optimal_step_size(10, 10, "uniform(1/2)")
    # the trained weights' shape (W_KQ / beta = diag(I, 0), beta P W_V = -eta*/N e e^T) is asserted by
    # fig9's companion on the quick arrays: test_every_companion_row_passes_on_the_quick_figures[fig9]


@pytest.mark.parametrize("name,lams", [("fig1_right", (0.75,)), ("fig10", (1.0, 0.875, 0.75))])
def test_rollout_theory_points_are_the_zero_predictor_and_one_damped_step(smoke, name, lams):
    """Fig 1 right / 10: step 0 is 1/2 s^2 d = 5/12; step 1 of GD is one_step_loss(lambda eta*).

    Both roll-outs start from the same tasks' zero predictor, so their step-0 losses agree exactly.
    """
    z = _npz(smoke, name)
    np.testing.assert_array_equal(z["lambdas"], lams)
    for lam in lams:
        tag = f"{lam:g}".replace(".", "p")
        step1 = one_step_loss(sp.nsimplify(lam) * ETA_STAR, 10, 10, "uniform(1/2)")
        np.testing.assert_allclose(z[f"theory_first_{tag}"], [5 / 12, float(step1)], rtol=1e-12)
        np.testing.assert_allclose(z[f"tf_{tag}"][:, 0], z[f"gd_{tag}"][0], rtol=1e-12)


def test_fig13_theory_map_is_the_gdpp_eigenvalue_map(smoke):
    """Fig 13: the dashed curve is f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 at the fitted gamma (N = 25)."""
    z = _npz(smoke, "fig13")
    g = float(z["gamma_25"])
    idx = np.linspace(0, len(z["lam_grid"]) - 1, 7).astype(int)
    exact = [float(gdpp_eigenvalue_map(sp.Float(z["lam_grid"][i], 30), sp.Float(g, 30))) for i in idx]
    np.testing.assert_allclose(z["theory_map"][idx], exact, rtol=1e-12, atol=1e-14)


def test_figures_sharing_a_training_run_do_not_retrain(smoke, tmp_path):
    """The seven figures train four distinct runs (one layer at d = 10 and at d = 3 for fig2's size axis,
    2-layer recurrent, 5-layer untied), each once; drawing fig9 again reuses the stored run, trains nothing."""
    store = smoke[2]
    assert store.trained == 4
    reused = store.reused
    with use_store(store):
        figs.fig9_weight_heatmaps(profile="_smoke", out=str(tmp_path), seed=0)
    assert store.trained == 4 and store.reused == reused + 1


@pytest.mark.parametrize("kwargs,word", [(dict(profile="huge"), "profile"), (dict(profile="Quick"), "profile"),
                                         (dict(seed=-1), "seed"), (dict(seed=1.5), "seed")])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_profile_or_seed_is_a_value_error_naming_it_and_writes_nothing(tmp_path, name, kwargs, word):
    """An unknown profile or a bad seed raises ValueError naming the argument, before any file is written."""
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=word):
        figs.FIGURES[name](out=str(out), **kwargs)
    assert not out.exists()


def test_fig6_deep_panels_follow_exact_task_scaling_of_gdpp(smoke):
    """Fig 6 (e, f): the 2-layer recurrent model is drawn against its fitted 2-step GD++; GD++ is linear in
    the targets, so on the task axis its MC loss on the same draws is exactly alpha^2 L_GD++(1) (the dashed
    line), to float round-off."""
    z = _npz(smoke, "fig6")
    for key in ("tf_input_2layer", "gdpp_input_2layer", "tf_task_2layer", "gdpp_task_2layer"):
        assert z[key].shape[1] in (len(z["alpha_input"]), len(z["alpha_task"])) and np.all(np.isfinite(z[key]))
    np.testing.assert_allclose(z["gdpp_task_2layer"], z["scaling_task_2layer"], rtol=1e-9)
    assert "tf_input_5layer" not in z  # the untied 5-layer model is drawn in the paper profile only
