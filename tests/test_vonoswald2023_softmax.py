"""Softmax heads and fixed training sets of von Oswald et al. 2023 (Appendix A.9; Figs 11, 12, 16).

Theory (exact, sympy): the softmax weights' series, two heads = linear attention on mean-centred keys to
first order (and the s^2 term), the two-head GD construction's s -> 0 limit = one GD step on the centred
context.  Numerics: the float64 heads and series agree with the sympy ones and with the torch softmax layer;
the remainder after the first order is O(s^2).  Validation: ``cycle_data`` trains on one fixed set and a
killed fixed-set run resumes bit-equal.  Figures: each at the ``_smoke`` sizes (artifacts, theory lines), and
at the quick profile with every companion row passing (runs from ``results/.runs`` when it exists, else a
temporary store).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

from numerics.lsa import (centred_gd_predict, gd_predict, sample_tasks, softmax_heads_predict, softmax_heads_update,
                          two_head_gd_weights, two_head_remainder, two_head_series)
from paper_figs import vonoswald2023 as figs
from paper_figs.registry import check_figure
from theory import lsa as T
from validation.checks.vonoswald2023_softmax import check_softmax_two_heads, third_order_bound
from validation.lsa import lsa_forward, train_lsa
from validation.store import RunConfig, use_store
from validation.threads import limit_threads

PAPER = "vonoswald2023"
MINE = ("fig11", "fig12", "fig16")
STORE = Path(__file__).resolve().parents[1] / "results" / ".runs"
s = sp.Symbol("s")


def _sym(D, name):
    return sp.Matrix(D, D, lambda a, b: sp.Symbol(f"{name}_{a}_{b}"))


# ----------------------------------------------------------------------------- theory (exact)
def test_softmax_weights_series_to_second_order_is_exact():
    """softmax_i(s l) = (1/N)(1 + s u_i + s^2/2 (u_i^2 - m2)) + O(s^3), u = l - mean l (derived)."""
    l = sp.Matrix(sp.symbols("l1:5"))
    diff = T.softmax_weights(l, s) - T.softmax_weights_series(l, s, 2)
    assert diff.applyfunc(lambda v: sp.expand(sp.series(v, s, 0, 3).removeO())).is_zero_matrix


def test_two_softmax_heads_are_linear_attention_on_centred_keys_to_first_order():
    """A.9: heads (W1, V) + (W2, -V) = (s/N) sum_i ((e_i - e_bar)^T (W1 - W2) e_q) V e_i + O(s^2); symbolic all."""
    E, q = T.softmax_tokens(1, 3)
    assert T.two_head_residual(E, q, _sym(2, "a"), _sym(2, "b"), _sym(2, "v"), s, order=1).is_zero_matrix


def test_two_softmax_heads_second_order_term():
    """The s^2 term is (s^2/2N) sum_i [(u1_i^2 - m2_1) - (u2_i^2 - m2_2)] V e_i (derived)."""
    E, q = T.softmax_tokens(1, 2)
    assert T.two_head_residual(E, q, _sym(2, "a"), _sym(2, "b"), _sym(2, "v"), s, order=2).is_zero_matrix


def test_the_first_order_form_is_not_plain_linear_attention():
    """The centring term s (e_bar^T dW e_q) V e_bar is what separates the two; it is non-zero for generic tokens
    and vanishes for a centred context."""
    E, q = T.softmax_tokens(1, 2)
    W1, W2, V = _sym(2, "a"), _sym(2, "b"), _sym(2, "v")
    plain = s / 2 * (V * E) * (E.T * (W1 - W2) * q)
    gap = (T.two_head_first_order(E, q, W1, W2, V, s) - plain).applyfunc(sp.expand)
    assert not gap.is_zero_matrix
    centred = {sp.Symbol("x_2_1"): -sp.Symbol("x_1_1"), sp.Symbol("y_2"): -sp.Symbol("y_1")}
    assert gap.subs(centred).applyfunc(sp.expand).is_zero_matrix


def test_one_head_keeps_the_query_independent_offset():
    """One head's s^0 term is V e_bar, whatever W and the query."""
    E, q = T.softmax_tokens(1, 2)
    head = T.softmax_head(E, q, _sym(2, "a"), _sym(2, "v"), s)
    assert (head.subs(s, 0) - T.one_head_offset(E, _sym(2, "v"))).applyfunc(sp.expand).is_zero_matrix


