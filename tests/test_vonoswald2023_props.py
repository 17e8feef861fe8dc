"""Tests of the sine family of von Oswald et al. 2023: the noisy-label closed form, Figs 4 and 5, Props 2 and 3 trained.

Theory exactly (the noisy-label closed form against an enumeration over every input draw and replaced set),
numerics against theory and Monte Carlo (5 SE), the torch models against reference computations, the trainers'
checkpoints (a killed run resumes bit-equal), each new figure at the ``_smoke`` sizes, and at the quick profile
every companion row and check row passing.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

from numerics.lsa import noisy_label_losses, noisy_label_mc
from paper_figs import vonoswald2023 as figs
from paper_figs.registry import check_figure
from theory.lsa import (noisy_label_loss, noisy_label_loss_enumerated, noisy_label_optimal_loss, one_step_loss,
                        optimal_step_size, zero_predictor_loss)
from validation.checks import SOURCES
from validation.checks.vonoswald2023_props import (check_noisy_label_closed_form, check_prop2_sine_kernel_smoother,
                                                   check_prop3_interleaved_copy)
from validation.lsa import (InterleavedTransformer, SineLSA, copy_sensitivity, interleaved_tokens, kernel_decomposition,
                            positional_encoding, sample_interleaved_tasks, sample_sine_tasks)
from validation.lsa import sine_trainer
from validation.lsa.interleaved_trainer import train_interleaved
from validation.lsa.sine_trainer import train_sine
from validation.store import RunConfig, use_store
from validation.threads import limit_threads

PAPER = "vonoswald2023"
NEW = ("fig4", "fig5", "noisy_labels")
#: the command line's run store (as tests/conftest.py): warm in CI, where the quick figures' runs live
STORE = Path(__file__).resolve().parents[1] / "results" / ".runs"
eta = sp.Symbol("eta")


# ----------------------------------------------------------------------------- theory: noisy labels
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_noisy_label_closed_form_equals_enumeration_over_inputs_and_replaced_sets(k):
    """[derived] Loss(eta; k) = one_step_loss(eta (N-k)/N, d, N-k) + 1/2 (eta/N)^2 k label_var tr M^2, exactly equal
    to the average over all 2^(d(N+1)) Rademacher input draws and all C(N, k) replaced sets (symbolic eta)."""
    half = sp.Rational(1, 2)
    got = noisy_label_loss(eta, 2, 3, k, "rademacher(1/2)", label_var=sp.Rational(3, 2), task_var=2)
    assert sp.simplify(got - noisy_label_loss_enumerated(eta, 2, 3, k, half, label_var=sp.Rational(3, 2),
                                                         task_var=2)) == 0


def test_noisy_label_loss_reduces_to_the_clean_and_the_zero_predictor_losses():
    """k = 0 is the clean one-step loss; eta = 0 is the zero predictor at every k; k = N keeps only noise terms."""
    law = "uniform(1/2)"
    assert noisy_label_loss(eta, 10, 10, 0, law) == one_step_loss(eta, 10, 10, law)
    for k in range(11):
        assert noisy_label_loss(0, 10, 10, k, law) == zero_predictor_loss(10, law)
    assert noisy_label_optimal_loss(10, 10, 0, law) == sp.Rational(245, 1188)
    # k = N: y_hat = (eta/N) sum_i xi_i x_i.x_q, independent of y_q: 1/2 E y_q^2 + 1/2 (eta/N)^2 N tr M^2
    trM2 = 10 * sp.Rational(1, 12) ** 2
    assert sp.simplify(noisy_label_loss(eta, 10, 10, 10, law) - (sp.Rational(5, 12) + eta**2 / 10 * trM2 / 2)) == 0


def test_noisy_label_loss_gaussian_by_hand():
    """Gaussian(1), d = N = 10, k = 2: 1/2 d [1 - 2 c + c^2 (M + d + 1)/M], c = 0.8 eta, M = 8, + 1/2 (eta/10)^2 2 d."""
    c, M, d = sp.Rational(4, 5) * eta, 8, 10
    by_hand = sp.Rational(1, 2) * d * (1 - 2 * c + c**2 * (M + d + 1) / M) + (eta / 10) ** 2 * 2 * d / 2
    assert sp.simplify(noisy_label_loss(eta, 10, 10, 2, "gaussian(1)") - by_hand) == 0


def test_noisy_label_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="k"):
        noisy_label_loss(1, 10, 10, 11, "uniform(1/2)")
    with pytest.raises(ValueError, match="k"):
        noisy_label_losses(1.0, 10, 10, [-1], "uniform(1/2)")
    with pytest.raises(ValueError, match="d \\(N \\+ 1\\)"):
        noisy_label_loss_enumerated(1, 3, 10, 1)


# ----------------------------------------------------------------------------- numerics
@pytest.mark.parametrize("law,kw", [("uniform(1/2)", {}), ("gaussian(1)", dict(noise_var=0.25, task_var=2.0)),
                                    ("sphere(1)", {})])
def test_noisy_label_float_version_equals_theory(law, kw):
    ks = [0, 3, 5, 8]
    exact = [float(noisy_label_loss(sp.Rational(7, 3), 5, 8, k, law, **kw)) for k in ks]
    np.testing.assert_allclose(noisy_label_losses(7 / 3, 5, 8, ks, law, **kw), exact, rtol=1e-12)


def test_noisy_label_monte_carlo_agrees_with_the_closed_form_within_5_se():
    """The code's corruption (k labels replaced by N(0, 1), without replacement) on 2 * 10^4 tasks per k: 5 SE."""
    ks = [0, 4, 8, 10]
    eta_star = float(optimal_step_size(10, 10, "uniform(1/2)"))
    mc, se = noisy_label_mc(eta_star, 10, 10, ks, "uniform(1/2)", n_tasks=20_000, seed=11)
    exact = noisy_label_losses(eta_star, 10, 10, ks, "uniform(1/2)")
    assert np.all(np.abs(mc - exact) <= 5 * se), (mc, exact, se)


