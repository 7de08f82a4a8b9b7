"""Interval certificates: proofs, the independent checker, mutations, closed forms and properties."""

import copy
import json

import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dynsys_eos.certify import (Certificate, CertifyOptions, check, certify_cascade, certify_flip, certify_interval,
                                certify_orbit, certify_threshold)
from dynsys_eos.certify.balls import get_balls
from dynsys_eos.certify.check import verify_part
from dynsys_eos.cli import main
from dynsys_eos.errors import CertificationError, ParameterError
from dynsys_eos.models import build_model

BACKENDS = ["flint", "iv"]


def _proves(cert, backend="auto"):
    verdict = check(copy.deepcopy(cert.to_dict()), backend)
    return verdict.proves


def _inside(box, value):
    """Exact: the rational or algebraic ``value`` lies in the decimal box [mid - rad, mid + rad]."""
    mid, rad = (sympy.Rational(t) for t in box)
    return bool(mid - rad <= value <= mid + rad)


@pytest.fixture(scope="module")
def orbit_cert():
    return certify_orbit(build_model("logistic", r="16/5"), 2, [0.5], options=CertifyOptions(dps=40))


@pytest.fixture(scope="module")
def flip_cert():
    # the period-2 orbit of the logistic map flips at r = 1 + sqrt(6)
    return certify_flip(build_model("logistic"), 2, "r", sympy.Rational(33, 10), [0.5], options=CertifyOptions(dps=40))


@pytest.fixture(scope="module")
def cascade_cert():
    return certify_cascade(build_model("logistic"), 1, "r", sympy.Rational(14, 5), [0.6], flips=5,
                           options=CertifyOptions(dps=60))


# -- known answers -------------------------------------------------------------------

def test_period_two_orbit_closed_form_inside_enclosure(orbit_cert):
    assert orbit_cert.outcome == "proved"
    r = sympy.Rational(16, 5)
    roots = sorted([(r + 1 - sympy.sqrt((r + 1) * (r - 3))) / (2 * r), (r + 1 + sympy.sqrt((r + 1) * (r - 3))) / (2 * r)],
                   key=lambda e: float(e))
    boxes = orbit_cert.boxes["enclosure"]
    points = sorted(boxes, key=lambda b: float(b[0]))
    for box, exact in zip(points, roots):
        assert _inside(box, exact)
        assert sympy.Rational(box[1]) < sympy.Rational(10) ** -40
    assert orbit_cert.claim["unstable_count"] == 0 and orbit_cert.claim["minimal_period"]


def test_flip_at_one_plus_sqrt6_with_positive_coefficient(flip_cert):
    assert flip_cert.outcome == "proved", flip_cert.reason
    assert _inside(flip_cert.results["parameter"], 1 + sympy.sqrt(6))
    assert sympy.Rational(flip_cert.results["parameter"][1]) < sympy.Rational(10) ** -35
    assert flip_cert.claim["criticality"] == "supercritical"
    assert sympy.Rational(flip_cert.results["coefficient"][0]) > 0


def test_first_flip_coefficient_is_nine():
    cert = certify_flip(build_model("logistic"), 1, "r", sympy.Rational(14, 5), [0.6], options=CertifyOptions(dps=30))
    assert cert.outcome == "proved"
    assert _inside(cert.results["parameter"], 3)
    assert _inside(cert.results["coefficient"], 9)


def test_uv_threshold_closed_form_inside_and_exact():
    cert = certify_threshold(build_model("uv"), options=CertifyOptions(dps=30))
    assert cert.outcome == "proved" and cert.method == "sturm"
    x1, y = 1, 2  # the model's defaults: lr* = 2/(x1*y)
    assert _inside(cert.results["threshold"], sympy.Rational(2, x1 * y))
    assert cert.claim["polynomial"] == "lambda_ - 2"
    assert check(cert.to_dict()).proves


