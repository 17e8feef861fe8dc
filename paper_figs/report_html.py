"""``results/REPORT.html``: one page to open in a browser, beside ``REPORT.md``.

The page holds the summary, the check table (filterable by paper, source and outcome, and by a
text search, with a few lines of inline JavaScript and no network access), every figure (the PNGs
beside the page, under ``<paper>/``) with the rows that assert its claim from its own arrays, the
errata, the run times and the versions. Nothing is fetched from elsewhere: copy the folder and the
page still works.
"""
from __future__ import annotations

import datetime
import html
import os
from pathlib import Path

from paper_figs.artifacts import package_versions, write_text
from paper_figs.errata import ERRATA
from validation import papers
from validation.checks import SOURCES

__all__ = ["write_html_report"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
td:nth-child(2) { min-width: 16em; }
td:first-child, td.outcome-pass, td.outcome-fail { white-space: nowrap; overflow-wrap: normal; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.num { font-family: ui-monospace, monospace; white-space: nowrap; text-align: right; }
tr.fail td { background: #fde8e8; } td.outcome-pass { color: #176b2c; } td.outcome-fail { color: #a11; font-weight: bold; }
.summary { font-size: 1.1em; padding: 0.6em 1em; background: #f4f8f4; border-left: 4px solid #176b2c; }
.summary.failing { background: #fdf0f0; border-left-color: #a11; }
.filters { display: flex; gap: 1em; flex-wrap: wrap; align-items: center; margin: 0.5em 0; }
.figure { margin: 1em 0 2em; } .figure img { max-width: 100%; border: 1px solid #eee; }
.meta { color: #666; font-size: 0.85em; }
"""

_SCRIPT = """
function applyFilters() {
  const paper = document.getElementById('f-paper').value;
  const source = document.getElementById('f-source').value;
  const outcome = document.getElementById('f-outcome').value;
  const text = document.getElementById('f-text').value.toLowerCase();
  let shown = 0;
  for (const row of document.querySelectorAll('#checks tbody tr')) {
    const ok = (!paper || row.dataset.paper === paper) && (!source || row.dataset.source === source)
      && (!outcome || row.dataset.outcome === outcome) && (!text || row.textContent.toLowerCase().includes(text));
    row.style.display = ok ? '' : 'none';
    if (ok) shown += 1;
  }
  document.getElementById('f-count').textContent = shown + ' rows shown';
}
for (const id of ['f-paper', 'f-source', 'f-outcome', 'f-text']) {
  document.getElementById(id).addEventListener('input', applyFilters);
}
applyFilters();
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _rows(results, *, figure: str | None = None) -> list[str]:
    out = []
    for r in results:
        paper, claim, source, theory, measured, tol, outcome = r.row()
        outcome = outcome.lower()
        attrs = (f'data-paper="{_e(paper)}" data-source="{_e(source or "unlabelled")}" data-outcome="{outcome}"'
                 + (f' data-figure="{_e(figure)}"' if figure else ""))
        out.append(f'<tr class="{outcome}" {attrs}><td>{_e(paper)}</td><td>{_e(claim)}</td>'
                   f'<td>{_e(source or "-")}</td><td class="num">{_e(theory)}</td><td class="num">{_e(measured)}</td>'
                   f'<td class="num">{_e(tol)}</td><td class="outcome-{outcome}">{outcome}</td>'
                   f'<td>{_e(r.detail or "-")}</td></tr>')
    return out


_HEAD = ("<thead><tr><th>paper</th><th>claim</th><th>source</th><th>theory</th><th>measured</th>"
         "<th>tolerance</th><th>outcome</th><th>how the tolerance is argued</th></tr></thead>")


def _select(ident: str, label: str, values) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
    return f'<label>{label} <select id="{ident}"><option value="">all</option>{options}</select></label>'


def write_html_report(out: Path, results, written, *, profile: str, wall_time: float, runs: dict | None = None) -> Path:
    """Write ``out/REPORT.html`` and return its path.

    ``results`` are the check rows, ``written`` the ``(paper, name, paths, seconds, rows)`` of each
    figure (as :func:`paper_figs.report.write_report` takes them), ``runs`` optional counts of the
    run store (``trained``, ``reused``).
    """
    out = Path(out)
    figure_rows = [r for *_, rows in written for r in rows]
    failed = [r for r in results + figure_rows if not r.passed]
    versions = package_versions()
    titles = {p.key: p.title for p in papers.PAPERS}
    keys = list(dict.fromkeys([r.paper for r in results] + [w[0] for w in written]))
    sources = sorted({r.source or "unlabelled" for r in results + figure_rows},
                     key=lambda s: (SOURCES + ("unlabelled",)).index(s) if s in SOURCES + ("unlabelled",) else 99)
    when = datetime.datetime.now().isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>icl-theory reproduction report ({_e(profile)})</title>", f"<style>{_STYLE}</style></head><body>",
        "<h1>icl-theory: reproduction report</h1>",
        f'<p class="meta">Profile <code>{_e(profile)}</code>, written {_e(when)}, wall time {wall_time:.0f} s'
        + (f", runs: {runs.get('trained', 0)} trained, {runs.get('reused', 0)} reused" if runs else "")
        + ". Papers: " + "; ".join(f"{_e(titles.get(k, k))} (<code>{_e(k)}</code>)" for k in keys) + ".</p>",
        f'<p class="summary{" failing" if failed else ""}"><strong>{len(results) - sum(not r.passed for r in results)}'
        f" of {len(results)} theorem checks pass; {len(figure_rows) - sum(not r.passed for r in figure_rows)} of "
        f"{len(figure_rows)} figure claims pass.</strong>"
        + ("" if not failed else " Failing: " + "; ".join(_e(r.claim) for r in failed) + ".") + "</p>",
        "<h2>Theorem checks</h2>",
        "<p>Each row: the claim, where it comes from (<em>paper</em>: read in the paper's text; <em>code</em>: the "
        "authors' code; <em>derived</em>: derived and checked here; <em>reconstructed</em>: a numbered result of the "
        "paper whose exact form we rebuilt), the theory value, what was measured, the tolerance and how it is "
        "argued.</p>",
        '<div class="filters">', _select("f-paper", "paper", keys), _select("f-source", "source", sources),
        _select("f-outcome", "outcome", ["pass", "fail"]),
        '<label>text <input id="f-text" type="search" placeholder="claim contains..."></label>',
        '<span id="f-count" class="meta"></span></div>',
        f'<table id="checks">{_HEAD}<tbody>', *_rows(results), "</tbody></table>",
        "<h2>Figures</h2>", "<p>Under each figure, its claim as asserted from the figure's own arrays (its "
        "<code>.npz</code>).</p>",
    ]
    current = None
    for paper, name, paths, seconds, rows in written:
        if paper != current:
            parts.append(f"<h3>{_e(titles.get(paper, paper))}</h3>")
            current = paper
        parts.append(f'<div class="figure" id="{_e(paper)}-{_e(name)}"><p><strong>{_e(paper)}:{_e(name)}</strong> '
                     f'<span class="meta">({seconds:.1f} s)</span></p>')
        for png in (Path(p) for p in paths if Path(p).suffix == ".png"):
            rel = Path(os.path.relpath(png, out)).as_posix()
            parts.append(f'<a href="{_e(rel)}"><img src="{_e(rel)}" alt="{_e(paper)} {_e(name)}"></a>')
        if rows:
            parts.append(f"<table>{_HEAD}<tbody>" + "".join(_rows(rows, figure=name)) + "</tbody></table>")
        parts.append("</div>")
    parts += ["<h2>Errata: where the papers and their code disagree</h2>",
              "<table><thead><tr><th>paper</th><th>item</th><th>the paper says</th><th>read in</th>"
              "<th>what holds (code, derivation)</th><th>our inference</th><th>shown by</th></tr></thead><tbody>"]
    for e in ERRATA:
        cells = (e["paper"], e["item"], e["paper_says"], e["said_in"], e["holds"], e["inferred"], e["shown_by"])
        parts.append("<tr>" + "".join(f"<td>{_e(c) or '-'}</td>" for c in cells) + "</tr>")
    parts += ["</tbody></table>", "<h2>Run times</h2>",
              "<table><thead><tr><th>figure</th><th>seconds</th></tr></thead><tbody>"]
    parts += [f'<tr><td>{_e(p)}:{_e(n)}</td><td class="num">{s:.1f}</td></tr>' for p, n, _, s, _ in written]
    parts += [f'<tr><td>whole command</td><td class="num">{wall_time:.1f}</td></tr></tbody></table>',
              "<h2>Versions</h2><ul>"]
    parts += [f"<li>{_e(k)} {_e(v)}</li>" for k, v in versions.items() if v]
    parts += ["</ul>", f"<script>{_SCRIPT}</script>", "</body></html>"]
    return write_text(out / "REPORT.html", "\n".join(parts) + "\n")
