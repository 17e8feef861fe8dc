"""Trained-model checks for von Oswald et al. 2023: validation.lsa.train_lsa against theory.lsa.

Part of the ``vonoswald2023`` check table (``validation.checks.vonoswald2023.CHECKS``).  The
trained models are the runs of :func:`validation.runs.vonoswald2023.check_run` (the figures' runs,
seed ``seed``; 0 by default), obtained through the run store (the OOD check reuses the one-layer
model), then evaluated in float64 on fresh tasks of our own.  The ``measured`` column is the trained
model's own Monte-Carlo loss; the loss of the GD / GD++ construction on the same tasks (paired, so
task noise cancels) is given in the detail.  Quick profile: 1500 steps at batch 2048 (one layer),
3500 steps at batch 512 (two layers); paper profile: 5000 steps at batch 2048, as the authors'
recurrent runs.

Tolerances.  "The trained model reaches X" has two parts: Monte-Carlo noise of our evaluation
(5 SE, computed here) and how far training at the profile's length lands from X, which no formula
gives: the claim's tolerance (3 % on the loss and 5 % on the step size, 0.99 for the model cos:
the notes' companion check 11; 5 % of GD++ for two layers) is checked against the seed-to-seed
spread of these very runs over 20 seeds, ``python -m benchmarks.lsa_trained_spread``
(benchmarks/results/lsa_trained_spread.json), cited in each row.  Quick profile, seeds 100..119: 19 of
20 one-layer runs leave the plateau; on those the loss gap to L* is 0.87 % (SD 0.06 %), the step-size
read-out error -0.1 % (SD 0.9 %, largest 2.0 %), the model cos 0.9993 (SD 0.00013): the 3 %, 5 % and
0.99 bands lie more than 5 SDs out.  One run (seed 119) is still on the plateau after 1500 steps
(loss 0.39, the paper's A.11: seed-dependent plateaus) and fails these rows, as it should: the quick
profile's trained rows fail for about one seed in 20. The first row of each group says whether the run has
left its plateau, so such a failure names its cause; the escape steps over 40 more seeds are in
``benchmarks/results/lsa_plateau_escape.json`` (the tail is long: the one-layer run of seed 7 escapes only
near step 5300, past even the paper's 5000 steps, so no affordable length removes it).  Two layers: 19 of 20 beat 2-step GD by 31-46
SE; one (seed 109) is stuck above 2-step GD; the gap to GD++ is bimodal (4 % or 14-18 %), so "within
5 % of GD++" is asserted at the paper profile only.

Seed rule: the evaluation tasks of a group called with ``seed=K`` are
``numerics.seeds.child_rng(CHECK_SEED + K, *keys)``, the trained run is the figures' run of seed K.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.lsa import gd_predict, gdpp_predict, kstep_gd_predict, sample_tasks
from numerics.seeds import child_rng
from theory import lsa as T
from theory.laws import Uniform
from validation.checks import CheckResult, check_profile, compare, exceeds
from validation.runs.vonoswald2023 import LAW as HALF
from validation.runs.vonoswald2023 import CHECK_SEED, PAPER, check_run
from validation.store import run

__all__ = ["check_trained_one_layer", "check_trained_ood", "check_trained_two_layer"]

#: the root seed of the table's draws: :data:`validation.runs.vonoswald2023.CHECK_SEED`
SEED = CHECK_SEED
#: fresh evaluation tasks per trained row (SE of a 1/2-loss near 0.2: about 0.3 % of it)
N_EVAL = 100_000
SPREAD = "benchmarks/results/lsa_trained_spread.json"
ESCAPE = "benchmarks/results/lsa_plateau_escape.json"
#: the zero predictor's 1/2-loss, d / 24 for d = 10 and x ~ U(-1/2, 1/2)^d: where every run starts (its plateau)
PLATEAU = 5 / 12


def _left_plateau(r, target: float, name: str) -> CheckResult:
    """The precondition of a trained row: the run has left its initial plateau (paper A.11: seed-dependent
    plateaus), i.e. its last evaluation loss is below the midpoint between the plateau 5/12 and ``target``.

    A run that is still on its plateau has not finished training; its other rows then fail too, and this
    row says why. The rate at the quick length, over 40 fresh seeds, is measured by
    ``python -m benchmarks.lsa_plateau_escape`` (a heavy tail: some seeds escape only after thousands of
    steps more, beyond even the paper's 5000)."""
    level = 0.5 * (PLATEAU + target)
    last = float(r.losses[-1])
    return CheckResult(PAPER, f"{name}: the run has left its initial plateau (last eval loss below the midpoint "
                       f"of 5/12 and {target:.4f})", level, last, 0.0, bool(last < level), relation="<", source="paper",
                       detail=f"last eval loss {last:.4f} at step {int(r.steps[-1])}, escape level {level:.4f}; a run "
                       f"still on its plateau (paper A.11) has not finished training and fails the rows below: "
                       f"rate at the quick length in {ESCAPE}")


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return child_rng(SEED + seed, *keys)


def _trained(profile: str, layers: int, seed: int):
    """The check's trained recurrent ``layers``-layer model of ``seed``, from the run store."""
    return run(check_run(check_profile(profile), layers, seed))


def _losses(pred, y_q):
    """Per-task 1/2 squared errors."""
    return 0.5 * (np.asarray(pred) - y_q) ** 2


def _mean_se(v) -> tuple[float, float]:
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))