def test_threshold_with_irrational_hessian_is_enclosed():
    cert = certify_threshold(build_model("scalar-net", depth=3, sigma=2), options=CertifyOptions(dps=30))
    assert cert.outcome == "proved" and cert.method == "gershgorin"
    closed = 2 / (3 * sympy.Integer(2) ** sympy.Rational(4, 3))  # 2/(L sigma^(2-2/L))
    mid, rad = cert.results["threshold"]
    assert abs(sympy.N(closed, 60) - sympy.Rational(mid)) <= sympy.Rational(rad)
    assert check(cert.to_dict()).proves


def test_cascade_every_flip_proved_and_checked(cascade_cert):
    assert cascade_cert.outcome == "proved", cascade_cert.reason
    periods = [c["period"] for c in cascade_cert.claim["flips"]]
    assert periods == [1, 2, 4, 8, 16]
    assert _inside(cascade_cert.results["flips"][1]["parameter"], 1 + sympy.sqrt(6))
    for backend in BACKENDS:
        assert _proves(cascade_cert, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_certificates_check_with_either_backend(orbit_cert, flip_cert, backend):
    assert _proves(orbit_cert, backend)
    assert _proves(flip_cert, backend)


def test_interval_stable_below_flip_and_partial_across_it():
    m = build_model("logistic")
    cert = certify_interval(m, 1, "r", "2.5", "2.9", [0.6], options=CertifyOptions(dps=20))
    assert cert.outcome == "proved" and cert.claim["unstable_count"] == 0
    assert check(cert.to_dict()).proves
    # the middle (r = 3.05) is unstable: that is the claim, and it fails only below the flip at r = 3
    across = certify_interval(m, 1, "r", "2.9", "3.2", [0.6], options=CertifyOptions(dps=20, max_pieces=24))
    assert across.outcome == "partial" and across.claim["unstable_count"] == 1
    unproved = [p for p in across.boxes["pieces"] if not p["proved"]]
    assert unproved and all(sympy.Rational(p["from"]) < 3 for p in unproved)
    verdict = check(across.to_dict())
    assert verdict.valid and not verdict.proves


def test_manifold_orbit_is_reported_not_proved():
    m = build_model("scalar-net", depth=3, sigma=1, lr="1/2")
    cert = certify_orbit(m, 1, [1, 1, 1], options=CertifyOptions(dps=20))
    assert cert.outcome == "not-proved" and "manifold" in cert.reason
    verdict = check(cert.to_dict())
    assert verdict.valid and not verdict.proves and "NOT PROVED" in verdict.message


# -- mutations: each must be rejected -------------------------------------------------

def _mutated(cert, change):
    data = copy.deepcopy(cert.to_dict())
    change(data)
    return data


def _move(box, times):
    mid, rad = (sympy.Rational(t) for t in box)
    box[0] = str(sympy.Float(mid + times * rad, 60))


MUTATIONS = {
    "moved enclosure": lambda d: _move(d["boxes"]["enclosure"][0], 3),
    "moved uniqueness box": lambda d: [_move(b, 3) for b in d["boxes"]["uniqueness"]],
    "shrunken radius": lambda d: d["boxes"]["enclosure"][0].__setitem__(1, "1e-80"),
    "changed parameter": lambda d: d["problem"]["parameters"].__setitem__("r", "161/50"),
    "changed model": lambda d: d["problem"].__setitem__("model", "henon"),
    "flipped claim": lambda d: d["claim"].__setitem__("unstable_count", 1),
    "claimed period": lambda d: d["claim"].__setitem__("period", 1),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_orbit_mutations_rejected(orbit_cert, name):
    verdict = check(_mutated(orbit_cert, MUTATIONS[name]))
    assert not verdict.proves and not verdict.valid, verdict.message


FLIP_MUTATIONS = {
    "flipped criticality": lambda d: d["claim"].__setitem__("criticality", "subcritical"),
    "moved parameter box": lambda d: _move(d["boxes"]["enclosure"][-1], 5),
    "stated parameter elsewhere": lambda d: d["results"].__setitem__("parameter", ["3.45", "1e-30"]),
    "stated coefficient": lambda d: d["results"].__setitem__("coefficient", ["-1", "1e-3"]),
    "fold instead of flip": lambda d: d["claim"].__setitem__("kind", "fold"),
}


@pytest.mark.parametrize("name", sorted(FLIP_MUTATIONS))
def test_flip_mutations_rejected(flip_cert, name):
    verdict = check(_mutated(flip_cert, FLIP_MUTATIONS[name]))
    assert not verdict.proves, verdict.message


def test_threshold_mutations_rejected():
    cert = certify_threshold(build_model("uv"), options=CertifyOptions(dps=20))
    for change in (lambda d: d["claim"].__setitem__("polynomial", "lambda_ - 3"),
                   lambda d: d["claim"].__setitem__("interval", ["1", "3/2"]),
                   lambda d: d["problem"]["parameters"].__setitem__("y", "3"),
                   lambda d: d["results"].__setitem__("threshold", ["0.9", "1e-3"])):
        assert not check(_mutated(cert, change)).proves


def test_not_proved_is_never_reported_proved(orbit_cert):
    data = _mutated(orbit_cert, lambda d: d["boxes"]["enclosure"][0].__setitem__(1, "1e-80"))
    data["outcome"] = "not-proved"
    data["reason"] = "edited"
    verdict = check(data)
    assert verdict.valid and not verdict.proves  # consistent, and it proves nothing


def test_malformed_certificates_raise_or_fail():
    with pytest.raises(CertificationError):
        Certificate.from_dict({"format": "something else"})
    with pytest.raises(CertificationError):
        Certificate.from_dict({"format": "dynsys-eos certificate", "version": 99})


# -- property: whatever is reported proved contains the true solution -------------------

@settings(max_examples=25, deadline=None)
@given(r=st.fractions(min_value=sympy.Rational(6, 5), max_value=sympy.Rational(29, 10), max_denominator=50),
       offset=st.floats(min_value=-3, max_value=3), log_radius=st.integers(min_value=-40, max_value=-2),
       dps=st.sampled_from([20, 40, 80]), backend=st.sampled_from(BACKENDS))
@example(r=sympy.Rational(5, 2), offset=0.0, log_radius=-10, dps=40, backend="flint")
@example(r=sympy.Rational(5, 2), offset=2.0, log_radius=-30, dps=20, backend="iv")
def test_proved_box_contains_fixed_point(r, offset, log_radius, dps, backend):
    r = sympy.Rational(r)
    exact = 1 - 1 / r  # the fixed point of the logistic map
    radius = sympy.Rational(10) ** log_radius
    mid = exact + sympy.Rational(offset) * radius + sympy.Rational(1, 10 ** (dps + 3))
    box = [[str(sympy.Float(mid, dps + 10)), str(sympy.Float(radius, 5))]]
    problem = {"model": "logistic", "rule": None, "structure": {}, "parameters": {"r": str(r)}}
    claim = {"kind": "orbit", "period": 1, "unstable_count": None}
    balls = get_balls(backend, dps=dps)
    found = verify_part(problem, claim, {"uniqueness": box, "enclosure": box}, {}, balls.prec, backend)
    if found.outcome == "proved":
        assert _inside(box[0], exact)
    if abs(offset) <= 0.5 and -dps + 5 <= log_radius <= -5:  # well-centred boxes above the precision floor
        assert found.outcome == "proved", found.reason


# -- CLI ---------------------------------------------------------------------------

def test_cli_certify_and_check(tmp_path, capsys):
    out = tmp_path / "cert.json"
    code = main(["certify", "orbit", "logistic", "--param", "r=3.2", "--period", "2", "--guess", "0.5",
                 "--dps", "30", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "proved" in text and "+-" in text
    assert main(["check", str(out)]) == 0
    assert capsys.readouterr().out.startswith("VALID: orbit proved")
    data = json.loads(out.read_text())
    data["problem"]["parameters"]["r"] = "3.3"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["check", str(bad)]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_cli_certify_errors(tmp_path, capsys):
    assert main(["certify", "interval", "logistic", "--vary", "r", "--to", "3"]) == 2
    assert "needs --from" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["check", str(tmp_path / "junk.json")]) == 2


def test_options_validated():
    with pytest.raises(ParameterError):
        CertifyOptions(dps=5)
    with pytest.raises(ParameterError):
        CertifyOptions(backend="arb")
