"""Theorem checks for theory.causal (Nichani, Damian, Lee 2024), exact in sympy.

Each closed form is compared with an independent exact route: a sympy integral of the
definition, an expansion in Beta moments taken from theory.laws.dirichlet_moment, the
chi-square information of the exact joint law, or an exact enumeration.
"""
from __future__ import annotations

import random

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.causal import (
    a1_gradient,
    binary_ancestor_information,
    binary_cross_information,
    binary_data_processing_inequality,
    binary_data_processing_margin,
    binary_edge_information,
    binary_forest_information,
    binary_information_gap,
    binary_joint,
    binary_lambda_moment,
    binary_stationary_distribution,
    binary_transition_matrix,
    chi2_mutual_information,
    exact_stationary_distribution,
    expected_collision_probability,
    expected_first_order_gradient,
    expected_row_entropy,
    expected_transition_trace,
    first_order_gradient_terms,
    indicator_gradient_formula,
    information_gap,
    information_given_pi,
    large_T_gradient,
    reduced_model_output,
    reduced_model_scores,
    tree_distances,
)
from theory.laws import dirichlet_moment

alpha = sp.Symbol("alpha", positive=True)
a, b = sp.symbols("a b", positive=True)
R = sp.Rational


def _beta_function(x, y):
    return sp.gamma(x) * sp.gamma(y) / sp.gamma(x + y)


def _random_stochastic(S: int, seed: int) -> sp.Matrix:
    """A random S x S stochastic matrix with positive rational entries."""
    rnd = random.Random(seed)
    rows = []
    for _ in range(S):
        w = [rnd.randint(1, 9) for _ in range(S)]
        rows.append([R(x, sum(w)) for x in w])
    return sp.Matrix(rows)


# --------------------------------------------------------------------------- chi2 information
def test_chi2_information_is_zero_for_independence_and_S_minus_1_for_identity():
    """I_chi2 = 0 iff X and Y are independent; for X = Y uniform on S values it is S - 1."""
    px, py = sp.Matrix([R(1, 3), R(2, 3)]), sp.Matrix([R(1, 4), R(1, 4), R(1, 2)])
    assert chi2_mutual_information(px * py.T) == 0
    for S in (2, 3, 5):
        assert chi2_mutual_information(sp.eye(S) / S) == S - 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=6, max_size=6).filter(lambda w: sum(w) > 0))
def test_chi2_information_is_nonnegative_and_bounds_kl_information(weights):
    """I_chi2 >= 0 and I_KL <= log(1 + I_chi2) (Jensen), for any joint law on 2 x 3 values."""
    P = sp.Matrix(2, 3, [R(w, sum(weights)) for w in weights])
    chi2 = chi2_mutual_information(P)
    assert chi2 >= 0
    px, py = [sum(P.row(i)) for i in range(2)], [sum(P.col(j)) for j in range(3)]
    kl = sum(P[i, j] * sp.log(P[i, j] / (px[i] * py[j])) for i in range(2) for j in range(3) if P[i, j] != 0)
    assert sp.N(sp.log(1 + chi2) - kl, 30) >= -sp.Float("1e-25")


def test_binary_edge_chi2_information_is_lambda_squared_per_pi():
    """S = 2: I_chi2(s_{i-k}; s_i | pi) = lambda^(2k), lambda = 1 - a - b, for symbolic a, b and k."""
    k = sp.Symbol("k", integer=True, positive=True)
    lam = 1 - a - b
    assert sp.simplify(chi2_mutual_information(binary_joint(1, a, b)) - lam**2) == 0
    symbolic = chi2_mutual_information(binary_joint(k, a, b))
    # (1 - a - b)^(2k) = (a + b - 1)^(2k) for integer k: sympy keeps either sign of the base
    assert sp.simplify(symbolic - lam ** (2 * k)) == 0 or sp.simplify(symbolic - (-lam) ** (2 * k)) == 0
    for kv in range(1, 5):
        assert sp.expand(symbolic.subs(k, kv) - lam ** (2 * kv)) == 0
    # the joint law is diag(mu) pi^k with mu stationary
    pi, mu = binary_transition_matrix(a, b), binary_stationary_distribution(a, b)
    assert sp.simplify(mu * pi - mu) == sp.zeros(1, 2)
    assert sp.simplify(binary_joint(3, a, b) - sp.diag(*mu) * pi**3) == sp.zeros(2, 2)


def test_edge_chi2_information_is_at_most_S_minus_1():
    """For every pi, 0 <= I_chi2(edge) <= S - 1, because mu(s) pi(s'|s)/mu(s') <= 1."""
    for seed in range(4):
        P = _random_stochastic(3, seed)
        mu = exact_stationary_distribution(P)
        value = chi2_mutual_information(sp.diag(*mu) * P)
        assert 0 <= value <= 2