# ----------------------------------------------------------------------------- Fig 4 model (Prop 2)
def test_sine_tasks_follow_the_code_one_u_per_task():
    """[code] a = 0.1 + 0.4 u and rho = pi u from one u; x ~ U(-5, 5); query y-slot 0; y_q = a sin(x_q + rho)."""
    E, y_q, ar = sample_sine_tasks(500, 10, torch.Generator().manual_seed(0))
    a, rho = ar[:, 0], ar[:, 1]
    torch.testing.assert_close(a, 0.1 + 0.4 * rho / np.pi)
    assert E.shape == (500, 11, 2) and float(E[..., 0].abs().max()) <= 5.0 and bool((E[:, -1, 1] == 0).all())
    torch.testing.assert_close(y_q, a * torch.sin(E[:, -1, 0] + rho))
    torch.testing.assert_close(E[:, :10, 1], a[:, None] * torch.sin(E[:, :10, 0] + rho[:, None]))


@pytest.mark.parametrize("gd", [False, True])
def test_trained_layer_is_a_kernel_smoother_on_its_features_identity(gd):
    """Prop 2 [derived for this architecture]: forward = b(x_q) + sum_i v(e_i) kappa(e_i, x_q), to round-off, and
    prediction = label-free + label-linear + label-nonlinear parts (by construction), on a randomly perturbed model."""
    torch.manual_seed(0)
    m = SineLSA(gd=gd, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=p.dtype))
    E, _, _ = sample_sine_tasks(64, 10, torch.Generator().manual_seed(1))
    k = kernel_decomposition(m, E)
    torch.testing.assert_close(k["prediction"], k["smoother"], rtol=1e-12, atol=0)  # round-off, relative
    torch.testing.assert_close(k["prediction"], k["label_free"] + k["label_linear"] + k["label_nonlinear"])


def test_gd_baseline_is_one_gd_step_on_its_features():
    """The frozen layer (Prop 1, lr 0.1, on 39 feature channels + the readout channel) predicts
    -phi_q[-1] + (0.1/N) sum_i phi_i[-1] phi_i[:39].phi_q[:39]: one GD step on features (Prop 2's form)."""
    m = SineLSA(gd=True, generator=torch.Generator().manual_seed(4))
    E, _, _ = sample_sine_tasks(32, 10, torch.Generator().manual_seed(2))
    phi = m.features(E)
    ref = -phi[:, -1, -1] + 0.01 * (phi[:, :10, -1] * (phi[:, :10, :39] @ phi[:, -1, :39, None])[..., 0]).sum(-1)
    torch.testing.assert_close(m(E), ref)


# ----------------------------------------------------------------------------- Fig 5 model (Prop 3)
def test_interleaved_tokens_and_positional_encoding_follow_the_code():
    """[code] x_1, (0.., y_1), ..., x_q; PE[t, 2j] = sin(t 10000^(-2j/10)), PE[t, 2j+1] = cos(...); the readout
    channel (query, last) starts at cos(20 * 10000^(-0.8)) ~ 0.9999."""
    tok, y_q = sample_interleaved_tasks(3, 10, 10, torch.Generator().manual_seed(0))
    assert tok.shape == (3, 21, 10)
    assert bool((tok[:, 1:20:2, :9] == 0).all())
    pe = positional_encoding(21)
    assert pe[20, 9].item() == pytest.approx(np.cos(20 * 10000 ** -0.8), abs=1e-15)
    assert pe[5, 4].item() == pytest.approx(np.sin(5 * 10000 ** -0.4), abs=1e-15)
    X, y = tok[:, 0:20:2], tok[:, 1:20:2, -1]
    torch.testing.assert_close(interleaved_tokens(X, y, tok[:, -1]), tok)


