"""When do the quick-profile trained LSA runs leave their plateau? (von Oswald et al. 2023, A.11)

A trained LSA run starts on a plateau near the zero predictor (loss 5/12) and leaves it after a
seed-dependent number of steps (the paper's A.11: "phase transitions"). The trained checks and the
Fig 2 / Fig 3(a) companions need the quick profile's training length to be past the escape of
(nearly) every seed. The training stream of a run does not depend on its length (``steps`` only
stops it), so one long run per seed gives the loss curve of every shorter run of that seed.

For seeds 100..139 this trains the quick profile's one-layer config (``figure_run("quick", layers=1)``)
for ``LONG_1`` steps and the two-layer recurrent config for ``LONG_2`` steps, and records the first
evaluation step at which the loss is below the escape level (midway between the plateau 5/12 and the
target: L* for one layer, 2-step GD for two layers). Writes ``benchmarks/results/lsa_plateau_escape.json``.
Usage: ``python -m benchmarks.lsa_plateau_escape [one|two]`` (about 20 / 40 minutes on 2 cores).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result
from validation.lsa import train_lsa
from validation.runs.vonoswald2023 import figure_run

OUT = Path(__file__).resolve().parent / "results" / "lsa_plateau_escape.json"
SEEDS = range(100, 140)
LONG_1, LONG_2 = 4000, 8000
PLATEAU = 5 / 12


def escape(layers: int, seed: int, steps: int) -> dict:
    kw = dict(figure_run("quick", seed=seed, layers=layers).kwargs)
    kw["steps"] = steps
    r = train_lsa(**kw)
    target = r.theory_loss if layers == 1 else r.gd_loss
    level = 0.5 * (PLATEAU + target)
    below = np.flatnonzero(r.losses < level)
    return dict(seed=seed, escape_step=int(r.steps[below[0]]) if below.size else None, level=float(level),
                final_loss=float(r.losses[-1]), steps=r.steps.tolist(), losses=[round(float(v), 5) for v in r.losses])


def main(which=("one", "two")) -> dict:
    previous = {}
    if OUT.is_file():
        import json
        previous = json.loads(OUT.read_text())
    result = dict(previous, benchmark="plateau escape step of the quick-profile trained LSA runs", seeds=[SEEDS[0], SEEDS[-1]])
    for name, layers, steps in (("one", 1, LONG_1), ("two", 2, LONG_2)):
        if name not in which:
            continue
        t0 = time.perf_counter()
        rows = []
        for s in SEEDS:
            rows.append(escape(layers, s, steps))
            print(name, s, rows[-1]["escape_step"], flush=True)
        esc = [r["escape_step"] for r in rows]
        quick = figure_run("quick", seed=0, layers=layers).kwargs
        quick_steps = dict(quick)["steps"]
        result[name] = dict(layers=layers, trained_steps=steps, quick_steps=quick_steps,
                            escape_steps=esc, not_escaped=sum(e is None for e in esc),
                            still_on_plateau_at_quick=sum(e is None or e > quick_steps for e in esc),
                            seconds=time.perf_counter() - t0, rows=rows)
        write_result(OUT, result)
    return result


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("one", "two"))
