"""Numeric checks for numerics.causal (Nichani, Damian, Lee 2024): graphs, sampler, estimators, information.

Monte-Carlo comparisons use a tolerance of 5 standard errors computed in the test from the
same samples (for a sum of independent estimates, 5 times the root sum of squares; where two
correlated estimates are compared without their covariance, 5 times the sum of their SEs,
which bounds the SE of the difference).  Exact expected values come from theory.causal, from
closed forms, or from the notes (shared/papers/nichani2024.md), never from this module's output.
"""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import digamma

import numerics.causal as nc
from theory import causal as tc

R = sp.Rational


def _random_rational_stochastic(S: int, seed: int) -> sp.Matrix:
    rnd = random.Random(seed)
    rows = []
    for _ in range(S):
        w = [rnd.randint(1, 9) for _ in range(S)]
        rows.append([R(x, sum(w)) for x in w])
    return sp.Matrix(rows)


def _as_float(M) -> np.ndarray:
    return np.array(sp.Matrix(M).evalf(30).tolist(), dtype=np.float64)


# =========================================================================== graphs
def test_graph_constructors_match_the_authors_definitions():
    """chain p(i) = i-1; icl p(i) = i-1 for odd i, even roots; manual (-1,0,0,1,2); Figure 5: nodes 0, 1 roots,
    p(i) = [(i-1)//2, i-1], target parents {15, 31} at T = 32 (notes 1.2, 1.3)."""
    assert nc.chain_graph(20) == tuple([-1] + list(range(18)))
    assert nc.pairs_graph(20) == tuple(i - 1 if i % 2 else -1 for i in range(19))
    assert nc.manual_tree() == (-1, 0, 0, 1, 2)
    g = nc.two_parent_graph(32)
    assert len(g) == 33 and g[0] == g[1] == () and g[32] == (15, 31)
    assert all(g[i] == ((i - 1) // 2, i - 1) for i in range(2, 33))
    assert nc.last_parent_graph(g)[2:] == tuple((i - 1,) for i in range(2, 33))


def test_random_tree_roots_with_probability_one_over_i_plus_one():
    """The authors' random graph: p(i) ~ Unif{-1, ..., i-1}, so node i is a root w.p. 1/(i+1) (binomial, 5 SE)."""
    rng = np.random.default_rng(0)
    n_graphs, T = 3000, 12
    graphs = np.array([nc.random_tree(T, rng=rng) for _ in range(n_graphs)])
    for i in range(T - 1):
        p = 1.0 / (i + 1)
        freq = np.mean(graphs[:, i] == -1)
        se = np.sqrt(p * (1 - p) / n_graphs)
        assert abs(freq - p) <= 5 * se + 1e-12, (i, freq, p)
    # given a parent, it is uniform on 0..i-1: mean (i-1)/2, variance (i^2 - 1)/12
    i = T - 2
    par = graphs[graphs[:, i] >= 0, i]
    assert abs(par.mean() - (i - 1) / 2) <= 5 * np.sqrt((i**2 - 1) / 12 / len(par))


def test_random_forest_has_a_parent_with_probability_p_parent():
    """many_graphs (Figure 9): node 0 a root, node i >= 1 has a parent w.p. p_parent (binomial, 5 SE)."""
    rng = np.random.default_rng(1)
    n_graphs = 2000
    for p in (0.5, 0.8):
        graphs = np.array([nc.random_forest(20, p, rng=rng) for _ in range(n_graphs)])
        assert np.all(graphs[:, 0] == -1)
        freq = np.mean(graphs[:, 1:] >= 0)
        n = graphs[:, 1:].size
        assert abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=2, max_size=15))
