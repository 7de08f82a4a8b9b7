"""Known-answer and property tests of dynsys_eos.orbits.

Known answers (closed forms, computed independently with mpmath):

* logistic map x -> r x (1 - x): fixed point 1 - 1/r, multiplier 2 - r; the
  period-2 orbit (r + 1 +- sqrt((r - 3)(r + 1))) / (2r), multiplier
  4 + 2r - r^2; flips at r = 3 and r = 1 + sqrt(6);
* Henon map (x, y) -> (1 - a x^2 + y, b x): fixed points
  x = (-(1 - b) +- sqrt((1 - b)^2 + 4a)) / (2a), y = b x, multipliers the
  eigenvalues of [[-2 a x, 1], [b, 0]];
* GD on a loss whose minima form a manifold (scalar network, minimalist):
  DF = I - lr g g^T there, so the multipliers are 1 (along the manifold) and
  1 - lr |g|^2 with g the gradient of the product.
"""

import math
from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dynsys_eos.errors import DynsysError, ParameterError
from dynsys_eos.maps import raw_map
from dynsys_eos.models import build_model
from dynsys_eos.orbits import OrbitOptions, OrbitResult, find_fixed_point, find_orbit

R = sympy.Rational
mpf = mpmath.mpf


def _exact(value):
    """An exact sympy number from a test constant ("3.3" is 33/10, "1 + sqrt(6)" stays exact)."""
    if isinstance(value, str) and "." in value:
        return sympy.Rational(value)
    value = sympy.sympify(value)
    assert not value.has(sympy.Float)
    return value


def _mp(value, dps):
    """A test constant as an mpf at ``dps`` digits."""
    return mpf(sympy.N(_exact(value), dps + 10)._mpf_)


def logistic_period_two(r):
    """The two points of the period-2 orbit (current mpmath precision)."""
    d = mpmath.sqrt((r - 3) * (r + 1))
    return (r + 1 + d) / (2 * r), (r + 1 - d) / (2 * r)


def orbit_error(points, exact):
    """Max distance between the orbit points and the exact ones, in the best cyclic order."""
    k = len(exact)
    best = None
    for shift in range(k):
        err = max(max(abs(points[i][j] - exact[(i + shift) % k][j]) for j in range(len(exact[0]))) for i in range(k))
        best = err if best is None else min(best, err)
    return best


def true_digits(error):
    return math.inf if error == 0 else int(mpmath.floor(-mpmath.log10(error)))


# -- logistic map: fixed points ------------------------------------------------------------------

@pytest.mark.parametrize("r,stable", [("3/2", True), ("2.8", True), ("16/5", False), ("3.9", False)])
def test_logistic_fixed_point_and_multiplier(r, stable):
    m = build_model("logistic", r=r)
    with mpmath.workdps(80):
        rr = _mp(r, 80)
        x = 1 - 1 / rr
        guess = [mpmath.nstr(x + mpf("0.05"), 10)]
    result = find_fixed_point(m, guess, options=OrbitOptions(dps=50))
    assert isinstance(result, OrbitResult)
    assert result.success and result.status == "converged"
    assert result.digits >= 50 and result.multiplier_digits >= 50
    assert result.isolated and result.manifold_dimension == 0
    with mpmath.workdps(80):
        assert abs(result.points[0][0] - x) < mpf(10) ** -50
        assert len(result.multipliers) == 1
        assert abs(result.multipliers[0] - (2 - rr)) < mpf(10) ** -50
    assert result.stable is stable
    assert result.unstable_count == (0 if stable else 1)


# -- logistic map: the period-2 orbit to 100 digits ----------------------------------------------------

@pytest.mark.parametrize("r", ["16/5", "3.3", "3.44"])
def test_logistic_period_two_closed_form_to_100_digits(r):
    m = build_model("logistic", r=r)
    result = find_orbit(m, 2, ["0.5"], options=OrbitOptions(dps=100))
    assert result.success and result.status == "converged"
    assert result.digits >= 100
    assert result.period == 2 and result.minimal_period == 2
    assert len(result.points) == 2
    with mpmath.workdps(120):
        rr = _mp(r, 120)
        exact = [(p,) for p in logistic_period_two(rr)]
        assert orbit_error(result.points, exact) < mpf(10) ** -100
        assert result.multiplier_digits >= 100
        assert abs(result.multipliers[0] - (4 + 2 * rr - rr**2)) < mpf(10) ** -100
    assert result.stable is True and result.unstable_count == 0


