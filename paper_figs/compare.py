"""``icl-theory compare A B``: two result folders, claim by claim and figure by figure.

A result folder is what ``icl-theory reproduce`` (or ``check``/``figures``) wrote: ``checks.json``
(the check table), ``figure_checks.json`` (each figure's claim rows) and the figures' ``.json``
configs and ``.npz`` arrays under ``<paper>/``. Typical uses: a user's rerun against the shipped
reference (``reference/paper``), a GPU run against a CPU run, a new commit against an old one.

For each claim present in both folders (matched by paper, figure and claim text) the measured
values differ *beyond the claim's tolerance* when |measured_A - measured_B| exceeds the tolerance
of A's row (relative tolerances are taken relative to A's theory value). Two measurements each
within their tolerance of the theory may differ by up to twice it, so a difference beyond one
tolerance is worth a look, not proof of a bug; a change of outcome (pass in A, fail in B or the
reverse) and a claim present in one folder only are always reported. Arrays are compared when
both folders hold them (the shipped reference does not): their largest relative difference is
printed for information.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paper_figs.errors import UserError

__all__ = ["Difference", "compare_folders", "format_differences"]


@dataclass(frozen=True)
class Difference:
    """One reported item: ``kind`` is ``beyond tolerance``, ``outcome``, ``only in A``, ``only in B``
    or ``arrays`` (information only: not counted as a failure)."""

    kind: str
    paper: str
    where: str  # "check" or the figure's name
    claim: str
    a: float | str
    b: float | str
    tolerance: float | str

    @property
    def counts(self) -> bool:
        return self.kind != "arrays"


def _load_rows(folder: Path, name: str, required: bool) -> dict:
    path = folder / name
    if not path.is_file():
        if required:
            raise UserError(f"{folder}: no {name} (is it a result folder written by icl-theory reproduce?)")
        return {}
    try:
        rows = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg})") from None
    return {(r["paper"], r.get("figure", "check"), r["claim"]): r for r in rows}


def _tolerance(row: dict) -> float:
    tol = float(row["tolerance"])
    return tol * abs(float(row["theory"])) if row.get("relative") else tol


def _array_differences(a: Path, b: Path) -> list[Difference]:
    out = []
    for npz_a in sorted(a.glob("*/*.npz")):
        npz_b = b / npz_a.relative_to(a)
        if not npz_b.is_file():
            continue
        with np.load(npz_a) as fa, np.load(npz_b) as fb:
            worst, worst_key = 0.0, ""
            for key in sorted(set(fa.files) & set(fb.files)):
                x, y = np.asarray(fa[key]), np.asarray(fb[key])
                if x.shape != y.shape or not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
                    worst, worst_key = math.inf, key
                    break
                if x.size == 0:
                    continue
                with np.errstate(invalid="ignore", divide="ignore"):
                    diff = np.abs(x.astype(float) - y.astype(float))
                    scale = np.maximum(np.abs(x.astype(float)), np.abs(y.astype(float)))
                    rel = np.where(diff == 0, 0.0, diff / np.where(scale == 0, 1.0, scale))
                rel = np.nan_to_num(rel, nan=0.0 if np.array_equal(np.isnan(x), np.isnan(y)) else math.inf)
                if rel.max() > worst:
                    worst, worst_key = float(rel.max()), key
            if worst > 0:
                out.append(Difference("arrays", npz_a.parent.name, npz_a.stem, f"largest relative difference ({worst_key})",
                                      "", "", f"{worst:.3g}"))
    return out


def compare_folders(a, b) -> list[Difference]:
    """Every difference between result folders ``a`` and ``b`` (module docstring)."""
    a, b = Path(a), Path(b)
    for folder in (a, b):
        if not folder.is_dir():
            raise UserError(f"{folder}: no such result folder")
    rows_a = {**_load_rows(a, "checks.json", True), **_load_rows(a, "figure_checks.json", False)}
    rows_b = {**_load_rows(b, "checks.json", True), **_load_rows(b, "figure_checks.json", False)}
    out = []
    for key, ra in rows_a.items():
        paper, where, claim = key
        rb = rows_b.get(key)
        if rb is None:
            out.append(Difference("only in A", paper, where, claim, ra["measured"], "", ra["tolerance"]))
            continue
        tol = _tolerance(ra)
        ma, mb = float(ra["measured"]), float(rb["measured"])
        if bool(ra["passed"]) != bool(rb["passed"]):
            out.append(Difference("outcome", paper, where, claim, "pass" if ra["passed"] else "fail",
                                  "pass" if rb["passed"] else "fail", tol))
        elif not (abs(ma - mb) <= tol or (math.isnan(ma) and math.isnan(mb))):
            out.append(Difference("beyond tolerance", paper, where, claim, ma, mb, tol))
    for key, rb in rows_b.items():
        if key not in rows_a:
            out.append(Difference("only in B", *key, "", rb["measured"], rb["tolerance"]))
    return out + _array_differences(a, b)


def format_differences(diffs: list[Difference], a, b) -> str:
    """A plain-text report of :func:`compare_folders`, ending with a one-line verdict."""
    counted = [d for d in diffs if d.counts]
    lines = []
    for d in diffs:
        def fmt(v):
            return f"{v:.6g}" if isinstance(v, float) else str(v)
        if d.kind == "arrays":
            lines.append(f"{d.kind:<17} {d.paper}:{d.where}: {d.claim} = {d.tolerance}")
        else:
            lines.append(f"{d.kind:<17} {d.paper}:{d.where}: {d.claim} | A {fmt(d.a)} | B {fmt(d.b)} | "
                         f"tolerance {fmt(d.tolerance)}")
    lines.append(f"{len(counted)} difference(s) beyond the claims' tolerances between {a} and {b}"
                 + (f"; {len(diffs) - len(counted)} figure(s) with differing arrays (information)"
                    if len(diffs) > len(counted) else ""))
    return "\n".join(lines)
