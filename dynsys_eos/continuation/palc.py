"""Pseudo-arclength continuation of periodic orbits of maps (float64 sweep).

Unknowns z = (x_0, ..., x_{k-1}, p); equations G_i = F(x_i; p) - x_{i+1}.
Each step predicts along the unit tangent (the null vector of dG/dz),
corrects with Newton on G = 0 plus the arclength condition, measures the
multipliers (eigenvalues of the monodromy DF(x_{k-1}) ... DF(x_0)) and
adapts the step.  On a manifold of orbits, the multipliers along it are set
aside; how many is decided once all points are in, from the null counts the
points agree on (:mod:`.manifold`).  The sweep is float64 (fast, vectorized linear algebra);
special points found along it are located afterwards at any precision by
:mod:`dynsys_eos.bifurcation`.

Examples
--------
The logistic fixed point x = 1 - 1/r from r = 2.5 to 3.5 loses stability at
the flip r = 3:

>>> from dynsys_eos.models import build_model
>>> from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, PALC
>>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.5"})
>>> branch = continue_branch(problem, PALC(), ContinuationOptions(p_min=2.5, p_max=3.5))
>>> branch.status
{'backward': 'reached-bound', 'forward': 'reached-bound'}
>>> [(d.kind, round(d.bracket[0], 1) <= 3 <= round(d.bracket[1], 1)) for d in branch.detections]
[('flip', True)]
"""

import numpy as np

from ..arith import Float64
from ..errors import ContinuationError, EvaluationError
from ..functions import FULL_JACOBIAN_MAX
from ..linalg import matmul_chain
from .branch import Branch, BranchPoint
from .manifold import branch_manifold_dimension
from .options import ContinuationOptions, PALC
from .testfunctions import detect_between, transverse_multipliers

__all__ = ["continue_branch", "OrbitSystem"]


class OrbitSystem:
    """The orbit equations G(z) and their Jacobian in float64, z = (orbit, parameter)."""

    def __init__(self, problem):
        self.problem = problem
        self.k, self.n = problem.period, problem.map.dimension
        ctx = Float64()
        self.fixed = {name: ctx.number(value) for name, value in problem.parameters.items()}
        self.compiled = problem.map.function.compile(ctx)

    def bound(self, p):
        return self.compiled.bind({**self.fixed, self.problem.parameter: float(p)})

    def evaluate(self, z):
        """(G, J, [DF(x_i)]) at z; J has shape (k n, k n + 1).  The map is evaluated at all k points at once."""
        from ..bifurcation.longperiod import orbit_arrays  # the vectorized evaluation along an orbit

        k, n = self.k, self.n
        X, p = z[:-1].reshape(k, n), z[-1]
        values = {**self.fixed, self.problem.parameter: float(p)}
        if n <= FULL_JACOBIAN_MAX:
            F, A, Fp = orbit_arrays(Float64(), self.problem.map, self.problem.parameter, values, X)
        else:
            bound = self.bound(p)
            pairs = [bound.value_and_jacobian(x) for x in X]
            F, A = np.array([f for f, _ in pairs]), np.array([a for _, a in pairs])
            Fp = np.array([bound.parameter_derivative(x, self.problem.parameter) for x in X])
        G = (F - np.roll(X, -1, axis=0)).ravel()
        J = np.zeros((k * n, k * n + 1))
        for i in range(k):
            rows = slice(i * n, (i + 1) * n)
            nxt = (i + 1) % k
            J[rows, i * n:(i + 1) * n] += A[i]
            J[rows, nxt * n:(nxt + 1) * n] -= np.eye(n)
            J[rows, -1] = Fp[i]
        return G, J, list(A)

    def monodromy(self, jacobians):
        return matmul_chain(Float64(), jacobians)


def _null_space(J, tolerance):
    _, s, vt = np.linalg.svd(J)
    rank = int(np.sum(s > tolerance * max(s[0], 1.0))) if len(s) else 0
    return vt[rank:].T


