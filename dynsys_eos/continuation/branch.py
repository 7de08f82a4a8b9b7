"""The result of a continuation: a branch of orbits and the bifurcations detected along it."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BranchPoint", "Detection", "Branch", "STATUSES"]

#: How a direction of continuation can end.
STATUSES = {
    "reached-bound": "the parameter reached a bound given in the options",
    "max-steps": "the number of steps allowed ran out",
    "diverged": "the orbit grew beyond max_norm",
    "left-domain": "the map could not be evaluated (NaN, overflow, leaving its real domain)",
    "step-too-small": "the corrector failed down to the smallest step",
    "not-run": "this direction was not asked for",
    "found": "a bifurcation of a kind in options.stop_at was detected",
}


@dataclass(frozen=True)
class BranchPoint:
    """One computed point of a branch (float64).

    Attributes
    ----------
    parameter : float
    orbit : ndarray, shape (period, n)
    multipliers : tuple of complex
        Transverse multipliers (those equal to 1 along a manifold of orbits removed).
    stable : bool
    unstable_count : int
    tangent_parameter : float
        The parameter component of the unit tangent (its sign flips at a fold).
    """

    parameter: float
    orbit: np.ndarray = field(repr=False)
    multipliers: tuple = field(repr=False)
    stable: bool = None
    unstable_count: int = 0
    tangent_parameter: float = 0.0


@dataclass(frozen=True)
class Detection:
    """A bifurcation detected between points ``index`` and ``index + 1`` of a branch.

    ``kind`` is ``"flip"``, ``"fold"``, ``"ns"`` or ``"branch"``.
    """

    kind: str
    index: int
    bracket: tuple


@dataclass(frozen=True)
class Branch:
    """A continued branch: points ordered by arclength (backward end first), detections, statuses.

    It records what made it (problem, algorithm, options), so the next step
    (locating a point, switching branches) needs only the branch.
    ``manifold_dimension`` is the dimension of the manifold of orbits the
    branch lies on: the null count its points agree on (the most common,
    ties to the smaller; see :mod:`~dynsys_eos.continuation.manifold`), not
    the count at any one point, which a nearby bifurcation can raise.  Every
    point's multipliers are taken transverse to that many directions.
    """

    problem: object = field(repr=False)
    algorithm: object = field(repr=False)
    options: object = field(repr=False)
    points: tuple = field(repr=False)
    start_index: int = 0
    detections: tuple = ()
    status: dict = None
    manifold_dimension: int = 0
    message: str = ""

    @property
    def success(self):
        """True unless a direction that was run stopped on a failure of the corrector."""
        return all(s != "step-too-small" for s in self.status.values())

    @property
    def parameter_values(self):
        return np.array([p.parameter for p in self.points])

    def summary(self):
        """A small dict for reports and JSON."""
        values = self.parameter_values
        return {
            "model": self.problem.map.name, "period": self.problem.period, "parameter": self.problem.parameter,
            "points": len(self.points), "parameter_range": [float(values.min()), float(values.max())],
            "status": dict(self.status), "manifold_dimension": self.manifold_dimension,
            "detected": [d.kind for d in self.detections], "message": self.message,
        }
