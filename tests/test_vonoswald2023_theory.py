"""von Oswald et al. 2023 (theory.lsa): constructions as exact identities, one-step GD losses
against hand-derived closed forms and Monte Carlo, the ZFB preconditioner, OOD curves, errata.

Monte-Carlo tolerances are 5 standard errors, the SE computed in each test from the draws.
Expected values come from formulas derived by hand in the test (or quoted from the paper and
our notes), never from the functions under test.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.laws import sample
from theory.laws import FullOne, Gaussian, Rademacher, SparseAxis, Sphere, Uniform
from theory.lsa import (
    copy_attention_weights,
    copy_construction,
    copy_layer_residual,
    copy_tokens,
    gd_construction,
    gd_step,
    gdpp_construction,
    gdpp_eigenvalue_facts,
    gdpp_eigenvalue_map,
    gdpp_hessian_residual,
    gdpp_residual,
    input_range_erratum,
    k_layer_gd_residual,
    kernel_smoother_residual,
    lsa_gd_residual,
    lsa_layer,
    mlp_lsa_residual,
    one_step_loss,
    ood_input_scale_loss,
    ood_task_scale_loss,
    optimal_one_step_loss,
    optimal_step_size,
    regression_tokens,
    rescaling_residual,
    softmax_attention_layer,
    zero_predictor_loss,
    zfb_preconditioner,
)

R = sp.Rational
Z_SE = 5  # Monte-Carlo tolerance: this many standard errors


def _np(M) -> np.ndarray:
    return np.array(sp.Matrix(M).tolist(), dtype=float)


def _lsa_np(E, w, n_ctx):
    """Reference LSA forward pass in numpy (keys/values from the first n_ctx columns)."""
    Ec = E[:, :n_ctx]
    return E + w["P"] @ (w["W_V"] @ Ec) @ ((w["W_K"] @ Ec).T @ (w["W_Q"] @ E))


def _rational_matrix(rng, rows, cols, den=7):
    return sp.Matrix(rows, cols, lambda *_: R(int(rng.integers(-9, 10)), den))


# ============================================================================= Proposition 1
@settings(max_examples=8, deadline=None)
@given(d_x=st.integers(1, 3), d_y=st.integers(1, 2), N=st.integers(1, 3))
def test_prop1_one_lsa_layer_equals_one_gd_step(d_x, d_y, N):
    """Prop. 1: with W_K = W_Q = diag(I_x, 0), W_V = [[0, 0], [W0, -I]], P = eta/N I, one LSA layer
    maps e_j = (x_j, y_j) to (x_j, y_j - dW x_j) for all tokens, query included (symbolic W0, eta)."""
    res = lsa_gd_residual(d_x, d_y, N)
    assert res.shape == (d_x + d_y, N + 1)
    assert res.is_zero_matrix


def test_prop1_layer_matches_a_per_token_reference_loop_and_fails_with_wrong_weights():
    """The construction on symbolic tokens equals the GD update written token by token
    (y_j + (eta/N) sum_i (W0 x_i - y_i) x_i.x_j); a wrong P (eta/(N+1)) does not."""
    d_x, d_y, N = 2, 2, 3
    eta = sp.Symbol("eta")
    W0 = sp.Matrix(d_y, d_x, lambda r, c: sp.Symbol(f"a{r}{c}"))
    E = regression_tokens(d_x, d_y, N, W0)
    out = lsa_layer(E, **gd_construction(d_x, d_y, N, eta, W0))
    xs = [E[:d_x, i] for i in range(N + 1)]
    ys = [E[d_x:, i] for i in range(N + 1)]
    for j in range(N + 1):
        upd = sum(((W0 * xs[i] - ys[i]) * (xs[i].T * xs[j])[0, 0] for i in range(N)), sp.zeros(d_y, 1))
        want = sp.Matrix.vstack(xs[j], ys[j] + eta / N * upd)
        assert (out[:, j] - want).applyfunc(sp.expand).is_zero_matrix
    assert (ys[N] + W0 * xs[N]).is_zero_matrix  # the query starts at y = -W0 x_q
    wrong = gd_construction(d_x, d_y, N, eta, W0)
    wrong["P"] = eta / (N + 1) * sp.eye(d_x + d_y)
    assert not (lsa_layer(E, **wrong) - out).applyfunc(sp.expand).is_zero_matrix


def test_lsa_layer_sympy_equals_numpy_reference_on_rational_tokens():
    """lsa_layer (sympy) and a numpy forward pass agree on generic rational weights and tokens."""
    rng = np.random.default_rng(0)
    D, T = 3, 5
    E = _rational_matrix(rng, D, T)
    w = {k: _rational_matrix(rng, D, D) for k in ("W_K", "W_Q", "W_V", "P")}
    out = lsa_layer(E, **w)
    ref = _lsa_np(_np(E), {k: _np(v) for k, v in w.items()}, T - 1)
    np.testing.assert_allclose(_np(out), ref, rtol=1e-12, atol=1e-12)


# ============================================================================= K layers
@pytest.mark.parametrize("d_x,d_y,N", [(1, 1, 2), (2, 1, 2), (2, 2, 2)])
@pytest.mark.parametrize("tied", [True, False])
def test_k_stacked_layers_equal_k_gd_steps_symbolic(d_x, d_y, N, tied):
    """Section 3: K = 2 stacked Prop. 1 layers (shared eta, or per-layer eta_k) = 2 GD steps, exactly."""
    res = k_layer_gd_residual(d_x, d_y, N, 2, tied=tied)
    assert res.shape == (d_x + d_y, N + 1) and res.is_zero_matrix


def _gd_loop(X, Y, W0, etas):
    W = W0.copy()
    N = X.shape[1]
    for eta in etas:
        W = W - eta / N * (W @ X - Y) @ X.T
    return W


def test_k_untied_layers_equal_k_gd_steps_numeric_float64():
    """K = 5 untied layers with per-layer eta_k = 5 GD steps, and the recursion
    w_{k+1} = w_k - eta_k S (w_k - w) for noiseless y = W* x (notes, check 3); float64, rel 1e-12."""
    rng = np.random.default_rng(1)
    d_x, d_y, N = 3, 2, 6
    X = rng.uniform(-0.5, 0.5, (d_x, N))
    W_star, W0 = rng.standard_normal((d_y, d_x)), rng.standard_normal((d_y, d_x))
    Y = W_star @ X
    xq = rng.uniform(-0.5, 0.5, (d_x, 1))
    etas = [0.5, 1.0, 2.0, 3.0, 1.5]
    E = np.vstack([np.hstack([X, xq]), np.hstack([Y, -W0 @ xq])])
    for eta in etas:
        E = _lsa_np(E, {k: _np(v) for k, v in gd_construction(d_x, d_y, N, eta, W0.tolist()).items()}, N)
    W_K = _gd_loop(X, Y, W0, etas)
    S = X @ X.T / N
    W_rec = W0.copy()
    for eta in etas:  # row form of w_{k+1} = w_k - eta S (w_k - w)
        W_rec = W_rec - eta * (W_rec - W_star) @ S
    np.testing.assert_allclose(W_rec, W_K, rtol=1e-12, atol=1e-12)
    pred_tf = -E[d_x:, N]
    np.testing.assert_allclose(pred_tf, (W_K @ xq)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(E[d_x:, :N], Y - (W_K - W0) @ X, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(E[:d_x], np.hstack([X, xq]))  # x-parts never change


def test_notes_check2_hundred_tied_layers_equal_hundred_gd_steps():
    """Notes check 2 (the authors' notebook demo): 12-dim inputs, 8-dim outputs, N = 45, lr 1,
    random W0, 100 weight-tied layers vs an explicit 100-step GD loop: relative difference <= 1e-8."""
    rng = np.random.default_rng(2)
    d_x, d_y, N, eta, K = 12, 8, 45, 1.0, 100
    X = sample("uniform(1/2)", N, d_x, rng).T                      # (d_x, N)
    Y = rng.standard_normal((d_y, d_x)) @ X
    W0 = rng.standard_normal((d_y, d_x))
    xq = sample("uniform(1/2)", 1, d_x, rng).T
    w = {k: _np(v) for k, v in gd_construction(d_x, d_y, N, eta, W0.tolist()).items()}
    E = np.vstack([np.hstack([X, xq]), np.hstack([Y, -W0 @ xq])])  # (20, 46)
    for _ in range(K):
        E = _lsa_np(E, w, N)
    y_tf = -E[d_x:, N]
    y_gd = (_gd_loop(X, Y, W0, [eta] * K) @ xq)[:, 0]
    assert np.linalg.norm(y_tf - y_gd) / np.linalg.norm(y_gd) <= 1e-8


# ============================================================================= GD++
@pytest.mark.parametrize("d_x,d_y,N", [(1, 1, 1), (2, 1, 3), (2, 2, 2), (3, 1, 2)])
def test_gdpp_layer_is_curvature_correction_plus_gd_step(d_x, d_y, N):
    """Eq. 23: the GD++ layer gives x_j <- (I - gamma X X^T) x_j (Gram not divided by N, query
    included) and y_j <- y_j - dW x_j (symbolic W0, eta, gamma)."""
    res = gdpp_residual(d_x, d_y, N)
    assert res.shape == (d_x + d_y, N + 1) and res.is_zero_matrix


def test_gdpp_layer_on_rational_tokens_against_explicit_formula():
    """The GD++ weights on concrete rational tokens: x-part (I - gamma X X^T) x, y-part as GD."""
    rng = np.random.default_rng(3)
    d_x, d_y, N = 3, 2, 4
    eta, gamma = R(3, 2), R(1, 5)
    X, Y, W0 = (_rational_matrix(rng, *s) for s in ((d_x, N), (d_y, N), (d_y, d_x)))
    xq = _rational_matrix(rng, d_x, 1)
    E = sp.Matrix.vstack(sp.Matrix.hstack(X, xq), sp.Matrix.hstack(Y, -W0 * xq))
    out = lsa_layer(E, **gdpp_construction(d_x, d_y, N, eta, gamma, W0))
    Xall = E[:d_x, :]
    assert out[:d_x, :] == Xall - gamma * X * X.T * Xall
    dW = -eta / N * (W0 * X - Y) * X.T
    assert out[d_x:, :] == E[d_x:, :] - dW * Xall


def test_gdpp_hessian_maps_each_eigenvalue_by_f():
    """Eq. 24-25: H++ = (I - gamma H) H (I - gamma H) = f(H) exactly, so eig(H++) = f(eig(H))."""
    assert gdpp_hessian_residual(2, 3).is_zero_matrix
    assert gdpp_hessian_residual(3, 2).is_zero_matrix
    rng = np.random.default_rng(4)
    X = rng.uniform(-0.5, 0.5, (4, 10))
    gamma = 0.179  # the paper's fitted gamma for N = 10 (Fig. 13)
    H = X @ X.T
    Xpp = (np.eye(4) - gamma * H) @ X
    lam = np.linalg.eigvalsh(H)
    mapped = np.sort([float(gdpp_eigenvalue_map(sp.Float(v), sp.Float(gamma))) for v in lam])
    np.testing.assert_allclose(np.linalg.eigvalsh(Xpp @ Xpp.T), mapped, rtol=1e-10, atol=1e-13)


def test_gdpp_eigenvalue_map_facts():
    """Section 3: f(lam) = lam - 2 gamma lam^2 + gamma^2 lam^3 has roots 0 and 1/gamma, a local
    maximum at 1/(3 gamma) of value 4/(27 gamma)."""
    g, lam = sp.Symbol("gamma", positive=True), sp.Symbol("lam")
    assert sp.expand(gdpp_eigenvalue_map(lam, g) - lam * (1 - g * lam) ** 2) == 0
    facts = gdpp_eigenvalue_facts(g)
    assert facts["roots"] == [0, 1 / g]
    assert sp.simplify(facts["argmax"] - 1 / (3 * g)) == 0
    assert sp.simplify(facts["max"] - R(4, 27) / g) == 0
    assert sp.simplify(facts["argmin"] - 1 / g) == 0 and facts["min"] == 0
    num = gdpp_eigenvalue_facts(R(1, 10))
    assert num["roots"] == [0, 10] and num["argmax"] == R(10, 3) and num["max"] == R(40, 27)
    # the maximum is the largest value on a grid of [0, 1/gamma] (numeric route)
    grid = [gdpp_eigenvalue_map(R(k, 100), R(1, 10)) for k in range(0, 1001)]
    assert max(grid) <= num["max"] and max(grid) > num["max"] - R(1, 1000)


# ============================================================================= rescaling
@pytest.mark.parametrize("d_x,d_y,N", [(1, 1, 2), (2, 1, 1)])
def test_only_products_matter_and_rescaling_is_invariant(d_x, d_y, N):
    """Section 2: only P W_V and W_K^T W_Q matter; (s P W_V, W_K^T W_Q / s) is the same layer
    (generic symbolic weights and tokens)."""
    res = rescaling_residual(d_x, d_y, N)
    assert res.shape == (d_x + d_y, N + 1) and res.is_zero_matrix


def test_rescaled_construction_gives_identical_outputs():
    """The Prop. 1 construction with P -> s P and W_Q -> W_Q / s (s = 7/3) gives identical tokens."""
    rng = np.random.default_rng(5)
    E = _rational_matrix(rng, 3, 4)
    w = gd_construction(2, 1, 3, R(5, 2), [[R(1, 2), -1]])
    s = R(7, 3)
    scaled = dict(w, P=s * w["P"], W_Q=w["W_Q"] / s)
    assert lsa_layer(E, **w) == lsa_layer(E, **scaled)
    assert lsa_layer(E, **dict(w, P=s * w["P"])) != lsa_layer(E, **w)  # a one-sided change does matter


# ============================================================================= Proposition 2
@pytest.mark.parametrize("d_in,d_feat,N,d_y", [(1, 2, 2, 1), (2, 3, 2, 2), (1, 1, 3, 1)])
def test_prop2_mlp_then_lsa_is_one_gd_step_on_features(d_in, d_feat, N, d_y):
    """Prop. 2: after an MLP e_j -> (m(x_j), y_j), the Prop. 1 layer performs one GD step on
    1/(2N) sum_i |W m(x_i) - y_i|^2 (symbolic feature map m, symbolic W0)."""
    assert mlp_lsa_residual(d_in, d_feat, N, d_y).is_zero_matrix
    assert kernel_smoother_residual(d_in, d_feat, N).is_zero_matrix


def test_prop2_kernel_smoother_with_polynomial_features():
    """Eq. 13 with m(x) = (1, x, x^2): prediction = (eta/N) sum_i y_i (1 + x_i x_q + x_i^2 x_q^2)."""
    xs, ys, xq, eta, N = [R(1, 2), R(-1, 3), 2], [R(3), R(-1, 4), R(5, 7)], R(3, 4), R(6, 5), 3
    feats = lambda x: [1, x, x**2]  # noqa: E731
    E = sp.Matrix([feats(x) + [y] for x, y in zip(xs, ys)] + [feats(xq) + [0]]).T   # (4, N+1)
    pred = -lsa_layer(E, **gd_construction(3, 1, N, eta))[3, N]
    kernel = eta / N * sum(y * (1 + x * xq + x**2 * xq**2) for x, y in zip(xs, ys))
    assert pred == kernel


# ============================================================================= Proposition 3
def _shift(T):
    return sp.Matrix(T, T, lambda i, t: 1 if i == t + 1 else 0)


@pytest.mark.parametrize("d_x,d_y,N", [(1, 1, 1), (2, 1, 2), (3, 2, 3)])
def test_prop3_copy_layer_attends_one_hot_to_the_next_token(d_x, d_y, N):
    """Prop. 3: the copy construction's scores k_i^T q_t are 1 for i = t + 1 and 0 otherwise,
    whatever the token contents."""
    assert copy_attention_weights(d_x, d_y, N) == _shift(2 * N + 1)


@pytest.mark.parametrize("d_x,d_y,N", [(1, 1, 1), (2, 1, 2), (3, 2, 3)])
def test_prop3_copy_layer_merges_inputs_with_next_targets(d_x, d_y, N):
    """Prop. 3: after the copy layer each x-token carries its target, (x_j, y_j, 0); dropping the
    zero slots gives exactly the concatenated tokens (x_j, y_j), query (x_q, 0) of Prop. 1."""
    assert copy_layer_residual(d_x, d_y, N).is_zero_matrix
    T = 2 * N + 1
    w = copy_construction(d_x, d_y, N)
    out = lsa_layer(copy_tokens(d_x, d_y, N), n_context=T, **w)[:, ::2]   # x-tokens and the query
    assert out[: d_x + d_y, :] == regression_tokens(d_x, d_y, N)


def test_prop3_softmax_copy_layer_tends_to_one_hot_as_logit_scale_grows():
    """Prop. 3 under softmax: weight e^beta/(e^beta + T - 1) on the next token, -> 1 as beta -> oo;
    the merged x-tokens converge to the linear construction's (and differ at beta = 0)."""
    beta = sp.Symbol("beta", positive=True)
    d_x, d_y, N = 2, 1, 2
    T = 2 * N + 1
    A = copy_attention_weights(d_x, d_y, N, beta=beta)
    for t in range(T - 1):
        assert sp.simplify(A[t + 1, t] - sp.exp(beta) / (sp.exp(beta) + T - 1)) == 0
        for i in range(T):
            assert sp.limit(A[i, t], beta, sp.oo) == (1 if i == t + 1 else 0)
    res = copy_layer_residual(d_x, d_y, N, beta=beta)[:, :N]       # the N context x-tokens
    assert not res.subs(beta, 0).applyfunc(sp.simplify).is_zero_matrix
    u = sp.Symbol("u", positive=True)                               # u = e^{-beta} -> 0
    limit = res.subs(sp.exp(beta), 1 / u).applyfunc(lambda e: sp.simplify(e).subs(u, 0))
    assert limit.is_zero_matrix


def test_softmax_layer_equals_a_per_token_reference_loop():
    """softmax_attention_layer = e_j + P sum_i v_i exp(beta k_i.q_j) / sum_i exp(beta k_i.q_j)."""
    rng = np.random.default_rng(6)
    D, T, beta = 2, 4, R(3, 2)
    E = _rational_matrix(rng, D, T)
    w = {k: _rational_matrix(rng, D, D) for k in ("W_K", "W_Q", "W_V", "P")}
    out = _np(softmax_attention_layer(E, beta=beta, **w).evalf())
    En, wn = _np(E), {k: _np(v) for k, v in w.items()}
    for j in range(T):
        logits = [float(beta) * (wn["W_K"] @ En[:, i]) @ (wn["W_Q"] @ En[:, j]) for i in range(T - 1)]
        a = np.exp(logits) / np.sum(np.exp(logits))
        want = En[:, j] + wn["P"] @ sum(a[i] * wn["W_V"] @ En[:, i] for i in range(T - 1))
        np.testing.assert_allclose(out[:, j], want, rtol=1e-12)


# ============================================================================= one-step GD: closed forms
def _iid_loss(eta, d, N, s2, kappa, noise=0, tau2=1):
    """Hand derivation (notes 7.1 + 8.3) for i.i.d. coordinates of variance s2 and kurtosis kappa:
    2 L = tau2 s2 d [1 - 2 eta s2 + eta^2 s2^2 (N+d-2+kappa)/N] + noise (eta^2 d s2^2 / N + 1)."""
    return (tau2 * s2 * d * (1 - 2 * eta * s2 + eta**2 * s2**2 * (N + d - 2 + kappa) / N)
            + noise * (eta**2 * d * s2**2 / N + 1)) / 2


def _const_norm_loss(eta, d, N, r2, noise=0, tau2=1):
    """Hand derivation for |x|^2 = r2 and E x x^T = r2/d I (Sphere, SparseAxis):
    tr M = r2, tr M^2 = r2^2/d, E tr S^2 M = r2^3 (N+d-1)/(N d^2)."""
    return (tau2 * (eta**2 * r2**3 * (N + d - 1) / (N * d**2) - 2 * eta * r2**2 / d + r2)
            + noise * (eta**2 * r2**2 / (d * N) + 1)) / 2


def _full_one_loss(eta, d, N, c2, noise=0, tau2=1):
    """Hand derivation for x = c 1: y_hat - w.x_q = (eta d c^2 - 1) w.x, so 2L = tau2 d c2 (eta d c2 - 1)^2
    plus the noise term noise (eta^2 d^2 c2^2 / N + 1)."""
    return (tau2 * d * c2 * (eta * d * c2 - 1) ** 2 + noise * (eta**2 * d**2 * c2**2 / N + 1)) / 2


eta_s, d_s, N_s, c_s, nv_s, tv_s = sp.symbols("eta d N c sigma2 tau2", positive=True)
CLOSED_FORMS = [  # (law, hand-derived loss)
    (Gaussian(c_s), lambda *a, **k: _iid_loss(*a, c_s**2, 3, **k)),
    (Uniform(c_s), lambda *a, **k: _iid_loss(*a, c_s**2 / 3, R(9, 5), **k)),
    (Rademacher(c_s), lambda *a, **k: _iid_loss(*a, c_s**2, 1, **k)),
    (SparseAxis(c_s), lambda *a, **k: _const_norm_loss(*a, c_s**2, **k)),
    (Sphere(c_s), lambda *a, **k: _const_norm_loss(*a, c_s**2, **k)),
    (FullOne(c_s), lambda *a, **k: _full_one_loss(*a, c_s**2, **k)),
]


@pytest.mark.parametrize("law,closed", CLOSED_FORMS, ids=lambda v: getattr(v, "spelling", ""))
def test_one_step_loss_equals_hand_derived_closed_form_for_every_law(law, closed):
    """E 1/2 (y_hat - y_q)^2 for one GD step from 0 equals the hand derivation, with symbolic
    eta, d, N, scale, label-noise variance and task variance."""
    got = one_step_loss(eta_s, d_s, N_s, law, noise_var=nv_s, task_var=tv_s)
    assert sp.simplify(got - closed(eta_s, d_s, N_s, noise=nv_s, tau2=tv_s)) == 0


@pytest.mark.parametrize("law,closed", CLOSED_FORMS, ids=lambda v: getattr(v, "spelling", ""))
def test_optimal_step_size_zeroes_the_derivative_of_the_closed_form(law, closed):
    """eta* solves d/d eta of the hand-derived loss = 0 (symbolic d, N, scale, noise, task variance)."""
    star = optimal_step_size(d_s, N_s, law, noise_var=nv_s, task_var=tv_s)
    deriv = sp.diff(closed(eta_s, d_s, N_s, noise=nv_s, tau2=tv_s), eta_s)
    assert sp.simplify(deriv.subs(eta_s, star)) == 0


def test_optimal_step_size_iid_formula_and_zfb_mahankali_special_cases():
    """eta* = N/(s^2 (N+d-2+kappa)) for i.i.d. coordinates; Gaussian: N/(N+d+1) (ZFB Thm 4.1, equal
    to zfb_preconditioner(I) entrywise); noisy: N/(N+d+1+sigma^2/tau^2) (Mahankali et al., derived)."""
    h = sp.Symbol("h", positive=True)
    assert sp.simplify(optimal_step_size(d_s, N_s, Uniform(h)) - N_s / (h**2 / 3 * (N_s + d_s - R(1, 5)))) == 0
    assert sp.simplify(optimal_step_size(d_s, N_s, Gaussian(1)) - N_s / (N_s + d_s + 1)) == 0
    noisy = optimal_step_size(d_s, N_s, Gaussian(1), noise_var=nv_s, task_var=tv_s)
    assert sp.simplify(noisy - N_s / (N_s + d_s + 1 + nv_s / tv_s)) == 0
    for d, N in [(1, 1), (3, 5), (10, 10)]:
        assert zfb_preconditioner(sp.eye(d), N) == optimal_step_size(d, N, Gaussian(1)) * sp.eye(d)
    Nsym = sp.Symbol("N", positive=True, integer=True)
    assert sp.simplify(zfb_preconditioner(sp.eye(3), Nsym) - Nsym / (Nsym + 4) * sp.eye(3)) == sp.zeros(3)


# notes 7.1 table: (law, d, N, eta* exact, L* exact, eta* quoted, L* quoted); exact values by hand
# from eta* = N/(s^2 (N+d-2+kappa)), L* = 1/2 s^2 d (d-2+kappa)/(N+d-2+kappa), U(-a, a): s^2 = a^2/3.
TABLE = [
    (Uniform(R(1, 2)), 10, 10, R(200, 33), R(245, 1188), "6.0606", "0.20623"),
    (Uniform(1), 10, 10, R(50, 33), R(245, 297), "1.5152", "0.8249"),
    (Gaussian(1), 10, 10, R(10, 21), R(55, 21), "0.47619", "2.6190"),
    (Uniform(R(1, 2)), 10, 20, R(1200, 149), R(245, 1788), "8.0537", "0.13702"),
    (Uniform(R(1, 2)), 10, 40, R(800, 83), R(245, 2988), "9.6386", "0.08199"),
    (Uniform(R(1, 2)), 5, 10, R(300, 37), R(5, 74), "8.1081", "0.06757"),
    (Uniform(R(1, 2)), 20, 20, R(1200, 199), R(165, 398), "6.0302", "0.41457"),
]


@pytest.mark.parametrize("law,d,N,eta_star,loss_star,eta_txt,loss_txt", TABLE)
def test_notes_table_7_1_optimal_step_and_loss(law, d, N, eta_star, loss_star, eta_txt, loss_txt):
    """Notes 7.1: eta* and L* (1/2-loss) for one GD step; exact fractions, and the quoted decimals
    within half a unit of their last digit."""
    assert optimal_step_size(d, N, law) == eta_star
    assert optimal_one_step_loss(d, N, law) == loss_star
    for exact, txt in ((eta_star, eta_txt), (loss_star, loss_txt)):
        half_ulp = 0.5 * 10.0 ** -(len(txt.split(".")[1]))
        assert abs(float(exact) - float(txt)) <= half_ulp


def test_zero_predictor_loss():
    """Fig. 2 starts at the zero predictor: 1/2 s^2 d = 5/12 = 0.4167 for U(-1/2, 1/2), d = 10;
    = one_step_loss at eta = 0; with noise and task variance 1/2 (tau^2 tr M + sigma^2)."""
    assert zero_predictor_loss(10, Uniform(R(1, 2))) == R(5, 12)
    assert abs(float(R(5, 12)) - 0.4167) < 5e-5
    for law in (Gaussian(2), Sphere(3), FullOne(R(1, 2)), SparseAxis(1)):
        assert zero_predictor_loss(4, law, R(1, 3), 2) == one_step_loss(0, 4, 7, law, R(1, 3), 2)
    assert zero_predictor_loss(4, Gaussian(2), R(1, 3), 2) == (2 * 16 + R(1, 3)) / 2


# ============================================================================= one-step GD: Monte Carlo
def _one_step_draws(law, d, N, n, rng, noise_var=0.0, task_var=1.0, w_scale=1.0):
    """Per task: a = (1/N) sum_i y_i x_i.x_q (prediction per unit eta) and b = y_q."""
    x = sample(law, n * (N + 1), d, rng).reshape(n, N + 1, d)      # (n, N+1, d)
    w = w_scale * np.sqrt(task_var) * rng.standard_normal((n, d))    # (n, d)
    y = np.einsum("tid,td->ti", x, w) + np.sqrt(noise_var) * rng.standard_normal((n, N + 1))
    a = np.einsum("ti,tid,td->t", y[:, :N], x[:, :N], x[:, N]) / N
    return a, y[:, N]


MC_CASES = [  # (law, noise_var, task_var)
    (Gaussian(1), R(1, 2), 2), (Uniform(R(1, 2)), R(1, 10), 1), (Rademacher(1), 0, 2),
    (SparseAxis(1), R(1, 4), 1), (Sphere(2), 0, 1), (FullOne(1), R(1, 2), R(3, 2)),
]


@pytest.mark.parametrize("law,noise,task", MC_CASES, ids=lambda v: getattr(v, "spelling", str(v)))
def test_one_step_loss_and_optimal_step_match_monte_carlo_for_every_law(law, noise, task):
    """MC over 2e5 tasks (d = 3, N = 4): the 1/2-loss at eta = 3/4 eta* within 5 SE of one_step_loss,
    and the MC minimiser sum(ab)/sum(a^2) within 5 SE (delta method) of optimal_step_size."""
    d, N, n = 3, 4, 200_000
    rng = np.random.default_rng(7)
    a, b = _one_step_draws(law, d, N, n, rng, float(noise), float(task))
    star = optimal_step_size(d, N, law, noise, task)
    eta = R(3, 4) * star
    theory = float(one_step_loss(eta, d, N, law, noise, task))
    losses = 0.5 * (float(eta) * a - b) ** 2
    se = losses.std(ddof=1) / np.sqrt(n)
    assert abs(losses.mean() - theory) <= Z_SE * se + 1e-12, (losses.mean(), theory, se)
    eta_hat = np.mean(a * b) / np.mean(a * a)
    score = a * b - float(star) * a * a            # E score = 0 at eta*
    se_eta = score.std(ddof=1) / np.sqrt(n) / np.mean(a * a)
    assert abs(eta_hat - float(star)) <= Z_SE * se_eta + 1e-12, (eta_hat, float(star), se_eta)


def test_zero_predictor_matches_monte_carlo():
    """1/2 E y_q^2 = 5/12 for U(-1/2, 1/2), d = 10 (MC over 1e5 tasks, 5 SE)."""
    rng = np.random.default_rng(8)
    _, b = _one_step_draws(Uniform(R(1, 2)), 10, 1, 100_000, rng)
    losses = 0.5 * b**2
    se = losses.std(ddof=1) / np.sqrt(losses.size)
    assert abs(losses.mean() - float(zero_predictor_loss(10, Uniform(R(1, 2))))) <= Z_SE * se


# ============================================================================= ZFB preconditioner
LAMBDAS = [sp.Matrix([[2, 1, 0], [1, R(3, 2), R(-1, 2)], [0, R(-1, 2), 1]]),  # SPD, not diagonal
           sp.diag(1, R(1, 4), 4)]                                           # notes check 18


@pytest.mark.parametrize("LAMBDA", LAMBDAS, ids=["nondiagonal", "diag(1,1/4,4)"])
def test_zfb_preconditioner_minimises_the_population_loss_exactly(LAMBDA):
    """ZFB Thm 4.1: Gamma^{-1} zeroes the gradient of E[ tr(Lambda (G S - I)(G S - I)^T) ] where
    E S = Lambda and E S^2 = (1/N) E[x x^T x x^T] + (1 - 1/N) Lambda^2, E[x x^T x x^T] = 2 Lambda^2
    + tr(Lambda) Lambda (Isserlis)."""
    N = 5
    ES2 = (2 * LAMBDA**2 + LAMBDA.trace() * LAMBDA) / N + (1 - R(1, N)) * LAMBDA**2
    G = zfb_preconditioner(LAMBDA, N)
    grad = 2 * LAMBDA * G * ES2 - 2 * LAMBDA * LAMBDA     # d/dG of tr(L G ES2 G^T) - 2 tr(L G L)
    assert grad.applyfunc(sp.simplify).is_zero_matrix
    assert G == G.T


@pytest.mark.parametrize("LAMBDA", LAMBDAS, ids=["nondiagonal", "diag(1,1/4,4)"])
def test_zfb_preconditioner_matches_least_squares_fit_over_gaussian_tasks(LAMBDA):
    """MC: regress y_q on vec(x_q v^T), v = (1/N) sum_i y_i x_i, over 4e5 tasks with x ~ N(0, Lambda)
    (non-diagonal 3x3, N = 5); every entry of the fitted Gamma^{-1} within 5 heteroscedasticity-robust
    SE of zfb_preconditioner (the SE is about 1 % of |Gamma^{-1}|), while the isotropic N/(N+d+1) I
    is rejected."""
    d, N, n = 3, 5, 400_000
    rng = np.random.default_rng(9)
    L = np.linalg.cholesky(_np(LAMBDA))
    x = rng.standard_normal((n, N + 1, d)) @ L.T                  # (n, N+1, d), rows ~ N(0, Lambda)
    w = rng.standard_normal((n, d))
    y = np.einsum("tid,td->ti", x, w)
    v = np.einsum("ti,tid->td", y[:, :N], x[:, :N]) / N
    F = np.einsum("ta,tb->tab", x[:, N], v).reshape(n, d * d)      # y_hat = sum_ab G_ab xq_a v_b
    XtX = F.T @ F
    coef = np.linalg.solve(XtX, F.T @ y[:, N])
    resid = y[:, N] - F @ coef
    bread = np.linalg.inv(XtX)
    cov = bread @ (F.T * resid**2) @ F @ bread                     # HC0 sandwich
    se = np.sqrt(np.diag(cov))
    theory = _np(zfb_preconditioner(LAMBDA, N)).ravel()
    assert np.all(np.abs(coef - theory) <= Z_SE * se), (coef, theory, se)
    isotropic = (N / (N + d + 1) * np.eye(d)).ravel()
    assert np.max(np.abs(coef - isotropic) / se) > 20


# ============================================================================= OOD and errata
OOD = [(R(1, 2), "0.0812"), (1, "0.2062"), (R(3, 2), "1.204"), (2, "8.401")]


@pytest.mark.parametrize("alpha,quoted", OOD)
def test_ood_input_scale_closed_form(alpha, quoted):
    """Notes 7.3: inputs U(-alpha/2, alpha/2) (alpha = full width), eta = eta*(alpha = 1) = 200/33,
    d = N = 10: the loss equals the i.i.d. closed form (s^2 = alpha^2/12, kappa = 9/5) and the quoted
    0.0812, 0.2062, 1.204, 8.401 to their last digit."""
    exact = _iid_loss(R(200, 33), 10, 10, sp.sympify(alpha) ** 2 / 12, R(9, 5))
    assert ood_input_scale_loss(alpha, 10, 10) == exact
    assert ood_input_scale_loss(alpha, 10, 10, eta=R(200, 33)) == exact
    assert abs(float(exact) - float(quoted)) <= 0.5 * 10.0 ** -(len(quoted.split(".")[1]))


def test_ood_task_scale_is_alpha_squared_times_the_loss():
    """Notes 7.3: scaling the task w -> alpha w scales the loss by alpha^2 (symbolic alpha)."""
    alpha = sp.Symbol("alpha", positive=True)
    assert sp.simplify(ood_task_scale_loss(alpha, 10, 10) - alpha**2 * R(245, 1188)) == 0
    law = Gaussian(1)
    base = one_step_loss(R(1, 3), 4, 6, law)
    assert sp.simplify(ood_task_scale_loss(alpha, 4, 6, eta=R(1, 3), law=law) - alpha**2 * base) == 0


@pytest.mark.parametrize("alpha", [R(1, 2), R(3, 2), 2])
def test_ood_curves_match_monte_carlo(alpha):
    """MC over 3e4 tasks, d = N = 10, eta = 200/33: inputs U(-alpha/2, alpha/2), and (separately)
    U(-1/2, 1/2) inputs with task alpha w; each within 5 SE of the closed forms."""
    rng = np.random.default_rng(10)
    eta, n = 200 / 33, 30_000
    a, b = _one_step_draws(Uniform(sp.sympify(alpha) / 2), 10, 10, n, rng)
    losses = 0.5 * (eta * a - b) ** 2
    se = losses.std(ddof=1) / np.sqrt(n)
    assert abs(losses.mean() - float(ood_input_scale_loss(alpha, 10, 10))) <= Z_SE * se
    a, b = _one_step_draws(Uniform(R(1, 2)), 10, 10, n, rng, w_scale=float(alpha))
    losses = 0.5 * (eta * a - b) ** 2
    se = losses.std(ddof=1) / np.sqrt(n)
    assert abs(losses.mean() - float(ood_task_scale_loss(alpha, 10, 10))) <= Z_SE * se


def test_errata_input_range_paper_vs_code():
    """Notes 0 / issue 2 item 7: one-step GD loss at eta* is 0.2062 for the code's U(-1/2, 1/2) and
    0.8249 for the paper's stated U(-1, 1) (d = N = 10): the paper's "GD loss of 0.2" is the code's."""
    err = input_range_erratum()
    assert err == {"paper_uniform(1)": R(245, 297), "code_uniform(1/2)": R(245, 1188)}
    assert abs(float(err["code_uniform(1/2)"]) - 0.2062) < 5e-5
    assert abs(float(err["paper_uniform(1)"]) - 0.8249) < 5e-5
    assert err["paper_uniform(1)"] / err["code_uniform(1/2)"] == 4
    assert abs(float(err["code_uniform(1/2)"]) - 0.2) < abs(float(err["paper_uniform(1)"]) - 0.2)


# ============================================================================= bad input
@pytest.mark.parametrize("call,name", [
    (lambda: one_step_loss(1, 0, 10, Gaussian(1)), "d"),
    (lambda: one_step_loss(1, 3, -1, Gaussian(1)), "N"),
    (lambda: one_step_loss(1, R(5, 2), 3, Gaussian(1)), "d"),
    (lambda: one_step_loss(1, 3, 3, Gaussian(1), noise_var=-1), "noise_var"),
    (lambda: one_step_loss(1, 3, 3, Gaussian(1), task_var=0), "task_var"),
    (lambda: optimal_step_size(3, 0, Uniform(1)), "N"),
    (lambda: Uniform(-1), "half_width"),
    (lambda: ood_input_scale_loss(0, 10, 10), "alpha"),
    (lambda: ood_task_scale_loss(-2, 10, 10), "alpha"),
    (lambda: zero_predictor_loss(0, Gaussian(1)), "d"),
    (lambda: zfb_preconditioner([[1, 2], [0, 1]], 5), "Lambda"),
    (lambda: zfb_preconditioner([[1, 2], [2, 1]], 5), "Lambda"),
    (lambda: zfb_preconditioner([[1, 0, 0], [0, 1, 0]], 5), "Lambda"),
    (lambda: zfb_preconditioner(sp.eye(2), 0), "N"),
    (lambda: gdpp_eigenvalue_facts(0), "gamma"),
    (lambda: lsa_gd_residual(0, 1, 1), "d_x"),
    (lambda: k_layer_gd_residual(1, 1, 1, 0), "K"),
    (lambda: gd_construction(2, 1, 3, 1, [[1, 2, 3]]), "W0"),
    (lambda: regression_tokens(1, 1, R(3, 2)), "N"),
    (lambda: copy_tokens(1, 2, 2), "d_y"),
    (lambda: lsa_layer(sp.ones(2, 3), sp.eye(2), sp.eye(3), sp.eye(2), sp.eye(2)), "W_Q"),
    (lambda: lsa_layer(sp.ones(2, 3), sp.eye(2), sp.eye(2), sp.eye(2), sp.eye(2), n_context=4), "n_context"),
    (lambda: gd_step([[1, 2]], [[1]], [[0]], 1), "Y"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    """Bad sizes, variances, widths, matrices -> ValueError whose message names the argument."""
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()


def test_law_must_be_a_law_or_its_spelling():
    """A law given as its command-line spelling works; anything else is a TypeError naming law."""
    assert one_step_loss(0, 10, 10, "uniform(1/2)") == R(5, 12)
    with pytest.raises(TypeError, match="law"):
        one_step_loss(0, 10, 10, 3)
