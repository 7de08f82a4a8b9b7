"""Known-answer tests of dynsys_eos.thresholds.critical_learning_rate.

The answers are closed forms from the literature and from the Hessian at the
flattest minimum, derived by hand:

* scalar network (w_L ... w_1 - sigma)^2 / 2: at w_i = sigma^(1/L) the Hessian
  is g g^T with |g|^2 = L sigma^(2 - 2/L), so lr_c = 2 / (L sigma^(2 - 2/L));
* UV model (Kalra, He, Barkeshli): lr_c = sqrt(n) / (|x| |y|);
* minimalist 1/2 (1 - xyzw)^2 and 1/4 (1 - x^2 y^2)^2 (Zhu et al.): sharpness 4
  at the all-ones minimum, lr_c = 1/2;
* heavy ball: lr_c = 2 (1 + beta) / lambda_max;
* deep matrix factorization with M = diag(sigmas): as the scalar network with
  sigma = max(sigmas): depth 2, sigmas (3, 1) gives 2 / (2 * 3).
"""

import mpmath
import pytest
import sympy

from dynsys_eos.errors import ParameterError, ThresholdError
from dynsys_eos.loss import Loss
from dynsys_eos.maps import make_map
from dynsys_eos.models import build_model
from dynsys_eos.thresholds import ThresholdResult, critical_learning_rate

R = sympy.Rational
mpf = mpmath.mpf
DPS = 40


def exact(value):
    """A test constant as an exact sympy number."""
    return sympy.Rational(value) if isinstance(value, str) else sympy.Integer(value)


def signed_symbol(name, value):
    return sympy.Symbol(name, positive=True) if value > 0 else sympy.Symbol(name, negative=True)


def check_value(result, closed_form_value, dps=DPS):
    """The value agrees with the closed form to the digits reported, and (for exact kinds) to dps digits."""
    assert isinstance(result, ThresholdResult)
    assert result.parameter == "lr"
    with mpmath.workdps(dps + 30):
        want = mpf(sympy.N(closed_form_value, dps + 30)._mpf_)
        error = abs(mpf(result.value) - want) / abs(want)
        assert error <= mpf(10) ** -(result.digits - 1)  # honest
        if result.kind in ("closed-form", "algebraic"):
            assert result.digits >= dps
            assert error <= mpf(10) ** -dps


def check_expression(result, closed_form, substitution):
    """The returned expression equals the closed form: symbolically when it has symbols, and at the values."""
    expression = result.expression
    assert expression is not None
    if expression.free_symbols:
        by_name = {s.name: s for s in closed_form.free_symbols}
        for s in expression.free_symbols:  # the parameters, each with the sign of its value
            assert s == by_name[s.name], (s, s.assumptions0)
        assert sympy.simplify(expression - closed_form) == 0
    assert sympy.simplify(expression.xreplace(substitution) - closed_form.xreplace(substitution)) == 0


# -- scalar network ----------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [2, 3, 4, 5])
@pytest.mark.parametrize("sigma", [1, 2, "1/2"])
def test_scalar_network(depth, sigma):
    result = critical_learning_rate(build_model("scalar-net", depth=depth, sigma=sigma), dps=DPS)
    s = sympy.Symbol("sigma", positive=True)
    closed = 2 / (depth * s ** (2 - R(2, depth)))
    value = closed.xreplace({s: exact(sigma)})
    assert result.kind == "closed-form"
    check_value(result, value)
    check_expression(result, closed, {s: exact(sigma)})
    # the flattest minimum and its sharpness
    with mpmath.workdps(60):
        root = mpf(sympy.N(exact(sigma) ** R(1, depth), 70)._mpf_)
        assert all(abs(mpf(sympy.N(w, 70)._mpf_) - root) < mpf(10) ** -50 for w in result.minimum)
        sharpness = mpf(sympy.N(depth * exact(sigma) ** (2 - R(2, depth)), 70)._mpf_)
        assert abs(result.sharpness - sharpness) < mpf(10) ** -35 * sharpness


