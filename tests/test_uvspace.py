"""Tests of dynsys_eos.uvspace: the UV model's closed map in (Delta f, lambda) (Kalra, He, Barkeshli).

The closed map is checked three ways: as a polynomial identity against the
model's own GD map (sympy), step by step in float64 at random parameter
states, and along whole trajectories (agreement to 1e-12).  Its fixed
points, nullclines, forbidden region and critical learning rate are checked
against closed forms.
"""

import math

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dynsys_eos import uvspace
from dynsys_eos.eos import TrajectoryOptions, trajectory
from dynsys_eos.errors import ModelError, ParameterError
from dynsys_eos.models import build_model
from dynsys_eos.orbits import OrbitOptions, find_orbit

df, lam, lr, y, n, s = uvspace.df, uvspace.lam, uvspace.lr, uvspace.y, uvspace.n, uvspace.s


def test_derived_map_is_the_closed_form():
    m = uvspace.derive()
    assert sympy.expand(m.df_next - (df * (1 - lr * lam) + lr**2 * s / n * df**2 * (df + y))) == 0
    assert sympy.expand(m.lam_next - (lam + lr * s / n * df * (lr * df * lam - 4 * (df + y)))) == 0
    assert [name for name, _ in m.derivation] == ["|v'|^2", "|a'|^2", "a'.v'", "f'", "lambda'"]


@pytest.mark.parametrize("width, d", [(1, 1), (2, 2), (3, 1)])
def test_closed_map_is_the_models_gd_map_exactly(width, d):
    assert uvspace.check_against_model(width, d)


def uv(lr_text, width=4, x=("0.6", "0.8"), target=2):
    params = {f"x{j + 1}": v for j, v in enumerate(x)}
    return build_model("uv", n=width, d=len(x), lr=lr_text, y=target, **params)


@pytest.mark.parametrize("lr_text", ["0.5", "0.9", "1.1", "1.25"])
def test_trajectories_agree_to_1e12(lr_text):
    m = uv(lr_text)
    t = trajectory(m, m.model.default_state(), TrajectoryOptions(steps=150, sharpness="none"))
    d_param, lam_param = uvspace.coordinates(m, t.states)
    fm = uvspace.from_model(m)
    tf = trajectory(fm, [d_param[0], lam_param[0]], TrajectoryOptions(steps=150, sharpness="none"))
    assert np.max(np.abs(tf.states[:, 0] - d_param) / (1 + np.abs(d_param))) < 1e-12
    assert np.max(np.abs(tf.states[:, 1] - lam_param) / (1 + np.abs(lam_param))) < 1e-12


@given(st.integers(0, 2**32 - 1), st.floats(0.05, 1.5))
@example(0, 1.1)
@example(12345, 0.05)
@settings(max_examples=30, deadline=None)
def test_one_step_agrees_at_random_states(seed, rate):
    m = uv(repr(rate), width=3, x=("1.5", "-0.5", "0.25"), target="-1.5")
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal((8, m.dimension))
    F = m.bind()
    after = np.array([F.value(row) for row in theta])
    d0, l0 = uvspace.coordinates(m, theta)
    d1, l1 = uvspace.coordinates(m, after)
    fd, fl = uvspace.derive().evaluate(d0, l0, rate, -1.5, 3, 1.5**2 + 0.25 + 0.0625)
    assert np.all(np.abs(fd - d1) <= 1e-12 * (1 + np.abs(d1)))
    assert np.all(np.abs(fl - l1) <= 1e-12 * (1 + np.abs(l1)))


@given(st.integers(0, 2**32 - 1))
@example(0)
@settings(max_examples=30, deadline=None)
def test_no_parameters_reach_the_forbidden_region(seed):
    m = uv("1", width=3, x=("1.5", "-0.5"), target="-1.5")
    theta = np.random.default_rng(seed).standard_normal((50, m.dimension)) * 2
    d, ntk = uvspace.coordinates(m, theta)
    boundary = np.array([float(uvspace.forbidden_boundary(float(v), "-1.5", 3, "2.5")) for v in d])
    assert np.all(ntk >= boundary * (1 - 1e-12))


