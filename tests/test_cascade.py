"""Period-doubling cascades: :mod:`dynsys_eos.cascade`, ``locate_flip`` and the ``cascade`` subcommand.

Known answers come from closed forms and the literature, never from the code:

* logistic map x -> r x (1 - x): flips at r = 3 and 1 + sqrt(6); the period-4 flip
  r = 3.5440903595519228536... is a root of Bailey's degree-12 polynomial and is
  recomputed here by ``mpmath.findroot`` on the composed map; later flips are
  recomputed by an independent Newton iteration on F^P (single shooting, with the
  derivatives carried along) at 150 digits;
* Feigenbaum's delta = 4.669201609102990671853..., alpha = -2.502907875095892822...,
  and the logistic accumulation point r_inf = 3.569945671870944901842... (literature);
* the quadratic family x -> a - x^2 is conjugate to the logistic map by
  a = r (r - 2) / 4, so its flips are at 3/4, 5/4, ... exactly;
* Henon map (x, y) -> (1 - a x^2 + y, b x): its period-2 orbit has x1 + x2 = (1 - b)/a,
  x1 x2 = ((1 - b)^2 - a)/a^2 and monodromy trace 4 a^2 x1 x2 + 2 b, determinant b^2,
  so the multiplier -1 (1 + trace + det = 0) is at a = (1 - b)^2 + (1 + b)^2 / 4
  (0.9125 for b = 3/10, the literature value; 5/4 for b = 0);
* GD on a loss: a minimum flips at lr = 2 / lambda_max(Hessian).

Every comparison is done inside ``mpmath.workdps`` blocks: an mpf built at the
default 15 digits would be only a double.
"""

import functools
import itertools
import json
import re

import mpmath
import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dynsys_eos.bifurcation.longperiod import locate_flip
from dynsys_eos.cascade import (
    CascadeOptions,
    Estimate,
    analyze_flips,
    follow_period_doubling,
)
from dynsys_eos.cli import main
from dynsys_eos.continuation import ContinuationProblem
from dynsys_eos.errors import DynsysError, ParameterError
from dynsys_eos.maps import raw_map
from dynsys_eos.models import build_model

# -- literature constants (kept as strings; converted inside workdps blocks) ---------------------------------------
DELTA = "4.669201609102990671853203820466"  # Feigenbaum's delta
ALPHA = "-2.502907875095892822283902873218"  # Feigenbaum's alpha
R_INF = "3.569945671870944901842005151386"  # accumulation point of the logistic cascade
CHECK_DPS = 150  # precision of every comparison and of the reference computations


def mpf(text):
    """An mpf at CHECK_DPS digits (must be used inside a workdps(CHECK_DPS) block for arithmetic)."""
    with mpmath.workdps(CHECK_DPS):
        return mpmath.mpf(text)


def flip_error(flip):
    """The error a flip's reported digits promise (the package's convention: relative to max(1, |value|))."""
    with mpmath.workdps(CHECK_DPS):
        return mpmath.mpf(10) ** (-flip.digits) * max(1, abs(flip.value))


def assert_within(value, target, error, what):
    with mpmath.workdps(CHECK_DPS):
        diff = abs(mpmath.mpf(value) - mpmath.mpf(target))
        assert diff <= mpmath.mpf(error), (
            f"{what}: |{mpmath.nstr(value, 25)} - {mpmath.nstr(mpmath.mpf(target), 25)}| = "
            f"{mpmath.nstr(diff, 3)} > reported error {mpmath.nstr(mpmath.mpf(error), 3)}")


# -- independent references ----------------------------------------------------------------------------------------

def logistic_flip_reference(period, r_guess, x_guess, dps=CHECK_DPS):
    """The flip of the period-``period`` logistic orbit by Newton on (F^P(x) - x, (F^P)'(x) + 1) in (x, r).

    Single shooting with first and second derivatives carried through the P compositions; independent of
    the package (plain mpmath arithmetic).
    """
    with mpmath.workdps(dps):
        r, x = mpmath.mpf(r_guess), mpmath.mpf(x_guess)
        tiny = mpmath.mpf(10) ** (-dps + 15)
        for _ in range(100):
            y, yx, yr, yxx, yxr = x, mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0)
            for _ in range(period):
                fy = r * (1 - 2 * y)
                yxx = -2 * r * yx * yx + fy * yxx
                yxr = -2 * r * yx * yr + (1 - 2 * y) * yx + fy * yxr
                yr = fy * yr + y * (1 - y)
                yx = fy * yx
                y = r * y * (1 - y)
            g1, g2 = y - x, yx + 1
            a11, a12, a21, a22 = yx - 1, yr, yxx, yxr
            det = a11 * a22 - a12 * a21
            dx = (g1 * a22 - a12 * g2) / det
            dr = (a11 * g2 - a21 * g1) / det
            x, r = x - dx, r - dr
            if abs(dx) < tiny and abs(dr) < tiny:
                return r
    raise AssertionError(f"reference Newton for the period-{period} flip did not converge")


