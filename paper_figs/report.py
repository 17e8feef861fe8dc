"""``results/REPORT.md``: the check table, every figure, and the errata."""
from __future__ import annotations

import datetime
import os
from pathlib import Path

from paper_figs.artifacts import package_versions, write_json, write_text
from paper_figs.errata import ERRATA, errata_row, markdown_cell
from validation import papers

__all__ = ["write_report"]


def _check_table(results) -> list[str]:
    lines = ["| paper | claim | source | theory | measured | tolerance | pass | how the tolerance is argued |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        paper, claim, source, theory, measured, tol, ok = r.row()
        lines.append(f"| {paper} | {markdown_cell(claim)} | {markdown_cell(source)} | {theory} | {measured} | "
                     f"{tol} | {'pass' if r.passed else '**FAIL**'} | {markdown_cell(r.detail)} |")
    return lines


def write_report(out: Path, results, written, *, profile: str, wall_time: float) -> Path:
    """Write ``out/REPORT.md`` (and ``out/checks.json``) and return the report's path."""
    out = Path(out)
    failed = [r for r in results if not r.passed]
    figure_rows = [r for *_, rows in written for r in rows]
    figure_failed = [r for r in figure_rows if not r.passed]
    versions = package_versions()
    lines = [
        "# icl-theory: reproduction report",
        "",
        f"Profile `{profile}`, written {datetime.datetime.now().isoformat(timespec='seconds')}, "
        f"wall time {wall_time:.0f} s. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".",
        "",
        f"**{len(results) - len(failed)} of {len(results)} theorem checks pass; "
        f"{len(figure_rows) - len(figure_failed)} of {len(figure_rows)} figure claims pass.**"
        + ("" if not failed + figure_failed else
           " Failing: " + "; ".join(markdown_cell(r.claim) for r in failed + figure_failed) + "."),
        "",
        "## Theorem checks",
        "",
    ]
    lines += _check_table(results)
    lines += ["", "## Figures", "",
              "Under each figure, its claim as asserted from the figure's own arrays (its `.npz`).", ""]
    current = None
    titles = {p.key: p.title for p in papers.PAPERS}
    for paper, name, paths, seconds, rows in written:
        if paper != current:
            lines += [f"### {titles.get(paper, paper)}", ""]
            current = paper
        pngs = [p for p in paths if p.suffix == ".png"]
        lines.append(f"**{paper}:{name}** ({seconds:.1f} s)")
        lines.append("")
        for png in pngs:
            rel = os.path.relpath(png, out)
            lines.append(f"![{paper} {name}]({rel})")
            lines.append("")
        if rows:
            lines += _check_table(rows) + [""]
    lines += ["## Errata: where the papers and their code disagree", "",
              "| paper | item | the paper says | read in | what holds (code, derivation) | our inference | shown by |",
              "|---|---|---|---|---|---|---|"]
    for e in ERRATA:
        lines.append(errata_row(e))
    lines.append("")
    write_json(out / "checks.json", [r.__dict__ for r in results])
    write_json(out / "figure_checks.json", [dict(r.__dict__, figure=name) for _, name, _, _, rows in written
                                            for r in rows])
    return write_text(out / "REPORT.md", "\n".join(lines))