def test_forbidden_boundary_is_attained_by_balanced_aligned_parameters():
    m = build_model("uv", n=4, d=1, y=2)
    flat = [float(v) for v in m.model.flattest_minimum()]
    d, ntk = uvspace.coordinates(m, [flat])
    assert d[0] == pytest.approx(0, abs=1e-14)
    assert ntk[0] == pytest.approx(float(uvspace.forbidden_boundary(0, 2, 4, 1)), rel=1e-14)  # = 2 |x||y|/sqrt(n) = 2


@pytest.mark.parametrize("width, target, norm2", [(4, 2, 1), (8, 3, 2), (1, "1/2", 9), (16, -1, "1/4")])
def test_critical_learning_rate(width, target, norm2):
    expected = sympy.sqrt(width) / (sympy.sqrt(sympy.sympify(norm2)) * abs(sympy.sympify(target)))
    assert sympy.simplify(uvspace.critical_learning_rate(width, target, norm2) - expected) == 0


def test_readme_default_critical_lr():
    assert uvspace.critical_learning_rate(4, 2, 1) == 1  # 2/(x1 y) with x1 = 1, y = 2, n = 4


def test_fixed_points_and_multipliers():
    points = uvspace.fixed_points("1.1", 2, 4, 1)
    kinds = [p.kind for p in points]
    assert kinds == ["minima line", "origin", "off-line", "off-line"]
    line = points[0]
    assert set(line.multipliers) == {1, 1 - sympy.Rational(11, 10) * lam}  # flip where lambda = 2/lr
    off = points[2:]
    rate = sympy.Rational(11, 10)
    for p, sign in zip(off, (-1, 1)):
        assert p.df == sign * 2 * sympy.sqrt(4) / rate
        assert p.lam == 4 / rate + sign * 2 * 2 / sympy.sqrt(4)
    assert points[1].df == -2 and points[1].lam == 0


def test_nullclines():
    first, second = uvspace.nullclines()
    m = uvspace.derive()
    assert sympy.simplify((m.df_next - df).xreplace({lam: first})) == 0
    assert sympy.simplify((m.lam_next - lam).xreplace({lam: second})) == 0


def test_gd_below_and_above_lr_c():
    # below lr_c = 1 GD on (U, v) converges to a minimum with lambda < 2/lr; above it no minimum is stable
    # (every minimum has lambda >= 2 > 2/lr), so the iterates settle on a period-2 orbit instead
    below = build_model("uv", lr="0.9")
    t = trajectory(below, below.model.default_state(), TrajectoryOptions(steps=3000))
    assert t.loss[-1] < 1e-20 and 2 <= t.sharpness[-1] < 2 / 0.9
    above = build_model("uv", lr="1.1")
    t = trajectory(above, above.model.default_state(), TrajectoryOptions(steps=3000))
    assert t.loss[-1] > 1e-3 and t.oscillation.dimension >= 1
    fm = uvspace.from_model(above)
    d, ntk = uvspace.coordinates(above, t.states[-1:])
    orbit = find_orbit(fm, 2, [[d[0], ntk[0]]], options=OrbitOptions(dps=30))
    assert orbit.success and orbit.minimal_period == 2 and orbit.digits >= 28


def test_bad_input():
    with pytest.raises(ParameterError):
        uvspace.function_space_map(n=0)
    with pytest.raises(ModelError):
        uvspace.from_model(build_model("minimalist"))
    with pytest.raises(ParameterError):
        uvspace.critical_learning_rate(4, 0, 1)


def test_phase_portrait(tmp_path):
    pytest.importorskip("matplotlib")
    from dynsys_eos.plot_eos import phase_portrait

    path = tmp_path / "p.png"
    figure = phase_portrait(4, 2, 1, "1.1", orbits=[(0.5, 2.6)], path=path)
    assert path.stat().st_size > 1000 and figure.axes[0].get_ylabel() == "lambda (NTK)"
    with pytest.raises(ParameterError, match="forbidden"):
        phase_portrait(4, 2, 1, "1.1", orbits=[(0.0, 1.0)])
    assert math.isfinite(float(uvspace.critical_learning_rate()))
