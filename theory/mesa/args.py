"""Argument checks of theory.mesa that the shared vocabulary (:mod:`theory.args`) lacks or refuses.

:mod:`theory.args` has symbolic integers (``symbolic_integer``: d, T, t) and positive quantities
(``symbolic_positive``); the mesa theory also takes

* real quantities of either sign or a formula: the product c = ab, the red-block entries a and b,
  the flow time tau and the balance Delta (:func:`symbolic_real`);
* a length that may be ``oo`` (T = oo gives the limit of the fixed point, t = oo the limit of the
  position error): :func:`symbolic_integer_or_oo`.  ``theory.args.symbolic_integer(...,
  allow_oo=True)`` means the same but refuses ``oo`` today (its real-number check runs first and
  ``oo.is_real`` is False in sympy).

Both belong in :mod:`theory.args`; until they move there they live here.
"""
from __future__ import annotations

import sympy as sp

from theory.args import symbolic_integer

__all__ = ["symbolic_real", "symbolic_integer_or_oo"]


def symbolic_real(value, name: str) -> sp.Expr:
    """A real number or a sympy expression, exact: a Python float becomes the rational it spells.

    ``TypeError`` naming ``name`` for a bool or something sympy cannot read.

    Examples
    --------
    >>> symbolic_real(0.25, "c"), symbolic_real(-2, "a")
    (1/4, -2)
    >>> symbolic_real(True, "c")
    Traceback (most recent call last):
    ...
    TypeError: c must be a number or a sympy expression, got True
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or a sympy expression, got {value!r}")
    try:
        if isinstance(value, float):
            return sp.nsimplify(value, rational=True)
        return sp.sympify(value)
    except (sp.SympifyError, TypeError) as exc:
        raise TypeError(f"{name} must be a number or a sympy expression, got {value!r}") from exc


def symbolic_integer_or_oo(value, name: str, minimum: int) -> sp.Expr:
    """``oo``, or :func:`theory.args.symbolic_integer` of ``value`` (an integer >= ``minimum`` or a symbol).

    Examples
    --------
    >>> symbolic_integer_or_oo("oo", "T", 3), symbolic_integer_or_oo(5, "T", 3)
    (oo, 5)
    >>> symbolic_integer_or_oo(2, "T", 3)
    Traceback (most recent call last):
    ...
    ValueError: T must be an integer >= 3, got 2
    """
    try:
        infinite = not isinstance(value, bool) and sp.sympify(value) is sp.oo
    except (sp.SympifyError, TypeError, SyntaxError):
        infinite = False
    return sp.oo if infinite else symbolic_integer(value, name, minimum)