def test_two_head_gd_construction_tends_to_one_centred_gd_step():
    """Heads s(+-G/2 + O) with values -+(eta/s) e_y e_y^T -> (eta/N) sum_i (y_i - y_bar)(x_i - x_bar)^T x_q."""
    eta = sp.Symbol("eta")
    assert sp.expand(T.two_head_gd_limit(2, 3, eta) - T.centred_gd_prediction(2, 3, eta)) == 0


def test_centred_one_step_loss_equals_brute_force_enumeration():
    """The closed form of the centred step's loss = the exact expectation over all 2^8 Rademacher inputs
    (d = 2, N = 3; w ~ N(0, I) integrated exactly: E (w^T v)^2 = |v|^2)."""
    import itertools

    eta, d, N = sp.Rational(3, 2), 2, 3
    total = sp.Integer(0)
    for bits in itertools.product((-1, 1), repeat=d * (N + 1)):
        X = sp.Matrix(N + 1, d, bits)
        ctx, xq = X[:N, :], X[N, :].T
        C = ctx - sp.ones(N, 1) * (sp.ones(1, N) * ctx) / N
        v = (eta * C.T * C / N - sp.eye(d)) * xq
        total += (v.T * v)[0, 0]
    brute = total / 2 ** (d * (N + 1)) / 2
    assert sp.simplify(T.centred_one_step_loss(eta, d, N, "rademacher(1)") - brute) == 0


def test_centred_floor_is_above_the_one_step_optimum_and_matches_monte_carlo():
    """310/1419 at eta_c* = 3000/473 (d = N = 10, U(-1/2, 1/2)) > L* = 245/1188; MC within 5 SE."""
    assert T.optimal_centred_one_step_loss(10, 10, "uniform(1/2)") == sp.Rational(310, 1419)
    assert T.optimal_centred_step_size(10, 10, "uniform(1/2)") == sp.Rational(3000, 473)
    assert sp.Rational(310, 1419) > T.optimal_one_step_loss(10, 10, "uniform(1/2)")
    t = sample_tasks(40_000, 10, 10, seed=9)
    l = 0.5 * (centred_gd_predict(t.X, t.y, t.x_q, 3000 / 473) - t.y_q) ** 2
    assert abs(l.mean() - 310 / 1419) < 5 * l.std(ddof=1) / np.sqrt(l.size)
    with pytest.raises(ValueError, match="law"):
        T.centred_one_step_loss(1, 2, 3, "sphere(1)")


def test_softmax_series_rejects_a_bad_order():
    with pytest.raises(ValueError, match="order"):
        T.softmax_weights_series(sp.Matrix([1, 2]), s, 3)


# ----------------------------------------------------------------------------- numerics
def _float_case(n=50, seed=3):
    rng = np.random.default_rng(seed)
    t = sample_tasks(n, 2, 3, rng=rng)
    E = np.concatenate([t.X, t.y[..., None]], axis=-1)
    q = np.concatenate([t.x_q, np.zeros((n, 1))], axis=-1)
    return t, E, q, rng.standard_normal((3, 3, 3))


