"""Seed-to-seed spread of the quick-profile softmax and fixed-set runs (von Oswald et al. 2023, Figs 11, 12, 16).

The companions of ``paper_figs.vonoswald2023.companions_softmax`` assert claims of one trained run per
figure (seed 0 at quick).  Whether training at the quick sizes lands on the claim's side for most seeds
is not a formula: this script trains the very quick configs (``softmax_run("quick", seed=s, heads=1 / 2)``,
``fixed_set_run("quick", seed=s, B=...)``) for 20 fresh seeds (100..119) and evaluates each in float64 on
the same 5000 fresh tasks (``child_rng(7, 1)``), the quantities the companion rows test:

- Fig 12: gap to GD at eta* of 1 and 2 heads (loss), gap_2 - gap_1/2, model cos of each;
- Fig 11: correlation of the two heads' off-diagonal eta_h W_KQ,h entries, off-diagonal norm of the
  sum over the smaller head's;
- Fig 16: per B, test loss, model cos, excess over GD.

Writes ``benchmarks/results/vonoswald2023_softmax_spread.json`` (per-seed rows after every seed; mean, SD,
min, max and how many seeds pass each companion bar at the end).
Usage: ``python -m benchmarks.vonoswald2023_softmax_spread [FIRST LAST]`` (a sub-range of seeds writes its own
partial file ``..._FIRST_LAST.json``; ``--merge`` combines the partial files into the result).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks import spread_stats, write_result
from numerics.lsa import gd_predict, sample_tasks
from numerics.seeds import child_rng
from paper_figs.vonoswald2023.softmax import fresh_alignment, off_diagonal
from validation.runs.vonoswald2023 import fixed_set_run, softmax_run, softmax_sizes
from validation.store import run, use_store

OUT = Path(__file__).resolve().parent / "results" / "vonoswald2023_softmax_spread.json"
SEEDS = range(100, 120)
ETA_STAR, L_ZERO = 200 / 33, 5 / 12


def one_seed(seed: int, tasks) -> dict:
    X, y, x_q, y_q, _ = tasks
    l_gd = 0.5 * (gd_predict(X, y, x_q, ETA_STAR) - y_q) ** 2
    out = dict(seed=seed)
    gaps = {}
    for H in (1, 2):
        r = run(softmax_run("quick", seed=seed, heads=H))
        l = 0.5 * (r.predict(X, y, x_q) - y_q) ** 2
        gaps[H] = float(l.mean() - l_gd.mean())
        out[f"gap_{H}h_rel"] = gaps[H] / float(l_gd.mean())
        out[f"cos_{H}h"] = float(fresh_alignment(r, X[:1000], y[:1000], x_q[:1000], ETA_STAR).mean())
        if H == 2:
            A = [r.W_PV[0, h, -1, -1] * r.W_KQ[0, h] for h in range(2)]
            o = [off_diagonal(M) for M in A]
            out["offdiag_corr"] = float(np.corrcoef(o[0], o[1])[0, 1])
            out["offdiag_sum_over_min_head"] = float(np.linalg.norm(off_diagonal(A[0] + A[1]))
                                                     / min(np.linalg.norm(v) for v in o))
    out["half_gap"] = gaps[2] - 0.5 * gaps[1]
    for B in softmax_sizes("quick")["fixed_B"]:
        r = run(fixed_set_run("quick", seed=seed, B=int(B)))
        l = 0.5 * (r.predict(X, y, x_q) - y_q) ** 2
        out[f"test_B{B}"] = float(l.mean())
        out[f"excess_B{B}"] = float(l.mean() - l_gd.mean())
        out[f"cos_B{B}"] = float(fresh_alignment(r, X[:1000], y[:1000], x_q[:1000], ETA_STAR).mean())
    return out


BARS = {  # the companions' bars (without their 5 SE margins)
    "gap_1h_rel": lambda v: v > 0.03, "half_gap": lambda v: v < 0, "cos_1h": lambda v: v < 0.99,
    "offdiag_corr": lambda v: v < -5 / np.sqrt(110), "offdiag_sum_over_min_head": lambda v: v < 0.5,
    "cos_B128": lambda v: v < 0.5, "test_B128": lambda v: v > L_ZERO,
    "excess_B2048": lambda v: v < 2 * 0.2062 * 242 / 2048,
}


def main(seeds=SEEDS) -> dict:
    started = time.perf_counter()
    tasks = sample_tasks(5_000, 10, 10, rng=child_rng(7, 1))
    rows = []
    part = OUT if seeds == SEEDS else OUT.with_name(f"{OUT.stem}_{seeds.start}_{seeds.stop - 1}.json")
    with use_store(None):
        for s in seeds:
            rows.append(one_seed(s, tasks))
            write_result(part, {"benchmark": "partial", "rows": rows, "seconds": time.perf_counter() - started})
    if seeds != SEEDS:
        return {"rows": rows}
    return summarise(rows, time.perf_counter() - started)


def summarise(rows, seconds) -> dict:
    stats = spread_stats(rows)
    for key, bar in BARS.items():
        stats[key]["seeds_passing_bar"] = int(sum(bar(r[key]) for r in rows))
    result = {"benchmark": "seed-to-seed spread of the quick softmax (1, 2 heads) and fixed-set (B) runs",
              "seeds": [r["seed"] for r in rows], "cpus": os.cpu_count(), "stats": stats, "rows": rows,
              "seconds": seconds}
    write_result(OUT, result)
    for k, s in stats.items():
        print(f"{k}: mean {s['mean']:.4g} SD {s['sd']:.3g} [{s['min']:.4g}, {s['max']:.4g}] {s.get('seeds_passing_bar', '')}")
    return result


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1:] == ["--merge"]:
        parts = sorted(OUT.parent.glob(f"{OUT.stem}_*.json")) + [OUT]
        rows = {r["seed"]: r for p in parts if p.is_file() for r in json.loads(p.read_text())["rows"]}
        summarise([rows[k] for k in sorted(rows)], sum(json.loads(p.read_text()).get("seconds", 0) for p in parts
                                                        if p.is_file()))
    elif len(sys.argv) == 3:
        main(range(int(sys.argv[1]), int(sys.argv[2]) + 1))
    else:
        main()
