"""Speed and spread measurements of icl-theory (``python -m benchmarks.<name>``), JSON out.

:func:`write_result` is how every benchmark writes its JSON: through a temporary file in the same
folder and a rename, so an interrupted benchmark never leaves a broken result behind.
"""
from __future__ import annotations

import json
from pathlib import Path

from paper_figs.artifacts import atomic_path

__all__ = ["write_result"]


def write_result(target, result: dict, *, sort_keys: bool = False) -> Path:
    """Write ``result`` as indented JSON to ``target`` atomically (creating its folder) and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(result, indent=2, sort_keys=sort_keys) + "\n")
    return Path(target)