# --------------------------------------------------------------------------- Dirichlet moments
@pytest.mark.parametrize("S, al", [(2, 1), (3, 1), (4, 1), (2, 2), (3, 2)])
def test_expected_row_entropy_equals_integral_of_definition(S, al):
    """E H(p) = -S E[p_1 log p_1] with p_1 ~ Beta(alpha, (S-1) alpha) equals digamma(S a + 1) - digamma(a + 1)."""
    p = sp.Symbol("p", positive=True)
    density = p ** (al - 1) * (1 - p) ** ((S - 1) * al - 1) / _beta_function(al, (S - 1) * al)
    integral = sp.integrate(-S * p * sp.log(p) * density, (p, 0, 1))
    assert sp.simplify(integral - expected_row_entropy(S, al)) == 0


def test_expected_row_entropy_at_paper_defaults():
    """The oracle loss at S = 10, alpha = 0.1 is 0.8465 (notes, Section 6)."""
    value = expected_row_entropy(10, R(1, 10))
    assert value.free_symbols == set()
    assert abs(sp.N(value, 20) - sp.Float("0.8465")) < sp.Float("5e-5")


def test_collision_probability_and_trace_from_dirichlet_moments():
    """E sum p_s^2 = (alpha + 1)/(S alpha + 1) and E tr pi = 1 (so I~_{i,i} = 0), symbolic alpha."""
    for S in (2, 3, 5):
        assert sp.simplify(expected_collision_probability(S, alpha) - (alpha + 1) / (S * alpha + 1)) == 0
        assert expected_transition_trace(S, alpha) == 1
    assert expected_collision_probability(10, R(1, 10)) == R(11, 20)


# --------------------------------------------------------------------------- S = 2 closed forms
@pytest.mark.parametrize("al", [1, 2, 3])
def test_lambda_moments_equal_double_integral(al):
    """E[lambda^n] = integral of (1 - a - b)^n against two Beta(alpha, alpha) densities, n = 0..6."""
    density = (a * (1 - a)) ** (al - 1) * (b * (1 - b)) ** (al - 1) / _beta_function(al, al) ** 2
    for n in range(7):
        integral = sp.integrate(sp.expand((1 - a - b) ** n * density), (a, 0, 1), (b, 0, 1))
        assert sp.simplify(integral - binary_lambda_moment(n, al)) == 0, n


def test_lambda_moments_equal_beta_moment_expansion_for_symbolic_alpha():
    """E[(1 - a - b)^n] by the multinomial expansion with E[a^j] = dirichlet_moment(alpha, (j, 0)), n = 0..7."""
    Ea = [dirichlet_moment(alpha, (j, 0)) for j in range(8)]
    for n in range(8):
        expansion = sum(
            sp.factorial(n) / (sp.factorial(i) * sp.factorial(j) * sp.factorial(n - i - j))
            * (-1) ** (i + j) * Ea[i] * Ea[j]
            for i in range(n + 1) for j in range(n + 1 - i)
        )
        assert sp.cancel(sp.together(expansion - binary_lambda_moment(n, alpha))) == 0, n


def test_lambda_moment_closed_forms_from_notes():
    """E[lambda^2] = 1/(2(2a+1)), E[lambda^4] = 3(a+1)/(2(2a+1)^2(2a+3)); alpha = 1: 1/6, 1/15;
    alpha = 0.1: 0.416667, 0.358073; odd moments 0."""
    assert sp.simplify(binary_edge_information(alpha) - 1 / (2 * (2 * alpha + 1))) == 0
    e4 = 3 * (alpha + 1) / (2 * (2 * alpha + 1) ** 2 * (2 * alpha + 3))
    assert sp.simplify(binary_ancestor_information(2, alpha) - e4) == 0
    assert (binary_edge_information(1), binary_ancestor_information(2, 1)) == (R(1, 6), R(1, 15))
    assert abs(float(binary_edge_information(R(1, 10))) - 0.416667) < 1e-6
    assert abs(float(binary_ancestor_information(2, R(1, 10))) - 0.358073) < 1e-6
    assert all(binary_lambda_moment(n, alpha) == 0 for n in (1, 3, 5, 7))
    assert binary_ancestor_information(0, alpha) == 1  # I_chi2(s; s) = S - 1


