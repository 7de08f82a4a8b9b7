"""Tests of dynsys_eos.eos (trajectories and EoS diagnostics) and of the ``trajectory`` subcommand.

Known answers: the Lyapunov exponent of the logistic map at r = 4 is ln 2 and
at r = 2.5 it is ln |2 - r| = ln 1/2 (the attracting fixed point); the
sharpness of deep matrix factorization at its flattest minimum is
L sigma_1^(2 - 2/L); a GD minimum of the minimalist model reached through
EoS has sharpness in (2/lr - 20 lr/3, 2/lr) (Zhu et al.); direction i of deep
matrix factorization oscillates when L sigma_i^(2 - 2/L) > 2/lr (Ghosh et al.).
"""

import json
import math

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dynsys_eos.cli import main
from dynsys_eos.eos import (TrajectoryOptions, label_phases, oscillation_subspace, power_spectrum, sharpness,
                            trajectory, two_step_map)
from dynsys_eos.errors import ParameterError
from dynsys_eos.loss import Loss
from dynsys_eos.maps import make_map
from dynsys_eos.models import build_model

x, y = sympy.symbols("x y", real=True)


def product_loss(lr, rule="gd"):
    return make_map(Loss((x * y - 1) ** 2 / 2, [x, y], name="xy"), rule, lr=lr)


def zhu_start(lr, scale=1.2, product=1.05):
    """x = y, z = w with imbalance x^2 - z^2 = scale * (lr^-2 - 4)^(1/2) (the EoS minimum has scale 1), xz = product."""
    c = scale * math.sqrt(lr ** -2 - 4)
    x2 = (c + math.sqrt(c * c + 4 * product**2)) / 2
    return [math.sqrt(x2)] * 2 + [product / math.sqrt(x2)] * 2


def labels_of(traj):
    return [p.label for p in traj.phases]


# -- options and input -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, culprit", [
    ({"steps": 0}, "steps"), ({"record_every": 0}, "record_every"), ({"sharpness": "qr"}, "sharpness"),
    ({"tail": 0}, "tail"), ({"eos_tolerance": 1.5}, "eos_tolerance"), ({"dps": 0}, "dps"), ({"steps": 2.5}, "steps"),
])
def test_options_are_validated(kwargs, culprit):
    with pytest.raises(ParameterError, match=culprit):
        TrajectoryOptions(**kwargs)


def test_start_of_wrong_length_is_an_error():
    with pytest.raises(ParameterError, match="start has 3"):
        trajectory(product_loss("0.1"), [1, 2, 3])


def test_raw_map_has_no_loss_fields():
    t = trajectory(build_model("henon"), ["0.1", "0.1"], TrajectoryOptions(steps=2000))
    assert t.loss is None and t.sharpness is None and t.phases == () and t.threshold is None
    assert t.lyapunov.value == pytest.approx(0.419, abs=0.02)  # the classic Henon attractor's exponent


# -- phases on known cases ----------------------------------------------------------------------

def test_progressive_sharpening_then_stable():
    # 1/2 (xy - 1)^2 from (0.8, 0.8): H = [[y^2, 2xy - 1], [2xy - 1, x^2]] has top eigenvalue 0.92, growing
    # to 2 at the minimum (1, 1); 2/lr = 20 is far away
    t = trajectory(product_loss("0.1"), ["0.8", "0.8"], TrajectoryOptions(steps=600))
    assert labels_of(t) == ["sharpening", "stable"]
    assert t.sharpness[0] == pytest.approx(0.92) and t.sharpness[-1] == pytest.approx(2.0, abs=1e-9)


def test_reduction_then_sharpening_from_near_the_saddle():
    # from (0.1, 0.1) the top eigenvalue first falls (0.99 -> about 0.6 where 2xy - 1 changes sign), then rises to 2
    t = trajectory(product_loss("0.1"), ["0.1", "0.1"], TrajectoryOptions(steps=600))
    assert labels_of(t) == ["reduction", "sharpening", "stable"]
    turn = int(np.argmin(t.sharpness))
    assert t.phases[0].stop <= turn <= t.phases[1].start + 3


def test_sharpness_reduction_then_stable():
    # from (3, 1.5) the imbalance x^2 - y^2 shrinks by (1 - lr^2 r^2) each step: the sharpness falls from ~14
    t = trajectory(product_loss("0.1"), ["3", "1.5"], TrajectoryOptions(steps=600))
    assert labels_of(t)[0] == "reduction" and labels_of(t)[-1] == "stable" and "eos" not in labels_of(t)
    assert t.sharpness[0] > 14 and t.sharpness[-1] < 10


