"""validation.causal (Nichani, Damian, Lee 2024): the torch sampler, the models, the trained claims.

Routes: the torch sampler against closed forms and against the numpy sampler of numerics.causal;
the fast models against plain reference implementations and the exact sympy model; the autograd
gradient against the first-order formula; trained models against the theorem's statements
(validation.checks.nichani2024, whose runs come from validation.runs.nichani2024 through the run
store, so each is trained once per session).
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import digamma

import numerics.causal as nc
from theory.causal import reduced_model_output
from theory.laws import dirichlet_moment
from validation import causal as vc
from validation.causal import (
    DisentangledTransformer,
    ReducedModel,
    StandardTransformer,
    causal_softmax,
    dirichlet_rows,
    log_gamma,
    sample_dag_task,
    sample_tree_task,
    stationary_gth,
)
from validation.checks import SOURCES
from validation.checks import nichani2024 as checks

torch.set_num_threads(1)

#: the command line's run store; CI fills it (icl-theory reproduce --profile quick) before pytest
STORE = Path(__file__).resolve().parent.parent / "results" / ".runs"


@pytest.fixture(scope="module", autouse=True)
def _run_store(_checks_store):
    """The trained checks read their runs from ``ICL_THEORY_TEST_STORE`` when it is set (the slow tests on a
    paper-profile reproduce's runs), else from results/.runs when it exists (warm in CI: seconds), else from
    this process's store (each quick run trained once per session)."""
    from validation.store import current_store, use_store

    if _checks_store is not None:
        store = _checks_store
    else:
        store = STORE if STORE.is_dir() else current_store()
    with use_store(store):
        yield


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- the torch sampler
@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0])
def test_dirichlet_rows_have_the_dirichlet_moments(alpha):
    """p ~ Dir(alpha 1_S): E p_1^2 = dirichlet_moment (exact), E sum p^2 = (alpha+1)/(S alpha+1),
    E H(p) = digamma(S alpha + 1) - digamma(alpha + 1), including alpha = 0.01 (the small-shape fix)."""
    S, n = 5, 200_000
    p = dirichlet_rows((n,), S, alpha, generator=_gen(1)).numpy()
    assert np.allclose(p.sum(-1), 1.0, atol=1e-12) and (p >= 0).all()
    a = sp.nsimplify(alpha)
    checks_ = [
        (p[:, 0] ** 2, float(dirichlet_moment(a, (2, 0, 0, 0, 0)))),
        (p[:, 0] * p[:, 1], float(dirichlet_moment(a, (1, 1, 0, 0, 0)))),
        ((p**2).sum(-1), (alpha + 1) / (S * alpha + 1)),
        (-np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(-1), digamma(S * alpha + 1) - digamma(alpha + 1)),
    ]
    for values, exact in checks_:
        se = values.std(ddof=1) / math.sqrt(n)
        assert abs(values.mean() - exact) <= 5 * se, (values.mean(), exact, se)  # 5 SE


def test_log_gamma_draws_have_gamma_moments():
    """exp(log_gamma(n, a)) ~ Gamma(a): mean a, variance a, E G^3 = a (a+1) (a+2) (Marsaglia-Tsang)."""
    a, n = 1.1, 400_000
    G = torch.exp(log_gamma(n, a, generator=_gen(2), dtype=torch.float64)).numpy()
    for values, exact in ((G, a), ((G - a) ** 2, a), (G**3, a * (a + 1) * (a + 2))):
        se = values.std(ddof=1) / math.sqrt(n)
        assert abs(values.mean() - exact) <= 5 * se  # 5 SE
    with pytest.raises(ValueError, match="shape"):
        log_gamma(10, 0.5, generator=_gen())


