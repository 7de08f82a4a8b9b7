"""Exact thresholds: the learning rate at which a minimum stops being linearly stable.

At a minimum theta* of L, GD's Jacobian is I - lr H with H the Hessian, so
the minimum is linearly stable iff lr < 2 / lambda_max(H) (a multiplier
crosses -1 there: a flip).  For heavy-ball momentum the multipliers solve
mu^2 - (1 + beta - lr lambda) mu + beta = 0, and the flip sits at
lr = 2 (1 + beta) / lambda_max.

Three kinds of answer, tried in this order:

``closed-form``
    The eigenvalues of the exact Hessian with the model's parameters kept
    symbolic (each with the sign of its given value); the branch that is
    largest at the given values is the expression.
``algebraic``
    Parameters substituted, the largest eigenvalue as an exact algebraic
    number (radicals, or a ``CRootOf`` with an isolating interval).
``numeric``
    The largest eigenvalue computed in mpmath at two precisions (its digits
    measured), when no exact form was found in the time allowed or the point
    is only known numerically.

Without ``at``, the minimum is the model's flattest one (smallest sharpness),
so the threshold is the critical learning rate above which no minimum is
linearly stable.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> t = critical_learning_rate(build_model("scalar-net", depth=3, sigma=2))
>>> t.kind, t.expression, t.format_value(20)
('closed-form', 2/(3*sigma**(4/3)), '0.26456684199469991246')
>>> t = critical_learning_rate(build_model("uv", n=4, y="1/2"))
>>> t.expression, t.format_value(10)
(2/(x1*y), '4.000000000')
"""

import contextlib
import dataclasses
import math
import signal
import threading
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy
from sympy.matrices.exceptions import MatrixError

from .arith import MP, _exact_to_mpf
from .errors import ParameterError, ThresholdError
from .linalg import top_symmetric_eigenvalue
from .values import sympy_number

__all__ = ["ThresholdResult", "critical_learning_rate", "SYMBOLIC_MAX_DIMENSION"]

#: Largest state dimension for which exact eigenvalues are attempted.
SYMBOLIC_MAX_DIMENSION = 12


@dataclass(frozen=True)
class ThresholdResult:
    """The critical learning rate at a minimum.

    Attributes
    ----------
    parameter : str
        The parameter the threshold is for (``"lr"``).
    kind : str
        ``"closed-form"``, ``"algebraic"`` or ``"numeric"``.
    expression : sympy.Expr or None
        The exact threshold (in the model's parameters for ``closed-form``;
        a number for ``algebraic``); None for ``numeric``.
    value : mpf
        Its value at the given parameters.
    digits : int
        Significant digits of ``value``, checked at two precisions.
    sharpness : mpf
        lambda_max of the Hessian at the minimum.
    sharpness_expression : sympy.Expr or None
    minimum : tuple
        The minimum (exact numbers as given or known).
    interval : tuple or None
        An isolating interval (rationals) of the algebraic sharpness, when it is a ``CRootOf``.
    rule : str
        ``"gd"`` or ``"hb"``.
    message : str
    """

    parameter: str
    kind: str
    expression: object
    value: object
    digits: int
    sharpness: object
    sharpness_expression: object
    minimum: tuple
    interval: object
    rule: str
    message: str
    parameters: dict = field(repr=False, default=None)

    def format_value(self, digits=None):
        digits = min(self.digits, digits or self.digits)
        with mpmath.workdps(digits + 10):
            return mpmath.nstr(self.value, digits, strip_zeros=False)