@pytest.fixture(scope="module")
def logistic_reference_flips():
    """Logistic flips of periods 1 .. 256: closed forms, then Newton from Feigenbaum predictions (150 digits)."""
    with mpmath.workdps(CHECK_DPS):
        flips = [mpmath.mpf(3), 1 + mpmath.sqrt(6)]
        for k in range(2, 9):
            period = 2 ** k
            predicted = flips[-1] + (flips[-1] - flips[-2]) / mpmath.mpf("4.669")
            seed = float(flips[-1] + (predicted - flips[-1]) / 2)  # inside the period-P stability window
            x = 0.5
            for _ in range(20 * period):
                x = seed * x * (1 - x)
            flips.append(logistic_flip_reference(period, predicted, x))
    return flips


@pytest.fixture(scope="module")
def logistic_period4_flip():
    """r of the period-4 flip from mpmath.findroot on the composed map F^4, checked by hand (|F| tiny)."""
    with mpmath.workdps(80):
        def system(x, r):
            derivative, y = mpmath.mpf(1), x
            for _ in range(4):
                derivative *= r * (1 - 2 * y)
                y = r * y * (1 - y)
            return [y - x, derivative + 1]

        r0, x0 = mpmath.mpf("3.544"), mpmath.mpf("0.5")
        for _ in range(4000):  # onto the attracting period-4 orbit
            x0 = r0 * x0 * (1 - x0)
        x, r = mpmath.findroot(system, (x0, r0), tol=mpmath.mpf(10) ** -150, maxsteps=500)
        assert max(abs(v) for v in system(x, r)) < mpmath.mpf(10) ** -75  # findroot's own stopping is loose
        # Bailey's polynomial for the period-4 flip of the logistic map: an independent check of the root
        bailey = [1, -12, 48, -40, -193, 392, 44, 8, -977, -604, 2108, 0, 4913]
        assert abs(mpmath.polyval(bailey, r)) < mpmath.mpf(10) ** -70
        assert abs(r - mpmath.mpf("3.5440903595519228536")) < mpmath.mpf(10) ** -19
        return +r


# -- the logistic cascade ------------------------------------------------------------------------------------------

def logistic_problem():
    return ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})


@pytest.fixture(scope="module")
def cascade14():
    """The logistic cascade, 14 flips at 40 digits (about 2-3 s)."""
    return follow_period_doubling(logistic_problem(), CascadeOptions(flips=14, dps=40))


@pytest.fixture(scope="module")
def cascade17():
    """The logistic cascade to period 65536 (17 flips, about 15-20 s): enough for 11 digits of delta."""
    return follow_period_doubling(logistic_problem(), CascadeOptions(flips=17, dps=40))


def test_logistic_cascade_complete_with_doubling_periods(cascade14):
    assert cascade14.success and cascade14.status == "complete", cascade14.message
    assert [f.period for f in cascade14.flips] == [2 ** k for k in range(14)]
    assert len(cascade14.ratios) == 12


def test_logistic_first_flips_are_3_and_1_plus_sqrt6(cascade14):
    first, second = cascade14.flips[:2]
    assert_within(first.value, 3, flip_error(first), "period-1 flip")
    with mpmath.workdps(CHECK_DPS):
        assert_within(second.value, 1 + mpmath.sqrt(6), flip_error(second), "period-2 flip")


def test_logistic_period4_flip_matches_findroot(cascade14, logistic_period4_flip):
    flip = cascade14.flips[2]
    assert flip.period == 4
    assert_within(flip.value, logistic_period4_flip, flip_error(flip), "period-4 flip")


def test_logistic_flips_increase_and_keep_their_digits(cascade14):
    values = [f.value for f in cascade14.flips]
    with mpmath.workdps(CHECK_DPS):
        assert all(a < b for a, b in itertools.pairwise(values))
        assert all(v < mpf(R_INF) for v in values)
    assert all(f.digits >= 40 for f in cascade14.flips), [f.digits for f in cascade14.flips]
    assert {f.how for f in cascade14.flips} <= {"continuation", "prediction"}


def test_logistic_flip_digits_are_honest(cascade14, logistic_reference_flips):
    """Flips of periods 1..256 (continued and predicted) against the independent 150-digit Newton."""
    for flip, reference in zip(cascade14.flips, logistic_reference_flips):
        assert_within(flip.value, reference, flip_error(flip), f"period-{flip.period} flip")


