"""Which figures exist: one module per paper, each with a dict ``FIGURES``.

``FIGURES`` maps a figure name (``"fig2"``) to a function
``fn(*, profile="quick", out="results", seed=0) -> list[pathlib.Path]`` that writes
``out/<paper>/<name>.{png,pdf,npz,json}`` and returns the paths.
"""
from __future__ import annotations

import importlib
import numbers

__all__ = ["PAPERS", "PAPER_TITLES", "check_run_args", "figures_of", "resolve"]

PAPERS = {
    "vonoswald2023": "paper_figs.vonoswald2023",
    "zheng2024": "paper_figs.zheng2024",
    "nichani2024": "paper_figs.nichani2024",
}
PAPER_TITLES = {
    "vonoswald2023": "von Oswald et al. 2023, Transformers Learn In-Context by Gradient Descent",
    "zheng2024": "Zheng et al. 2024, On Mesa-Optimization in Autoregressively Trained Transformers",
    "nichani2024": "Nichani, Damian, Lee 2024, How Transformers Learn Causal Structure with Gradient Descent",
}


def check_run_args(profile, seed, profiles) -> None:
    """``ValueError`` naming ``profile`` or ``seed`` when a figure function gets a bad one."""
    if profile not in profiles:
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")


def figures_of(paper: str) -> dict:
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)} or 'all', got {paper!r}")
    try:
        module = importlib.import_module(PAPERS[paper])
    except ModuleNotFoundError as exc:  # a paper whose figures are not written yet
        if exc.name == PAPERS[paper]:
            return {}
        raise
    return dict(module.FIGURES)


def resolve(paper: str = "all", figure: str | None = None) -> list[tuple[str, str, object]]:
    """The (paper, name, function) triples selected by ``paper`` and ``figure``."""
    papers = list(PAPERS) if paper == "all" else [paper]
    selected = []
    for name in papers:
        figs = figures_of(name)
        for fig_name, fn in figs.items():
            if figure is None or figure == fig_name:
                selected.append((name, fig_name, fn))
    if figure is not None and not selected:
        known = sorted({f"{p}:{f}" for p in papers for f in figures_of(p)})
        raise ValueError(f"figure must be one of {', '.join(known) or '(none yet)'}, got {figure!r}")
    return selected