def test_float_series_equals_the_sympy_series():
    """numerics.lsa.two_head_series (order 2) at float tokens = theory's series evaluated there."""
    t, E, q, (W1, W2, V) = _float_case(n=3)
    Es, qs = T.softmax_tokens(2, 3)
    sv = 0.3
    ser = T.two_head_first_order(Es, qs, W1, W2, V, sv) + T.two_head_second_order(Es, qs, W1, W2, V, sv)
    for k in range(3):
        vals = {Es[a, i]: E[k, i, a] for a in range(3) for i in range(3)}
        vals.update({qs[a, 0]: q[k, a] for a in range(2)})
        exact = np.array(ser.subs(vals).evalf(), dtype=float).ravel()
        np.testing.assert_allclose(two_head_series(E, q, W1, W2, V, sv, 2)[k], exact, rtol=1e-12, atol=1e-14)


def test_float_heads_equal_the_torch_softmax_layer():
    """numerics.lsa.softmax_heads_predict = validation.lsa.lsa_forward(softmax=True) on the same merged weights."""
    t, E, q, (W1, W2, V) = _float_case()
    K, P = np.stack([W1, W2]), np.stack([V, -0.5 * V])
    tokens = torch.as_tensor(np.concatenate([E, q[:, None]], axis=1))
    ref = lsa_forward(tokens, torch.as_tensor(K), torch.as_tensor(P), softmax=True).numpy()
    np.testing.assert_allclose(softmax_heads_predict(t.X, t.y, t.x_q, K, P), ref, rtol=1e-12, atol=1e-14)


def test_remainder_after_first_order_is_second_order_in_s():
    """The remainder is the derived s^2 term up to the s^3 bound, and quarters when s halves (order s^2)."""
    t, E, q, (W1, W2, V) = _float_case()
    norms = []
    for sv in (1e-2, 5e-3):
        r, c2 = two_head_remainder(E, q, W1, W2, V, sv)
        assert np.all(np.abs(r - c2).max(axis=1) <= third_order_bound(E, q, W1, W2, V, sv))
        norms.append(np.abs(r).max())
    assert abs(np.log2(norms[0] / norms[1]) - 2) < 0.05  # 2 + O(s U): s U <= 0.03 here


def test_two_head_gd_weights_predict_centred_gd_as_s_shrinks():
    """|two heads - centred GD| is O(s^2) for the symmetric construction (u1 = -u2 cancels the s^2 term)."""
    t = sample_tasks(200, 10, 10, seed=4)
    errs = [np.abs(softmax_heads_predict(t.X, t.y, t.x_q, *two_head_gd_weights(10, 10, 6.0, sv))
                   - centred_gd_predict(t.X, t.y, t.x_q, 6.0)).max() for sv in (1e-2, 5e-3)]
    assert 3.5 < errs[0] / errs[1] < 4.5  # 4 = order s^2
    assert np.abs(centred_gd_predict(t.X, t.y, t.x_q, 6.0) - gd_predict(t.X, t.y, t.x_q, 6.0)).max() > 1e-3


def test_heads_update_is_invariant_to_a_shift_of_the_logits():
    """softmax is shift-invariant: adding c e_q-independent logits through W's y-column for a zero-y query does not
    change the update (the query's last entry is 0); a guard for the max-subtraction."""
    t, E, q, (W1, W2, V) = _float_case()
    K = np.stack([W1, W2])
    K2 = K.copy()
    K2[:, :, -1] += 5.0
    np.testing.assert_allclose(softmax_heads_update(E, q, K, np.stack([V, V])),
                               softmax_heads_update(E, q, K2, np.stack([V, V])), rtol=1e-12)


def test_check_group_passes_at_quick():
    """Every row of validation.checks.vonoswald2023_softmax.check_softmax_two_heads passes, each with a source."""
    rows = check_softmax_two_heads("quick")
    assert rows and all(r.passed for r in rows), [r.claim for r in rows if not r.passed]
    assert {r.source for r in rows} <= {"derived", "reconstructed", "paper"}


