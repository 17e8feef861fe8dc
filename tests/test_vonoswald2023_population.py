"""The population loss of one LSA layer over its weights (theory.lsa.weights, numerics.lsa.weights).

Routes: the closed form (moment tensors F, G) against a brute-force expectation of the expanded
polynomial (y_hat - y_q)^2 / 2 (a finite sum over the 2^(d (N+1)) sign patterns for Rademacher
inputs; Gaussian moments monomial by monomial otherwise); the numeric layer against the theory
layer; the stationarity and global-minimiser facts exactly. Source of every fact: derived (the
module docstring of theory.lsa.weights).
"""
from itertools import product

import numpy as np
import pytest
import sympy as sp

import numerics.lsa as nl
import theory.lsa as tl
from theory.lsa import CovarianceGaussian, preconditioned_weights

D, N = 2, 2


def _gauss_moment(power: int, var) -> sp.Expr:
    return 0 if power % 2 else sp.factorial2(power - 1) * var ** (power // 2)


def _brute_force(W_KQ, W_PV, d, n, inputs, noise_var, task_var, extra=None):
    """E over x, w, eps of 1/2 (y_hat - y_q)^2 (or of ``extra(y_hat parts)``) by expanding the polynomial.

    ``inputs`` is "rademacher" (finite sum over the sign patterns) or "gaussian" (N(0, 1) moments).
    """
    X = [[sp.Symbol(f"x{i}_{k}") for k in range(d)] for i in range(n + 1)]  # row n is the query
    w = [sp.Symbol(f"w{k}") for k in range(d)]
    eps = [sp.Symbol(f"e{i}") for i in range(n + 1)]
    ys = [sum(wk * xk for wk, xk in zip(w, X[i])) + eps[i] for i in range(n + 1)]
    p = -W_PV[d, :].T
    Q = W_KQ[:, :d]
    xq = sp.Matrix(X[n])
    tokens = [sp.Matrix(list(X[i]) + [ys[i]]) for i in range(n)]
    y_hat = sum(((p.T * e)[0] * (e.T * Q * xq)[0] for e in tokens), sp.Integer(0))
    target = sp.expand((y_hat - ys[n]) ** 2 / 2) if extra is None else sp.expand(extra(p, Q, X, ys, n))
    xs = [s for row in X for s in row]
    poly = sp.Poly(target, *xs, *w, *eps)
    nx, nw = len(xs), len(w)

    def x_moment(k):  # E x^k for one coordinate
        if inputs == "rademacher":  # uniform signs: the finite average over +-1 (see the test below)
            return 1 if k % 2 == 0 else 0
        return _gauss_moment(k, 1)

    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        term = coeff
        for k in monom[:nx]:
            term *= x_moment(k)
        for k in monom[nx:nx + nw]:
            term *= _gauss_moment(k, task_var)
        for k in monom[nx + nw:]:
            term *= _gauss_moment(k, noise_var)
        total += term
    return total


def _random_weights(seed, d=D):
    rng = np.random.default_rng(seed)
    W_KQ = sp.Matrix(rng.integers(-3, 4, (d + 1, d + 1))) / 2
    W_PV = sp.Matrix(rng.integers(-3, 4, (d + 1, d + 1))) / 3
    return W_KQ, W_PV


def test_rademacher_sign_average_is_the_finite_sum_over_sign_patterns():
    # the coordinate-wise rule of _brute_force (E over signs of a monomial = 1 iff every power is
    # even) against the explicit average over all 2^6 sign patterns, on one polynomial
    xs = sp.symbols("a0:6")
    f = (xs[0] * xs[1] + 2 * xs[2] ** 2 * xs[3] + xs[4] ** 2 * xs[5] ** 2 - 3) ** 2
    explicit = sum(f.subs(dict(zip(xs, signs))) for signs in product((-1, 1), repeat=6)) / 64
    poly = sp.Poly(sp.expand(f), *xs)
    shortcut = sum(c for m, c in poly.terms() if all(k % 2 == 0 for k in m))
    assert explicit == shortcut


@pytest.mark.parametrize("inputs, law", [("rademacher", "rademacher(1)"), ("gaussian", "gaussian(1)")])
def test_population_loss_equals_brute_force_expectation(inputs, law):
    W_KQ, W_PV = _random_weights(1)
    noise_var, task_var = sp.Rational(1, 3), 2
    exact = tl.population_loss(W_KQ, W_PV, D, N, law, noise_var=noise_var, task_var=task_var)
    assert exact == _brute_force(W_KQ, W_PV, D, N, inputs, noise_var, task_var)


def test_population_gradient_equals_brute_force_directional_derivative():
    # the loss is a quartic in the weights: d/dt L(W + t V) at t = 0 from the brute-force
    # expectation with a symbolic t, against <gradient, V>, exactly
    t = sp.Symbol("t")
    W_KQ, W_PV = _random_weights(2)
    V_KQ, V_PV = _random_weights(3)
    moved = _brute_force(W_KQ + t * V_KQ, W_PV + t * V_PV, D, N, "rademacher", sp.Rational(1, 4), 1)
    g_KQ, g_PV = tl.population_gradient(W_KQ, W_PV, D, N, "rademacher(1)", noise_var=sp.Rational(1, 4))
    directional = sum(g_KQ.multiply_elementwise(V_KQ)) + sum(g_PV.multiply_elementwise(V_PV))
    assert sp.expand(sp.diff(moved, t).subs(t, 0)) == directional


def test_leftover_is_half_the_second_moment_of_the_even_part():
    # L = L_GD(Gamma) + 1/2 E[even^2], even = sum_i (p_x.x_i)(x_i^T Q_x x_q) + c y_i^2 (q_y.x_q)
    W_KQ, W_PV = _random_weights(4)
    d = D

    def even_sq(p, Q, X, ys, n):
        p_x, c = p[:d, :], p[d]
        Q_x, q_y = Q[:d, :], Q[d, :].T
        xq = sp.Matrix(X[n])
        even = sum(((p_x.T * sp.Matrix(X[i]))[0] * (sp.Matrix(X[i]).T * Q_x * xq)[0] + c * ys[i] ** 2 * (q_y.T * xq)[0]
                    for i in range(n)), sp.Integer(0))
        return even**2 / 2

    parts = tl.population_loss_parts(W_KQ, W_PV, d, N, "rademacher(1)", noise_var=sp.Rational(1, 2))
    assert parts["leftover"] == _brute_force(W_KQ, W_PV, d, N, "rademacher", sp.Rational(1, 2), 1, extra=even_sq)
    assert parts["leftover"] > 0 and parts["loss"] == parts["gd"] + parts["leftover"]


@pytest.mark.parametrize("law", ["gaussian(1)", "uniform(1/2)", "rademacher(1)", "sphere(1)", "sparse_axis(1)"])
@pytest.mark.parametrize("d, n, noise_var", [(2, 2, 0), (2, 5, sp.Rational(1, 4)), (3, 3, 0)])
def test_prop1_weights_at_eta_star_are_stationary_with_the_optimal_one_step_loss(law, d, n, noise_var):
    eta = tl.optimal_step_size(d, n, law, noise_var=noise_var)
    W_KQ, W_PV = preconditioned_weights(eta * sp.eye(d) / n)
    g_KQ, g_PV = tl.population_gradient(W_KQ, W_PV, d, n, law, noise_var=noise_var)
    assert g_KQ.is_zero_matrix and g_PV.is_zero_matrix
    loss = tl.population_loss(W_KQ, W_PV, d, n, law, noise_var=noise_var)
    assert sp.simplify(loss - tl.optimal_one_step_loss(d, n, law, noise_var=noise_var)) == 0


def _gd_loss_hessian_and_gradient(d, n, law, at, noise_var=0):
    """The preconditioned-GD loss L_GD(Gamma) (Gamma a symbolic d x d matrix): its gradient at ``at``
    and its (constant) Hessian over the d^2 entries."""
    G = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"g{i}{j}"))
    loss = tl.population_loss(*preconditioned_weights(G), d, n, law, noise_var=noise_var)
    entries = list(G)
    grad = sp.Matrix([sp.diff(loss, g) for g in entries]).subs(dict(zip(entries, at)))
    return grad, sp.hessian(loss, entries)