def test_logistic_period_two_from_both_points():
    """A guess with one state per orbit point works the same."""
    m = build_model("logistic", r="16/5")
    result = find_orbit(m, 2, [["0.51"], ["0.80"]], options=OrbitOptions(dps=60))
    with mpmath.workdps(80):
        exact = [(p,) for p in logistic_period_two(mpf(16) / 5)]
        assert orbit_error(result.points, exact) < mpf(10) ** -60
        assert abs(result.points[0][0] - exact[1][0]) < mpf(10) ** -60  # the first point stays first (0.513)


# -- the flips at r = 3 and r = 1 + sqrt(6): multipliers and stability -----------------------------------

FLIPS = [
    # (parameter, period, guess, stable)
    ("3 - 1/10**30", 1, ["0.66"], True),
    ("3 + 1/10**30", 1, ["0.66"], False),
    ("1 + sqrt(6) - 1/10**30", 2, [["0.4400"], ["0.8499"]], True),
    ("1 + sqrt(6) + 1/10**30", 2, [["0.4400"], ["0.8499"]], False),
]


def _flip_result(r, period, guess):
    return find_orbit(build_model("logistic", r=r), period, guess, options=OrbitOptions(dps=60))


def _exact_multiplier(r, period):
    rr = _mp(r, 100)
    return 2 - rr if period == 1 else 4 + 2 * rr - rr**2


@pytest.mark.parametrize("r,period,guess,stable", FLIPS, ids=[f[0] for f in FLIPS])
def test_flip_multipliers_straddle_minus_one(r, period, guess, stable):
    result = _flip_result(r, period, guess)
    assert result.success and result.digits >= 60
    assert result.minimal_period == period
    with mpmath.workdps(100):
        mu = _exact_multiplier(r, period)
        assert abs(mu + 1) > mpf(10) ** -31  # the closed form is 1e-30-ish away from -1 ...
        assert (abs(mu) < 1) is stable  # ... on the side the test expects
        assert result.multiplier_digits >= 50
        assert abs(result.multipliers[0] - mu) < mpf(10) ** -50
        if period == 2:
            exact = [(p,) for p in logistic_period_two(_mp(r, 100))]
            assert orbit_error(result.points, exact) < mpf(10) ** -60


@pytest.mark.parametrize("r,period,guess,stable", FLIPS, ids=[f[0] for f in FLIPS])
def test_flip_orbit_loses_stability(r, period, guess, stable):
    """The multiplier is known to 50+ places and is 1e-30 from -1: the classification is decided."""
    result = _flip_result(r, period, guess)
    assert result.multiplier_digits >= 50
    assert result.stable is stable
    assert result.unstable_count == (0 if stable else 1)