def test_logistic_ratios_within_their_errors_of_the_reference_ratios(cascade14, logistic_reference_flips):
    ref = logistic_reference_flips
    with mpmath.workdps(CHECK_DPS):
        exact = [(ref[k] - ref[k - 1]) / (ref[k + 1] - ref[k]) for k in range(1, len(ref) - 1)]
        for ratio, reference in zip(cascade14.ratios, exact):
            assert_within(ratio.value, reference, ratio.error, "ratio delta_k")
        # the first ratio is a closed form: (sqrt 6 - 2) / (r_4 - 1 - sqrt 6)
        assert abs(exact[0] - mpf("4.7514462181782065490869")) < mpf("1e-21")


def test_logistic_ratios_converge_to_feigenbaum_delta(cascade14):
    with mpmath.workdps(CHECK_DPS):
        distances = [abs(r.value - mpf(DELTA)) for r in cascade14.ratios]
        assert all(r.value > 0 for r in cascade14.ratios)
        # monotone from the second ratio on (the first ones are pre-asymptotic)
        assert all(a > b for a, b in itertools.pairwise(distances[1:])), [mpmath.nstr(d, 3) for d in distances]
        # and geometrically, at about 1/delta per level: the 12th ratio is within 1e-8
        assert distances[-1] < mpf("1e-8")


def test_logistic_delta_within_its_error(cascade14):
    delta = cascade14.delta
    assert_within(delta.value, DELTA, delta.error, "delta")
    assert delta.digits >= 8, delta
    with mpmath.workdps(CHECK_DPS):
        assert mpmath.nstr(delta.value, 8) == "4.6692016"
        # the digits the error allows agree with the literature value
        assert abs(delta.value - mpf(DELTA)) <= mpmath.mpf(10) ** (-delta.digits) * abs(delta.value)


def test_logistic_accumulation_within_its_error(cascade14):
    acc = cascade14.accumulation
    assert_within(acc.value, R_INF, acc.error, "accumulation point")
    assert acc.digits >= 15, acc


def test_logistic_alpha_within_its_error(cascade14):
    alpha = cascade14.alpha
    assert alpha is not None
    assert_within(alpha.value, ALPHA, alpha.error, "alpha")
    assert alpha.digits >= 8, alpha


def test_estimate_digits_follow_from_the_error(cascade14):
    for estimate in (*cascade14.ratios, cascade14.delta, cascade14.accumulation, cascade14.alpha):
        with mpmath.workdps(CHECK_DPS):
            relative = estimate.error / max(1, abs(estimate.value))
            assert mpmath.mpf(10) ** (-estimate.digits - 1) < relative <= mpmath.mpf(10) ** (-estimate.digits)


@pytest.mark.parametrize("n", range(3, 15))
def test_analysis_of_the_first_n_flips_is_honest(cascade14, n):
    """delta and the accumulation point from the first n flips: within their errors of the literature values."""
    flips = cascade14.flips[:n]
    with mpmath.workdps(CHECK_DPS):
        ratios, delta, accumulation = analyze_flips([f.value for f in flips], [flip_error(f) for f in flips])
    assert len(ratios) == n - 2
    assert_within(accumulation.value, R_INF, accumulation.error, f"accumulation from {n} flips")
    assert_within(delta.value, DELTA, delta.error, f"delta from {n} flips")


def test_logistic_delta_to_eleven_digits_at_period_65536(cascade17, cascade14):
    """The one long test: 17 flips (period 65536) give delta = 4.6692016091 (11 digits)."""
    assert cascade17.status == "complete", cascade17.message
    assert cascade17.flips[-1].period == 65536
    assert all(f.digits >= 40 for f in cascade17.flips)
    delta = cascade17.delta
    assert_within(delta.value, DELTA, delta.error, "delta (17 flips)")
    assert delta.digits >= 11, delta
    with mpmath.workdps(CHECK_DPS):
        assert mpmath.nstr(delta.value, 11) == "4.6692016091"
    assert_within(cascade17.accumulation.value, R_INF, cascade17.accumulation.error, "accumulation (17 flips)")
    assert cascade17.accumulation.digits >= 20
    assert_within(cascade17.alpha.value, ALPHA, cascade17.alpha.error, "alpha (17 flips)")
    # asking for more flips does not change the earlier ones
    with mpmath.workdps(CHECK_DPS):
        for short, long in zip(cascade14.flips, cascade17.flips):
            assert abs(short.value - long.value) <= flip_error(short)


