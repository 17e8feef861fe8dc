"""Argument checks that ``theory.lsa`` needs beyond :mod:`theory.args`.

One meaning is missing there: a variance that may be zero (the label noise sigma_eps^2),
:func:`symbolic_nonnegative`.  It follows :func:`theory.args.symbolic_positive` (exact: a float
becomes the rational it spells; symbols are accepted unless provably negative), with 0 allowed.
:func:`sizes` is :func:`theory.args.integer` with minimum 1 for several named sizes at once (the
token constructions need explicit matrices, so their sizes are concrete integers).

Examples
--------
>>> symbolic_nonnegative(0, "noise_var"), symbolic_nonnegative(0.5, "noise_var")
(0, 1/2)
>>> sizes(d_x=2, N=3)
(2, 3)
>>> symbolic_nonnegative(-1, "noise_var")
Traceback (most recent call last):
...
ValueError: noise_var must be >= 0, got -1
"""
from __future__ import annotations

import sympy as sp

from theory.args import integer, symbolic_positive

__all__ = ["symbolic_nonnegative", "sizes"]


def symbolic_nonnegative(value, name: str) -> sp.Expr:
    """A number >= 0 as an exact sympy number, or an expression not provably negative."""
    if not isinstance(value, bool) and isinstance(value, (int, float, sp.Number)) and value == 0:
        return sp.Integer(0)
    try:
        return symbolic_positive(value, name)
    except ValueError:
        raise ValueError(f"{name} must be >= 0, got {value!r}") from None


def sizes(**named) -> tuple[int, ...]:
    """Each keyword value as an ``int`` >= 1 (:func:`theory.args.integer`), in the order given."""
    return tuple(integer(value, name, minimum=1) for name, value in named.items())
