"""Zheng et al. 2024 (numerics.mesa): the AR sampler, the model kernel against a naive loop, exact
phase-grid population losses and gradients against the closed forms of theory.mesa, Monte Carlo,
the scipy flow against the closed-form logistic, and discrete GD on the scalar manifold.

Tolerances: exact routes (phase grid = trigonometric-polynomial averaging, quadrature) are compared
at 1e-12 relative (a few hundred float64 roundings of O(1) terms); Monte-Carlo routes at 5 standard
errors, the SE computed in each test from the draws; ODE routes at the solver tolerance times the
horizon.  Expected values come from theory.mesa (an independent derivation) or the notes.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from numerics.mesa import (balanced_flow_curve, balanced_gd_error_bound, c_star, empirical_loss_and_grad,
                           exact_grid_size, integrate_flow, manifold_gd, phase_grid_loss_and_grad, position_error_curve,
                           predict, red_params, reduced_loss_value, sample_sequences, sequence_losses,
                           x1_quadrature)
from theory import mesa as tm
from theory.laws import FullOne, Gaussian, Rademacher, SparseAxis, Sphere, Uniform, parse_law

Z_SE = 5  # Monte-Carlo tolerance in standard errors
EXACT = 1e-12  # relative tolerance of exact (grid / quadrature) routes


def _rel(x, y):
    return np.max(np.abs(np.asarray(x) - np.asarray(y))) / max(1.0, np.max(np.abs(np.asarray(y))))


def _random_params(rng, d, scale=0.3, complex_=True):
    def draw(shape):
        z = rng.normal(size=shape)
        return scale * (z + 1j * rng.normal(size=shape) if complex_ else z)
    return draw((d, 2 * d)), draw((2 * d, 2 * d))


def _red_grads(a, b, d, T, law):
    """Per-entry red diagonal gradient at A = aI, B = bI from theory: -(db/dtau), -(da/dtau)."""
    f = tm.scalar_flow_rhs(sp.nsimplify(a), sp.nsimplify(b), d, T, law)
    return -float(f[1]), -float(f[0])  # dL/dB_jj, dL/dA_jj


# --- sampler --------------------------------------------------------------------------------------
def test_sampler_follows_the_ar_recursion_with_unitary_diagonal_W():
    """x_{t+1} = W x_t, W = diag(e^{i theta_j}) unitary, x_1 real, for every law."""
    for law in ["gaussian(2)", "sparse_axis(1)", "full_one(1)", "rademacher(1)", "uniform(1)", "sphere(3)"]:
        x, theta = sample_sequences(50, 4, 9, law, 3)
        assert x.shape == (50, 9, 4) and x.dtype == np.complex128 and theta.shape == (50, 4)
        lam = np.exp(1j * theta)  # eigenvalues of W
        assert np.all(np.abs(np.abs(lam) - 1) < 1e-15)
        assert np.all((theta >= 0) & (theta < 2 * np.pi))
        assert np.max(np.abs(x[:, 1:] - lam[:, None, :] * x[:, :-1])) < 1e-12
        assert np.all(x[:, 0].imag == 0)
    x, _ = sample_sequences(5, 3, 4, "full_one(2)", 0)
    assert np.all(x[:, 0].real == 2.0)


def test_sampler_sparse_start_and_phases_have_the_stated_laws():
    """Example 4.1: x_1 uniform on the 2d points +-c e_k (chi-square p > 0.001); theta ~ U[0, 2 pi) (KS)."""
    m, d = 6000, 3
    x, theta = sample_sequences(m, d, 3, SparseAxis(2), 11)
    x1 = x[:, 0].real
    assert np.all(np.sum(x1 != 0, axis=1) == 1) and np.all(np.abs(x1).sum(axis=1) == 2.0)
    cell = np.argmax(np.abs(x1), axis=1) * 2 + (x1.sum(axis=1) < 0)
    counts = np.bincount(cell, minlength=2 * d)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert stats.kstest(theta.ravel(), stats.uniform(0, 2 * np.pi).cdf).pvalue > 1e-3


def test_sampler_same_seed_same_numbers():
    """Every draw comes from the seed / generator argument."""
    x1, t1 = sample_sequences(7, 2, 5, "gaussian(1)", 42)
    x2, t2 = sample_sequences(7, 2, 5, "gaussian(1)", np.random.default_rng(42))
    assert np.array_equal(x1, x2) and np.array_equal(t1, t2)
    assert not np.array_equal(x1, sample_sequences(7, 2, 5, "gaussian(1)", 43)[0])


# --- model kernel ---------------------------------------------------------------------------------
def _naive_predict(P, Q, x):
    """Reference: y_hat_t = P E_t E_t^H Q e_t/(t-1) with an explicit loop over t (code layout)."""
    m, T, d = x.shape
    out = np.zeros((m, T - 2, d), complex)
    for n in range(m):
        E = np.zeros((2 * d, T), complex)
        for t in range(1, T + 1):
            E[:d, t - 1] = x[n, t - 1]
            if t > 1:
                E[d:, t - 1] = x[n, t - 2]
        for t in range(2, T):
            Et = E[:, :t]
            out[n, t - 2] = P @ Et @ Et.conj().T @ Q @ E[:, t - 1] / (t - 1)
    return out


@pytest.mark.parametrize("T", [5, 30])  # T - 1 <= 4d: Gram route; T - 1 > 4d: prefix sums
def test_fast_predictions_equal_the_naive_loop(T):
    """Prefix-sum / Gram predictions = explicit per-position products, for generic complex P, Q."""
    rng = np.random.default_rng(0)
    d = 2
    x, _ = sample_sequences(6, d, T, "gaussian(1)", 1)
    P, Q = _random_params(rng, d)
    assert _rel(predict(P, Q, x), _naive_predict(P, Q, x)) < 1e-13
    ref = 0.5 * (np.abs(_naive_predict(P, Q, x) - x[:, 2:]) ** 2).sum(axis=(1, 2))
    assert _rel(sequence_losses(P, Q, x), ref) < 1e-13


def test_red_scalar_point_is_the_mesa_optimizer_one_gd_step():
    """A = aI, B = bI: y_hat_t = W_hat_t x_t with W_hat_t = (ab/(t-1)) sum_{i<t} x_{i+1} x_i^H, one GD
    step of size eta_t = ab/(t-1) from 0 on 1/2 sum_{i<t} |x_{i+1} - W x_i|^2 (notes 2.6)."""
    x, _ = sample_sequences(4, 3, 12, "gaussian(1)", 5)
    a, b = 0.7, 0.4
    y = predict(*red_params(a, b, 3), x)
    for t in range(2, 12):
        grad0 = -np.einsum("mia,mib->mab", x[:, 1:t], x[:, :t - 1].conj())  # OLS gradient at W = 0
        W_hat = -(a * b / (t - 1)) * grad0
        assert _rel(y[:, t - 2], np.einsum("mab,mb->ma", W_hat, x[:, t - 1])) < 1e-13


# --- exact phase-grid population loss ------------------------------------------------------------
@pytest.mark.parametrize("law,d,T", [
    (Gaussian(1), 2, 6), (Gaussian(sp.Rational(1, 2)), 2, 9), (Uniform(2), 2, 5), (Sphere(1), 2, 6),
    (Rademacher(1), 3, 7), (SparseAxis(2), 3, 6), (FullOne(1), 3, 5), (FullOne(2), 2, 8),
])
def test_phase_grid_loss_equals_reduced_loss(law, d, T):
    """Exact population loss of the full model at A = aI, B = bI = L(c) of theory.mesa (notes 3.2)."""
    a, b = 0.7, 0.45
    loss, _, _ = phase_grid_loss_and_grad(*red_params(a, b, d), d, T, law)
    want = float(tm.reduced_loss(sp.Rational(7, 10) * sp.Rational(9, 20), d, T, law))
    assert abs(loss - want) <= EXACT * want


@pytest.mark.parametrize("law,d,T", [(Gaussian(1), 2, 5), (FullOne(1), 2, 6), (Sphere(2), 2, 4)])
def test_phase_grid_gradients_match_finite_differences(law, d, T):
    """Analytic gradients (torch convention dL/dRe + i dL/dIm) = central differences of the exact loss.
    h = 1e-5: truncation ~ h^2 |L'''| ~ 1e-9, rounding ~ 1e-16 |L| / h ~ 1e-10; tolerance 1e-7."""
    rng = np.random.default_rng(1)
    P, Q = _random_params(rng, d)
    _, G_P, G_Q = phase_grid_loss_and_grad(P, Q, d, T, law)
    h = 1e-5
    for which, M, G in (("P", P, G_P), ("Q", Q, G_Q)):
        for idx in [(0, 0), (1, 2), (d - 1, 2 * d - 1)] + ([(3, 1)] if which == "Q" else []):
            for unit in (1.0, 1j):
                E = np.zeros_like(M)
                E[idx] = h * unit
                args = lambda sign: (P + sign * E, Q) if which == "P" else (P, Q + sign * E)  # noqa: E731
                fd = (phase_grid_loss_and_grad(*args(1), d, T, law)[0]
                      - phase_grid_loss_and_grad(*args(-1), d, T, law)[0]) / (2 * h)
                analytic = G[idx].real if unit == 1.0 else G[idx].imag
                assert abs(fd - analytic) < 1e-7 * max(1.0, np.abs(G).max())


@pytest.mark.parametrize("law,d,T", [(FullOne(1), 2, 5), (FullOne(1), 3, 4), (Gaussian(1), 2, 6), (Rademacher(1), 3, 5)])
def test_phase_grid_is_exact_from_the_stated_size_and_aliases_below(law, d, T):
    """Grid averages are exact from n_grid = 3T-5 (2T-3 under Assumption 4.1): finer grids give the same
    value to rounding; one phase fewer aliases a monomial of degree 3(T-2) (2(T-2)) and changes it."""
    rng = np.random.default_rng(2)
    P, Q = _random_params(rng, d)
    need = exact_grid_size(T, law, d)
    assert need == (3 * T - 5 if law == FullOne(1) else 2 * T - 3)
    base = phase_grid_loss_and_grad(P, Q, d, T, law)
    for n in (need + 1, need + 4):
        finer = phase_grid_loss_and_grad(P, Q, d, T, law, n_grid=n)
        assert abs(finer[0] - base[0]) <= EXACT * base[0]
        assert _rel(finer[1], base[1]) < EXACT and _rel(finer[2], base[2]) < EXACT
    coarse = phase_grid_loss_and_grad(P, Q, d, T, law, n_grid=need - 1, strict=False)
    assert abs(coarse[0] - base[0]) > 1e-6 * base[0]


def test_phase_grid_matches_monte_carlo_at_generic_parameters():
    """At generic real P, Q (all blocks non-zero) the exact loss is the mean of the sequence loss:
    the Monte-Carlo mean over m = 40000 sampled sequences lies within 5 SE."""
    rng = np.random.default_rng(3)
    d, T = 2, 7
    P, Q = _random_params(rng, d, scale=0.4, complex_=False)
    exact, _, _ = phase_grid_loss_and_grad(P, Q, d, T, "gaussian(1)")
    x, _ = sample_sequences(40000, d, T, "gaussian(1)", 4)
    losses = sequence_losses(P, Q, x)
    se = losses.std(ddof=1) / np.sqrt(len(losses))
    assert abs(losses.mean() - exact) < Z_SE * se
    # the same gradient through the weighted path: empirical mean = mean of per-sequence losses
    assert abs(empirical_loss_and_grad(P, Q, x)[0] - losses.mean()) < 1e-12 * exact


# --- scalar-point gradients, Assumption 4.1 and the structural lemma -------------------------------
@pytest.mark.parametrize("law,d,T", [(Gaussian(1), 2, 10), (Rademacher(1), 3, 8), (Sphere(1), 2, 7), (Uniform(1), 2, 6)])
def test_scalar_point_gradients_are_the_closed_forms_under_assumption41(law, d, T):
    """Notes 3.2: dL/dB_jj = a(Acal ab - S k1), dL/dA_jj = b(Acal ab - S k1); every other gradient
    (off-diagonal red entries by Assumption 4.1, non-red blocks by the lemma) vanishes."""
    a, b = 1.0, 0.3
    _, G_P, G_Q = phase_grid_loss_and_grad(*red_params(a, b, d), d, T, law)
    gB, gA = _red_grads(a, b, d, T, law)
    scale = max(abs(gB), abs(gA))
    assert _rel(np.diag(G_P[:, :d]), np.full(d, gB)) < EXACT and _rel(np.diag(G_Q[d:, :d]), np.full(d, gA)) < EXACT
    G_P[:, :d][np.diag_indices(d)] = 0
    G_Q[d:, :d][np.diag_indices(d)] = 0
    assert np.abs(G_P).max() < EXACT * scale and np.abs(G_Q).max() < EXACT * scale


def test_full_one_offdiag_gradients_numeric_equal_closed_form_and_notes():
    """Notes 3.7 / 5: at d = 3, T = 12, (a, b) = (1, 0.3) the full-one off-diagonal gradients are
    a^2 b H = 0.8787 and b[ab(2H + (d-2)H2) - H] = -0.2120 (exact grid: 1e-12)."""
    d, T = 3, 12
    _, G_P, G_Q = phase_grid_loss_and_grad(*red_params(1.0, 0.3, d), d, T, FullOne(1))
    dB, dA = (float(v) for v in tm.full_one_offdiag_gradients(1, sp.Rational(3, 10), d, T))
    off = ~np.eye(d, dtype=bool)
    assert _rel(G_P[:, :d][off], np.full(d * d - d, dB)) < EXACT
    assert _rel(G_Q[d:, :d][off], np.full(d * d - d, dA)) < EXACT
    assert abs(dB - 0.8787) < 5e-5 and abs(dA + 0.2120) < 5e-5
    assert np.abs(G_P[:, d:]).max() < EXACT and np.abs(G_Q[:d]).max() < EXACT and np.abs(G_Q[d:, d:]).max() < EXACT


@pytest.mark.parametrize("law,d,T", [(Rademacher(1), 3, 10), (SparseAxis(1), 3, 12), (FullOne(1), 3, 9),
                                     (Gaussian(1), 2, 16), (Uniform(1), 2, 14), (Sphere(1), 2, 12)])
def test_structural_lemma_numeric_at_generic_red_blocks(law, d, T):
    """Notes 3.1 beyond the symbolic small case: at random non-diagonal red blocks A, B (all other
    blocks 0) the exact non-red gradients vanish for every law (<= 1e-12 of the red gradients)."""
    rng = np.random.default_rng(5)
    A, B = 0.3 * rng.normal(size=(d, d)) + 0.4 * np.eye(d), 0.3 * rng.normal(size=(d, d)) + 0.4 * np.eye(d)
    _, G_P, G_Q = phase_grid_loss_and_grad(*red_params(A, B, d), d, T, law)
    red = max(np.abs(G_P[:, :d]).max(), np.abs(G_Q[d:, :d]).max())
    assert red > 1e-3
    assert np.abs(G_P[:, d:]).max() < EXACT * red
    assert np.abs(G_Q[:d]).max() < EXACT * red and np.abs(G_Q[d:, d:]).max() < EXACT * red


def test_diagonal_flow_is_minus_the_exact_gradient_at_diagonal_points():
    """At diagonal A = diag(a_k), B = diag(b_j), the diagonal flow of theory.mesa is -grad of the exact
    loss, and the off-diagonal gradients vanish (sign-flip symmetry; Assumption 4.1)."""
    d, T, law = 2, 7, Gaussian(1)
    a, b = np.array([0.9, 0.5]), np.array([0.3, 0.8])
    _, G_P, G_Q = phase_grid_loss_and_grad(*red_params(a, b, d), d, T, law)
    rhs = tm.diagonal_flow_rhs([sp.nsimplify(v) for v in a], [sp.nsimplify(v) for v in b], d, T, law)
    rhs = np.array([float(v) for v in rhs])
    assert _rel(-np.diag(G_Q[d:, :d]).real, rhs[:d]) < EXACT and _rel(-np.diag(G_P[:, :d]).real, rhs[d:]) < EXACT
    assert abs(G_P[0, 1]) < EXACT * np.abs(rhs).max() and abs(G_Q[d, 1]) < EXACT * np.abs(rhs).max()


@settings(max_examples=8, deadline=None)
@given(d=st.integers(1, 2), T=st.integers(3, 8), law_i=st.integers(0, 3), p=st.integers(1, 4), q=st.integers(1, 4))
def test_thm41_fixed_point_zeroes_the_exact_full_gradient(d, T, law_i, p, q):
    """Theorem 4.1: at a = b = sqrt(c*) every entry of the exact population gradient of the full model is 0."""
    law = [Gaussian, Uniform, Rademacher, SparseAxis][law_i](sp.Rational(p, q))
    a = np.sqrt(c_star(d, T, law))
    _, G_P, G_Q = phase_grid_loss_and_grad(*red_params(a, a, d), d, T, law)
    loss_scale = float(tm.mesa_moments(law, d)["k1"]) * a * (T - 2)  # size of each term of the gradient
    assert np.abs(G_P).max() < 1e-11 * loss_scale and np.abs(G_Q).max() < 1e-11 * loss_scale


# --- Monte Carlo of the capability results --------------------------------------------------------
@pytest.mark.parametrize("law,d,T,m", [("gaussian(1)", 5, 30, 20000), ("uniform(1)", 4, 20, 20000)])
def test_monte_carlo_loss_at_scalar_point_within_5_se_of_reduced_loss(law, d, T, m):
    """E[sum_t 1/2|y_hat_t - x_{t+1}|^2] at A = B = sqrt(c) I equals L(c): MC mean within 5 SE."""
    c = 0.2
    x, _ = sample_sequences(m, d, T, law, 7)
    losses = sequence_losses(*red_params(np.sqrt(c), np.sqrt(c), d), x)
    se = losses.std(ddof=1) / np.sqrt(m)
    assert abs(losses.mean() - reduced_loss_value(c, d, T, law)) < Z_SE * se


def test_monte_carlo_position_error_and_prediction_ratio():
    """Theorem 4.2 / Prop. 4.1 (notes 3.6): E|y_hat_t - x_{t+1}|^2 = e(t) at every t (notes example
    d = 3, c = 0.2: e(2) = 1.92, e(59) = 1.2124) and E Re(y_hat_tj / x_{t+1,j}) = c m2 at every t.
    Each of the 58 positions within 5 SE (P(any |z| > 5) < 58 * 6e-7)."""
    d, T, m, c = 3, 60, 12000, 0.2
    x, _ = sample_sequences(m, d, T, "gaussian(1)", 8)
    y = predict(*red_params(np.sqrt(c), np.sqrt(c), d), x)
    err = (np.abs(y - x[:, 2:]) ** 2).sum(axis=2)  # (m, T-2)
    theory = position_error_curve(np.arange(2, T), c, d, "gaussian(1)")
    assert abs(theory[0] - 1.92) < 1e-12 and abs(theory[-1] - 1.2124) < 5e-5
    assert np.all(np.abs(err.mean(0) - theory) < Z_SE * err.std(0, ddof=1) / np.sqrt(m))
    ratio = (y / x[:, 2:]).real.mean(axis=2)  # mean over coordinates, (m, T-2)
    want = float(tm.prediction_ratio(sp.Rational(1, 5), d, Gaussian(1)))
    assert np.all(np.abs(ratio.mean(0) - want) < Z_SE * ratio.std(0, ddof=1) / np.sqrt(m))


def test_example41_sparse_start_predicts_every_position_exactly():
    """Example 4.1: with c* = 1/c^2 the mesa-optimizer predicts x_{t+1} exactly for every t >= 2."""
    law = SparseAxis(2)
    d, T = 5, 40
    cs = c_star(d, T, law)
    assert cs == 0.25
    x, _ = sample_sequences(200, d, T, law, 9)
    y = predict(*red_params(np.sqrt(cs), np.sqrt(cs), d), x)
    assert np.max(np.abs(y - x[:, 2:])) < 1e-12


# --- flows -----------------------------------------------------------------------------------------
def test_integrate_flow_balanced_start_is_the_logistic_closed_form():
    """Theorem 4.1, balanced start a0 = b0: solve_ivp of the (a, b) system = c*/(1 + (c*/c0 - 1)e^{-2 S k1 tau})."""
    taus = np.linspace(0, 0.03, 61)  # 0.03 = 300 epochs at lr 1e-4: the paper's time scale (rate 588)
    a, b = integrate_flow(0.1, 0.1, 5, 100, "gaussian(1)", taus)
    closed = balanced_flow_curve(taus, 0.01, 5, 100, "gaussian(1)")
    assert np.max(np.abs(a * b - closed)) < 1e-8 * closed.max()  # rtol 1e-10 over ~18 e-folds
    assert np.max(np.abs(a - b)) < 1e-12
    exact = float(tm.balanced_flow(sp.Rational(1, 100), sp.Rational(1, 100), 5, 100, Gaussian(1)))
    assert abs(balanced_flow_curve([0.01], 0.01, 5, 100, "gaussian(1)")[0] - exact) < 1e-14


@pytest.mark.parametrize("a0,b0", [(0.1, 0.1), (0.5, 1.5), (2.0, 2.0), (-0.5, -1.5), (1.5, 0.2)])
def test_integrate_flow_conserves_imbalance_and_converges_to_c_star(a0, b0):
    """Theorem 4.1: a^2 - b^2 = a0^2 - b0^2 along the flow; ab -> c*; a~ = sqrt((D + sqrt(D^2 + 4c*^2))/2)."""
    law, d, T = Uniform(1), 5, 100
    cs = c_star(d, T, law)
    taus = np.linspace(0.0, 2.0, 41)
    a, b = integrate_flow(a0, b0, d, T, law, taus)
    D = a0**2 - b0**2
    assert np.max(np.abs(a**2 - b**2 - D)) < 1e-8
    assert abs(a[-1] * b[-1] - cs) < 1e-8 * cs
    assert abs(abs(a[-1]) - np.sqrt((D + np.sqrt(D**2 + 4 * cs**2)) / 2)) < 1e-8


def test_integrate_flow_antibalanced_start_goes_to_the_saddle_and_masked_full_one_to_masked_c_star():
    """a0 = -b0 (Delta = 0, c0 < 0) flows to the saddle c = 0; the masked full-one flow to 0.82583."""
    a, b = integrate_flow(0.3, -0.3, 5, 30, "gaussian(1)", [0.0, 1.0])
    assert abs(a[-1] * b[-1]) < 1e-12 and abs(a[-1] + b[-1]) < 1e-12
    a, b = integrate_flow(0.1, 0.1, 5, 100, "full_one(1)", [0.0, 5.0], masked=True)
    assert abs(a[-1] * b[-1] - float(tm.masked_fixed_point(5, 100))) < 1e-9


def test_integrate_flow_diagonal_start_conserves_frobenius_imbalance():
    """Diagonal start: sum a_k^2 - sum b_j^2 is conserved (rescaling symmetry of the model)."""
    a, b = integrate_flow(np.array([0.2, 0.9, 0.4]), np.array([1.1, 0.3, 0.5]), 3, 12, "gaussian(1)",
                          np.linspace(0, 1.0, 11))
    imbalance = (a**2).sum(axis=1) - (b**2).sum(axis=1)
    assert np.max(np.abs(imbalance - imbalance[0])) < 1e-8
    assert np.all(np.isfinite(a)) and a.shape == (11, 3)


def test_manifold_gd_is_first_order_euler_of_the_flow_and_matches_the_notes_epoch():
    """Discrete GD a <- a - lr b(Acal ab - S k1) is Euler's method for the flow with tau = lr*epoch:
    its error is O(lr) (halving lr halves it, ratio within [1.8, 2.2]); the notes' run (Gaussian,
    lr = 1e-4, init 0.1) reaches 90 % of c* at epoch 87 +- 5 (logistic: ln(9(c*/c0 - 1))/(2 S k1 lr))."""
    law, d, T = "gaussian(1)", 5, 100
    errs = []
    for lr, epochs in [(1e-4, 300), (5e-5, 600)]:
        a, b = manifold_gd(0.1, 0.1, d, T, law, lr, epochs)
        errs.append(np.max(np.abs(a * b - balanced_flow_curve(lr * np.arange(epochs + 1), 0.01, d, T, law))))
    assert 1.8 < errs[0] / errs[1] < 2.2
    a, b = manifold_gd(0.1, 0.1, d, T, law, 1e-4, 150)
    epoch90 = int(np.argmax(a * b >= 0.9 * c_star(d, T, law)))
    assert abs(epoch90 - 87) <= 5


@pytest.mark.parametrize("law,d,T,c0", [("gaussian(1)", 5, 100, 0.01), ("gaussian(1)", 2, 6, 0.01),
                                        ("uniform(1)", 3, 20, 0.05)])
def test_balanced_gd_error_bound_holds_and_is_first_order(law, d, T, c0):
    """The proven bound on |GD - balanced flow| holds at every epoch for step sizes eta = 0.8 / f, and is
    first order: f x (largest bound) converges as lr -> 0 (f = 64 and 256 within 5 %), where it is within
    a factor 10 of the actual largest error (not vacuous)."""
    cs = c_star(d, T, law)
    k = tm.loss_coefficients(d, T, parse_law(law))
    lr0 = 0.8 / float(2 * k["S"] * k["k1"])  # eta = 2 S k1 lr = 0.8
    tops = []
    for f in (1, 2, 64, 256):
        lr, epochs = lr0 / f, 40 * f
        a, b = manifold_gd(np.sqrt(c0), np.sqrt(c0), d, T, law, lr, epochs)
        err = np.abs(a * b - balanced_flow_curve(lr * np.arange(epochs + 1), c0, d, T, law))
        bound = balanced_gd_error_bound(epochs, c0, lr, d, T, law)
        assert np.all(err <= bound + 1e-12 * cs), (f, np.max(err - bound))
        tops.append(f * bound.max())
        if f >= 64:
            assert err.max() > bound.max() / 10
    assert abs(tops[3] / tops[2] - 1) < 0.05


def test_lambdified_helpers_match_exact_theory():
    """c_star, reduced_loss_value and position_error_curve = float of the exact theory values."""
    law = Gaussian(2)
    assert c_star(5, 100, law) == float(tm.fixed_point(5, 100, law))
    cs = np.array([0.0, 0.05, 0.1])
    want = [float(tm.reduced_loss(sp.nsimplify(v), 5, 100, law)) for v in cs]
    assert _rel(reduced_loss_value(cs, 5, 100, law), want) < 1e-14
    want = [float(tm.position_error(t, sp.Rational(1, 20), 5, law)) for t in (2, 9, 99)]
    assert _rel(position_error_curve([2, 9, 99], 0.05, 5, law), want) < 1e-14
    assert np.all(balanced_flow_curve([0.0, 1.0], 0.0, 5, 100, law) == 0)
    nodes, w = x1_quadrature("uniform(2)", 2)
    assert abs(w @ nodes[:, 0] ** 6 - 2**6 / 7) < 1e-12 and abs(w @ (nodes[:, 0] ** 2 * nodes[:, 1] ** 4) - 4 / 3 * 16 / 5) < 1e-12


# --- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: sample_sequences(0, 2, 5, "gaussian(1)", 0), "m must be an integer >= 1"),
    (lambda: sample_sequences(3, 0, 5, "gaussian(1)", 0), "d must be an integer >= 1"),
    (lambda: sample_sequences(3, 2, 2, "gaussian(1)", 0), "T must be an integer >= 3"),
    (lambda: phase_grid_loss_and_grad(*red_params(1, 1, 2), 2, 2, "gaussian(1)"), "T must be an integer >= 3"),
    (lambda: phase_grid_loss_and_grad(*red_params(1, 1, 2), 2, 6, "full_one(1)", n_grid=12), "n_grid must be >= 13"),
    (lambda: phase_grid_loss_and_grad(np.zeros((2, 3)), np.zeros((4, 4)), 2, 6, "gaussian(1)"), "P must have shape"),
    (lambda: red_params(np.ones(3), 1.0, 2), "a must be a scalar"),
    (lambda: x1_quadrature("sphere(1)", 2), "law must be one of"),
    (lambda: integrate_flow(0.1, 0.1, 5, 100, "full_one(1)", [0, 1]), "law must satisfy Assumption 4.1"),
    (lambda: integrate_flow(0.1, 0.1, 5, 100, "gaussian(1)", [1, 0]), "taus must be"),
    (lambda: integrate_flow(0.1, np.ones(5), 5, 100, "gaussian(1)", [0, 1]), "a0 and b0 must"),
    (lambda: manifold_gd(2.0, 2.0, 5, 100, "gaussian(1)", 1e-2, 50), "lr = 0.01 makes gradient descent diverge"),
    (lambda: manifold_gd(0.1, 0.1, 5, 100, "gaussian(1)", -1e-3, 5), "lr must be a finite number > 0"),
    (lambda: balanced_flow_curve([0.0], -0.1, 5, 100, "gaussian(1)"), "c0 must be >= 0"),
    (lambda: balanced_gd_error_bound(10, 0.0, 1e-4, 5, 100, "gaussian(1)"), "c0 must be in"),
    (lambda: balanced_gd_error_bound(10, 0.01, 1.0, 5, 100, "gaussian(1)"), "lr too large for the bound"),
    (lambda: position_error_curve([1, 2], 0.2, 5, "gaussian(1)"), "ts must be >= 2"),
    (lambda: c_star(5, 100, parse_law("full_one(1)")), "law must satisfy Assumption 4.1"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    """Item 7: bad sizes, shapes, grids, step sizes and laws -> ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        call()


# --- paper scale (slow) ----------------------------------------------------------------------------
@pytest.mark.slow
def test_paper_scale_gaussian_gradients_ratio_and_optimum():
    """Notes check 6: Gaussian d = 3, T = 12, (a, b) = (1, 0.3): exact dL/dB_jj = 20.27, dL/dA_jj = 6.08.
    Paper setting d = 5, T = 100 at c* (Prop. 4.1): MC (m = 10^4) ratio at the last position within
    5 SE of c* sigma^2 = 0.19191 (not 0.2), and the loss within 5 SE of L* = 103.95."""
    d, T = 3, 12
    _, G_P, G_Q = phase_grid_loss_and_grad(*red_params(1.0, 0.3, d), d, T, "gaussian(1)")
    assert abs(G_P[0, 0].real - 20.27) < 5e-3 and abs(G_Q[d, 0].real - 6.08) < 5e-3
    d, T, m = 5, 100, 10000
    cs = c_star(d, T, "gaussian(1)")
    x, _ = sample_sequences(m, d, T, "gaussian(1)", 12)
    P, Q = red_params(np.sqrt(cs), np.sqrt(cs), d)
    ratio = (predict(P, Q, x)[:, -1] / x[:, -1]).real.mean(axis=1)
    assert abs(ratio.mean() - cs) < Z_SE * ratio.std(ddof=1) / np.sqrt(m)
    losses = sequence_losses(P, Q, x)
    L_star = float(tm.population_optimum(d, T, Gaussian(1)))
    assert abs(L_star - 103.95) < 0.01
    assert abs(losses.mean() - L_star) < Z_SE * losses.std(ddof=1) / np.sqrt(m)