def test_edge_of_stability_then_convergence_below_the_line():
    lr = 0.1
    t = trajectory(build_model("minimalist", lr=repr(lr)), zhu_start(lr), TrajectoryOptions(steps=3000))
    assert labels_of(t) == ["eos", "stable"]
    eos = t.phases[0]
    assert eos.stop > 500  # the EoS phase lasts: sharpness swings about 2/lr while the loss is non-monotone
    assert t.ratio[0] > 1 and t.ratio[-1] < 1


def test_synthetic_labels():
    s = np.concatenate([np.full(30, 5.0), np.linspace(5, 3, 30), np.full(40, 3.0)])
    labels = label_phases(s, np.full(100, 20.0), np.linspace(1, 0, 100), window=6)
    assert [labels[10], labels[45], labels[90]] == ["stable", "reduction", "stable"]


@given(st.floats(0.5, 3.0), st.integers(8, 40))
@example(1.0, 8)
@settings(max_examples=25, deadline=None)
def test_constant_sharpness_below_the_line_is_stable(a, window):
    s = np.full(120, a)
    labels = label_phases(s, np.full(120, 2 * a + 1), np.exp(-np.arange(120.0)), window=window)
    assert set(labels) == {"stable"}


def test_divergence_is_a_status():
    # multiplier 1 - 3 lr = -2: |x| doubles each step and escapes
    t = trajectory(make_map(Loss(3 * x**2 / 2, [x], name="q"), "gd", lr="1"), ["1"], TrajectoryOptions(steps=500))
    assert t.status == "diverged" and not t.success and t.oscillation is None and t.lyapunov is None
    assert np.all(np.isfinite(t.loss))


@pytest.mark.parametrize("dps", [None, 30])
@pytest.mark.parametrize("record_every", [1, 4])
def test_normalized_gd_landing_on_the_minimum_is_critical_not_diverged(dps, record_every):
    # |(3/8, 1/2)| = 5/8 = lr, all dyadic: one ngd step reaches the origin exactly at any precision; the next is 0/0
    ngd = make_map(Loss((x**2 + y**2) / 2, [x, y], name="bowl"), "ngd", lr=sympy.Rational(5, 8))
    t = trajectory(ngd, ["0.375", "0.5"], TrajectoryOptions(steps=10, dps=dps, record_every=record_every))
    assert (t.status, t.success, t.steps.tolist()) == ("critical", True, [0, 1])
    assert [float(v) for v in t.final] == [0.0, 0.0] and "critical point" in t.message
    assert "depends on the precision" not in t.message
    assert t.oscillation is not None and t.oscillation.dimension == 0


def test_a_landing_only_one_precision_resolves_is_said():
    # 0.3 and 0.4 are not dyadic: at 70 digits the step lands on 0 exactly, at 30 digits 5e-32 away, after which
    # ngd hops back by lr: the two precisions disagree, the higher one decides and the message says so
    ngd = make_map(Loss((x**2 + y**2) / 2, [x, y], name="bowl"), "ngd", lr=sympy.Rational(1, 2))
    t = trajectory(ngd, ["0.3", "0.4"], TrajectoryOptions(steps=10, dps=30, record_every=4))
    assert t.status == "critical" and t.steps.tolist() == [0, 1]
    assert "the 30-digit run did not stop" in t.message and t.digits[-1] <= 1


@pytest.mark.parametrize("dps", [None, 30])
def test_leaving_the_domain_of_the_map_is_undefined(dps):
    # GD on sqrt(L - Lstar) with Lstar above the minimum loss: once L < Lstar the step is NaN / an error
    m = make_map(Loss((x * y - 1) ** 2 / 2, [x, y], name="xy"), "sqrt", lr=sympy.Rational(1, 2),
                 Lstar=sympy.Rational(1, 10))
    t = trajectory(m, ["0.3", "0.4"], TrajectoryOptions(steps=10, dps=dps))
    assert t.status == "undefined" and not t.success and t.oscillation is None
    losses = [(float(a) * float(b) - 1) ** 2 / 2 for a, b in t.states]
    assert t.steps[-1] < 10 and losses[-1] < 0.1 <= min(losses[:-1])  # the record ends where it left the domain


# -- Zhu et al.: sharpness concentration ---------------------------------------------------------

@pytest.mark.parametrize("lr", [0.05, 0.1, 0.2])
def test_minimalist_ends_inside_the_zhu_interval(lr):
    t = trajectory(build_model("minimalist", lr=repr(lr)), zhu_start(lr), TrajectoryOptions(steps=9000, lyapunov=False))
    assert t.status == "completed" and t.loss[-1] < 1e-9  # converged: the sharpness is that of a minimum
    assert "eos" in labels_of(t)
    assert 2 / lr - 20 * lr / 3 < t.sharpness[-1] < 2 / lr


# -- Ghosh et al.: oscillation subspace of deep matrix factorization ----------------------------------

def aligned_dmf_start(sigmas, depth=3, scale=1.05):
    out = []
    for _ in range(depth):
        out += [scale * sigmas[0] ** (1 / depth), 0, 0, scale * sigmas[1] ** (1 / depth)]
    return out