def test_networkx_round_trip_and_lca_agree_with_tree_distances(draws):
    """to_networkx / from_networkx invert each other; depth(i) + depth(j) - 2 depth(lca) = the tree distance
    of theory.causal.tree_distances (an independent implementation)."""
    parents = tuple(-1 if i == 0 or d % 3 == 0 else d % i for i, d in enumerate(draws))
    assert nc.from_networkx(nc.to_networkx(parents)) == parents
    lca, depth = nc.lowest_common_ancestors(parents), nc.depths(parents)
    dist = tc.tree_distances(parents)
    n = len(parents)
    for i, j in itertools.product(range(n), repeat=2):
        expected = int(dist[i, j])
        got = depth[i] + depth[j] - 2 * depth[lca[i, j]] if lca[i, j] >= 0 else -1
        assert got == expected
    A = nc.adjacency_matrix(parents)
    assert A.sum() == sum(p >= 0 for p in parents) and all(A[i, p] == 1 for i, p in enumerate(parents) if p >= 0)


def test_multi_parent_graph_round_trips_through_networkx_keeping_parent_order():
    """Parent order fixes the transition-tensor index, so it must survive the conversion."""
    g = ((), (), (1, 0), (0, 2), (2, 1))
    assert nc.from_networkx(nc.to_networkx(g), single_parent=False) == g


# =========================================================================== Dirichlet and GTH
@pytest.mark.parametrize("alpha", [0.1, 0.02])
def test_dirichlet_rows_have_the_exact_moments(alpha):
    """p ~ Dir(alpha 1_S): E p_1 = 1/S, E p_1^2 = (alpha+1)/(S(S alpha+1)), E log p_1 = digamma(alpha) - digamma(S alpha);
    alpha = 0.1 takes the linear-space path, 0.02 the log-space one (5 SE each)."""
    S, n = 5, 200_000
    p = nc.sample_dirichlet(alpha, (n,), S, np.random.default_rng(2))
    assert np.allclose(p.sum(-1), 1.0, atol=1e-12, rtol=0)
    x = p[:, 0]
    for values, exact in [(x, 1 / S), (x**2, (alpha + 1) / (S * (S * alpha + 1)))]:
        assert abs(values.mean() - exact) <= 5 * values.std() / np.sqrt(n)
    logs = np.log(x[x > 0])
    assert logs.size >= n - 1  # no spurious exact zeros (true P(p < 1e-308) < 1e-30 per entry at alpha = 0.1)
    if alpha >= 0.05:
        assert logs.size == n
        exact = digamma(alpha) - digamma(S * alpha)
        assert abs(logs.mean() - exact) <= 5 * logs.std() / np.sqrt(n)


def test_dirichlet_small_alpha_has_no_spurious_zeros():
    """At alpha = 0.05 an entry is < 1e-308 with probability ~1e-15: no exact zeros in 10^6 entries
    (numpy's own dirichlet rounds about 1 % of them to 0 there)."""
    p = nc.sample_dirichlet(0.05, (100_000,), 10, np.random.default_rng(3))
    assert np.count_nonzero(p == 0) == 0


def test_gth_agrees_with_a_dense_solver_on_well_conditioned_chains():
    """mu P = mu, sum mu = 1: GTH vs least squares on [P^T - I; 1^T] for Dir(1) rows, agreement 1e-12."""
    rng = np.random.default_rng(4)
    P = nc.sample_dirichlet(1.0, (200, 6), 6, rng)
    mu = nc.stationary_distribution(P)
    for k in range(len(P)):
        A = np.vstack([P[k].T - np.eye(6), np.ones(6)])
        dense = np.linalg.lstsq(A, np.r_[np.zeros(6), 1.0], rcond=None)[0]
        assert np.allclose(mu[k], dense, atol=1e-12, rtol=0)


