"""Tests of dynsys_eos.plot (skipped without matplotlib, an optional extra).

Known answers for the logistic map x -> r x (1 - x): the fixed point
1 - 1/r has multiplier 2 - r, stable for r < 3 and unstable for r > 3; the
period-2 orbit is stable on 3 < r < 1 + sqrt(6).
"""

import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from dynsys_eos.bifurcation import locate  # noqa: E402
from dynsys_eos.continuation import ContinuationOptions, ContinuationProblem, continue_branch  # noqa: E402
from dynsys_eos.errors import DynsysError, ParameterError  # noqa: E402
from dynsys_eos.graph import BifurcationGraph  # noqa: E402
from dynsys_eos.models import build_model  # noqa: E402
from dynsys_eos.plot import POINT_STYLES, bifurcation_diagram, multipliers_plot  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FLIP_2 = 1 + 6 ** 0.5


@pytest.fixture(scope="module")
def logistic(logistic_cascade):
    return logistic_cascade[:4]


def _is_png(path):
    data = path.read_bytes()
    return data[:8] == PNG_SIGNATURE and len(data) > 10_000


def _lines(figure, prefix):
    return [line for line in figure.axes[0].get_lines() if (line.get_gid() or "").startswith(prefix)]


def test_bifurcation_diagram_file_and_labels(logistic, tmp_path):
    b1, f1, b2, f2 = logistic
    path = tmp_path / "diagram.png"
    figure = bifurcation_diagram([b1, b2], [f1, f2], path=path)
    assert path.exists() and _is_png(path)
    from matplotlib.image import imread

    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 400
    assert np.ptp(image[..., :3]) > 0.5  # not a blank canvas
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("r", "x")
    assert "logistic" in ax.get_title()
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["period 1", "period 2", POINT_STYLES["flip"]["label"], "stable", "unstable"]
    assert sorted(t.get_text() for t in ax.texts) == ["r = 3", "r = 3.44949"]


def test_stable_solid_unstable_dashed(logistic):
    b1, f1, b2, f2 = logistic
    figure = bifurcation_diagram([b1, b2], [f1, f2])
    period1 = _lines(figure, "branch 0:")
    solid = [line for line in period1 if line.get_linestyle() == "-"]
    dashed = [line for line in period1 if line.get_linestyle() == "--"]
    assert len(solid) == 1 and len(dashed) == 1
    assert min(solid[0].get_xdata()) == pytest.approx(2.8) and max(solid[0].get_xdata()) <= 3 + 1e-9
    assert min(dashed[0].get_xdata()) >= 3 - 1e-9 and max(dashed[0].get_xdata()) == pytest.approx(3.5)
    # the split sits at the flip, where the curve is continuous (x = 2/3 at r = 3)
    assert max(solid[0].get_xdata()) == pytest.approx(3, abs=1e-6)
    assert solid[0].get_ydata()[-1] == dashed[0].get_ydata()[0]
    assert solid[0].get_ydata()[-1] == pytest.approx(2 / 3, abs=1e-12)  # the located flip's orbit
    # y follows the fixed point 1 - 1/r
    for line in period1:
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert np.allclose(y, 1 - 1 / x, atol=1e-9)
    # period 2: both orbit points drawn, stable up to 1 + sqrt(6), dashed beyond
    period2 = _lines(figure, "branch 1:")
    assert sorted(line.get_gid() for line in period2) == ["branch 1:x_0:stable", "branch 1:x_0:unstable",
                                                         "branch 1:x_1:stable", "branch 1:x_1:unstable"]
    for line in period2:
        x = np.asarray(line.get_xdata())
        if line.get_linestyle() == "-":
            assert max(x) <= FLIP_2 + 1e-6 and max(x) == pytest.approx(FLIP_2, abs=1e-3)
        else:
            assert line.get_linestyle() == "--" and min(x) >= FLIP_2 - 1e-6


