"""Tests of the ``dynsys-eos`` command (dynsys_eos.cli).

Almost everything runs ``dynsys_eos.cli.main(argv)`` in-process (stdout and
stderr through ``capsys``, the return value is the exit status); two tests
run the command in a subprocess, one for a successful analysis and one for
an error.

The contract tested (cli.py docstring, docs/design "Reliability"):

* a user's mistake: exit status 2, exactly one line ``dynsys-eos: error: ...``
  on stderr naming the culprit, nothing on stdout, no traceback;
* a numerical method that did not converge: exit status 1 with a status line;
* JSON numbers with more than 15 significant digits are decimal strings;
* user strings are never evaluated as code.
"""

import json
import re
import subprocess
import sys
import warnings

import mpmath
import pytest

from dynsys_eos.cli import main

#: The built-in models named in the README.
README_MODELS = ("scalar-net", "minimalist", "minimalist2", "uv", "dmf", "logistic", "henon")


# -- helpers -----------------------------------------------------------------------------------

def run(capsys, *argv):
    """Run the command in-process: (exit status, stdout, stderr)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *argv, expect=0):
    status, out, err = run(capsys, *argv, "--json")
    assert status == expect, (status, out, err)
    return json.loads(out)


def assert_usage_error(status, out, err, *culprits):
    """Exit 2, one 'dynsys-eos: error:' line naming every culprit, empty stdout, no traceback."""
    assert status == 2, (status, out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dynsys-eos: error:"), err
    for culprit in culprits:
        assert culprit in lines[0], (culprit, lines[0])


def significant_digits(number):
    """Significant digits in the shortest repr of a JSON float."""
    mantissa = repr(float(number)).lower().lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.strip("0")) or 1


def long_floats(document, where="$"):
    """Paths of the JSON floats with more than 15 significant digits."""
    if isinstance(document, float):
        return [f"{where}={document!r}"] if significant_digits(document) > 15 else []
    if isinstance(document, dict):
        return [p for k, v in document.items() for p in long_floats(v, f"{where}.{k}")]
    if isinstance(document, list):
        return [p for i, v in enumerate(document) for p in long_floats(v, f"{where}[{i}]")]
    return []


def assert_close_to_digits(text, exact, digits):
    """The decimal string ``text`` equals ``exact`` to ``digits`` significant digits (one unit in the last place).

    ``exact`` is an int, an mpf computed at enough precision, or a string
    ``"p/q"`` (evaluated here at digits + 30).
    """
    with mpmath.workdps(digits + 30):
        if isinstance(exact, str):
            numerator, _, denominator = exact.partition("/")
            exact = mpmath.mpf(numerator) / mpmath.mpf(denominator or 1)
        exact = mpmath.mpf(exact)
        got = mpmath.mpf(text)
        unit = mpmath.mpf(10) ** (mpmath.floor(mpmath.log10(abs(exact))) - digits + 1) if exact else mpmath.mpf(10) ** -digits
        assert abs(got - exact) <= unit, (text, mpmath.nstr(exact, digits + 5), digits)


# -- the helpers themselves ------------------------------------------------------------------

def test_long_float_detector():
    assert long_floats({"a": [2.5, 3.6, 1e-300, 123456789012345.0]}) == []
    assert long_floats({"a": [0.24996627727017132]}) == ["$.a[0]=0.24996627727017132"]
    assert long_floats({"a": {"b": 2.546924789580267}})  # 16 digits


# -- analyze ------------------------------------------------------------------------------------

def test_analyze_default_model_is_uv(capsys):
    status, out, err = run(capsys, "analyze", "--dps", "20")
    assert status == 0, err
    assert "analysis of uv" in out
    assert "lr* = 2/(x1*y)" in out  # the exact threshold
    assert "the chosen lr = 11/10 is above it" in out
    assert "period-2 orbit" in out
    assert "Traceback" not in err


def test_analyze_json(capsys):
    report = run_json(capsys, "analyze", "--dps", "20")
    assert report["model"] == "uv (gd)"
    assert report["parameters"]["lr"] == "11/10"
    assert report["threshold"]["expression"] == "2/(x1*y)"
    assert_close_to_digits(report["threshold"]["value"], 1, report["threshold"]["digits"])  # 2/(1*2)
    assert report["attractor_period"] == 2
    assert report["orbit"]["period"] == 2 and report["orbit"]["status"] == "converged"
    assert report["orbit"]["stable"] is True
    assert report["minimum"]["stable"] is False  # lr above the threshold: the minimum is unstable
    assert len(report["sharpness"]) == 2 and all(isinstance(s, str) for s in report["sharpness"])
    assert long_floats(report) == []


# -- models -------------------------------------------------------------------------------------

def test_models_human(capsys):
    from dynsys_eos.models import CATALOGUE

    status, out, err = run(capsys, "models")
    assert status == 0 and err == ""
    assert set(README_MODELS) <= set(CATALOGUE)
    for spec in CATALOGUE.values():
        line = next((l for l in out.splitlines() if l.strip().startswith(spec.name + " ")), None)
        assert line is not None, spec.name
        for p in spec.parameters:
            assert f"{p.name}={p.default}" in out, (spec.name, p.name)
    for rule in ("gd", "ngd", "sqrt", "hb"):
        assert re.search(rf"^\s+{rule}\s", out, re.M), rule


def test_models_json(capsys):
    from dynsys_eos.models import CATALOGUE

    document = run_json(capsys, "models")
    models = {m["name"]: m for m in document["models"]}
    assert set(models) == set(CATALOGUE)
    assert set(README_MODELS) <= set(models)
    for name, spec in CATALOGUE.items():
        listed = models[name]["parameters"]
        assert [p["name"] for p in listed] == [p.name for p in spec.parameters]
        assert all(isinstance(p["default"], str) and isinstance(p["doc"], str) for p in listed)
        assert models[name]["kind"] in ("loss", "map")
    assert models["scalar-net"]["parameters"][0] == {
        "name": "depth", "default": "3", "doc": models["scalar-net"]["parameters"][0]["doc"], "structural": True}
    assert {r["name"] for r in document["rules"]} == {"gd", "ngd", "sqrt", "hb"}
    assert long_floats(document) == []


# -- orbit --------------------------------------------------------------------------------------

def test_orbit_logistic_period_two_closed_form(capsys):
    result = run_json(capsys, "orbit", "logistic", "--period", "2", "--param", "r=3.2")
    assert {"period", "points", "multipliers", "stable", "digits", "status"} <= set(result)
    assert result["period"] == 2 and result["minimal_period"] == 2
    assert result["status"] == "converged" and result["stable"] is True
    assert result["parameters"] == {"r": "16/5"}
    digits = result["digits"]
    assert digits >= 50  # --dps defaults to 50
    with mpmath.workdps(digits + 30):
        r = mpmath.mpf(16) / 5
        root = mpmath.sqrt((r - 3) * (r + 1))
        exact = sorted([(r + 1 - root) / (2 * r), (r + 1 + root) / (2 * r)])
    points = sorted(result["points"], key=lambda p: mpmath.mpf(p[0]))
    for (text,), value in zip(points, exact):
        assert isinstance(text, str)
        assert len(text.replace("0.", "", 1).replace(".", "")) >= 15
        assert_close_to_digits(text, value, digits)
    (multiplier,) = result["multipliers"]  # 4 + 2r - r^2 = 0.16
    assert isinstance(multiplier, str)
    assert abs(mpmath.mpf(multiplier) - mpmath.mpf("0.16")) <= mpmath.mpf(10) ** -result["multiplier_digits"]
    assert long_floats(result) == []
    # no number with more than 15 digits may be a JSON float: look at the raw text too
    raw = json.dumps(result)
    assert not re.search(r"(?<![\"\w.])\d+\.\d{15,}(?![\"\w])", raw)


def test_orbit_human(capsys):
    status, out, err = run(capsys, "orbit", "logistic", "--period", "2", "--param", "r=16/5", "--dps", "30")
    assert status == 0, err
    assert "status: converged" in out
    assert "x0: x=0.513044509532629999794124" in out
    assert "stability: stable" in out


def test_orbit_user_map_period_four(capsys):
    result = run_json(capsys, "orbit", "--map", "a*x*(1-x)", "--vars", "x", "--params", "a=3.5",
                      "--period", "4", "--guess", "0.5", "--dps", "30")
    assert result["model"] == "user map"
    assert result["parameters"] == {"a": "7/2"}
    assert result["period"] == 4 and result["minimal_period"] == 4
    assert result["status"] == "converged" and result["stable"] is True
    digits = result["digits"]
    with mpmath.workdps(digits + 20):
        xs = [mpmath.mpf(p[0]) for p in result["points"]]
        for i in range(4):  # the points form a cycle of the map
            image = mpmath.mpf(7) / 2 * xs[i] * (1 - xs[i])
            assert abs(image - xs[(i + 1) % 4]) <= mpmath.mpf(10) ** (2 - digits)
    assert sorted(round(float(x), 5) for x in xs) == [0.38282, 0.50088, 0.82694, 0.875]


def test_orbit_user_loss_with_lr_in_params(capsys):
    result = run_json(capsys, "orbit", "--loss", "(x*y - 1)**2/2", "--vars", "x,y", "--params", "lr=1.1",
                      "--period", "2", "--guess", "1.2,0.8", "--warmup", "500", "--dps", "30")
    assert result["model"] == "user loss (gd)"
    assert result["parameters"] == {"lr": "11/10"}
    assert result["period"] == 2 and result["minimal_period"] == 2 and result["status"] == "converged"
    digits = result["digits"]
    with mpmath.workdps(digits + 20):
        lr = mpmath.mpf(11) / 10
        pts = [[mpmath.mpf(v) for v in p] for p in result["points"]]
        for i in range(2):  # one GD step maps each point to the next
            x, y = pts[i]
            e = x * y - 1
            step = [x - lr * e * y, y - lr * e * x]
            for a, b in zip(step, pts[(i + 1) % 2]):
                assert abs(a - b) <= mpmath.mpf(10) ** (2 - digits)


def test_orbit_user_loss_with_user_parameter(capsys):
    # a parameter of the loss and lr, both in --params; --param overrides a declared value
    result = run_json(capsys, "orbit", "--loss", "(a*x*y - 1)**2/2", "--vars", "x,y", "--params", "a=1,lr=1/10",
                      "--param", "a=2", "--guess", "1,0.4", "--dps", "20")
    assert result["parameters"] == {"a": "2", "lr": "1/10"}
    assert result["status"] == "converged"
    ((x, y),) = [[mpmath.mpf(v) for v in p] for p in result["points"]]
    assert abs(2 * x * y - 1) < mpmath.mpf(10) ** -15  # a minimum: a x y = 1


def test_orbit_rule_hb_on_a_loss(capsys):
    result = run_json(capsys, "orbit", "--loss", "(x*y - 1)**2/2", "--vars", "x,y", "--params", "lr=1/2,beta=1/2",
                      "--rule", "hb", "--guess", "1.2,0.8,0,0", "--dps", "30")
    assert result["model"] == "user loss (hb)"
    assert result["parameters"] == {"beta": "1/2", "lr": "1/2"}
    assert result["status"] == "converged" and result["stable"] is True
    ((x, y, vx, vy),) = [[mpmath.mpf(v) for v in p] for p in result["points"]]
    assert abs(x * y - 1) < mpmath.mpf(10) ** -25 and abs(vx) < 1e-25 and abs(vy) < 1e-25
    assert result["isolated"] is False and result["manifold_dimension"] == 1  # the valley xy = 1
    assert len(result["multipliers"]) == 4


def test_orbit_complex_multipliers_carry_the_digits_claimed(capsys):
    # heavy ball at a minimum: each complex pair solves mu^2 - c mu + beta = 0, so |mu|^2 = beta exactly
    result = run_json(capsys, "orbit", "--loss", "(x*y - 1)**2/2", "--vars", "x,y", "--params", "lr=1/2,beta=1/2",
                      "--rule", "hb", "--guess", "1.2,0.8,0,0", "--dps", "40")
    places = result["multiplier_digits"]
    assert places >= 40
    complex_pair = [m for m in result["multipliers"] if m.endswith("j")
                    and mpmath.mpf(re.split(r"(?<=\d)[+-]", m)[1].rstrip("j")) != 0]
    assert len(complex_pair) == 2
    with mpmath.workdps(places + 20):
        for text in complex_pair:
            real, imag = re.match(r"^(-?[\d.]+)([+-][\d.]+)j$", text).groups()
            modulus2 = mpmath.mpf(real) ** 2 + mpmath.mpf(imag) ** 2
            # got: |mu|^2 - 1/2 about 1e-17 (the imaginary part is a float64)
            assert abs(modulus2 - mpmath.mpf(1) / 2) <= mpmath.mpf(10) ** (2 - places)


def test_orbit_newton_not_converging_exits_one(capsys):
    # x -> x^2 + 1 has no real fixed point
    status, out, err = run(capsys, "orbit", "--map", "x*x + 1", "--vars", "x", "--guess", "0")
    assert status == 1
    assert "status: not-converged" in out and "did not converge" in out
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["dynsys-eos: the computation did not succeed (see status above)"]
    result = run_json(capsys, "orbit", "--map", "x*x + 1", "--vars", "x", "--guess", "0", expect=1)
    assert result["status"] == "not-converged" and result["digits"] == 0


def test_orbit_overflow_is_reported_not_crashed(capsys):
    # exp(exp(50)) overflows float64: the status says so and the exit status is non-zero
    status, out, err = run(capsys, "orbit", "--map", "exp(exp(x))", "--vars", "x", "--guess", "50")
    assert status == 1
    assert "status: diverged" in out and "not finite" in out
    assert "Traceback" not in err
    assert "dynsys-eos: the computation did not succeed" in err
    result = run_json(capsys, "orbit", "--map", "exp(exp(x))", "--vars", "x", "--guess", "50", expect=1)
    assert result["status"] == "diverged"


def test_orbit_overflow_during_warmup(capsys):
    status, out, err = run(capsys, "orbit", "logistic", "--param", "r=5", "--guess", "0.5", "--warmup", "100")
    assert status != 0
    assert out == ""
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("dynsys-eos: error:") and "not finite" in err


def test_orbit_overflow_emits_no_numpy_warning(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, out, err = run(capsys, "orbit", "--map", "exp(exp(x))", "--vars", "x", "--guess", "50")
    assert status == 1
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


# -- threshold ----------------------------------------------------------------------------------

def test_threshold_scalar_net_closed_form(capsys):
    import sympy

    result = run_json(capsys, "threshold", "scalar-net", "--param", "depth=4", "--param", "sigma=2")
    assert result["kind"] == "closed-form" and result["parameter"] == "lr" and result["rule"] == "gd"
    sigma = sympy.Symbol("sigma", positive=True)
    expression = sympy.sympify(result["expression"], locals={"sigma": sigma})  # our own output, not user input
    assert sympy.simplify(expression - 1 / (2 * sigma ** sympy.Rational(3, 2))) == 0
    digits = result["digits"]
    assert digits >= 50
    with mpmath.workdps(digits + 20):
        assert_close_to_digits(result["value"], 2 / (4 * mpmath.mpf(2) ** 1.5), digits)
    assert long_floats(result) == []

    status, out, err = run(capsys, "threshold", "scalar-net", "--param", "depth=4", "--param", "sigma=2")
    assert status == 0, err
    assert "lr* = 1/(2*sigma**(3/2))" in out
    assert "lr* = 0.176776695296636881100211..." in out


def test_threshold_uv_n9(capsys):
    # lr* = sqrt(n) / (|x| |y|) = sqrt(9) / (1 * 2) = 1.5
    result = run_json(capsys, "threshold", "uv", "--param", "n=9")
    # (the 18-dimensional state is above SYMBOLIC_MAX_DIMENSION, so the value may come out numerically)
    assert result["kind"] in ("closed-form", "algebraic", "numeric")
    assert result["digits"] >= 45
    assert_close_to_digits(result["value"], "3/2", result["digits"])
    assert_close_to_digits(result["sharpness"], "4/3", result["digits"])


def test_threshold_user_loss_at_point(capsys):
    result = run_json(capsys, "threshold", "--loss", "(x*y - 1)**2/2", "--vars", "x,y", "--at", "1,1")
    assert result["expression"] == "1"  # lambda_max = x^2 + y^2 = 2
    assert_close_to_digits(result["value"], 1, result["digits"])


def test_threshold_user_loss_with_params(capsys):
    # at (1, 1/2) with a = 2: a x y = 1, lambda_max = a^2 (x^2 + y^2) = 5, so lr* = 2/5; lr is not needed
    result = run_json(capsys, "threshold", "--loss", "(a*x*y - 1)**2/2", "--vars", "x,y", "--params", "a=2,lr=1",
                      "--at", "1,1/2")
    assert_close_to_digits(result["value"], "2/5", result["digits"])
    assert_close_to_digits(result["sharpness"], 5, result["digits"])


def test_threshold_rule_hb(capsys):
    # heavy ball: lr* = 2 (1 + beta) / lambda_max = 3 / 2 at (1, 1)
    result = run_json(capsys, "threshold", "--loss", "(x*y - 1)**2/2", "--vars", "x,y", "--params", "beta=1/2",
                      "--rule", "hb", "--at", "1,1")
    assert result["rule"] == "hb"
    assert_close_to_digits(result["value"], "3/2", result["digits"])


# -- continue -----------------------------------------------------------------------------------

CONTINUE_LOGISTIC = ("continue", "logistic", "--vary", "r", "--from", "2.5", "--to", "3.6")


def test_continue_logistic_json(capsys):
    result = run_json(capsys, *CONTINUE_LOGISTIC)
    assert {"branch", "points"} <= set(result)
    branch = result["branch"]
    assert isinstance(branch["points"], int) and branch["points"] > 5
    low, high = branch["parameter_range"]  # float64 values written exactly as decimal strings
    assert float(low) == pytest.approx(2.5) and float(high) == pytest.approx(3.6)
    assert branch["status"]["forward"] == "reached-bound"
    flips = [p for p in result["points"] if p["kind"] == "flip"]
    assert len(flips) == 1
    (flip,) = flips
    assert flip["status"] == "located"
    digits = flip["digits"]
    assert digits >= 50
    assert_close_to_digits(flip["value"], 3, digits)
    ((state,),) = flip["state"]
    assert_close_to_digits(state, "2/3", digits)  # the fixed point 1 - 1/r at r = 3
    assert_close_to_digits(flip["coefficient"], 9, flip["coefficient_digits"])
    assert flip["criticality"] == "supercritical"
    assert long_floats(result) == []


def test_continue_human(capsys):
    status, out, err = run(capsys, *CONTINUE_LOGISTIC, "--dps", "30")
    assert status == 0, err
    assert "flip   at r = 3.00000000000000000000000..." in out
    assert "supercritical" in out


def test_continue_json_has_no_long_floats_when_stopped_early(capsys):
    result = run_json(capsys, *CONTINUE_LOGISTIC, "--max-steps", "3")
    assert result["branch"]["status"]["forward"] == "max-steps"
    assert long_floats(result) == []


def test_continue_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "diagram.png"
    status, out, err = run(capsys, *CONTINUE_LOGISTIC, "--plot", str(path), "--dps", "20")
    assert status == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"figure written to {path}" in out


def test_continue_graph_round_trip(capsys, tmp_path):
    from dynsys_eos.graph import BifurcationGraph

    path = tmp_path / "graph.json"
    status, out, err = run(capsys, *CONTINUE_LOGISTIC, "--graph", str(path), "--dps", "20")
    assert status == 0, err
    assert f"bifurcation graph (JSON) written to {path}" in out
    text = path.read_text()
    graph = BifurcationGraph.from_json(text)
    assert graph.to_json() == text
    assert graph.nodes("branch") == ["B0"]
    (point,) = graph.points_on("B0")
    record = graph.graph.nodes[point]
    assert record["kind"] == "flip"
    assert_close_to_digits(record["value"], 3, 20)


def test_continue_graph_unwritable_path(capsys, tmp_path):
    path = tmp_path / "no-such-dir" / "graph.json"
    assert_usage_error(*run(capsys, *CONTINUE_LOGISTIC, "--graph", str(path), "--dps", "15"), str(path))


def test_continue_plot_unwritable_path(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "no-such-dir" / "diagram.png"
    assert_usage_error(*run(capsys, *CONTINUE_LOGISTIC, "--plot", str(path), "--dps", "15"), str(path))


# -- bad input ----------------------------------------------------------------------------------

BAD_INPUT = {
    "unknown model": (["analyze", "nosuch"], ["nosuch", *README_MODELS]),
    "unknown parameter": (["orbit", "logistic", "--param", "q=3"], ["q", "valid: r"]),
    "non-integer structural parameter": (["analyze", "uv", "--param", "n=2.5"], ["n", "integer", "2.5"]),
    "malformed --param": (["analyze", "uv", "--param", "n"], ["--param", "NAME=VALUE", "'n'"]),
    "malformed --params": (["orbit", "--map", "a*x", "--vars", "x", "--params", "a", "--guess", "1"], ["'='", "a"]),
    "undeclared symbol": (["threshold", "--loss", "x*y", "--vars", "x"], ["undeclared", "'y'"]),
    "undeclared symbol in a map component": (["orbit", "--map", "x/2;y", "--vars", "x", "--guess", "1"],
                                             ["component 2", "'y'"]),
    "--loss and a model": (["threshold", "logistic", "--loss", "x**2", "--vars", "x"], ["--loss", "logistic"]),
    "--loss and --map": (["orbit", "--loss", "x**2", "--map", "x", "--vars", "x"], ["--loss", "--map"]),
    "--loss without --vars": (["orbit", "--loss", "x**2"], ["--vars"]),
    "--map with --rule ngd": (["orbit", "--map", "x*x", "--vars", "x", "--rule", "ngd", "--guess", "0.5"],
                              ["--rule", "--map"]),
    "unknown rule": (["orbit", "--loss", "x**2", "--vars", "x", "--rule", "bogus", "--params", "lr=1", "--guess", "1"],
                     ["bogus", "gd"]),
    "rule on a raw model": (["orbit", "logistic", "--rule", "hb"], ["logistic", "hb"]),
    "threshold on a raw map": (["threshold", "logistic"], ["raw map"]),
    "threshold of rule ngd": (["threshold", "--loss", "x**2", "--vars", "x", "--rule", "ngd", "--at", "0"], ["ngd"]),
    "threshold at a non-critical point": (["threshold", "--loss", "(x*y-1)**2/2", "--vars", "x,y", "--at", "2,2"],
                                          ["not a critical point"]),
    "threshold without a minimum": (["threshold", "--loss", "(x*y-1)**2/2", "--vars", "x,y"], ["--at"]),
    "--at of the wrong length": (["threshold", "--loss", "(x*y-1)**2/2", "--vars", "x,y", "--at", "1"], ["--at", "2"]),
    "--guess of the wrong length": (["orbit", "logistic", "--guess", "0.1,0.2"], ["guess", "2"]),
    "user map without --guess": (["orbit", "--map", "x/2", "--vars", "x"], ["--guess"]),
    "--dps 0": (["analyze", "--dps", "0"], ["--dps", "0"]),
    "--dps too large": (["orbit", "logistic", "--dps", "100001"], ["--dps", "100001"]),
    "negative --warmup": (["analyze", "--warmup", "-1"], ["--warmup", "-1"]),
    "--period 0": (["orbit", "logistic", "--period", "0"], ["--period", "0"]),
    "continue --period 0": ([*CONTINUE_LOGISTIC, "--period", "0"], ["--period", "0"]),
    "continue --from equal to --to": (["continue", "logistic", "--vary", "r", "--from", "3", "--to", "3"],
                                      ["--from", "--to", "3"]),
    "continue --from equal to --to, written differently": (
        ["continue", "logistic", "--vary", "r", "--from", "3", "--to", "6/2"], ["--from", "--to"]),
    "continue an unknown parameter": (["continue", "logistic", "--vary", "q", "--from", "2.5", "--to", "3"],
                                      ["q", "valid: r"]),
    "continue with a bad --from": (["continue", "logistic", "--vary", "r", "--from", "abc", "--to", "3"],
                                   ["--from", "abc"]),
    "continue --ds 0": ([*CONTINUE_LOGISTIC, "--ds", "0"], ["ds"]),
    "continue --max-steps 0": ([*CONTINUE_LOGISTIC, "--max-steps", "0"], ["max_steps"]),
    "parameter value not a number": (["orbit", "logistic", "--param", "r=abc"], ["r", "abc"]),
    "parameter value infinite": (["orbit", "logistic", "--param", "r=1/0"], ["r", "1/0"]),
    "parameter literal too large": (["orbit", "logistic", "--param", "r=1e999999"], ["1e999999"]),
    "structural parameter out of range": (["threshold", "scalar-net", "--param", "depth=1"], ["depth", "1"]),
    "uv with n=0": (["threshold", "uv", "--param", "n=0"], ["n", "0"]),
    "huge exponent": (["orbit", "--loss", "x**10**10**10", "--vars", "x", "--params", "lr=1", "--guess", "1"],
                      ["exponent"]),
    "duplicate variable": (["orbit", "--map", "x/2", "--vars", "x,x", "--guess", "1"], ["duplicate", "'x'"]),
    "reserved variable name": (["orbit", "--map", "x/2", "--vars", "exp", "--guess", "1"], ["'exp'", "reserved"]),
    "variable declared as a parameter": (["orbit", "--map", "x/2", "--vars", "x", "--params", "x=1", "--guess", "1"],
                                         ["'x'", "twice"]),
    "--params with a built-in model": (["orbit", "logistic", "--params", "r=3"], ["--params", "--param"]),
}


@pytest.mark.parametrize("argv,culprits", list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input(capsys, argv, culprits):
    assert_usage_error(*run(capsys, *argv), *culprits)


def test_unknown_model_lists_every_valid_model(capsys):
    from dynsys_eos.models import CATALOGUE

    status, out, err = run(capsys, "orbit", "nosuch")
    assert_usage_error(status, out, err, "'nosuch'", *CATALOGUE)


UNSAFE = [
    ["threshold", "--loss", "__import__('os').system('touch {marker}')", "--vars", "x"],
    ["orbit", "--map", "__import__('os').system('touch {marker}')", "--vars", "x", "--guess", "1"],
    ["orbit", "logistic", "--param", "r=__import__('os').system('touch {marker}')"],
    ["orbit", "--map", "a*x", "--vars", "x", "--params", "a=__import__('os').system('touch {marker}')",
     "--guess", "1"],
    ["orbit", "logistic", "--guess", "__import__('os').system('touch {marker}')"],
    ["threshold", "--loss", "x**2", "--vars", "x", "--at", "__import__('os').system('touch {marker}')"],
    ["continue", "logistic", "--vary", "r", "--from", "__import__('os').system('touch {marker}')", "--to", "3"],
    ["threshold", "--loss", "x.__class__", "--vars", "x"],
    ["threshold", "--loss", "(lambda: 1)()", "--vars", "x"],
    ["threshold", "--loss", "open('{marker}', 'w')", "--vars", "x"],
    ["threshold", "--loss", "[open('{marker}', 'w') for c in 'a']", "--vars", "x"],
    ["threshold", "--loss", "x; import os", "--vars", "x"],
]


@pytest.mark.parametrize("argv", UNSAFE, ids=[f"{a[0]}-{i}" for i, a in enumerate(UNSAFE)])
def test_unsafe_expression_is_refused_not_run(capsys, tmp_path, argv):
    marker = tmp_path / "pwned"
    argv = [a.format(marker=marker) for a in argv]
    status, out, err = run(capsys, *argv)
    assert_usage_error(status, out, err)
    assert not marker.exists()


def test_unsafe_expression_names_the_call(capsys, tmp_path):
    marker = tmp_path / "pwned"
    status, out, err = run(capsys, "threshold", "--loss", f"__import__('os').system('touch {marker}')", "--vars", "x")
    assert_usage_error(status, out, err, "__import__", "not allowed")
    assert not marker.exists()


def test_argparse_errors_exit_two_without_traceback(capsys):
    # argparse's own errors (a missing required option, an int that is not one): one line, exit status 2
    for argv, culprit in ((["continue", "logistic", "--from", "2", "--to", "3"], "--vary"),
                          (["analyze", "--dps", "abc"], "abc")):
        status, out, err = run(capsys, *argv)
        assert_usage_error(status, out, err, culprit)


def test_no_subcommand_prints_help(capsys):
    status, out, err = run(capsys)
    assert status == 2
    assert "analyze" in out and "threshold" in out


# -- end to end ---------------------------------------------------------------------------------

def test_subprocess_analyze(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dynsys_eos", "analyze", "--dps", "20"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "critical learning rate" in proc.stdout and "lr* = 2/(x1*y)" in proc.stdout
    assert "period-2 orbit" in proc.stdout


def test_subprocess_error(tmp_path):
    marker = tmp_path / "pwned"
    proc = subprocess.run([sys.executable, "-m", "dynsys_eos", "threshold", "--loss",
                           f"__import__('os').system('touch {marker}')", "--vars", "x"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dynsys-eos: error:"), proc.stderr
    assert not marker.exists()


def test_a_bad_guess_names_the_flag(capsys):
    assert main(["trajectory", "minimalist", "--guess", "abc,1,1,1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynsys-eos: error: --guess 'abc,1,1,1':") and "Traceback" not in err
