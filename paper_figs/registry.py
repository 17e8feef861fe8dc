"""Which figures exist: for each paper of :mod:`validation.papers`, the dict ``FIGURES`` of its
module ``paper_figs.<paper key>``.

``FIGURES`` maps a figure name (``"fig2"``) to a function
``fn(*, profile="quick", out="results", seed=0) -> list[pathlib.Path]`` that writes
``out/<paper>/<name>.{png,pdf,npz,json}`` and returns the paths. A paper without its figure module
is an error (``validation.papers`` refuses it at import), never a paper that silently has no figures.

``FIGURE_CHECKS`` (optional in a paper's module, expected for every figure) maps a figure name to its
companion ``check(arrays, config) -> list[CheckResult]``: it reads the figure's own arrays (the ``.npz``)
and config (the ``.json``) and asserts the figure's claim with argued tolerances. :func:`check_figure`
runs it on the files of a figure folder; ``icl-theory figures`` prints the rows under each figure and
the report shows them there.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np

from theory.args import ArgumentError, seed as check_seed
from validation import papers

__all__ = ["check_figure", "check_run_args", "figure_checks_of", "figure_claim", "figures_of", "resolve"]


def check_run_args(profile, seed, profiles) -> None:
    """``ValueError`` naming ``profile`` or ``seed`` when a figure function gets a bad one."""
    if profile not in profiles:
        raise ArgumentError(f"profile must be 'quick' or 'paper', got {profile!r}")
    check_seed(seed)


def figures_of(paper: str) -> dict:
    """The figure functions of one paper, by name."""
    return dict(importlib.import_module(papers.paper(paper).modules["figures"]).FIGURES)


def figure_claim(fn) -> str:
    """A figure's claim in one line: the first paragraph of its function's docstring."""
    doc = (fn.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split()) if doc else "(no description)"


def resolve(paper: str = "all", figure: str | None = None) -> list[tuple[str, str, object]]:
    """The (paper, name, function) triples selected by ``paper`` and ``figure``."""
    keys = [p.key for p in papers.PAPERS] if papers.check_paper(paper, allow_all=True) == "all" else [paper]
    selected = []
    for key in keys:
        for fig_name, fn in figures_of(key).items():
            if figure is None or figure == fig_name:
                selected.append((key, fig_name, fn))
    if figure is not None and not selected:
        known = sorted({f"{k}:{f}" for k in keys for f in figures_of(k)})
        raise ArgumentError(f"figure must be one of {', '.join(known) or '(none yet)'}, got {figure!r}")
    return selected


def figure_checks_of(paper: str) -> dict:
    """The figure-claim companions of one paper, by figure name (``FIGURE_CHECKS``; may be empty)."""
    module = importlib.import_module(papers.paper(paper).modules["figures"])
    checks = dict(getattr(module, "FIGURE_CHECKS", {}))
    unknown = sorted(set(checks) - set(module.FIGURES))
    if unknown:
        raise ImportError(f"{module.__name__}.FIGURE_CHECKS names figures that do not exist: {', '.join(unknown)}")
    return checks


def check_figure(paper: str, name: str, out) -> list:
    """Run the companion of figure ``paper:name`` on ``out/<paper>/<name>.npz`` and ``.json``.

    Returns its check rows; ``[]`` when the figure has no companion.
    """
    companion = figure_checks_of(paper).get(name)
    if companion is None:
        return []
    folder = Path(out) / paper
    with np.load(folder / f"{name}.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    config = json.loads((folder / f"{name}.json").read_text())["config"]
    rows = companion(arrays, config)
    return list(rows) if isinstance(rows, (list, tuple)) else [rows]
