"""Fixed points and period-k orbits at arbitrary precision, with their multipliers.

Method: multiple shooting.  The unknowns are the orbit points x_0..x_{k-1},
the residuals r_i = F(x_i) - x_{i+1} (indices mod k).  A Newton step solves
``delta_{i+1} = A_i delta_i + r_i`` with ``A_i = DF(x_i)``; eliminating
along the cycle gives ``(I - M) delta_0 = c`` with the monodromy
``M = A_{k-1} ... A_0``, so a step costs O(k n^3), never a dense
(kn) x (kn) solve, and M is at hand for the multipliers.

Precision: Newton first converges in float64 (with a backtracking line
search), then the working precision is doubled each step up to the target
plus guard digits.  Finally one more Newton step at a higher precision
measures the error of the result: the ``digits`` reported are those two
precisions agreeing, never the precision asked for.

Fixed points of GD on an over-parameterized loss are not isolated: they form
a manifold along which the multipliers are exactly 1 and ``I - M`` is
singular.  This is detected (in float64, by the singular values of
``I - M``), reported (``isolated=False``, ``manifold_dimension``), and Newton
continues on a bordered system whose extra rows pin the step orthogonal to
the manifold (a section condition), so it stays quadratic.

Examples
--------
The period-2 orbit of the logistic map at r = 3.2 has the closed form
(r + 1 +- sqrt((r - 3)(r + 1))) / (2r) and multiplier 4 + 2r - r^2:

>>> from dynsys_eos.models import build_model
>>> m = build_model("logistic", r="16/5")
>>> orbit = find_orbit(m, 2, ["0.5"], options=OrbitOptions(dps=40))
>>> orbit.status, orbit.digits >= 40, orbit.minimal_period
('converged', True, 2)
>>> print(orbit.format_point(0, 30))
(0.513044509532629999794123525196)
>>> print(orbit.format_multiplier(0, 20))
0.16000000000000000000
"""

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import mpmath
import numpy as np

from .arith import MP, Float64, bits_to_dps, dps_to_bits
from .errors import ConvergenceError, EvaluationError, ParameterError
from .linalg import bordered_solve, eigvals, matmul_chain, solve
from .precision import measure, refine, revealed_bits
from .values import exact_value

__all__ = ["OrbitOptions", "OrbitResult", "find_orbit", "find_fixed_point"]