def test_split_without_points_is_on_the_chord(logistic):
    b1, *_ = logistic
    solid, dashed = bifurcation_diagram(b1).axes[0].get_lines()
    assert (solid.get_linestyle(), dashed.get_linestyle()) == ("-", "--")
    # |2 - r| - 1 is linear in r, so the interpolated crossing is r = 3 to rounding
    assert solid.get_xdata()[-1] == dashed.get_xdata()[0] == pytest.approx(3, abs=1e-9)
    assert solid.get_ydata()[-1] == pytest.approx(2 / 3, abs=1e-4)  # on the chord between two branch points


def test_points_marked_by_kind(logistic):
    b1, f1, b2, f2 = logistic
    ax = bifurcation_diagram([b1, b2], [f1, f2]).axes[0]
    collections = ax.collections
    assert len(collections) == 2
    offsets = np.concatenate([c.get_offsets() for c in collections])
    assert sorted(np.round(offsets[:, 0], 6)) == pytest.approx([3.0, FLIP_2, FLIP_2], abs=1e-6)  # 1 + 2 orbit points
    assert offsets[0, 1] == pytest.approx(2 / 3)


def test_coordinates(logistic):
    b1, *_ = logistic
    by_index = bifurcation_diagram(b1, coordinate=0).axes[0]
    by_name = bifurcation_diagram(b1, coordinate="x").axes[0]
    norm = bifurcation_diagram(b1, coordinate="norm").axes[0]
    assert norm.get_ylabel() == "|x|" and by_name.get_ylabel() == "x"
    for a, b, c in zip(by_index.get_lines(), by_name.get_lines(), norm.get_lines()):
        assert np.array_equal(a.get_ydata(), b.get_ydata())
        assert np.allclose(np.abs(a.get_ydata()), c.get_ydata())
    for bad in (1, -2, "y", 0.5, True):
        with pytest.raises(ParameterError, match="coordinate"):
            bifurcation_diagram(b1, coordinate=bad)


def test_henon_norm_and_two_multipliers(tmp_path):
    problem = ContinuationProblem.from_guess(build_model("henon"), 1, "a", ["0.6", "0.18"], {"a": "0.2", "b": "3/10"})
    branch = continue_branch(problem, options=ContinuationOptions(p_min=0.1, p_max=0.6, direction="forward"))
    flip = locate(branch, branch.detections[0], dps=20)
    ax = bifurcation_diagram(branch, [flip], coordinate="norm", path=tmp_path / "h.png").axes[0]
    assert ax.get_ylabel() == "‖(x, y)‖" and ax.get_xlabel() == "a"
    figure = multipliers_plot(branch, path=tmp_path / "hm.png")
    assert _is_png(tmp_path / "hm.png")
    top, bottom = figure.axes
    data = [line for line in bottom.get_lines() if line.get_label().startswith("Re") and "=" not in line.get_label()]
    assert [line.get_label() for line in data] == ["Re μ1", "Re μ2"]
    # the two real multipliers are followed continuously: no jump between consecutive points
    for line in data:
        assert np.max(np.abs(np.diff(line.get_ydata()))) < 0.2


def test_multipliers_plot(logistic, tmp_path):
    b1, f1, b2, f2 = logistic
    path = tmp_path / "multipliers.png"
    figure = multipliers_plot(b1, path=path)
    assert _is_png(path)
    top, bottom = figure.axes
    assert (top.get_ylabel(), bottom.get_ylabel(), bottom.get_xlabel()) == ("|μ|", "Re μ", "r")
    assert "period-1" in top.get_title()
    modulus = [line for line in top.get_lines() if line.get_label() == "|μ|"][0]
    r = np.asarray(modulus.get_xdata())
    assert np.allclose(modulus.get_ydata(), np.abs(2 - r), atol=1e-9)  # multiplier 2 - r
    real = [line for line in bottom.get_lines() if line.get_label() == "Re μ"][0]
    assert np.allclose(real.get_ydata(), 2 - r, atol=1e-9)
    unit = [line for line in top.get_lines() if "unit circle" in line.get_label()]
    assert len(unit) == 1 and set(np.asarray(unit[0].get_ydata(), dtype=float)) == {1.0}
    levels = sorted(float(line.get_ydata()[0]) for line in bottom.get_lines() if line.get_linestyle() == ":")
    assert levels == [-1.0, 1.0]
    assert top.get_legend() is not None and bottom.get_legend() is not None