def test_gth_is_entrywise_accurate_on_a_nearly_reducible_birth_death_chain():
    """A birth-death chain with up-rates 10^-(3k+5) has mu spanning ~10^-90; detailed balance gives mu exactly
    (mu_{k+1} / mu_k = up_k / down_{k+1}).  GTH: relative error <= 1e-13 in every entry."""
    S = 8
    up = [10.0 ** -(3 * k + 5) for k in range(S - 1)]
    down = [0.3 + 0.05 * k for k in range(1, S)]
    P = np.zeros((S, S))
    for k in range(S - 1):
        P[k, k + 1], P[k + 1, k] = up[k], down[k]
    P[np.arange(S), np.arange(S)] = 1 - P.sum(1)
    log_mu = np.concatenate([[0.0], np.cumsum(np.log(up) - np.log(down))])
    exact = np.exp(log_mu - np.logaddexp.reduce(log_mu))
    mu = nc.stationary_distribution(P)
    assert exact.min() < 1e-80
    assert np.max(np.abs(mu / exact - 1)) <= 1e-13


@pytest.mark.parametrize("alpha", [0.1, 0.01])
def test_gth_residual_is_relatively_small_for_dirichlet_chains(alpha):
    """Dir(alpha) rows (alpha = 0.1, 0.01: nearly reducible): |mu P - mu| <= 1e-12 mu entrywise and the
    reversed-kernel ratios mu(s) pi(s'|s) / mu(s') stay <= 1 (notes, check 2)."""
    P = nc.sample_dirichlet(alpha, (2000, 10), 10, np.random.default_rng(5))
    mu = nc.stationary_distribution(P)
    assert np.allclose(mu.sum(-1), 1.0, atol=1e-14, rtol=0)
    residual = np.abs(np.einsum("ns,nst->nt", mu, P) - mu)
    positive = mu > 0
    assert np.all(residual[positive] <= 1e-12 * mu[positive])
    ratio = mu[:, :, None] * P / np.where(positive, mu, 1.0)[:, None, :]
    assert np.all(ratio[np.broadcast_to(positive[:, None, :], ratio.shape)] <= 1 + 1e-12)


# =========================================================================== sampler
def test_tree_sampler_transitions_roots_and_query_match_a_fixed_pi():
    """Given pi: transition frequencies = pi(s'|s), root tokens ~ mu, non-root marginals ~ mu (stationarity),
    the query uniform and the target = pi(. | s_T) (per cell, 5 binomial SE)."""
    S, B = 3, 4000
    pi = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5]])
    parents = nc.pairs_graph(8) + tuple(range(6, 12))  # roots at 0, 2, 4, 6 and a chain from 6
    batch = nc.sample_tree_task(parents, S, 1.0, B, seed=6, pi=pi)
    seq = batch.sequences
    assert seq.shape == (B, len(parents) + 1) and np.array_equal(seq[:, -1], batch.query)
    assert np.array_equal(batch.target, pi[batch.query])
    mu = nc.stationary_distribution(pi)
    child = [i for i, p in enumerate(parents) if p >= 0]
    par_tok = seq[:, [parents[i] for i in child]].ravel()
    child_tok = seq[:, child].ravel()
    for s, t in itertools.product(range(S), repeat=2):
        n = np.sum(par_tok == s)
        freq = np.sum((par_tok == s) & (child_tok == t)) / n
        assert abs(freq - pi[s, t]) <= 5 * np.sqrt(pi[s, t] * (1 - pi[s, t]) / n)
    for tokens, law in [(seq[:, [0, 2, 4, 6]].ravel(), mu), (seq[:, 11], mu), (seq[:, -1], np.full(S, 1 / S))]:
        freq = np.bincount(tokens, minlength=S) / tokens.size
        assert np.all(np.abs(freq - law) <= 5 * np.sqrt(law * (1 - law) / tokens.size))


def test_tree_sampler_draws_each_child_from_its_parents_row_under_the_prior():
    """With pi ~ prior, a child token drawn from row pi(. | s_parent) satisfies E[pi(s_child | s_parent)] =
    E[sum_s' pi(s' | s_parent)^2] (paired, 5 SE); a token drawn from any other row would not."""
    S, B = 5, 20000
    parents = nc.random_tree(12, seed=7)
    batch = nc.sample_tree_task(parents, S, 0.1, B, seed=8)
    rows = np.arange(B)[:, None]
    child = np.array([i for i, p in enumerate(parents) if p >= 0])
    par = np.array([parents[i] for i in child])
    row = batch.pi[rows, batch.sequences[:, par]]  # (B, m, S)
    hit = np.take_along_axis(row, batch.sequences[:, child, None], -1)[..., 0]
    diff = (hit - (row**2).sum(-1)).mean(1)  # per sequence
    assert abs(diff.mean()) <= 5 * diff.std() / np.sqrt(B)
    assert abs(hit.mean() - 1 / S) > 0.3  # the identity is not trivially satisfied by a wrong row