# -- analyze_flips on synthetic data -------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(delta=st.decimals("2.5", "12", places=6), p_inf=st.decimals("-5", "5", places=6),
       c=st.decimals("0.05", "20", places=4), sign=st.sampled_from([1, -1]), n=st.integers(4, 14),
       error_exponent=st.integers(25, 45))
@example(delta=DELTA[:12], p_inf=R_INF[:12], c="1", sign=1, n=12, error_exponent=40)
@example(delta="4.669", p_inf="0", c="3", sign=-1, n=4, error_exponent=25)
def test_analyze_flips_recovers_an_exact_geometric_sequence(delta, p_inf, c, sign, n, error_exponent):
    with mpmath.workdps(80):
        d, pinf, cc = mpmath.mpf(str(delta)), mpmath.mpf(str(p_inf)), sign * mpmath.mpf(str(c))
        values = [pinf - cc * d ** -k for k in range(n)]
        errors = [mpmath.mpf(10) ** -error_exponent] * n
        ratios, est_delta, est_acc = analyze_flips(values, errors)
        assert len(ratios) == n - 2
        for ratio in ratios:
            assert abs(ratio.value - d) <= ratio.error
            assert ratio.error > 0
        assert abs(est_delta.value - d) <= est_delta.error
        assert abs(est_acc.value - pinf) <= est_acc.error
        # the errors are errors, not the value: at these input errors both carry many digits
        assert est_delta.digits >= 5 and est_acc.digits >= 10


def corrected_sequence(delta, p_inf, c, b, nu_power, n):
    """p_k = p_inf - C delta^-k - B nu^-k with nu = delta^nu_power: a cascade with a faster correction."""
    d, pinf = mpmath.mpf(str(delta)), mpmath.mpf(str(p_inf))
    cc = mpmath.mpf(str(c))
    nu, bb = d ** mpmath.mpf(str(nu_power)), mpmath.mpf(str(b)) * cc
    return d, pinf, [pinf - cc * d ** -k - bb * nu ** -k for k in range(n)]


@settings(max_examples=30, deadline=None)
@given(delta=st.decimals("3", "8", places=4), p_inf=st.decimals("-3", "3", places=3),
       c=st.decimals("0.1", "5", places=3).flatmap(lambda c: st.sampled_from([c, -c])),
       b=st.decimals("-1", "1", places=3), nu_power=st.sampled_from(["1.5", "2", "3"]), n=st.integers(6, 14))
@example(delta=DELTA[:8], p_inf=R_INF[:6], c="1", b="-0.5", nu_power="2", n=6)
@example(delta="8", p_inf="1.25", c="1", b="0.05", nu_power="3", n=13)  # the change term of the p_inf error matters
def test_analyze_flips_is_honest_with_a_faster_correction(delta, p_inf, c, b, nu_power, n):
    """Ratios converging geometrically (as in a real cascade, |B| <= |C|): delta and p_inf within their errors."""
    with mpmath.workdps(80):
        d, pinf, values = corrected_sequence(delta, p_inf, c, b, nu_power, n)
        _, est_delta, est_acc = analyze_flips(values, [mpmath.mpf(10) ** -40] * n)
        assert abs(est_delta.value - d) <= est_delta.error
        assert abs(est_acc.value - pinf) <= est_acc.error


def test_analyze_flips_delta_error_from_five_flips():
    with mpmath.workdps(80):
        d, _pinf, values = corrected_sequence("3.2", "1.25", "1", "-1", "1.5", 5)
        _, est_delta, _ = analyze_flips(values, [mpmath.mpf(10) ** -40] * 5)
        assert abs(est_delta.value - d) <= est_delta.error


@settings(max_examples=40, deadline=None)
@given(delta=st.decimals("3", "8", places=4), relative_error=st.integers(3, 12),
       signs=st.tuples(*[st.floats(-1, 1)] * 3))
