"""Period-doubling cascades followed automatically, at high precision, with Feigenbaum analysis.

:func:`follow_period_doubling` continues the starting orbit to its first flip
and locates it, switches to the doubled branch, and repeats: the first flips
(periods up to ``continued_periods``) by continuation and branch switching;
the later ones by prediction from the Feigenbaum ratio,
p_{k+1} ~ p_k + (p_k - p_{k-1}) / delta_k, a seed orbit taken from the
attractor at a parameter inside the new orbit's stability window, and Newton
on the condensed minimally augmented system
(:mod:`dynsys_eos.bifurcation.longperiod`), whose cost is linear in the
period.  Working digits grow with the flip index (conditioning grows about
delta^k); every flip's digits are measured at two precisions.

The analysis gives the ratios delta_k (with the error propagated from the
flips' errors), delta (Aitken's extrapolation of the ratios; its error is the
spread of the last extrapolations and the ratios' own error), the
accumulation point p_inf = p_k + (p_k - p_{k-1}) / (delta - 1) (error: its
change from one k to the next, plus delta's error propagated), and for maps
of one variable with a critical point the scaling constant alpha from the
orbit's geometry near that point.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> from dynsys_eos.continuation import ContinuationProblem
>>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
>>> cascade = follow_period_doubling(problem, CascadeOptions(flips=8, dps=30))
>>> [f.period for f in cascade.flips]
[1, 2, 4, 8, 16, 32, 64, 128]
>>> print(cascade.delta.format())
4.669... (+- ...)
"""

import dataclasses
import math
import time
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .arith import Float64
from .bifurcation import locate, switch
from .bifurcation.longperiod import locate_flip
from .continuation import ContinuationOptions, continue_branch
from .continuation.palc import one_blas_thread
from .continuation.branch import Branch, BranchPoint
from .continuation.problem import ContinuationProblem
from .errors import EvaluationError, ParameterError
from .graph import BifurcationGraph

__all__ = ["CascadeOptions", "CascadeFlip", "Estimate", "Cascade", "follow_period_doubling", "analyze_flips"]