def critical_learning_rate(map_, at=None, parameters=None, dps=50, time_limit=8.0):
    """The learning rate at which a minimum of the map's loss loses linear stability.

    Parameters
    ----------
    map_ : Map
        A GD (``gd``) or heavy-ball (``hb``) map of a loss.
    at : sequence, optional
        The minimum (exact numbers or decimal strings); default: the model's
        flattest minimum.  A point that is critical only approximately
        (|grad L| <= 1e-6) is accepted, and the digits reported are capped by
        its gradient's size.
    parameters : dict, optional
        Parameter overrides.
    dps : int
        Digits for the value.
    time_limit : float
        Seconds allowed for each exact (sympy) attempt.

    Raises
    ------
    ThresholdError
        If the map has no loss or a rule without a fixed point at minima, if
        no minimum is known, or if the point is not a minimum.
    """
    loss, rule = map_.loss, map_.rule
    if loss is None or rule not in ("gd", "hb"):
        what = "a raw map" if loss is None else f"rule {rule!r}"
        raise ThresholdError(f"a learning-rate threshold is defined for GD ('gd') and heavy-ball ('hb') maps of a loss, "
                             f"not for {what} (its minima are not fixed points of that map)")
    values = _threshold_parameters(map_, loss, rule, parameters)
    loss_values = {p: values[p] for p in loss.parameter_names}
    model = getattr(map_, "model", None)
    symbolic_ok = at is None
    if at is None:
        point = None
        if model is not None and model.spec.flattest_minimum is not None:
            point = model.spec.flattest_minimum(model.structure, {**model.values, **values})
        if point is None:
            raise ThresholdError(f"no known flattest minimum for {loss.name!r}: give the minimum with --at")
    else:
        from .values import exact_value

        point = [exact_value(v, "at") for v in at]
        if len(point) != loss.dimension:
            raise ParameterError(f"--at has {len(point)} coordinate(s); the loss has {loss.dimension} ({', '.join(loss.state_names)})")
    factor = 2 * (1 + values["beta"]) if rule == "hb" else sympy.Integer(2)
    context = dict(parameters=values, rule=rule)

    point_is_exact = all(isinstance(v, sympy.Basic) and v.is_number for v in point)
    cap, note = dps, ""
    if not (point_is_exact and _is_exact_critical_point(loss, point, loss_values, time_limit)):
        gradient = max(abs(g) for g in _numeric_gradient(loss, point, loss_values, dps + 10))
        scale = max(1, max(abs(_exact_to_mpf(v, 64)) for v in point))
        if gradient > 1e-6 * scale:
            raise ThresholdError(f"the point is not a critical point of the loss (|grad L| = {mpmath.nstr(gradient, 3)}); "
                                 "give a minimum")
        cap = dps if gradient == 0 else max(0, min(dps, int(math.floor(-mpmath.log10(gradient)))))
        if cap < dps:
            note = (f"; the point is critical only up to |grad L| = {mpmath.nstr(gradient, 3)}, "
                    f"so the threshold of the nearby minimum is known to about {cap} digits")
    result = None
    if point_is_exact and loss.dimension <= SYMBOLIC_MAX_DIMENSION:
        if symbolic_ok and model is not None and model.spec.flattest_minimum is not None:
            found = _symbolic_sharpness(loss, model, loss_values, time_limit)
            if found is not None:
                result = _exact_result("closed-form", found, factor, values, point, dps, context, symbolic_params=True)
        if result is None:
            found = _exact_sharpness(loss, point, loss_values, time_limit)
            if found is not None:
                kind = "algebraic" if found.has(sympy.CRootOf) else "closed-form"
                result = _exact_result(kind, found, factor, values, point, dps, context)
    if result is None:
        result = _numeric_result(loss, point, loss_values, factor, dps, context)
    if note:
        result = dataclasses.replace(result, digits=min(result.digits, cap), message=result.message + note)
    return result


