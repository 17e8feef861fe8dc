"""The run store, timed: one figure command run twice into the same output folder.

The first run trains (into ``OUT/.runs``); the second finds every run in the store and only redraws
the figure. Issue 8 asks that the second take under a fifth of the first. Each run is its own
process, as a user would type it, so the second run still pays the interpreter's start and the
imports (torch, scipy, sympy, matplotlib: about 3.5 s here), which no store removes; the command's own
log gives the time inside the command as well. Writes ``benchmarks/results/store_<profile>.json``.
Usage: ``python -m benchmarks.store [--paper zheng2024] [--figure fixed_point_vs_T] [--profile quick]``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import write_result

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _timed(argv: list[str]) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "paper_figs.cli", *argv], capture_output=True, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - start
    runs = re.search(r"runs: (\d+) trained, (\d+) reused", proc.stderr)
    inside = re.findall(r"^\[\s*([\d.]+) s\] runs:", proc.stderr, flags=re.M)
    return {"wall_s": wall, "in_command_s": float(inside[-1]) if inside else None, "returncode": proc.returncode,
            "trained": int(runs.group(1)) if runs else None, "reused": int(runs.group(2)) if runs else None}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", default="zheng2024")
    parser.add_argument("--figure", default="fixed_point_vs_T")
    parser.add_argument("--profile", default="quick", choices=("quick", "paper"))
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        cmd = ["figures", "--paper", ns.paper, "--figure", ns.figure, "--profile", ns.profile, "--out", out]
        first, second = _timed(cmd), _timed(cmd)
    result = {"benchmark": "the same figure twice into one folder: the second reuses the run store",
              "command": "icl-theory " + " ".join(cmd[:-1] + ["OUT"]), "cpus": os.cpu_count(),
              "first": first, "second": second, "ratio": second["wall_s"] / first["wall_s"],
              "ratio_in_command": (second["in_command_s"] / first["in_command_s"]
                                   if first["in_command_s"] and second["in_command_s"] is not None else None),
              "load_avg_after": os.getloadavg()}
    write_result(RESULTS / f"store_{ns.profile}.json", result)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