def test_parameter_overrides():
    result = critical_learning_rate(build_model("scalar-net", depth=3), parameters={"sigma": 8}, dps=DPS)
    check_value(result, R(2, 3) / 8 ** R(4, 3))  # 1/24
    with mpmath.workdps(DPS + 10):
        assert abs(result.value - mpf(1) / 24) < mpf(10) ** -DPS


# -- UV model ------------------------------------------------------------------------------------

UV_CASES = [(n, y, 1, ("3/5",)) for n in (1, 2, 4, 9) for y in (2, -3, "1/2")]
UV_CASES += [(n, y, 2, ("3/5", "4/5")) for n in (1, 9) for y in (2, -3, "1/2")]
UV_CASES += [(2, 2, 2, ("3/5", "4/5")), (2, -3, 2, ("3/5", "4/5")), (4, "1/2", 2, ("3/5", "4/5"))]
UV_CASES += [(1, -3, 2, (1, 2)), (2, "1/2", 2, (1, 2)), (4, -3, 2, (1, 2)), (9, 2, 2, (1, 2))]


@pytest.mark.parametrize("n,y,d,x", UV_CASES, ids=[f"n{c[0]}-y{c[1]}-x{'_'.join(map(str, c[3]))}" for c in UV_CASES])
def test_uv_model(n, y, d, x):
    given = {f"x{j + 1}": v for j, v in enumerate(x)}
    m = build_model("uv", n=n, d=d, y=y, **given)
    # sympy's eigenvalues of a 6x6 or 10x10 symbolic Hessian take tens of seconds before giving up:
    # allow one second per exact attempt there (the value must still be right to DPS digits)
    time_limit = 1.0 if d == 2 and n in (2, 4) else 20.0
    result = critical_learning_rate(m, dps=DPS, time_limit=time_limit)
    xs = [signed_symbol(f"x{j + 1}", exact(v)) for j, v in enumerate(x)]
    ys = signed_symbol("y", exact(y))
    closed = sympy.sqrt(n) / (sympy.sqrt(sum(v**2 for v in xs)) * abs(ys))
    substitution = {s: exact(v) for s, v in zip(xs + [ys], list(x) + [y])}
    value = closed.xreplace(substitution)
    check_value(result, value)
    if result.kind == "closed-form":
        check_expression(result, closed, substitution)
    if n * d + n <= 12 and time_limit >= 20:  # small enough for the exact paths, given the time (not timing-dependent)
        assert result.kind in ("closed-form", "algebraic")


# -- minimalist models, heavy ball, deep matrix factorization -----------------------------------------

@pytest.mark.parametrize("name", ["minimalist", "minimalist2"])
def test_minimalist_models(name):
    result = critical_learning_rate(build_model(name), dps=DPS)
    assert result.kind == "closed-form"
    check_value(result, R(1, 2))
    assert sympy.simplify(result.expression - R(1, 2)) == 0
    assert result.rule == "gd"


@pytest.mark.parametrize("name,beta", [("minimalist", "9/10"), ("minimalist", "0"), ("minimalist2", "1/2")])
def test_heavy_ball(name, beta):
    result = critical_learning_rate(build_model(name, rule="hb", beta=beta), dps=DPS)
    b = exact(beta)
    check_value(result, 2 * (1 + b) / 4)
    assert result.rule == "hb"
    assert sympy.simplify(result.expression.xreplace({s: b for s in result.expression.free_symbols if s.name == "beta"})
                          - 2 * (1 + b) / 4) == 0


def test_heavy_ball_with_beta_9_10_is_19_20():
    result = critical_learning_rate(build_model("minimalist", rule="hb", beta="9/10"), dps=DPS)
    check_value(result, R(19, 20))


@pytest.mark.parametrize("depth,sigmas,closed", [
    (2, "3,1", R(2, 2 * 3)),
    (2, "1,3", R(2, 2 * 3)),  # the largest singular value decides, wherever it sits
    (3, "2,1", 2 / (3 * sympy.Integer(2) ** R(4, 3))),
])
def test_deep_matrix_factorization(depth, sigmas, closed):
    result = critical_learning_rate(build_model("dmf", depth=depth, dim=2, sigmas=sigmas), dps=DPS)
    check_value(result, closed)