@dataclass(frozen=True)
class CascadeOptions:
    """Options of :func:`follow_period_doubling`.

    Parameters
    ----------
    flips : int
        How many flips to locate (>= 1).
    dps : int
        Digits wanted for each flip; guard digits are added automatically.
    max_seconds : float or None
        Stop (with status ``"time-limit"``) once this much time has passed.
    continued_periods : int
        Flips of orbits up to this period are found by continuation and
        switching; beyond it by Feigenbaum prediction.
    p_min, p_max : float or None
        Bounds of the continuation used for the first flips.
    direction : str
        ``"forward"`` (the parameter increases along the cascade) or ``"backward"``.
    """

    flips: int = 12
    dps: int = 60
    max_seconds: float = None
    continued_periods: int = 4
    p_min: float = None
    p_max: float = None
    direction: str = "forward"

    def __post_init__(self):
        if not isinstance(self.flips, int) or self.flips < 1:
            raise ParameterError(f"flips must be a positive integer, got {self.flips!r}")
        if not isinstance(self.dps, int) or not 5 <= self.dps <= 10000:
            raise ParameterError(f"dps must be an integer in [5, 10000], got {self.dps!r}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ParameterError(f"max_seconds must be positive, got {self.max_seconds!r}")
        if self.direction not in ("forward", "backward"):
            raise ParameterError(f"direction must be 'forward' or 'backward', got {self.direction!r}")
        if not isinstance(self.continued_periods, int) or self.continued_periods < 1:
            raise ParameterError(f"continued_periods must be a positive integer, got {self.continued_periods!r}")


@dataclass(frozen=True)
class CascadeFlip:
    """One located flip of the cascade."""

    period: int
    value: object  # mpf
    digits: int
    seconds: float
    how: str  # "continuation" or "prediction"
    point: object = field(repr=False)  # the BifurcationPoint


@dataclass(frozen=True)
class Estimate:
    """A number with an error estimate and the digits that error leaves correct."""

    value: object
    error: object
    digits: int

    def format(self, digits=None):
        digits = max(1, min(self.digits + 1, digits or self.digits + 1))
        with mpmath.workdps(digits + 10):
            return f"{mpmath.nstr(self.value, digits)} (+- {mpmath.nstr(self.error, 2)})"


@dataclass(frozen=True)
class Cascade:
    """A followed cascade: flips, ratios, estimates of delta, the accumulation point and alpha, provenance."""

    success: bool
    status: str  # "complete", "low-precision", "time-limit", "not-located", "no-flip"
    message: str
    problem: object = field(repr=False)
    options: CascadeOptions = field(repr=False)
    flips: tuple = ()
    ratios: tuple = ()  # Estimate per delta_k
    delta: Estimate = None
    accumulation: Estimate = None
    alpha: Estimate = None
    graph: BifurcationGraph = field(default=None, repr=False)
    seconds: float = 0.0


def _digits_of(error, value):
    if error == 0:
        return 60
    return max(0, int(math.floor(-float(mpmath.log10(error / max(1, abs(value)))))))


def analyze_flips(values, errors):
    """Ratios, delta and the accumulation point from flip values (mpf) and their errors.

    Returns
    -------
    (ratios, delta, accumulation)
        Tuples of :class:`Estimate` (delta and accumulation None when fewer
        than 3 flips).
    """
    with mpmath.workdps(_working_digits(errors)):
        return _analyze(list(values), list(errors))


def _working_digits(errors):
    """Enough digits for the analysis whatever precision is active: 20 more than the smallest error shows."""
    tiny = [e for e in errors if e != 0]
    shown = max((-int(mpmath.floor(mpmath.log10(abs(e))))) for e in tiny) if tiny else 15
    return max(30, shown + 20, mpmath.mp.dps)  # never below the precision the caller works at


def _analyze(values, errors):
    n = len(values)
    for k in range(1, n):
        if values[k] == values[k - 1]:
            raise ParameterError(f"flips {k} and {k + 1} have the same value {values[k]}: not a cascade")
    ratios = []
    for k in range(1, n - 1):
        a, b, c = values[k - 1], values[k], values[k + 1]
        d = (b - a) / (c - b)
        gap = abs(c - b)
        err = (errors[k - 1] + errors[k]) / gap + abs(d) * (errors[k] + errors[k + 1]) / gap
        ratios.append(Estimate(d, err, _digits_of(err, d)))
    if not ratios:
        return (), None, None
    deltas = [r.value for r in ratios]
    ratio_error = ratios[-1].error
    if len(deltas) >= 3:
        best, spread = _extrapolate(deltas)
    else:
        best, spread = deltas[-1], abs(deltas[-1] - deltas[-2]) if len(deltas) >= 2 else abs(deltas[-1])
    delta_error = spread + ratio_error
    delta = Estimate(best, delta_error, _digits_of(delta_error, best))
    estimates = [values[k] + (values[k] - values[k - 1]) / (best - 1) for k in range(1, n)]
    last_step = abs(values[-1] - values[-2])
    change = abs(estimates[-1] - estimates[-2]) if len(estimates) >= 2 else last_step
    acc_error = change + last_step * delta_error / (best - 1) ** 2 + errors[-1]
    accumulation = Estimate(estimates[-1], acc_error, _digits_of(acc_error, estimates[-1]))
    return tuple(ratios), delta, accumulation


def _extrapolate(sequence):
    """Aitken's delta-squared limit of a sequence (>= 3 terms) and an error estimate.

    The error is the spread of the last two extrapolations; with only one,
    which cannot show its own error, the sequence's last change bounds it.
    """
    limits = []
    for i in range(2, len(sequence)):
        a, b, c = sequence[i - 2], sequence[i - 1], sequence[i]
        denominator = c - 2 * b + a
        limits.append(c - (c - b) ** 2 / denominator if denominator != 0 else c)
    if len(limits) >= 2:
        return limits[-1], abs(limits[-1] - limits[-2])
    return limits[-1], max(abs(limits[-1] - sequence[-1]), abs(sequence[-1] - sequence[-2]))


def _iterate(map_, values, x, steps):
    """Iterate the map in float64 with the raw generated program (fast Python loop)."""
    program = map_.function.program("value").bind(Float64())
    params = [values[name] for name in map_.function.parameters]
    x = [float(v) for v in x]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = [float(v) for v in program(x, params)]
    if not all(math.isfinite(v) for v in x):
        raise EvaluationError("the iterates diverged while seeding the next orbit")
    return x


def _seed_orbit(map_, parameter, fixed, x0, value, period):
    """The attracting period-``period`` orbit at ``value``, from iterates of ``x0`` (float64)."""
    ctx = Float64()
    values = {name: ctx.number(v) for name, v in fixed.items()}
    values[parameter] = float(value)
    x = list(x0)
    for _ in range(64):  # period by period until the iterates repeat after one period
        previous, x = x, _iterate(map_, values, x, period)
        if max(abs(a - b) for a, b in zip(x, previous)) <= 1e-9 * max(1.0, max(abs(v) for v in x)):
            break
    orbit = [x]
    for _ in range(period - 1):
        orbit.append(_iterate(map_, values, orbit[-1], 1))
    return np.array(orbit)


def _single_point_branch(map_, parameter, fixed, point, origin):
    """A Branch known at one point (a flip located by prediction, not continued), for the graph."""
    orbit = np.array([[float(c) for c in x] for x in point.orbit])
    problem = ContinuationProblem(map_, point.period, parameter, float(point.value), orbit, dict(fixed), origin=origin)
    only = BranchPoint(parameter=float(point.value), orbit=orbit, multipliers=(), stable=None, unstable_count=0)
    return Branch(problem=problem, algorithm=None, options=None, points=(only,), start_index=0, detections=(),
                  status={"backward": "not-run", "forward": "not-run"}, manifold_dimension=0,
                  message="located at its flip by Feigenbaum prediction; not continued")


def follow_period_doubling(problem, options=None, progress=None):
    """Follow the period-doubling cascade of ``problem``'s orbit.

    Parameters
    ----------
    problem : ContinuationProblem
        The starting orbit and the parameter to vary.
    options : CascadeOptions, optional
    progress : callable, optional
        Called with each :class:`CascadeFlip` as it is located (for a progress line).

    Returns
    -------
    Cascade
        Failure to find or locate a flip ends the cascade with a status; it is not raised.
    """
    options = options or CascadeOptions()
    with one_blas_thread():  # many small dense problems: BLAS threads only add overhead
        return _follow(problem, options, progress)


def _follow(problem, options, progress):
    start = time.perf_counter()
    map_, parameter, fixed = problem.map, problem.parameter, dict(problem.parameters)
    cont = ContinuationOptions(p_min=options.p_min, p_max=options.p_max, direction=options.direction, max_steps=3000,
                               stop_at=("flip",))
    graph = BifurcationGraph()
    flips, errors = [], []
    status, message = "complete", ""
    branch = continue_branch(problem, options=cont)
    branch_node, point_node = graph.add_branch(branch), None

    def by_continuation(period):
        # prediction needs two flips to extrapolate from, and seeds its orbit from the attractor, which is
        # reliable for maps of one variable; maps of several variables are continued all the way
        return len(flips) < 2 or period <= options.continued_periods * problem.period or map_.dimension > 1

    while len(flips) < options.flips:
        if options.max_seconds is not None and time.perf_counter() - start > options.max_seconds:
            status, message = "time-limit", f"stopped after {options.max_seconds} s"
            break
        index = len(flips)
        work_dps = options.dps + 10 + 2 * index  # conditioning grows about delta^k: more guard digits each level
        t0 = time.perf_counter()
        period = problem.period * 2 ** index
        if branch is not None and by_continuation(period):
            detected = [d for d in branch.detections if d.kind == "flip"]
            if not detected:
                hint = " (is the start already past the first flip? start before it)" if not flips else ""
                status, message = "no-flip", f"no flip found on the period-{period} branch ({branch.message}){hint}"
                break
            point = _locate_on_branch(branch, detected[0], work_dps)
            how = "continuation"
        else:
            point = _predicted_flip(map_, parameter, fixed, flips, period, work_dps)
            how = "prediction"
        if point.status != "located":
            status, message = "not-located", f"the period-{period} flip could not be located: {point.message}"
            break
        if how == "prediction":
            branch = None
            branch_node = graph.add_branch(_single_point_branch(map_, parameter, fixed, point,
                                                                "period doubling, flip located by prediction"),
                                           born_at=point_node)
        point_node = graph.add_point(branch_node, point)
        flip = CascadeFlip(period, point.value, point.digits, time.perf_counter() - t0, how, point)
        flips.append(flip)
        with mpmath.workprec(point.precision_bits):
            errors.append(mpmath.mpf(10) ** (-point.digits) * max(1, abs(point.value)))
        if progress is not None:
            progress(flip)
        if len(flips) < options.flips and branch is not None and by_continuation(2 * period):
            branch = continue_branch(switch(branch, point), options=cont)
            branch_node = graph.add_branch(branch, born_at=point_node)
    with mpmath.workdps(options.dps + 40):
        ratios, delta, accumulation = analyze_flips([f.value for f in flips], errors)
        alpha = _alpha(map_, parameter, fixed, flips)
    short = [f for f in flips if f.digits < options.dps]
    if status == "complete" and short:
        status = "low-precision"
        message = (f"{len(flips)} flips located; {len(short)} with fewer digits than the {options.dps} asked "
                   f"(periods {', '.join(str(f.period) for f in short)})")
    if not message:
        message = f"{len(flips)} flips located"
    return Cascade(success=status == "complete", status=status, message=message, problem=problem, options=options,
                   flips=tuple(flips), ratios=ratios, delta=delta, accumulation=accumulation, alpha=alpha,
                   graph=graph, seconds=time.perf_counter() - start)


def _locate_on_branch(branch, detection, dps):
    """Dense location for short orbits; the condensed (linear in the period) one beyond."""
    problem = branch.problem
    size = problem.period * problem.map.dimension
    if size <= 16 or (branch.manifold_dimension and size <= 160):
        # on a manifold of orbits the dense system with slack and section is the robust one (its cost grows
        # as size^3, so only up to moderate periods)
        return locate(branch, detection, dps=dps)
    a, b = branch.points[detection.index], branch.points[detection.index + 1]
    fa, fb = (min(abs(complex(m) + 1) for m in pt.multipliers) for pt in (a, b))
    weight = 0.5 if fa + fb == 0 else fa / (fa + fb)
    orbit = (1 - weight) * a.orbit + weight * b.orbit
    value = (1 - weight) * a.parameter + weight * b.parameter
    point = locate_flip(problem.map, problem.parameter, dict(problem.parameters), orbit, value, dps=dps)
    return dataclasses.replace(point, bracket=detection.bracket, branch_index=detection.index)


def _predicted_flip(map_, parameter, fixed, flips, period, dps):
    """Locate the next flip from the Feigenbaum prediction (needs at least two flips)."""
    p1, p0 = flips[-1].value, flips[-2].value
    ratio = (p0 - flips[-3].value) / (p1 - p0) if len(flips) >= 3 else mpmath.mpf("4.669")
    predicted = p1 + (p1 - p0) / ratio
    seed_value = p1 + (predicted - p1) / 2  # near the middle of the new orbit's window: strongly attracting
    x0 = [float(c) for c in flips[-1].point.orbit[0]]
    try:
        orbit = _seed_orbit(map_, parameter, fixed, x0, seed_value, period)
    except EvaluationError as exc:
        from .bifurcation.point import BifurcationPoint

        return BifurcationPoint(kind="flip", parameter=parameter, status="not-located", digits=0,
                                bracket=(float(p1), float(predicted)), period=period, map=map_,
                                parameters=dict(fixed), message=str(exc))
    from .bifurcation.longperiod import polish_orbit

    orbit, _ = polish_orbit(map_, parameter, fixed, orbit, float(seed_value))
    # Newton from the orbit at the seed value: the flip's branch is followed from inside its window
    return locate_flip(map_, parameter, fixed, orbit, float(seed_value), dps=dps)


def _alpha(map_, parameter, fixed, flips):
    """Feigenbaum's alpha from the orbits' geometry at the critical point (maps of one variable only).

    d_k is the distance between the orbit point nearest the critical point
    x_c (F'(x_c) = 0) and the point half a period later; d_k / d_{k+1} tends
    to -alpha.  The estimate is Aitken's extrapolation of the ratios; its
    error the spread of the last two extrapolations.
    """
    if map_.dimension != 1 or len(flips) < 4:
        return None
    from .arith import MP

    ratios = []
    distances = []
    for flip in flips:
        with mpmath.workprec(flip.point.precision_bits):
            xs = [x[0] for x in flip.point.orbit]
            ctx = MP(prec=flip.point.precision_bits)
            with ctx.scope():
                bound = map_.bind(ctx, {**fixed, parameter: flip.value})
                start = min(xs, key=lambda v: abs(bound.jacobian(ctx.array([v]))[0, 0]))
                critical = _critical_point(ctx, map_, {**fixed, parameter: flip.value}, start)
                if critical is None:
                    return None
                i = min(range(len(xs)), key=lambda j: abs(xs[j] - critical))
                half = len(xs) // 2
                distances.append(xs[(i + half) % len(xs)] - xs[i] if half else None)
    distances = [d for d in distances[1:]]  # the period-1 orbit has no half period
    for a, b in zip(distances, distances[1:]):
        ratios.append(a / b)
    if len(ratios) < 3:
        return None
    best, error = _extrapolate(ratios)
    return Estimate(best, error, _digits_of(error, best))


def _critical_point(ctx, map_, values, guess):
    """x_c with F'(x_c) = 0 near ``guess``: Newton with the exact F'' (the Jacobian of x -> F'(x) * 1)."""
    from .bifurcation.derivatives import directional_function

    derivative = directional_function(map_).compile(ctx).bind({**values, "_b0": 1})
    x = ctx.number(guess)
    for _ in range(60):
        first, second = derivative.value_and_jacobian(ctx.array([x]))
        if second[0, 0] == 0:
            return None
        step = first[0] / second[0, 0]
        x -= step
        if abs(step) <= mpmath.mpf(2) ** (-ctx.prec + 8):
            return x
    return x
