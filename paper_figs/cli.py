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
import contextlib
import importlib
import inspect
import json
import logging
import sys
import time
from pathlib import Path

from theory.args import ArgumentError
from validation import papers

__all__ = ["main", "build_parser"]

log = logging.getLogger("icl_theory")


class UserError(Exception):
    """A mistake in what the user typed: reported as one ``error:`` line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the usage first)
        raise UserError(message)


# ----------------------------------------------------------------------------- derive
def _theory_functions() -> dict[str, object]:
    """Every public function of the theory modules, keyed by ``module.name``."""
    out = {}
    for mod_name in ("laws",) + tuple(p.model for p in papers.PAPERS):
        module = importlib.import_module(f"theory.{mod_name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                out[f"{mod_name}.{name}"] = obj
    return out


def _find_function(name: str):
    functions = _theory_functions()
    if name in functions:
        return name, functions[name]
    matches = [key for key in functions if key.split(".", 1)[1] == name]
    if len(matches) == 1:
        return matches[0], functions[matches[0]]
    if len(matches) > 1:
        raise UserError(f"name {name!r} is ambiguous: use one of {', '.join(matches)}")
    raise UserError(f"name must be a theory function (see `icl-theory derive --list`), got {name!r}")


def _parse_value(key: str, text: str):
    import sympy as sp
    from sympy.abc import _clash  # N, S, E, I, Q, O, beta, gamma, pi, ... as plain symbols

    from theory.laws import parse_law

    if key == "law" or key.endswith("_law"):
        try:
            return parse_law(text)
        except ArgumentError as exc:
            raise UserError(str(exc)) from None
    try:
        value = sp.sympify(text, locals=dict(_clash), rational=True)
    except (sp.SympifyError, SyntaxError, TypeError) as exc:
        raise UserError(f"{key} must be a number, a symbol or a list, got {text!r}") from exc
    if isinstance(value, sp.Basic) and value.has(sp.nan, sp.zoo, -sp.oo):
        raise UserError(f"{key} must be finite, got {text!r}")
    if isinstance(value, (list, tuple, sp.Tuple)):
        items = list(value)
        if items and all(isinstance(row, (list, tuple, sp.Tuple)) for row in items):
            value = sp.Matrix([list(row) for row in items])
        else:
            value = tuple(items)
    # free names are positive quantities (sizes, variances, step sizes, times)
    if hasattr(value, "free_symbols") and value.free_symbols:
        value = value.subs({s: sp.Symbol(s.name, positive=True) for s in value.free_symbols})
    return value


def _bind_arguments(fn, tokens: list[str]):
    params = list(inspect.signature(fn).parameters.values())
    args, kwargs = [], {}
    for token in tokens:
        if "=" in token:
            key, text = token.split("=", 1)
            key = key.strip()
            if key not in {p.name for p in params}:
                names = ", ".join(p.name for p in params)
                raise UserError(f"argument {key!r} is not a parameter of {fn.__name__} (takes {names})")
            kwargs[key] = _parse_value(key, text.strip())
        else:
            if kwargs:
                raise UserError(f"positional argument {token!r} after key=value arguments")
            if len(args) >= len(params):
                raise UserError(f"too many arguments for {fn.__name__}")
            args.append(_parse_value(params[len(args)].name, token))
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise UserError(f"{fn.__name__}: {exc}") from None
    return args, kwargs


def _as_float(value):
    import sympy as sp

    try:
        if isinstance(value, sp.MatrixBase):
            return [[float(v) for v in row] for row in value.tolist()]
        if isinstance(value, (bool, sp.logic.boolalg.BooleanAtom)):
            return bool(value)
        return float(value)
    except (TypeError, ValueError):
        return None


def _cmd_derive(ns) -> int:
    import sympy as sp

    if ns.list:
        for key, fn in sorted(_theory_functions().items()):
            doc = (inspect.getdoc(fn) or "").splitlines()
            print(f"{key}{inspect.signature(fn)}\n    {doc[0] if doc else ''}")
        return 0
    if not ns.name:
        raise UserError("name is required (or --list)")
    full, fn = _find_function(ns.name)
    args, kwargs = _bind_arguments(fn, ns.args)
    try:
        result = fn(*args, **kwargs)
    except ArgumentError as exc:  # a bad value for the function; any other exception is a bug
        raise UserError(str(exc)) from None
    numeric = _as_float(result)
    if ns.json:
        shown = {k: str(v) for k, v in zip(inspect.signature(fn).parameters, args)}
        shown.update({k: str(v) for k, v in kwargs.items()})
        print(json.dumps({"name": full, "arguments": shown, "result": sp.sstr(result),
                          "latex": sp.latex(result), "value": numeric}, indent=2))
    elif ns.latex:
        print(sp.latex(result))
    else:
        print(sp.pretty(result, use_unicode=True) if isinstance(result, sp.MatrixBase) else sp.sstr(result))
        if isinstance(numeric, float) and not (isinstance(result, sp.Basic) and result.is_Integer):
            print(f"  = {numeric:.10g}")
    return 0


# ----------------------------------------------------------------------------- progress, store
def _format_table(results) -> str:
    header = ("paper", "claim", "source", "theory", "measured", "tolerance", "pass")
    rows = [header] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


class _Progress:
    """One line per finished unit on stderr (unless ``--quiet``) and in ``OUT/icl-theory.log``; a tqdm
    bar over the units on a terminal."""

    def __init__(self, ns, total: int, desc: str):
        self.bar = None
        if not ns.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, leave=False)

    def line(self, text: str) -> None:
        log.info(text)
        if self.bar is not None:
            self.bar.update(0)

    def step(self, text: str) -> None:
        self.line(text)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _LineHandler(logging.Handler):
    """Writes each record as one line, through tqdm on a terminal so the bar stays intact."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.started = time.perf_counter()

    def emit(self, record):
        text = f"[{time.perf_counter() - self.started:7.1f} s] {record.getMessage()}"
        if self.stream.isatty():
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)


