"""Continuation, detection, location at high precision, normal forms and branch switching.

Known answers come from closed forms: the logistic flips r = 3 and
1 + sqrt(6), the fold of x -> x + mu - x^2 at mu = 0, the Neimark-Sacker
point of the delayed logistic map at a = 2, the Henon flip at
a = 3 (1 - b)^2 / 4, and GD flips at lr = 2 / lambda_max(H).
"""

import dataclasses

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dynsys_eos.arith import MP
from dynsys_eos.bifurcation import locate, locate_all, switch
from dynsys_eos.continuation import ContinuationOptions, ContinuationProblem, continue_branch
from dynsys_eos.continuation.manifold import branch_manifold_dimension
from dynsys_eos.continuation.palc import OrbitSystem
from dynsys_eos.errors import ContinuationError, ParameterError
from dynsys_eos.linalg import eigvals
from dynsys_eos.maps import raw_map
from dynsys_eos.models import build_model
from dynsys_eos.orbits import OrbitOptions, find_orbit

x, y, mu, a = sympy.symbols("x y mu a")


def _branch(m, period, parameter, guess, start, low, high, **options):
    problem = ContinuationProblem.from_guess(m, period, parameter, guess, {parameter: start})
    return continue_branch(problem, options=ContinuationOptions(p_min=low, p_max=high, **options))


def _only(points, kind):
    found = [p for p in points if p.kind == kind]
    assert len(found) == 1, [p.kind for p in points]
    return found[0]


def _close(value, exact, digits):
    with mpmath.workdps(digits + 20):
        assert abs(value - exact) <= mpmath.mpf(10) ** (-digits) * max(1, abs(exact))


def test_logistic_flips_to_100_digits():
    b1 = _branch(build_model("logistic"), 1, "r", ["0.6"], "2.5", 2.5, 3.3)
    flip1 = _only(locate_all(b1, 100), "flip")
    assert flip1.status == "located" and flip1.digits >= 100
    _close(flip1.value, 3, 100)
    b2 = _branch(build_model("logistic"), 2, "r", ["0.5"], "3.2", 3.1, 3.6)
    flip2 = _only(locate_all(b2, 100), "flip")
    assert flip2.digits >= 100
    with mpmath.workdps(130):
        _close(flip2.value, 1 + mpmath.sqrt(6), 100)


def test_logistic_flip_normal_form_is_supercritical_with_c_9():
    """At r = 3: f'' = -6, f''' = 0, so c = 1/2 * B(q, (I - A)^-1 B(q, q)) = 1/2 * (-6) * (-3) = 9."""
    b = _branch(build_model("logistic"), 1, "r", ["0.6"], "2.5", 2.5, 3.3)
    flip = _only(locate_all(b, 40), "flip")
    _close(flip.coefficient, 9, 30)
    assert flip.criticality == "supercritical"


@pytest.mark.parametrize("sign, criticality", [(1, "supercritical"), (-1, "subcritical")])
def test_cubic_flip_criticality(sign, criticality):
    """x -> -(1 + mu) x + s x^3 has c = s at mu = 0 (B = 0, C = 6 s)."""
    m = raw_map([-(1 + mu) * x + sign * x**3], [x], [mu], {"mu": "-1/2"})
    b = _branch(m, 1, "mu", ["0"], "-1/2", -0.5, 0.5)
    flip = _only(locate_all(b, 40), "flip")
    _close(flip.value, 0, 40)
    _close(flip.coefficient, sign, 30)
    assert flip.criticality == criticality


def test_fold_of_x_plus_mu_minus_x_squared():
    m = raw_map([x + mu - x**2], [x], [mu], {"mu": 1})
    b = _branch(m, 1, "mu", ["1"], "1", -1.0, 1.0)
    fold = _only(locate_all(b, 60), "fold")
    assert fold.status == "located" and fold.digits >= 60
    _close(fold.value, 0, 60)
    _close(fold.orbit[0][0], 0, 29)  # x = sqrt(mu): half the digits of mu (a square root at the fold)
    _close(fold.coefficient, -1, 30)  # a = B(q,q)/2 = -2/2