@pytest.mark.parametrize("alpha", [0.1, 1.0])
def test_gth_stationary_law_agrees_with_numerics(alpha):
    """Batched torch GTH = numerics.causal.stationary_distribution (GTH in numpy), and mu pi = mu."""
    rng = np.random.default_rng(3)
    P = nc.sample_dirichlet(alpha, (200, 6), 6, rng)
    mu_t = stationary_gth(torch.as_tensor(P)).numpy()
    mu_n = nc.stationary_distribution(P)
    assert np.allclose(mu_t, mu_n, rtol=1e-9, atol=1e-300)
    assert np.allclose(np.einsum("bs,bst->bt", mu_t, P), mu_t, rtol=1e-9, atol=1e-300)


def test_tree_sampler_marginals_are_stationary_and_query_uniform():
    """Given pi, every context token has law mu_pi (roots start stationary) and s_T ~ Unif[S]:
    chi-square goodness of fit, p > 0.001 for every position."""
    S, n = 4, 40_000
    pi = nc.sample_dirichlet(1.0, (S,), S, np.random.default_rng(4))
    mu = nc.stationary_distribution(pi)
    parents = (-1, 0, 1, 0, -1, 4, 2)
    tokens, target = sample_tree_task(parents, S, 1.0, n, generator=_gen(5), pi=torch.as_tensor(pi))
    tokens = tokens.numpy()
    for i in range(len(parents) + 1):
        counts = np.bincount(tokens[:, i], minlength=S)
        law = mu if i < len(parents) else np.full(S, 1 / S)
        assert stats.chisquare(counts, n * law).pvalue > 1e-3, i
    assert np.allclose(target.numpy(), pi[tokens[:, -1]], atol=1e-6)  # float32 draws


def test_tree_sampler_matches_the_numpy_sampler_under_the_prior():
    """Torch and numpy samplers draw the same task: the frequency of s_i = s_{p(i)} (depends on the
    prior, roots and stationarity) and of s_T = s_{T-1} agree within 5 combined SE."""
    S, alpha, n = 5, 0.1, 60_000
    parents = nc.random_tree(10, seed=2)
    t_tok = sample_tree_task(parents, S, alpha, n, generator=_gen(6))[0].numpy()
    n_tok = nc.sample_tree_task(parents, S, alpha, n, seed=6).sequences
    child = [i for i, p in enumerate(parents) if p >= 0]
    for stat in (lambda s: (s[:, child] == s[:, [parents[i] for i in child]]).mean(1),
                 lambda s: (s[:, -1] == s[:, -2]).astype(float)):
        a, b = stat(t_tok), stat(n_tok)
        se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(n)
        assert abs(a.mean() - b.mean()) <= 5 * se  # 5 SE of the difference


def test_dag_sampler_matches_the_numpy_sampler():
    """Multi-parent task (InContextDAG): roots uniform (chi-square p > 0.001), and the frequency of
    s_i = s_{i-1} and the target's mass on s_{31}'s successor statistics agree with numpy within 5 SE."""
    S, n = 3, 40_000
    graph = nc.two_parent_graph(12)
    tokens, target = sample_dag_task(graph, S, 0.1, n, generator=_gen(7))
    tokens, target = tokens.numpy(), target.numpy()
    for i in (0, 1):
        assert stats.chisquare(np.bincount(tokens[:, i], minlength=S), np.full(S, n / S)).pvalue > 1e-3
    ref = nc.sample_dag_task(graph, S, 0.1, n, seed=7)
    for stat in (lambda s, y: (s[:, 2:] == s[:, 1:-1]).mean(1), lambda s, y: y.max(-1)):
        a, b = stat(tokens, target), stat(ref.sequences, ref.target)
        se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(n)
        assert abs(a.mean() - b.mean()) <= 5 * se