def test_dag_sampler_roots_uniform_rows_indexed_by_parent_tuple_and_target():
    """InContextDAG: roots uniform (not stationary); s_i ~ pi_k(. | s_{p_1}, ..., s_{p_k}) with row index
    sum_m s_{p_m} S^(k-1-m) (paired likelihood identity, 5 SE); target = that row for node T."""
    S, B = 4, 20000
    graph = nc.two_parent_graph(10)
    batch = nc.sample_dag_task(graph, S, 0.1, B, seed=9)
    seq, pi2 = batch.sequences, batch.pi[2]
    roots = seq[:, [0, 1]].ravel()
    freq = np.bincount(roots, minlength=S) / roots.size
    assert np.all(np.abs(freq - 1 / S) <= 5 * np.sqrt((1 / S) * (1 - 1 / S) / roots.size))
    nodes = np.arange(2, 10)
    idx = seq[:, [graph[i][0] for i in nodes]] * S + seq[:, [graph[i][1] for i in nodes]]  # (B, m)
    row = pi2[np.arange(B)[:, None], idx]  # (B, m, S)
    hit = np.take_along_axis(row, seq[:, nodes, None], -1)[..., 0]
    diff = (hit - (row**2).sum(-1)).mean(1)
    assert abs(diff.mean()) <= 5 * diff.std() / np.sqrt(B)
    swapped = seq[:, [graph[i][1] for i in nodes]] * S + seq[:, [graph[i][0] for i in nodes]]
    wrong = np.take_along_axis(pi2[np.arange(B)[:, None], swapped], seq[:, nodes, None], -1)[..., 0]
    assert hit.mean() - wrong.mean() > 0.1  # the parent order matters and is the documented one
    q = batch.query
    assert graph[-1] == (4, 9) and np.array_equal(q, seq[:, [4, 9]])
    assert np.array_equal(batch.target, pi2[np.arange(B), q[:, 0] * S + q[:, 1]])


def test_sampler_is_reproducible_from_its_seed():
    """Same seed, same numbers; another seed, other numbers."""
    a = nc.sample_tree_task(nc.chain_graph(10), 4, 0.1, 64, seed=3)
    b = nc.sample_tree_task(nc.chain_graph(10), 4, 0.1, 64, seed=3)
    c = nc.sample_tree_task(nc.chain_graph(10), 4, 0.1, 64, seed=4)
    assert np.array_equal(a.sequences, b.sequences) and np.array_equal(a.pi, b.pi)
    assert not np.array_equal(a.sequences, c.sequences)


# =========================================================================== estimators, losses
def _reference_counts(seq, parents, S, authors=False):
    """Per-position loop: the correct counts, or the authors' InContextTree.bayes (parent -1 reads seq[:-1][-1])."""
    out = np.zeros((len(seq), S))
    for b, row in enumerate(seq):
        context, query = row[:-1], row[-1]
        for i, p in enumerate(parents):
            if p < 0 and not authors:
                continue
            if context[p] == query:  # p = -1: the last context token
                out[b, context[i]] += 1
    return out