def test_cross_information_per_pi_is_trace_of_pi_power():
    """S = 2: sum_{s,s'} P_{i-k,i}(s,s') pi(s'|s)/mu(s') - 1 = lambda^(k+1) for every pi (k = 0..4),
    so I~(k) = E[lambda^(k+1)], zero for even k."""
    pi, mu = binary_transition_matrix(a, b), binary_stationary_distribution(a, b)
    for k in range(5):
        joint = binary_joint(k, a, b)
        value = sum(joint[s, t] * pi[s, t] / mu[t] for s in range(2) for t in range(2)) - 1
        assert sp.simplify(value - (1 - a - b) ** (k + 1)) == 0
        assert binary_cross_information(k, alpha) == binary_lambda_moment(k + 1, alpha)
    assert binary_cross_information(2, alpha) == 0 and binary_cross_information(0, alpha) == 0


@pytest.mark.parametrize("k", range(1, 8))
def test_data_processing_inequality_along_binary_chain_for_every_alpha(k):
    """E I_chi2(s_{i-k}; s_i) < E I_chi2(s_{i-k+1}; s_i) for all alpha > 0 (S = 2), proved symbolically;
    the margin is E[lambda^(2k-2) (1 - lambda^2)]."""
    assert binary_data_processing_inequality(k, alpha) == sp.true
    margin = binary_data_processing_margin(k, alpha)
    for value in (R(1, 100), R(1, 10), 1, 10):
        assert margin.subs(alpha, value) > 0


def test_data_processing_per_pi_is_one_contraction_by_lambda_squared():
    """Per pi (S = 2): I_chi2(s_{i-k}; s_i) / I_chi2(s_{i-k+1}; s_i) = lambda^2 = (1 - a - b)^2 <= 1 on [0, 1]^2."""
    k = sp.Symbol("k", integer=True, positive=True)
    ratio = sp.simplify(chi2_mutual_information(binary_joint(k + 1, a, b)) / chi2_mutual_information(binary_joint(k, a, b)))
    assert sp.simplify(ratio - (1 - a - b) ** 2) == 0
    # (1 - a - b)^2 is convex, so its maximum over [0, 1]^2 sits at a vertex: 1
    assert max((1 - av - bv) ** 2 for av in (0, 1) for bv in (0, 1)) == 1


def test_data_processing_margin_vanishes_in_the_deterministic_limit():
    """As alpha -> 0, lambda -> +-1 or 0 with E[lambda^(2k)] -> 1/2: the inequality becomes tight for k >= 2."""
    assert sp.limit(binary_data_processing_margin(1, alpha), alpha, 0) == R(1, 2)
    for k in (2, 3, 4):
        assert sp.limit(binary_data_processing_margin(k, alpha), alpha, 0) == 0


# --------------------------------------------------------------------------- forests, gap
def test_tree_distances_of_manual_tree():
    """The authors' manual tree (-1, 0, 0, 1, 2): distances through the root."""
    d = tree_distances((-1, 0, 0, 1, 2))
    assert (d[1, 2], d[3, 4], d[3, 0], d[4, 4]) == (2, 4, 2, 0)
    assert tree_distances((-1, -1, 1))[2, 0] == -1


@pytest.mark.parametrize("parents", [(-1, 0, 1, 2, 3), (-1, 0, 0, 1, 2), (-1, 0, -1, 2, 1, 4)])
def test_binary_forest_information_is_exact_average_of_per_pi_information(parents):
    """S = 2: I~_{j,i}(pi) = lambda^(d(i,j)+1) for every pi (reversibility), hence the matrix
    binary_forest_information; checked at three rational pi against the exact LCA joint laws."""
    for av, bv in [(R(1, 3), R(1, 5)), (R(3, 4), R(1, 2)), (R(9, 10), R(7, 8))]:
        exact = information_given_pi(parents, binary_transition_matrix(av, bv))
        lam = 1 - av - bv
        averaged = binary_forest_information(parents, alpha)
        dist = tree_distances(parents)
        for i in range(len(parents)):
            for j in range(i + 1):
                same_tree = dist[i, j] >= 0
                assert exact[i, j] == (lam ** (int(dist[i, j]) + 1) if same_tree else 0), (i, j)
                assert averaged[i, j] == (binary_lambda_moment(int(dist[i, j]) + 1, alpha) if same_tree else 0)


@pytest.mark.parametrize("parents", [(-1, 0, 1, 2, 3), (-1, 0, 0, 1, 2), (-1, 0, -1, 2), (-1, 0, 1, 0, 3, 0)])
@pytest.mark.parametrize("al", [1, R(1, 10)])
def test_binary_information_gap_closed_form_equals_max_over_rows(parents, al):
    """Delta (S = 2) from the DPI argument equals the explicit min/max over the exact matrix, and is > 0."""
    explicit = information_gap(binary_forest_information(parents, al), parents)
    closed = binary_information_gap(parents, al)
    assert closed == explicit
    assert closed > 0