@dataclass(frozen=True)
class OrbitOptions:
    """Options of :func:`find_orbit`.

    Parameters
    ----------
    dps : int
        Decimal digits wanted (>= 1).
    guard_digits : int or None
        Extra working digits; default ``max(10, dps // 10)``.
    max_float_iterations : int
        Newton iterations allowed in float64.
    max_precision_steps : int
        Newton steps allowed in the precision-doubling phase.
    manifold_tolerance : float
        A singular value of ``I - M`` below this times the largest one (at the
        float64 solution) counts as a direction along a manifold of solutions.
    check_precision : bool
        Measure the digits achieved by a second, higher precision (default True).
    """

    dps: int = 50
    guard_digits: int = None
    max_float_iterations: int = 100
    max_precision_steps: int = 40
    manifold_tolerance: float = 1e-9
    check_precision: bool = True

    def __post_init__(self):
        if not isinstance(self.dps, int) or self.dps < 1:
            raise ParameterError(f"dps must be a positive integer, got {self.dps!r}")
        if self.dps > 100000:
            raise ParameterError(f"dps={self.dps} is beyond what this solver is meant for (at most 100000)")
        if self.guard_digits is not None and (not isinstance(self.guard_digits, int) or self.guard_digits < 0):
            raise ParameterError(f"guard_digits must be a non-negative integer, got {self.guard_digits!r}")
        if self.max_float_iterations < 1 or self.max_precision_steps < 1:
            raise ParameterError("iteration limits must be at least 1 (got "
                                 f"max_float_iterations={self.max_float_iterations}, max_precision_steps={self.max_precision_steps})")
        if not 0 < self.manifold_tolerance < 1:
            raise ParameterError(f"manifold_tolerance must lie in (0, 1), got {self.manifold_tolerance}")

    @property
    def guard(self):
        return max(10, self.dps // 10) if self.guard_digits is None else self.guard_digits


@dataclass(frozen=True)
class OrbitResult:
    """A periodic orbit, its multipliers and how accurate they are.

    Attributes
    ----------
    success : bool
        True when Newton converged and the digits achieved reach ``options.dps``.
    status : str
        ``"converged"``, ``"low-precision"`` (converged, fewer digits than
        asked), ``"not-converged"`` or ``"diverged"``.
    message : str
        A sentence for a person.
    period, minimal_period : int
        The period solved for, and the smallest period of the points found
        (smaller when Newton landed on an orbit of a divisor period).
    points : tuple of tuple of mpf
        The orbit points x_0..x_{period-1}.
    digits : int
        Significant digits of the points, measured by two precisions.
    error : mpf
        Estimated absolute error of the points (max norm).
    multipliers : tuple
        Eigenvalues of the monodromy matrix (mpf or mpc), by decreasing modulus.
    multiplier_digits : int
        Decimal places to which the multipliers are correct (absolute error).
    stable : bool or None
        Every (transverse) multiplier strictly inside the unit circle; None
        when one lies on the circle to the accuracy achieved.
    unstable_count : int
        Multipliers strictly outside the unit circle.
    isolated : bool
        False when the orbit lies on a manifold of orbits.
    manifold_dimension : int
        Number of multipliers equal to 1 along that manifold (0 if isolated).
    """

    success: bool
    status: str
    message: str
    map: object = field(repr=False)
    parameters: dict = field(repr=False)
    period: int = 1
    minimal_period: int = 1
    points: tuple = ()
    digits: int = 0
    error: object = None
    multipliers: tuple = ()
    multiplier_digits: int = 0
    stable: object = None
    unstable_count: int = 0
    isolated: bool = True
    manifold_dimension: int = 0
    iterations: int = 0
    precision_bits: tuple = ()
    options: OrbitOptions = field(default=None, repr=False)

    def format_point(self, i, digits=None):
        """Point ``i`` as ``(c1, c2, ...)`` with ``digits`` significant digits (default: achieved)."""
        digits = min(self.digits, digits or self.digits)
        return "(" + ", ".join(_fmt(v, digits) for v in self.points[i]) + ")"

    def format_multiplier(self, i, places=None):
        """Multiplier ``i`` with ``places`` decimal places (default: achieved)."""
        return _fmt_multiplier(self.multipliers[i], min(self.multiplier_digits, places or self.multiplier_digits))


def _fmt(value, digits):
    with mpmath.workdps(digits + 10):
        return mpmath.nstr(value, max(digits, 1), strip_zeros=False, min_fixed=-5, max_fixed=6)


def _fmt_multiplier(value, places):
    """Fixed number of decimal places: multipliers are compared with 1, so absolute accuracy counts."""
    def fixed(x, absolute=False):
        with mpmath.workdps(places + 30):  # abs() and nstr round to the working precision: set it first
            x = abs(x) if absolute else x
            text = mpmath.nstr(x, places + 30, min_fixed=-math.inf, max_fixed=math.inf)
            return _round_fixed(text, places)
    if isinstance(value, mpmath.mpc):
        imag = fixed(value.imag, absolute=True)
        if Decimal(imag) == 0:  # zero to the places shown: print it as the real number it is
            return fixed(value.real)
        return f"{fixed(value.real)}{'-' if value.imag < 0 else '+'}{imag}j"
    return fixed(value)


def _round_fixed(text, places):

    with localcontext() as c:
        c.prec = len(text) + max(places, 0) + 10
        quantum = Decimal(1).scaleb(-max(places, 0))
        return format(Decimal(text).quantize(quantum, rounding=ROUND_HALF_EVEN), "f")


# -- the Newton step ------------------------------------------------------------------

def _newton_step(bound, xs, null_basis, linear_solver=solve):
    """One multiple-shooting Newton step; returns (new points, correction max-norm, monodromy, residual norm)."""
    ctx, k, n = bound.ctx, len(xs), bound.n
    evaluations = [bound.value_and_jacobian(x) for x in xs]
    residuals = [evaluations[i][0] - xs[(i + 1) % k] for i in range(k)]
    monodromy = ctx.identity(n)
    c = ctx.zeros(n)
    for (_, A), r in zip(evaluations, residuals):
        c = A @ c + r
        monodromy = A @ monodromy
    system = ctx.identity(n) - monodromy
    if null_basis is not None:  # bordered system: step orthogonal to the manifold (I - M symmetric there)
        delta0, _ = bordered_solve(ctx, system, c, null_basis, null_basis)
    else:
        delta0 = linear_solver(ctx, system, c)
    deltas = [delta0]
    for i in range(k - 1):
        deltas.append(evaluations[i][1] @ deltas[-1] + residuals[i])
    new = [x + d for x, d in zip(xs, deltas)]
    correction = max(_max_abs(ctx, d) for d in deltas)
    residual = max(_max_abs(ctx, r) for r in residuals)
    return new, correction, monodromy, residual


def _monodromy(bound, xs):
    """M = DF(x_{k-1}) ... DF(x_0)."""
    return matmul_chain(bound.ctx, [bound.jacobian(x) for x in xs])


def _max_abs(ctx, vector):
    return max(abs(v) for v in vector) if len(vector) else 0


def _scale(xs):
    return max(1, max(abs(v) for x in xs for v in x))


# -- the solver -------------------------------------------------------------------------

def find_orbit(map_, period, guess, parameters=None, options=None):
    """Find a period-``period`` orbit of ``map_`` near ``guess``.

    Parameters
    ----------
    map_ : Map
    period : int
        The period k >= 1 (1 for a fixed point).
    guess : sequence
        One state (its k - 1 images under the map complete the first
        guess) or ``period`` states.  Coordinates are exact numbers, decimal
        strings or floats.
    parameters : dict, optional
        Parameter values overriding the map's defaults (exact numbers or
        decimal strings).
    options : OrbitOptions, optional

    Returns
    -------
    OrbitResult
        Non-convergence is a status, not an exception.

    Raises
    ------
    ParameterError
        For a bad period, guess or parameter name.
    EvaluationError
        When the map cannot be evaluated at the guess.
    """
    options = options or OrbitOptions()
    if not isinstance(period, (int, np.integer)) or period < 1:
        raise ParameterError(f"period must be a positive integer, got {period!r}")
    period = int(period)
    n = map_.dimension
    values = map_.parameter_values(parameters)
    points = _initial_points(map_, period, guess, values)
    common = dict(map_=map_, parameters=dict(values), period=period, options=options)

    # float64 phase
    bound = map_.bind(Float64(), values)
    xs = [np.array(p, dtype=float) for p in points]
    xs, info = _float_newton(bound, xs, options)
    if info["status"] != "converged":
        return _failure(info, common, xs)
    null_basis = info["null_basis"]

    # precision-doubling phase, then one step at a higher precision measures the digits
    target = dps_to_bits(options.dps + options.guard)
    seed_bits = max(8.0, min(info["bits"] - 4, 44.0))
    try:
        xs_mp, xs_hi, digits, check_prec, steps = _precise(map_, values, xs, null_basis, seed_bits, target, options)
        if null_basis is not None and not _solves(map_, values, xs_hi, digits, check_prec):
            # float64 saw a manifold where there is none (I - M singular only to double precision, as next
            # to a period doubling): the bordered steps converged to a non-solution; solve as isolated
            null_basis = None
            xs_mp, xs_hi, digits, check_prec, steps = _precise(map_, values, xs, None, seed_bits, target, options)
    except (ConvergenceError, EvaluationError) as exc:
        return _failure({"status": "not-converged", "message": f"precision refinement failed: {exc}",
                         "iterations": info["iterations"]}, common, xs)
    if xs_mp is None:
        return _failure({"status": "not-converged", "message": f"Newton did not converge at {bits_to_dps(target)} "
                         f"digits within {options.max_precision_steps} steps", "iterations": info["iterations"]},
                        common, xs)
    check_ctx = MP(prec=check_prec)
    with check_ctx.scope():
        # multipliers at the refined points and at the target-precision ones: their agreement is measured
        monodromy_hi = _monodromy(map_.bind(check_ctx, values), xs_hi)
        multipliers_hi = _multipliers(check_ctx, monodromy_hi, map_, period, n)
    low_ctx = MP(prec=target)
    with low_ctx.scope():
        monodromy_lo = _monodromy(map_.bind(low_ctx, values), xs_mp)
        multipliers_lo = _multipliers(low_ctx, monodromy_lo, map_, period, n)
    with check_ctx.scope():
        multiplier_digits = _agreement_places(multipliers_hi, multipliers_lo, bits_to_dps(target))
        error = max(_max_abs(check_ctx, a - b) for a, b in zip(xs_hi, xs_mp))
        points = tuple(tuple(+v for v in x) for x in xs_hi)
    return _classify(common, points, digits, error, multipliers_hi, multiplier_digits, null_basis,
                     info["iterations"] + steps + 1, (target, check_prec))


def _precise(map_, values, xs, null_basis, seed_bits, target, options):
    """Refine to ``target`` bits and measure: (points, refined points, digits, check precision, steps)."""

    def step(ctx, points):
        bound = map_.bind(ctx, values)
        current = [np.array([ctx.number(v) for v in x], dtype=object) for x in points]
        new, correction, _, _ = _newton_step(bound, current, null_basis)
        return new, correction, _scale(new)

    xs_mp, steps = refine(step, xs, seed_bits, target, options.max_precision_steps)
    if xs_mp is None:
        return None, None, 0, target, steps
    xs_hi, digits, check_prec = measure(step, xs_mp, target)
    return xs_mp, xs_hi, digits, check_prec, steps


def _solves(map_, values, xs, digits, prec):
    """Whether the points satisfy the orbit equations to the digits claimed (checked at ``prec`` bits)."""
    ctx = MP(prec=prec)
    with ctx.scope():
        bound = map_.bind(ctx, values)
        images = [bound.value(x) for x in xs]
        residual = max(_max_abs(ctx, images[i] - xs[(i + 1) % len(xs)]) for i in range(len(xs)))
        return residual <= mpmath.mpf(10) ** (-max(digits - 2, 1)) * _scale(xs)


def find_fixed_point(map_, guess, parameters=None, options=None):
    """A fixed point: :func:`find_orbit` with period 1."""
    return find_orbit(map_, 1, guess, parameters, options)


def _initial_points(map_, period, guess, values):
    n = map_.dimension
    guess = list(guess)
    if len(guess) and np.ndim(guess[0]) == 0:
        guess = [guess]
    for g in guess:
        if len(g) != n:
            raise ParameterError(f"a guess point has {len(g)} coordinate(s); map {map_.name!r} has {n} "
                                 f"({', '.join(map_.state_names)})")
    if len(guess) not in (1, period):
        raise ParameterError(f"give one guess point or {period} (one per orbit point), not {len(guess)}")
    ctx = Float64()
    points = [ctx.array([exact_value(v, "guess") for v in g]) for g in guess]
    if len(points) == 1 and period > 1:
        bound = map_.bind(ctx, values)
        for _ in range(period - 1):
            points.append(bound.value(points[-1]))
    return points


def _float_newton(bound, xs, options):
    """Damped multiple-shooting Newton in float64; detects a manifold of solutions.

    Steps are minimum-norm (truncated SVD) so that near a manifold of
    solutions, where ``I - M`` is nearly but not exactly singular, Newton
    moves onto the manifold instead of sliding along it.  It stops when the
    corrections reach rounding level or stagnate there (ill-conditioned
    orbits never get below it).
    """
    null_basis = None
    correction, previous = math.inf, math.inf
    try:
        for iteration in range(1, options.max_float_iterations + 1):
            xs, correction, _, _ = _float_step(bound, xs)
            scale = _scale(xs)
            stagnated = correction <= 1e-9 * scale and correction > previous / 4
            if correction <= 4e-16 * scale or stagnated:
                break
            previous = correction
        else:
            if not correction <= 1e-8 * _scale(xs):
                return xs, {"status": "not-converged", "iterations": options.max_float_iterations,
                            "message": f"float64 Newton did not converge in {options.max_float_iterations} iterations "
                                       f"(last correction {correction:.3g})"}
        # a zero correction from a singular system is not convergence: check the residual itself
        images = [bound.value(x) for x in xs]
        residual = max(_max_abs(bound.ctx, images[i] - xs[(i + 1) % len(xs)]) for i in range(len(xs)))
        if not residual <= 1e-9 * _scale(xs):
            return xs, {"status": "not-converged", "iterations": iteration,
                        "message": f"Newton stalled at a point that is not a period-{len(xs)} orbit "
                                   f"(residual {residual:.3g}); no orbit near the guess?"}
        # the manifold test at the converged point
        monodromy = _newton_step(bound, xs, None, linear_solver=_truncated_solve)[2]
        null_basis = _null_space(np.eye(bound.n) - monodromy, options.manifold_tolerance)
    except EvaluationError as exc:
        return xs, {"status": "diverged", "iterations": 0, "message": f"Newton left the domain of the map: {exc}"}
    return xs, {"status": "converged", "iterations": iteration, "null_basis": null_basis,
                "bits": revealed_bits(correction, _scale(xs)) if correction > 0 else 52.0}


#: Relative singular-value cut of the float64 phase's minimum-norm steps.
_FLOAT_RCOND = 1e-7


def _truncated_solve(ctx, A, b):
    """Minimum-norm solution with singular values below ``_FLOAT_RCOND * max`` dropped."""
    return np.linalg.lstsq(A, b, rcond=_FLOAT_RCOND)[0]


def _float_step(bound, xs):
    """A minimum-norm Newton step with backtracking on the residual."""
    ctx = bound.ctx
    new, correction, monodromy, residual = _newton_step(bound, xs, None, linear_solver=_truncated_solve)
    for _ in range(12):
        try:
            trial = [bound.value(x) for x in new]
            trial_residual = max(_max_abs(ctx, trial[i] - new[(i + 1) % len(new)]) for i in range(len(new)))
            if trial_residual <= residual or residual < 1e-12 * _scale(xs):
                return new, correction, monodromy, residual
        except EvaluationError:
            pass
        new = [x + (y - x) / 2 for x, y in zip(xs, new)]
        correction /= 2
    return new, correction, monodromy, residual


def _null_space(matrix, tolerance):
    """Orthonormal basis (n x m float array) of the numerical null space, or None."""
    u, s, vt = np.linalg.svd(matrix)
    largest = max(s[0], 1.0) if len(s) else 1.0
    rank = int(np.sum(s > tolerance * largest))
    if rank == len(s):
        return None
    return vt[rank:].T.copy()


def _multipliers(ctx, monodromy, map_, period, n):
    symmetric = map_.symmetric and period == 1
    if ctx.kind != "float64" and n > 40:  # mpmath eig is O(n^3) in Python: use doubles for large states
        return tuple(mpmath.mpmathify(v) for v in eigvals(Float64(), np.array(monodromy, dtype=float), symmetric))
    return tuple(eigvals(ctx, monodromy, symmetric))


def _agreement_places(a, b, cap):
    """Decimal places to which two lists of eigenvalues agree (paired by nearest)."""
    worst = mpmath.mpf(0)
    remaining = list(b)
    for value in a:
        j = min(range(len(remaining)), key=lambda i: abs(remaining[i] - value))
        worst = max(worst, abs(remaining.pop(j) - value))
    if worst == 0:
        return cap
    return int(max(0, min(cap, math.floor(-float(mpmath.log10(worst))))))


def _classify(common, points, digits, error, multipliers, multiplier_digits, null_basis, iterations, precisions):
    with mpmath.workprec(precisions[1]):  # |mu| - 1 must be formed at the precision the multipliers carry
        return _classify_at_precision(common, points, digits, error, multipliers, multiplier_digits, null_basis,
                                      iterations, precisions)


def _classify_at_precision(common, points, digits, error, multipliers, multiplier_digits, null_basis, iterations,
                           precisions):
    map_, period, options = common["map_"], common["period"], common["options"]
    tolerance = mpmath.mpf(10) ** (-max(multiplier_digits - 1, 1))
    manifold_dimension = 0 if null_basis is None else null_basis.shape[1]
    transverse = list(multipliers)
    if manifold_dimension:  # remove the multipliers equal to 1 along the manifold
        for _ in range(manifold_dimension):
            j = min(range(len(transverse)), key=lambda i: abs(transverse[i] - 1))
            transverse.pop(j)
    moduli = [abs(m) for m in transverse]
    unstable = sum(1 for r in moduli if r > 1 + tolerance)
    on_circle = any(abs(r - 1) <= tolerance for r in moduli)
    stable = None if on_circle else unstable == 0
    minimal = _minimal_period(points, period, digits)
    success = digits >= options.dps
    status = "converged" if success else "low-precision"
    parts = [f"period-{period} orbit found to {digits} digits"]
    if minimal < period:
        parts.append(f"its points repeat with period {minimal}")
    if manifold_dimension:
        parts.append(f"it lies on a {manifold_dimension}-dimensional manifold of orbits (multipliers 1 along it); "
                     "stability refers to the transverse multipliers")
    if on_circle:
        parts.append("a multiplier lies on the unit circle to the accuracy achieved (a bifurcation point?)")
    if not success:
        parts.append(f"fewer digits than the {options.dps} asked for")
    return OrbitResult(
        success=success, status=status, message="; ".join(parts), map=map_, parameters=common["parameters"],
        period=period, minimal_period=minimal, points=points, digits=digits, error=error,
        multipliers=tuple(multipliers), multiplier_digits=multiplier_digits, stable=stable,
        unstable_count=unstable, isolated=manifold_dimension == 0, manifold_dimension=manifold_dimension,
        iterations=iterations, precision_bits=precisions, options=options,
    )


def _minimal_period(points, period, digits):
    tolerance = mpmath.mpf(10) ** (-max(digits // 2, 1)) * _scale(points)
    for divisor in range(1, period):
        if period % divisor == 0 and all(
            max(abs(a - b) for a, b in zip(points[i], points[(i + divisor) % period])) <= tolerance
            for i in range(period)
        ):
            return divisor
    return period


def _failure(info, common, xs):
    points = tuple(tuple(mpmath.mpf(float(v)) for v in x) for x in xs)
    return OrbitResult(
        success=False, status=info["status"], message=info["message"], map=common["map_"],
        parameters=common["parameters"], period=common["period"], minimal_period=None, points=points,
        digits=0, iterations=info.get("iterations", 0), options=common["options"], isolated=None,
        manifold_dimension=None, unstable_count=None,
    )