@example(delta="4.6692", relative_error=3, signs=(-1.0, 1.0, -1.0))  # the corner that shrinks the gap
@example(delta="4.6692", relative_error=3, signs=(1.0, -1.0, 1.0))  # the corner that widens it
def test_ratio_error_covers_perturbations_within_the_flip_errors(delta, relative_error, signs):
    """Perturb three flips within their errors: the ratio moves by at most its reported error.

    The reported error is first order (it divides by the unperturbed gap); at the corner that shrinks the gap
    the true change is larger by the factor gap / (gap - E) with E the gap's error, so that second-order term
    is allowed for.
    """
    with mpmath.workdps(80):
        d = mpmath.mpf(str(delta))
        values = [mpmath.mpf(3) - d ** -k for k in range(3)]
        gap = values[2] - values[1]
        errors = [gap * mpmath.mpf(10) ** -relative_error * (1 + k) for k in range(3)]
        (ratio,) = analyze_flips(values, errors)[0]
        perturbed = [v + mpmath.mpf(s) * e for v, s, e in zip(values, signs, errors)]
        (moved,) = analyze_flips(perturbed, errors)[0]
        shrink = errors[1] + errors[2]
        allowance = ratio.error * gap / (gap - shrink) * (1 + mpmath.mpf(10) ** -60)  # the worst corner attains it
        assert abs(moved.value - ratio.value) <= allowance
        assert ratio.error <= 2 * allowance  # and the reported error is not wildly pessimistic either
        # to first order the bound is attained at the corners: the estimate is tight, not just safe
        if tuple(signs) in ((-1.0, 1.0, -1.0), (1.0, -1.0, 1.0)):
            assert abs(moved.value - ratio.value) >= ratio.error * (1 - 4 * shrink / gap)


def test_analyze_flips_few_values():
    with mpmath.workdps(40):
        assert analyze_flips([mpmath.mpf(3)], [mpmath.mpf(10) ** -30]) == ((), None, None)
        assert analyze_flips([mpmath.mpf(3), 1 + mpmath.sqrt(6)], [mpmath.mpf(10) ** -30] * 2) == ((), None, None)
        ratios, delta, _acc = analyze_flips([mpmath.mpf(3), 1 + mpmath.sqrt(6), mpmath.mpf("3.5440903595519228536")],
                                           [mpmath.mpf(10) ** -19] * 3)
        assert len(ratios) == 1 and abs(ratios[0].value - mpmath.mpf("4.75144621817820654908")) < 1e-15
        assert abs(delta.value - mpmath.mpf(DELTA)) <= delta.error


def test_analyze_flips_errors_are_honest_at_the_default_precision():
    with mpmath.workdps(80):
        d, pinf = mpmath.mpf(DELTA), mpmath.mpf(R_INF)
        values = [pinf - d ** -k for k in range(12)]
        errors = [mpmath.mpf(10) ** -60] * 12
    ratios, delta, acc = analyze_flips(values, errors)  # caller at mpmath's default precision
    with mpmath.workdps(80):
        for ratio in ratios:
            assert abs(ratio.value - d) <= ratio.error
        assert abs(delta.value - d) <= delta.error
        assert abs(acc.value - pinf) <= acc.error


def test_analyze_flips_equal_consecutive_values_is_not_a_bare_zero_division():
    with mpmath.workdps(40):
        values = [mpmath.mpf(3), mpmath.mpf("3.4"), mpmath.mpf("3.4"), mpmath.mpf("3.5")]
        try:
            analyze_flips(values, [mpmath.mpf(10) ** -30] * 4)
        except DynsysError:
            pass


# -- locate_flip ---------------------------------------------------------------------------------------------------

def henon_period2_flip(b):
    """a at the Henon period-2 flip, a = (1 - b)^2 + (1 + b)^2 / 4, checked from the orbit's monodromy.

    ``b`` is a sympy Rational (exact) or a float (the double itself).
    """
    with mpmath.workdps(CHECK_DPS):
        b = mpmath.mpf(b.p) / b.q if isinstance(b, sympy.Rational) else mpmath.mpf(b)
        a = (1 - b) ** 2 + (1 + b) ** 2 / 4
        s, p = (1 - b) / a, ((1 - b) ** 2 - a) / a ** 2
        root = mpmath.sqrt(s * s - 4 * p)
        x1, x2 = (s + root) / 2, (s - root) / 2
        # the orbit really is a period-2 orbit: F(x1, b x2) = (x2, b x1) and back
        assert abs(1 - a * x1 ** 2 + b * x2 - x2) < mpmath.mpf(10) ** -140
        assert abs(1 - a * x2 ** 2 + b * x1 - x1) < mpmath.mpf(10) ** -140
        jac = lambda x: mpmath.matrix([[-2 * a * x, 1], [b, 0]])
        monodromy = jac(x2) * jac(x1)
        assert abs(mpmath.det(monodromy + mpmath.eye(2))) < mpmath.mpf(10) ** -140  # a multiplier is -1
        return a, (x1, x2)


def henon_orbit_guess(a, b):
    """Float64 points of the period-2 orbit at a (from the closed form), as [[x1, y1], [x2, y2]]."""
    s, p = (1 - b) / a, ((1 - b) ** 2 - a) / a ** 2
    root = (s * s - 4 * p) ** 0.5
    x1, x2 = (s + root) / 2, (s - root) / 2
    return [[x1, b * x2], [x2, b * x1]]


