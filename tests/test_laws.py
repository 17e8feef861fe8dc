"""theory.laws and numerics.laws: exact moments against closed forms, integrals and Monte Carlo."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.laws import sample
from numerics.seeds import make_rng
from theory.laws import as_law
from theory.laws import (
    FullOne,
    Gaussian,
    Rademacher,
    SparseAxis,
    Sphere,
    Uniform,
    dirichlet_moment,
    parse_law,
)

R = sp.Rational
x = sp.Symbol("x", real=True)


# ----------------------------------------------------------------------------- exact routes
def test_api_examples_hold_exactly():
    """API.md: Gaussian(1).moment((4,), 5) == 3 and Sphere(1).moment((2, 2), 3) == 1/15."""
    assert Gaussian(1).moment((4,), 5) == 3
    assert Sphere(1).moment((2, 2), 3) == R(1, 15)


@pytest.mark.parametrize("p", range(0, 9))
def test_gaussian_moments_equal_the_gaussian_integral(p):
    """E x^p for x ~ N(0, sigma^2) = integral of x^p times the density (symbolic sigma)."""
    sigma = sp.Symbol("sigma", positive=True)
    density = sp.exp(-x**2 / (2 * sigma**2)) / sp.sqrt(2 * sp.pi * sigma**2)
    integral = sp.integrate(x**p * density, (x, -sp.oo, sp.oo))
    assert sp.simplify(Gaussian(sigma).moment((p,), 3) - integral) == 0


@pytest.mark.parametrize("p", range(0, 9))
def test_uniform_moments_equal_the_uniform_integral(p):
    """E x^p for x ~ U(-h, h) = (1/2h) integral_{-h}^{h} x^p dx (symbolic h)."""
    h = sp.Symbol("h", positive=True)
    integral = sp.integrate(x**p, (x, -h, h)) / (2 * h)
    assert sp.simplify(Uniform(h).moment((p,), 2) - integral) == 0


def _enumerate_moment(points, powers):
    """Exact moment of the uniform law on a finite list of points."""
    total = sum(sp.prod([sp.sympify(pt[k]) ** p for k, p in enumerate(powers)]) for pt in points)
    return total / len(points)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_finite_laws_equal_enumeration_over_their_support(d):
    """Rademacher, SparseAxis and FullOne moments = exact averages over their finite supports."""
    c = R(3, 2)
    supports = {
        Rademacher(c): [tuple(s * c for s in signs) for signs in itertools.product((-1, 1), repeat=d)],
        SparseAxis(c): [tuple(s * c if j == k else 0 for j in range(d)) for k in range(d) for s in (-1, 1)],
        FullOne(c): [tuple(c for _ in range(d))],
    }
    for law, points in supports.items():
        for powers in itertools.product(range(0, 5), repeat=d):
            assert law.moment(powers, d) == _enumerate_moment(points, powers), (law, powers)


def test_sphere_moments_match_the_spherical_integral_in_three_dimensions():
    """Uniform on S^2 (radius r): moments = (1/4 pi r^2) surface integral in spherical coordinates."""
    r = sp.Symbol("r", positive=True)
    th, ph = sp.symbols("theta phi", real=True)
    coords = (r * sp.sin(th) * sp.cos(ph), r * sp.sin(th) * sp.sin(ph), r * sp.cos(th))
    for powers in [(2,), (4,), (2, 2), (2, 2, 2), (4, 2), (1, 1), (3,)]:
        integrand = sp.prod([coords[k] ** p for k, p in enumerate(powers)]) * sp.sin(th)
        value = sp.integrate(integrand, (ph, 0, 2 * sp.pi), (th, 0, sp.pi)) / (4 * sp.pi)
        assert sp.simplify(Sphere(r).moment(powers, 3) - value) == 0, powers


def test_sphere_moments_hold_for_symbolic_dimension():
    """E x_1^2 = r^2/d and E x_1^4 = 3 r^4/(d(d+2)), E x_1^2 x_2^2 = r^4/(d(d+2)) for symbolic d."""
    d = sp.Symbol("d", positive=True, integer=True)
    assert sp.simplify(Sphere(2).moment((2,), d) - 4 / d) == 0
    assert sp.simplify(Sphere(1).moment((4,), d) - 3 / (d * (d + 2))) == 0
    assert sp.simplify(Sphere(1).moment((2, 2), d) - 1 / (d * (d + 2))) == 0


@pytest.mark.parametrize("a", [1, 2, 3])
@pytest.mark.parametrize("n1,n2", [(0, 0), (1, 0), (1, 1), (2, 3), (4, 1)])
def test_dirichlet_moment_for_two_categories_equals_the_beta_integral(a, n1, n2):
    """S = 2: Dir(alpha, alpha) = Beta(alpha, alpha); E p^n1 (1-p)^n2 by exact integration."""
    p = sp.Symbol("p", positive=True)
    density = p ** (a - 1) * (1 - p) ** (a - 1) * sp.gamma(2 * a) / sp.gamma(a) ** 2
    value = sp.integrate(p**n1 * (1 - p) ** n2 * density, (p, 0, 1))
    assert sp.simplify(dirichlet_moment(a, (n1, n2)) - value) == 0


def test_dirichlet_moment_is_exact_for_symbolic_alpha():
    """E p_1 = 1/S and E p_1^2 = (alpha + 1)/(S (S alpha + 1)) for Dir(alpha 1_S)."""
    alpha = sp.Symbol("alpha", positive=True)
    assert sp.simplify(dirichlet_moment(alpha, (1, 0, 0)) - R(1, 3)) == 0
    assert sp.simplify(dirichlet_moment(alpha, (2, 0, 0)) - (alpha + 1) / (3 * (3 * alpha + 1))) == 0


def test_rationals_in_give_rationals_out():
    """No floats enter the theory layer: a float scale is read as the exact rational it denotes."""
    assert Uniform(0.5).moment((2,), 1) == R(1, 12)
    assert isinstance(Gaussian(R(1, 3)).moment((2, 2), 2), sp.Rational)


# ----------------------------------------------------------------------------- Monte Carlo
LAWS = [Gaussian(R(3, 2)), Uniform(R(1, 2)), Rademacher(2), SparseAxis(R(3, 2)), Sphere(2), FullOne(R(1, 2))]
POWERS = [(2,), (4,), (6,), (1,), (3, 1), (2, 2), (4, 2), (2, 2, 2), (1, 1, 2)]


@pytest.mark.parametrize("law", LAWS, ids=str)
def test_samplers_match_exact_moments_within_five_standard_errors(law):
    """Monte Carlo over 2e5 draws in R^4: |mean - exact| <= 5 SE (+1e-12 for constant estimators)."""
    d, n = 4, 200_000
    draws = sample(law, n, d, np.random.default_rng(1))
    assert draws.shape == (n, d)
    for powers in POWERS:
        values = np.prod(draws[:, : len(powers)] ** np.array(powers), axis=1)
        se = values.std(ddof=1) / np.sqrt(n)
        exact = float(law.moment(powers, d))
        # 5 SE: a false alarm has probability < 1e-6 per comparison under the CLT
        assert abs(values.mean() - exact) <= 5 * se + 1e-12 * max(1.0, abs(exact)), (law, powers)


def test_dirichlet_moment_matches_monte_carlo():
    """Dir(0.3 * 1_4): E p_1^2 p_2 by 4e5 draws, within 5 SE."""
    alpha, n = 0.3, 400_000
    p = np.random.default_rng(2).dirichlet([alpha] * 4, size=n)
    values = p[:, 0] ** 2 * p[:, 1]
    se = values.std(ddof=1) / np.sqrt(n)
    assert abs(values.mean() - float(dirichlet_moment(R(3, 10), (2, 1, 0, 0)))) <= 5 * se


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(LAWS), st.lists(st.integers(0, 5), min_size=1, max_size=3))
def test_odd_powers_vanish_for_sign_symmetric_laws(law, powers):
    """Every law but FullOne is invariant under flipping one coordinate: odd powers give 0."""
    if isinstance(law, FullOne) or not any(p % 2 for p in powers):
        return
    assert law.moment(tuple(powers), 3) == 0


# ----------------------------------------------------------------------------- parsing and errors
@pytest.mark.parametrize("text,law", [
    ("gaussian(1)", Gaussian(1)), ("uniform(1/2)", Uniform(R(1, 2))), ("uniform(0.5)", Uniform(R(1, 2))),
    ("rademacher(1)", Rademacher(1)), ("sparse_axis(1)", SparseAxis(1)), ("sphere(2)", Sphere(2)),
    ("full_one(1)", FullOne(1)), ("Gaussian", Gaussian(1)),
])
def test_parse_law_reads_the_command_line_spelling(text, law):
    assert parse_law(text) == law
    assert parse_law(law.spelling) == law
    assert as_law(text) == law


@pytest.mark.parametrize("bad", ["cauchy(1)", "gaussian(", "uniform(1,2)", "", "gaussian(x y)"])
def test_parse_law_rejects_unknown_spellings(bad):
    with pytest.raises(ValueError, match="law"):
        parse_law(bad)


@pytest.mark.parametrize("make,name", [
    (lambda: Gaussian(0), "sigma"), (lambda: Uniform(-1), "half_width"), (lambda: Rademacher(-2), "scale"),
    (lambda: Sphere(0), "radius"), (lambda: parse_law("uniform(-1)"), "half_width"),
])
def test_non_positive_scales_are_rejected_by_name(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_bad_powers_and_dimensions_are_rejected():
    with pytest.raises(ValueError, match="d must be"):
        Gaussian(1).moment((2,), 0)
    with pytest.raises(ValueError, match="powers"):
        Gaussian(1).moment((2, 2, 2), 2)
    with pytest.raises(ValueError, match="powers"):
        Gaussian(1).moment((-1,), 2)
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_moment(0, (1, 1))
    with pytest.raises(ValueError, match="d must be"):
        sample("gaussian(1)", 3, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="seed"):
        make_rng()


def test_same_seed_gives_the_same_draws():
    a = sample("sphere(1)", 5, 3, np.random.default_rng(7))
    b = sample("sphere(1)", 5, 3, np.random.default_rng(7))
    assert np.array_equal(a, b)
