"""The ``icl-theory`` command line: ``derive``, ``check``, ``figures``, ``reproduce``.

User errors (unknown names, bad values, an unwritable folder) print one line starting
``error:`` and exit with status 2; failing theorem checks exit with status 1.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

THEORY_MODULES = ("laws", "lsa", "mesa", "causal")


class UserError(Exception):
    """A mistake in what the user typed: reported as one ``error:`` line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the usage first)
        raise UserError(message)


# ----------------------------------------------------------------------------- derive
def _theory_functions() -> dict[str, object]:
    """Every public function of the theory modules, keyed by ``module.name``."""
    out = {}
    for mod_name in THEORY_MODULES:
        try:
            module = importlib.import_module(f"theory.{mod_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"theory.{mod_name}":
                continue
            raise
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
        return parse_law(text)
    try:
        value = sp.sympify(text, locals=dict(_clash), rational=True)
    except (sp.SympifyError, SyntaxError, TypeError) as exc:
        raise UserError(f"{key} must be a number, a symbol or a list, got {text!r}") from exc
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
    result = fn(*args, **kwargs)
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


# ----------------------------------------------------------------------------- check
def _progress_iter(items, enabled, desc):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, leave=False)


def _show_progress(ns) -> bool:
    return not ns.quiet and sys.stdout.isatty()


def _format_table(results) -> str:
    header = ("paper", "claim", "theory", "measured", "tolerance", "pass")
    rows = [header] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _run_checks(paper: str, profile: str, show: bool):
    from validation.checks import PAPER_MODULES, load_checks

    if paper != "all" and paper not in PAPER_MODULES:
        raise UserError(f"paper must be one of {', '.join(PAPER_MODULES)} or 'all', got {paper!r}")
    papers = list(PAPER_MODULES) if paper == "all" else [paper]
    jobs = [(name, fn) for name in papers for fn in load_checks(name)]
    results = []
    for _, fn in _progress_iter(jobs, show, "checks"):
        out = fn(profile)
        results.extend(out if isinstance(out, (list, tuple)) else [out])
    return results


def _cmd_check(ns) -> int:
    results = _run_checks(ns.paper, ns.profile, _show_progress(ns))
    if ns.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print(_format_table(results))
        failed = sum(not r.passed for r in results)
        print(f"\n{len(results) - failed} passed, {failed} failed")
    return 0 if all(r.passed for r in results) else 1


# ----------------------------------------------------------------------------- figures
def _run_figures(paper, figure, profile, out, seed, show):
    from paper_figs.artifacts import ensure_out_dir
    from paper_figs.registry import PAPERS, resolve

    if paper != "all" and paper not in PAPERS:
        raise UserError(f"paper must be one of {', '.join(PAPERS)} or 'all', got {paper!r}")
    ensure_out_dir(out)
    selected = resolve(paper, figure)
    written = []
    for paper_name, name, fn in _progress_iter(selected, show, "figures"):
        started = time.perf_counter()
        paths = fn(profile=profile, out=out, seed=seed)
        written.append((paper_name, name, [Path(p) for p in paths], time.perf_counter() - started))
    return written


def _cmd_figures(ns) -> int:
    written = _run_figures(ns.paper, ns.figure, ns.profile, ns.out, ns.seed, _show_progress(ns))
    for paper, name, paths, seconds in written:
        print(f"{paper}:{name} ({seconds:.1f} s)")
        for p in paths:
            print(f"  {p}")
    return 0


# ----------------------------------------------------------------------------- reproduce
def _cmd_reproduce(ns) -> int:
    from paper_figs.report import write_report

    show = _show_progress(ns)
    started = time.perf_counter()
    results = _run_checks(ns.paper, ns.profile, show)
    written = _run_figures(ns.paper, None, ns.profile, ns.out, ns.seed, show)
    report = write_report(Path(ns.out), results, written, profile=ns.profile,
                          wall_time=time.perf_counter() - started)
    print(_format_table(results))
    failed = sum(not r.passed for r in results)
    print(f"\n{len(results) - failed} passed, {failed} failed; "
          f"{sum(len(p) for _, _, p, _ in written)} files for {len(written)} figures")
    print(f"report: {report}")
    return 0 if failed == 0 else 1


# ----------------------------------------------------------------------------- parser
PAPER_CHOICES = "vonoswald2023, zheng2024, nichani2024 or all"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="icl-theory",
        description="Derive, check and plot the results of three papers on in-context learning: "
        "von Oswald et al. 2023 (vonoswald2023), Zheng et al. 2024 (zheng2024), "
        "Nichani, Damian, Lee 2024 (nichani2024).",
    )
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

    def common(p, out=True):
        p.add_argument("--paper", default="all", help=f"one of {PAPER_CHOICES} (default all)")
        p.add_argument("--profile", default="quick", choices=("quick", "paper"),
                       help="quick: minutes on a laptop CPU; paper: the papers' own sizes")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        if out:
            p.add_argument("--out", default="results", help="output folder (default ./results)")
            p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    p = sub.add_parser("check", help="run the theorem checks and print the table",
                       description="Run the theorem checks of one paper or all; print claim, theory value, "
                       "measured value, tolerance and pass. Exit 1 if any check fails.")
    common(p, out=False)
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
        ns = parser.parse_args(argv)
        if ns.command is None:
            parser.print_help()
            return 2
        return ns.run(ns)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `icl-theory derive --list | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
