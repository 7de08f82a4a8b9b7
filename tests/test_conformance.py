"""Conformance of every model, every update rule and every arithmetic context.

One interface (a bound map: ``value``, ``value_and_jacobian``,
``parameter_derivative``) and one test that every implementation passes
(DESIGN.md, style rule 9).  The known answers are independent of the code
under test:

* derivatives are checked against central finite differences of F computed in
  mpmath at 60 digits (step 1e-20: truncation error ~1e-40, rounding ~1e-40);
* each context is checked against mpmath at 80 digits; ball results must
  *contain* the 80-digit value and be tight;
* float64 batches are checked against single evaluations;
* for GD maps, DF = I - lr H with H the exact Hessian (from sympy);
* on random polynomial losses the DAG gradient and Hessian equal sympy's.
"""

import functools
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dynsys_eos.arith import HAVE_FLINT, MP, Ball, Float64
from dynsys_eos.functions import FULL_JACOBIAN_MAX
from dynsys_eos.loss import Loss
from dynsys_eos.maps import RULES
from dynsys_eos.models import CATALOGUE, build_model

R = sympy.Rational

# -- the models, rules and contexts under test ---------------------------------------------

STRUCTURES = [
    ("scalar-net", (("depth", 2),)),
    ("scalar-net", (("depth", 4),)),
    ("uv", (("n", 3), ("d", 2))),
    ("dmf", (("depth", 2), ("dim", 2))),
    ("dmf", (("depth", 3), ("dim", 2))),
    ("minimalist", ()),
    ("minimalist2", ()),
    ("logistic", ()),
    ("henon", ()),
]

MAPS = [
    (name, structure, rule)
    for name, structure in STRUCTURES
    for rule in (RULES if CATALOGUE[name].kind == "loss" else ["gd"])
]


def _map_id(key):
    name, structure, rule = key
    return "-".join([name] + [f"{k}{v}" for k, v in structure] + [rule])


MAP_PARAMS = [pytest.param(key, id=_map_id(key)) for key in MAPS]
LOSS_STRUCTURES = [(name, structure) for name, structure in STRUCTURES if CATALOGUE[name].kind == "loss"]

CONTEXTS = {
    "float64": Float64(),
    "mp40": MP(dps=40),
    "ball-flint": Ball(dps=40, backend="flint") if HAVE_FLINT else None,
    "ball-iv": Ball(dps=40, backend="iv"),
}



def _context_params():
    params = []
    for key in MAPS:
        for label, ctx in CONTEXTS.items():
            marks = []
            if label == "ball-flint" and not HAVE_FLINT:
                marks.append(pytest.mark.skip(reason="python-flint not installed"))
            params.append(pytest.param(key, label, id=f"{_map_id(key)}-{label}", marks=marks))
    return params


@functools.lru_cache(maxsize=None)
def get_map(key):
    name, structure, rule = key
    return build_model(name, rule=rule, **dict(structure))


def _dimension(key):
    name, structure, rule = key
    return get_map(key).dimension


def parameters_for(key):
    """Parameter overrides: Lstar below every loss value (so sqrt(L - Lstar) is defined) and nonzero."""
    return {"Lstar": R(-1, 100)} if key[2] == "sqrt" else {}


@functools.lru_cache(maxsize=None)
def state_for(key):
    """A rational state near the model's documented default state (velocities of hb made nonzero)."""
    m = get_map(key)
    state = []
    for i, v in enumerate(m.model.default_state()):
        near = Fraction(float(sympy.N(v, 30))).limit_denominator(1000)
        state.append(R(near.numerator, near.denominator) + R((-1) ** i * (i % 5 + 1), 200))
    return tuple(state)


def _mp(value):
    """An mpf at the current precision from a context number (float, mpf) without rounding a float."""
    return mpmath.mpf(value)


@functools.lru_cache(maxsize=None)
def reference(key):
    """F, DF and every dF/dp at the test state in mpmath at 80 digits (mpf arrays, kept at 80 digits)."""
    m = get_map(key)
    ctx = MP(dps=80)
    ev = m.bind(ctx, parameters_for(key))
    with ctx.scope():
        s = ctx.array(state_for(key))
        F, DF = ev.value_and_jacobian(s)
        dP = {p: ev.parameter_derivative(s, p) for p in m.parameter_names}
    return F, DF, dP