# -- a user's loss at a given point -----------------------------------------------------------------

@pytest.mark.parametrize("text,parameters,at,closed", [
    # H = [[1, 1], [1, 1]] + [[2, -2], [-2, 2]]: eigenvalues 4, 2
    ("(x*y - 1)**2/2 + (x - y)**2", "", [1, 1], R(1, 2)),
    # H = g g^T, g = (y, x) = (1/2, 2): lambda = 17/4
    ("(x*y - 1)**2/2", "", ["2", "0.5"], R(8, 17)),
    ("(x*y - a)**2/2", "a=2", [2, 1], R(2, 5)),
    # H = diag(2, 6) at (0, 0)
    ("x**2 + 3*y**2 + x**3*y", "", [0, 0], R(1, 3)),
], ids=["coupled", "off-balance", "with-parameter", "quadratic"])
def test_user_loss_at_a_point(text, parameters, at, closed):
    loss = Loss.from_strings(text, "x,y", parameters)
    result = critical_learning_rate(make_map(loss, "gd", lr="1/10"), at=at, dps=DPS)
    check_value(result, closed)
    assert sympy.simplify(result.expression - closed) == 0


def test_nearly_critical_point_caps_the_digits():
    """A point 1e-20 from a minimum gives the nearby minimum's threshold, with honest (fewer) digits."""
    loss = Loss.from_strings("(x*y - 1)**2/2", "x,y")
    result = critical_learning_rate(make_map(loss, "gd", lr="1/10"), at=["2", "0.50000000000000000001"], dps=DPS)
    assert result.digits < DPS
    with mpmath.workdps(60):
        # the thresholds of the minima near (2, 1/2) differ from 8/17 by about the distance, 1e-20
        assert abs(result.value - mpf(8) / 17) <= mpf(10) ** -(result.digits - 1)
        assert result.digits >= 15


# -- errors -----------------------------------------------------------------------------------------

def test_raw_map_is_a_threshold_error():
    with pytest.raises(ThresholdError):
        critical_learning_rate(build_model("logistic"))


@pytest.mark.parametrize("rule", ["ngd", "sqrt"])
def test_rules_without_fixed_minima_are_threshold_errors(rule):
    with pytest.raises(ThresholdError):
        critical_learning_rate(build_model("minimalist2", rule=rule))


@pytest.mark.parametrize("at", [["1.2", "0.9"], [0, 1], ["1", "2"]])
def test_non_critical_point_is_a_threshold_error(at):
    with pytest.raises(ThresholdError):
        critical_learning_rate(build_model("minimalist2"), at=at)


@pytest.mark.parametrize("text", ["x**2 - y**2", "-(x**2 + y**2)", "x**2 - y**2/4 + y**4"])
def test_critical_point_that_is_not_a_minimum_is_a_threshold_error(text):
    with pytest.raises(ThresholdError):
        critical_learning_rate(make_map(Loss.from_strings(text, "x,y"), "gd", lr="1/10"), at=[0, 0])


def test_bad_point_and_parameters_are_parameter_errors():
    m = build_model("minimalist2")
    with pytest.raises(ParameterError):
        critical_learning_rate(m, at=["1"])
    with pytest.raises(ParameterError):
        critical_learning_rate(m, parameters={"nonexistent": 1})


def test_the_time_limit_survives_a_swallowed_interrupt():
    # the first interrupt lands where it is swallowed (as in a gc callback); the limit must still end the work
    import time

    from dynsys_eos.thresholds import _time_limit, _TimeUp

    swallowed, start = 0, time.perf_counter()
    with pytest.raises(_TimeUp):
        with _time_limit(0.05):
            while time.perf_counter() - start < 5:
                try:
                    while time.perf_counter() - start < 5:
                        pass
                except _TimeUp:
                    swallowed += 1
                    if swallowed > 1:
                        raise
    assert swallowed == 2 and time.perf_counter() - start < 1
