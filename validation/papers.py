"""The papers this project reproduces: one row each, read by everything that enumerates papers.

Each row names the paper's key, its title and the model package it is built on. The modules of a
paper follow from them: ``theory.<model>``, ``numerics.<model>``, ``validation.<model>`` (the
math), ``validation.runs.<key>`` (its standard training runs), ``validation.checks.<key>`` (its
theorem checks, a list ``CHECKS``) and ``paper_figs.<key>`` (its figures, a dict ``FIGURES``).
Adding a paper is one row here plus those modules; a row whose modules do not exist is an
``ImportError`` when this module is imported, not a paper that silently vanishes.

Examples
--------
>>> [p.key for p in PAPERS]
['vonoswald2023', 'zheng2024', 'nichani2024']
>>> paper("zheng2024").model
'mesa'
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from theory.args import choice

__all__ = ["Paper", "PAPERS", "paper", "check_paper"]


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    model: str

    @property
    def modules(self) -> dict[str, str]:
        """The paper's modules by role."""
        return {"theory": f"theory.{self.model}", "numerics": f"numerics.{self.model}",
                "validation": f"validation.{self.model}", "runs": f"validation.runs.{self.key}",
                "checks": f"validation.checks.{self.key}", "figures": f"paper_figs.{self.key}"}


PAPERS = (
    Paper("vonoswald2023", "von Oswald et al. 2023, Transformers Learn In-Context by Gradient Descent", "lsa"),
    Paper("zheng2024", "Zheng et al. 2024, On Mesa-Optimization in Autoregressively Trained Transformers",
          "mesa"),
    Paper("nichani2024", "Nichani, Damian, Lee 2024, How Transformers Learn Causal Structure with Gradient "
          "Descent", "causal"),
)


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:  # a parent package is missing
        return True


def _verify() -> None:
    for p in PAPERS:
        missing = [name for name in p.modules.values() if _missing(name)]
        if missing:
            raise ImportError(f"paper {p.key!r} is registered in validation.papers but lacks the modules "
                              f"{', '.join(missing)}")


def check_paper(key, *, allow_all: bool = False) -> str:
    """``key`` if it names a registered paper (or is ``"all"`` when ``allow_all``), else ``ValueError``."""
    keys = tuple(p.key for p in PAPERS)
    return choice(key, "paper", keys + (("all",) if allow_all else ()))


def paper(key: str) -> Paper:
    """The row of ``key``."""
    check_paper(key)
    return next(p for p in PAPERS if p.key == key)


_verify()
