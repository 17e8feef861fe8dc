"""Writing figure artifacts atomically: PNG, PDF, the arrays (.npz) and the config (.json).

Every file goes through a temporary file in the same folder and ``os.replace``, so an
interrupted run never leaves a broken artifact behind.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from theory.args import ArgumentError

__all__ = [
    "atomic_path",
    "ensure_out_dir",
    "package_versions",
    "save_figure",
    "write_json",
    "write_text",
]


def ensure_out_dir(out) -> Path:
    """Create ``out`` (and parents) and check it is writable; ``ArgumentError`` naming ``out`` if not."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArgumentError(f"out must be a writable folder, cannot create {str(path)!r}: {exc.strerror}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ArgumentError(f"out must be a writable folder, got {str(path)!r}")
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target):
    """Yield a temporary path beside ``target``; move it onto ``target`` only on success, with the
    permissions a plain ``open`` would give (``mkstemp`` creates its file readable by its owner only)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(target, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def write_json(target, data: dict) -> Path:
    return write_text(target, json.dumps(_jsonable(data), indent=2, sort_keys=True) + "\n")


def package_versions() -> dict:
    """Versions of the packages a result depends on."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("icl-theory", "sympy", "numpy", "scipy", "torch", "matplotlib", "networkx"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def save_figure(fig, out, paper: str, name: str, *, arrays: dict | None = None,
                config: dict | None = None, started: float | None = None) -> list[Path]:
    """Write ``out/<paper>/<name>.{png,pdf,npz,json}`` atomically and close ``fig``.

    ``arrays`` are the numbers behind the figure; ``config`` the settings (profile, seed,
    sizes); ``started`` a ``time.perf_counter()`` stamp for the wall time.
    """
    import matplotlib.pyplot as plt

    folder = ensure_out_dir(Path(out) / paper)
    paths = []
    for ext in ("png", "pdf"):
        target = folder / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext)
        paths.append(target)
    plt.close(fig)
    target = folder / f"{name}.npz"
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **{k: np.asarray(v) for k, v in (arrays or {}).items()})
    paths.append(target)
    meta = {
        "paper": paper,
        "figure": name,
        "config": config or {},
        "versions": package_versions(),
        "wall_time_s": None if started is None else time.perf_counter() - started,
    }
    paths.append(write_json(folder / f"{name}.json", meta))
    return paths
