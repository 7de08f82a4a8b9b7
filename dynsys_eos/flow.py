"""Gradient flow ``theta' = -grad L(theta)``: float64 (scipy, stiff-aware) and high precision (Taylor series).

Two integrators, one result type:

* float64: :func:`scipy.integrate.solve_ivp` (LSODA by default, which
  switches to BDF when the flow is stiff; Radau and BDF take the exact
  Hessian as their Jacobian);
* ``taylor``: an error-controlled Taylor-series method in the mp context.
  The series come from the symbolic model by automatic differentiation on
  its expression DAG (:mod:`dynsys_eos.taylor`); the step is chosen so that
  the last two terms of each series are below the tolerance (Jorba and Zou's
  rule).

The error is *measured*, not assumed: each integration is run twice, the
second time with a tolerance 1000 times (float64) or 10^8 times (taylor)
smaller; the more accurate run is returned and the difference of the two end
states is its error estimate (an overestimate when the method converges).
Both runs give dense output (``result.sol(t)``).

Examples
--------
>>> import sympy
>>> from dynsys_eos.loss import Loss
>>> x, y = sympy.symbols("x y")
>>> loss = Loss((x * y - 1) ** 2 / 2, [x, y])
>>> result = integrate_flow(loss, ["2", "0.5"], 1, options=FlowOptions(method="taylor", dps=30))
>>> result.success, result.digits >= 30
(True, True)
>>> drift = law_drift(result, [x**2 - y**2])[0]     # x^2 - y^2 is conserved
>>> drift.drift < 1e-30
True
"""

import bisect
import math
import time
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy

from .arith import MP, Float64, fast_mp
from .errors import ModelError, ParameterError

__all__ = ["FlowOptions", "FlowResult", "integrate_flow", "LawDrift", "law_drift", "FLOW_METHODS"]

#: float64 methods of scipy's solve_ivp (implicit ones get the exact Hessian), and the mp Taylor method.
FLOW_METHODS = ("LSODA", "Radau", "BDF", "RK45", "DOP853", "taylor")
_IMPLICIT = ("LSODA", "Radau", "BDF")