def test_estimators_equal_per_position_reference_loops():
    """Vectorised counts = a per-position loop, for the correct estimator and the authors' one."""
    S, alpha = 4, 0.1
    parents = nc.random_tree(15, seed=10)
    batch = nc.sample_tree_task(parents, S, alpha, 300, seed=11)
    correct = _reference_counts(batch.sequences, parents, S)
    authors = _reference_counts(batch.sequences, parents, S, authors=True)
    assert np.array_equal(nc.transition_counts(batch.sequences, parents, S), correct)
    assert np.allclose(nc.bayes_estimator(batch.sequences, parents, S, alpha),
                       (correct + alpha) / (correct + alpha).sum(-1, keepdims=True), atol=1e-15)
    assert np.allclose(nc.bayes_estimator_authors(batch.sequences, parents, S, alpha),
                       (authors + alpha) / (authors + alpha).sum(-1, keepdims=True), atol=1e-15)
    # the two differ only through roots, which the authors count when s_{T-1} = s_T
    same = batch.sequences[:, -2] != batch.sequences[:, -1]
    assert np.allclose(nc.bayes_estimator(batch.sequences, parents, S, alpha)[same],
                       nc.bayes_estimator_authors(batch.sequences, parents, S, alpha)[same], atol=1e-15)


def test_dag_estimator_equals_reference_loop_and_one_nn_uses_the_last_parent():
    """Multi-parent counts over nodes with as many parents as the target and a matching tuple (InContextDAG.bayes)."""
    S = 3
    graph = nc.two_parent_graph(12)
    batch = nc.sample_dag_task(graph, S, 0.1, 200, seed=12)
    for g in (graph, nc.last_parent_graph(graph)):
        ref = np.zeros((200, S))
        for b, row in enumerate(batch.sequences):
            s = row[list(g[-1])]
            for i in range(len(g) - 1):
                if len(g[i]) == len(s) and np.all(row[list(g[i])] == s):
                    ref[b, row[i]] += 1
        assert np.array_equal(nc.dag_transition_counts(batch.sequences, g, S), ref)


def test_empirical_conditional_recovers_a_deterministic_permutation():
    """Out of distribution: for pi a permutation, every in-context transition is the permutation, so pi_hat(. | s_T)
    = pi(. | s_T) exactly wherever s_T has a parent match (the paper's limit estimator)."""
    perm = np.array([2, 0, 3, 1])
    pi = np.eye(4)[perm]
    parents = nc.random_tree(20, seed=13)
    batch = nc.sample_tree_task(parents, 4, 0.1, 500, seed=14, pi=pi)
    has = nc.transition_counts(batch.sequences, parents, 4).sum(-1) > 0
    assert has.mean() > 0.5
    est = nc.empirical_conditional(batch.sequences, parents, 4)
    assert np.array_equal(est[has], batch.target[has])
    assert np.allclose(est[~has], 0.25)


def test_oracle_loss_equals_theory_and_monte_carlo():
    """E H(pi(. | s)) = digamma(S alpha + 1) - digamma(alpha + 1): scipy = sympy; the target's mean entropy (MC) agrees (5 SE)."""
    for S, alpha in [(10, 0.1), (3, 1.0)]:
        exact = float(tc.expected_row_entropy(S, sp.nsimplify(alpha)).evalf(30))
        assert abs(nc.oracle_loss(S, alpha) - exact) < 1e-12
    batch = nc.sample_tree_task(nc.chain_graph(5), 10, 0.1, 50_000, seed=15)
    entropy = nc.cross_entropy(batch.target, batch.target)
    assert abs(entropy.mean() - nc.oracle_loss(10, 0.1)) <= 5 * entropy.std() / np.sqrt(entropy.size)


def test_cross_entropy_and_smoothing():
    """-sum q log p, zero-mass labels contribute 0, epsilon adds inside the log."""
    q = np.array([[0.5, 0.5, 0.0]])
    p = np.array([[0.25, 0.75, 0.0]])
    assert np.isclose(nc.cross_entropy(q, p)[0], -(0.5 * np.log(0.25) + 0.5 * np.log(0.75)))
    assert np.isclose(nc.cross_entropy(q, p, epsilon=1e-3)[0], -(0.5 * np.log(0.251) + 0.5 * np.log(0.751)))
    assert np.isinf(nc.cross_entropy(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))[0])


