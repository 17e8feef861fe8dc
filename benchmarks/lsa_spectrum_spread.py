"""The Fig 13 numbers of von Oswald et al. 2023 under the code's law: lambda_max spread and condition numbers.

The errata rows on Fig 13 (``paper_figs.errata``) rest on two measurements made here, under
x ~ U(-1/2, 1/2)^10 (the code's law):

- the largest eigenvalue of X X^T over a block of 10^4 tasks (what the paper reports once per N) over
  100 independent blocks per N = 10, 25, 50, 100: mean, SD, and the z-score of the paper's value;
- for N = 25, the condition number of f(X X^T), f(lam) = lam (1 - gamma lam)^2, per task over 10^4
  tasks, at gamma = 0, 0.099, 0.142, 0.16, 0.2 and on a grid: median and 90th percentile.

Writes ``benchmarks/results/lsa_spectrum_spread.json``. Usage: ``python -m benchmarks.lsa_spectrum_spread``
(about a minute on 2 cores).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result
from numerics.lsa import gdpp_condition_numbers, gram_spectrum, sample_tasks
from numerics.seeds import child_rng

OUT = Path(__file__).resolve().parent / "results" / "lsa_spectrum_spread.json"
PAPER_LAM_MAX = {10: 4.6, 25: 7.712, 50: 10.845, 100: 17.196}
SEED, BLOCKS = 1313, 100


def main() -> dict:
    started = time.perf_counter()
    lam_max = {}
    for N, paper in PAPER_LAM_MAX.items():
        v = np.array([gram_spectrum(sample_tasks(10_000, 10, N, rng=child_rng(SEED, N, b)).X).lam_max
                      for b in range(BLOCKS)])
        lam_max[N] = dict(mean=float(v.mean()), sd=float(v.std(ddof=1)), median=float(np.median(v)),
                          paper=paper, paper_z=float((paper - v.mean()) / v.std(ddof=1)))
    lam = gram_spectrum(sample_tasks(10_000, 10, 25, rng=child_rng(SEED, 0)).X).eigenvalues
    grid = np.round(np.concatenate([[0.0, 0.099, 0.142, 0.16, 0.2], np.arange(0.10, 0.18, 0.005)]), 4)
    cond = {}
    for g in sorted(set(grid.tolist())):
        k = gdpp_condition_numbers(lam, g)
        k = np.where(np.isfinite(k), k, np.inf)
        cond[f"{g:g}"] = dict(median=float(np.median(k)), q90=float(np.quantile(k, 0.9)))
    best = min(cond, key=lambda g: cond[g]["median"])
    result = {"benchmark": "Fig 13 under U(-1/2, 1/2), d = 10: lambda_max of X X^T over 10^4 tasks (100 blocks) "
                           "and condition numbers of f(X X^T) for N = 25 over 10^4 tasks",
              "cpus": os.cpu_count(), "lam_max": {str(k): v for k, v in lam_max.items()},
              "cond_N25": cond, "gamma_min_median": float(best), "one_over_lam_max_N25": float(1 / lam.max()),
              "seconds": time.perf_counter() - started}
    write_result(OUT, result)
    for N, s in lam_max.items():
        print(f"N = {N}: lambda_max mean {s['mean']:.3f} SD {s['sd']:.3f}; paper {s['paper']} at z = {s['paper_z']:.2f}")
    for g in ("0", "0.099", "0.142", "0.16", "0.2", best):
        print(f"gamma {g}: median cond {cond[g]['median']:.3g}, 90th pct {cond[g]['q90']:.3g}")
    return result


if __name__ == "__main__":
    main()
