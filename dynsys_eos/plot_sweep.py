"""Figures of sweeps: orbit diagrams and basin maps (matplotlib, an optional extra).

Like :mod:`dynsys_eos.plot`, figures are built on an Agg canvas without
``pyplot`` (nothing global changes); each function returns the Figure and
writes it to ``path`` when one is given.

Examples
--------
>>> import numpy as np
>>> from dynsys_eos.models import build_model
>>> from dynsys_eos.sweep import orbit_diagram, basin_map
>>> d = orbit_diagram(build_model("logistic"), "r", np.linspace(2.8, 4, 200), executor="serial")
>>> figure = orbit_diagram_plot(d, marks={"r1": 3})
>>> figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel()
('r', 'x')
>>> b = basin_map(build_model("henon"), ("x", -2, 2, 40), ("y", -2, 2, 40), executor="serial")
>>> basin_plot(b).axes[0].get_title()
'Basins of henon at a=7/5, b=3/10'
"""

import numpy as np

from .errors import ParameterError
from .plot import _new_figure, _save
from .sweep import DIVERGED, OTHER, UNDETERMINED

__all__ = ["orbit_diagram_plot", "basin_plot"]

_ATTRACTOR_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                     "#bcbd22", "#7f7f7f")
_PERIOD_COLORS = ("#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffff99")
_UNDETERMINED_COLOR = (0.1, 0.1, 0.1)


def _coordinate_index(names, coordinate):
    if isinstance(coordinate, str):
        if coordinate not in names:
            raise ParameterError(f"unknown coordinate {coordinate!r}; state: {', '.join(names)}")
        return names.index(coordinate)
    if not 0 <= coordinate < len(names):
        raise ParameterError(f"coordinate index {coordinate} out of range for {len(names)} state variables")
    return coordinate


def orbit_diagram_plot(diagram, coordinate=0, marks=None, ax=None, path=None, quantity=None, quantity_label=None):
    """The recorded iterates of one coordinate against the parameter; diverged values marked at the bottom.

    Parameters
    ----------
    diagram : OrbitDiagram
    coordinate : int or str
        State coordinate shown.
    marks : dict, optional
        Label -> parameter value, drawn as vertical lines (lr_c, a flip...).
    quantity : callable, optional
        Plot ``quantity(iterates)`` instead of a coordinate: it maps an
        array ``(..., n)`` of states to ``(...)`` values (the network output
        of the UV model, say); ``quantity_label`` names it.
    """
    names = list(diagram.provenance.state_names)
    index = _coordinate_index(names, coordinate)
    figure, axes = (ax.figure, [ax]) if ax is not None else _new_figure((9, 5.5))
    axis = axes[0]
    if quantity is not None:
        with np.errstate(all="ignore"):
            trace = np.asarray(quantity(diagram.iterates), dtype=float)
        if trace.shape != diagram.iterates.shape[:2]:
            raise ParameterError(f"quantity must map states (..., n) to (...); got shape {trace.shape} "
                                 f"for {diagram.iterates.shape[:2]}")
    else:
        trace = diagram.iterates[:, :, index]
    values = np.broadcast_to(diagram.values[:, None], trace.shape)
    finite = np.isfinite(trace)
    axis.plot(values[finite], trace[finite], ",", color="0.2", alpha=0.5, rasterized=True)
    if diagram.diverged.any():
        low = np.nanmin(trace) if finite.any() else 0.0
        axis.plot(diagram.values[diagram.diverged], np.full(int(diagram.diverged.sum()), low), "|", color="tab:red",
                  markersize=6, label="diverged")
    for number, (label, value) in enumerate((marks or {}).items()):
        axis.axvline(float(value), color=_ATTRACTOR_COLORS[number % len(_ATTRACTOR_COLORS)], linestyle="--",
                     linewidth=1, label=f"{label} = {float(value):.6g}")
    axis.set_xlabel(diagram.parameter)
    axis.set_ylabel(quantity_label or "quantity" if quantity is not None else names[index])
    axis.set_title(f"Orbit diagram of {diagram.provenance.map_name} in {diagram.parameter} "
                   f"({diagram.provenance.options.keep} iterates after {diagram.provenance.options.transient})")
    if axis.get_legend_handles_labels()[0]:
        axis.legend(loc="best", fontsize=8)
    return _save(figure, path)