def test_bayes_baseline_errata_chain_losses():
    """Notes 6 / issue 7 (S = 10, T = 20, alpha = 0.1, chain): correct Bayes loss 1.7625, the authors' (roots counted)
    1.7753.  The notes' numbers are MC over 2^17 sequences, so each side carries an SE: tolerance
    5 sqrt(se_ours^2 + se_notes^2), se_notes = the per-sequence std / sqrt(2^17).  The paired difference
    (0.0128 in the notes) has a far smaller SE and separates the two estimators."""
    n = 2**17
    out = nc.bayes_losses(nc.chain_graph(20), 10, 0.1, n_sequences=n, seed=2024)
    for key, notes in [("correct", 1.7625), ("authors", 1.7753), ("difference", 1.7753 - 1.7625)]:
        est = out[key]
        se_notes = est.se * np.sqrt(est.n / 2**17)
        assert abs(est.mean - notes) <= 5 * np.hypot(est.se, se_notes), (key, est)
    assert out["difference"].mean > 5 * out["difference"].se  # the bug costs loss, beyond noise
    assert abs(out["oracle"].mean - nc.oracle_loss(10, 0.1)) <= 5 * out["oracle"].se


def test_two_parent_bayes_beats_the_one_parent_baseline():
    """Figure 7: on the two-parent graph the Bayes estimator with both parents has a lower loss than the
    "one NN" (last parent only) baseline; paired difference beyond 5 SE; both above the oracle entropy."""
    out = nc.dag_bayes_losses(nc.two_parent_graph(32), 5, 0.1, n_sequences=2**13, seed=27)
    assert out["one_nn"].mean - out["bayes"].mean > 5 * (out["one_nn"].se + out["bayes"].se)
    assert out["bayes"].mean - out["oracle"].mean > 5 * (out["bayes"].se + out["oracle"].se)


# =========================================================================== information
@pytest.mark.parametrize("alpha", [1.0, 0.1])
@pytest.mark.parametrize("parents", [(-1, 0, 1, 2, 3, 4), (-1, 0, 0, 1, 2, -1, 5, 3)])
def test_information_matrix_equals_binary_closed_form(parents, alpha):
    """S = 2: information_matrix (exact per pi via the LCA, averaged over pi) = E[lambda^(d+1)] (theory), entrywise
    within 5 SE; entries across trees are exactly 0."""
    M, se = nc.information_matrix(parents, 2, alpha, n_draws=20000, seed=16, return_se=True)
    exact = _as_float(tc.binary_forest_information(parents, sp.nsimplify(alpha)))
    assert np.all(np.abs(M - exact) <= 5 * se + 1e-15)
    dist = _as_float(tc.tree_distances(parents))
    assert np.all(M[np.tril(dist < 0)] == 0)


def test_information_matrix_for_one_pi_equals_exact_lca_joint_laws():
    """For a fixed pi (S = 3) the trace formula tr(R^a pi^(b+1)) - 1 equals the exact sum over the joint law."""
    parents = (-1, 0, 0, 1, 2, -1, 5, 6, 3)
    for seed in range(3):
        P = _random_rational_stochastic(3, seed)
        exact = _as_float(tc.information_given_pi(parents, P))
        got = nc.information_matrix(parents, 3, 1.0, pi=_as_float(P))
        assert np.allclose(got, exact, atol=1e-13, rtol=0)
        G = nc.predicted_gradient(parents, 3, 1.0, pi=_as_float(P))
        assert np.allclose(G, _as_float(tc.large_T_gradient(tc.information_given_pi(parents, P))), atol=1e-13)


def test_chain_information_curves_binary_closed_forms():
    """S = 2: I~(k) = E[lambda^(k+1)] and E I_chi2(s_{i-k}; s_i) = E[lambda^(2k)], k = 0..5 (5 SE)."""
    out = nc.chain_information_curves(2, 0.1, 5, n_draws=40000, seed=17)
    for k in range(6):
        assert abs(out["cross"][k] - float(tc.binary_cross_information(k, R(1, 10)))) <= 5 * out["cross_se"][k]
        if k:
            assert abs(out["chi2"][k] - float(tc.binary_ancestor_information(k, R(1, 10)))) <= 5 * out["chi2_se"][k]
    assert out["chi2"][0] == pytest.approx(1.0, abs=1e-12)


