"""The ``icl-theory`` command line: ``derive``, ``check``, ``figures``, ``reproduce``.

User errors (unknown names, bad values, an unwritable folder) print one line starting
``error:`` and exit with status 2: the command line validates what it reads before it calls the
library, and the library marks a bad argument with ``theory.args.ArgumentError``. Any other
exception is a bug: it shows its traceback and exits with status 1. Failing theorem checks exit
with status 1.

``check``, ``figures`` and ``reproduce`` print one line per finished check group, training run
and figure (name, seconds, outcome) on standard error and into ``OUT/icl-theory.log``, also when
the output is a file or a pipe; on a terminal a progress bar runs as well. Trained models come
from the run store (``OUT/.runs``, or ``--store DIR``; ``--fresh`` retrains).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from paper_figs.derive import run_derive
from paper_figs.errors import UserError
from paper_figs.session import Progress, format_table, selected_papers, session
from theory.args import ArgumentError
from validation import papers

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the usage first)
        raise UserError(message)


# ----------------------------------------------------------------------------- check
def _run_checks(ns):
    from validation.checks import load_checks, run_checks

    keys = selected_papers(ns.paper)
    progress = Progress(ns, sum(len(load_checks(k)) for k in keys), "checks")

    def report(paper, group, rows, seconds):
        failed = sum(not r.passed for r in rows)
        outcome = "pass" if not failed else f"FAIL ({failed} of {len(rows)})"
        progress.step(f"check {paper}:{group}: {len(rows)} rows, {outcome} ({seconds:.1f} s)")

    try:
        return [r for key in keys for r in run_checks(key, ns.profile, progress=report, seed=ns.seed,
                                                      claim=getattr(ns, "claim", None))]
    finally:
        progress.close()


def _cmd_check(ns) -> int:
    selected_papers(ns.paper)
    with session(ns):
        results = _run_checks(ns)
    if ns.claim is not None and not results:
        raise UserError(f"claim: no check of --paper {ns.paper} has a claim containing {ns.claim!r}")
    if ns.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print(format_table(results))
        failed = sum(not r.passed for r in results)
        print(f"\n{len(results) - failed} passed, {failed} failed")
    return 0 if all(r.passed for r in results) else 1


# ----------------------------------------------------------------------------- figures
def _selected_figures(ns) -> list:
    from paper_figs.registry import resolve

    selected_papers(ns.paper)
    try:
        return resolve(ns.paper, getattr(ns, "figure", None))
    except ArgumentError as exc:
        raise UserError(str(exc)) from None


def _run_figures(ns, out: Path, selected: list):
    """Draw each selected figure, then assert its claim from its own arrays (its companion check).

    Returns ``(paper, name, paths, seconds, rows)`` per figure."""
    from paper_figs.registry import check_figure

    progress = Progress(ns, len(selected), "figures")
    written = []
    try:
        for paper_name, name, fn in selected:
            started = time.perf_counter()
            paths = fn(profile=ns.profile, out=out, seed=ns.seed)
            seconds = time.perf_counter() - started
            rows = check_figure(paper_name, name, out)
            failed = sum(not r.passed for r in rows)
            claim = ("" if not rows else f", claim {'pass' if not failed else 'FAIL'} "
                     f"({len(rows) - failed} of {len(rows)} rows)")
            written.append((paper_name, name, [Path(p) for p in paths], seconds, rows))
            progress.step(f"figure {paper_name}:{name}: {len(paths)} files ({seconds:.1f} s){claim}")
    finally:
        progress.close()
    return written


def _cmd_figures(ns) -> int:
    selected = _selected_figures(ns)
    if ns.list:
        from paper_figs.registry import figure_checks_of, figure_claim

        for paper_name in dict.fromkeys(p for p, _, _ in selected):
            companions = figure_checks_of(paper_name)
            print(f"{paper_name}:")
            for key, name, fn in selected:
                if key == paper_name:
                    mark = "" if name in companions else "  [claim not asserted yet]"
                    print(f"  {name:<24} {figure_claim(fn)}{mark}")
        return 0
    with session(ns) as (out, _):
        written = _run_figures(ns, out, selected)
    for paper, name, paths, seconds, rows in written:
        print(f"{paper}:{name} ({seconds:.1f} s)")
        for p in paths:
            print(f"  {p}")
        if rows:
            print("\n".join("    " + line for line in format_table(rows).splitlines()))
    return 0 if all(r.passed for *_, rows in written for r in rows) else 1


# ----------------------------------------------------------------------------- reproduce
def _cmd_reproduce(ns) -> int:
    from paper_figs.report import write_report
    from paper_figs.report_html import write_html_report

    started = time.perf_counter()
    selected = _selected_figures(ns)
    with session(ns) as (out, store):
        results = _run_checks(ns)
        written = _run_figures(ns, out, selected)
        wall_time = time.perf_counter() - started
        report = write_report(out, results, written, profile=ns.profile, wall_time=wall_time)
        page = write_html_report(out, results, written, profile=ns.profile, wall_time=wall_time,
                                 runs=dict(trained=store.trained, reused=store.reused))
    figure_rows = [r for *_, rows in written for r in rows]
    print(format_table(results + figure_rows))
    failed = sum(not r.passed for r in results + figure_rows)
    print(f"\n{len(results) + len(figure_rows) - failed} passed, {failed} failed "
          f"({len(figure_rows)} of them figure claims); "
          f"{sum(len(p) for _, _, p, *_ in written)} files for {len(written)} figures")
    print(f"report: {report} and {page}")
    return 0 if failed == 0 else 1


# ----------------------------------------------------------------------------- compare
def _cmd_compare(ns) -> int:
    from paper_figs.compare import compare_folders, format_differences

    diffs = compare_folders(ns.a, ns.b)
    if ns.json:
        print(json.dumps([dict(d.__dict__, counts=d.counts) for d in diffs], indent=2))
    else:
        print(format_differences(diffs, ns.a, ns.b))
    return 1 if any(d.counts for d in diffs) else 0


# ----------------------------------------------------------------------------- export
def _cmd_export(ns) -> int:
    from paper_figs.export import export_results

    try:
        written = export_results(ns.src, ns.dst)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    size = sum(p.stat().st_size for p in written)
    print(f"exported {len(written)} files ({size / 2**20:.1f} MiB) from {ns.src} to {ns.dst}")
    return 0


# ----------------------------------------------------------------------------- parser
def _cluster_arg(text: str) -> str:
    from validation.cluster import parse_cluster

    try:
        parse_cluster(text)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("cluster: ").removeprefix("cluster ")) from None
    return text


def _seed_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from validation.store import package_version

    keys = [p.key for p in papers.PAPERS]
    parser = _Parser(
        prog="icl-theory",
        description="Derive, check and plot the results of the papers on in-context learning: "
        + "; ".join(f"{p.title} ({p.key})" for p in papers.PAPERS) + ".",
    )
    parser.add_argument("--version", action="version", version=f"icl-theory {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="{derive,check,figures,reproduce,compare,export}", parser_class=_Parser)

    p = sub.add_parser("derive", help="print an exact result of the theory modules",
                       description="Call a theory function with exact arguments and print its result. "
                       "Example: icl-theory derive optimal_step_size d=10 N=10 law='uniform(1/2)'. "
                       "Laws: gaussian(1), uniform(1/2), rademacher(1), sparse_axis(1), sphere(2), full_one(1); "
                       "numbers are exact (1/2 is a rational), free names are positive symbols, "
                       "[[1,0],[0,2]] is a matrix.")
    p.add_argument("name", nargs="?", help="function, e.g. optimal_step_size or mesa.fixed_point")
    p.add_argument("args", nargs="*", help="arguments as key=value (or positional)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print JSON (result, LaTeX and float value)")
    p.add_argument("--list", action="store_true", help="list the functions that can be derived")
    p.set_defaults(run=run_derive)

    def common(p):
        p.add_argument("--paper", default="all", help=f"one of {', '.join(keys)} or all (default all)")
        p.add_argument("--profile", default="quick", choices=("quick", "paper"),
                       help="quick: minutes on a laptop CPU; paper: the papers' own sizes")
        p.add_argument("--quiet", action="store_true", help="no progress lines or bars on the terminal "
                       "(OUT/icl-theory.log is still written)")
        p.add_argument("--out", default="results", help="output folder (default ./results)")
        p.add_argument("--store", default=None, metavar="DIR",
                       help="the run store: trained models by config (default OUT/.runs)")
        p.add_argument("--fresh", action="store_true",
                       help="retrain every run instead of reusing the store (the new results are stored)")
        p.add_argument("--device", default="cpu",
                       help="torch device of every trainer: cpu (default) or cuda[:i] where a GPU is available")
        p.add_argument("--cluster", type=_cluster_arg, default="none", metavar="SPEC",
                       help="where runs train: none (this process, default), local:N (N worker processes here) "
                       "or a Dask scheduler address such as tcp://host:8786")
        p.add_argument("--seed", type=_seed_arg, default=0,
                       help="random seed of the checks' draws and the figures' runs (default 0)")

    p = sub.add_parser("check", help="run the theorem checks and print the table",
                       description="Run the theorem checks of one paper or all; print claim, theory value, "
                       "measured value, tolerance and pass. Exit 1 if any check fails.")
    common(p)
    p.add_argument("--claim", default=None, metavar="TEXT",
                   help="run only the checks whose claim contains TEXT (case ignored)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(run=_cmd_check)

    p = sub.add_parser("figures", help="regenerate figures",
                       description="Regenerate one figure or all: PNG, PDF, the arrays (.npz) and the "
                       "config (.json) under OUT/<paper>/.")
    common(p)
    p.add_argument("--figure", default=None, help="one figure name, e.g. fig2 (default: all of --paper)")
    p.add_argument("--list", action="store_true",
                   help="list the figures of --paper with their one-line claims, and draw nothing")
    p.set_defaults(run=_cmd_figures)

    p = sub.add_parser("reproduce", help="checks + figures + OUT/REPORT.md and OUT/REPORT.html",
                       description="Run every check and regenerate every figure, then write OUT/REPORT.md "
                       "and OUT/REPORT.html (the same in a page for a browser, with the check table filterable) "
                       "with the check table, the figures and the errata.")
    common(p)
    p.set_defaults(run=_cmd_reproduce)

    p = sub.add_parser("compare", help="compare two result folders claim by claim",
                       description="Compare two result folders (e.g. a rerun against reference/paper, a GPU run "
                       "against a CPU run) claim by claim and figure by figure; print every measured value that "
                       "differs by more than its claim's tolerance, every change of outcome and every claim found "
                       "in one folder only. Exit 1 if there is any.")
    p.add_argument("a", metavar="A", help="the first result folder (the reference)")
    p.add_argument("b", metavar="B", help="the second result folder")
    p.add_argument("--json", action="store_true", help="print the differences as JSON")
    p.set_defaults(run=_cmd_compare)

    p = sub.add_parser("export", help="copy a result folder's reports, tables and PNGs (no arrays, no store)",
                       description="Copy the shareable part of result folder SRC into DST: REPORT.md, REPORT.html, "
                       "checks.json, figure_checks.json, the log, and every figure's PNG and JSON config (no .npz "
                       "arrays, PDFs or run store). This is how reference/paper is made from a paper-profile "
                       "reproduce; icl-theory compare works on the export.")
    p.add_argument("src", metavar="SRC", help="a result folder written by icl-theory reproduce")
    p.add_argument("dst", metavar="DST", help="the folder to write (created)")
    p.set_defaults(run=_cmd_export)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch system's preemption, ``timeout``), handled as Ctrl-C is: submitted
    cluster work is cancelled, nothing partial is written, and the command says so and exits 143."""


def _terminate(signum, frame):
    raise Terminated


def main(argv=None) -> int:
    parser = build_parser()
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave the signal alone
        previous = None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        ns = parser.parse_args(argv)
        ns.argv = argv
        if ns.command is None:
            parser.print_help()
            return 2
        return ns.run(ns)
    except UserError as exc:  # only the user's mistakes; a library bug keeps its traceback (exit 1)
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except Terminated:
        print("error: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `icl-theory derive --list | head`
        sys.stderr.close()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
