"""A first look at a model: its critical learning rate, its minimum, and where GD goes.

:func:`analyze` is the main job of the command line (``dynsys-eos analyze``):
for a loss model it derives the exact threshold lr* = 2/lambda_max at the
flattest minimum, the minimum's multipliers at the chosen learning rate,
then runs GD from the model's default state, recognises the period of the
attractor it reaches and refines that orbit to high precision with its
multipliers, sharpness and loss.  For a raw map it does the last part.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> report = analyze(build_model("minimalist2", lr="0.55"), dps=30)
>>> report.threshold.expression, report.attractor_period
(1/2, 2)
>>> report.orbit.stable, report.orbit.digits >= 30
(True, True)
"""

from dataclasses import dataclass, field

import mpmath
import numpy as np

from .arith import MP, Float64
from .errors import DynsysError, EvaluationError, ParameterError
from .linalg import top_symmetric_eigenvalue
from .orbits import OrbitOptions, find_orbit

__all__ = ["Analysis", "analyze", "detect_period"]


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyze` found (fields are None where they do not apply)."""

    map: object = field(repr=False)
    parameters: dict
    threshold: object  # ThresholdResult or None
    threshold_error: str  # why there is no threshold, or None
    minimum: object  # OrbitResult of the flattest minimum or None
    attractor_period: int  # None when GD diverged or no period <= max_period was found
    orbit: object  # OrbitResult or None
    sharpness: tuple  # lambda_max of the Hessian at each orbit point (mpf), loss models only
    loss_values: tuple
    sharpness_digits: int
    message: str


def detect_period(bound, state, warmup=2000, max_period=64, tolerance=1e-9):
    """Iterate a float64 map ``warmup`` times and return (period or None, final state).

    The period is the smallest p <= ``max_period`` with |F^p(x) - x| below
    ``tolerance`` (relative), or None.  Raises EvaluationError on divergence.
    """
    x = np.asarray(state, dtype=float)
    for _ in range(warmup):
        x = bound.value(x)
    orbit = [x]
    for _ in range(max_period):
        orbit.append(bound.value(orbit[-1]))
    scale = max(1.0, float(np.max(np.abs(x))))
    for p in range(1, max_period + 1):
        if np.max(np.abs(orbit[p] - x)) <= tolerance * scale:
            return p, x
    return None, x


def analyze(map_, parameters=None, dps=50, warmup=2000, max_period=64, start=None):
    """Threshold, minimum and attractor of a model (see the module docstring)."""
    from .thresholds import critical_learning_rate

    values = map_.parameter_values(parameters)
    model = getattr(map_, "model", None)
    threshold = threshold_error = minimum = None
    if map_.loss is not None:
        try:
            threshold = critical_learning_rate(map_, parameters=values, dps=dps)
        except DynsysError as exc:
            threshold_error = str(exc)
        if threshold is not None:
            point = list(threshold.minimum) + ([0] * map_.loss.dimension if map_.rule == "hb" else [])
            minimum = find_orbit(map_, 1, point, values, OrbitOptions(dps=dps))
    if start is None:
        if model is None:
            raise ParameterError("give a starting state (--guess): a user-defined model has no default state")
        start = model.default_state()
    bound = map_.bind(Float64(), values)
    parts = []
    try:
        period, landing = detect_period(bound, Float64().array(start), warmup, max_period)
    except EvaluationError:
        period, landing = None, None
        what = "GD" if map_.loss is not None else "the map's iterates"
        parts.append(f"{what} from the starting state diverge{'s' if map_.loss is not None else ''} within {warmup} steps")
    orbit, sharpness, losses, sharpness_digits = None, (), (), 0
    if period is None and landing is not None:
        parts.append(f"after {warmup} steps the iterates show no period <= {max_period} (chaos, or a slow transient)")
    if period is not None:
        orbit = find_orbit(map_, period, [list(landing)], values, OrbitOptions(dps=dps))
        parts.append(f"after {warmup} steps the iterates settle on a period-{period} orbit")
        if map_.loss is not None and map_.rule in ("gd", "hb") and orbit.success:
            sharpness, losses, sharpness_digits = _sharpness_along(map_, orbit, values, dps)
    return Analysis(map=map_, parameters=values, threshold=threshold, threshold_error=threshold_error,
                    minimum=minimum, attractor_period=period, orbit=orbit, sharpness=sharpness,
                    loss_values=losses, sharpness_digits=sharpness_digits, message="; ".join(parts))


def _sharpness_along(map_, orbit, values, dps):
    """Top Hessian eigenvalue and loss at each orbit point, at two precisions (digits measured)."""
    loss = map_.loss
    n = loss.dimension
    results = []
    for extra in (5, 25):
        ctx = MP(dps=dps + extra)
        with ctx.scope():
            hessian = loss.gradient_function().compile(ctx).bind(values)
            value = loss.value_function().compile(ctx).bind(values)
            row = []
            for point in orbit.points:
                theta = ctx.array(point[:n])
                H = hessian.jacobian(theta)
                row.append((top_symmetric_eigenvalue(ctx, (H + H.T) / 2), value.value(theta)[0]))
            results.append(row)
    low, high = results
    with mpmath.workdps(dps + 30):
        worst = max(abs(a[0] - b[0]) / max(abs(b[0]), 1) for a, b in zip(low, high))
        digits = min(orbit.digits, dps if worst == 0 else int(-mpmath.log10(worst)))
    return tuple(s for s, _ in high), tuple(v for _, v in high), max(0, digits)