@pytest.mark.parametrize("b", ["3/10", "0", "1/2", "-1/5"])
def test_locate_flip_henon_period2_closed_form(b):
    m = build_model("henon")
    exact_b = sympy.Rational(b)
    a_flip, (x1, x2) = henon_period2_flip(exact_b)
    guess_a = float(a_flip) - 0.05
    flip = locate_flip(m, "a", {"b": exact_b}, henon_orbit_guess(guess_a, float(exact_b)), guess_a, dps=50)
    assert flip.status == "located", flip.message
    assert flip.period == 2 and flip.digits >= 50
    assert_within(flip.value, a_flip, flip_error(flip), f"Henon period-2 flip at b = {b}")
    with mpmath.workdps(CHECK_DPS):
        xs = sorted(point[0] for point in flip.orbit)
        assert abs(xs[0] - min(x1, x2)) < mpmath.mpf(10) ** -45 and abs(xs[1] - max(x1, x2)) < mpmath.mpf(10) ** -45


def test_locate_flip_henon_b_literature_value():
    """b = 3/10: the period-2 -> 4 doubling of the Henon map at a = 0.9125 = 73/80 exactly."""
    flip = locate_flip(build_model("henon"), "a", {"b": "3/10"}, henon_orbit_guess(0.88, 0.3), 0.88, dps=40)
    assert flip.status == "located"
    assert_within(flip.value, mpf("0.9125"), flip_error(flip), "Henon b = 3/10")


def test_locate_flip_henon_float_parameter_is_taken_exactly():
    """b given as the double 0.3 is that double, not 3/10: the flip moves by about 8e-18."""
    flip = locate_flip(build_model("henon"), "a", {"b": 0.3}, henon_orbit_guess(0.88, 0.3), 0.88, dps=40)
    assert flip.status == "located"
    a_double, _ = henon_period2_flip(0.3)
    assert_within(flip.value, a_double, flip_error(flip), "Henon b = double 0.3")
    with mpmath.workdps(CHECK_DPS):
        assert abs(flip.value - mpf("0.9125")) > mpmath.mpf(10) ** -19


def test_locate_flip_logistic_period4(logistic_period4_flip):
    r0, x = 3.54, 0.5
    for _ in range(4000):
        x = r0 * x * (1 - x)
    orbit = []
    for _ in range(4):
        orbit.append([x])
        x = r0 * x * (1 - x)
    flip = locate_flip(build_model("logistic"), "r", {}, orbit, r0, dps=60)
    assert flip.status == "located", flip.message
    assert flip.period == 4 and flip.digits >= 60
    assert_within(flip.value, logistic_period4_flip, flip_error(flip), "logistic period-4 flip")


def test_locate_flip_rejects_a_wrong_orbit_shape():
    with pytest.raises(ParameterError):
        locate_flip(build_model("henon"), "a", {"b": "3/10"}, [[0.5], [0.2]], 0.9, dps=20)


# -- GD cascades ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, parameters, start, first_flip", [
    ("scalar-net", {"depth": 3}, "0.5", sympy.Rational(2, 3)),  # lambda_max = 3 sigma^(4/3) = 3
    ("scalar-net", {"depth": 3, "sigma": 2}, "0.2", 2 / (3 * sympy.Integer(2) ** sympy.Rational(4, 3))),
    ("minimalist2", {}, "0.5", sympy.Rational(1, 2)),  # Hessian [[2, 2], [2, 2]] at (1, 1): lambda_max = 4
])
def test_gd_cascade_from_the_flattest_minimum(name, parameters, start, first_flip):
    m = build_model(name, **parameters)
    problem = ContinuationProblem.from_guess(m, 1, "lr", m.model.flattest_minimum(), {"lr": start})
    cascade = follow_period_doubling(problem, CascadeOptions(flips=5, dps=30))
    assert cascade.status == "complete", cascade.message
    assert [f.period for f in cascade.flips] == [1, 2, 4, 8, 16]
    first = cascade.flips[0]
    assert_within(first.value, sympy.N(first_flip, CHECK_DPS), flip_error(first), f"{name} first flip")
    with mpmath.workdps(CHECK_DPS):
        values = [f.value for f in cascade.flips]
        assert all(a < b for a, b in itertools.pairwise(values))
        assert all(r.value > 0 for r in cascade.ratios)
        assert all(3 < r.value < 6 for r in cascade.ratios)  # on the way to 4.669...
    assert all(f.digits >= 30 for f in cascade.flips)


# -- the property over families ------------------------------------------------------------------------------------