def bounds(ctx, ball):
    """The exact endpoints of a ball as mpf (read from the representation, no rounding)."""
    with mpmath.workdps(400):
        if ctx.backend == "flint":
            mid = mpmath.mpf(tuple(int(t) for t in ball.mid().man_exp()))
            rad = mpmath.mpf(tuple(int(t) for t in ball.rad().man_exp()))
            return mid - rad, mid + rad
        return mpmath.mpf(ball._mpi_[0]), mpmath.mpf(ball._mpi_[1])


def encloses(ctx, ball, value):
    """Whether the ball contains ``value`` (an 80-digit reference: allowed its own error of 1e-75)."""
    lo, hi = bounds(ctx, ball)
    with mpmath.workdps(400):
        value = mpmath.mpf(value)
        slack = mpmath.mpf(10) ** -75 * max(1, abs(value))
        return lo - slack <= value <= hi + slack


def relative_error(values, ref):
    """max |values - ref| / max(1, max |ref|), computed at 100 digits."""
    with mpmath.workdps(100):
        a = [_mp(v) for v in np.ravel(np.asarray(values, dtype=object))]
        b = [_mp(v) for v in np.ravel(np.asarray(ref, dtype=object))]
        assert len(a) == len(b)
        scale = max([mpmath.mpf(1)] + [abs(v) for v in b])
        return max(abs(x - y) for x, y in zip(a, b)) / scale


def test_every_catalogue_model_and_rule_is_covered():
    assert {name for name, _ in STRUCTURES} == set(CATALOGUE)
    assert {rule for _, _, rule in MAPS} == set(RULES)


# -- (a) and (c): derivatives against finite differences --------------------------------------

H_FD = R(1, 10**20)


def _finite_difference(m, state, parameters, name=None, index=None):
    """Central difference of F in MP(60): in state coordinate ``index`` or in parameter ``name``."""
    ctx = MP(dps=60)
    values = m.parameter_values(parameters)
    results = []
    for sign in (1, -1):
        if name is not None:
            shifted = dict(values)
            shifted[name] = sympy.sympify(values[name]) + sign * H_FD
            s = list(state)
        else:
            shifted = values
            s = list(state)
            s[index] = s[index] + sign * H_FD
        ev = m.bind(ctx, shifted)
        with ctx.scope():
            results.append(ev.value(ctx.array(s)))
    with mpmath.workdps(60):
        return [(a - b) / (2 * mpmath.mpf(H_FD.p) / H_FD.q) for a, b in zip(*results)]


@pytest.mark.parametrize("key", MAP_PARAMS)
def test_jacobian_matches_finite_differences(key):
    m, state, params = get_map(key), state_for(key), parameters_for(key)
    _, DF, _ = reference(key)
    columns = [_finite_difference(m, state, params, index=j) for j in range(m.dimension)]
    fd = [[columns[j][i] for j in range(m.dimension)] for i in range(m.dimension)]
    assert relative_error(DF, fd) < mpmath.mpf(10) ** -28


@pytest.mark.parametrize("key", MAP_PARAMS)
def test_parameter_derivatives_match_finite_differences(key):
    m, state, params = get_map(key), state_for(key), parameters_for(key)
    _, _, dP = reference(key)
    assert set(dP) == set(m.parameter_names) and dP
    for name in m.parameter_names:
        fd = _finite_difference(m, state, params, name=name)
        assert relative_error(dP[name], fd) < mpmath.mpf(10) ** -28, name


def test_finite_difference_check_can_fail():
    """The derivative check detects a wrong Jacobian (a transposed one, for a non-symmetric DF)."""
    key = ("henon", (), "gd")
    _, DF, _ = reference(key)
    m = get_map(key)
    columns = [_finite_difference(m, state_for(key), {}, index=j) for j in range(2)]
    fd = [[columns[j][i] for j in range(2)] for i in range(2)]
    assert relative_error(DF.T, fd) > mpmath.mpf(10) ** -3


# -- preconditions of the update rules at the chosen states -------------------------------------

def _loss_and_gradient(key):
    m = get_map(key)
    n = m.loss.dimension
    ctx = MP(dps=50)
    values = {p: v for p, v in m.parameter_values(parameters_for(key)).items() if p in m.loss.parameter_names}
    with ctx.scope():
        s = ctx.array(state_for(key)[:n])
        L = m.loss.value_function().compile(ctx).bind(values).value(s)[0]
        g = m.loss.gradient_function().compile(ctx).bind(values).value(s)
        return L, max(abs(v) for v in g)


