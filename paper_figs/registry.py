"""Which figures exist: for each paper of :mod:`validation.papers`, the dict ``FIGURES`` of its
module ``paper_figs.<paper key>``.

``FIGURES`` maps a figure name (``"fig2"``) to a function
``fn(*, profile="quick", out="results", seed=0) -> list[pathlib.Path]`` that writes
``out/<paper>/<name>.{png,pdf,npz,json}`` and returns the paths. A paper without its figure module
is an error (``validation.papers`` refuses it at import), never a paper that silently has no figures.
"""
from __future__ import annotations

import importlib

from theory.args import ArgumentError, seed as check_seed
from validation import papers

__all__ = ["check_run_args", "figures_of", "resolve"]


def check_run_args(profile, seed, profiles) -> None:
    """``ValueError`` naming ``profile`` or ``seed`` when a figure function gets a bad one."""
    if profile not in profiles:
        raise ArgumentError(f"profile must be 'quick' or 'paper', got {profile!r}")
    check_seed(seed)


def figures_of(paper: str) -> dict:
    """The figure functions of one paper, by name."""
    return dict(importlib.import_module(papers.paper(paper).modules["figures"]).FIGURES)


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