def test_copy_sensitivity_matches_a_direct_jacobian():
    """analyse_copy: |mean over tasks of d(sum_c h1[k, c]) / d e_j| per token, averaged over k, vs jacobian()."""
    m = InterleavedTransformer(d=3, N=2, generator=torch.Generator().manual_seed(5), init_scale=1.0)
    tok, _ = sample_interleaved_tasks(4, 3, 2, torch.Generator().manual_seed(6))
    T = tok.shape[1]
    own, nxt, rest = [], [], []
    for k in range(T - 2):
        G = torch.stack([torch.autograd.functional.jacobian(lambda t: m.hidden(t[None], upto=1)[0, k].sum(), tok[b])
                         for b in range(4)]).mean(0).norm(dim=-1)
        own.append(G[k])
        nxt.append(G[k + 1])
        rest.append(G[[j for j in range(T) if j not in (k, k + 1)]].mean())
    got = copy_sensitivity(m, tok)
    for key, ref in (("own", own), ("next", nxt), ("rest", rest)):
        assert got[key] == pytest.approx(float(torch.stack(ref).mean()), rel=1e-12)


# ----------------------------------------------------------------------------- trainers: checkpoints
@pytest.mark.parametrize("trainer,module,name,kw", [
    (train_sine, sine_trainer, "sample_sine_tasks", dict(steps=8, batch=8, eval_tasks=16, log_every=2)),
    (train_interleaved, __import__("validation.lsa.interleaved_trainer", fromlist=["x"]), "sample_interleaved_tasks",
     dict(steps=6, batch=8, eval_tasks=16, copy_tasks=4, log_every=2)),
])
def test_a_killed_run_resumes_bit_equal(kill_and_resume, trainer, module, name, kw):
    """Checkpointed at every evaluation: killed mid-way, the run resumes from its checkpoint and ends with
    exactly the numbers of an uninterrupted run."""
    config = RunConfig.of(trainer, seed=3, **kw)
    # the eval draw, then 4 training draws, then killed
    whole, resumed = kill_and_resume(config, module, name, 6)
    np.testing.assert_array_equal(resumed.losses, whole.losses)
    for a, b in zip(resumed.snapshots[-1].values(), whole.snapshots[-1].values()):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- figures and checks
def test_new_figures_are_registered_with_companions():
    assert set(NEW) <= set(figs.FIGURES) and set(NEW) <= set(figs.FIGURE_CHECKS)


def test_new_figures_write_their_artifacts_at_smoke_sizes(tmp_path):
    with limit_threads(1), use_store(None):
        for name in NEW:
            paths = figs.FIGURES[name](profile="_smoke", out=str(tmp_path), seed=0)
            assert sorted(p.name for p in paths) == sorted(f"{name}.{e}" for e in ("png", "pdf", "npz", "json"))
            meta = json.loads((tmp_path / PAPER / f"{name}.json").read_text())
            assert meta["config"]["profile"] == "_smoke" and meta["config"]["shortened_from_paper"]
            assert check_figure(PAPER, name, tmp_path)  # the companion runs on the arrays (smoke numbers mean nothing)


@pytest.mark.parametrize("name", NEW)
def test_every_companion_row_passes_on_the_quick_figures(draw_quick_figures, name):
    """Each new figure's claim, asserted from its own quick arrays: every row passes and names its source."""
    rows = check_figure(PAPER, name, draw_quick_figures(PAPER)[0])
    assert rows
    for row in rows:
        assert row.source in SOURCES and row.passed, (row.claim, row.theory, row.measured, row.tolerance, row.detail)


def test_quick_check_rows_pass(draw_quick_figures, tmp_path_factory):
    """The check groups of validation.checks.vonoswald2023_props at the quick profile, on the figures' runs."""
    draw_quick_figures(PAPER)
    store = STORE if STORE.is_dir() else tmp_path_factory.mktemp("props-store")
    with limit_threads(1), use_store(store):
        rows = check_noisy_label_closed_form("quick") + check_prop2_sine_kernel_smoother("quick") + \
            check_prop3_interleaved_copy("quick")
    for row in rows:
        assert row.source in SOURCES and row.passed, (row.claim, row.measured, row.tolerance, row.detail)


@pytest.mark.slow
def test_paper_profile_props_hold():
    """Paper profile (validation.runs.vonoswald2023.SINE_PROFILES: Fig 4 at batch 1024, Fig 5 at 40000 steps): Props 2
    and 3 trained rows pass.  About 2 x 15 + 45 minutes of training on one core."""
    rows = check_prop2_sine_kernel_smoother("paper") + check_prop3_interleaved_copy("paper")
    for row in rows:
        assert row.passed, (row.claim, row.measured, row.tolerance, row.detail)
