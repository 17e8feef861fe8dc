"""Time of von Oswald et al. 2023 Figs 7, 8, 14, 15 (helper `deep`): quick figures, and paper-profile estimates.

``python -m benchmarks.vonoswald2023_deep quick``: each figure at the quick profile through the command line
(``icl-theory figures --paper vonoswald2023 --figure F --profile quick``) into a fresh folder and run store;
wall seconds per figure and the load average (the family's budget is 45 s on two idle cores).

``python -m benchmarks.vonoswald2023_deep estimate``: each paper-profile training config timed over a short
run (``STEPS_TIMED`` steps, baselines and evaluation included once) and extrapolated linearly in steps to
the config's length; the fits and evaluations are counted once, so the estimate is a lower bound of the
training part.  Writes ``benchmarks/results/vonoswald2023_deep.json`` (one key per mode).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import write_result

OUT = Path(__file__).resolve().parent / "results" / "vonoswald2023_deep.json"
FIGURES = ("fig7", "fig8", "fig14", "fig15")
STEPS_TIMED = 40


def quick() -> dict:
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in FIGURES:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "paper_figs.cli", "figures", "--paper", "vonoswald2023",
                                   "--figure", name, "--profile", "quick", "--out", f"{tmp}/out", "--store",
                                   f"{tmp}/store-{name}", "--quiet"], capture_output=True, text=True)
            rows[name] = dict(wall_s=round(time.perf_counter() - t0, 1), returncode=proc.returncode,
                              load_avg_after=os.getloadavg())
            print(name, rows[name], flush=True)
    return dict(command="icl-theory figures --paper vonoswald2023 --figure F --profile quick (fresh store each)",
                cpus=os.cpu_count(), figures=rows, total_wall_s=round(sum(r["wall_s"] for r in rows.values()), 1))


def estimate() -> dict:
    from validation.runs.vonoswald2023 import deep_configs

    rows = []
    for config in dict.fromkeys(deep_configs("paper")):
        kw = dict(config.kwargs)
        steps = kw["steps"]
        kw.update(steps=STEPS_TIMED, log_every=STEPS_TIMED)
        t0 = time.perf_counter()
        config.function(**kw)
        seconds = time.perf_counter() - t0
        rows.append(dict(run=config.name[:160], steps=steps, timed_s=round(seconds, 1),
                         estimate_s=round(seconds * steps / STEPS_TIMED)))
        print(rows[-1], flush=True)
    return dict(steps_timed=STEPS_TIMED, runs=rows, total_estimate_min=round(sum(r["estimate_s"] for r in rows) / 60),
                load_avg_after=os.getloadavg())


def main(which=("quick",)) -> dict:
    result = json.loads(OUT.read_text()) if OUT.is_file() else {}
    result["benchmark"] = "von Oswald et al. 2023 Figs 7, 8, 14, 15: quick wall time and paper-profile estimates"
    for mode in which:
        result[mode] = {"quick": quick, "estimate": estimate}[mode]()
        write_result(OUT, result)
    return result


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("quick",))
