"""Figures of trajectories and of the UV function-space map (matplotlib, an optional extra).

As in :mod:`dynsys_eos.plot`: matplotlib is imported only when a figure is
made, figures are built on an Agg canvas without ``pyplot`` (nothing global
changes), and each function returns the Figure, writing it to ``path`` when
one is given.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> from dynsys_eos.eos import trajectory, TrajectoryOptions
>>> t = trajectory(build_model("minimalist2", lr="0.3"), ["1.5", "0.5"], TrajectoryOptions(steps=200))
>>> [axes.get_ylabel() for axes in trajectory_plot(t).axes]
['loss', 'sharpness']
>>> figure = phase_portrait(n=4, y=2, s=1, lr="1.1")
>>> figure.axes[0].get_xlabel()
'Delta f = f - y'
"""

import numpy as np

from .errors import ParameterError
from .plot import _matplotlib, _save

__all__ = ["trajectory_plot", "phase_portrait", "PHASE_COLORS"]

#: Background colour of each phase label in :func:`trajectory_plot`.
PHASE_COLORS = {"eos": "#f4a582", "sharpening": "#92c5de", "reduction": "#b8e186", "stable": "#f7f7f7"}


def _figure(size, rows=1, cols=1, sharex=True):
    Figure, FigureCanvasAgg, _ = _matplotlib()
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(rows, cols, 1)]
    for i in range(2, rows * cols + 1):
        axes.append(figure.add_subplot(rows, cols, i, sharex=axes[0] if sharex else None))
    return figure, axes


def trajectory_plot(traj, path=None, size=(7.5, 5.5)):
    """Loss (log scale) and sharpness against the step, with the rule's 2/lr line and the phases shaded.

    A raw map (no loss) gets one panel with its state components.
    """
    steps = np.asarray(traj.steps)
    if traj.loss is None:
        figure, (axes,) = _figure((size[0], size[1] / 2))
        states = np.asarray(traj.states, dtype=float)
        for i, name in enumerate(traj.map.state_names[:6]):
            axes.plot(steps, states[:, i], ".", markersize=2, label=name)
        axes.set_xlabel("step")
        axes.set_ylabel("state")
        axes.legend(loc="best", fontsize=8)
        return _save(figure, path)
    rows = 2 if traj.sharpness is not None else 1
    figure, axes = _figure(size, rows)
    loss = np.asarray(traj.loss, dtype=float)
    axes[0].semilogy(steps, np.maximum(loss, 1e-300), lw=0.8, color="#333333")
    axes[0].set_ylabel("loss")
    if traj.sharpness is not None:
        ax = axes[1]
        ax.plot(steps, np.asarray(traj.sharpness, dtype=float), lw=0.8, color="#1f77b4", label="sharpness")
        ax.plot(steps, np.asarray(traj.threshold, dtype=float), "--", lw=1.0, color="#d62728",
                label={"gd": "2/lr", "hb": "2(1+beta)/lr", "ngd": "2|grad L|/lr", "sqrt": "4 sqrt(L - L*)/lr"}
                .get(traj.map.rule, "threshold"))
        ax.set_ylabel("sharpness")
        ax.legend(loc="best", fontsize=8)
        for phase in traj.phases:
            for a in axes:
                a.axvspan(phase.start, max(phase.stop, phase.start + 0.5), color=PHASE_COLORS[phase.label], alpha=0.5,
                          lw=0)
        handles = [_patch(label) for label in dict.fromkeys(p.label for p in traj.phases)]
        axes[0].legend(handles=handles, loc="best", fontsize=8, title="phase", title_fontsize=8)
    axes[-1].set_xlabel("step")
    axes[0].set_title(f"{traj.map.name}: {traj.message}", fontsize=9)
    return _save(figure, path)


def _patch(label):
    from matplotlib.patches import Patch

    return Patch(color=PHASE_COLORS[label], label=label)