def test_same_seed_same_sequences_and_bad_sampler_input():
    """Same generator seed -> identical sequences; bad input -> ValueError naming the argument."""
    a = sample_tree_task((-1, 0, 1), 3, 0.1, 50, generator=_gen(9))
    b = sample_tree_task((-1, 0, 1), 3, 0.1, 50, generator=_gen(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    for kwargs, name in ((dict(parents=(-1, 0, 5)), "parents"), (dict(alpha=0.0), "alpha"), (dict(S=1), "S"),
                         (dict(batch=0), "batch")):
        args = dict(parents=(-1, 0, 1), S=3, alpha=0.1, batch=4) | kwargs
        with pytest.raises(ValueError, match=name):
            sample_tree_task(args["parents"], args["S"], args["alpha"], args["batch"], generator=_gen())


# ----------------------------------------------------------------------------- the models
@settings(max_examples=12, deadline=None)
@given(S=st.integers(2, 5), T=st.integers(3, 7), heads=st.sampled_from([(1, 1), (2, 1), (1, 3), (2, 2), (1,),
                                                                          (1, 2, 1)]), seed=st.integers(0, 99))
def test_disentangled_fast_path_equals_dense_reference(S, T, heads, seed):
    """The one-hot fast path (gathers, query row only) = dense attention at every position and layer."""
    g = _gen(seed)
    model = DisentangledTransformer(S, T, heads, init_std=0.5, generator=g)
    with torch.no_grad():
        model.W.normal_(generator=g)
    tokens = torch.randint(0, S, (6, T), generator=g)
    assert torch.allclose(model(tokens), model.forward_reference(tokens), atol=1e-12, rtol=0)


def test_disentangled_dimensions_and_causal_attention():
    """d0 = S+T, d_l = (1+m_l) d_{l-1}: 30/60/120 and W 120 x 10 (S=10, T=20); heads (2,1): 37/111/222;
    the layer-1 position-block attention has rows summing to 1 and zero weight above the diagonal."""
    m = DisentangledTransformer(10, 20, (1, 1))
    assert m.dims == [30, 60, 120] and tuple(m.W.shape) == (120, 10)
    m2 = DisentangledTransformer(5, 32, (2, 1), init_std=1e-4, generator=_gen())
    assert m2.dims == [37, 111, 222] and tuple(m2.A[0].shape) == (2, 37, 37)
    att = m2.position_attention()
    assert torch.allclose(att.sum(-1), torch.ones(2, 32, dtype=torch.float64))
    assert (att.triu(1) == 0).all()


def test_reduced_model_equals_the_exact_sympy_model():
    """ReducedModel forward = theory.causal.reduced_model_output (exact, Rational weights) to 1e-14."""
    rng = np.random.default_rng(11)
    S, T = 3, 5
    A1 = [[sp.Rational(int(rng.integers(-4, 5)), 2) for _ in range(T)] for _ in range(T)]
    A2 = sp.Matrix(S, S, lambda i, j: sp.Rational(int(rng.integers(-3, 4)), 3))
    tokens = (0, 2, 1, 0, 2)
    exact = np.array([float(v) for v in reduced_model_output(tokens, sp.Matrix(A1), A2)])
    model = ReducedModel(T, S)
    with torch.no_grad():
        model.A1.copy_(torch.tensor([[float(v) for v in row] for row in A1]))
        model.A2.copy_(torch.tensor(np.array(A2.tolist(), dtype=float)))
    f = model(torch.tensor([tokens])).detach().numpy()[0]
    assert np.allclose(f, exact, atol=1e-14, rtol=0)


def test_reduced_model_ignores_a_constant_added_to_A2():
    """Adding c 11^T to A2 leaves the reduced model's output unchanged (e_sT^T 11^T v_i = 1), 1e-12."""
    g = _gen(12)
    model = ReducedModel(6, 4, beta0=1.0)
    with torch.no_grad():
        model.A1.normal_(generator=g)
    tokens = torch.randint(0, 4, (50, 6), generator=g)
    f = model(tokens)
    with torch.no_grad():
        model.A2 += 3.7
    assert torch.allclose(model(tokens), f, atol=1e-12, rtol=0)


def test_zero_A2_gives_an_exactly_zero_A1_gradient():
    """Derived: at A1 = 0, A2 = 0 the A1 gradient of the reduced model is exactly 0, which is why
    Algorithm 1 (reconstructed) starts from A2(0) = beta0 I with beta0 > 0. (The authors' code trains the
    full model jointly from zero, where the readout W moves first; neither is an error.)"""
    tokens, y = sample_tree_task(nc.chain_graph(8), 3, 1.0, 256, generator=_gen(13))
    model = ReducedModel(8, 3, beta0=0.0)
    loss = -(y * torch.log(model(tokens) + 1e-3)).sum(-1).mean()
    (g,) = torch.autograd.grad(loss, [model.A1])
    assert g.abs().max().item() <= 1e-12


def test_standard_transformer_attention_is_causal_and_starts_uniform():
    """Figure 8's model: A = 0 at the start gives uniform causal attention and a uniform output (W = 0)."""
    m = StandardTransformer(4, 6, generator=_gen(14))
    tokens = torch.randint(0, 4, (3, 6), generator=_gen(15))
    probs, att = m(tokens, return_attention=True)
    assert torch.allclose(probs, torch.full((3, 4), 0.25, dtype=torch.float64))
    assert torch.allclose(att[0, 0], causal_softmax(torch.zeros(6, 6, dtype=torch.float64)))


# ----------------------------------------------------------------------------- the gradient lemma
def test_first_step_gradient_autograd_equals_the_first_order_formula_on_the_same_sequences():
    """Notes Section 4.2: -(T (i+1) S / beta0) dL/dA1_ij -> S E[(pi(s_i|s_T)/f_hat(s_i) - P_present) d_ij]
    as beta0 -> 0. On the same sequences the two differ by O(beta0) = 1e-4 per unit: assert <= 2e-3."""
    g = vc.first_step_gradient(parents=nc.chain_graph(12), S=3, alpha=1.0, n_sequences=2**14, batch=2**12)
    assert np.abs(g.gradient - g.formula).max() <= 2e-3
    assert np.all(g.gradient[0] == 0) or np.abs(g.gradient[0]).max() <= 1e-9  # row 0: one position, no gradient


@functools.lru_cache(maxsize=1)
def _gradient_checks():
    return checks.check_gradient_lemma("quick")


@pytest.mark.parametrize("name", ["chain", "random tree"])
def test_gradient_lemma_autograd_matches_numerics_row_by_row(name):
    """The gradient lemma: autograd (torch) = the first-order formula evaluated by numerics (numpy,
    independent draws) within 5 combined SE on every context entry; row argmax = parent = the
    information argmax (numerics.predicted_parents)."""
    mine = [r for r in _gradient_checks() if f"{name}, S=" in r.claim or f"({name})" in r.claim]
    assert len(mine) == 2
    for r in mine:
        assert r.passed and r.source in SOURCES, r


# ----------------------------------------------------------------------------- trained claims
def test_algorithm1_recovers_the_graph():
    """Theorem (Algorithm 1): softmax(A1)_{i,p(i)} >= 0.95 and argmax = p(i) at every non-root i."""
    for r in checks.check_algorithm1_recovers_graph("quick"):
        assert r.passed and r.source in SOURCES, r


def test_induction_head_on_the_chain():
    """Corollary: on in-context Markov chains layer 1 is a previous-token head, layer 2 matches the
    query token (A2 ~ beta I), and the trained model itself outputs the in-context empirical
    conditional (mean TV <= 0.05)."""
    for r in checks.check_induction_head("quick"):
        assert r.passed and r.source in SOURCES, r


def test_joint_training_nearer_bayes_than_graph_blind_and_recovers_the_adjacency():
    """Figure 2: jointly trained, the position block of A1 reproduces Adj(G); the loss lies nearer the
    Bayes-style loss than the graph-blind loss (paired, 5 SE; the distance to Bayes is measured with its
    SE in the row's detail) and falls from half the steps to all of them (5 paired SE)."""
    for r in checks.check_joint_training("quick"):
        assert r.passed and r.source in SOURCES, r


def test_ood_permutation_predicts_the_in_context_conditional():
    """Theorem (OOD): on a deterministic permutation pi the trained model (Algorithm 1, the query row of A1
    not trained) outputs pi_hat (mean TV <= 0.05, issue 4)."""
    r = checks.check_ood_permutation("quick")
    assert r.passed and r.source == "reconstructed", r


def test_two_heads_use_both_parents_and_split_them():
    """Figure 5 (quick: S = 3, T = 16, 8000 AdamW steps of batch 512): with two layer-1 heads the loss
    falls below the one-parent baseline, and the heads' argmaxes are the two parents at more than half of
    the two-parent rows (the query row aside; validation.checks.nichani2024.SPLIT_REQUIRED, argued there)."""
    for r in checks.check_two_heads("quick"):
        assert r.passed and r.source in SOURCES, r


@pytest.mark.slow
def test_two_heads_split_the_two_parents_at_paper_scale():
    """Figure 5 (paper: S = 5, T = 32, 2^16 AdamW steps of batch 1024, hours on a CPU): each layer-1
    head's argmax is a different parent at >= 90 % of the two-parent nodes."""
    for r in checks.check_two_heads("paper"):
        assert r.passed, r


def test_errata_bayes_baseline():
    """Errata: correct Bayes-style chain loss 1.7625 vs the authors' 1.7753 (S = 10, T = 20, alpha = 0.1)."""
    for r in checks.check_errata_bayes("quick"):
        assert r.passed and r.source in SOURCES, r


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_errata_bayes_baseline_at_fresh_seeds(seed):
    """The cheapest statistical group (the Bayes-baseline errata, Monte Carlo at 5 SE) at three fresh
    seeds: every row passes (at 5 SE a failure has probability about 1e-6 per row)."""
    rows = checks.check_errata_bayes("quick", seed=seed)
    base = checks.check_errata_bayes("quick")
    assert [r.measured for r in rows] != [r.measured for r in base]  # the seed moves the draws
    for r in rows:
        assert r.passed, (seed, r)


#: every check group of nichani2024 is statistical (Monte Carlo draws or a trained run)
STATISTICAL_GROUPS = [fn.__name__ for fn in checks.CHECKS]


@pytest.mark.slow
@pytest.mark.parametrize("group", STATISTICAL_GROUPS)
def test_every_statistical_check_group_passes_at_ten_fresh_seeds(group):
    """Issue 9 item 5: each statistical check group passes at seeds 1..10 (quick profile; the trained
    groups train a fresh run per seed). The message reports the failure rate over seeds."""
    fn = getattr(checks, group)
    failed = []
    for seed in range(1, 11):
        out = fn("quick", seed=seed)
        rows = out if isinstance(out, list) else [out]
        failed += [(seed, r.claim, r.measured, r.tolerance) for r in rows if not r.passed]
    seeds = sorted({f[0] for f in failed})
    assert not failed, f"{group}: {len(seeds)}/10 seeds failed ({len(failed)} rows): {failed}"


def test_algorithm1_keeps_the_query_row_uniform_unless_asked():
    """train_two_stage: the query s_T is no child in G, so stage 1 leaves the query row of A1 at 0
    (uniform attention) by default; with train_query_row=True that row moves (its gradient is not 0)."""
    kw = dict(parents=nc.chain_graph(8), S=3, alpha=0.1, steps1=1, steps2=0, batch=256, test_size=64, seed=3)
    fixed, free = vc.train_two_stage(**kw), vc.train_two_stage(train_query_row=True, **kw)
    assert np.all(fixed.A1[-1] == 0.0)
    assert np.abs(free.A1[-1]).max() > 0.0
    # after one step the other rows agree: same draws, same parameters, so the same gradient
    assert np.array_equal(fixed.A1[:-1], free.A1[:-1])


def test_same_seed_same_training_and_other_seed_differs():
    """Same seed -> bit-identical training; another seed -> different numbers."""
    kw = dict(parents=(-1, 0, 1, 2), S=3, alpha=1.0, steps1=3, steps2=3, batch=64, test_size=128)
    a, b, c = vc.train_two_stage(seed=1, **kw), vc.train_two_stage(seed=1, **kw), vc.train_two_stage(seed=2, **kw)
    assert np.array_equal(a.A1, b.A1) and np.array_equal(a.losses, b.losses)
    assert not np.array_equal(a.A1, c.A1)
    kw = dict(parents=(-1, 0, 1), S=3, steps=3, batch=32, test_size=64)
    d, e = vc.train_disentangled(seed=4, **kw), vc.train_disentangled(seed=4, **kw)
    assert np.array_equal(d.W, e.W) and np.array_equal(d.losses, e.losses)


@pytest.mark.parametrize("kwargs, name", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=-1), "alpha"), (dict(S=1), "S"), (dict(parents=(-1, 2, 0)), "parents"),
    (dict(parents=[[], [], [0, 1]]), "parent"), (dict(epsilon=1.0), "epsilon"), (dict(epsilon=0.0), "epsilon"),
    (dict(batch=0), "batch"), (dict(beta0=0.0), "beta0"), (dict(device="cuda:0"), "device"),
])
def test_bad_input_raises_value_error_naming_the_argument(kwargs, name):
    """Bad arguments -> ValueError whose message names the argument."""
    if name == "device" and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    args = dict(parents=(-1, 0, 1), S=3, alpha=1.0, steps1=1, steps2=1, batch=8, test_size=8) | kwargs
    with pytest.raises(ValueError, match=name):
        vc.train_two_stage(**args)


