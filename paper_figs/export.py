"""``icl-theory export SRC DST``: the shareable part of a result folder, as shipped in ``reference/paper``.

A result folder (what ``icl-theory reproduce`` wrote) holds the reports, the check tables as JSON, the
log, and per figure its ``.png``, ``.pdf``, ``.json`` config and ``.npz`` arrays, plus the run store
``.runs`` (trained models, often hundreds of MB at the paper profile). The export keeps what a reader or
``icl-theory compare`` needs: ``REPORT.md``, ``REPORT.html`` (its images are the PNGs beside it),
``checks.json``, ``figure_checks.json``, ``icl-theory.log`` (the run times), and every figure's ``.png``
and ``.json``; it leaves out the arrays, the PDFs and the store. ``compare`` then compares claims and
figure rows (arrays only where both folders have them).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from paper_figs.artifacts import atomic_path, ensure_out_dir
from theory.args import ArgumentError

__all__ = ["export_results", "TOP_FILES", "FIGURE_SUFFIXES"]

#: the files of a result folder's top level that an export keeps (the first two are required)
TOP_FILES = ("checks.json", "figure_checks.json", "REPORT.md", "REPORT.html", "icl-theory.log")
#: the suffixes of a figure's files that an export keeps
FIGURE_SUFFIXES = (".png", ".json")


def export_results(src, dst) -> list[Path]:
    """Copy the shareable files of result folder ``src`` into ``dst`` (created; files there are replaced,
    each atomically). Returns the written paths. ``ArgumentError`` (a ``ValueError``) when ``src`` is not a
    result folder or ``dst`` is ``src``."""
    src, dst = Path(src), Path(dst)
    if not (src / TOP_FILES[0]).is_file() or not (src / TOP_FILES[1]).is_file():
        raise ArgumentError(f"src must be a result folder of icl-theory reproduce (with {TOP_FILES[0]} and "
                        f"{TOP_FILES[1]}), got {str(src)!r}")
    if dst.resolve() == src.resolve():
        raise ArgumentError(f"dst must differ from src, got {str(dst)!r} for both")
    ensure_out_dir(dst)
    files = [src / name for name in TOP_FILES if (src / name).is_file()]
    files += sorted(p for p in src.glob("*/*") if p.suffix in FIGURE_SUFFIXES and p.parent.name != ".runs")
    written = []
    for path in files:
        target = dst / path.relative_to(src)
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
        written.append(target)
    return written