def phase_portrait(n=4, y=2, s=1, lr="11/10", orbits=(), df_range=None, lam_range=None, path=None, size=(6.5, 5.5),
                   steps=300):
    """Phase portrait of the UV function-space map (Delta f, lambda) -> (Delta f', lambda').

    Draws the displacement field, the two nullclines, the forbidden region
    lambda < 2 |x| |Delta f + y|/sqrt(n) (shaded), the line of minima
    (solid where lambda < 2/lr, i.e. stable; dashed above), the fixed
    points off the line, and orbits from the given starting points
    ``orbits`` (a sequence of (Delta f, lambda)), iterated ``steps`` times.
    """
    import sympy

    from .values import sympy_number
    from .uvspace import _derived, df, fixed_points, lam, lr as lr_sym, n as n_sym, s as s_sym, y as y_sym

    values = {sym: sympy_number(v, name) for sym, v, name in ((lr_sym, lr, "lr"), (y_sym, y, "y"), (n_sym, n, "n"),
                                                              (s_sym, s, "s"))}
    rate, target, width, norm2 = (float(values[k]) for k in (lr_sym, y_sym, n_sym, s_sym))
    m = _derived()
    F = sympy.lambdify((df, lam), [m.df_next.xreplace(values), m.lam_next.xreplace(values)], "numpy")
    edge = 2 / rate
    df_range = df_range or (-2.0 * abs(target) - 0.5, 2.0 * abs(target) + 0.5)
    lam_range = lam_range or (0.0, 2.5 * edge)
    figure, (axes,) = _figure(size)
    X, Y = np.meshgrid(np.linspace(*df_range, 25), np.linspace(*lam_range, 25))
    with np.errstate(all="ignore"):
        U, V = F(X, Y)
    U, V = np.asarray(U) - X, np.asarray(V) - Y
    length = np.hypot(U, V)
    scale = np.where(length > 0, 1 / np.maximum(length, 1e-300), 0)
    axes.quiver(X, Y, U * scale, V * scale, np.log10(np.maximum(length, 1e-12)), cmap="Greys", alpha=0.6,
                angles="xy", scale=40, width=0.0025)
    grid = np.linspace(*df_range, 800)
    boundary = 2 * np.sqrt(norm2) * np.abs(grid + target) / np.sqrt(width)
    axes.fill_between(grid, lam_range[0], boundary, color="#bbbbbb", alpha=0.6, lw=0, label="forbidden region")
    with np.errstate(all="ignore"):
        first = rate * norm2 / width * grid * (grid + target)
        second = np.where(np.abs(grid) > 1e-9, 4 * (grid + target) / (rate * grid), np.nan)
    axes.plot(grid, first, color="#1f77b4", lw=1.2, label="nullcline: Delta f' = Delta f")
    axes.plot(grid, second, color="#2ca02c", lw=1.2, label="nullcline: lambda' = lambda")
    axes.plot([0, 0], [lam_range[0], min(edge, lam_range[1])], color="#d62728", lw=2.2, label="minima, stable")
    axes.plot([0, 0], [edge, lam_range[1]], color="#d62728", lw=1.5, ls="--", label="minima, unstable (lambda > 2/lr)")
    for point in fixed_points(values[lr_sym], target, width, norm2):
        if point.kind != "minima line":
            axes.plot(float(point.df), float(point.lam), "o", color="#9467bd", markersize=6)
    for start in orbits:
        z = np.array([float(start[0]), float(start[1])])
        if z[1] < 2 * np.sqrt(norm2) * abs(z[0] + target) / np.sqrt(width):
            raise ParameterError(f"orbit start {tuple(start)} lies in the forbidden region: no parameters (U, v) "
                                 f"have lambda < 2 |x| |Delta f + y| / sqrt(n)")
        path_points = [z]
        for _ in range(steps):
            with np.errstate(all="ignore"):
                z = np.array([float(v) for v in F(z[0], z[1])])
            if not np.all(np.isfinite(z)) or np.max(np.abs(z)) > 1e6:
                break
            path_points.append(z)
        path_points = np.array(path_points)
        axes.plot(path_points[:, 0], path_points[:, 1], ".-", lw=0.4, markersize=2.5)
    axes.set_xlim(*df_range)
    axes.set_ylim(*lam_range)
    axes.set_xlabel("Delta f = f - y")
    axes.set_ylabel("lambda (NTK)")
    axes.set_title(f"UV model in function space: n={width:g}, |x|^2={norm2:g}, y={target:g}, lr={rate:g} "
                   f"(2/lr = {edge:.3g})", fontsize=9)
    axes.legend(loc="upper right", fontsize=7)
    return _save(figure, path)