@pytest.mark.parametrize("key", [p for p in MAP_PARAMS if p.values[0][2] in ("ngd", "sqrt")])
def test_states_are_in_the_domain_of_the_rule(key):
    L, gradient = _loss_and_gradient(key)
    if key[2] == "ngd":
        assert gradient > mpmath.mpf(10) ** -3
    else:
        assert L - parameters_for(key)["Lstar"] > mpmath.mpf(10) ** -3


# -- (b): the contexts agree ---------------------------------------------------------------------

TOLERANCE = {"float64": 1e-12, "mp40": mpmath.mpf(10) ** -35}


@pytest.mark.parametrize("key,label", _context_params())
def test_contexts_agree(key, label):
    ctx = CONTEXTS[label]
    m = get_map(key)
    F_ref, DF_ref, dP_ref = reference(key)
    ev = m.bind(ctx, parameters_for(key))
    state = state_for(key)
    with ctx.scope():
        s = np.array([float(v) for v in state]) if ctx.kind == "float64" else ctx.array(state)
        F = ev.value(s)
        F2, DF = ev.value_and_jacobian(s)
        dP = {p: ev.parameter_derivative(s, p) for p in m.parameter_names}
        assert F.shape == (m.dimension,) and DF.shape == (m.dimension, m.dimension)
        if ctx.kind == "ball":
            pairs = [(F, F_ref), (F2, F_ref), (DF, DF_ref)] + [(dP[p], dP_ref[p]) for p in dP]
            for got, ref in pairs:
                for ball, exact in zip(np.ravel(got), np.ravel(ref)):
                    assert encloses(ctx, ball, exact), (ball, exact)
                    # tight: a ball that contains everything proves nothing
                    with mpmath.workdps(100):
                        assert ctx.radius(ball) <= mpmath.mpf(10) ** -30 * max(1, abs(exact))
            return
    if ctx.kind == "float64":
        # the state was rounded to float64: compare with MP(80) at the rounded state,
        # which the float64 arithmetic is asked to reproduce
        F_ref, DF_ref, dP_ref = _reference_at_float_state(key)
    tol = TOLERANCE[label]
    assert relative_error(F, F_ref) < tol
    assert relative_error(F2, F_ref) < tol
    assert relative_error(DF, DF_ref) < tol
    for p in m.parameter_names:
        assert relative_error(dP[p], dP_ref[p]) < tol, p


@functools.lru_cache(maxsize=None)
def _reference_at_float_state(key):
    m = get_map(key)
    ctx = MP(dps=80)
    ev = m.bind(ctx, parameters_for(key))
    with ctx.scope():
        s = np.array([mpmath.mpf(float(v)) for v in state_for(key)], dtype=object)
        F, DF = ev.value_and_jacobian(s)
        dP = {p: ev.parameter_derivative(s, p) for p in m.parameter_names}
    return F, DF, dP


def test_ball_containment_check_can_fail():
    """The enclosure check rejects a ball evaluated at a state 1e-25 away (and accepts the right one)."""
    if not HAVE_FLINT:
        pytest.skip("python-flint not installed")
    key = ("logistic", (), "gd")
    ctx = CONTEXTS["ball-flint"]
    F_ref, _, _ = reference(key)
    with ctx.scope():
        other = ctx.array([state_for(key)[0] + R(1, 10**25)])
        ball = get_map(key).bind(ctx).value(other)[0]
        assert not encloses(ctx, ball, F_ref[0])
        assert encloses(ctx, get_map(key).bind(ctx).value(ctx.array(state_for(key)))[0], F_ref[0])


# -- (d): float64 vectorization ------------------------------------------------------------------

