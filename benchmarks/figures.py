"""Wall time of ``icl-theory figures --paper P --profile quick`` for each paper; writes benchmarks/results/figures.json.

Targets (issues 2-4): von Oswald et al. under 10 minutes, Nichani et al. under 10 minutes (quick);
Zheng et al.'s paper profile under 15 minutes (``--profile paper --paper zheng2024``).  Each paper
runs in its own process, as a user would run it; per-figure times come from the command's output.

Usage: ``python -m benchmarks.figures [--profile quick|paper] [--paper P ...]``.
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
from validation.papers import PAPERS as _TABLE

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "figures.json"
PAPERS = tuple(p.key for p in _TABLE)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", choices=("quick", "paper"))
    parser.add_argument("--paper", nargs="*", default=list(PAPERS), choices=PAPERS)
    ns = parser.parse_args(argv)
    rows = {}
    for paper in ns.paper:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "paper_figs", "--paper", paper, "--profile", ns.profile,
                                   "--out", out, "--quiet"], capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - start
        per_figure = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\S+:(\S+) \(([\d.]+) s\)$",
                                                                          proc.stdout, flags=re.M)}
        rows[paper] = {"wall_s": wall, "returncode": proc.returncode, "per_figure_s": per_figure,
                       "load_avg_after": os.getloadavg()}
        print(f"{paper}: {wall:.0f} s (rc {proc.returncode})", file=sys.stderr)
    result = {"benchmark": f"icl-theory figures --profile {ns.profile}, per paper", "profile": ns.profile,
              "cpus": os.cpu_count(), "papers": rows}
    write_result(OUT if ns.profile == "quick" else OUT.with_name("figures_paper.json"), result)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