def test_neimark_sacker_of_delayed_logistic_at_a_2():
    """x' = a x (1 - y), y' = x: fixed point (1 - 1/a, 1 - 1/a), det DF = a - 1 = 1 at a = 2, angle pi/3."""
    m = raw_map([a * x * (1 - y), x], [x, y], [a], {"a": "1.8"})
    b = _branch(m, 1, "a", ["0.44", "0.44"], "1.8", 1.5, 2.2)
    ns = _only(locate_all(b, 50), "ns")
    assert ns.status == "located" and ns.digits >= 50
    _close(ns.value, 2, 50)
    with mpmath.workdps(80):
        _close(abs(ns.angle), mpmath.pi / 3, 45)


def test_henon_flip():
    b = _branch(build_model("henon"), 1, "a", ["0.6", "0.2"], "1", 0.0, 1.4)
    flip = _only(locate_all(b, 50), "flip")
    _close(flip.value, sympy.Rational(3, 4) * sympy.Rational(7, 10) ** 2, 50)


@pytest.mark.parametrize("name, structure, start, high, sharpness", [
    ("minimalist2", {}, "0.4", 0.7, 4),
    ("scalar-net", {"depth": 3}, "0.5", 0.8, 3),
    ("scalar-net", {"depth": 4, "sigma": 2}, "0.1", 0.3, 4 * sympy.Integer(2) ** sympy.Rational(3, 2)),
])
def test_gd_minimum_flips_at_2_over_lambda_max(name, structure, start, high, sharpness):
    m = build_model(name, **structure)
    b = _branch(m, 1, "lr", m.model.flattest_minimum(), start, float(start), high)
    assert b.manifold_dimension >= 1  # the minima form a manifold: continued across it, no singular solve
    flip = _only(locate_all(b, 50), "flip")
    assert flip.status == "located"
    with mpmath.workdps(70):
        _close(flip.value, 2 / mpmath.mpf(sympy.N(sharpness, 80)), 45)


def test_gd_flip_equals_two_over_lambda_at_the_minimum_reached():
    """From a non-flattest start the branch sits on another minimum: the flip is 2/lambda_max of ITS Hessian."""
    m = build_model("uv", n=3)
    b = _branch(m, 1, "lr", m.model.default_state(), "0.3", 0.3, 1.5)
    flip = _only(locate_all(b, 40), "flip")
    ctx = MP(dps=60)
    with ctx.scope():
        values = {k: v for k, v in m.parameter_values().items() if k in m.loss.parameter_names}
        H = m.loss.gradient_function().compile(ctx).bind(values).jacobian(ctx.array(flip.orbit[0]))
        top = eigvals(ctx, (H + H.T) / 2, symmetric=True)[0]
        _close(flip.value, 2 / top, 35)


def test_uv_two_cycle_flip_found_by_switching():
    m = build_model("uv", n=4)
    b1 = _branch(m, 1, "lr", m.model.flattest_minimum(), "0.5", 0.5, 1.6)
    flip1 = _only(locate_all(b1, 40), "flip")
    _close(flip1.value, 1, 40)  # lr_c = sqrt(n) / (|x| |y|) = 1
    assert flip1.criticality == "supercritical"
    b2 = continue_branch(switch(b1, flip1), options=ContinuationOptions(p_min=0.5, p_max=1.6, direction="forward"))
    assert b2.problem.period == 2
    flip2 = _only(locate_all(b2, 40), "flip")
    assert flip2.status == "located" and flip2.digits >= 40 and 1 < flip2.value < 1.6
    # the located point really has a multiplier -1: solve the period-2 orbit just before and after it
    with mpmath.workdps(80):  # form lr -+ 1e-20 without rounding it to double precision
        below, above = flip2.value - mpmath.mpf("1e-20"), flip2.value + mpmath.mpf("1e-20")
    before = find_orbit(m, 2, [list(flip2.orbit[0])], {"lr": below}, OrbitOptions(dps=40))
    after = find_orbit(m, 2, [list(flip2.orbit[0])], {"lr": above}, OrbitOptions(dps=40))
    assert before.stable is True and after.stable is False


@pytest.fixture(scope="module")
def uv_two_cycle():
    """The uv (n = 4) period-2 branch switched at the flip lr = 1 of the flattest minimum."""
    m = build_model("uv", n=4)
    options = ContinuationOptions(p_min=0.5, p_max=1.6, direction="forward")
    b1 = _branch(m, 1, "lr", m.model.flattest_minimum(), "0.5", 0.5, 1.6, direction="forward")
    flip1 = _only(locate_all(b1, 40), "flip")
    return continue_branch(switch(b1, flip1), options=options)


