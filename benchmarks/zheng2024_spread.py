"""Seed-to-seed spread of the sampled check runs of Zheng et al. 2024 (quick profile).

Some tolerances of ``validation.checks.zheng2024`` have no closed-form standard error: the norm of
the non-red blocks that a finite training set leaves (zero in population, O(m^-1/2) on m sequences).
This script trains the sampled check runs ``gauss_sample`` and ``sparse_sample`` of a profile at
seeds 1..20 (never seed 0, the check table's own seed) and records mean and SD of their final
``offred_norm``, ``final_ab`` and last-position ``test_mse``.  Writes
``benchmarks/results/zheng2024_spread.json``; the checks read it (``SPREAD_FILE``).
Usage: ``python -m benchmarks.zheng2024_spread [quick|paper]`` (quick: about a minute on two cores).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result
from validation.runs.zheng2024 import check_config
from validation.store import run, use_store

OUT = Path(__file__).resolve().parent / "results" / "zheng2024_spread.json"
SEEDS = range(1, 21)
KEYS = ("offred_norm", "final_ab", "test_mse")


def spread(profile: str, name: str) -> dict:
    values, started = {k: [] for k in KEYS}, time.perf_counter()
    for s in SEEDS:
        r = run(check_config(profile, name, s))
        values["offred_norm"].append(float(r.offred_norm[-1]))
        values["final_ab"].append(float(r.final_ab))
        values["test_mse"].append(float(r.test_mse[-1]))
    out = {k: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)), "n": len(v), "values": v}
           for k, v in values.items()}
    out["seeds"] = [SEEDS.start, SEEDS.stop - 1]
    out["seconds"] = time.perf_counter() - started
    return out


def main(profile: str = "quick") -> dict:
    result = json.loads(OUT.read_text()) if OUT.exists() else {}
    with use_store(None):
        result[profile] = {name: spread(profile, name) for name in ("gauss_sample", "sparse_sample")}
    result["benchmark"] = "seed-to-seed spread of the sampled Zheng check runs (seeds 1..20)"
    result["cpus"] = os.cpu_count()
    write_result(OUT, result)
    return result


if __name__ == "__main__":
    main(*sys.argv[1:2])