@pytest.mark.parametrize("kwargs, name", [(dict(heads=(0, 1)), "heads"), (dict(optimizer="rmsprop"), "optimizer"),
                                          (dict(steps=-1), "steps"), (dict(lr=0.0), "lr"),
                                          (dict(schedule="linear"), "schedule")])
def test_bad_training_options_raise(kwargs, name):
    """train_disentangled validates heads, optimizer, steps, lr and schedule."""
    args = dict(parents=(-1, 0, 1), S=3, steps=1, batch=8, test_size=8) | kwargs
    with pytest.raises(ValueError, match=name):
        vc.train_disentangled(**args)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_training_runs_on_cuda():
    """device='cuda': sampling and training on the GPU give finite losses and the same shapes."""
    r = vc.train_disentangled(parents=(-1, 0, 1, 2), S=3, steps=20, batch=64, test_size=128, device="cuda")
    assert np.isfinite(r.final_loss) and r.attention.shape == (1, 4, 4)
    g = vc.first_step_gradient(parents=(-1, 0, 1, 2), S=3, n_sequences=2**12, batch=2**10, device="cuda")
    assert np.isfinite(g.gradient).all()


# ----------------------------------------------------------------------------- figures
@pytest.mark.parametrize("name", ["fig2", "fig5", "fig6", "fig7", "fig8", "fig9", "gradient_matrix",
                                  "information_vs_distance"])
