"""When do the quick-profile trained LSA runs leave their plateau? (von Oswald et al. 2023, A.11)

A trained LSA run starts on a plateau near the zero predictor (loss 5/12) and leaves it after a
seed-dependent number of steps (the paper's A.11: "phase transitions"). The trained checks and the
Fig 2 / Fig 3(a) companions need the quick profile's training length to be past the escape of
(nearly) every seed. The training stream of a run does not depend on its length (``steps`` only
stops it), so one long run per seed gives the loss curve of every shorter run of that seed.

For seeds 100..139 this trains the quick profile's one-layer config (``figure_run("quick", layers=1)``)
and two-layer recurrent config at their quick length, records the first evaluation step at which the
loss is below the escape level (midway between the plateau 5/12 and the target: L* for one layer,
2-step GD for two layers), and retrains each seed still on its plateau for ``LONG`` times the quick
length to find its escape step. Writes ``benchmarks/results/lsa_plateau_escape.json``.
Usage: ``python -m benchmarks.lsa_plateau_escape [one|two]`` (about 10 / 20 minutes on 2 idle cores).
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
LONG = 4
PLATEAU = 5 / 12


def escape(layers: int, seed: int, factor: int = 1) -> dict:
    kw = dict(figure_run("quick", seed=seed, layers=layers).kwargs)
    kw["steps"] *= factor
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
    for name, layers in (("one", 1), ("two", 2)):
        if name not in which:
            continue
        t0 = time.perf_counter()
        rows = []
        for s in SEEDS:
            row = escape(layers, s)
            if row["escape_step"] is None:
                row = dict(escape(layers, s, LONG), on_plateau_at_quick=True)
            rows.append(row)
            print(name, s, row["escape_step"], flush=True)
        esc = [r["escape_step"] for r in rows]
        quick_steps = dict(figure_run("quick", seed=0, layers=layers).kwargs)["steps"]
        result[name] = dict(layers=layers, quick_steps=quick_steps, longest=LONG * quick_steps,
                            escape_steps=esc, on_plateau_at_quick=sum(bool(r.get("on_plateau_at_quick")) for r in rows),
                            not_escaped_at_longest=sum(e is None for e in esc),
                            seconds=time.perf_counter() - t0, rows=rows)
        write_result(OUT, result)
    return result


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("one", "two"))