@pytest.mark.parametrize("law", ["gaussian(1)", "uniform(1/2)", "rademacher(1)", "sparse_axis(1)", "full_one(1)"])
def test_prop1_weights_are_a_global_minimiser(law):
    # L(W) = L_GD(Gamma(W)) + leftover >= L_GD(Gamma(W)) >= min L_GD: L_GD is a convex quadratic in
    # Gamma (Hessian PSD) whose gradient vanishes at Gamma = (eta*/N) I, so the minimum over all
    # weights is the optimal one-step loss
    d, n = 2, 3
    eta = tl.optimal_step_size(d, n, law)
    grad, hess = _gd_loss_hessian_and_gradient(d, n, law, eta * sp.eye(d) / n)
    assert grad.is_zero_matrix
    assert all(ev >= 0 for ev in hess.eigenvals())


def test_zfb_preconditioner_is_the_minimiser_for_correlated_gaussian_inputs():
    Lam = sp.Matrix([[2, sp.Rational(1, 2)], [sp.Rational(1, 2), 1]])
    d, n = 2, 3
    law = CovarianceGaussian(Lam)
    Gamma = tl.zfb_preconditioner(Lam, n) / n
    g_KQ, g_PV = tl.population_gradient(*preconditioned_weights(Gamma), d, n, law)
    assert g_KQ.is_zero_matrix and g_PV.is_zero_matrix
    grad, hess = _gd_loss_hessian_and_gradient(d, n, law, Gamma)
    assert grad.is_zero_matrix and all(ev >= 0 for ev in hess.eigenvals())
    # and the plain GD step at its best step size is worse there
    eta = sp.Symbol("eta")
    plain = tl.population_loss(*preconditioned_weights(eta * sp.eye(d) / n), d, n, law)
    best_plain = min(plain.subs(eta, r) for r in sp.solve(sp.diff(plain, eta), eta))
    assert best_plain > tl.population_loss(*preconditioned_weights(Gamma), d, n, law)


