"""Seed-to-seed spread of the fitted recurrent 2-step GD++ gamma (von Oswald et al. 2023, Fig 13).

The check ``2-layer recurrent GD++ fitted gamma`` compares a fit on n tasks with a reference fit on
5 n tasks and needs the fit-to-fit standard deviation of gamma as its tolerance scale. This script
measures it: ``numerics.lsa.fit_gdpp(2, recurrent=True)`` on U(-1/2, 1/2), d = 10, for N = 10, 25, 50
over 20 fit sets of 2 * 10^4 tasks each (seeds 1000..1019), and for N = 10 over 8 fit sets of 10^5
tasks, to test the 1/sqrt(n) scaling of the SD. Writes ``benchmarks/results/gdpp_gamma_spread.json``.
Usage: ``python -m benchmarks.gdpp_gamma_spread``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result
from numerics.lsa import fit_gdpp

OUT = Path(__file__).resolve().parent / "results" / "gdpp_gamma_spread.json"


def spread(N: int, n: int, seeds: range) -> dict:
    gammas, started = [], time.perf_counter()
    for s in seeds:
        gammas.append(float(fit_gdpp(2, d=10, N=N, recurrent=True, n_fit=n, n_eval=1000, seed=s).gammas[0]))
    g = np.array(gammas)
    return {"N": N, "n_fit": n, "seeds": [seeds.start, seeds.stop - 1], "gammas": gammas, "mean": float(g.mean()),
            "sd": float(g.std(ddof=1)), "seconds": time.perf_counter() - started}


def main() -> dict:
    rows = [spread(N, 20_000, range(1000, 1020)) for N in (10, 25, 50)]
    rows.append(spread(10, 100_000, range(2000, 2008)))
    result = {"benchmark": "fit-to-fit SD of the recurrent 2-step GD++ gamma (U(-1/2,1/2), d = 10)",
              "cpus": os.cpu_count(), "rows": rows}
    write_result(OUT, result)
    for r in rows:
        print(f"N = {r['N']}, n = {r['n_fit']}: gamma {r['mean']:.5f} +- {r['sd']:.5f} (SD over {len(r['gammas'])})")
    return result


if __name__ == "__main__":
    main()
