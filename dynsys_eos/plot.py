"""Figures: bifurcation diagrams and multipliers along a branch (matplotlib, an optional extra).

matplotlib is imported only when a figure is made (``pip install
dynsys_eos[plot]``).  Figures are built with :class:`matplotlib.figure.Figure`
on an Agg canvas, never through ``pyplot``: nothing global changes (no
backend is chosen, no figure is registered), so they are safe in scripts,
servers and tests.  Each function returns the Figure and writes it to
``path`` when one is given (PNG unless the suffix names another format).

Branches may be given as :class:`~dynsys_eos.continuation.Branch` objects or
as the records of a :class:`~dynsys_eos.graph.BifurcationGraph` (a graph read
back from JSON plots the same), points as
:class:`~dynsys_eos.bifurcation.BifurcationPoint` objects or point records.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, continue_branch
>>> from dynsys_eos.bifurcation import locate
>>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
>>> branch = continue_branch(problem, options=ContinuationOptions(p_min=2.8, p_max=3.3, direction="forward"))
>>> figure = bifurcation_diagram(branch, [locate(branch, branch.detections[0], dps=20)])
>>> axes = figure.axes[0]
>>> axes.get_xlabel(), axes.get_ylabel(), sorted({line.get_linestyle() for line in axes.get_lines()})
('r', 'x', ['-', '--'])
>>> [axes.get_xlabel() for axes in multipliers_plot(branch).axes]
['', 'r']
"""

import math

import numpy as np

from .errors import ParameterError
from .graph import BifurcationGraph, branch_record, point_record

__all__ = ["bifurcation_diagram", "multipliers_plot", "POINT_STYLES"]

#: Marker, colour and legend label of each kind of special point.
POINT_STYLES = {
    "flip": {"marker": "o", "color": "#d62728", "label": "flip (multiplier -1)"},
    "fold": {"marker": "s", "color": "#2ca02c", "label": "fold (multiplier +1)"},
    "ns": {"marker": "^", "color": "#9467bd", "label": "Neimark-Sacker"},
    "branch": {"marker": "*", "color": "#ff7f0e", "label": "branch point"},
}