LAWS = ["gaussian(1)", "uniform(1/2)", "rademacher(1)", "sparse_axis(1)", "sphere(1)", "full_one(1)",
        CovarianceGaussian(sp.Matrix([[2, sp.Rational(1, 2)], [sp.Rational(1, 2), 1]]))]


@pytest.mark.parametrize("law", LAWS, ids=str)
def test_numeric_loss_and_gradient_equal_the_theory_layer(law):
    W_KQ, W_PV = _random_weights(5)
    kwargs = dict(noise_var=sp.Rational(1, 5), task_var=sp.Rational(3, 2))
    exact = tl.population_loss(W_KQ, W_PV, D, 3, law, **kwargs)
    g_KQ, g_PV = tl.population_gradient(W_KQ, W_PV, D, 3, law, **kwargs)
    loss, n_KQ, n_PV = nl.population_grad(np.array(W_KQ, dtype=float), np.array(W_PV, dtype=float), D, 3, law,
                                          noise_var=0.2, task_var=1.5)
    # float64 rounding over ~(d+1)^4 = 81 terms of size <= |loss|: 1e-12 relative is ~50x eps * terms
    scale = max(1.0, abs(float(exact)))
    assert loss == pytest.approx(float(exact), rel=1e-12)
    assert np.abs(n_KQ - np.array(g_KQ, dtype=float)).max() <= 1e-12 * scale
    assert np.abs(n_PV - np.array(g_PV, dtype=float)).max() <= 1e-12 * scale


def test_numeric_prop1_weights_at_eta_star_d10_n10():
    d = n = 10
    law = "uniform(1/2)"
    eta = float(tl.optimal_step_size(d, n, law))  # 200/33
    W_KQ, W_PV = np.zeros((d + 1, d + 1)), np.zeros((d + 1, d + 1))
    W_KQ[:d, :d], W_PV[d, d] = np.eye(d), -eta / n
    loss, g_KQ, g_PV = nl.population_grad(W_KQ, W_PV, d, n, law)
    assert loss == pytest.approx(float(tl.optimal_one_step_loss(d, n, law)), rel=1e-13)
    # stationary up to rounding: entries of F are O(N^2 m2^2 ...) <= 1e2 here, eps 2.2e-16
    assert max(np.abs(g_KQ).max(), np.abs(g_PV).max()) < 1e-12


