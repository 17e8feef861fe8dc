"""Tests of von Oswald et al. 2023 Figs 7, 8, 14, 15: the general transformer blocks, their trainer, the figures.

- The blocks model against two independent implementations: with LayerNorm and MLP off it is the
  attention-only LSA (``validation.lsa.lsa_forward`` on the merged weights, same init draws); with them on,
  a per-token Python loop written from the authors' ``trans_block`` (transformer.py lines 156-220).
- The trainer: a killed run resumes bit-equal through the run store; a fixed training set is the same
  tensor at every step.
- The figures: each writes its artifacts at ``_smoke`` sizes with the exact theory lines; at the quick profile
  every companion row passes (``draw_quick_figures``, tests/conftest.py); the drop-time read-out on
  hand-made arrays; the paper profile's companions in a ``slow`` test.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp
import torch

from paper_figs import vonoswald2023 as figs
from paper_figs.registry import check_figure
from paper_figs.vonoswald2023.deep_seeds import drop_times
from theory.lsa import optimal_one_step_loss, zero_predictor_loss
from validation.checks import SOURCES
import validation.lsa.blocks_training as blocks_training
from validation.lsa import LSA, BlockSpec, BlockTransformer, block_forward, lsa_forward, train_blocks, unpack
from validation.runs.vonoswald2023 import all_configs, deep_configs, fig15_runs, figure_run
from validation.store import RunConfig, use_store
from validation.threads import limit_threads

PAPER = "vonoswald2023"
NEW = ("fig7", "fig8", "fig14", "fig15")


# ----------------------------------------------------------------------------- the model
@pytest.mark.parametrize("recurrent,layers,heads,softmax", [(True, 1, 1, False), (False, 3, 1, False),
                                                            (True, 4, 1, False), (False, 2, 2, True),
                                                            (True, 2, 3, False)])
def test_blocks_without_ln_and_mlp_equal_the_lsa_forward_on_the_same_weights(recurrent, layers, heads, softmax):
    """With LayerNorm and MLP off the block model is the attention-only LSA: the same generator draws the same
    attention weights (theta equal), and the prediction equals ``lsa_forward`` on W_KQ = W_K^T W_Q and
    W_PV = W_O W_V (float64, round-off)."""
    kw = dict(layers=layers, recurrent=recurrent, heads=heads, softmax=softmax)
    lsa = LSA(d=4, init_scale=0.5, generator=torch.Generator().manual_seed(3), **kw)
    blk = BlockTransformer(BlockSpec.of(d=4, **kw), init_scale=0.5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(lsa.theta.detach(), blk.theta.detach())
    E = torch.randn(7, 6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        KQ, PV = lsa.merged()
        ref = lsa_forward(E, KQ, PV, layers=layers, softmax=softmax)
        out = blk(E)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12 * float(ref.abs().max()))


def _reference(E, spec, P):
    """Per-token loops from the authors' trans_block: LN1 (skipped before layer 0 if untied), attention over the
    context rows, residual, token clip, then LN2 + GELU(tanh) MLP + residual, clip; readout -E[-1, -1]."""
    out = []
    N = E.shape[1] - 1

    def ln(v, g, b):
        mu = v.mean()
        var = ((v - mu) ** 2).mean()
        return (v - mu) / torch.sqrt(var + 1e-5) * g + b

    def gelu(u):
        return 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))

    for b in range(E.shape[0]):
        tok = [E[b, j].clone() for j in range(N + 1)]
        for layer in range(spec.layers):
            li = 0 if spec.recurrent else layer
            use_ln = spec.layernorm and (spec.recurrent or layer > 0)
            h = [ln(t, P["ln1_scale"][li], P["ln1_offset"][li]) if use_ln else t for t in tok]
            new = []
            for j in range(N + 1):
                heads = []
                for hd in range(spec.heads):
                    q = P["W_Q"][li, hd] @ h[j]
                    s = torch.stack([q @ (P["W_K"][li, hd] @ h[i]) for i in range(N)])
                    if spec.softmax:
                        s = torch.softmax(s / math.sqrt(spec.key_size), 0)
                    heads.append(sum(s[i] * (P["W_V"][li, hd] @ h[i]) for i in range(N)))
                e = tok[j] + P["W_O"][li] @ torch.cat(heads)
                new.append(e.clamp(-spec.clip, spec.clip) if spec.clip else e)
            tok = new
            if spec.mlp:
                new = []
                for t in tok:
                    u = ln(t, P["ln2_scale"][li], P["ln2_offset"][li]) if spec.layernorm else t
                    e = t + P["W_2"][li] @ gelu(P["W_1"][li] @ u)
                    new.append(e.clamp(-spec.clip, spec.clip) if spec.clip else e)
                tok = new
        out.append(-tok[-1][-1])
    return torch.stack(out)


@pytest.mark.parametrize("recurrent,layers,heads,softmax,layernorm,mlp,clip", [
    (True, 1, 1, False, True, False, None), (False, 2, 1, False, True, False, None),
    (False, 3, 4, False, False, True, 2.0), (True, 2, 2, True, True, True, None), (False, 2, 1, False, True, True, None)])
def test_blocks_equal_a_per_token_loop_of_the_authors_trans_block(recurrent, layers, heads, softmax, layernorm, mlp,
                                                                   clip):
    """LayerNorm placement (before every layer if tied; untied models skip it before layer 0), GELU MLP block with
    residual and LN2, heads, softmax and token clip: the batched forward equals the per-token reference loop."""
    spec = BlockSpec.of(d=3, layers=layers, recurrent=recurrent, heads=heads, softmax=softmax, layernorm=layernorm,
                        mlp=mlp, clip=clip)
    g = torch.Generator().manual_seed(5)
    m = BlockTransformer(spec, init_scale=2.0, generator=g)
    with torch.no_grad():  # non-trivial LayerNorm parameters
        for k, v in m.params().items():
            if k.startswith("ln"):
                v.add_(0.3 * torch.randn(v.shape, dtype=v.dtype, generator=g))
    E = torch.randn(4, 5, 4, dtype=torch.float64, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(m(E), _reference(E, spec, unpack(spec, m.theta)), rtol=1e-10, atol=1e-12)


def test_untied_model_skips_layernorm_before_layer_zero():
    """transformer.py line 170: a 1-layer untied model with LN (no MLP) is exactly the model without LN."""
    kw = dict(d=3, layers=1, recurrent=False)
    E = torch.randn(3, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    m = BlockTransformer(BlockSpec.of(layernorm=True, **kw), init_scale=1.0, generator=torch.Generator().manual_seed(2))
    theta = unpack(m.spec, m.theta.detach())
    plain = BlockSpec.of(layernorm=False, **kw)
    flat = torch.cat([theta[n].reshape(-1) for n, _, _ in plain.shapes()])
    with torch.no_grad():
        assert torch.equal(m(E), block_forward(E, plain, flat))
        tied = BlockSpec.of(d=3, layers=1, recurrent=True, layernorm=True)  # the recurrent model normalises layer 0
        assert not torch.allclose(block_forward(E, tied, m.theta.detach()), m(E))


def test_bad_architecture_is_a_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="heads"):
        BlockSpec.of(d=3, heads=0)
    with pytest.raises(ValueError, match="train_tasks"):
        train_blocks(steps=1, batch=4, eval_tasks=4, train_tasks=0)


# ----------------------------------------------------------------------------- the trainer
_KW = dict(layers=2, recurrent=True, layernorm=True, mlp=True, steps=12, batch=16, eval_tasks=32, log_every=3,
           gdpp_fit_tasks=20, max_threads=1)


def test_a_killed_blocks_run_resumes_from_its_checkpoint_bit_equal(kill_and_resume):
    """Through the run store with a checkpoint at every evaluation step: a run killed at step 8 resumes at its
    step-6 checkpoint and ends with exactly the losses, alignment and weights of an uninterrupted run."""
    config = RunConfig.of(train_blocks, **_KW)
    whole, resumed = kill_and_resume(config, blocks_training, "_step", 8, resume_calls=12 - 6)
    np.testing.assert_array_equal(resumed.losses, whole.losses)
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    np.testing.assert_array_equal(resumed.alignment_gdpp_history["model_cos"], whole.alignment_gdpp_history["model_cos"])


def test_fixed_training_set_is_the_same_whole_set_at_every_step(monkeypatch):
    """``train_tasks`` = n: every step trains on the same n tasks (the grokking run's regime)."""
    seen = []
    original = blocks_training._step

    def record(model, opt, max_norm, E, y_q):
        seen.append((E.clone(), y_q.clone()))
        return original(model, opt, max_norm, E, y_q)

    monkeypatch.setattr(blocks_training, "_step", record)
    train_blocks(layers=1, mlp=True, train_tasks=24, steps=4, eval_tasks=16, log_every=2, max_threads=1)
    assert len(seen) == 4 and seen[0][0].shape[0] == 24
    for E, y in seen[1:]:
        assert torch.equal(E, seen[0][0]) and torch.equal(y, seen[0][1])


# ----------------------------------------------------------------------------- runs and read-outs
def test_all_configs_lists_the_deep_runs_and_fig15_pairs_ten_seeds_of_one_and_two_heads():
    for profile in ("quick", "paper"):
        assert set(deep_configs(profile)) <= set(all_configs(profile))
        one, two = fig15_runs(profile, 0, 1), fig15_runs(profile, 0, 2)
        assert [dict(c.kwargs)["seed"] for c in one] == [dict(c.kwargs)["seed"] for c in two] == list(range(10))
        assert all("heads" not in dict(c.kwargs) for c in one) and all(dict(c.kwargs)["heads"] == 2 for c in two)
        assert all({k: v for k, v in dict(a.kwargs).items()} == {k: v for k, v in dict(b.kwargs).items() if k != "heads"}
                   for a, b in zip(one, two))  # the same settings but the heads
    assert figure_run("paper", seed=0, layers=1) != fig15_runs("paper", 0, 1)[0]  # logged every 25, not 100


def test_drop_times_are_the_first_logged_step_below_the_level_and_censored_otherwise():
    steps = np.array([0, 10, 20, 30])
    L0, Ls = 5 / 12, 0.2
    losses = np.array([[0.41, 0.40, 0.30, 0.21], [0.41, 0.41, 0.41, 0.41], [0.41, 0.25, 0.2, 0.2]])
    t, c = drop_times(steps, losses, L0, Ls, 0.5)  # level (5/12 + 0.2) / 2 = 0.3083
    np.testing.assert_array_equal(t, [20, 40, 10])
    np.testing.assert_array_equal(c, [False, True, False])


# ----------------------------------------------------------------------------- the figures
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("deep-figs")
    with limit_threads(1), use_store(None):
        written = {n: figs.FIGURES[n](profile="_smoke", out=str(out), seed=0) for n in NEW}
    return out / PAPER, written


def test_new_figures_are_registered_with_companions_and_write_their_artifacts(smoke):
    folder, written = smoke
    for name in NEW:
        assert name in figs.FIGURES and name in figs.FIGURE_CHECKS
        assert sorted(p.name for p in written[name]) == sorted(f"{name}.{e}" for e in ("png", "pdf", "npz", "json"))
        meta = json.loads((folder / f"{name}.json").read_text())
        assert meta["config"]["profile"] == "_smoke" and "shortened_from_paper" in meta["config"]
        rows = check_figure(PAPER, name, folder.parent)
        assert rows and all(r.source in SOURCES for r in rows)
    assert "reconstructed" in json.loads((folder / "fig8.json").read_text())["config"]


def test_drawn_theory_lines_are_the_exact_one_step_optimum_and_zero_predictor(smoke):
    """L* = 245/1188 and 5/12 (theory.lsa, exact) on every new figure."""
    folder = smoke[0]
    assert optimal_one_step_loss(10, 10, "uniform(1/2)") == sp.Rational(245, 1188)
    assert zero_predictor_loss(10, "uniform(1/2)") == sp.Rational(5, 12)
    for name in NEW:
        with np.load(folder / f"{name}.npz") as z:
            assert float(z["theory_L_star"]) == pytest.approx(245 / 1188, rel=1e-15)
            assert float(z["theory_L_zero"]) == pytest.approx(5 / 12, rel=1e-15)


@pytest.mark.parametrize("name", NEW)
def test_every_deep_companion_row_passes_on_the_quick_figures(draw_quick_figures, name):
    """Each new figure's claim, asserted from its own quick arrays (companions_deep): every row passes."""
    folder = draw_quick_figures(PAPER)[0]
    rows = check_figure(PAPER, name, folder)
    assert rows
    for row in rows:
        assert row.source in SOURCES
        assert row.passed, (row.claim, row.theory, row.measured, row.tolerance, row.detail)


@pytest.mark.parametrize("name", NEW)
def test_bad_profile_or_seed_is_a_value_error(tmp_path, name):
    for kwargs, word in ((dict(profile="huge"), "profile"), (dict(seed=-1), "seed")):
        with pytest.raises(ValueError, match=word):
            figs.FIGURES[name](out=str(tmp_path), **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW)
def test_every_deep_companion_row_passes_at_the_paper_profile(tmp_path, paper_store, name):
    """Paper profile (estimates on 2 cores: Fig 7 ~35 min, Fig 8 ~30 min, Fig 14 ~25 min, Fig 15 ~40 min): every row passes."""
    with limit_threads(2), use_store(paper_store):
        figs.FIGURES[name](profile="paper", out=str(tmp_path), seed=0)
    for row in check_figure(PAPER, name, tmp_path):
        assert row.passed, (row.claim, row.theory, row.measured, row.tolerance, row.detail)
