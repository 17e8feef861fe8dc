"""Speed and spread measurements of icl-theory (``python -m benchmarks.<name>``), JSON out.

:func:`write_result` is how every benchmark writes its JSON: through a temporary file in the same
folder and a rename, so an interrupted benchmark never leaves a broken result behind.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from paper_figs.artifacts import atomic_path

__all__ = ["write_result", "spread_stats"]


def write_result(target, result: dict, *, sort_keys: bool = False) -> Path:
    """Write ``result`` as indented JSON to ``target`` atomically (creating its folder) and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(result, indent=2, sort_keys=sort_keys) + "\n")
    return Path(target)


def spread_stats(rows: list[dict], skip=("seed",)) -> dict:
    """Per key of ``rows`` (one dict per seed, the same keys; those in ``skip`` left out): mean, sample SD,
    min and max over the rows, the seed-to-seed spread the checks' tolerances are argued from."""
    stats = {}
    for key in rows[0]:
        if key in skip:
            continue
        v = np.array([r[key] for r in rows], dtype=float)
        stats[key] = dict(mean=float(v.mean()), sd=float(v.std(ddof=1)), min=float(v.min()), max=float(v.max()))
    return stats