def test_switched_uv_two_cycle_has_manifold_dimension_3_and_flips_at_sqrt5_minus_1(uv_two_cycle):
    """Regression: the start, ~1e-6 from the flip, has 4 extra singular values ~1e-12 (7 null directions);
    the branch lies on a 3-dimensional manifold (U = v rotated: a sphere S^3) and flips at sqrt(5) - 1."""
    b2 = uv_two_cycle
    start = b2.points[b2.start_index]
    _, J, _ = OrbitSystem(b2.problem).evaluate(np.append(start.orbit.ravel(), start.parameter))
    singular = np.linalg.svd(J, compute_uv=False)
    assert int(np.sum(singular < b2.options.manifold_tolerance * singular[0])) == 7  # the start alone says 7
    assert b2.manifold_dimension == 3
    assert all(len(p.multipliers) == 8 - 3 for p in b2.points)  # the start too
    assert start.stable and max(abs(v) for v in start.multipliers) < 1
    flip = _only(locate_all(b2, 100), "flip")
    assert flip.status == "located" and flip.digits >= 100 and "capped" not in flip.message
    with mpmath.workdps(130):
        _close(flip.value, mpmath.sqrt(5) - 1, 100)


def test_locate_caps_digits_when_the_manifold_dimension_is_too_large(uv_two_cycle):
    """With 7 slack directions instead of 3, Newton solves G + L mu = 0 with mu ~ 1e-17, not G = 0, at both
    precisions: the digits must be capped by |mu|, not reported as 110."""
    wrong = locate(dataclasses.replace(uv_two_cycle, manifold_dimension=7), uv_two_cycle.detections[0], dps=100)
    assert wrong.status == "located" and wrong.digits <= 20 and "capped" in wrong.message
    with mpmath.workdps(130):
        assert abs(wrong.value - (mpmath.sqrt(5) - 1)) > mpmath.mpf(10) ** -100  # it really is off


@pytest.mark.parametrize("name, structure, start, high, dimension", [
    ("uv", {"n": 2}, "0.5", 2.0, 1),  # U = v on a circle
    ("uv", {"n": 3}, "0.5", 2.0, 2),  # ... on a 2-sphere
    ("minimalist2", {}, "0.4", 1.0, 0),  # GD commutes with isometries only: no manifold of 2-cycles
    ("scalar-net", {"depth": 3}, "0.5", 1.2, 0),
])
def test_switched_two_cycle_manifold_dimension(name, structure, start, high, dimension):
    """Every switched 2-cycle starts next to a minimum's manifold (1 to 5 extra null directions there)."""
    m = build_model(name, **structure)
    b1 = _branch(m, 1, "lr", m.model.flattest_minimum(), start, float(start), high, direction="forward")
    assert b1.manifold_dimension >= 1
    flip1 = _only(locate_all(b1, 30), "flip")
    b2 = continue_branch(switch(b1, flip1),
                         options=ContinuationOptions(p_min=float(start), p_max=high, direction="forward"))
    assert b2.manifold_dimension == dimension
    assert all(len(p.multipliers) == m.dimension - dimension for p in b2.points)
    flip2 = [p for p in locate_all(b2, 30) if p.kind == "flip"][0]
    assert flip2.status == "located" and flip2.digits >= 30
    # checked independently: the orbit solved at the located value has a multiplier -1 to those digits
    orbit = find_orbit(m, 2, [list(flip2.orbit[0])], {"lr": flip2.value}, OrbitOptions(dps=30))
    closest = min(orbit.multipliers, key=lambda v: abs(v + 1))
    with mpmath.workdps(50):
        assert abs(closest + 1) <= mpmath.mpf(10) ** -25


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 6), agree=st.integers(1, 12), extras=st.lists(st.integers(1, 5), max_size=11),
       order=st.randoms())
@example(m=3, agree=1, extras=[4], order=None)  # the switched uv start: 7 once, 3 once
def test_branch_dimension_outvotes_extra_null_directions(m, agree, extras, order):
    """Extra null directions near a bifurcation (at fewer points than agree, or as many) never raise the count."""
    extras = extras[:agree]
    counts = [m] * agree + [m + e for e in extras]
    if order is not None:
        order.shuffle(counts)
    assert branch_manifold_dimension(counts) == m
    assert branch_manifold_dimension([]) == 0