def _threshold_parameters(map_, loss, rule, overrides):
    """The parameter values a threshold depends on (the loss's, and beta for heavy ball; not lr)."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(map_.parameter_names))
    if unknown:
        raise ParameterError(f"map {map_.name!r} has no parameter(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(map_.parameter_names)}")
    values = {**map_.defaults, **overrides}
    needed = list(loss.parameter_names) + (["beta"] if rule == "hb" else [])
    missing = [p for p in needed if p not in values]
    if missing:
        raise ParameterError(f"no value for parameter(s) {', '.join(missing)}")
    return {p: values[p] for p in needed}


# -- exact paths -----------------------------------------------------------------------------

class _TimeUp(BaseException):  # not Exception: library code that catches Exception must not swallow it
    pass


@contextlib.contextmanager
def _time_limit(seconds):
    """Interrupt pure-Python work after ``seconds`` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not seconds:
        yield
        return

    def handler(signum, frame):
        raise _TimeUp()

    previous = signal.signal(signal.SIGALRM, handler)
    # Re-fire every 0.1 s after the deadline: a raise that lands in a gc or weakref callback is swallowed
    # ("Exception ignored in ..."), and a single shot would then leave the work running unbounded.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _is_exact_critical_point(loss, point, values, time_limit):
    if not all(isinstance(v, sympy.Basic) and v.is_number for v in point):
        return False
    at = dict(zip(loss.state_names, point), **values)
    try:
        with _time_limit(time_limit):
            if loss.dimension > SYMBOLIC_MAX_DIMENSION:  # too large to simplify: checked numerically by the caller
                return False
            return all(sympy.simplify(g) == 0 for g in loss.gradient_sympy(at=at))
    except _TimeUp:
        return False


def _real_value(number, digits):
    """The real part of an evaluated number whose imaginary part is only rounding, else None.

    Cardano's formula writes the real eigenvalues of a 3x3 Hessian with
    complex radicals; evaluated, they carry an imaginary part of rounding size.
    """
    re, im = number.as_real_imag()
    if im == 0 or abs(im) <= sympy.Float(10) ** (5 - digits) * max(1, abs(re)):
        return re
    return None


def _signed_symbols(values):
    """A symbol per parameter carrying the sign of its value (zero values stay numbers)."""
    symbols = {}
    for name, value in values.items():
        v = sympy_number(value, name)
        if v.is_zero:
            symbols[name] = v
        else:
            symbols[name] = sympy.Symbol(name, positive=True) if v.is_positive else sympy.Symbol(name, negative=True)
    return symbols


def _largest_eigenvalue(H, values):
    """The eigenvalue branch of exact ``H`` largest at ``values`` (None if not found)."""
    eigen = H.eigenvals()
    if not eigen or sum(eigen.values()) != H.shape[0]:
        return None
    substitution = {sympy.Symbol(k, **s.assumptions0) if isinstance(s, sympy.Symbol) else k: v for k, (s, v) in values.items()}
    best, best_value = None, None
    with mpmath.workdps(40):
        for branch in eigen:
            numeric = _real_value(sympy.N(branch.xreplace(substitution), 40), 40)
            if numeric is None:
                return None
            if numeric < -sympy.Float(10) ** -30:
                raise ThresholdError(f"the point is not a minimum: the Hessian has the negative eigenvalue {branch}")
            if best_value is None or numeric > best_value:
                best, best_value = branch, numeric
    if best_value is None or best_value <= 0:
        raise ThresholdError("the Hessian at this minimum has no positive eigenvalue: it is linearly stable for every lr")
    return best


def _symbolic_sharpness(loss, model, values, time_limit):
    symbols = _signed_symbols(values)
    try:
        with _time_limit(time_limit):
            point = model.spec.flattest_minimum(model.structure, {**model.values, **symbols})
            if point is None:
                return None
            at = dict(zip(loss.state_names, point), **symbols)
            H = loss.hessian_sympy(at=at).applyfunc(sympy.simplify)
            pairs = {k: (s, values[k]) for k, s in symbols.items() if isinstance(s, sympy.Symbol)}
            best = _largest_eigenvalue(H, pairs)
            return None if best is None else sympy.simplify(best)
    except (_TimeUp, MatrixError, NotImplementedError):
        return None