@pytest.mark.parametrize("key", MAP_PARAMS)
def test_float64_batch_equals_single_evaluations(key):
    m = get_map(key)
    ev = m.bind(Float64(), parameters_for(key))
    base = np.array([float(v) for v in state_for(key)])
    rng = np.random.default_rng(12345)
    B = 6
    batch = base[:, None] + 0.01 * rng.standard_normal((m.dimension, B))
    F = ev.value(batch)
    F2, DF = ev.value_and_jacobian(batch)
    name = m.parameter_names[-1]
    dP = ev.parameter_derivative(batch, name)
    assert F.shape == (m.dimension, B)
    assert DF.shape == (m.dimension, m.dimension, B)
    assert dP.shape == (m.dimension, B)
    for b in range(B):
        single = batch[:, b].copy()
        f1 = ev.value(single)
        f2, df = ev.value_and_jacobian(single)
        dp = ev.parameter_derivative(single, name)
        for got, want in [(F[:, b], f1), (F2[:, b], f2), (DF[:, :, b], df), (dP[:, b], dp)]:
            # the same generated code runs on arrays and on scalars, but numpy's array kernels (SIMD pow,
            # sqrt, reciprocal) may differ from the scalar ones by an ulp, and the cancellation in
            # L - Lstar or w1 w2 - 1 amplifies that: the two must agree within the float64 accuracy
            # the contexts test demands (1e-12 of the largest entry); a batching error (a wrong column,
            # a mixed-up state) is of the size of the perturbation, 1e-2
            scale = max(1.0, float(np.max(np.abs(want))))
            np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE["float64"] * scale)


# -- GD maps: DF = I - lr H, symmetric -------------------------------------------------------------

@pytest.mark.parametrize("name,structure", LOSS_STRUCTURES, ids=[_map_id((n, s, "gd"))[:-3] for n, s in LOSS_STRUCTURES])
def test_gd_jacobian_is_identity_minus_lr_hessian(name, structure):
    key = (name, structure, "gd")
    m = get_map(key)
    assert m.symmetric is True
    assert m.rule == "gd"
    state = state_for(key)
    values = m.parameter_values()
    lr = sympy.sympify(values["lr"])
    # the exact Hessian from sympy (independent of the DAG), at the exact state
    at = dict(zip(m.loss.state_names, state))
    at.update({p: values[p] for p in m.loss.parameter_names})
    for ctx, tol in [(MP(dps=40), mpmath.mpf(10) ** -35), (Float64(), 1e-13)]:
        with ctx.scope():
            s = ctx.array(state)
            DF = m.bind(ctx).jacobian(s)
            H = m.loss.gradient_function().compile(ctx).bind(values).jacobian(s)
            expected = ctx.identity(m.dimension) - ctx.number(lr) * H
        assert relative_error(DF, expected) < tol
        assert relative_error(DF, DF.T) < tol
    # the DAG Hessian equals the exact one, evaluated exactly then rounded
    ctx = MP(dps=40)
    with ctx.scope():
        H = m.loss.gradient_function().compile(ctx).bind(values).jacobian(ctx.array(state))
    exact = sympy.hessian(m.loss.expr, m.loss.state).xreplace(
        {s: sympy.sympify(at[s.name]) for s in m.loss.state + m.loss.parameters})
    with mpmath.workdps(60):
        exact_mp = np.array([[mpmath.mpf(sympy.N(v, 60)._mpf_) if v != 0 else mpmath.mpf(0) for v in row]
                             for row in exact.tolist()], dtype=object)
    assert relative_error(H, exact_mp) < mpmath.mpf(10) ** -35
    if m.dimension <= 4:  # small models: DF is also symmetric symbolically
        DF_sym = m.jacobian_sympy()
        assert (DF_sym - DF_sym.T).applyfunc(sympy.simplify) == sympy.zeros(m.dimension)


@pytest.mark.parametrize("name,structure", LOSS_STRUCTURES, ids=[_map_id((n, s, "hb"))[:-3] for n, s in LOSS_STRUCTURES])
def test_heavy_ball_jacobian_is_not_symmetric(name, structure):
    """The flag is not set for heavy ball, and rightly: DF = [[I - lr H, beta I], [-lr H, beta I]]."""
    key = (name, structure, "hb")
    m = get_map(key)
    assert m.symmetric is False
    ctx = MP(dps=40)
    n = m.dimension // 2
    values = m.parameter_values()
    with ctx.scope():
        s = ctx.array(state_for(key))
        DF = m.bind(ctx).jacobian(s)
        H = m.loss.gradient_function().compile(ctx).bind(values).jacobian(s[:n])
        lr, beta = ctx.number(values["lr"]), ctx.number(values["beta"])
        eye = ctx.identity(n)
        expected = np.block([[eye - lr * H, beta * eye], [-lr * H, beta * eye]])
    assert relative_error(DF, expected) < mpmath.mpf(10) ** -35
    assert relative_error(DF, DF.T) > mpmath.mpf(10) ** -3