@pytest.mark.parametrize("lr, dimension", [(0.255, 0), (0.27, 1), (0.29, 2)])
def test_dmf_oscillation_dimension_set_by_the_learning_rate(lr, dimension):
    sigmas, depth = (2.0, 1.9), 3
    thresholds = [2 / (depth * s ** (2 - 2 / depth)) for s in sigmas]  # direction i oscillates for lr above its own
    assert sum(lr > th for th in thresholds) == dimension  # the lr sits between the per-direction thresholds
    m = build_model("dmf", depth=depth, dim=2, sigmas="2,1.9", lr=repr(lr))
    t = trajectory(m, aligned_dmf_start(sigmas, depth), TrajectoryOptions(steps=3000))
    assert t.status == "completed"
    assert t.oscillation.observable == "end-to-end product"
    assert t.oscillation.dimension == dimension
    if dimension:
        assert t.spectrum.peak_frequency == pytest.approx(0.5, abs=0.01)  # a period-2 swing of the sharpness


def test_dmf_sharpness_at_the_flattest_minimum_and_lanczos_matches_dense():
    m = build_model("dmf", depth=3, dim=4, sigmas="4,3,2,1")  # 48 parameters
    flat = [float(v) for v in m.model.flattest_minimum()]
    dense, dense_err = sharpness(m, flat, method="dense")
    assert dense[0] == pytest.approx(3 * 4 ** (4 / 3), rel=1e-13)
    rng = np.random.default_rng(0)
    states = np.array(flat) + 0.05 * rng.standard_normal((5, len(flat)))
    dense, dense_err = sharpness(m, states, method="dense")
    lanczos, lanczos_err = sharpness(m, states, method="lanczos", iterations=30)
    assert np.all(np.abs(dense - lanczos) <= lanczos_err + dense_err + 1e-10 * np.abs(dense))
    assert np.all(lanczos_err < 1e-6 * np.abs(dense))


# -- Lyapunov exponents ---------------------------------------------------------------------------

def test_logistic_lyapunov_at_r4_is_ln2():
    t = trajectory(build_model("logistic", r=4), ["0.3"], TrajectoryOptions(steps=100000, record_every=100))
    lyap = t.lyapunov
    assert lyap.error < 0.01
    assert abs(lyap.value - math.log(2)) < 3 * lyap.error + 1e-3
    assert lyap.horizon == pytest.approx(53 * math.log(2) / lyap.value, rel=0.05)  # ln(2^53)/lambda steps


def test_logistic_lyapunov_at_an_attracting_fixed_point():
    t = trajectory(build_model("logistic", r="2.5"), ["0.3"], TrajectoryOptions(steps=2000))
    assert t.lyapunov.value == pytest.approx(math.log(0.5), abs=1e-9) and t.lyapunov.horizon is None


def test_mp_trajectory_measures_its_digits():
    converging = trajectory(build_model("minimalist2", lr="0.3"), ["1.5", "0.5"], TrajectoryOptions(steps=60, dps=30))
    assert converging.digits.min() >= 28
    chaotic = trajectory(build_model("logistic", r=4), ["0.3"], TrajectoryOptions(steps=120, dps=30))
    assert chaotic.digits[0] == 30 and chaotic.digits[-1] < 5  # ln 2 per step eats ~0.3 digits per step


# -- rules and their thresholds ---------------------------------------------------------------------

def test_thresholds_of_each_rule():
    hb = trajectory(build_model("minimalist", rule="hb", lr="0.1", beta="0.5"), [1.2, 1, 1, 0.9, 0, 0, 0, 0],
                    TrajectoryOptions(steps=20))
    assert hb.threshold[0] == pytest.approx(2 * 1.5 / 0.1)
    ngd = trajectory(build_model("minimalist", rule="ngd", lr="0.05"), [1.2, 1, 1, 0.9], TrajectoryOptions(steps=20))
    g = np.array([1 * 1 * 0.9, 1.2 * 1 * 0.9, 1.2 * 1 * 0.9, 1.2]) * (1.2 * 0.9 - 1)
    assert ngd.threshold[0] == pytest.approx(2 * np.linalg.norm(g) / 0.05)
    sq = trajectory(build_model("minimalist", rule="sqrt", lr="0.05"), [1.2, 1, 1, 0.9], TrajectoryOptions(steps=20))
    assert sq.threshold[0] == pytest.approx(4 * math.sqrt((1 - 1.08) ** 2 / 2) / 0.05)


# -- late-time tools: properties ------------------------------------------------------------------------