@pytest.mark.parametrize("kwargs, message", [
    (dict(W_KQ=np.zeros((3, 3))), "W_KQ"),
    (dict(W_PV=np.zeros((4, 3))), "W_PV"),
    (dict(W_KQ=np.full((4, 4), np.nan)), "W_KQ"),
    (dict(d=0), "d"),
    (dict(N=0), "N"),
    (dict(noise_var=-1), "noise_var"),
    (dict(task_var=0), "task_var"),
    (dict(law="cauchy(1)"), "law"),
])
def test_numeric_population_loss_refuses_bad_input(kwargs, message):
    args = dict(W_KQ=np.zeros((4, 4)), W_PV=np.zeros((4, 4)), d=3, N=2, law="gaussian(1)")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        nl.population_loss(**args)


def test_theory_population_loss_refuses_bad_input():
    with pytest.raises(ValueError, match="W_KQ"):
        tl.population_loss(sp.zeros(2, 2), sp.zeros(3, 3), 2, 2, "gaussian(1)")
    with pytest.raises(ValueError, match="Lambda"):
        CovarianceGaussian(sp.Matrix([[1, 2], [0, 1]]))
    with pytest.raises(ValueError, match="d = 3"):
        tl.population_loss(sp.zeros(4, 4), sp.zeros(4, 4), 3, 2, CovarianceGaussian(sp.eye(2)))


def test_factor_gradients_are_the_chain_rule_of_the_merged_gradient():
    # central differences of L(W_K^T W_Q, W_O W_V) along a random direction of the factors; the
    # loss is a polynomial of degree 8 in the factors, so the O(h^2) truncation at h = 1e-5 is
    # ~1e-10 relative, and rounding ~eps/h ~ 2e-11: 1e-7 relative leaves a wide margin
    rng = np.random.default_rng(6)
    d, n, law = 3, 4, "uniform(1/2)"
    factors = [rng.standard_normal(s) for s in [(4, 4), (4, 4), (4, 4), (4, 4)]]
    direction = [rng.standard_normal(f.shape) for f in factors]

    def loss(fs):
        W_Q, W_K, W_V, W_O = fs
        return nl.population_loss(W_K.T @ W_Q, W_O @ W_V, d, n, law)

    _, G_KQ, G_PV = nl.population_grad(factors[1].T @ factors[0], factors[3] @ factors[2], d, n, law)
    analytic = sum(np.sum(g * v) for g, v in zip(nl.factor_gradients(factors, G_KQ, G_PV), direction))
    h = 1e-5
    plus = loss([f + h * v for f, v in zip(factors, direction)])
    minus = loss([f - h * v for f, v in zip(factors, direction)])
    assert (plus - minus) / (2 * h) == pytest.approx(analytic, rel=1e-7)


def test_population_descent_reaches_the_optimal_one_step_loss_d10():
    # Adam from a small random start at the authors' d = N = 10, uniform(1/2) inputs: the loss falls
    # from the zero predictor's to within O(lr^2) of L* = 245/1188 (Adam's constant step keeps the
    # weights moving by O(lr); at lr = 1e-3 that is ~1e-6 of the loss)
    rng = np.random.default_rng(7)
    factors = [0.02 * rng.standard_normal((11, 11)) for _ in range(4)]
    path = nl.population_descent(factors, 10, 10, "uniform(1/2)", steps=4000, lr=1e-3, log_every=500)
    L_star = float(tl.optimal_one_step_loss(10, 10, "uniform(1/2)"))
    assert path.losses[0] == pytest.approx(float(tl.zero_predictor_loss(10, "uniform(1/2)")), rel=1e-3)
    assert abs(path.losses[-1] - L_star) < 1e-4 * L_star


def test_population_path_refuses_what_it_does_not_model():
    from validation.lsa import initial_factors, population_path

    config = dict(d=3, N=4, law="uniform(1/2)", layers=2, recurrent=True, heads=1, softmax=False, key_size=4,
                  init_scale=0.001, dampening=1.0, clip_tokens=None, seed=0, steps=10, lr=1e-3, grad_clip=1e-3,
                  log_every=5)
    with pytest.raises(ValueError, match="one linear layer"):
        initial_factors(config)
    with pytest.raises(ValueError, match="undampened"):
        population_path(dict(config, layers=1, dampening=0.75))
    path = population_path(dict(config, layers=1))
    assert list(path.steps) == [0, 5, 10] and path.W_KQ.shape == (4, 4)