# -- Henon map -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sign,guess", [(1, ["0.6", "0.2"]), (-1, ["-1.1", "-0.3"])], ids=["x+", "x-"])
def test_henon_fixed_points_closed_form(sign, guess):
    m = build_model("henon", a="1.4", b="0.3")
    result = find_fixed_point(m, guess, options=OrbitOptions(dps=60))
    assert result.success and result.digits >= 60 and result.multiplier_digits >= 60
    with mpmath.workdps(100):
        a, b = mpf(14) / 10, mpf(3) / 10
        x = (-(1 - b) + sign * mpmath.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
        y = b * x
        assert orbit_error(result.points, [(x, y)]) < mpf(10) ** -60
        # eigenvalues of [[-2 a x, 1], [b, 0]]: mu^2 + 2 a x mu - b = 0
        mus = sorted([-a * x + mpmath.sqrt(a**2 * x**2 + b), -a * x - mpmath.sqrt(a**2 * x**2 + b)], key=abs, reverse=True)
        assert len(result.multipliers) == 2
        for got, want in zip(result.multipliers, mus):
            assert abs(got - want) < mpf(10) ** -60
    # a saddle: one multiplier outside the unit circle, one inside (both far from it)
    assert result.unstable_count == 1 and result.stable is False


# -- minimal period --------------------------------------------------------------------------------

def test_minimal_period_detects_a_fixed_point():
    """Below the first flip there is no period-2 orbit: period 2 from 0.5 lands on the fixed point."""
    result = find_orbit(build_model("logistic", r="2.8"), 2, ["0.5"], options=OrbitOptions(dps=30))
    assert result.success
    assert result.period == 2 and result.minimal_period == 1
    with mpmath.workdps(50):
        x = 1 - 1 / (mpf(28) / 10)
        assert orbit_error(result.points, [(x,), (x,)]) < mpf(10) ** -30


def test_minimal_period_detects_the_two_cycle_when_asked_for_period_four():
    """At r = 3.2 there is no orbit of least period 4 (it appears at 1 + sqrt(6))."""
    result = find_orbit(build_model("logistic", r="16/5"), 4, ["0.5"], options=OrbitOptions(dps=30))
    assert result.success and result.period == 4
    assert result.minimal_period == 2
    with mpmath.workdps(50):
        p, q = logistic_period_two(mpf(16) / 5)
        assert orbit_error(result.points, [(p,), (q,), (p,), (q,)]) < mpf(10) ** -30


def test_minimal_period_of_a_genuine_period_four_orbit():
    """Beyond the second flip (r = 3.5 > 1 + sqrt(6)) the stable orbit has least period 4."""
    result = find_orbit(build_model("logistic", r="3.5"), 4, ["0.5"], options=OrbitOptions(dps=30))
    assert result.success and result.minimal_period == 4
    with mpmath.workdps(60):
        r = mpf(35) / 10
        for i in range(4):  # each point maps to the next
            x, nxt = result.points[i][0], result.points[(i + 1) % 4][0]
            assert abs(r * x * (1 - x) - nxt) < mpf(10) ** -30


# -- GD at minima that form a manifold --------------------------------------------------------------

def _product_gradient_sharpness(w, sigma):
    """For L = (prod w - sigma)^2 / 2 at prod w = sigma: H = g g^T, g_i = sigma / w_i, lambda = |g|^2."""
    return sum((sigma / wi) ** 2 for wi in w)


MANIFOLD_CASES = [
    # (model, structure, lr, guess on the manifold of minima, manifold dimension)
    ("minimalist2", {}, "2/5", ["1", "1"], 1),
    ("minimalist2", {}, "1/10", ["2", "1/2"], 1),
    ("minimalist2", {}, "1/10", ["-1", "1"], 1),
    ("scalar-net", {"depth": 2}, "2/5", ["1", "1"], 1),
    ("scalar-net", {"depth": 3, "sigma": 2}, "1/10", ["2", "1", "1"], 2),
    ("scalar-net", {"depth": 4}, "1/5", ["1", "1", "1", "1"], 3),
    ("scalar-net", {"depth": 5, "sigma": "1/2"}, "1/5", ["1/2", "2", "1", "1/2", "1"], 4),
]


def _sharpness_and_constraint(name, structure, point):
    """lambda_max of the Hessian at a minimum (closed form) and the residual of the manifold equation."""
    if name == "minimalist2":  # L = (1 - x^2 y^2)^2 / 4, minima x^2 y^2 = 1: H = du du^T / 2, u = x^2 y^2
        x, y = point
        return 2 * x**2 * y**2 * (x**2 + y**2), x**2 * y**2 - 1
    sigma = _mp(structure.get("sigma", 1), 100)
    product = mpmath.fprod(point)
    return _product_gradient_sharpness(point, sigma), product - sigma


def _check_manifold_result(result, name, structure, lr, dimension):
    assert result.success and result.status == "converged"
    assert result.isolated is False
    assert result.manifold_dimension == dimension
    assert result.digits >= 40
    with mpmath.workdps(100):
        point = [result.points[0][j] for j in range(len(result.points[0]))]
        sharpness, constraint = _sharpness_and_constraint(name, structure, point)
        assert abs(constraint) < mpf(10) ** -38
        transverse = 1 - _mp(lr, 100) * sharpness
        multipliers = list(result.multipliers)
        assert len(multipliers) == len(point)
        assert result.multiplier_digits >= 35
        # the manifold directions: multipliers exactly 1; the transverse one: 1 - lr lambda
        ones = sorted(multipliers, key=lambda mu: abs(mu - 1))[:dimension]
        rest = sorted(multipliers, key=lambda mu: abs(mu - 1))[dimension:]
        assert all(abs(mu - 1) < mpf(10) ** -35 for mu in ones)
        assert len(rest) == 1
        assert abs(rest[0] - transverse) < mpf(10) ** -35
        assert abs(transverse) < 1  # the cases are chosen below the threshold
    assert result.stable is True and result.unstable_count == 0


@pytest.mark.parametrize("name,structure,lr,guess,dimension", MANIFOLD_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in MANIFOLD_CASES])
def test_gd_minimum_on_a_manifold(name, structure, lr, guess, dimension):
    m = build_model(name, lr=lr, **structure)
    result = find_fixed_point(m, guess, options=OrbitOptions(dps=40))
    _check_manifold_result(result, name, structure, lr, dimension)