def test_graph_and_records_plot_like_live_objects(logistic, tmp_path):
    b1, f1, b2, f2 = logistic
    g = BifurcationGraph()
    p = g.add_point(g.add_branch(b1), f1)
    g.add_branch(b2, born_at=p)
    read = BifurcationGraph.from_json(g.to_json())
    live = bifurcation_diagram([b1, b2], [f1]).axes[0]
    stored = bifurcation_diagram(read, path=tmp_path / "graph.png").axes[0]
    assert _is_png(tmp_path / "graph.png")
    assert len(live.get_lines()) == len(stored.get_lines())
    for a, b in zip(live.get_lines(), stored.get_lines()):
        assert np.array_equal(a.get_xdata(), b.get_xdata()) and np.array_equal(a.get_ydata(), b.get_ydata())
        assert a.get_linestyle() == b.get_linestyle()
    assert [t.get_text() for t in stored.get_legend().get_texts()][:2] == ["B0: period 1", "B1: period 2"]
    record = read.graph.nodes["B0"]
    assert np.array_equal(multipliers_plot(record).axes[0].get_lines()[0].get_ydata(),
                          multipliers_plot(b1).axes[0].get_lines()[0].get_ydata())


def test_given_axes(logistic):
    from matplotlib.figure import Figure

    b1, *_ = logistic
    figure = Figure()
    ax = figure.add_subplot(1, 2, 1)
    assert bifurcation_diagram(b1, ax=ax) is figure and ax.get_lines()
    pair = (figure.add_subplot(2, 2, 2), figure.add_subplot(2, 2, 4))
    assert multipliers_plot(b1, ax=pair) is figure and pair[1].get_xlabel() == "r"
    with pytest.raises(ParameterError, match="pair of Axes"):
        multipliers_plot(b1, ax=ax)


def test_bad_inputs(logistic):
    b1, f1, *_ = logistic
    with pytest.raises(ParameterError, match="no branch"):
        bifurcation_diagram([])
    with pytest.raises(ParameterError, match="expected a Branch"):
        bifurcation_diagram([f1])
    with pytest.raises(ParameterError, match="expected a BifurcationPoint"):
        bifurcation_diagram(b1, [b1])
    henon = ContinuationProblem.from_guess(build_model("henon"), 1, "a", ["0.6", "0.18"], {"a": "0.2", "b": "3/10"})
    other = continue_branch(henon, options=ContinuationOptions(p_min=0.1, p_max=0.3))
    with pytest.raises(ParameterError, match="different parameters"):
        bifurcation_diagram([b1, other])


def test_not_located_points_left_out(logistic):
    import dataclasses

    b1, f1, *_ = logistic
    missing = dataclasses.replace(f1, status="not-located", value=None, orbit=(), digits=0)
    assert len(bifurcation_diagram(b1, [missing]).axes[0].collections) == 0


def test_no_global_state(logistic):
    import matplotlib

    b1, *_ = logistic
    pyplot_before = "matplotlib.pyplot" in sys.modules
    backend = matplotlib.rcParams._get_backend_or_none()
    bifurcation_diagram(b1)
    multipliers_plot(b1)
    assert matplotlib.rcParams._get_backend_or_none() == backend
    if not pyplot_before:
        assert "matplotlib.pyplot" not in sys.modules


def test_missing_matplotlib(logistic, monkeypatch):
    b1, *_ = logistic
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    for make in (bifurcation_diagram, multipliers_plot):
        with pytest.raises(ParameterError, match=r"install dynsys_eos\[plot\]") as info:
            make(b1)
        assert isinstance(info.value, DynsysError)