def test_every_figure_writes_its_artifacts(name, tmp_path):
    """Each figure writes png, pdf, npz and json (tiny '_smoke' sizes); unknown profile -> ValueError."""
    from paper_figs.nichani2024 import FIGURES

    paths = FIGURES[name](profile="_smoke", out=tmp_path, seed=0)
    assert sorted(p.suffix for p in paths) == [".json", ".npz", ".pdf", ".png"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    with pytest.raises(ValueError, match="profile"):
        FIGURES[name](profile="huge", out=tmp_path)


# ----------------------------------------------------------------------------- the run store
def test_runs_go_through_the_store_and_results_pickle():
    """validation.runs.nichani2024: the same config trains once per store (the second call, spelled with
    the defaults written out, reuses it), and a CausalResult survives a pickle round trip (the store
    writes results with joblib)."""
    import pickle

    from validation.runs import nichani2024 as runs
    from validation.store import use_store

    with use_store(None) as store:
        a = runs.single("_smoke", "chain")
        b = runs.single("_smoke", "chain", seed=0, fraction=1.0)
        assert a is b and (store.trained, store.reused) == (1, 1)
    back = pickle.loads(pickle.dumps(a))
    assert np.array_equal(back.attention, a.attention) and np.array_equal(back.losses, a.losses)
    assert back.bayes_loss == a.bayes_loss and back.params.keys() == a.params.keys()
    with pytest.raises(ValueError, match="profile"):
        runs.single_config("huge")