@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
@example([0.0, 0.0, 0.0], [1.0, 0.0, 0.0])
@example([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
@settings(max_examples=40, deadline=None)
def test_period_two_orbits_oscillate_in_one_direction(mean, direction):
    t = np.arange(64)
    states = np.array(mean) + np.outer((-1.0) ** t, direction)
    o = oscillation_subspace(states, tail=0.5)
    expected = 0 if np.max(np.abs(direction)) <= 1e-6 * max(1.0, np.max(np.abs(mean))) else 1
    assert o.dimension == expected
    if expected:
        unit = np.array(direction) / np.linalg.norm(direction)
        assert abs(abs(float(o.basis[:, 0] @ unit)) - 1) < 1e-9


@given(st.lists(st.booleans(), min_size=4, max_size=4))
@example([True, False, False, False])
@example([True, True, False, True])
@settings(max_examples=20, deadline=None)
def test_matrix_observable_counts_oscillating_directions(active):
    t = np.arange(40)
    amplitudes = np.array(active, dtype=float) * np.array([1.0, 0.5, 0.25, 2.0])
    matrices = np.array([np.diag(3 + (-1.0) ** k * amplitudes) for k in t])
    o = oscillation_subspace(matrices.reshape(len(t), -1), tail=0.5, observable=lambda s: s.reshape(-1, 4, 4))
    assert o.dimension == sum(active)


def test_power_spectrum_and_two_step_map():
    f, p = power_spectrum(np.cos(2 * np.pi * 0.25 * np.arange(200)))
    assert f[np.argmax(p)] == pytest.approx(0.25)
    a, b = two_step_map([3.0, 1.0, 3.0, 1.0])
    assert a.tolist() == b.tolist()  # a period-2 orbit is fixed by the two-step map


# -- the command ----------------------------------------------------------------------------------------

def test_cli_json(capsys):
    status = main(["trajectory", "minimalist", "--param", "lr=0.1", "--guess", ",".join(map(repr, zhu_start(0.1))),
                   "--steps", "400", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert {"steps", "loss", "sharpness", "final", "phases"} <= set(out)
    assert len(out["steps"]) == len(out["loss"]) == len(out["sharpness"]) == 401
    assert set(out["final"]) == {"x", "y", "z", "w"} and isinstance(out["final"]["x"], float)
    assert out["phases"][0]["label"] == "eos" and "float64" in out["accuracy"]


def test_cli_text_is_honest_about_chaos(capsys):
    status = main(["trajectory", "logistic", "--param", "r=4", "--guess", "0.3", "--steps", "5000"])
    out = capsys.readouterr().out
    assert status == 0
    assert "Lyapunov exponent: 0.69" in out and "shadow" in out and "float64" in out


def test_cli_mp_json_numbers_are_strings(capsys):
    status = main(["trajectory", "minimalist2", "--param", "lr=0.3", "--guess", "1.5,0.5", "--steps", "20", "--mp",
                   "--dps", "25", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0 and isinstance(out["final"]["x"], str) and out["final_digits"] >= 23


@pytest.mark.parametrize("argv, culprit", [
    (["--steps", "0"], "--steps"), (["--guess", "1,2"], "--guess"), (["--param", "lr=x"], "lr"),
    (["--plot", "/no/such/dir/f.png"], "--plot"),
])
def test_cli_errors(capsys, argv, culprit):
    status = main(["trajectory", "minimalist", *argv])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == "" and culprit in captured.err and "Traceback" not in captured.err


def test_cli_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "t.png"
    assert main(["trajectory", "uv", "--param", "lr=1.1", "--steps", "100", "--plot", str(path)]) == 0
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("rule, params, expected_status, expected_exit", [
    ("ngd", ["lr=5/8"], "critical", 0),  # lands exactly on the minimum: the threshold 2|grad L|/lr is 0 there
    ("sqrt", ["lr=1/2", "Lstar=1/10"], "undefined", 1),  # leaves the domain L >= Lstar
])
def test_cli_reports_an_early_stop_without_a_traceback(capsys, rule, params, expected_status, expected_exit):
    loss = "(x**2+y**2)/2" if rule == "ngd" else "(x*y-1)**2/2"
    guess = "0.375,0.5" if rule == "ngd" else "0.3,0.4"
    arguments = ["trajectory", "--loss", loss, "--vars", "x,y", "--rule", rule, "--guess", guess, "--steps", "10"]
    for param in params:
        arguments += ["--param", param]
    assert main(arguments) == expected_exit
    text = capsys.readouterr().out
    assert f"({expected_status})" in text and "ratio infinite (threshold 0" in text
    assert main(arguments + ["--json"]) == expected_exit
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == expected_status and out["threshold"][-1] == 0.0


def test_cli_dps_alone_asks_for_an_mp_run(capsys):
    assert main(["trajectory", "logistic", "--param", "r=7/2", "--guess", "0.3", "--steps", "20", "--dps", "20",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["precision"].startswith("mp, 20 digits") and out["final_digits"] >= 15