@pytest.mark.parametrize("name,structure,dimension,critical", [
    ("minimalist2", {}, 1, R(1, 2)),
    ("scalar-net", {"depth": 2}, 1, R(1)),
    ("scalar-net", {"depth": 3}, 2, R(2, 3)),
    ("scalar-net", {"depth": 4}, 3, R(1, 2)),
], ids=["minimalist2", "scalar-net-2", "scalar-net-3", "scalar-net-4"])
@pytest.mark.parametrize("fraction", [R(1, 5), R(3, 5)])
@pytest.mark.parametrize("offset", [R(1, 1000), R(1, 20)], ids=["1e-3", "5e-2"])
def test_gd_minimum_from_a_nearby_guess(name, structure, dimension, critical, fraction, offset):
    """Newton reaches the manifold from off it (the manifold is only known once there).

    ``critical`` is the threshold 2 / lambda at the flattest minimum (sigma = 1: 2 / L; minimalist2: 1/2).
    """
    lr = str(fraction * critical)
    m = build_model(name, lr=lr, **structure)
    guess = [v + offset * (-1) ** i * (i + 1) for i, v in enumerate(m.model.flattest_minimum())]
    result = find_fixed_point(m, guess, options=OrbitOptions(dps=40))
    with mpmath.workdps(60):  # the chosen lr is below the threshold at the point found
        point = list(result.points[0])
        sharpness, _ = _sharpness_and_constraint(name, structure, point)
        assert abs(1 - _mp(lr, 60) * sharpness) < 1
    _check_manifold_result(result, name, structure, lr, dimension)


# -- digits honesty ---------------------------------------------------------------------------------

@settings(max_examples=12, deadline=None)
@given(st.fractions(min_value=Fraction(31, 10), max_value=Fraction(34, 10), max_denominator=1000),
       st.sampled_from([20, 60, 150]))
@example(Fraction(16, 5), 150)
@example(Fraction(31, 10), 20)
@example(Fraction(3399, 1000), 60)
def test_reported_digits_are_honest(r, dps):
    m = build_model("logistic", r=f"{r.numerator}/{r.denominator}")
    result = find_orbit(m, 2, ["0.5"], options=OrbitOptions(dps=dps))
    assert result.success and result.status == "converged"
    assert result.digits >= dps
    with mpmath.workdps(dps + 60):
        rr = mpf(r.numerator) / r.denominator
        exact = [(p,) for p in logistic_period_two(rr)]
        actual = true_digits(orbit_error(result.points, exact))  # points < 1: absolute = relative to scale 1
        assert result.digits <= actual + 1
        mu_error = abs(result.multipliers[0] - (4 + 2 * rr - rr**2))
        assert true_digits(mu_error) + 1 >= result.multiplier_digits >= dps


def _residual(map_, result):
    """max |F(x_i) - x_{i+1}| computed exactly from the map's sympy form, at high precision."""
    exprs = map_.sympy(at=result.parameters)
    symbols = [sympy.Symbol(n, real=True) for n in map_.state_names]
    k = len(result.points)
    worst = mpf(0)
    for i in range(k):
        at = {s: sympy.Float(result.points[i][j], 200) for j, s in enumerate(symbols)}
        for j, e in enumerate(exprs):
            value = mpf(sympy.N(e.xreplace(at), 150)._mpf_)
            worst = max(worst, abs(value - result.points[(i + 1) % k][j]))
    return worst


X = sympy.Symbol("x", real=True)