@functools.cache
def quadratic_map():
    x, a = sympy.symbols("x a")
    return raw_map([a - x ** 2], [x], [a], {"a": sympy.Rational(1, 2)}, name="quadratic")


FAMILIES = {
    # family: (map builder, parameter, start range, fixed point, first two flips in closed form)
    "logistic": (lambda: build_model("logistic"), "r", (2.6, 2.95), lambda r: 1 - 1 / r,
                 lambda: (mpmath.mpf(3), 1 + mpmath.sqrt(6))),
    "quadratic": (quadratic_map, "a", (0.3, 0.7), lambda a: (-1 + (1 + 4 * a) ** 0.5) / 2,
                  lambda: (mpmath.mpf(3) / 4, mpmath.mpf(5) / 4)),
}


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(sorted(FAMILIES)), dps=st.sampled_from([20, 30]), flips=st.sampled_from([4, 5]),
       where=st.integers(0, 100))
@example(family="logistic", dps=20, flips=4, where=57)  # start 2.8
@example(family="quadratic", dps=30, flips=5, where=50)  # start 0.5
def test_cascade_property_over_families(family, dps, flips, where):
    build, parameter, (low, high), fixed_point, closed = FAMILIES[family]
    start = f"{low + (high - low) * where / 100:.4f}"
    problem = ContinuationProblem.from_guess(build(), 1, parameter, [repr(fixed_point(float(start)))],
                                             {parameter: start})
    cascade = follow_period_doubling(problem, CascadeOptions(flips=flips, dps=dps))
    assert cascade.status == "complete", cascade.message
    assert [f.period for f in cascade.flips] == [2 ** k for k in range(flips)]
    assert all(f.digits >= dps for f in cascade.flips), [f.digits for f in cascade.flips]
    with mpmath.workdps(CHECK_DPS):
        values = [f.value for f in cascade.flips]
        assert all(a < b for a, b in itertools.pairwise(values))
        assert len(cascade.ratios) == flips - 2 and all(r.value > 0 for r in cascade.ratios)
        assert all(4 < r.value < 5 for r in cascade.ratios)  # logistic 4.75, 4.66..; quadratic 4.23, 4.55, ..
        for flip, exact in zip(cascade.flips, closed()):
            assert_within(flip.value, exact, flip_error(flip), f"{family} period-{flip.period} flip")


def check_quadratic_conjugacy(cascade14, flips):
    problem = ContinuationProblem.from_guess(quadratic_map(), 1, "a", ["0.366"], {"a": "1/2"})
    cascade = follow_period_doubling(problem, CascadeOptions(flips=flips, dps=40))
    assert cascade.status == "complete", cascade.message
    with mpmath.workdps(CHECK_DPS):
        for flip, logistic in zip(cascade.flips, cascade14.flips):
            r = logistic.value
            assert_within(flip.value, r * (r - 2) / 4, flip_error(flip) + flip_error(logistic),
                          f"quadratic period-{flip.period} flip")
        r_inf = mpf(R_INF)
        assert_within(cascade.accumulation.value, r_inf * (r_inf - 2) / 4, cascade.accumulation.error,
                      "quadratic accumulation point (1.4011551890920506...)")


def test_quadratic_family_is_conjugate_to_the_logistic_cascade(cascade14):
    """x -> a - x^2 flips at a = r (r - 2) / 4 of the logistic flips; its accumulation point likewise."""
    check_quadratic_conjugacy(cascade14, 5)


def test_quadratic_family_cascade_past_period_16(cascade14):
    check_quadratic_conjugacy(cascade14, 7)


def test_backward_cascade_in_a_decreasing_parameter():
    """x -> -s - x^2 flips at s = -3/4, -5/4, ... as s decreases."""
    x, s = sympy.symbols("x s")
    family = raw_map([-s - x ** 2], [x], [s], {"s": sympy.Rational(-1, 2)}, name="reflected quadratic")
    problem = ContinuationProblem.from_guess(family, 1, "s", ["0.366"], {"s": "-1/2"})
    cascade = follow_period_doubling(problem, CascadeOptions(flips=5, dps=30, direction="backward"))
    assert cascade.status == "complete", cascade.message
    assert_within(cascade.flips[0].value, mpf("-0.75"), flip_error(cascade.flips[0]), "s = -3/4")
    assert_within(cascade.flips[1].value, mpf("-1.25"), flip_error(cascade.flips[1]), "s = -5/4")
    with mpmath.workdps(CHECK_DPS):
        values = [f.value for f in cascade.flips]
        assert all(a > b for a, b in itertools.pairwise(values))
        assert all(r.value > 0 for r in cascade.ratios)