@pytest.mark.parametrize("name,structure", LOSS_STRUCTURES, ids=[_map_id((n, s, "sqrt"))[:-5] for n, s in LOSS_STRUCTURES])
def test_sqrt_rule_is_a_gradient_map(name, structure):
    """GD on sqrt(L - Lstar) is GD on a function: its DF is symmetric at every state."""
    key = (name, structure, "sqrt")
    m = get_map(key)
    ctx = MP(dps=40)
    with ctx.scope():
        DF = m.bind(ctx, parameters_for(key)).jacobian(ctx.array(state_for(key)))
    assert relative_error(DF, DF.T) < mpmath.mpf(10) ** -35


# -- random polynomial losses: DAG derivatives equal sympy's ----------------------------------------

X, Y, A = sympy.symbols("x y a", real=True)
MONOMIALS = [X**i * Y**j for i in range(5) for j in range(5 - i)]
coefficient = st.fractions(min_value=-5, max_value=5, max_denominator=7)


def _polynomial(coefficients, a_power):
    expr = sum((sympy.Rational(c.numerator, c.denominator) * mono for c, mono in zip(coefficients, MONOMIALS)),
               sympy.Integer(0))
    return expr + A * X**a_power * Y


@settings(max_examples=25, deadline=None)
@given(st.lists(coefficient, min_size=len(MONOMIALS), max_size=len(MONOMIALS)), st.integers(0, 3))
@example([Fraction(0)] * len(MONOMIALS), 0)
@example([Fraction(1)] * len(MONOMIALS), 3)
@example([Fraction(-5, 7)] + [Fraction(0)] * (len(MONOMIALS) - 2) + [Fraction(3)], 2)
def test_polynomial_loss_derivatives_equal_sympy(coefficients, a_power):
    expr = _polynomial(coefficients, a_power)
    loss = Loss(expr, [X, Y], [A])
    gradient = loss.gradient_sympy()
    assert len(gradient) == 2
    for got, var in zip(gradient, (X, Y)):
        assert sympy.simplify(got - sympy.diff(expr, var)) == 0
    difference = loss.hessian_sympy() - sympy.hessian(expr, (X, Y))
    assert difference.applyfunc(sympy.simplify) == sympy.zeros(2)


# -- Ball.contains ---------------------------------------------------------------------------------

@pytest.mark.parametrize("label,q", [
    pytest.param("ball-flint", R(3, 200)),
    pytest.param("ball-flint", R(1, 3)),
    pytest.param("ball-flint", R(7, 10)),
    pytest.param("ball-flint", R(5)),
    pytest.param("ball-iv", R(3, 200)),
    pytest.param("ball-iv", R(1, 3)),
    pytest.param("ball-iv", R(7, 10)),
    pytest.param("ball-iv", R(5)),
])
def test_ball_contains_the_exact_number_it_encloses(label, q):
    ctx = CONTEXTS[label]
    if ctx is None:
        pytest.skip("python-flint not installed")
    with ctx.scope():
        ball = ctx.number(q)
        with mpmath.workdps(80):
            value = mpmath.mpf(q.p) / q.q
        assert encloses(ctx, ball, value)  # the independent check says that it does
        assert ctx.contains(ball, q)
        assert ctx.contains(ball, value)
        assert not ctx.contains(ball, value + mpmath.mpf(10) ** -30)


@pytest.mark.parametrize("label", [
    "ball-flint",
    "ball-iv",
])
def test_ball_contains_every_reference_value(label):
    """``ctx.contains`` on the F and DF balls of every conformance map (dimension <= 12): all contained."""
    ctx = CONTEXTS[label]
    if ctx is None:
        pytest.skip("python-flint not installed")
    missed = []
    for key in MAPS:
        if _dimension(key) > FULL_JACOBIAN_MAX:
            continue
        F_ref, DF_ref, _ = reference(key)
        ev = get_map(key).bind(ctx, parameters_for(key))
        with ctx.scope():
            F, DF = ev.value_and_jacobian(ctx.array(state_for(key)))
            balls = list(np.ravel(F)) + list(np.ravel(DF))
            exact = list(np.ravel(F_ref)) + list(np.ravel(DF_ref))
            missed += [(_map_id(key), b) for b, v in zip(balls, exact) if not ctx.contains(b, v)]
    assert not missed, missed[:5]