HONESTY_CASES = [
    pytest.param(build_model("logistic", r="16/5"), 2, ["0.5"], id="logistic-2-r3.2"),
    pytest.param(build_model("henon"), 1, ["0.6", "0.2"], id="henon-1"),
    pytest.param(build_model("minimalist2", lr="1/10"), 1, ["1.2", "0.9"], id="minimalist2-gd"),
    pytest.param(raw_map([sympy.log(X) + 2], [X]), 1, ["0.5"], id="log-map"),
    # no real fixed point: exp(x) > x everywhere
    pytest.param(raw_map([sympy.exp(X)], [X]), 1, ["0"], id="exp-map-no-fixed-point"),
    # at r = 3 + 1e-30 the period-2 points are 2/3 +- 3.3e-16; at 3 - 1e-30 there is none but the fixed points
    pytest.param(build_model("logistic", r="3 + 1/10**30"), 2, ["0.6"], id="logistic-2-just-after-flip"),
    pytest.param(build_model("logistic", r="3 - 1/10**30"), 2, ["0.6"], id="logistic-2-just-before-flip"),
]


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")  # Newton's trial steps
@pytest.mark.parametrize("map_,period,guess", HONESTY_CASES)
def test_a_reported_orbit_satisfies_the_orbit_equation(map_, period, guess):
    """Whatever the status, success means the points solve x_{i+1} = F(x_i) to the digits reported."""
    result = find_orbit(map_, period, guess, options=OrbitOptions(dps=30))
    if not result.success:
        assert result.status in ("low-precision", "not-converged", "diverged")
        return
    with mpmath.workdps(150):
        scale = max([mpf(1)] + [abs(v) for p in result.points for v in p])
        assert _residual(map_, result) <= mpf(10) ** -(result.digits - 1) * scale


# -- errors and failures -------------------------------------------------------------------------

@pytest.mark.parametrize("period", [0, -1, 1.5, "2", None])
def test_bad_period_is_a_parameter_error(period):
    with pytest.raises(ParameterError):
        find_orbit(build_model("logistic"), period, ["0.5"])


@pytest.mark.parametrize("model,period,guess", [
    ("logistic", 1, ["0.5", "0.5"]),
    ("henon", 1, ["0.5"]),
    ("henon", 2, [["0.5", "0.1"], ["0.5", "0.1"], ["0.5", "0.1"]]),  # 3 points for period 2
    ("logistic", 3, [["0.5"], ["0.6"]]),
])
def test_bad_guess_is_a_parameter_error(model, period, guess):
    with pytest.raises(ParameterError):
        find_orbit(build_model(model), period, guess)


def test_unknown_parameter_is_a_parameter_error():
    with pytest.raises(ParameterError, match="q"):
        find_orbit(build_model("logistic"), 1, ["0.5"], parameters={"q": 1})


@pytest.mark.parametrize("options", [
    dict(dps=0), dict(dps=-3), dict(dps=2.5), dict(guard_digits=-1), dict(max_float_iterations=0),
    dict(max_precision_steps=0), dict(manifold_tolerance=0), dict(manifold_tolerance=1.5),
], ids=str)
def test_bad_options_are_parameter_errors(options):
    with pytest.raises(ParameterError):
        OrbitOptions(**options)


def test_options_and_results_are_frozen():
    options = OrbitOptions(dps=20)
    with pytest.raises(Exception):
        options.dps = 30
    result = find_fixed_point(build_model("logistic", r="2.8"), ["0.6"], options=options)
    with pytest.raises(Exception):
        result.success = False


def test_parameter_strings_are_exact_in_find_orbit():
    """A parameter override given as an exact string is read exactly, or refused with a ParameterError."""
    m = build_model("logistic")
    try:
        result = find_orbit(m, 1, ["0.66"], parameters={"r": "3 - 1/10**30"}, options=OrbitOptions(dps=60))
    except ParameterError:
        return
    with mpmath.workdps(100):
        assert abs(result.multipliers[0] - (-1 + mpf(10) ** -30)) < mpf(10) ** -50


@pytest.mark.parametrize("map_,guess", [
    pytest.param(build_model("henon", a=-1, b="3/10"), ["0.6", "0.2"], id="henon-without-fixed-point"),
    pytest.param(raw_map([X + 1 + X**2], [X]), ["0.3"], id="x+1+x^2"),
    pytest.param(raw_map([sympy.sqrt(X) - 1], [X]), ["4"], id="sqrt-leaves-domain"),
])
@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")  # sqrt(x) at x = 0
def test_no_orbit_gives_a_failure_status_not_an_exception(map_, guess):
    """These maps have no real fixed point (Henon: (1 - b)^2 + 4a < 0; x^2 + 1 = 0; sqrt(x) = x + 1)."""
    result = find_fixed_point(map_, guess, options=OrbitOptions(dps=30))
    assert result.success is False
    assert result.status in ("diverged", "not-converged")
    assert result.message


def test_errors_have_one_root():
    assert issubclass(ParameterError, DynsysError)