_BRANCH_COLORS = ("#1f77b4", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2", "#393b79", "#637939")


def _matplotlib():
    """The matplotlib pieces used here, or a clear error when the extra is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        raise ParameterError("plots need matplotlib: install dynsys_eos[plot] "
                             "(pip install 'dynsys_eos[plot]')") from None
    return Figure, FigureCanvasAgg, Line2D


def _new_figure(size, rows=1):
    Figure, FigureCanvasAgg, _ = _matplotlib()
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(rows, 1, 1)]
    for i in range(2, rows + 1):
        axes.append(figure.add_subplot(rows, 1, i, sharex=axes[0]))
    return figure, axes


def _save(figure, path):
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


# ------------------------------------------------------------------------------------- inputs as records


def _as_branch(branch):
    """(record, label) of a Branch or a branch record."""
    if isinstance(branch, dict):
        if branch.get("type", "branch") != "branch" or "points" not in branch:
            raise ParameterError("expected a Branch or a branch record (with 'points'), got a record of another kind")
        return branch
    if hasattr(branch, "problem") and hasattr(branch, "points"):
        return branch_record(branch)
    raise ParameterError(f"expected a Branch or a branch record, got {type(branch).__name__}")


def _as_point(point):
    if isinstance(point, dict):
        if point.get("type", "point") != "point" or "kind" not in point:
            raise ParameterError("expected a BifurcationPoint or a point record, got a record of another kind")
        return point
    if hasattr(point, "kind") and hasattr(point, "orbit"):
        return point_record(point)
    raise ParameterError(f"expected a BifurcationPoint or a point record, got {type(point).__name__}")


def _inputs(branches, points):
    """Lists of (label, branch record) and point records from whatever was given."""
    if isinstance(branches, BifurcationGraph):
        graph = branches
        labelled = [(node, graph.graph.nodes[node]) for node in graph.nodes("branch")]
        if points == () or points is None:
            points = [graph.graph.nodes[node] for node in graph.nodes("point")]
    else:
        if isinstance(branches, dict) or hasattr(branches, "problem"):
            branches = [branches]
        labelled = [(None, _as_branch(b)) for b in branches]
    if not labelled:
        raise ParameterError("no branch to plot")
    parameters = sorted({record["parameter"] for _, record in labelled})
    if len(parameters) > 1:
        raise ParameterError(f"branches in different parameters ({', '.join(parameters)}) cannot share a diagram")
    return labelled, [_as_point(p) for p in (points or ())]


def _coordinate(coordinate, state_names):
    """(function of an (k, n) orbit array -> k values, axis label)."""
    n = len(state_names)
    if isinstance(coordinate, str) and coordinate == "norm":
        label = f"|{state_names[0]}|" if n == 1 else f"‖({', '.join(state_names)})‖"
        return (lambda orbit: np.linalg.norm(orbit, axis=-1)), label
    if isinstance(coordinate, str):
        if coordinate not in state_names:
            raise ParameterError(f"unknown coordinate {coordinate!r}: use an index, a state name "
                                 f"({', '.join(state_names)}) or 'norm'")
        coordinate = list(state_names).index(coordinate)
    if isinstance(coordinate, bool) or not isinstance(coordinate, (int, np.integer)) or not -n <= coordinate < n:
        raise ParameterError(f"coordinate must be an index in [0, {n}), a state name ({', '.join(state_names)}) "
                             f"or 'norm', got {coordinate!r}")
    return (lambda orbit: np.asarray(orbit)[..., int(coordinate)]), state_names[int(coordinate)]


def _floats(values):
    return np.array([float(v) for v in values], dtype=float)  # float("nan") / float("inf") read the strings back


def _runs(record, value_of, located=()):
    """Split a branch into runs of equal stability: [(stable, parameters, values (m, k))].

    Consecutive runs share their end point, so the curve has no gap.  That
    point is a located special point of the branch when one lies between
    the two branch points that bracket the change (``located``: pairs of
    parameter value and orbit, float64); otherwise it is placed on the chord
    where the largest multiplier modulus crosses 1 (linear interpolation).
    """
    points = record["points"]
    if not points:
        return []
    p = _floats(pt["parameter"] for pt in points)
    orbits = [np.array([_floats(x) for x in pt["orbit"]]) for pt in points]
    values = np.array([value_of(orbit) for orbit in orbits])
    stable = [pt["unstable_count"] == 0 for pt in points]
    excess = np.array([max((math.hypot(float(re), float(im)) for re, im in pt["multipliers"]), default=math.nan) - 1
                       for pt in points])
    runs = []
    current = ([p[0]], [values[0]])
    for i in range(len(points) - 1):
        if stable[i + 1] != stable[i]:
            cross = _split_point(p[i], p[i + 1], orbits[i], orbits[i + 1], excess[i], excess[i + 1], located)
            cross = (cross[0], value_of(cross[1]))
            current[0].append(cross[0])
            current[1].append(cross[1])
            runs.append((stable[i], np.array(current[0]), np.array(current[1])))
            current = ([cross[0]], [cross[1]])
        current[0].append(p[i + 1])
        current[1].append(values[i + 1])
    runs.append((stable[-1], np.array(current[0]), np.array(current[1])))
    return runs


def _split_point(pa, pb, xa, xb, ea, eb, located):
    """(parameter, orbit) where stability changes between two branch points."""
    low, high = min(pa, pb), max(pa, pb)
    reach = np.max(np.abs(xb - xa)) + 1e-9
    for value, orbit in located:
        if low - 1e-12 <= value <= high + 1e-12 and orbit.shape == xa.shape:
            w = (value - pa) / (pb - pa) if pb != pa else 0.5
            if np.max(np.abs(orbit - ((1 - w) * xa + w * xb))) <= reach:  # on this branch, not another one
                return value, orbit
    w = ea / (ea - eb) if np.isfinite(ea) and np.isfinite(eb) and ea != eb else 0.5
    w = min(max(w, 0.0), 1.0)
    return (1 - w) * pa + w * pb, (1 - w) * xa + w * xb


def _follow(mu, previous):
    """``mu`` reordered so that entry i is the multiplier nearest entry i of ``previous`` (an optimal matching)."""
    from scipy.optimize import linear_sum_assignment

    cost = np.abs(np.subtract.outer(previous, mu))
    cost[~np.isfinite(cost)] = 1e300
    _, columns = linear_sum_assignment(cost)
    return mu[columns]


# ------------------------------------------------------------------------------------------- figures


def bifurcation_diagram(branches, points=(), coordinate=0, ax=None, path=None):
    """Parameter against a state coordinate along branches: stable parts solid, unstable dashed.

    Parameters
    ----------
    branches : Branch, branch record, sequence of them, or BifurcationGraph
        The branches (all in the same parameter).  A graph gives all its
        branches, and all its points unless ``points`` is given.
    points : sequence of BifurcationPoint or point records
        Special points to mark (one marker per kind, labelled with the value);
        points not located (no orbit) are left out.  A located point where a
        branch changes stability is also where its solid and dashed parts meet.
    coordinate : int, str
        An index into the state, a state name, or ``"norm"`` for the
        Euclidean norm of the state.  For a period-k branch every point of
        the orbit x_0, ..., x_{k-1} is drawn at each parameter value.
    ax : matplotlib Axes, optional
        Draw into these axes (else a new Figure on an Agg canvas).
    path : str or path-like, optional
        Save the figure there (PNG unless the suffix says otherwise).

    Returns
    -------
    matplotlib.figure.Figure
        One data line (Line2D) per run of equal stability and orbit point;
        special points are scatter collections.

    Examples
    --------
    >>> from dynsys_eos.models import build_model
    >>> from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, continue_branch
    >>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
    >>> branch = continue_branch(problem, options=ContinuationOptions(p_min=2.8, p_max=3.3, direction="forward"))
    >>> figure = bifurcation_diagram(branch, coordinate="norm")
    >>> [(line.get_linestyle(), round(float(min(line.get_xdata())), 9), round(float(max(line.get_xdata())), 9))
    ...  for line in figure.axes[0].get_lines()]
    [('-', 2.8, 3.0), ('--', 3.0, 3.3)]
    """
    _, _, Line2D = _matplotlib()
    labelled, point_records = _inputs(branches, points)
    first = labelled[0][1]
    value_of, ylabel = _coordinate(coordinate, first["state_names"])
    if ax is None:
        figure, (ax,) = _new_figure((7.5, 5))
    else:
        figure = ax.figure
    located = [(float(r["value"]), np.array([_floats(x) for x in r["orbit"]]), r["period"], r["parameter"])
               for r in point_records if r["value"] is not None and r["orbit"]]
    branch_handles = []
    for i, (node, record) in enumerate(labelled):
        color = _BRANCH_COLORS[i % len(_BRANCH_COLORS)]
        if record["state_names"] != first["state_names"]:
            value_of_branch, _ = _coordinate(coordinate, record["state_names"])
        else:
            value_of_branch = value_of
        name = node or f"branch {i}"
        branch_handles.append(Line2D([], [], color=color, linewidth=1.6,
                                     label=f"{node + ': ' if node else ''}period {record['period']}"))
        on_branch = [(v, orbit) for v, orbit, period, parameter in located
                     if (period, parameter) == (record["period"], record["parameter"])]
        for stable, p, values in _runs(record, value_of_branch, on_branch):
            for j in range(values.shape[1]):
                line, = ax.plot(p, values[:, j], color=color, linestyle="-" if stable else "--", linewidth=1.6,
                                label="_nolegend_")
                line.set_gid(f"{name}:x_{j}:{'stable' if stable else 'unstable'}")
    seen = set()
    for record in point_records:
        if record["value"] is None or not record["orbit"]:
            continue
        style = POINT_STYLES[record["kind"]]
        orbit = np.array([_floats(x) for x in record["orbit"]])
        ys = np.atleast_1d(value_of(orbit))
        x = float(record["value"])
        ax.scatter([x] * len(ys), ys, marker=style["marker"], s=70 if style["marker"] == "*" else 45,
                   color=style["color"], edgecolors="black", linewidths=0.6, zorder=3,
                   label=style["label"] if record["kind"] not in seen else "_nolegend_")
        seen.add(record["kind"])
        ax.annotate(f"{record['parameter']} = {x:.6g}", (x, float(np.max(ys))), xytext=(4, 6),
                    textcoords="offset points", fontsize=8, color=style["color"])
    handles, labels = ax.get_legend_handles_labels()
    handles = branch_handles + handles + [Line2D([], [], color="0.3", linestyle="-", label="stable"),
                Line2D([], [], color="0.3", linestyle="--", label="unstable")]
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_xlabel(first["parameter"])
    ax.set_ylabel(ylabel)
    ax.set_title(f"Bifurcation diagram of the {first['model']} map in {first['parameter']}")
    ax.grid(True, alpha=0.3)
    return _save(figure, path)


def multipliers_plot(branch, ax=None, path=None):
    """The multipliers along a branch: moduli (with the unit circle, |mu| = 1) and real parts, against the parameter.

    Parameters
    ----------
    branch : Branch or branch record
    ax : pair of matplotlib Axes, optional
        Axes for the moduli and for the real parts (else a new two-panel Figure).
    path : str or path-like, optional
        Save the figure there.

    Returns
    -------
    matplotlib.figure.Figure
        At the first point the multipliers are sorted by decreasing modulus;
        each line then follows one multiplier along the branch (matched to the
        nearest at the previous point), so lines cross where multipliers do.

    Examples
    --------
    >>> from dynsys_eos.models import build_model
    >>> from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, continue_branch
    >>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
    >>> figure = multipliers_plot(continue_branch(problem, options=ContinuationOptions(p_min=2.8, p_max=3.3)))
    >>> [axes.get_ylabel() for axes in figure.axes]
    ['|μ|', 'Re μ']
    """
    _matplotlib()
    record = _as_branch(branch)
    if ax is None:
        figure, (top, bottom) = _new_figure((7.5, 6), rows=2)
    else:
        try:
            top, bottom = ax
        except (TypeError, ValueError):
            raise ParameterError("ax must be a pair of Axes (moduli, real parts)") from None
        figure = top.figure
    p = _floats(pt["parameter"] for pt in record["points"])
    count = max((len(pt["multipliers"]) for pt in record["points"]), default=0)
    moduli = np.full((len(p), count), np.nan)
    reals = np.full((len(p), count), np.nan)
    previous = None
    for i, pt in enumerate(record["points"]):
        mu = np.array([complex(float(re), float(im)) for re, im in pt["multipliers"]])
        mu = _follow(mu, previous) if previous is not None and len(mu) == len(previous) else \
            mu[np.argsort(-np.abs(mu), kind="stable")]
        moduli[i, :len(mu)] = np.abs(mu)
        reals[i, :len(mu)] = mu.real
        previous = mu
    for j in range(count):
        color = _BRANCH_COLORS[j % len(_BRANCH_COLORS)]
        name = "μ" if count == 1 else f"μ{j + 1}"
        top.plot(p, moduli[:, j], color=color, marker=".", markersize=4, label=f"|{name}|")
        bottom.plot(p, reals[:, j], color=color, marker=".", markersize=4, label=f"Re {name}")
    top.axhline(1.0, color="black", linestyle=":", linewidth=1.2, label="|μ| = 1 (unit circle)")
    for level, label in ((1.0, "Re μ = ±1"), (-1.0, "_nolegend_")):
        bottom.axhline(level, color="black", linestyle=":", linewidth=1.2, label=label)
    for axes in (top, bottom):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8, loc="best")
    top.set_ylabel("|μ|")
    bottom.set_ylabel("Re μ")
    bottom.set_xlabel(record["parameter"])
    top.set_title(f"Multipliers along the period-{record['period']} branch of the {record['model']} map")
    return _save(figure, path)


def cascade_diagram(cascade, coordinate=0, ax=None, path=None, samples=600, transient=2000, shown=200):
    """Orbit diagram (the attractor against the parameter) with the located flips of a cascade marked.

    The attractor is sampled in float64 on a grid from a little before the
    first flip to a little past the accumulation point: ``transient``
    iterates are dropped, the next ``shown`` are drawn.  The map is
    evaluated on the whole grid at once (the compiled map is vectorized over
    parameter values).
    """
    from .arith import Float64

    problem = cascade.problem
    map_, parameter = problem.map, problem.parameter
    if not cascade.flips:
        raise ParameterError("the cascade has no located flip to draw")
    names = list(map_.state_names)
    index = coordinate if isinstance(coordinate, int) else names.index(coordinate)
    first = float(cascade.flips[0].value)
    last = float(cascade.accumulation.value) if cascade.accumulation is not None else float(cascade.flips[-1].value)
    margin = 0.15 * abs(last - first) or 0.1
    low, high = sorted([first - margin, last + margin])
    grid = np.linspace(low, high, samples)
    values = {name: Float64().number(v) for name, v in problem.parameters.items()}
    values[parameter] = grid
    bound = map_.function.compile(Float64()).bind(values)
    x = np.tile(np.asarray(problem.start[0], dtype=float).reshape(-1, 1), (1, samples))
    program = map_.function.program("value").bind(Float64())  # raw and vectorized: NaN marks escaped points
    with np.errstate(all="ignore"):
        for _ in range(transient):
            x = np.array(program(list(x), bound.parameters))
        trace = []
        for _ in range(shown):
            x = np.array(program(list(x), bound.parameters))
            trace.append(x[index].copy())
    figure, axes = (ax.figure, [ax]) if ax is not None else _new_figure((9, 5.5))
    axis = axes[0]
    trace = np.array(trace)
    finite = np.isfinite(trace)
    axis.plot(np.broadcast_to(grid, trace.shape)[finite], trace[finite], ",", color="0.25", alpha=0.6)
    for flip in cascade.flips:
        xs = [float(p[index]) for p in flip.point.orbit]
        axis.plot([float(flip.value)] * len(xs), xs, "o", color="tab:red", markersize=3)
        axis.axvline(float(flip.value), color="tab:red", linewidth=0.5, alpha=0.5)
    if cascade.accumulation is not None:
        axis.axvline(last, color="tab:blue", linestyle="--", linewidth=1,
                     label=f"accumulation {parameter} = {cascade.accumulation.format(12)}")
    axis.plot([], [], "o", color="tab:red", markersize=3, label="located flips (critical orbit points)")
    axis.set_xlabel(parameter)
    axis.set_ylabel(names[index])
    title = f"Period-doubling cascade of {map_.name} in {parameter}"
    if cascade.delta is not None:
        title += f": delta = {cascade.delta.format(10)}"
    axis.set_title(title)
    axis.legend(loc="best", fontsize=8)
    return _save(figure, path)