def test_chain_information_curves_match_the_notes_table_at_S_3():
    """Notes 7.2 (S = 3, alpha = 0.1; their MC SE <= 0.005): I~(1..5) = .8135, -.004, .4288, .1183, .3686 and
    I_chi2 at k = 2, 3 = .5608, .4714; tolerance 5 sqrt(se^2 + 0.005^2)."""
    out = nc.chain_information_curves(3, 0.1, 5, n_draws=40000, seed=18)
    for k, notes in zip(range(1, 6), [0.8135, -0.004, 0.4288, 0.1183, 0.3686]):
        assert abs(out["cross"][k] - notes) <= 5 * np.hypot(out["cross_se"][k], 0.005)
    for k, notes in [(2, 0.5608), (3, 0.4714)]:
        assert abs(out["chi2"][k] - notes) <= 5 * np.hypot(out["chi2_se"][k], 0.005)


def test_ranking_recovers_the_parents_of_20_random_forests():
    """Data processing + Cauchy-Schwarz: argmax_j I~_{j,i} = p(i) for every non-root i, roots get -1, for 20 random
    forests as in Figure 9 (S = 3, T = 20, alpha = 0.1, parent probability 1/2).  Each winning margin exceeds
    5 (se_parent + se_competitor), a bound on 5 SE of the difference."""
    rng = np.random.default_rng(19)
    for _ in range(20):
        parents = nc.random_forest(20, 0.5, rng=rng)
        seed = int(rng.integers(2**31))
        assert tuple(nc.predicted_parents(parents, 3, 0.1, n_draws=4000, seed=seed)) == parents
        M, se = nc.information_matrix(parents, 3, 0.1, n_draws=4000, seed=seed, return_se=True)
        for i, p in enumerate(parents):
            if p >= 0:
                others = [j for j in range(i) if j != p]
                assert all(M[i, p] - M[i, j] > 5 * (se[i, p] + se[i, j]) for j in others)


def test_information_gap_matches_binary_closed_form():
    """S = 2 chain of 6: Delta = E lambda^2 - E lambda^4 (theory); the numeric gap within 5 (max SE of the two entries)."""
    parents = nc.chain_graph(7)
    M, se = nc.information_matrix(parents, 2, 1.0, n_draws=40000, seed=20, return_se=True)
    gap = nc.information_gap(parents, 2, 1.0, n_draws=40000, seed=20)
    exact = float(tc.binary_information_gap(parents, 1))
    assert abs(gap - exact) <= 5 * 2 * se.max()
    margins = nc.information_gap(parents, 2, 1.0, n_draws=40000, seed=20, per_node=True)
    assert np.isnan(margins[0]) and np.nanmin(margins) == gap


def test_first_order_gradient_monte_carlo_equals_exact_enumeration_for_one_pi():
    """S E[c_i d_ij] for one pi: sampler + vectorised formula (MC) vs exact enumeration of all S^T sequences
    (theory), every entry within 5 SE; for the unsmoothed and the epsilon = 1/10 loss."""
    P = _random_rational_stochastic(2, 21)
    for parents, eps in [((-1, 0, 1, 2, 3), 0), ((-1, 0, 0, -1, 3), R(1, 10))]:
        exact = _as_float(tc.expected_first_order_gradient(parents, P, epsilon=eps))
        mean, se = nc.first_order_gradient(parents, 2, 1.0, n_sequences=2**17, seed=22, pi=_as_float(P),
                                           epsilon=float(eps))
        assert np.all(np.abs(mean - exact) <= 5 * se + 1e-12)


