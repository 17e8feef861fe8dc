"""Speed and spread measurements of icl-theory (``python -m benchmarks.<name>``), JSON out.

:func:`write_result` is how every benchmark writes its JSON: through a temporary file in the same
folder and a rename, so an interrupted benchmark never leaves a broken result behind.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["write_result"]


def write_result(target, result: dict, *, sort_keys: bool = False) -> Path:
    """Write ``result`` as indented JSON to ``target`` atomically (creating its folder) and return the path."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(result, indent=2, sort_keys=sort_keys) + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