def _basin_colors(basin, by_attractor):
    """An RGB image: attractors in colours, other periodic ends by period, divergence shaded by escape step."""
    label, period, escape = basin.label, basin.period, basin.escape_step
    if not by_attractor:
        label = np.where(label >= 0, OTHER, label)
    image = np.ones(label.shape + (3,))
    diverged = label == DIVERGED
    if diverged.any():
        steps = np.log1p(escape[diverged].astype(float))
        top = max(steps.max(), 1e-9)
        shade = 0.97 - 0.55 * steps / top  # escapes at once: nearly white; late escapes: darker
        image[diverged] = shade[:, None]
    image[label == UNDETERMINED] = _UNDETERMINED_COLOR
    other = label == OTHER
    for p in np.unique(period[other]):
        rgb = _PERIOD_COLORS[(int(p) - 1) % len(_PERIOD_COLORS)]
        image[other & (period == p)] = [int(rgb[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    for a in basin.attractors if by_attractor else ():
        rgb = _ATTRACTOR_COLORS[a.label % len(_ATTRACTOR_COLORS)]
        image[label == a.label] = [int(rgb[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    return image


def basin_plot(basin, ax=None, path=None, color_by="auto", show_attractors=True, max_legend=8):
    """A basin map as an image: each attractor its colour, divergence in greys (darker: later escape).

    Periodic end states not among the attractors listed are coloured by
    their period; black cells stay bounded without a period up to
    ``max_period``.  ``color_by`` is ``"attractor"``, ``"period"`` (every
    converged cell by its period) or ``"auto"``: by period when the end
    states form a continuum (more distinct ones than attractors listed, as
    for a manifold of minima), else by attractor.
    """
    if color_by not in ("auto", "attractor", "period"):
        raise ParameterError(f"color_by must be 'auto', 'attractor' or 'period', got {color_by!r}")
    continuum = basin.distinct_end_states > basin.provenance.options.max_attractors
    by_attractor = color_by == "attractor" or (color_by == "auto" and not continuum)
    figure, axes = (ax.figure, [ax]) if ax is not None else _new_figure((7, 6))  # a clear error without matplotlib
    from matplotlib.patches import Patch

    axis = axes[0]
    x, y = basin.x, basin.y
    axis.imshow(_basin_colors(basin, by_attractor), origin="lower", extent=(x.start, x.stop, y.start, y.stop), aspect="auto",
                interpolation="nearest")
    names = list(basin.provenance.state_names)
    handles = []
    for a in basin.attractors[:max_legend] if by_attractor else ():
        handles.append(Patch(color=_ATTRACTOR_COLORS[a.label % len(_ATTRACTOR_COLORS)],
                             label=f"attractor {a.label}: period {a.period} ({a.cells} cells)"))
        if show_attractors:
            points = a.points
            axis.plot(points[:, names.index(x.name)], points[:, names.index(y.name)], "o", color="white",
                      markeredgecolor="black", markersize=4)
    other = (basin.label == OTHER) | ((basin.label >= 0) & (not by_attractor))
    kind = "other end states" if by_attractor else f"{basin.distinct_end_states} distinct end states in all"
    for p in np.unique(basin.period[other])[:max_legend]:
        handles.append(Patch(color=_PERIOD_COLORS[(int(p) - 1) % len(_PERIOD_COLORS)],
                             label=f"converged, period {int(p)} ({int((other & (basin.period == p)).sum())} cells)"))
    if other.any():
        handles.append(Patch(color="none", label=f"({kind})"))
    if (basin.label == UNDETERMINED).any():
        handles.append(Patch(color=_UNDETERMINED_COLOR, label=f"bounded, no period <= {basin.provenance.options.max_period}"))
    if basin.diverged.any():
        handles.append(Patch(color="0.7", label="diverged (darker: later)"))
    axis.set_xlabel(x.name)
    axis.set_ylabel(y.name)
    parameters = ", ".join(f"{k}={v}" for k, v in basin.provenance.parameters.items())
    axis.set_title(f"Basins of {basin.provenance.map_name} at {parameters}" if parameters
                   else f"Basins of {basin.provenance.map_name}")
    if handles:
        axis.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.85)
    return _save(figure, path)
