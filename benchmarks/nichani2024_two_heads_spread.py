"""Seed-to-seed spread of the two-head split of Nichani, Damian, Lee 2024 (Figure 5, quick profile).

For each training seed, the quick two-head run (``validation.runs.nichani2024.two_heads``: S = 3,
T = 16, 8000 AdamW steps of batch 512) through the run store, and what ``check_two_heads`` reads
from it: the number of two-parent rows (query row aside) whose two heads' argmaxes are the two
parents, and the margin of the loss below the one-parent baseline in units of the test loss's SE.
Writes ``benchmarks/results/nichani2024_two_heads_spread.json`` after every seed (a killed run keeps
what it measured). The check's threshold (``SPLIT_REQUIRED``) is argued from first principles in
``validation.checks.nichani2024``; this script measures how far the runs sit above it.

Run: ``python -m benchmarks.nichani2024_two_heads_spread [--seeds 1-20] [--store results/.runs]``
(each seed is one quick two-head run: 1-3 minutes on one core).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result
from validation.checks.nichani2024 import SPLIT_REQUIRED, chance_split_tail, head_split
from validation.runs import nichani2024 as runs
from validation.store import use_store
from validation.threads import limit_threads

OUT = Path(__file__).with_name("results") / "nichani2024_two_heads_spread.json"


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-20", help="training seeds, 'a-b' inclusive (default 1-20)")
    parser.add_argument("--store", default="results/.runs", help="run store folder (default results/.runs)")
    parser.add_argument("--out", default=str(OUT), help="JSON file to write")
    args = parser.parse_args(argv)
    rows = []
    result = {}
    with use_store(args.store), limit_threads(1):
        for seed in _seeds(args.seeds):
            started = time.perf_counter()
            r = runs.two_heads("quick", seed=seed)
            split, nodes = head_split(r.attention, r.parents, r.T)
            rows.append(dict(seed=seed, split=len(split), rows=len(nodes), missed=sorted(set(nodes) - set(split)),
                             loss=r.final_loss, one_parent=r.one_parent_loss, loss_se=r.final_loss_se,
                             margin_in_se=(r.one_parent_loss - r.final_loss) / r.final_loss_se,
                             chance_tail=chance_split_tail(nodes, len(split)), seconds=time.perf_counter() - started))
            fractions = np.array([x["split"] / x["rows"] for x in rows])
            result = dict(paper="nichani2024", profile="quick", sizes=runs.SIZES["quick"]["multi"],
                          threshold=SPLIT_REQUIRED["quick"], runs=rows, n=len(rows),
                          split_fraction_mean=float(fractions.mean()),
                          split_fraction_sd=float(fractions.std(ddof=1)) if len(rows) > 1 else None,
                          split_fraction_min=float(fractions.min()),
                          below_threshold=int((fractions <= SPLIT_REQUIRED["quick"]).sum()))
            write_result(args.out, result)
            print(json.dumps(rows[-1]), flush=True)
    return result


if __name__ == "__main__":
    main()
