"""``icl-theory derive``: call a public function of the theory packages with exact arguments.

The functions are those each theory package lists in ``__all__`` (``theory.laws`` and the model
package of every paper in :mod:`validation.papers`), keyed ``package.name``. Arguments are read
exactly: numbers become rationals, free names positive symbols, ``[[1,0],[0,2]]`` a matrix, a law its
:class:`theory.laws.Law`; NaN and infinities of the wrong sign are refused. A bad value is a
:class:`paper_figs.errors.UserError`; any other exception of the called function is a bug.
"""
from __future__ import annotations

import importlib
import inspect
import json

from paper_figs.errors import UserError
from theory.args import ArgumentError
from validation import papers

__all__ = ["theory_functions", "find_function", "parse_value", "bind_arguments", "run_derive"]


def theory_functions() -> dict[str, object]:
    """Every public function of the theory modules, keyed by ``module.name``."""
    out = {}
    for mod_name in ("laws",) + tuple(p.model for p in papers.PAPERS):
        module = importlib.import_module(f"theory.{mod_name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                out[f"{mod_name}.{name}"] = obj
    return out


def find_function(name: str):
    functions = theory_functions()
    if name in functions:
        return name, functions[name]
    matches = [key for key in functions if key.split(".", 1)[1] == name]
    if len(matches) == 1:
        return matches[0], functions[matches[0]]
    if len(matches) > 1:
        raise UserError(f"name {name!r} is ambiguous: use one of {', '.join(matches)}")
    raise UserError(f"name must be a theory function (see `icl-theory derive --list`), got {name!r}")


def parse_value(key: str, text: str):
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


def bind_arguments(fn, tokens: list[str]):
    params = list(inspect.signature(fn).parameters.values())
    args, kwargs = [], {}
    for token in tokens:
        if "=" in token:
            key, text = token.split("=", 1)
            key = key.strip()
            if key not in {p.name for p in params}:
                names = ", ".join(p.name for p in params)
                raise UserError(f"argument {key!r} is not a parameter of {fn.__name__} (takes {names})")
            kwargs[key] = parse_value(key, text.strip())
        else:
            if kwargs:
                raise UserError(f"positional argument {token!r} after key=value arguments")
            if len(args) >= len(params):
                raise UserError(f"too many arguments for {fn.__name__}")
            args.append(parse_value(params[len(args)].name, token))
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


def run_derive(ns) -> int:
    import sympy as sp

    if ns.list:
        for key, fn in sorted(theory_functions().items()):
            doc = (inspect.getdoc(fn) or "").splitlines()
            print(f"{key}{inspect.signature(fn)}\n    {doc[0] if doc else ''}")
        return 0
    if not ns.name:
        raise UserError("name is required (or --list)")
    full, fn = find_function(ns.name)
    args, kwargs = bind_arguments(fn, ns.args)
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