def check_trained_one_layer(profile: str, seed: int = 0):
    """Fig 2 (paper): a trained one-layer LSA reaches one GD step at eta* (loss, step size read-out, model cos)."""
    r = _trained(profile, 1, seed)
    steps = r.config["steps"]
    eta_star = float(T.optimal_step_size(10, 10, HALF))
    L_star = float(T.optimal_one_step_loss(10, 10, HALF))
    t = sample_tasks(N_EVAL, 10, 10, rng=_rng(seed, 20))
    l_tf, l_gd = _losses(r.predict(t.X, t.y, t.x_q), t.y_q), _losses(gd_predict(t.X, t.y, t.x_q, eta_star), t.y_q)
    loss_tf, se_tf = _mean_se(l_tf)
    loss_gd, se_gd = _mean_se(l_gd)
    diff, se_d = _mean_se(l_tf - l_gd)
    out = [_left_plateau(r, L_star, "trained 1-layer LSA"),
           compare(PAPER, f"trained 1-layer LSA loss = L* ({steps} steps; within 3 % + 5 SE)", L_star, loss_tf,
                   0.03 * L_star + 5 * se_tf, source="paper",
                   detail=f"MC loss of the trained layer on {N_EVAL} fresh tasks (SE {se_tf:.2g}); paired TF - GD(eta*) "
                   f"= {diff:.3g} (SE {se_d:.2g}); 3 % = the claim's training tolerance (notes check 11), seed "
                   f"spread in {SPREAD}"),
           compare(PAPER, "GD at eta* on the same tasks: MC = L*", L_star, loss_gd, 5 * se_gd, detail="5 SE",
                   source="derived"),
           compare(PAPER, "trained 1-layer effective step size = eta* (within 5 %)", eta_star, r.step_size, 0.05,
                   relative=True, source="paper",
                   detail="N (P W_V)[-1,-1] x mean diag of the x-block of W_K^T W_Q; 5 % = the claim's training "
                   f"tolerance, seed spread in {SPREAD}")]
    cos = float(r.alignment["model_cos"])
    out.append(exceeds(PAPER, "trained 1-layer model cos with GD at eta* > 0.99", 0.99, cos, 0.0, source="paper",
                       detail=f"mean cosine of d y_hat / d x_q (trained vs GD) over the run's "
                       f"{r.config['eval_tasks']} evaluation tasks; 0.99 = the notes' check 11, seed spread in "
                       f"{SPREAD}"))
    return out