def test_chain_information_gap_is_edge_minus_great_grandparent():
    """On a chain with >= 4 positions the competitor is the great-grandparent: Delta = E lambda^2 - E lambda^4."""
    expected = binary_edge_information(alpha) - binary_ancestor_information(2, alpha)
    assert sp.simplify(binary_information_gap((-1, 0, 1, 2, 3), alpha) - expected) == 0
    assert binary_information_gap((-1, 0, 1), alpha) == binary_edge_information(alpha)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10**6))
def test_parent_maximises_information_row_for_every_pi(seed):
    """Cauchy-Schwarz + data processing (notes 4.3) hold per pi: I~_{p(i),i}(pi) >= I~_{j,i}(pi) for
    every j < i, j != p(i), and I~_{p(i),i}(pi) = I_chi2 of the edge (S = 3, random rational pi and forest)."""
    rnd = random.Random(seed)
    parents = [-1] + [rnd.randint(-1, i - 1) for i in range(1, 6)]
    P = _random_stochastic(3, seed)
    M = information_given_pi(parents, P)
    mu = exact_stationary_distribution(P)
    edge = chi2_mutual_information(sp.diag(*mu) * P)
    for i, p in enumerate(parents):
        assert M[i, i] == P.trace() - 1
        if p < 0:
            assert all(M[i, j] == 0 for j in range(i))
            continue
        assert M[i, p] == edge
        assert all(M[i, j] <= M[i, p] for j in range(i) if j != p)


# --------------------------------------------------------------------------- the gradient
@settings(max_examples=8, deadline=None)
@given(st.integers(3, 5), st.integers(2, 3), st.integers(0, 10**6), st.sampled_from([0, R(1, 10), R(1, 1000)]))
def test_first_order_gradient_by_differentiation_equals_indicator_formula(T, S, seed, eps):
    """dL/dA1[i,j] at A1 = 0, A2 = beta0 I is -(beta0/(T(i+1))) c_i d_ij + O(beta0^2) (notes 4.2), with
    c_i = q(s_i)/(f_hat(s_i) + eps) - sum_y q(y) f_hat(y)/(f_hat(y) + eps): sympy's derivative of the reduced
    model's loss -sum_y q(y) log(f_y + eps) equals the indicator formula exactly, labels absent from the
    sequence included (there the notes' "- 1" is replaced by the label mass present)."""
    rnd = random.Random(seed)
    tokens = [rnd.randrange(S) for _ in range(T)]
    w = [rnd.randint(1, 5) for _ in range(S)]
    target = [R(x, sum(w)) for x in w]
    derived = first_order_gradient_terms(tokens, target, eps)
    assert sp.simplify(derived - indicator_gradient_formula(tokens, target, eps)) == sp.zeros(T, T)


def test_notes_minus_one_form_fails_when_a_label_is_absent():
    """Erratum check: with a label of positive target mass absent from the sequence, c_i = q/f_hat - 1 (notes 4.2)
    is not the derivative (the absent label's term is a constant); the present-mass form is."""
    tokens = (1, 0, 1, 1)
    target = (R(1, 3), R(1, 3), R(1, 3))  # label 2 never occurs
    f_hat = {0: R(1, 4), 1: R(3, 4)}
    m = [int(s == tokens[-1]) for s in tokens]
    notes = sp.Matrix(4, 4, lambda i, j: -(target[tokens[i]] / f_hat[tokens[i]] - 1)
                      * (m[j] - R(sum(m[: i + 1]), i + 1)) / (4 * (i + 1)) if j <= i else 0)
    derived = first_order_gradient_terms(tokens, target)
    assert derived != notes
    assert derived == indicator_gradient_formula(tokens, target)
    # with every label present the two forms agree
    tokens = (1, 0, 2, 1)
    f_hat = {0: R(1, 4), 1: R(1, 2), 2: R(1, 4)}
    m = [int(s == tokens[-1]) for s in tokens]
    notes = sp.Matrix(4, 4, lambda i, j: -(target[tokens[i]] / f_hat[tokens[i]] - 1)
                      * (m[j] - R(sum(m[: i + 1]), i + 1)) / (4 * (i + 1)) if j <= i else 0)
    assert first_order_gradient_terms(tokens, target) == notes