def _exact_sharpness(loss, point, values, time_limit):
    at = dict(zip(loss.state_names, point), **values)
    try:
        with _time_limit(time_limit):
            H = loss.hessian_sympy(at=at).applyfunc(sympy.nsimplify)
            return _largest_eigenvalue(H, {})
    except (_TimeUp, MatrixError, NotImplementedError):
        return None


def _exact_result(kind, sharpness, factor, values, point, dps, context, symbolic_params=False):
    expression = sympy.simplify(factor / sharpness)
    substitution = {s: sympy_number(values[s.name]) for s in expression.free_symbols if s.name in values}
    number = expression.xreplace(substitution)
    low, high = _real_value(sympy.N(number, dps + 5), dps + 5), _real_value(sympy.N(number, dps + 25), dps + 25)
    if low is None or high is None:
        raise ThresholdError(f"the threshold {expression} is not real at these parameters")
    with mpmath.workdps(dps + 30):
        value = mpmath.mpf(high._mpf_)
        difference = abs(mpmath.mpf(low._mpf_) - value)
        digits = dps + 5 if difference == 0 else int(min(dps + 5, math.floor(-mpmath.log10(difference / abs(value)))))
        at_values = sharpness.xreplace({s: sympy_number(values[s.name]) for s in sharpness.free_symbols if s.name in values})
        sharp = mpmath.mpf(_real_value(sympy.N(at_values, dps + 25), dps + 25)._mpf_)
    interval = None
    if sharpness.has(sympy.CRootOf):
        root = next(iter(sharpness.atoms(sympy.CRootOf)))
        if root.is_real:
            box = root._get_interval()
            interval = (sympy.Rational(str(box.a)), sympy.Rational(str(box.b)))
    what = "in the model's parameters" if symbolic_params else "at these parameter values"
    return ThresholdResult(
        parameter="lr", kind=kind, expression=expression, value=value, digits=max(0, min(digits, dps)),
        sharpness=sharp, sharpness_expression=sharpness, minimum=tuple(point), interval=interval,
        rule=context["rule"], message=f"exact ({kind}) threshold {what}", parameters=context["parameters"],
    )


# -- numeric path ----------------------------------------------------------------------------------

def _numeric_gradient(loss, point, values, dps):
    ctx = MP(dps=dps)
    with ctx.scope():
        bound = loss.gradient_function().compile(ctx).bind(values)
        return list(bound.value(ctx.array(point)))


def _numeric_result(loss, point, values, factor, dps, context):
    message = ("numeric threshold (state too large for exact eigenvalues)" if loss.dimension > SYMBOLIC_MAX_DIMENSION
               else "numeric threshold (no exact form found in the time allowed)")
    estimates = []
    for extra in (10, 30):
        ctx = MP(dps=dps + extra)
        with ctx.scope():
            H = loss.gradient_function().compile(ctx).bind(values).jacobian(ctx.array(point))
            H = (H + H.T) / 2  # exactly symmetric in exact arithmetic; remove rounding asymmetry
            estimates.append(top_symmetric_eigenvalue(ctx, H))
    low, high = estimates
    with mpmath.workdps(dps + 40):
        if min(np.linalg.eigvalsh(np.array(H, dtype=float))) < -1e-8 * max(1.0, float(high)):
            raise ThresholdError("the point is a critical point but not a minimum (the Hessian has a negative eigenvalue)")
        if high <= 0:
            raise ThresholdError("the Hessian at this minimum has no positive eigenvalue: it is linearly stable for every lr")
        f = mpmath.mpf(sympy.N(factor, dps + 40)._mpf_) if isinstance(factor, sympy.Basic) else mpmath.mpf(factor)
        value = f / high
        difference = abs(f / low - value)
        digits = dps if difference == 0 else int(min(dps, math.floor(-mpmath.log10(difference / value))))
    return ThresholdResult(
        parameter="lr", kind="numeric", expression=None, value=value, digits=max(0, digits), sharpness=high,
        sharpness_expression=None, minimum=tuple(point), interval=None, rule=context["rule"], message=message,
        parameters=context["parameters"],
    )