def _tangent(J, previous, tolerance):
    """Unit tangent: the null vector of J (or the previous tangent projected on a larger null space)."""
    null = _null_space(J, tolerance)
    if null.shape[1] == 1:
        t = null[:, 0]
    else:
        t = null @ (null.T @ previous)
        if np.linalg.norm(t) < 1e-8:  # previous direction lost: fall back to the parameter direction
            e = np.zeros(J.shape[1])
            e[-1] = 1.0
            t = null @ (null.T @ e)
    t = t / np.linalg.norm(t)
    return (t if t @ previous >= 0 else -t), null.shape[1] - 1


def _correct(system, z_pred, tangent, options):
    """Newton on [G(z); tangent . (z - z_pred)] = 0 with minimum-norm steps; (z, iterations) or (None, it)."""
    z = z_pred.copy()
    for iteration in range(1, options.max_newton + 1):
        G, J, _ = system.evaluate(z)
        H = np.append(G, tangent @ (z - z_pred))
        dz = np.linalg.lstsq(np.vstack([J, tangent]), -H, rcond=1e-10)[0]
        z = z + dz
        scale = 1.0 + np.max(np.abs(z))
        if np.max(np.abs(dz)) <= options.tolerance * scale and np.max(np.abs(G)) <= 1e3 * options.tolerance * scale:
            return z, iteration
        if not np.all(np.isfinite(z)):
            return None, iteration
    return None, options.max_newton


def _correct_at_parameter(system, z, p, options):
    """Newton in the orbit alone at a fixed parameter (to land exactly on a bound)."""
    z = z.copy()
    z[-1] = p
    for _ in range(options.max_newton):
        G, J, _ = system.evaluate(z)
        dx = np.linalg.lstsq(J[:, :-1], -G, rcond=1e-10)[0]
        z[:-1] += dx
        if np.max(np.abs(dx)) <= options.tolerance * (1.0 + np.max(np.abs(z))):
            return z
    return None


class _Sample:
    """A corrected point before its manifold dimension is known: state, tangent, all multipliers, null count."""

    __slots__ = ("z", "tangent_parameter", "eigenvalues", "null_count")

    def __init__(self, system, z, jacobians, tangent, null_count):
        self.z, self.tangent_parameter, self.null_count = z, float(tangent[-1]), null_count
        self.eigenvalues = np.linalg.eigvals(system.monodromy(jacobians))


def _point(system, sample, manifold_dimension):
    """The branch point of a sample, its multipliers transverse to a manifold of the given dimension."""
    multipliers = transverse_multipliers(sample.eigenvalues, manifold_dimension)
    unstable = int(np.sum(np.abs(multipliers) > 1))
    z = sample.z
    return BranchPoint(parameter=float(z[-1]), orbit=z[:-1].reshape(system.k, system.n).copy(),
                       multipliers=tuple(complex(m) for m in multipliers), stable=bool(unstable == 0),
                       unstable_count=unstable, tangent_parameter=sample.tangent_parameter)


def _found(system, samples, stop_at):
    """Whether a kind in ``stop_at`` is detected between the third- and second-last samples (start included).

    Judged with the dimension the samples so far agree on, as the branch's detections are at the end.
    """
    m = branch_manifold_dimension(s.null_count for s in samples)
    recent = [_point(system, s, m) for s in samples[-4:]]
    return any(d.kind in stop_at for d in detect_between(recent, len(recent) - 3))