@contextlib.contextmanager
def _session(ns):
    """The output folder, the log (stderr and OUT/icl-theory.log) and the run store of one command."""
    from paper_figs.artifacts import ensure_out_dir
    from validation.store import use_store

    try:
        out = ensure_out_dir(ns.out)
        store_dir = ensure_out_dir(ns.store) if ns.store else out / ".runs"
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    handlers = [logging.FileHandler(out / "icl-theory.log")]
    handlers[0].setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    if not ns.quiet:
        handlers.append(_LineHandler(sys.stderr))
    root = logging.getLogger("icl_theory")
    level = root.level
    root.setLevel(logging.INFO)
    for h in handlers:
        root.addHandler(h)
    try:
        with use_store(store_dir, fresh=ns.fresh) as store:
            log.info("icl-theory %s (store %s)", " ".join(ns.argv), store_dir)
            yield out, store
            log.info("runs: %d trained, %d reused from the store", store.trained, store.reused)
    finally:
        for h in handlers:
            root.removeHandler(h)
            h.close()
        root.setLevel(level)


def _selected_papers(paper: str) -> list[str]:
    try:
        papers.check_paper(paper, allow_all=True)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    return [p.key for p in papers.PAPERS] if paper == "all" else [paper]


# ----------------------------------------------------------------------------- check
def _run_checks(ns):
    from validation.checks import load_checks, run_checks

    keys = _selected_papers(ns.paper)
    progress = _Progress(ns, sum(len(load_checks(k)) for k in keys), "checks")

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
    _selected_papers(ns.paper)
    with _session(ns):
        results = _run_checks(ns)
    if ns.claim is not None and not results:
        raise UserError(f"claim: no check of --paper {ns.paper} has a claim containing {ns.claim!r}")
    if ns.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print(_format_table(results))
        failed = sum(not r.passed for r in results)
        print(f"\n{len(results) - failed} passed, {failed} failed")
    return 0 if all(r.passed for r in results) else 1


# ----------------------------------------------------------------------------- figures
def _selected_figures(ns) -> list:
    from paper_figs.registry import resolve

    _selected_papers(ns.paper)
    try:
        return resolve(ns.paper, getattr(ns, "figure", None))
    except ArgumentError as exc:
        raise UserError(str(exc)) from None


def _run_figures(ns, out: Path, selected: list):
    """Draw each selected figure, then assert its claim from its own arrays (its companion check).

    Returns ``(paper, name, paths, seconds, rows)`` per figure."""
    from paper_figs.registry import check_figure

    progress = _Progress(ns, len(selected), "figures")
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
    with _session(ns) as (out, _):
        written = _run_figures(ns, out, selected)
    for paper, name, paths, seconds, rows in written:
        print(f"{paper}:{name} ({seconds:.1f} s)")
        for p in paths:
            print(f"  {p}")
        if rows:
            print("\n".join("    " + line for line in _format_table(rows).splitlines()))
    return 0 if all(r.passed for *_, rows in written for r in rows) else 1


# ----------------------------------------------------------------------------- reproduce
def _cmd_reproduce(ns) -> int:
    from paper_figs.report import write_report

    started = time.perf_counter()
    selected = _selected_figures(ns)
    with _session(ns) as (out, _):
        results = _run_checks(ns)
        written = _run_figures(ns, out, selected)
        report = write_report(out, results, written, profile=ns.profile,
                              wall_time=time.perf_counter() - started)
    figure_rows = [r for *_, rows in written for r in rows]
    print(_format_table(results + figure_rows))
    failed = sum(not r.passed for r in results + figure_rows)
    print(f"\n{len(results) + len(figure_rows) - failed} passed, {failed} failed "
          f"({len(figure_rows)} of them figure claims); "
          f"{sum(len(p) for _, _, p, *_ in written)} files for {len(written)} figures")
    print(f"report: {report}")
    return 0 if failed == 0 else 1


# ----------------------------------------------------------------------------- parser
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
    sub = parser.add_subparsers(dest="command", metavar="{derive,check,figures,reproduce}", parser_class=_Parser)

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
    p.set_defaults(run=_cmd_derive)

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
    p.set_defaults(run=_cmd_figures)

    p = sub.add_parser("reproduce", help="checks + figures + OUT/REPORT.md",
                       description="Run every check and regenerate every figure, then write OUT/REPORT.md "
                       "with the check table, the figures and the errata.")
    common(p)
    p.set_defaults(run=_cmd_reproduce)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
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
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `icl-theory derive --list | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