def test_logistic_cascade_by_switching():
    b = _branch(build_model("logistic"), 1, "r", ["0.6"], "2.8", 2.8, 3.56, direction="forward")
    values = []
    for _ in range(3):
        flip = _only(locate_all(b, 30), "flip")
        values.append(flip.value)
        b = continue_branch(switch(b, flip), options=ContinuationOptions(p_min=2.8, p_max=3.56, direction="forward"))
    _close(values[0], 3, 30)
    with mpmath.workdps(40):
        _close(values[1], 1 + mpmath.sqrt(6), 30)
    assert values[0] < values[1] < values[2] < 3.5699456  # below the accumulation point


def test_branch_point_switching_logistic_transcritical():
    """x = 0 and x = 1 - 1/r cross at r = 1: detected as a branch point; switching follows x = 1 - 1/r."""
    b = _branch(build_model("logistic"), 1, "r", ["0"], "0.5", 0.5, 1.5)
    point = _only(locate_all(b, 30), "branch")
    other = continue_branch(switch(b, point), options=ContinuationOptions(p_min=0.5, p_max=2.5))
    for p in other.points:
        assert abs(p.orbit[0, 0] - (1 - 1 / p.parameter)) < 1e-8


def test_statuses_bounds_and_divergence():
    m = raw_map([x + mu - x**2], [x], [mu], {"mu": 1})
    b = _branch(m, 1, "mu", ["1"], "1", -1.0, 4.0, max_norm=1.5)
    assert b.status["forward"] in ("diverged", "reached-bound")
    assert set(b.status.values()) <= {"diverged", "reached-bound"}
    assert "diverged" in b.status.values()  # x = sqrt(mu) passes 1.5 before mu = 4
    assert max(abs(p.orbit).max() for p in b.points) <= 1.5


def test_bad_problems_raise_typed_errors():
    m = build_model("logistic")
    with pytest.raises(ParameterError, match="cannot vary 'q'"):
        ContinuationProblem.from_guess(m, 1, "q", ["0.5"], {"r": "2.5"})
    with pytest.raises(ContinuationError):
        ContinuationProblem.from_guess(raw_map([x + mu - x**2], [x], [mu], {"mu": -1}), 1, "mu", ["1"], {"mu": "-1"})
    with pytest.raises(ParameterError):
        ContinuationOptions(ds=0.5, ds_max=0.1)
    with pytest.raises(ParameterError):
        ContinuationOptions(p_min=2, p_max=1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r0=st.floats(min_value=2.2, max_value=2.9), span=st.floats(min_value=0.3, max_value=0.7))
@example(r0=2.5, span=0.6)
def test_forward_then_backward_returns_to_start(r0, span):
    m = build_model("logistic")
    forward = _branch(m, 1, "r", ["0.6"], repr(r0), r0, r0 + span, direction="forward")
    end = forward.points[-1]
    back_problem = ContinuationProblem(m, 1, "r", end.parameter, end.orbit, {}, origin="end of forward run")
    back = continue_branch(back_problem, options=ContinuationOptions(p_min=r0, p_max=r0 + span, direction="backward"))
    final = back.points[0]
    assert abs(final.parameter - r0) < 1e-12
    assert abs(final.orbit[0, 0] - forward.points[0].orbit[0, 0]) < 1e-9


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(b_value=st.sampled_from(["0.1", "0.2", "0.3", "-0.3"]), dps=st.sampled_from([30, 60]))
@example(b_value="0.3", dps=30)
def test_located_flip_has_multiplier_minus_one_to_its_digits(b_value, dps):
    m = build_model("henon", b=b_value)
    b = _branch(m, 1, "a", ["0.5", "0.1"], "0.1", 0.0, 1.4)
    flip = _only(locate_all(b, dps), "flip")
    assert flip.digits >= dps
    orbit = find_orbit(m, 1, [list(flip.orbit[0])], {"a": flip.value}, OrbitOptions(dps=dps))
    closest = min(orbit.multipliers, key=lambda v: abs(v + 1))
    with mpmath.workdps(dps + 20):
        assert abs(closest + 1) <= mpmath.mpf(10) ** (-(dps - 5))
    np.testing.assert_allclose(float(flip.value), 0.75 * (1 - float(b_value)) ** 2, rtol=1e-12)
