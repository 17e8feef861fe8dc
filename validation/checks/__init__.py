"""Theorem checks: each compares a theory value with a measured one under an argued tolerance.

Each paper of :mod:`validation.papers` has a module here, ``validation.checks.<paper key>``, with a
list ``CHECKS`` of check groups ``fn(profile) -> CheckResult | list[CheckResult]`` (``profile`` is
``"quick"`` or ``"paper"``).
``icl-theory check`` runs them and prints the table; the tests assert ``result.passed``.
"""
from __future__ import annotations

import importlib
import inspect
import math
import time
from dataclasses import dataclass

__all__ = ["CheckResult", "SOURCES", "check_profile", "compare", "exceeds", "load_checks", "run_checks"]


#: where a claim comes from (../shared/CONVENTIONS.md): read in the paper's text, the authors' released
#: code, derived and checked here, or a result the paper states whose exact form we rebuilt
SOURCES = ("paper", "code", "derived", "reconstructed")


@dataclass(frozen=True)
class CheckResult:
    """One row of the check table; ``source`` says where its claim comes from (one of ``SOURCES``)."""

    paper: str
    claim: str
    theory: float
    measured: float
    tolerance: float
    passed: bool
    detail: str = ""  # how the tolerance was argued, or what was compared
    relative: bool = False  # tolerance is a fraction of |theory|
    #: "=": |measured - theory| <= tolerance; ">": measured > theory + tolerance (a one-sided claim
    #: such as "beats GD by more than 5 SE"); "<": measured < theory - tolerance
    relation: str = "="
    source: str = ""

    def __post_init__(self):
        if self.source not in SOURCES + ("",):
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")

    def row(self) -> tuple[str, ...]:
        tol = f"{100 * self.tolerance:.3g} % rel" if self.relative else f"{self.tolerance:.3g}"
        if self.relation == ">":
            tol = f"> theory + {tol}"
        elif self.relation == "<":
            tol = f"< theory - {tol}"
        else:
            tol = f"+- {tol}"
        return (self.paper, self.claim, self.source, f"{self.theory:.6g}", f"{self.measured:.6g}",
                tol, "pass" if self.passed else "FAIL")


def compare(paper: str, claim: str, theory: float, measured: float, tolerance: float, *,
            relative: bool = False, detail: str = "", source: str = "") -> CheckResult:
    """|measured - theory| <= tolerance (times |theory| when ``relative``)."""
    theory, measured, tolerance = float(theory), float(measured), float(tolerance)
    bound = tolerance * abs(theory) if relative else tolerance
    ok = math.isfinite(measured) and abs(measured - theory) <= bound
    return CheckResult(paper, claim, theory, measured, tolerance, ok, detail, relative, source=source)


def exceeds(paper: str, claim: str, baseline: float, measured: float, margin: float, *,
            detail: str = "", source: str = "") -> CheckResult:
    """A one-sided claim: measured > baseline + margin (e.g. a difference above 5 standard errors)."""
    baseline, measured, margin = float(baseline), float(measured), float(margin)
    ok = math.isfinite(measured) and measured > baseline + margin
    return CheckResult(paper, claim, baseline, measured, margin, ok, detail, False, ">", source)


def check_profile(profile: str) -> str:
    """``profile`` itself if it is ``"quick"`` or ``"paper"``, else ``ValueError`` naming it."""
    from theory.args import choice

    return choice(profile, "profile", ("quick", "paper"))


def load_checks(paper: str) -> list:
    """The check groups of one paper, from ``validation.checks.<paper>``."""
    from validation import papers

    return list(importlib.import_module(papers.paper(paper).modules["checks"]).CHECKS)


def run_checks(paper: str = "all", profile: str = "quick", progress=None, *, seed: int = 0,
               claim: str | None = None) -> list[CheckResult]:
    """Run the check groups of one paper (or ``"all"``) and return their rows in order.

    ``seed`` moves every random draw of the groups that take one (``fn(profile, seed=...)``; seed 0
    is the default table). ``claim`` keeps only the rows whose claim contains that text (case
    ignored); a group that declares its claims (a ``claims`` attribute, the texts its rows will
    carry) is not run when none of them contains it. ``progress(paper, group, rows, seconds)`` is
    called after each group with the rows it kept.
    """
    from theory.args import seed as check_seed
    from validation import papers

    check_profile(profile)
    check_seed(seed)
    needle = None if claim is None else str(claim).lower()
    keys = [p.key for p in papers.PAPERS] if papers.check_paper(paper, allow_all=True) == "all" else [paper]
    results = []
    for key in keys:
        for fn in load_checks(key):
            declared = getattr(fn, "claims", None)
            if needle is not None and declared is not None and not any(needle in c.lower() for c in declared):
                continue
            started = time.perf_counter()
            takes_seed = "seed" in inspect.signature(fn).parameters
            out = fn(profile, seed=seed) if takes_seed else fn(profile)
            rows = list(out) if isinstance(out, (list, tuple)) else [out]
            if needle is not None:
                rows = [r for r in rows if needle in r.claim.lower()]
                if not rows:
                    continue
            results.extend(rows)
            if progress is not None:
                progress(key, fn.__name__, rows, time.perf_counter() - started)
    return results