# -- statuses and options ------------------------------------------------------------------------------------------

def test_no_flip_before_the_bound_is_a_status():
    cascade = follow_period_doubling(logistic_problem(), CascadeOptions(flips=3, dps=30, p_max=2.95))
    assert cascade.status == "no-flip" and not cascade.success
    assert cascade.flips == () and cascade.delta is None and cascade.accumulation is None


def test_bound_between_flips_keeps_the_flips_found():
    cascade = follow_period_doubling(logistic_problem(), CascadeOptions(flips=4, dps=30, p_max=3.5))
    assert cascade.status == "no-flip" and not cascade.success
    assert [f.period for f in cascade.flips] == [1, 2]  # 3 and 3.449... < 3.5 < 3.544...


def test_time_limit_is_a_status():
    cascade = follow_period_doubling(logistic_problem(), CascadeOptions(flips=3, dps=30, max_seconds=1e-9))
    assert cascade.status == "time-limit" and not cascade.success
    assert cascade.flips == () and cascade.ratios == ()


@pytest.mark.parametrize("options", [{"flips": 0}, {"flips": 2.5}, {"dps": 4}, {"dps": 10001},
                                     {"max_seconds": 0}, {"direction": "sideways"}, {"continued_periods": 0}])
def test_cascade_options_are_validated(options):
    with pytest.raises(ParameterError):
        CascadeOptions(**options)


def test_estimate_format_shows_the_error():
    with mpmath.workdps(30):
        text = Estimate(mpmath.mpf(DELTA), mpmath.mpf("5.5e-10"), 9).format()
    assert text.startswith("4.669201609") and "+- 5.5e-10" in text


# -- the command line ----------------------------------------------------------------------------------------------

CLI_ARGS = ["cascade", "logistic", "--vary", "r", "--start", "2.8", "--flips", "6", "--dps", "30"]


def test_cli_cascade_json(capsys):
    status = main(CLI_ARGS + ["--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    report = json.loads(out)
    assert report["status"] == "complete"
    assert [f["period"] for f in report["flips"]] == [1, 2, 4, 8, 16, 32]
    with mpmath.workdps(CHECK_DPS):
        for flip in report["flips"]:
            assert isinstance(flip["value"], str) and flip["digits"] >= 30
        first, second = report["flips"][:2]
        assert abs(mpmath.mpf(first["value"]) - 3) <= mpmath.mpf(10) ** -first["digits"] * 3
        assert abs(mpmath.mpf(second["value"]) - 1 - mpmath.sqrt(6)) <= mpmath.mpf(10) ** -second["digits"] * 4
        assert len(report["ratios"]) == 4 and all(isinstance(r, str) for r in report["ratios"])
        assert abs(mpmath.mpf(report["ratios"][0]) - mpmath.mpf("4.7514462181782065490869")) < 1e-20
        for key, truth in (("delta", DELTA), ("accumulation", R_INF)):
            estimate = report[key]
            assert isinstance(estimate["value"], str) and isinstance(estimate["error"], str)
            # the value string is rounded to digits + 2 places: allow that rounding on top of the error
            rounding = mpmath.mpf(10) ** -(estimate["digits"] + 1) * 10
            assert abs(mpmath.mpf(estimate["value"]) - mpmath.mpf(truth)) <= mpmath.mpf(estimate["error"]) + rounding


def test_cli_cascade_human_output_and_progress(capsys):
    status = main(CLI_ARGS)
    out, err = capsys.readouterr()
    assert status == 0, err
    progress = [line for line in err.splitlines() if line.strip()]
    assert len(progress) == 6, err
    for k, line in enumerate(progress):
        assert re.match(rf"\s*flip {k + 1}: period\s+{2 ** k} at r = ", line), line
    assert "complete" in out and "delta" in out and "accumulation" in out
    assert "3.449489742783178098197" in out  # 1 + sqrt(6), as shown to a person


def test_cli_cascade_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "cascade.png"
    status = main(CLI_ARGS + ["--plot", str(path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(path) in out


@pytest.mark.parametrize("bad, mentions", [
    (["--vary", "q"], "q"),
    (["--flips", "0"], "flips"),
    (["--dps", "3"], "dps"),
])
def test_cli_cascade_bad_input(capsys, bad, mentions):
    args = ["cascade", "logistic", "--vary", "r", "--start", "2.8", "--flips", "3", "--dps", "20"]
    for flag, value in zip(bad[::2], bad[1::2]):
        args[args.index(flag) + 1] = value
    status = main(args)
    out, err = capsys.readouterr()
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dynsys-eos: error:") and mentions in lines[0], err
    assert out == ""
