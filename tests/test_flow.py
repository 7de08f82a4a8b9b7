"""Gradient flow (dynsys_eos.flow, dynsys_eos.taylor) and the laws/flow CLI subcommands.

Closed forms: L = x^2/2 (x = x0 e^-t), L = x^4/4 (x = x0 / sqrt(1 + 2 x0^2 t)),
L = log cosh x (sinh x = sinh x0 e^-t), L = cos x (tan(x/2) = tan(x0/2) e^t).
The error each result reports must bound its actual error.
"""

import json

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dynsys_eos.cli import main
from dynsys_eos.errors import ModelError, ParameterError
from dynsys_eos.flow import FlowOptions, integrate_flow, law_drift
from dynsys_eos.laws import known_laws
from dynsys_eos.loss import Loss
from dynsys_eos.models import build_model

FAST = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
x = sympy.Symbol("x", real=True)

CLOSED_FORMS = [
    ("x**2/2", x**2 / 2, lambda x0, t: x0 * mpmath.exp(-t)),
    ("x**4/4", x**4 / 4, lambda x0, t: x0 / mpmath.sqrt(1 + 2 * x0**2 * t)),
    ("log cosh", sympy.log(sympy.cosh(x)), lambda x0, t: mpmath.asinh(mpmath.sinh(x0) * mpmath.exp(-t))),
    ("cos", sympy.cos(x), lambda x0, t: 2 * mpmath.atan(mpmath.tan(x0 / 2) * mpmath.exp(t))),
]


