"""Branch switching: a new continuation problem that starts on the branch born at a point.

* At a flip of a period-k orbit: the period-2k branch.  In the 2k-periodic
  equations the doubled critical orbit is a pitchfork point whose new branch
  leaves along (q_0, ..., q_{k-1}, -q_0, ..., -q_{k-1}), the critical
  eigenvector carried along the orbit with alternating sign.  The problem
  starts at the critical point with that direction as its hint.
* At a branch point: the other branch, leaving along the null direction of
  the orbit equations that is orthogonal to the branch's own tangent.

The result is an ordinary :class:`~dynsys_eos.continuation.ContinuationProblem`:
``continue_branch(switch(branch, point), PALC(), options)``.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, continue_branch
>>> from dynsys_eos.bifurcation import locate
>>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
>>> branch = continue_branch(problem, options=ContinuationOptions(p_min=2.8, p_max=3.2))
>>> flip = locate(branch, branch.detections[0], dps=30)
>>> doubled = continue_branch(switch(branch, flip), options=ContinuationOptions(p_min=2.8, p_max=3.3, direction="forward"))
>>> doubled.problem.period, doubled.status["forward"], round(doubled.points[-1].parameter, 6)
(2, 'reached-bound', 3.3)
"""

import dataclasses

import numpy as np

from ..continuation.options import ContinuationOptions
from ..continuation.palc import OrbitSystem, _correct
from ..continuation.problem import ContinuationProblem
from ..errors import ContinuationError, EvaluationError

__all__ = ["switch"]


def switch(branch, point):
    """A :class:`ContinuationProblem` for the branch born at ``point`` (a flip or a branch point).

    ``point`` is a :class:`~dynsys_eos.bifurcation.BifurcationPoint` of
    ``branch`` (located or only detected: a detected one starts from the
    float64 interpolation of its bracket).
    """
    problem = branch.problem
    if point.kind == "flip":
        return _switch_flip(branch, point)
    if point.kind == "branch":
        return _switch_branch_point(branch, point)
    raise ContinuationError(f"no branch is born at a {point.kind} point: switching applies to 'flip' and 'branch' "
                            f"points (of {problem.map.name!r} in {problem.parameter})")


def _critical_state(branch, point):
    """Float64 orbit and parameter of the point (located value, else the bracket's interpolation)."""
    if point.status == "located":
        return np.array([[float(c) for c in x] for x in point.orbit]), float(point.value)
    a, b = branch.points[point.branch_index], branch.points[point.branch_index + 1]
    return 0.5 * (a.orbit + b.orbit), 0.5 * (a.parameter + b.parameter)


def _switch_flip(branch, point):
    problem = branch.problem
    X, p = _critical_state(branch, point)
    system = OrbitSystem(problem)
    _, _, jacobians = system.evaluate(np.append(X.ravel(), p))
    M = system.monodromy(jacobians)
    values, vectors = np.linalg.eig(M)
    q = np.real(vectors[:, int(np.argmin(np.abs(values + 1)))])
    carried = [q]
    for A in jacobians[:-1]:
        carried.append(A @ carried[-1])
    carried = np.array(carried)
    direction = np.concatenate([carried.ravel(), -carried.ravel(), [0.0]])
    direction /= np.linalg.norm(direction)
    doubled = np.concatenate([X, X])
    new = ContinuationProblem(problem.map, 2 * problem.period, problem.parameter, p, doubled,
                              dict(problem.parameters), direction_hint=direction)
    return _step_onto(new, direction, f"period-doubling of the period-{problem.period} orbit at "
                                      f"{problem.parameter} = {p:.12g}")


def _switch_branch_point(branch, point):
    problem = branch.problem
    X, p = _critical_state(branch, point)
    system = OrbitSystem(problem)
    z = np.append(X.ravel(), p)
    _, J, _ = system.evaluate(z)
    a, b = branch.points[point.branch_index], branch.points[point.branch_index + 1]
    own = np.append((b.orbit - a.orbit).ravel(), b.parameter - a.parameter)
    own /= np.linalg.norm(own)
    basis = np.linalg.svd(J)[2][-2:].T  # the two directions nearest the null space at the branch point
    within = basis.T @ own
    d = basis @ np.array([-within[1], within[0]])  # in their span, orthogonal to the branch's own direction
    d /= np.linalg.norm(d)
    new = ContinuationProblem(problem.map, problem.period, problem.parameter, p, X, dict(problem.parameters),
                              direction_hint=d)
    return _step_onto(new, d, f"branch switching at {problem.parameter} = {p:.12g}")


def _step_onto(problem, direction, origin):
    """Take one predictor-corrector step along ``direction`` onto the new branch and start there.

    Starting exactly at the bifurcation would need it located exactly; a
    step of growing size h, corrected in the plane orthogonal to the
    direction, lands on the new branch once h exceeds the location error.
    """
    system = OrbitSystem(problem)
    z0 = np.append(problem.start.ravel(), problem.start_value)
    options = ContinuationOptions(max_newton=12)
    scale = 1.0 + np.max(np.abs(z0))
    # smallest steps first: deep in a cascade the next flip is only ~delta^-k away in the parameter
    for h in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1):
        try:
            z, _ = _correct(system, z0 + h * scale * direction, direction, options)
        except EvaluationError:
            continue
        if z is not None and abs(direction @ (z - z0)) >= 0.5 * h * scale:
            start = z[:-1].reshape(problem.period, problem.map.dimension)
            return dataclasses.replace(problem, start=start, start_value=float(z[-1]), direction_hint=direction,
                                       origin=origin)
    raise ContinuationError(f"could not step onto the new branch ({origin})")