def test_first_order_gradient_matches_autograd_table_of_the_notes():
    """Notes 7.3 (chain, S = 3, T = 12, alpha = 1): torch autograd rows i = 4 and 10, columns i-4..i, from
    4e6 sequences.  Tolerance 5 sqrt(se^2 + se_notes^2), se_notes = se sqrt(n / 4e6)."""
    n = 2**17
    mean, se = nc.first_order_gradient(nc.chain_graph(12), 3, 1.0, n_sequences=n, seed=23)
    table = {4: [-0.0213, 0.0162, -0.0520, 0.2686, -0.2116], 10: [-0.0193, 0.0277, -0.0366, 0.2844, -0.1732]}
    for i, row in table.items():
        cols = slice(i - 4, i + 1)
        tol = 5 * se[i, cols] * np.sqrt(1 + n / 4e6)
        assert np.all(np.abs(mean[i, cols] - row) <= tol), (i, mean[i, cols], row)
    assert np.all(mean[0] == 0)


def test_large_T_prediction_ranks_like_the_finite_T_gradient():
    """The large-T gradient and the finite-T first-order gradient (T = 24, S = 3, alpha = 1) pick the same
    argmax in every non-root row: the parent."""
    parents = nc.random_tree(24, seed=24)
    G = nc.predicted_gradient(parents, 3, 1.0, n_draws=20000, seed=25)
    mean, _ = nc.first_order_gradient(parents, 3, 1.0, n_sequences=2**15, seed=26)
    for i, p in enumerate(parents):
        if p >= 0:
            assert np.argmax(G[i, : i + 1]) == p
            assert np.argmax(mean[i, : i + 1]) == p


# =========================================================================== bad input
@pytest.mark.parametrize("call, name", [
    (lambda: nc.validate_parents([-1, 0, 5]), "parents"),
    (lambda: nc.validate_parents([-1, 1, 0]), "parents"),
    (lambda: nc.validate_parents([-1, 0, [0, 1]]), "parents"),
    (lambda: nc.validate_parents([-1, -2]), "parents"),
    (lambda: nc.validate_parent_lists([[], [0], [2], [0]]), "parent_lists"),
    (lambda: nc.validate_parent_lists([[], [0], [0, 0], [1]]), "parent_lists"),
    (lambda: nc.sample_tree_task(nc.two_parent_graph(5), 3, 0.1, 4, seed=0), "parents"),
    (lambda: nc.information_matrix([-1, 0, [0, 1]], 3, 0.1), "parents"),
    (lambda: nc.sample_tree_task(nc.chain_graph(5), 3, 0.0, 4, seed=0), "alpha"),
    (lambda: nc.sample_tree_task(nc.chain_graph(5), 3, -1.0, 4, seed=0), "alpha"),
    (lambda: nc.information_matrix(nc.chain_graph(5), 1, 0.1), "S"),
    (lambda: nc.sample_dag_task(nc.two_parent_graph(5), 1, 0.1, 4, seed=0), "S"),
    (lambda: nc.chain_graph(2), "T"),
    (lambda: nc.random_tree(1, seed=0), "T"),
    (lambda: nc.two_parent_graph(2), "T"),
    (lambda: nc.cross_entropy(np.ones((1, 2)) / 2, np.ones((1, 2)) / 2, epsilon=0.0), "epsilon"),
    (lambda: nc.cross_entropy(np.ones((1, 2)) / 2, np.ones((1, 2)) / 2, epsilon=1.0), "epsilon"),
    (lambda: nc.first_order_gradient(nc.chain_graph(5), 3, 0.1, epsilon=1.5), "epsilon"),
    (lambda: nc.random_forest(10, 1.5, seed=0), "p_parent"),
    (lambda: nc.sample_tree_task(nc.chain_graph(5), 3, 0.1, 4, seed=0, pi=np.ones((3, 3))), "pi"),
    (lambda: nc.stationary_distribution(np.ones((2, 3))), "P"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    """Parents out of range or not before the child, multi-parent where a forest is required, alpha <= 0, S < 2,
    T < 3, epsilon outside (0, 1): ValueError whose message names the argument."""
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()