def _run(system, z0, tangent0, sign, options, start):
    """Continue in one direction from the start sample; returns (samples after the start, status)."""
    tangent = sign * tangent0
    z, ds = z0, options.ds
    samples = []
    for bound, outward in ((options.p_max, tangent[-1] > 0), (options.p_min, tangent[-1] < 0)):
        if bound is not None and z0[-1] == bound and outward:  # starting on a bound, heading out of the range
            return samples, "reached-bound"
    for _ in range(options.max_steps):
        z_pred = z + ds * tangent
        try:
            z_new, iterations = _correct(system, z_pred, tangent, options)
        except EvaluationError:
            z_new, iterations = None, options.max_newton
        if z_new is None:
            ds /= 2
            if ds < options.ds_min:
                return samples, "step-too-small"
            continue
        p = z_new[-1]
        for bound, outside in ((options.p_max, lambda v, b: v > b), (options.p_min, lambda v, b: v < b)):
            if bound is not None and outside(p, bound):
                weight = (bound - z[-1]) / (p - z[-1])
                try:
                    landed = _correct_at_parameter(system, z + weight * (z_new - z), bound, options)
                except EvaluationError:
                    landed = None
                if landed is not None:
                    _, J, jacobians = system.evaluate(landed)
                    t, m = _tangent(J, tangent, options.manifold_tolerance)
                    samples.append(_Sample(system, landed, jacobians, t, m))
                return samples, "reached-bound"
        if np.max(np.abs(z_new[:-1])) > options.max_norm:
            return samples, "diverged"
        try:
            _, J, jacobians = system.evaluate(z_new)
        except EvaluationError:
            return samples, "left-domain"
        tangent, manifold = _tangent(J, tangent, options.manifold_tolerance)
        samples.append(_Sample(system, z_new, jacobians, tangent, manifold))
        z = z_new
        # two more points past it, so the fold/branch test can look around
        if options.stop_at and len(samples) >= 3 and _found(system, [start] + samples, options.stop_at):
            return samples, "found"
        ds = min(ds * 1.5, options.ds_max) if iterations <= 3 else max(ds * 0.7, options.ds_min)
    return samples, "max-steps"


def continue_branch(problem, algorithm=None, options=None):
    """Continue the problem's orbit in its parameter.

    Parameters
    ----------
    problem : ContinuationProblem
    algorithm : PALC, optional
    options : ContinuationOptions, optional

    Returns
    -------
    Branch
        Points ordered by arclength, detections of fold, flip, Neimark-Sacker
        and branch points, and a status per direction.
    """
    algorithm = algorithm or PALC()
    options = options or ContinuationOptions()
    with one_blas_thread():
        return _continue(problem, algorithm, options)


def one_blas_thread():
    """The sweep's linear algebra is many small SVDs and solves: BLAS threads only add overhead to them
    (measured here: a Henon cascade to period 256 in 4.5 s with one thread, 119 s with the default)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency; tolerate its absence
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _continue(problem, algorithm, options):
    system = OrbitSystem(problem)
    z0 = np.append(problem.start.ravel(), problem.start_value)
    G0, _, _ = system.evaluate(z0)
    if np.max(np.abs(G0)) <= 1e3 * options.tolerance * (1.0 + np.max(np.abs(z0))):
        start = z0  # already on the branch (as after switching, where a natural-parameter Newton is ill-conditioned)
    else:
        start = _correct_at_parameter(system, z0, problem.start_value, options)
    if start is None:
        raise ContinuationError(f"the starting orbit does not solve the period-{problem.period} equations "
                                f"at {problem.parameter} = {problem.start_value}")
    _, J, jacobians = system.evaluate(start)
    hint = problem.direction_hint
    if hint is None:
        hint = np.zeros(len(start))
        hint[-1] = 1.0
    tangent, manifold = _tangent(J, np.asarray(hint, dtype=float), options.manifold_tolerance)
    start_sample = _Sample(system, start, jacobians, tangent, manifold)
    status = {"backward": "not-run", "forward": "not-run"}
    forward, backward = [], []
    if options.direction in ("both", "backward"):
        backward, status["backward"] = _run(system, start, tangent, -1.0, options, start_sample)
    if options.direction in ("both", "forward"):
        forward, status["forward"] = _run(system, start, tangent, 1.0, options, start_sample)
    samples = list(reversed(backward)) + [start_sample] + forward
    manifold = branch_manifold_dimension(s.null_count for s in samples)  # not the start's count alone
    points = tuple(_point(system, s, manifold) for s in samples)
    detections = tuple(d for i in range(len(points) - 1) for d in detect_between(points, i)) if options.detect else ()
    kinds = ", ".join(f"{d.kind} near {problem.parameter} = {0.5 * (d.bracket[0] + d.bracket[1]):.6g}" for d in detections)
    message = f"{len(points)} points; " + (f"detected: {kinds}" if detections else "no bifurcation detected")
    return Branch(problem=problem, algorithm=algorithm, options=options, points=points, start_index=len(backward),
                  detections=detections, status=status, manifold_dimension=manifold, message=message)