@pytest.mark.parametrize("label, expr, exact", CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_taylor_flow_matches_closed_forms_within_its_error_estimate(label, expr, exact):
    result = integrate_flow(Loss(expr, [x]), ["0.7"], "1.5", options=FlowOptions(method="taylor", dps=40))
    with mpmath.workdps(80):
        true = exact(mpmath.mpf(7) / 10, mpmath.mpf(3) / 2)
        actual = abs(mpmath.mpf(result.state[0]) - true)
    assert result.success and result.digits >= 38
    assert actual <= result.error, (label, actual, result.error)


@pytest.mark.parametrize("method", ["LSODA", "Radau", "DOP853"])
def test_float64_flow_error_estimate_bounds_the_actual_error(method):
    result = integrate_flow(Loss(x**4 / 4, [x]), ["1.3"], 2, options=FlowOptions(method=method))
    true = 1.3 / np.sqrt(1 + 2 * 1.3**2 * 2)
    assert result.success and result.digits >= 8
    assert abs(result.state[0] - true) <= result.error


def test_dense_output_agrees_with_an_integration_to_the_middle():
    m = build_model("minimalist2")
    full = integrate_flow(m, ["1.2", "0.9"], 2, options=FlowOptions(method="taylor", dps=25))
    half = integrate_flow(m, ["1.2", "0.9"], 1, options=FlowOptions(method="taylor", dps=25))
    middle = full.sol(1)
    assert max(abs(a - b) for a, b in zip(middle, half.state)) <= full.error + half.error
    float_run = integrate_flow(m, ["1.2", "0.9"], 2)
    assert np.max(np.abs(float_run.sol(1.0) - np.array([float(v) for v in half.state]))) < 1e-8


def test_taylor_and_float64_agree_on_dmf():
    m = build_model("dmf", depth=3, dim=2)
    start = m.model.default_state()
    taylor = integrate_flow(m, start, 1, options=FlowOptions(method="taylor", dps=20))
    lsoda = integrate_flow(m, start, 1)
    gap = max(abs(float(a) - b) for a, b in zip(taylor.state, lsoda.state))
    assert gap <= lsoda.error + float(taylor.error)


# -- conservation along the flow (hypothesis) --------------------------------------------------------

@FAST
@given(depth=st.integers(2, 4), sigma=st.fractions("1/2", "2").map(str),
       start=st.lists(st.fractions("1/2", "3/2").map(str), min_size=4, max_size=4))
@example(depth=3, sigma="1", start=["11/10", "1", "9/10", "1"])
def test_scalar_net_laws_are_conserved_by_the_flow_within_tolerance(depth, sigma, start):
    m = build_model("scalar-net", depth=depth, sigma=sigma)
    laws = known_laws("scalar-net", m.model.loss.state, m.model.structure)
    result = integrate_flow(m, start[:depth], 2)
    assert result.success
    for drift in law_drift(result, laws):
        assert drift.drift <= drift.tolerance, drift


@FAST
@given(dim=st.integers(1, 2), seed=st.integers(0, 1000), method=st.sampled_from(["LSODA", "taylor"]))
@example(dim=2, seed=0, method="taylor")
def test_dmf_balancedness_is_conserved_by_the_flow_within_tolerance(dim, seed, method):
    rng = np.random.default_rng(seed)
    m = build_model("dmf", depth=3, dim=dim)
    start = [str(round(v, 3)) for v in rng.uniform(-1, 1, m.dimension) + np.tile(np.eye(dim).ravel(), 3)]
    laws = known_laws("dmf", m.model.loss.state, m.model.structure)
    result = integrate_flow(m, start, "0.5", options=FlowOptions(method=method, dps=20))
    assert result.success
    for drift in law_drift(result, laws):
        assert drift.drift <= drift.tolerance, drift


# -- errors ---------------------------------------------------------------------------------------------------

def test_bad_input_is_a_typed_error():
    loss = Loss(x**2 / 2, [x])
    with pytest.raises(ParameterError, match="valid: LSODA"):
        FlowOptions(method="euler")
    with pytest.raises(ParameterError, match="positive"):
        integrate_flow(loss, ["1"], 0)
    with pytest.raises(ParameterError, match="1 variables"):
        integrate_flow(loss, ["1", "2"], 1)
    with pytest.raises(ModelError, match="no recurrence for tan"):
        integrate_flow(Loss(sympy.tan(x), [x]), ["0.1"], 1, options=FlowOptions(method="taylor"))
    with pytest.raises(ModelError, match="no loss"):
        integrate_flow(build_model("logistic"), ["0.5"], 1)


def test_step_limit_is_a_status():
    result = integrate_flow(Loss(x**2 / 2, [x]), ["1"], 50, options=FlowOptions(method="taylor", dps=20, max_steps=2))
    assert not result.success and result.status == "max-steps"


# -- CLI ---------------------------------------------------------------------------------------------------------

def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_laws_json_has_count_laws_complete(capsys):
    status, out, err = run(capsys, "laws", "uvt", "--param", "n=3", "--param", "m=3", "--param", "r=2", "--json")
    data = json.loads(out)
    assert status == 0 and data["count"] == 3 and data["complete"] is True and len(data["laws"]) == 3
    assert "exact rank over the rationals" in data["rank_method"]


def test_cli_laws_text_and_fixed_parameters(capsys):
    status, out, err = run(capsys, "laws", "scalar-net", "--param", "depth=4")
    assert status == 0 and "count: 3 independent law(s)" in out and "w1**2 - w4**2" in out
    status, out, err = run(capsys, "laws", "dmf", "--param", "sigmas=3,1", "--json")
    data = json.loads(out)
    assert data["held_symbolic"] == [] and sorted(data["fixed"]) == ["sigma1", "sigma2"]


def test_cli_flow_reports_state_error_and_drift(capsys):
    status, out, err = run(capsys, "flow", "minimalist2", "--time", "2", "--dps", "20", "--json")
    data = json.loads(out)
    assert status == 0 and data["digits"] >= 20 and data["laws"][0]["law"] == "x**2 - y**2"
    assert float(data["laws"][0]["drift"]) <= float(data["laws"][0]["expected"])
    status, out, err = run(capsys, "flow", "--loss", "(x*y-1)**2/2", "--vars", "x,y", "--guess", "2,0.5",
                           "--time", "1", "--method", "LSODA")
    assert status == 0 and "x**2 - y**2" in out and "significant digits by the error estimate" in out
    status, out, err = run(capsys, "flow", "--loss", "log(cosh(x))", "--vars", "x", "--guess", "0.7", "--time", "1")
    assert status == 0 and "not searched" in out and "polynomial" in out


@pytest.mark.parametrize("argv, culprit", [
    (["laws", "logistic"], "not a loss"),
    (["laws", "minimalist", "--degree", "0"], "degree"),
    (["flow", "minimalist", "--time", "-1"], "positive"),
    (["flow", "minimalist", "--time", "1", "--method", "euler"], "euler"),
    (["flow", "--loss", "x**2", "--vars", "x", "--time", "1"], "--guess"),
    (["laws", "uvt", "--param", "q=1"], "q"),
])
def test_cli_user_mistakes_exit_2_with_one_line(capsys, argv, culprit):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and len(err.splitlines()) == 1 and culprit in err, err
