"""Figures for docs/continuation.md: continuation, located flips and branch switching.

Run from the repository root:

    PYTHONPATH=. python docs/figures/make_continuation_figures.py

It writes, next to this script:

* ``continuation-logistic-cascade.png``: the logistic map, the period-1, 2, 4
  and 8 branches in r, each flip located at 100 digits and switched at;
* ``continuation-uv-lr.png``: GD on the uv model (n = 4), the flattest
  minimum and the period-2 (EoS) orbit born at its flip, against lr, with the
  norm of the state as the coordinate;
* ``continuation-uv-multipliers.png``: the multipliers along that period-2
  branch (the transverse ones: the 1's along the manifold are removed).

Only the public API is used: ``continue_branch``, ``locate``, ``switch``,
:class:`~dynsys_eos.graph.BifurcationGraph` and
:mod:`dynsys_eos.plot` (``bifurcation_diagram``, ``multipliers_plot``).
matplotlib is needed (the ``plot`` extra); pyplot is not used.
"""

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys_eos.bifurcation import locate, switch
from dynsys_eos.continuation import PALC, ContinuationOptions, ContinuationProblem, continue_branch
from dynsys_eos.graph import BifurcationGraph
from dynsys_eos.models import build_model
from dynsys_eos.plot import bifurcation_diagram, multipliers_plot

HERE = Path(__file__).parent


def cascade(problem, options, branches, dps):
    """``branches`` branches of a period-doubling cascade, each flip located at ``dps`` digits (a BifurcationGraph).

    Continue, locate the first flip, switch to the doubled branch born there,
    and again; the flip of the last branch is located and marked too.
    """
    graph = BifurcationGraph()
    node = graph.add_branch(continue_branch(problem, PALC(), options))
    for level in range(branches):
        branch = graph.branch(node)
        flips = [d for d in branch.detections if d.kind == "flip"]
        assert flips, f"no flip on {node}: {branch.message}"
        point = graph.add_point(node, locate(branch, flips[0], dps=dps))
        assert graph.point(point).status == "located", graph.point(point).message
        if level + 1 < branches:
            new = continue_branch(switch(branch, graph.point(point)), PALC(), options)
            node = graph.add_branch(new, born_at=point)
    return graph


def two_panels(width, height, ratios):
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, 2, gridspec_kw={"width_ratios": ratios})


# ---------------------------------------------------------------- logistic: periods 1, 2, 4, 8

problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
graph = cascade(problem, ContinuationOptions(p_min=2.8, p_max=3.57, ds_max=0.02, direction="forward"),
                branches=4, dps=100)
print(graph.summary_table())

ZOOM = (3.535, 3.5705)
figure, (left, right) = two_panels(13, 5.2, (3, 2))
bifurcation_diagram(graph, ax=left)
for text in list(left.texts):  # the labels of the two flips inside the zoom would overlap: the zoom shows them
    if text.xy[0] > ZOOM[0]:
        text.remove()
left.axvspan(*ZOOM, color="0.85", alpha=0.5, zorder=0)
left.annotate("zoom (right)", (ZOOM[0], 0.62), xytext=(-4, 0), textcoords="offset points", ha="right", fontsize=8,
              color="0.35")
left.set_title("Logistic map: periods 1, 2, 4, 8 by continuation and switching at each flip")
bifurcation_diagram(graph, ax=right)
right.set_xlim(*ZOOM)
right.set_ylim(0.33, 0.935)
right.set_title("zoom: the flips of the period-4 and period-8 branches")
right.get_legend().remove()
figure.savefig(HERE / "continuation-logistic-cascade.png", dpi=120)

# ---------------------------------------------------------------- uv (n = 4): minimum and 2-cycle in lr

m = build_model("uv", n=4)
problem = ContinuationProblem.from_guess(m, 1, "lr", m.model.flattest_minimum(), {"lr": "0.5"})
graph = cascade(problem, ContinuationOptions(p_min=0.5, p_max=1.6, ds_max=0.02, direction="forward"),
                branches=2, dps=60)
print(graph.summary_table())

figure = bifurcation_diagram(graph, coordinate="norm", path=None)
ax = figure.axes[0]
ax.set_title("GD on the uv model (n = 4, x = 1, y = 2): flattest minimum and EoS 2-cycle in lr")
figure.savefig(HERE / "continuation-uv-lr.png", dpi=120)

two_cycle = graph.chain("B0", kind="flip")[2]
figure = multipliers_plot(graph.branch(two_cycle))
figure.axes[0].set_title("uv (n = 4): transverse multipliers of the period-2 branch")
figure.savefig(HERE / "continuation-uv-multipliers.png", dpi=120)

for name in ("continuation-logistic-cascade.png", "continuation-uv-lr.png", "continuation-uv-multipliers.png"):
    print(f"wrote {HERE / name}")
