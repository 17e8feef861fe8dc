"""von Oswald et al. 2023, validation layer: the torch LSA, its constructions and trained models.

Routes: the torch constructions against the numpy predictors of numerics.lsa (float64, round-off
tolerances); the fast batched forward against a per-token loop; trained models against
theory.lsa (eta*, L*) and numerics.lsa (K-step GD, GD++) on fresh Monte-Carlo tasks, with the
standard errors computed here.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.lsa import (
    dampened_rollout,
    gd_predict,
    gdpp_predict,
    kstep_gd_predict,
    sample_tasks,
)
from theory.laws import Uniform
from theory.lsa import one_step_loss, optimal_step_size
from validation.lsa import (
    LSA,
    TaskSampler,
    alignment_metrics,
    construction_weights,
    curvature_readout,
    effective_step_size,
    interpolate_weights,
    lsa_forward,
    lsa_forward_loop,
    lsa_predict,
    lsa_rollout_losses,
    make_tokens,
    pad_weights,
    train_lsa,
)

HALF = Uniform(sp.Rational(1, 2))  # the code's U(-1/2, 1/2): input_range = 1
ETA_STAR = float(optimal_step_size(10, 10, HALF))  # 200/33 = 6.0606
L_STAR = float(one_step_loss(optimal_step_size(10, 10, HALF), 10, 10, HALF))  # 0.20623


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small tensors: one intra-op thread is fastest (the training data come from a second thread)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _t(*arrays):
    return tuple(torch.as_tensor(np.asarray(a, dtype=float)) for a in arrays)


def _rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def _fresh_tasks(n, seed, d=10, N=10):
    return sample_tasks(n, d, N, law="uniform(1/2)", seed=seed)


def _paired(loss_a, loss_b):
    """Mean and standard error of the per-task difference of two 1/2-losses on the same tasks."""
    diff = loss_a - loss_b
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(diff.size))


# ----------------------------------------------------------------------------- constructions


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 6), N=st.integers(1, 8), eta=st.floats(0.01, 20.0), seed=st.integers(0, 10**6))
def test_prop1_constructed_lsa_layer_equals_one_gd_step(d, N, eta, seed):
    """Prop. 1: the LSA layer with W_KQ = diag(I, 0), P W_V = [[0, 0], [0, -eta/N]] predicts
    minus its query slot = (eta/N) sum_i y_i x_i.x_q, one GD step from W0 = 0 (float64, 1e-12)."""
    X, y, x_q, y_q, w = sample_tasks(16, d, N, seed=seed)
    KQ, PV = construction_weights(d, N, eta)
    pred = lsa_forward(make_tokens(*_t(X, y, x_q)), KQ, PV).numpy()
    assert _rel_err(pred, gd_predict(X, y, x_q, eta)) <= 1e-12


@pytest.mark.parametrize("K", [1, 2, 3, 5])
def test_k_tied_layers_equal_k_gd_steps_and_untied_layers_per_step_sizes(K):
    """§3: K stacked construction layers are K GD steps, tied (one eta) or untied (eta_k)."""
    X, y, x_q, _, _ = _fresh_tasks(64, seed=K)
    KQ, PV = construction_weights(10, 10, ETA_STAR)
    tied = lsa_forward(make_tokens(*_t(X, y, x_q)), KQ, PV, layers=K).numpy()
    assert _rel_err(tied, kstep_gd_predict(X, y, x_q, [ETA_STAR] * K)) <= 1e-12
    etas = np.linspace(2.0, 9.0, K)
    KQ, PV = construction_weights(10, 10, etas)
    untied = lsa_forward(make_tokens(*_t(X, y, x_q)), KQ, PV, layers=K).numpy()
    assert _rel_err(untied, kstep_gd_predict(X, y, x_q, etas)) <= 1e-12


def test_hundred_tied_layers_with_W0_and_multi_output_equal_explicit_gd_loop():
    """Notes check 2 (the constructed notebook's oracle): d_x = 12, d_y = 8, N = 45, eta = 1,
    random W0, 100 tied layers vs an explicit 100-step GD loop; relative difference <= 1e-8."""
    rng = np.random.default_rng(7)
    B, N, dx, dy, eta = 3, 45, 12, 8, 1.0
    X = rng.uniform(-0.5, 0.5, (B, N, dx))
    W_true = rng.standard_normal((B, dy, dx))
    Y = np.einsum("bij,bnj->bni", W_true, X)  # (B, N, dy)
    x_q = rng.uniform(-0.5, 0.5, (B, dx))
    W0 = rng.standard_normal((dy, dx))
    W = np.broadcast_to(W0, (B, dy, dx)).copy()
    for _ in range(100):  # explicit GD on L(W) = 1/(2N) sum_i |W x_i - y_i|^2
        R = np.einsum("bij,bnj->bni", W, X) - Y
        W = W - eta / N * np.einsum("bni,bnj->bij", R, X)
    expected = np.einsum("bij,bj->bi", W, x_q)
    KQ, PV = construction_weights(dx, N, eta, d_y=dy, W0=W0)
    E = make_tokens(*_t(X, Y, x_q), W0=torch.as_tensor(W0))
    pred = lsa_forward(E, KQ, PV, layers=100, d_y=dy).numpy()
    assert np.linalg.norm(pred - expected) / np.linalg.norm(expected) <= 1e-8


@pytest.mark.parametrize("recurrent", [True, False])
def test_gdpp_construction_equals_gdpp_predictor(recurrent):
    """§3 / eq. 23: with P W_V = [[-gamma I, 0], [0, -eta/N]] every layer maps x <- (I - gamma X X^T) x
    (Gram not divided by N) plus a GD step: equals numerics.lsa.gdpp_predict (float64, 1e-12)."""
    X, y, x_q, _, _ = _fresh_tasks(64, seed=11)
    etas, gammas = ([13.5] * 3, [0.17] * 3) if recurrent else ([9.0, 14.0, 30.0], [0.2, 0.15, 0.0])
    KQ, PV = construction_weights(10, 10, etas, gammas)
    if recurrent:
        KQ, PV = KQ[:1], PV[:1]
    pred = lsa_forward(make_tokens(*_t(X, y, x_q)), KQ, PV, layers=3).numpy()
    assert _rel_err(pred, gdpp_predict(X, y, x_q, etas, gammas)) <= 1e-12


def test_rollout_of_constructed_layer_equals_dampened_gd():
    """A.6: applying the one-step layer 20 times with dampening lambda = 0.75 is GD with step
    lambda * eta* (numerics.lsa.dampened_rollout), whether only the y-channel moves or all do."""
    X, y, x_q, y_q, _ = _fresh_tasks(500, seed=3)
    KQ, PV = construction_weights(10, 10, ETA_STAR)
    expected, _ = dampened_rollout(X, y, x_q, y_q, ETA_STAR, 0.75, 20)
    for y_only in (True, False):
        got = lsa_rollout_losses(KQ, PV, X, y, x_q, y_q, steps=20, dampening=0.75, y_only=y_only)
        assert _rel_err(got, expected) <= 1e-12


# ----------------------------------------------------------------------------- fast path


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 4), N=st.integers(1, 5), layers=st.integers(1, 3), recurrent=st.booleans(),
       heads=st.integers(1, 3), softmax=st.booleans(), key_size=st.integers(1, 6),
       dampening=st.sampled_from([1.0, 0.75]), clip=st.sampled_from([None, 0.8]),
       seed=st.integers(0, 10**6))
def test_batched_forward_equals_per_token_loop(d, N, layers, recurrent, heads, softmax, key_size,
                                               dampening, clip, seed):
    """The batched forward on merged weights (sufficient statistic C for linear attention) equals a
    plain per-task, per-token, per-head loop on the factored W_Q, W_K, W_V, W_O (float64)."""
    g = torch.Generator().manual_seed(seed)
    model = LSA(d=d, layers=layers, recurrent=recurrent, heads=heads, key_size=key_size, softmax=softmax,
                init_scale=3.0, dampening=dampening, clip=clip, generator=g)
    E, _ = TaskSampler(d, N, "uniform(1/2)", dtype=torch.float64)(3, g)
    with torch.no_grad():
        fast = model(E)
        slow = lsa_forward_loop(E, *model.factors(), layers=layers, softmax=softmax,
                                dampening=dampening, clip=clip)
    assert _rel_err(fast, slow) <= 1e-10


@pytest.mark.parametrize("layers,softmax", [(1, False), (2, False), (3, True)])
def test_padded_tokens_and_precomputed_statistic_leave_the_model_unchanged(layers, softmax):
    """The training fast path (tokens padded with zero channels between x and y, C = sum_i e_i e_i^T
    drawn with the batch) computes the same function as the plain tokens (float64, 1e-12)."""
    g = torch.Generator().manual_seed(1)
    model = LSA(d=10, layers=layers, heads=2, softmax=softmax, init_scale=1.0, generator=g)
    E_pad, y_q, *C = TaskSampler(10, 10, "uniform(1/2)", dtype=torch.float64, pad=1,
                                 stats=not softmax)(32, torch.Generator().manual_seed(2))
    assert torch.all(E_pad[..., 10] == 0)
    E = torch.cat([E_pad[..., :10], E_pad[..., 11:]], dim=-1)
    if C:
        ctx = E_pad[:, :10]
        assert torch.allclose(C[0], ctx.transpose(1, 2) @ ctx, rtol=1e-14, atol=1e-14)
    with torch.no_grad():
        assert _rel_err(model(E_pad, *C), model(E)) <= 1e-12
    KQ, _ = model.merged()
    padded, keep = pad_weights(KQ, 10, 1), [i for i in range(12) if i != 10]
    assert torch.equal(padded[..., keep, :][..., keep], KQ)
    assert torch.all(padded[..., 10, :] == 0) and torch.all(padded[..., :, 10] == 0)


def test_rescaling_invariance_of_trained_parametrisation():
    """Prop. 1 remark: only P W_V and W_K^T W_Q matter; (s P W_V, W_K^T W_Q / s) gives the same
    outputs, and so does W_Q -> s W_Q, W_O -> W_O / s in the factored model; the read-outs too."""
    X, y, x_q, _, _ = _fresh_tasks(64, seed=5)
    g = torch.Generator().manual_seed(3)
    model = LSA(d=10, layers=2, recurrent=True, init_scale=1.0, generator=g)
    E = make_tokens(*_t(X, y, x_q))
    with torch.no_grad():
        KQ, PV = model.merged()
        base = lsa_forward(E, KQ, PV, layers=2)
        for s in (0.01, 3.0, -7.0):
            assert _rel_err(lsa_forward(E, KQ / s, s * PV, layers=2), base) <= 1e-12
            assert np.allclose(effective_step_size(KQ / s, s * PV, 10), effective_step_size(KQ, PV, 10),
                               rtol=1e-12, atol=0)
        W_Q, _, _, W_O = model.factors()
        W_Q.mul_(5.0)
        W_O.div_(5.0)
        assert _rel_err(model(E), base) <= 1e-12


def test_readouts_recover_the_constructions_step_size_and_curvature():
    """The weight read-outs give back eta (Prop. 1: eta = -N (P W_V)[-1,-1] mean diag W_KQ,xx) and
    GD++'s gamma, also after a rescaling; interpolating a rescaled construction with itself
    returns the construction (A.3)."""
    KQ, PV = construction_weights(10, 10, [6.0, 13.0], [0.17, 0.0])
    assert np.allclose(effective_step_size(KQ, PV, 10), [6.0, 13.0], rtol=1e-14)
    assert np.allclose(curvature_readout(KQ, PV), [0.17, 0.0], rtol=1e-14, atol=1e-15)
    iKQ, iPV = interpolate_weights(2.5 * KQ, PV / 2.5, KQ, PV)
    assert torch.allclose(iKQ, KQ, rtol=1e-14, atol=1e-15) and torch.allclose(iPV, PV, rtol=1e-14, atol=1e-15)


def test_alignment_metrics_of_a_model_with_itself_and_with_a_scaled_copy():
    """preds diff = model diff = 0 and model cos = 1 for identical models; a copy with doubled
    implicit weights keeps cos = 1 and has model diff = mean |g| (the code's analyse)."""
    X, y, x_q, _, _ = _fresh_tasks(200, seed=9)
    KQ, PV = construction_weights(10, 10, ETA_STAR)
    xq = torch.as_tensor(x_q).requires_grad_()
    E = make_tokens(*_t(X, y), xq)
    pred = lsa_forward(E, KQ, PV)
    (grad,) = torch.autograd.grad(pred.sum(), xq)
    same = alignment_metrics(pred.detach(), grad, pred.detach(), grad)
    assert same["preds_diff"] == 0 and same["model_diff"] == 0 and abs(same["model_cos"] - 1) <= 1e-6
    double = alignment_metrics(pred.detach(), grad, 2 * pred.detach(), 2 * grad)
    assert abs(double["model_cos"] - 1) <= 1e-6
    assert math.isclose(double["model_diff"], float(grad.norm(dim=-1).mean()), rel_tol=1e-12)


def test_torch_task_sampler_follows_the_code_conventions():
    """create_reg_data: x ~ U(-1/2, 1/2)^d, w ~ N(0, I), y = w.x, query row (x_q, 0); so
    E[x^2] = 1/12 and E[y_q^2] = d/12 (checked within 5 standard errors computed here)."""
    n, d, N = 20000, 10, 10
    E, y_q = TaskSampler(d, N, "uniform(1/2)", dtype=torch.float64)(n, torch.Generator().manual_seed(0))
    assert E.shape == (n, N + 1, d + 1) and torch.all(E[:, -1, -1] == 0)
    x = E[..., :d].numpy()
    assert np.abs(x).max() <= 0.5
    x2 = (x**2).ravel()
    assert abs(x2.mean() - 1 / 12) <= 5 * x2.std() / math.sqrt(x2.size)
    yq2 = (y_q**2).numpy()
    assert abs(yq2.mean() - d / 12) <= 5 * yq2.std() / math.sqrt(n)
    # y = w.x exactly, with one w per task: the context and the query targets are one linear map
    Xa = E[:, :, :d].numpy()
    ya = np.concatenate([E[:, :N, d].numpy(), y_q.numpy()[:, None]], axis=1)
    w = np.linalg.lstsq(Xa[0], ya[0], rcond=None)[0]
    assert np.allclose(Xa[0] @ w, ya[0], atol=1e-12)
    for law, check in [("sphere(2)", lambda x: np.allclose(np.linalg.norm(x, axis=-1), 2.0)),
                       ("rademacher(3)", lambda x: np.all(np.abs(x) == 3.0)),
                       ("sparse_axis(1)", lambda x: np.all((x != 0).sum(-1) == 1)),
                       ("full_one(2)", lambda x: np.all(x == 2.0))]:
        E, _ = TaskSampler(4, 3, law, dtype=torch.float64)(50, torch.Generator().manual_seed(1))
        assert check(E[..., :4].numpy()), law


# ----------------------------------------------------------------------------- trained models


def _check_one_layer(result, n_mc=200_000):
    """Trained 1-layer LSA vs theory on fresh tasks: loss within 3 % of L*, eta within 5 %, cos >= 0.99."""
    assert math.isclose(result.eta_star, ETA_STAR) and math.isclose(result.theory_loss, L_STAR)
    X, y, x_q, y_q, _ = _fresh_tasks(n_mc, seed=2023)
    per_tf = 0.5 * (result.predict(X, y, x_q) - y_q) ** 2
    per_gd = 0.5 * (gd_predict(X, y, x_q, ETA_STAR) - y_q) ** 2
    se = per_tf.std(ddof=1) / math.sqrt(n_mc)
    # 2e5 tasks: SE ~ 0.4 % of L*, so the 3 % band is >= 5 SE wide (asserted, else the check is moot)
    assert 5 * se <= 0.03 * L_STAR
    assert abs(per_tf.mean() - L_STAR) <= 0.03 * L_STAR
    # L* is the population minimum over one-layer LSA models (notes §7.2): the trained model can
    # only beat GD(eta*) on the same tasks by Monte-Carlo noise (5 SE of the paired difference)
    diff, diff_se = _paired(per_tf, per_gd)
    assert -5 * diff_se <= diff <= 0.03 * L_STAR
    assert abs(result.step_size - ETA_STAR) <= 0.05 * ETA_STAR
    assert result.alignment["model_cos"] >= 0.99
    # the construction's shape (Fig 9): P W_V keeps only its [-1, -1] entry, W_KQ's x-block ~ beta I
    KQ, PV = result.W_KQ[0, 0], result.W_PV[0, 0]
    beta = np.mean(np.diag(KQ)[:10])
    assert np.max(np.abs(KQ[:10, :10] / beta - np.eye(10))) <= 0.1
    assert np.max(np.abs(np.delete(PV.ravel(), -1))) <= 0.1 * abs(PV[-1, -1])


def test_trained_one_layer_lsa_reaches_the_one_step_gd_optimum_quick():
    """§3 / Fig 2 (quick scale): a trained one-layer LSA reaches L* = one_step_loss(eta*) = 0.2062
    (within 3 %), implements eta* = 6.06 (within 5 %) and aligns with GD (model cos >= 0.99).

    1000 steps of 2048 fresh tasks: the loss leaves its plateau after 300-600 steps for the seeds
    we tried and is then flat to < 1 %; the 3 %, 5 % and 0.99 bands are the issue's claims.
    """
    result = train_lsa(steps=1000, batch=2048, eval_tasks=4000, log_every=250, seed=0)
    assert result.losses[0] > 0.35  # starts at the zero predictor's 1/2 d sigma^2 = 0.4167 (MC)
    _check_one_layer(result)
    # the interpolation of the rescaled trained weights with the construction is as good (A.3)
    assert result.interpolation_loss <= 1.03 * result.gd_loss


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trained_one_layer_lsa_reaches_the_one_step_gd_optimum_paper_scale(seed):
    """Fig 2 at the paper's scale: 5000 steps, batch 2048, 10^4 evaluation tasks."""
    result = train_lsa(seed=seed)
    _check_one_layer(result)
    assert result.alignment["model_cos"] >= 0.995


def _check_two_layer(result, n_mc=100_000):
    X, y, x_q, y_q, _ = _fresh_tasks(n_mc, seed=2024)
    per_tf = 0.5 * (result.predict(X, y, x_q) - y_q) ** 2
    per_gd = 0.5 * (kstep_gd_predict(X, y, x_q, result.gd_etas) - y_q) ** 2
    per_pp = 0.5 * (gdpp_predict(X, y, x_q, result.gdpp_etas, result.gdpp_gammas) - y_q) ** 2
    diff, se = _paired(per_tf, per_gd)
    assert diff < -5 * se  # beats 2-step GD beyond 5 standard errors (the gap is ~0.04, SE ~1e-3)
    diff, se = _paired(per_tf, per_pp)
    assert 5 * se <= 0.05 * per_pp.mean()  # the band below is >= 5 SE wide
    assert diff <= 0.05 * per_pp.mean()  # within 5 % of 2-step GD++ (fitted eta, gamma)
    return per_tf.mean(), per_gd.mean(), per_pp.mean()


def test_two_layer_recurrent_lsa_beats_two_step_gd_and_matches_gdpp_quick():
    """Fig 3(a), quick proxy: a 2-layer recurrent LSA beats 2-step GD (0.157) and comes within 5 %
    of recurrent 2-step GD++ (0.110, gamma ~ 0.175).

    lr 2e-3 instead of the code's 1e-3 halves the time to leave the 2-step-GD plateau; 1200
    steps of 2048 tasks then sit within 1-4 % of GD++ for the seeds we tried (Adam's noise at
    this lr); the paper-scale test below uses the code's lr and 5000 steps.
    """
    result = train_lsa(layers=2, steps=1200, lr=2e-3, batch=2048, eval_tasks=4000, log_every=300, seed=0)
    _check_two_layer(result)
    # the curvature read-out against GD++'s gamma is not asserted: over 20 seeds of the quick check run it
    # is bimodal (-4 % or -26..-47 % of GD++'s gamma, benchmarks/results/lsa_trained_spread.json), so no
    # tolerance of ours would be argued; the old 25 % band was not


@pytest.mark.slow
def test_two_layer_recurrent_lsa_matches_gdpp_paper_scale():
    """Fig 3(a) at the code's settings (lr 1e-3, 5000 steps): beats 2-step GD, within 5 % of GD++,
    and aligns with GD++ (model cos >= 0.99)."""
    result = train_lsa(layers=2)
    _check_two_layer(result)
    assert result.alignment_gdpp["model_cos"] >= 0.99


# ----------------------------------------------------------------------------- contracts


def test_same_seed_gives_identical_losses_with_or_without_the_sampler_thread():
    """Same seed -> bit-identical losses and weights (prefetching draws the same stream in order)."""
    kw = dict(steps=30, batch=64, eval_tasks=64, log_every=10, layers=2, gdpp_fit_tasks=500)
    a = train_lsa(seed=3, prefetch=True, **kw)
    b = train_lsa(seed=3, prefetch=False, **kw)
    c = train_lsa(seed=4, **kw)
    assert np.array_equal(a.losses, b.losses) and np.array_equal(a.W_KQ, b.W_KQ)
    assert a.steps.tolist() == [0, 10, 20, 30] and np.all(np.isfinite(a.losses))
    assert not np.array_equal(a.losses[1:], c.losses[1:])


@pytest.mark.parametrize("kwargs,name", [
    (dict(d=0), "d"), (dict(N=-1), "N"), (dict(layers=0), "layers"), (dict(steps=0), "steps"),
    (dict(batch=0), "batch"), (dict(lr=-1e-3), "lr"), (dict(heads=0), "heads"), (dict(seed=-1), "seed"),
    (dict(dampening=0.0), "dampening"), (dict(eval_tasks=1), "eval_tasks"), (dict(log_every=0), "log_every"),
    (dict(grad_clip=-1.0), "grad_clip"), (dict(law="cauchy(1)"), "law"), (dict(device="tpu"), "device"),
    (dict(dtype=torch.int64), "dtype"), (dict(key_size=0), "key_size"), (dict(init_scale=0.0), "init_scale"),
])
def test_bad_input_raises_value_error_naming_the_argument(kwargs, name):
    """Bad arguments fail early with a ValueError that names the argument."""
    with pytest.raises(ValueError, match=name):
        train_lsa(**{**dict(steps=1, batch=4, eval_tasks=4), **kwargs})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_cuda_training_runs_and_constructions_agree_with_cpu():
    """device="cuda": the construction gives the CPU's predictions, and a short training run works."""
    X, y, x_q, _, _ = _fresh_tasks(256, seed=1)
    KQ, PV = construction_weights(10, 10, ETA_STAR, device="cuda")
    E = make_tokens(*(t.cuda() for t in _t(X, y, x_q)))
    assert _rel_err(lsa_forward(E, KQ, PV, layers=3).cpu().numpy(),
                    kstep_gd_predict(X, y, x_q, [ETA_STAR] * 3)) <= 1e-12
    result = train_lsa(steps=50, batch=512, eval_tasks=512, log_every=25, device="cuda")
    assert np.all(np.isfinite(result.losses)) and result.losses[-1] < result.losses[0]


def test_lsa_predict_matches_the_result_method_and_softmax_heads_train():
    """The numpy entry point equals LSAResult.predict; a 2-head softmax model trains (finite losses,
    no interpolation, which the code defines for one linear head only)."""
    r = train_lsa(steps=20, batch=128, eval_tasks=64, log_every=10, heads=2, softmax=True)
    X, y, x_q, _, _ = _fresh_tasks(32, seed=0)
    assert np.array_equal(r.predict(X, y, x_q), lsa_predict(r.W_KQ, r.W_PV, X, y, x_q, softmax=True))
    assert r.interpolation_loss is None and np.all(np.isfinite(r.losses)) and r.W_KQ.shape == (1, 2, 11, 11)