@dataclass(frozen=True)
class FlowOptions:
    """Options of :func:`integrate_flow`.

    Parameters
    ----------
    method : str
        One of :data:`FLOW_METHODS`; ``"taylor"`` runs in the mp context.
    rtol, atol : float
        Tolerances of the float64 methods.
    dps : int
        Taylor method: decimal digits wanted (the tolerance is 10^-dps; the
        check run uses 10^-(dps+8); arithmetic carries dps + 20 digits).
    order : int or None
        Taylor method: series order (default from dps).
    max_steps : int
        Steps allowed per run.
    max_seconds : float or None
        Wall-clock limit per run (status "time-limit" when reached).
    """

    method: str = "LSODA"
    rtol: float = 1e-10
    atol: float = 1e-12
    dps: int = 30
    order: int = None
    max_steps: int = 100000
    max_seconds: float = None

    def __post_init__(self):
        if self.method not in FLOW_METHODS:
            raise ParameterError(f"unknown flow method {self.method!r}; valid: {', '.join(FLOW_METHODS)}")
        if not (0 < self.rtol < 1) or not (self.atol > 0):
            raise ParameterError(f"need 0 < rtol < 1 and atol > 0, got rtol={self.rtol}, atol={self.atol}")
        if not isinstance(self.dps, int) or not 5 <= self.dps <= 10000:
            raise ParameterError(f"dps must be an integer from 5 to 10000, got {self.dps!r}")
        if self.order is not None and (not isinstance(self.order, int) or not 4 <= self.order <= 1000):
            raise ParameterError(f"order must be an integer from 4 to 1000, got {self.order!r}")
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise ParameterError(f"max_steps must be a positive integer, got {self.max_steps!r}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ParameterError(f"max_seconds must be positive, got {self.max_seconds!r}")


@dataclass(frozen=True)
class FlowResult:
    """A gradient-flow trajectory.

    Attributes
    ----------
    success : bool
    status : str
        ``"done"``, ``"max-steps"``, ``"time-limit"`` or ``"failed"``.
    message : str
    time : float
        The end time reached.
    state : numpy.ndarray
        The state at ``time`` (float or mpf entries).
    error : float or mpf
        Estimated error of ``state`` (max norm): the difference from a run at a looser tolerance.
    digits : int
        Correct significant digits of ``state`` by that estimate (relative to its max norm).
    times, states : numpy.ndarray
        The accepted steps (times and states) of the returned run.
    steps : int
    method : str
    options : FlowOptions
    parameters : dict
    state_names : tuple
    ctx : ArithmeticContext
    """

    success: bool
    status: str
    message: str
    time: object
    state: np.ndarray
    error: object
    digits: int
    times: np.ndarray = field(repr=False)
    states: np.ndarray = field(repr=False)
    steps: int
    method: str
    options: FlowOptions = field(repr=False)
    parameters: dict = field(repr=False)
    state_names: tuple
    ctx: object = field(repr=False)
    dense: object = field(repr=False, default=None)

    def sol(self, t):
        """The state at time ``t`` in [0, time] (dense output of the returned run)."""
        return self.dense(t)


def _loss_and_values(problem, parameters):
    loss = getattr(problem, "loss", None) if not hasattr(problem, "gradient_function") else problem
    if loss is None:
        raise ModelError(f"{problem!r} has no loss: gradient flow needs a Loss or a map built from one")
    if hasattr(problem, "gradient_function"):
        values = loss.parameter_values(parameters)
    else:  # a map: its parameters (lr and the loss's own), only the loss's are used
        values = problem.parameter_values(parameters)
    return loss, {k: v for k, v in values.items() if k in loss.parameter_names}


def integrate_flow(problem, start, t_end, parameters=None, options=None):
    """Integrate ``theta' = -grad L(theta)`` from ``start`` over ``[0, t_end]``.

    Parameters
    ----------
    problem : Loss or Map
        A loss, or a map built from one (its ``lr`` is ignored).
    start : sequence
        Initial state (exact numbers or strings: "0.1" is 1/10).
    t_end : number
        End time (> 0; exact or float).
    parameters : dict, optional
        Values of the loss's parameters (defaults otherwise).
    options : FlowOptions, optional

    Returns
    -------
    FlowResult
    """
    from .values import exact_value

    options = options or FlowOptions()
    loss, values = _loss_and_values(problem, parameters)
    start = [exact_value(v, "start") for v in start]
    if len(start) != loss.dimension:
        raise ParameterError(f"start has {len(start)} values but the loss has {loss.dimension} variables "
                             f"({', '.join(loss.state_names)})")
    t_end = exact_value(t_end, "time")
    if not t_end > 0:
        raise ParameterError(f"the end time must be positive, got {t_end}")
    if options.method == "taylor":
        return _taylor_flow(loss, values, start, t_end, options)
    return _scipy_flow(loss, values, start, t_end, options)


# -- float64 ------------------------------------------------------------------------------------------

def _scipy_run(gradient, x0, t_end, method, rtol, atol, options):
    from scipy.integrate import solve_ivp

    deadline = None if options.max_seconds is None else time.perf_counter() + options.max_seconds
    state = {"evaluations": 0}

    def fun(t, x):
        state["evaluations"] += 1
        if deadline is not None and time.perf_counter() > deadline:
            raise _Stop("time-limit")
        return -gradient.value(x)

    def jac(t, x):
        return -gradient.jacobian(x)

    kwargs = {"jac": jac} if method in _IMPLICIT else {}
    try:
        sol = solve_ivp(fun, (0.0, t_end), x0, method=method, rtol=rtol, atol=atol, dense_output=True, **kwargs)
    except _Stop as stop:
        return None, stop.args[0]
    if len(sol.t) - 1 > options.max_steps:
        return sol, "max-steps"
    return sol, "done" if sol.success else "failed"


class _Stop(Exception):
    pass


def _scipy_flow(loss, values, start, t_end, options):
    ctx = Float64()
    gradient = loss.gradient_function().compile(ctx).bind(values)
    x0 = ctx.array(start)
    t = float(t_end)
    loose, status_loose = _scipy_run(gradient, x0, t, options.method, options.rtol, options.atol, options)
    tight_rtol = max(options.rtol * 1e-3, 3e-14)
    tight, status = _scipy_run(gradient, x0, t, options.method, tight_rtol, options.atol * 1e-3, options)
    names = loss.state_names
    if tight is None or loose is None or status != "done" or status_loose != "done":
        message = f"solve_ivp ({options.method}) did not reach t = {t}: " + (
            getattr(tight, "message", "") or status)
        last = x0 if tight is None else tight.y[:, -1]
        return FlowResult(False, status if status != "done" else status_loose, message,
                          0.0 if tight is None else float(tight.t[-1]), last, float("inf"), 0,
                          np.array([0.0]), np.array([x0]), 0 if tight is None else len(tight.t) - 1, options.method,
                          options, values, names, ctx, None if tight is None else tight.sol)
    end = tight.y[:, -1]
    error = float(np.max(np.abs(end - loose.y[:, -1])))
    error = max(error, float(np.max(np.abs(end))) * np.finfo(float).eps)  # never below rounding
    digits = _digits(error, float(np.max(np.abs(end))))
    message = (f"{options.method}: {len(tight.t) - 1} steps (rtol {tight_rtol:.1e}); error estimated by the difference "
               f"from a run at rtol {options.rtol:.1e}")
    return FlowResult(True, "done", message, t, end, error, digits, tight.t, tight.y.T, len(tight.t) - 1,
                      options.method, options, values, names, ctx, tight.sol)


def _digits(error, scale):
    if error == 0:
        return 15
    if scale == 0 or not math.isfinite(float(error)):
        return 0
    return max(0, int(math.floor(-mpmath.log10(mpmath.mpf(error) / scale))))


# -- Taylor series in the mp context -------------------------------------------------------------------

def _default_order(dps):
    return min(max(12, int(math.ceil(0.6 * dps)) + 8), 200)


def _taylor_run(series, ctx, x0, params, t_end, tol, order, options):
    """One Taylor integration: (status, steps [(t, h, coefficients)], times, states)."""
    deadline = None if options.max_seconds is None else time.perf_counter() + options.max_seconds
    t = ctx.number(0)
    x = list(x0)
    pieces, times, states = [], [t], [list(x)]
    while t < t_end:
        if len(pieces) >= options.max_steps:
            return "max-steps", pieces, times, states
        if deadline is not None and time.perf_counter() > deadline:
            return "time-limit", pieces, times, states
        coefficients = series.coefficients(ctx, x, params, order)
        scale = max(1, max(abs(v) for v in x))
        eps = tol * scale
        h = None
        for k in (order - 1, order):
            size = max(abs(c[k]) for c in coefficients)
            if size > 0:
                candidate = (eps / size) ** (ctx.number(1) / k)
                h = candidate if h is None else min(h, candidate)
        remaining = t_end - t
        h = remaining if h is None else min(h * ctx.number("0.9"), remaining)
        if not h > 0:
            return "failed", pieces, times, states
        x = [_horner(c, h) for c in coefficients]
        ctx.check_finite(x, "gradient-flow state", x)
        pieces.append((t, h, coefficients))
        t = t + h if h < remaining else t_end
        times.append(t)
        states.append(list(x))
    return "done", pieces, times, states


def _horner(coefficients, h):
    value = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        value = value * h + c
    return value


def _taylor_flow(loss, values, start, t_end, options):
    gradient = loss.gradient_function()
    from .taylor import TaylorSeries

    series = TaylorSeries(gradient.graph, gradient.outputs, gradient.state, gradient.parameters, sign=-1)
    work = fast_mp(MP(dps=options.dps + 20).prec)
    order = options.order or _default_order(options.dps + 8)
    with work.scope():
        x0 = [work.number(v) for v in start]
        params = [work.number(values[p]) for p in gradient.parameters]
        t_end_ctx = work.number(t_end)
        runs = []
        for tol_digits in (options.dps, options.dps + 8):
            tol = work.number(sympy.Rational(1, 10**tol_digits))
            runs.append(_taylor_run(series, work, x0, params, t_end_ctx, tol, order, options))
        (status_a, _, _, states_a), (status, pieces, times, states) = runs
        names = loss.state_names
        difference = max(abs(a - b) for a, b in zip(states_a[-1], states[-1]))
        size = max(abs(v) for v in states[-1])
        floor = work.number(sympy.Rational(1, 10**(options.dps + 19))) * max(size, 1)
        error = work.to_mpf(max(difference, floor))
        digits = _digits(error, work.to_mpf(size))
        # results in mpmath numbers whatever the working backend (gmpy2 and mpmath numbers do not compare)
        end = np.array([work.to_mpf(v) for v in states[-1]], dtype=object)
        times_out = np.array([work.to_mpf(v) for v in times], dtype=object)
        states_out = np.array([[work.to_mpf(v) for v in x] for x in states], dtype=object)
    result_ctx = MP(prec=work.prec)
    dense = _dense(pieces, work)
    if status != "done" or status_a != "done":
        bad = status if status != "done" else status_a
        message = f"Taylor integration stopped ({bad}) at t = {mpmath.nstr(times_out[-1], 10)} of {t_end}"
        return FlowResult(False, bad, message, times_out[-1], end, mpmath.inf, 0, times_out, states_out, len(pieces),
                          "taylor", options, values, names, result_ctx, dense)
    message = (f"Taylor series of order {order}, {len(pieces)} steps at tolerance 1e-{options.dps + 8}; error "
               f"estimated by the difference from a run at tolerance 1e-{options.dps} ({len(runs[0][1])} steps)")
    return FlowResult(True, "done", message, times_out[-1], end, error, digits, times_out, states_out, len(pieces),
                      "taylor", options, values, names, result_ctx, dense)


def _dense(pieces, ctx):
    starts = [p[0] for p in pieces]

    def evaluate(t):
        with ctx.scope():
            t = ctx.number(t)
            k = max(0, min(len(pieces) - 1, bisect.bisect_right(starts, t) - 1))
            t0, h, coefficients = pieces[k]
            if t < t0 or t > t0 + h * ctx.number("1.000001"):
                raise ParameterError(f"t = {ctx.format(t, 10)} is outside the integrated interval")
            return np.array([ctx.to_mpf(_horner(c, t - t0)) for c in coefficients], dtype=object)

    return evaluate if pieces else None


# -- laws along a flow ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LawDrift:
    """How far a law moved along an integrated flow.

    ``drift`` is max_k |h(x(t_k)) - h(x(0))| over the accepted steps; for a
    conservation law it is of the order of ``tolerance``, the flow's error
    estimate times the largest gradient of h met (first-order propagation).
    """

    law: object
    initial: object
    final: object
    drift: object
    tolerance: object


def law_drift(result, laws):
    """Evaluate each law (a sympy expression in the state and parameter symbols) along ``result``."""
    from .laws import law_function_of

    if not len(laws):
        return ()
    names = result.state_names
    laws, function = law_function_of(laws, names, tuple(result.parameters))
    ctx = result.ctx
    out = []
    with ctx.scope():
        bound = function.compile(ctx).bind(result.parameters)
        values = [bound.value(ctx.convert_array(x) if ctx.kind != "float64" else np.asarray(x, dtype=float))
                  for x in result.states]
        gradients = [bound.jacobian(ctx.convert_array(x) if ctx.kind != "float64" else np.asarray(x, dtype=float))
                     for x in result.states[:: max(1, len(result.states) // 50)]]
        for i, law in enumerate(laws):
            series = [v[i] for v in values]
            drift = max(abs(v - series[0]) for v in series)
            slope = max(sum(abs(g) for g in row[i]) for row in gradients)
            out.append(LawDrift(law, series[0], series[-1], drift, slope * result.error))
    return tuple(out)
