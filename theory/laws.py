"""Laws of a random vector x in R^d with exact joint moments.

Every law is a frozen dataclass with one scale parameter (a Python number, a
``sympy.Rational`` or a sympy symbol) and ``moment(powers, d)``, the exact value
of E[ prod_k x_k^powers[k] ] with the powers on distinct coordinates.  The
laws are the start points and input laws used by the three papers:

========================  =====================================================
``Gaussian(sigma)``       coordinates i.i.d. N(0, sigma^2)
``Uniform(half_width)``   coordinates i.i.d. U(-half_width, half_width)
``Rademacher(scale)``     coordinates i.i.d. uniform on {-scale, +scale}
``SparseAxis(scale)``     x = s * scale * e_k, k uniform on 1..d, s = +-1
                          (Zheng et al. 2024, Example 4.1)
``Sphere(radius)``        uniform on the sphere of that radius in R^d
``FullOne(scale)``        x = scale * (1, ..., 1), deterministic
========================  =====================================================

``parse_law("uniform(1/2)")`` turns the command-line spelling into a law, and
``dirichlet_moment`` gives the exact moments of a symmetric Dirichlet vector
(Nichani, Damian, Lee 2024).

This module is sympy only: exact rationals in, exact rationals out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from theory.args import ArgumentError, ArgumentKindError, symbolic_positive

__all__ = [
    "Law",
    "Gaussian",
    "Uniform",
    "Rademacher",
    "SparseAxis",
    "Sphere",
    "FullOne",
    "LAWS",
    "parse_law",
    "as_law",
    "dirichlet_moment",
]


def _check_powers(powers: Sequence[int], d) -> tuple[tuple[int, ...], sp.Expr]:
    d_expr = sp.sympify(d)
    if d_expr.is_number:
        if not d_expr.is_integer or d_expr < 1:
            raise ArgumentError(f"d must be an integer >= 1, got {d}")
    powers = tuple(int(p) for p in powers)
    if any(p < 0 for p in powers):
        raise ArgumentError(f"powers must be non-negative integers, got {powers}")
    if d_expr.is_number and len(powers) > int(d_expr):
        raise ArgumentError(f"powers has {len(powers)} entries, more than d = {d}")
    return powers, d_expr


def _double_factorial_odd(p: int) -> sp.Integer:
    """(p - 1)!! for even p: the p-th moment of N(0, 1)."""
    return sp.factorial2(p - 1) if p > 0 else sp.Integer(1)


@dataclass(frozen=True)
class Law:
    """Base class: a law of x in R^d with exact moments."""

    def moment(self, powers: Sequence[int], d) -> sp.Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- derived quantities used across the papers -------------------------------
    def second_moment(self, d=1) -> sp.Expr:
        """E[x_1^2]."""
        return self.moment((2,), d)

    def kurtosis(self, d=1) -> sp.Expr:
        """E[x_1^4] / E[x_1^2]^2 (kappa of von Oswald et al., Section 7.1 of our notes)."""
        return sp.simplify(self.moment((4,), d) / self.moment((2,), d) ** 2)

    @property
    def spelling(self) -> str:
        """The command-line spelling, e.g. ``uniform(1/2)``."""
        (value,) = (getattr(self, f) for f in self.__dataclass_fields__)
        return f"{_NAMES[type(self)]}({sp.sstr(sp.sympify(value))})"

    def __str__(self) -> str:
        return self.spelling


def _iid(powers, d, one_coordinate) -> sp.Expr:
    powers, _ = _check_powers(powers, d)
    out = sp.Integer(1)
    for p in powers:
        out *= one_coordinate(p)
    return sp.simplify(out)


@dataclass(frozen=True)
class Gaussian(Law):
    """Coordinates i.i.d. N(0, sigma^2): E x^p = (p-1)!! sigma^p for even p, 0 for odd p.

    Examples
    --------
    >>> Gaussian(1).moment((4,), 5)
    3
    """

    sigma: object = 1

    def __post_init__(self):
        object.__setattr__(self, "sigma", symbolic_positive(self.sigma, "sigma"))

    def moment(self, powers, d):
        return _iid(powers, d, lambda p: 0 if p % 2 else _double_factorial_odd(p) * self.sigma**p)


@dataclass(frozen=True)
class Uniform(Law):
    """Coordinates i.i.d. U(-h, h): E x^p = h^p / (p + 1) for even p, 0 for odd p.

    Examples
    --------
    >>> Uniform(sp.Rational(1, 2)).moment((2,), 10)
    1/12
    """

    half_width: object = 1

    def __post_init__(self):
        object.__setattr__(self, "half_width", symbolic_positive(self.half_width, "half_width"))

    def moment(self, powers, d):
        return _iid(powers, d, lambda p: 0 if p % 2 else self.half_width**p / (p + 1))


@dataclass(frozen=True)
class Rademacher(Law):
    """Coordinates i.i.d. uniform on {-s, +s}: E x^p = s^p for even p, 0 for odd p."""

    scale: object = 1

    def __post_init__(self):
        object.__setattr__(self, "scale", symbolic_positive(self.scale, "scale"))

    def moment(self, powers, d):
        return _iid(powers, d, lambda p: 0 if p % 2 else self.scale**p)


@dataclass(frozen=True)
class SparseAxis(Law):
    """x = s * c * e_k with k uniform on 1..d and s uniform on {-1, +1} (Zheng et al. 2024, Example 4.1).

    Only one coordinate is non-zero, so a moment with two or more positive powers is 0;
    E x_1^p = c^p / d for even p > 0.

    Examples
    --------
    >>> SparseAxis(1).moment((6,), 5)
    1/5
    """

    scale: object = 1

    def __post_init__(self):
        object.__setattr__(self, "scale", symbolic_positive(self.scale, "scale"))

    def moment(self, powers, d):
        powers, d_expr = _check_powers(powers, d)
        active = [p for p in powers if p > 0]
        if not active:
            return sp.Integer(1)
        if len(active) > 1 or active[0] % 2:
            return sp.Integer(0)
        return sp.simplify(self.scale ** active[0] / d_expr)


@dataclass(frozen=True)
class Sphere(Law):
    """Uniform on the sphere of radius r in R^d.

    For even powers p_k with sum 2m,
    E prod x_k^{p_k} = r^{2m} prod_k (p_k - 1)!! / prod_{i=0}^{m-1} (d + 2i),
    and 0 when any power is odd (x = r g/|g| with g standard Gaussian, and |g| is
    independent of g/|g|).  Valid for symbolic d.

    Examples
    --------
    >>> Sphere(1).moment((2, 2), 3)
    1/15
    """

    radius: object = 1

    def __post_init__(self):
        object.__setattr__(self, "radius", symbolic_positive(self.radius, "radius"))

    def moment(self, powers, d):
        powers, d_expr = _check_powers(powers, d)
        if any(p % 2 for p in powers):
            return sp.Integer(0)
        total = sum(powers)
        m = total // 2
        numerator = sp.Integer(1)
        for p in powers:
            numerator *= _double_factorial_odd(p)
        denominator = sp.Integer(1)
        for i in range(m):
            denominator *= d_expr + 2 * i
        return sp.simplify(self.radius**total * numerator / denominator)


@dataclass(frozen=True)
class FullOne(Law):
    """x = c * (1, ..., 1), deterministic (Zheng et al. 2024, the full-one start point)."""

    scale: object = 1

    def __post_init__(self):
        object.__setattr__(self, "scale", symbolic_positive(self.scale, "scale"))

    def moment(self, powers, d):
        powers, _ = _check_powers(powers, d)
        return sp.simplify(self.scale ** sum(powers))


LAWS = {
    "gaussian": Gaussian,
    "uniform": Uniform,
    "rademacher": Rademacher,
    "sparse_axis": SparseAxis,
    "sphere": Sphere,
    "full_one": FullOne,
}
_NAMES = {cls: name for name, cls in LAWS.items()}

_SPELLING = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?\s*$")


def parse_law(text: str) -> Law:
    """Parse the command-line spelling of a law: ``gaussian(1)``, ``uniform(1/2)``, ``sphere(2)``.

    The argument is read exactly (``1/2`` is ``Rational(1, 2)``, ``0.5`` too) and may be
    omitted for the default scale 1.  Unknown names raise ``ValueError`` listing the known ones.

    Examples
    --------
    >>> parse_law("uniform(1/2)")
    Uniform(half_width=1/2)
    """
    if not isinstance(text, str):
        raise ArgumentKindError(f"law must be a string such as 'gaussian(1)', got {text!r}")
    match = _SPELLING.match(text.lower())
    if match is None or match.group(1) not in LAWS:
        raise ArgumentError(
            f"law must be one of {', '.join(n + '(x)' for n in LAWS)}, got {text!r}"
        )
    name, arg = match.groups()
    if not arg:
        return LAWS[name]()
    try:
        value = sp.nsimplify(sp.sympify(arg, rational=True), rational=True)
    except (sp.SympifyError, TypeError, SyntaxError) as exc:
        raise ArgumentError(f"law argument must be a number or a symbol, got {arg!r} in {text!r}") from exc
    if not isinstance(value, sp.Expr):
        raise ArgumentError(f"law takes one number or symbol, got {arg!r} in {text!r}")
    # a symbolic scale is a positive quantity: let sympy simplify |sigma| = sigma etc.
    value = value.subs({s: sp.Symbol(s.name, positive=True) for s in value.free_symbols})
    return LAWS[name](value)


def as_law(law) -> Law:
    """A :class:`Law`, or its command-line spelling (``"gaussian(1)"``) parsed by :func:`parse_law`."""
    if isinstance(law, Law):
        return law
    if isinstance(law, str):
        return parse_law(law)
    raise ArgumentKindError(f"law must be a theory.laws.Law or a string such as 'gaussian(1)', got {law!r}")


def dirichlet_moment(alpha, exponents: Sequence[int]) -> sp.Expr:
    """E[ prod_s p_s^{n_s} ] for p ~ Dir(alpha 1_S), S = len(exponents).

    Formula: prod_s (alpha)_{n_s} / (S alpha)_{n}, with (a)_n the rising factorial and
    n = sum_s n_s.  Exact for symbolic alpha.

    Examples
    --------
    >>> dirichlet_moment(1, (1, 1))
    1/6
    """
    exponents = tuple(int(n) for n in exponents)
    if len(exponents) < 1:
        raise ArgumentError("exponents must have at least one entry (S >= 1)")
    if any(n < 0 for n in exponents):
        raise ArgumentError(f"exponents must be non-negative integers, got {exponents}")
    alpha = symbolic_positive(alpha, "alpha")
    S = len(exponents)
    numerator = sp.Integer(1)
    for n in exponents:
        numerator *= sp.rf(alpha, n)
    return sp.simplify(numerator / sp.rf(S * alpha, sum(exponents)))
