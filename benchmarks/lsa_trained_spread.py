"""Seed-to-seed spread of the quick-profile trained LSA runs (von Oswald et al. 2023, Figs 2 and 3a).

The trained rows of ``validation.checks.vonoswald2023_trained`` and the figure companions compare
one trained run (seed 0 of ``validation.runs.vonoswald2023.check_run``) with theory. A tolerance for
"the trained model reaches X" must cover how far training at the quick sizes lands from X from one
seed to the next; this script measures that spread over 20 fresh seeds (100..119) of the very
configs the checks and figures use (``figure_run("quick", seed=s, layers=1 / 2)``), each evaluated
in float64 on the same 2 * 10^4 fresh tasks (``child_rng(7, 0)``):

- one layer: relative loss gap (TF - L*) / L*, relative step-size read-out error (eta - eta*) / eta*,
  model cos with GD at eta*, and the relative max deviation of W_KQ / beta from diag(I, 0) and of
  beta P W_V outside its [-1, -1] entry (the Fig 9 weight shape);
- two layers (recurrent): (GD loss - TF loss) / paired SE, relative gap to 2-step GD++,
  relative gamma read-out error (gamma_TF - gamma_GD++) / gamma_GD++.

Writes ``benchmarks/results/lsa_trained_spread.json`` (mean, SD, min, max of each metric).
Usage: ``python -m benchmarks.lsa_trained_spread`` (32 minutes on 2 cores shared with other jobs).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks import spread_stats, write_result
from numerics.lsa import gdpp_predict, kstep_gd_predict, sample_tasks
from numerics.seeds import child_rng
from validation.runs.vonoswald2023 import figure_run
from validation.store import run, use_store

OUT = Path(__file__).resolve().parent / "results" / "lsa_trained_spread.json"
SEEDS = range(100, 120)
ETA_STAR, L_STAR = 200 / 33, 245 / 1188


def weight_shape(r) -> tuple[float, float]:
    """Max |W_KQ / beta - diag(I, 0)| and max |beta P W_V| off [-1, -1] / |beta P W_V[-1, -1]|."""
    KQ, PV = r.W_KQ[0, 0], r.W_PV[0, 0]
    beta = float(np.mean(np.diag(KQ)[:10]))
    C = np.diag([1.0] * 10 + [0.0])
    pv = np.delete((beta * PV).ravel(), -1)
    return float(np.max(np.abs(KQ / beta - C))), float(np.max(np.abs(pv)) / abs(beta * PV[-1, -1]))


def one_seed(seed: int, tasks) -> dict:
    X, y, x_q, y_q, _ = tasks
    r1 = run(figure_run("quick", seed=seed, layers=1))
    l_tf = 0.5 * (r1.predict(X, y, x_q) - y_q) ** 2
    kq, pv = weight_shape(r1)
    out = dict(seed=seed, loss_gap_rel=float(l_tf.mean() / L_STAR - 1), eta_rel=float(r1.step_size / ETA_STAR - 1),
               model_cos=float(r1.alignment["model_cos"]), kq_dev=kq, pv_offdiag_rel=pv)
    r2 = run(figure_run("quick", seed=seed, layers=2))
    p2 = r2.predict(X, y, x_q)
    l2 = 0.5 * (p2 - y_q) ** 2
    l_gd = 0.5 * (kstep_gd_predict(X, y, x_q, r2.gd_etas) - y_q) ** 2
    l_pp = 0.5 * (gdpp_predict(X, y, x_q, r2.gdpp_etas, r2.gdpp_gammas) - y_q) ** 2
    d = l_gd - l2
    out.update(beats_gd_in_se=float(d.mean() / (d.std(ddof=1) / np.sqrt(d.size))),
               gdpp_gap_rel=float(l2.mean() / l_pp.mean() - 1),
               gamma_rel=float(r2.gammas[0] / r2.gdpp_gammas[0] - 1))
    return out


def main() -> dict:
    started = time.perf_counter()
    tasks = sample_tasks(20_000, 10, 10, rng=child_rng(7, 0))
    with use_store(None):
        rows = [one_seed(s, tasks) for s in SEEDS]
    stats = spread_stats(rows)
    result = {"benchmark": "seed-to-seed spread of the quick-profile trained LSA runs (1 and 2 layers)",
              "seeds": [SEEDS.start, SEEDS.stop - 1], "cpus": os.cpu_count(), "stats": stats, "rows": rows,
              "seconds": time.perf_counter() - started}
    write_result(OUT, result)
    for k, s in stats.items():
        print(f"{k}: mean {s['mean']:.4g} SD {s['sd']:.3g} [{s['min']:.4g}, {s['max']:.4g}]")
    return result


if __name__ == "__main__":
    main()