# ----------------------------------------------------------------------------- validation: cycle_data
def test_cycle_data_trains_on_one_fixed_set():
    """cycle_data = 1: every step sees the same batch, so with lr -> 0 the minibatch losses are identical; the
    default stays online (different batches), and the online config dict has no cycle_data key."""
    kw = dict(d=3, N=4, steps=4, batch=16, log_every=1, eval_tasks=32, lr=1e-12, max_threads=1)
    fixed, online = train_lsa(cycle_data=1, **kw), train_lsa(**kw)
    assert np.ptp(fixed.train_losses[1:]) < 1e-9 * fixed.train_losses[1]
    assert np.ptp(online.train_losses[1:]) > 1e-3 * online.train_losses[1]
    assert fixed.config["cycle_data"] == 1 and "cycle_data" not in online.config
    with pytest.raises(ValueError, match="cycle_data"):
        train_lsa(cycle_data=-1, **kw)


def test_a_killed_fixed_set_run_resumes_to_the_uninterrupted_numbers(kill_and_resume):
    """As tests/test_checkpoint.py for online runs: killed after a checkpoint, resumed through the store."""
    from validation.lsa import loop

    config = RunConfig.of(train_lsa, d=3, N=5, steps=40, batch=64, log_every=10, eval_tasks=256, seed=2,
                          cycle_data=2, max_threads=1)
    whole, resumed = kill_and_resume(config, loop, "_train_step", 26)
    for key in ("losses", "train_losses", "W_KQ", "W_PV"):
        np.testing.assert_array_equal(getattr(resumed, key), getattr(whole, key))


# ----------------------------------------------------------------------------- figures
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("softmax-smoke")
    with limit_threads(1), use_store(None):
        for name in MINE:
            figs.FIGURES[name](profile="_smoke", out=str(out), seed=0)
    return out / PAPER


@pytest.mark.parametrize("name", MINE)
def test_smoke_figure_writes_its_artifacts_and_has_a_companion(smoke, name):
    for ext in ("png", "pdf", "npz", "json"):
        assert (smoke / f"{name}.{ext}").is_file()
    assert name in figs.FIGURE_CHECKS
    assert json.loads((smoke / f"{name}.json").read_text())["config"]["profile"] == "_smoke"


def test_smoke_fig12_draws_the_exact_L_star(smoke):
    with np.load(smoke / "fig12.npz") as z:
        assert float(z["theory_L_star"]) == pytest.approx(float(sp.Rational(245, 1188)), rel=1e-15)
        assert float(z["theory_L_zero"]) == pytest.approx(5 / 12, rel=1e-15)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """fig11, fig12, fig16 at the quick profile (runs from results/.runs when it exists, else a temporary store)."""
    out = tmp_path_factory.mktemp("softmax-quick")
    store = STORE if STORE.is_dir() else tmp_path_factory.mktemp("softmax-store")
    with limit_threads(1), use_store(store) as used:
        for name in MINE:
            figs.FIGURES[name](profile="quick", out=str(out), seed=0)
    return out, used.configs()


@pytest.mark.parametrize("name", MINE)
def test_quick_figure_claims_hold(quick, name):
    """Every companion row of the figure (its claim from its own npz and json) passes at the quick profile."""
    rows = check_figure(PAPER, name, quick[0])
    assert rows and all(r.passed for r in rows), [(r.claim, r.measured, r.tolerance) for r in rows if not r.passed]


def test_all_configs_lists_the_softmax_runs(quick):
    from validation.runs.vonoswald2023 import all_configs

    used = quick[1]
    assert used and not set(used) - set(all_configs("quick"))


@pytest.mark.slow
@pytest.mark.parametrize("name", MINE)
def test_paper_profile_figure_claims_hold(tmp_path, paper_store, name):
    """The paper profile (5 seeds; softmax at batch 2048, lr 1e-3, 5000 steps; B up to 8192, 5000 full-batch steps):
    every companion row passes (estimated 17 CPU minutes for the three figures on one thread)."""
    with use_store(paper_store):
        figs.FIGURES[name](profile="paper", out=str(tmp_path), seed=0)
    rows = check_figure(PAPER, name, tmp_path)
    assert rows and all(r.passed for r in rows), [(r.claim, r.measured, r.tolerance) for r in rows if not r.passed]