def test_first_order_gradient_with_symbolic_target():
    """The identity holds for a symbolic label distribution (q0, q1, 1 - q0 - q1)."""
    q0, q1 = sp.symbols("q0 q1", positive=True)
    target = [q0, q1, 1 - q0 - q1]
    tokens = (2, 0, 1, 2)
    assert sp.simplify(first_order_gradient_terms(tokens, target) - indicator_gradient_formula(tokens, target)) == sp.zeros(4, 4)


def test_zero_A2_makes_the_A1_gradient_vanish():
    """With A2 = 0 the layer-2 attention is uniform whatever A1 is: dL/dA1 = 0 exactly (Algorithm 1 needs beta0 > 0)."""
    A1 = sp.Matrix(4, 4, lambda i, j: R(i + 2 * j + 1, 7) if j <= i else 0)
    target = [R(1, 2), R(1, 3), R(1, 6)]
    assert a1_gradient((0, 2, 1, 0), target, A1, 0) == sp.zeros(4, 4)


def test_adding_ones_matrix_to_A2_leaves_the_output_unchanged():
    """e_{s_T}^T 11^T v_i = 1 for every i, so A2 -> A2 + c 11^T shifts all scores by c and the output is unchanged."""
    c = sp.Symbol("c")
    A1 = sp.Matrix(4, 4, lambda i, j: sp.log(R(i + 2 * j + 1, 3)) if j <= i else 0)  # rational softmax weights
    A2 = sp.Matrix([[2, R(1, 2), 0], [0, 1, R(1, 3)], [R(1, 4), 0, 3]])
    tokens = (1, 0, 2, 1)
    shift = reduced_model_scores(tokens, A1, A2 + c * sp.ones(3, 3)) - reduced_model_scores(tokens, A1, A2)
    assert sp.simplify(shift - c * sp.ones(4, 1)) == sp.zeros(4, 1)
    diff = reduced_model_output(tokens, A1, A2 + c * sp.ones(3, 3)) - reduced_model_output(tokens, A1, A2)
    assert sp.simplify(sp.expand_power_exp(diff)) == sp.zeros(3, 1)


@pytest.mark.parametrize("parents", [(-1, 0, 1), (-1, 0, 0), (-1, -1, 1)])
def test_large_T_gradient_equals_information_minus_row_mean_exactly(parents):
    """With f_hat replaced by mu, S E[c_i d_ij] = I~_{j,i}(pi) - (1/(i+1)) sum_k I~_{k,i}(pi) on the context rows
    (exact enumeration over all S^T sequences, S = 3, rational pi)."""
    P = _random_stochastic(3, 11)
    n = len(parents)
    enumerated = expected_first_order_gradient(parents, P, large_T=True)[:n, :n]
    formula = large_T_gradient(information_given_pi(parents, P))
    assert sp.simplify(enumerated - formula) == sp.zeros(n, n)


def test_finite_T_gradient_first_row_is_zero_and_rows_sum_to_zero():
    """Row 0 of the first-order gradient is 0 (one visible position) and every row sums to 0
    (sum_j d_ij = 0): the softmax gradient only redistributes attention."""
    P = _random_stochastic(2, 5)
    G = expected_first_order_gradient((-1, 0, 1, 2), P)
    assert all(G[0, j] == 0 for j in range(5))
    assert all(sp.simplify(sum(G.row(i))) == 0 for i in range(5))


# --------------------------------------------------------------------------- bad input
def test_bad_input_raises_value_error_naming_the_argument():
    """alpha <= 0, S < 2, parents out of range or multi-parent, a non-stochastic pi: ValueError naming it."""
    with pytest.raises(ValueError, match="alpha"):
        binary_edge_information(0)
    with pytest.raises(ValueError, match="alpha"):
        expected_row_entropy(3, -1)
    with pytest.raises(ValueError, match="S"):
        expected_row_entropy(1, 1)
    with pytest.raises(ValueError, match="parents"):
        binary_forest_information((-1, 2, 0), 1)
    with pytest.raises(ValueError, match="parents"):  # a multi-parent node where a forest is required
        tree_distances((-1, 0, [0, 1]))
    with pytest.raises(ValueError, match="parents"):
        information_given_pi((0, 0), sp.eye(2))
    with pytest.raises(ValueError, match="P"):
        information_given_pi((-1, 0), sp.Matrix([[1, 1], [0, 1]]))
    with pytest.raises(ValueError, match="joint"):
        chi2_mutual_information(sp.Matrix([[R(1, 2), R(1, 3)], [0, 0]]))
    with pytest.raises(ValueError, match="k"):
        binary_ancestor_information(-1, 1)
    with pytest.raises(ValueError, match="target"):
        indicator_gradient_formula((0, 1, 0), (R(1, 2), R(1, 3)))