def check_trained_ood(profile: str, seed: int = 0):
    """Fig 2d / 6 (paper): the trained layer's OOD loss follows the one-step GD closed form at its read-out eta."""
    r = _trained(profile, 1, seed)
    eta = float(r.step_size)
    out = [_left_plateau(r, float(T.optimal_one_step_loss(10, 10, HALF)), "trained 1-layer LSA (OOD rows)")]
    for i, alpha in enumerate((sp.Rational(1, 2), sp.Rational(3, 2), sp.Integer(2))):
        t = sample_tasks(N_EVAL, 10, 10, input_range=float(alpha), rng=_rng(seed, 21, i))
        l_tf = _losses(r.predict(t.X, t.y, t.x_q), t.y_q)
        loss_tf, se_tf = _mean_se(l_tf)
        diff, se_d = _mean_se(l_tf - _losses(gd_predict(t.X, t.y, t.x_q, eta), t.y_q))
        exact = float(T.one_step_loss(sp.nsimplify(eta), 10, 10, Uniform(alpha / 2)))
        out.append(compare(PAPER, f"trained 1-layer OOD loss, input range {alpha}: GD closed form at its eta",
                           exact, loss_tf, 0.03 * exact + 5 * se_tf, source="paper",
                           detail=f"MC loss of the trained layer on {N_EVAL} tasks (SE {se_tf:.2g}) vs the closed "
                           f"form at the read-out eta {eta:.4g}; paired TF - GD = {diff:.3g} (SE {se_d:.2g}); "
                           "tolerance 3 % (the training tolerance) + 5 SE"))
    return out


def check_trained_two_layer(profile: str, seed: int = 0):
    """Fig 3a (paper): a trained recurrent 2-layer LSA beats 2-step GD (and, at paper scale, is within 5 % of GD++)."""
    r = _trained(profile, 2, seed)
    steps = r.config["steps"]
    t = sample_tasks(N_EVAL, 10, 10, rng=_rng(seed, 22))
    l_tf = _losses(r.predict(t.X, t.y, t.x_q), t.y_q)
    l_gd = _losses(kstep_gd_predict(t.X, t.y, t.x_q, r.gd_etas), t.y_q)
    l_pp = _losses(gdpp_predict(t.X, t.y, t.x_q, r.gdpp_etas, r.gdpp_gammas), t.y_q)
    d_gd, se_gd = _mean_se(l_gd - l_tf)
    out = [_left_plateau(r, float(r.gd_loss), "trained recurrent 2-layer LSA"),
           exceeds(PAPER, f"trained recurrent 2-layer LSA beats 2-step GD: GD loss - TF loss ({steps} steps)",
                   0.0, d_gd, 5 * se_gd, source="paper",
                   detail=f"paired on {N_EVAL} fresh tasks, must exceed 5 SE ({se_gd:.2g}); TF loss "
                   f"{l_tf.mean():.4f}, 2-step GD (the run's fitted eta) {l_gd.mean():.4f}")]
    loss_tf, se_tf = _mean_se(l_tf)
    loss_pp = float(l_pp.mean())
    # quick: 3500 steps at batch 512 do not reliably reach GD++ (the spread in SPREAD), so only the paper
    # profile asserts it
    row = compare(PAPER, "trained recurrent 2-layer LSA loss within 5 % of 2-step GD++", loss_pp, loss_tf,
                  0.05 * loss_pp + 5 * se_tf, source="paper",
                  detail=f"MC loss of the trained model on {N_EVAL} tasks (SE {se_tf:.2g}) vs the run's fitted GD++ "
                  f"on the same tasks; 5 % = the claim's training tolerance, seed spread in {SPREAD}")
    if profile == "paper":
        out.append(row)
    return out
