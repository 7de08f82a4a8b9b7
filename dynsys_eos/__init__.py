"""dynsys_eos: exact maps of gradient descent beyond the edge of stability.

A loss (or a built-in model) and an update rule give an exact map; its
fixed points, periodic orbits, multipliers and exact thresholds are computed
at any precision, with the digits achieved measured, not assumed; branches
are continued, bifurcations located and period-doubling cascades followed.

The main entry points are importable from the package itself (loaded on
first use, so ``import dynsys_eos`` stays cheap):

>>> import dynsys_eos as de
>>> m = de.build_model("logistic", r="3.2")
>>> de.find_orbit(m, 2, ["0.5"], options=de.OrbitOptions(dps=30)).digits >= 30
True
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "build_model": "models", "CATALOGUE": "models",
    "Loss": "loss", "make_map": "maps", "raw_map": "maps", "RULES": "maps",
    "Float64": "arith", "MP": "arith", "MPFR": "arith", "Ball": "arith",
    "find_orbit": "orbits", "OrbitOptions": "orbits",
    "critical_learning_rate": "thresholds", "analyze": "analysis",
    "ContinuationProblem": "continuation", "ContinuationOptions": "continuation", "PALC": "continuation",
    "continue_branch": "continuation",
    "locate": "bifurcation", "locate_all": "bifurcation", "switch": "bifurcation",
    "BifurcationGraph": "graph",
    "follow_period_doubling": "cascade", "CascadeOptions": "cascade",
    "trajectory": "eos", "TrajectoryOptions": "eos", "sharpness": "eos",
    "orbit_diagram": "sweep", "basin_map": "sweep", "SweepOptions": "sweep",
    "conservation_laws": "laws", "LawOptions": "laws", "integrate_flow": "flow", "FlowOptions": "flow",
    "DynsysError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dynsys_eos' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
