"""Theorem checks: each compares a theory value with a measured one under an argued tolerance.

Each paper has a module here (``lsa``, ``mesa``, ``causal``) with a list ``CHECKS`` of
functions ``fn(profile) -> CheckResult`` (``profile`` is ``"quick"`` or ``"paper"``).
``icl-theory check`` runs them and prints the table; the tests assert ``result.passed``.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

__all__ = ["CheckResult", "PAPER_MODULES", "check_profile", "compare", "exceeds", "load_checks", "run_checks"]

PAPER_MODULES = {
    "vonoswald2023": "validation.checks.lsa",
    "zheng2024": "validation.checks.mesa",
    "nichani2024": "validation.checks.causal",
}


@dataclass(frozen=True)
class CheckResult:
    """One row of the check table."""

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

    def row(self) -> tuple[str, ...]:
        tol = f"{100 * self.tolerance:.3g} % rel" if self.relative else f"{self.tolerance:.3g}"
        if self.relation == ">":
            tol = f"> theory + {tol}"
        elif self.relation == "<":
            tol = f"< theory - {tol}"
        else:
            tol = f"+- {tol}"
        return (self.paper, self.claim, f"{self.theory:.6g}", f"{self.measured:.6g}",
                tol, "pass" if self.passed else "FAIL")


def compare(paper: str, claim: str, theory: float, measured: float, tolerance: float, *,
            relative: bool = False, detail: str = "") -> CheckResult:
    """|measured - theory| <= tolerance (times |theory| when ``relative``)."""
    theory, measured, tolerance = float(theory), float(measured), float(tolerance)
    bound = tolerance * abs(theory) if relative else tolerance
    ok = math.isfinite(measured) and abs(measured - theory) <= bound
    return CheckResult(paper, claim, theory, measured, tolerance, ok, detail, relative)


def exceeds(paper: str, claim: str, baseline: float, measured: float, margin: float, *,
            detail: str = "") -> CheckResult:
    """A one-sided claim: measured > baseline + margin (e.g. a difference above 5 standard errors)."""
    baseline, measured, margin = float(baseline), float(measured), float(margin)
    ok = math.isfinite(measured) and measured > baseline + margin
    return CheckResult(paper, claim, baseline, measured, margin, ok, detail, False, ">")


def check_profile(profile: str) -> str:
    """``profile`` itself if it is ``"quick"`` or ``"paper"``, else ``ValueError`` naming it."""
    if profile not in ("quick", "paper"):
        raise ValueError(f"profile must be 'quick' or 'paper', got {profile!r}")
    return profile


def load_checks(paper: str) -> list:
    if paper not in PAPER_MODULES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_MODULES)} or 'all', got {paper!r}")
    return list(importlib.import_module(PAPER_MODULES[paper]).CHECKS)


def run_checks(paper: str = "all", profile: str = "quick", progress=None) -> list[CheckResult]:
    """Run the checks of one paper (or ``"all"``) and return their results."""
    check_profile(profile)
    papers = list(PAPER_MODULES) if paper == "all" else [paper]
    results = []
    for name in papers:
        for fn in load_checks(name):
            out = fn(profile)
            results.extend(out if isinstance(out, (list, tuple)) else [out])
            if progress is not None:
                progress(results[-1])
    return results
