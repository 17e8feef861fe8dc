"""Argument checks shared by every layer: one helper per meaning, each raising ``ValueError`` (or
``TypeError`` for a wrong kind) whose message names the argument and the accepted range.

Every helper raises :class:`ArgumentError`, a ``ValueError`` that marks a bad argument (as opposed
to a bug): the command line reports it as one ``error:`` line and exit status 2, and shows any other
exception with its traceback. Library code that refuses an argument outside these helpers raises
``ArgumentError`` too.

Public functions check their arguments once, at the entry point, with these helpers, and pass
down values that are already valid. The numeric helpers (``integer``, ``real``, ``positive``,
``nonnegative``, ``seed``, ``choice``) return plain Python values; the symbolic ones
(``symbolic_integer``, ``symbolic_positive``) return sympy objects and accept symbols, for the
theory layer, where a size or a variance may be a formula.

Examples
--------
>>> integer(5, "d", minimum=1)
5
>>> integer(0, "d", minimum=1)
Traceback (most recent call last):
...
theory.args.ArgumentError: d must be an integer >= 1, got 0
>>> positive(float("nan"), "lr")
Traceback (most recent call last):
...
theory.args.ArgumentError: lr must be a finite number > 0, got nan
"""
from __future__ import annotations

import math
import numbers

import sympy as sp

__all__ = ["ArgumentError", "ArgumentKindError", "integer", "real", "positive", "nonnegative", "seed", "choice",
           "symbolic_integer", "symbolic_positive", "symbolic_nonnegative", "symbolic_real", "sizes"]


class ArgumentError(ValueError):
    """A bad argument: its message names the argument and the accepted range."""


class ArgumentKindError(ArgumentError, TypeError):
    """An argument of the wrong kind (a string where a number belongs): both a ``ValueError`` and the
    ``TypeError`` that Python raises for a wrong kind."""


def integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (Python, numpy or sympy) in [minimum, maximum].

    Booleans and non-integral numbers (``2.5``) are refused; an integral float (``3.0``) is not
    an integer either, so a size typed as ``1e4`` is refused rather than silently truncated.
    """
    bounds = ("" if minimum is None else f" >= {minimum}") + (
        "" if maximum is None else f"{' and' if minimum is not None else ''} <= {maximum}")
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, sp.Integer)):
        raise ArgumentError(f"{name} must be an integer{bounds}, got {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ArgumentError(f"{name} must be an integer{bounds}, got {value!r}")
    return value


def real(value, name: str, *, low: float | None = None, low_open: bool = False,
         high: float | None = None) -> float:
    """``value`` as a finite ``float``, at least ``low`` (above it when ``low_open``), at most ``high``."""
    if low is None:
        bounds = "" if high is None else f" <= {high:g}"
    else:
        bounds = f" {'>' if low_open else '>='} {low:g}" + ("" if high is None else f" and <= {high:g}")
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, sp.Number)):
        raise ArgumentError(f"{name} must be a finite number{bounds}, got {value!r}")
    value = float(value)
    if (not math.isfinite(value) or (low is not None and (value <= low if low_open else value < low))
            or (high is not None and value > high)):
        raise ArgumentError(f"{name} must be a finite number{bounds}, got {value!r}")
    return value


def positive(value, name: str) -> float:
    """A finite number > 0, as a ``float``."""
    return real(value, name, low=0.0, low_open=True)


def nonnegative(value, name: str) -> float:
    """A finite number >= 0, as a ``float``."""
    return real(value, name, low=0.0)


def seed(value, name: str = "seed") -> int:
    """A seed: an integer >= 0 (numpy's ``SeedSequence`` takes no negative entropy)."""
    return integer(value, name, minimum=0)


def choice(value, name: str, options) -> object:
    """``value`` if it is one of ``options``, else ``ValueError`` listing them."""
    options = tuple(options)
    if value not in options:
        raise ArgumentError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def _sympify(value, name: str) -> sp.Expr:
    if isinstance(value, bool):
        raise ArgumentKindError(f"{name} must be a number or a sympy expression, got {value!r}")
    try:
        expr = sp.nsimplify(value, rational=True) if isinstance(value, float) else sp.sympify(value)
    except (sp.SympifyError, TypeError, SyntaxError) as exc:
        raise ArgumentKindError(f"{name} must be a number or a sympy expression, got {value!r}") from exc
    if not isinstance(expr, sp.Expr) or expr.has(sp.nan, sp.zoo) or expr.is_extended_real is False:
        raise ArgumentError(f"{name} must be a real number or a real sympy expression, got {value!r}")
    return expr


def symbolic_real(value, name: str) -> sp.Expr:
    """A real number (exact: a Python float becomes the rational it spells) or a real sympy expression.

    Examples
    --------
    >>> symbolic_real(0.25, "c"), symbolic_real(-2, "a")
    (1/4, -2)
    """
    return _sympify(value, name)


def symbolic_integer(value, name: str, minimum: int, *, allow_oo: bool = False) -> sp.Expr:
    """An integer >= ``minimum`` as a sympy object, or a symbol (not provably below ``minimum``);
    ``oo`` only when ``allow_oo``."""
    expr = _sympify(value, name)
    if expr is sp.oo and allow_oo:
        return expr
    if expr.is_number:
        if expr.is_infinite or not expr.is_integer or expr < minimum:
            raise ArgumentError(f"{name} must be an integer >= {minimum}"
                             f"{' or oo' if allow_oo else ''}, got {value!r}")
        return sp.Integer(expr)
    if expr.is_integer is False or (expr - minimum).is_negative:
        raise ArgumentError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return expr


def symbolic_positive(value, name: str) -> sp.Expr:
    """A number > 0 (exact: a float becomes the rational it spells) or a positive expression."""
    expr = _sympify(value, name)
    if expr.is_positive is False or (expr.is_number and (expr.is_infinite or not expr.is_positive)):
        raise ArgumentError(f"{name} must be > 0, got {value!r}")
    return expr


def symbolic_nonnegative(value, name: str) -> sp.Expr:
    """A number >= 0 (exact) or an expression not provably negative, e.g. a variance that may be 0.

    Examples
    --------
    >>> symbolic_nonnegative(0, "noise_var"), symbolic_nonnegative(0.5, "noise_var")
    (0, 1/2)
    """
    if not isinstance(value, bool) and isinstance(value, (int, float, sp.Number)) and value == 0:
        return sp.Integer(0)
    try:
        return symbolic_positive(value, name)
    except ArgumentKindError:
        raise
    except ArgumentError:
        raise ArgumentError(f"{name} must be >= 0, got {value!r}") from None


def sizes(**named) -> tuple[int, ...]:
    """Each keyword value as an ``int`` >= 1 (:func:`integer`), in the order given.

    >>> sizes(d_x=2, N=3)
    (2, 3)
    """
    return tuple(integer(value, name, minimum=1) for name, value in named.items())
