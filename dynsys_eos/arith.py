"""Arithmetic contexts: float64, mp (mpmath at any precision) and ball (intervals).

A context says how numbers are represented and at what precision.  The same
generated code (:mod:`dynsys_eos.codegen`) runs in every context: it uses the
Python operators and the functions of :meth:`ArithmeticContext.namespace`.
Vectors and matrices are numpy arrays in every context: ``float`` arrays for
float64, ``object`` arrays of ``mpf`` or ``arb`` otherwise, so ``@`` and
elementwise operations work unchanged.

Precision is never set globally: ``with ctx.scope():`` sets the working
precision of mpmath (and of its interval context, and of python-flint) and
restores it on exit, as ``mpmath.workprec`` does.

Examples
--------
>>> ctx = MP(dps=30)
>>> with ctx.scope():
...     third = ctx.number(sympy.Rational(1, 3))
>>> mpmath.nstr(third, 30)
'0.333333333333333333333333333333'
>>> Float64().number(sympy.Rational(1, 3))
0.3333333333333333
"""

import contextlib
import math
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy

from .errors import EvaluationError, ParameterError

try:  # python-flint: arb ball arithmetic, much faster than mpmath.iv
    import flint
except ImportError:  # pragma: no cover - exercised on machines without the extra
    flint = None

try:  # gmpy2: MPFR floating point, several times faster than mpmath's mpf in long loops
    import gmpy2
except ImportError:  # pragma: no cover - exercised on machines without the extra
    gmpy2 = None

__all__ = ["ArithmeticContext", "Float64", "MP", "MPFR", "Ball", "HAVE_FLINT", "HAVE_GMPY2", "bits_to_dps",
           "dps_to_bits", "get_context", "fast_mp"]

HAVE_FLINT = flint is not None
HAVE_GMPY2 = gmpy2 is not None


def dps_to_bits(dps):
    """Binary precision carrying ``dps`` decimal digits (as mpmath counts)."""
    return max(1, int(round((int(dps) + 1) * 3.3219280948873626)))


def bits_to_dps(bits):
    return max(1, int(round(int(bits) / 3.3219280948873626)) - 1)


_UNARY = ("exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "atan", "asin", "acos", "sqrt")


def _elementwise(function):
    """``function`` applied entry by entry when given a numpy array (scalar libraries refuse arrays)."""
    vectorized = np.frompyfunc(function, 1, 1)

    def apply(value):
        return vectorized(value) if isinstance(value, np.ndarray) else function(value)

    return apply


def _elementwise_all(namespace, names):
    for name in names:
        namespace[name] = _elementwise(namespace[name])
    return namespace


class ArithmeticContext:
    """Interface of an arithmetic context (see the module docstring).

    Subclasses define ``kind``, ``prec`` (bits; 53 for float64), ``scope``,
    ``number``, ``namespace``, ``is_finite_value`` and ``array``.
    """

    kind = "abstract"
    prec = 53
    rigorous = False

    @property
    def dps(self):
        return bits_to_dps(self.prec)

    def with_prec(self, prec):
        """The same kind of context at ``prec`` bits."""
        raise NotImplementedError

    def scope(self):
        """Context manager that sets this context's working precision."""
        return contextlib.nullcontext()

    def number(self, value):
        """Convert an exact number (int, sympy number or expression, decimal string)."""
        raise NotImplementedError

    def array(self, values):
        """A numpy array of context numbers (converted with :meth:`number`)."""
        return np.array([self.number(v) for v in values], dtype=object)

    def zeros(self, shape):
        """An array of context zeros."""
        return np.full(shape, self.number(0), dtype=object)

    def convert_array(self, array):
        """Elementwise :meth:`number` of an array (any shape)."""
        array = np.asarray(array)
        out = np.empty(array.shape, dtype=object)
        for index, value in np.ndenumerate(array):
            out[index] = self.number(value)
        return out

    def identity(self, n):
        eye = np.empty((n, n), dtype=object)
        zero, one = self.number(0), self.number(1)
        for i in range(n):
            for j in range(n):
                eye[i, j] = one if i == j else zero
        return eye

    def is_finite_value(self, value):
        raise NotImplementedError

    def check_finite(self, values, what, state=None, parameters=None):
        """Raise :class:`EvaluationError` unless every value is finite and real."""
        flat = np.asarray(values, dtype=object).ravel() if self.kind != "float64" else np.asarray(values)
        ok = bool(np.all(np.isfinite(flat))) if self.kind == "float64" else all(map(self.is_finite_value, flat))
        if not ok:
            raise EvaluationError(
                f"{what} is not finite or left the real domain (NaN, infinity, overflow, or the root/log of a "
                f"negative number) at state {_short(state)}",
                state=state,
                parameters=parameters,
            )

    def to_mpf(self, value):
        """An mpmath number holding the value (the midpoint of a ball)."""
        return mpmath.mpf(value)

    def format(self, value, digits):
        """Decimal string of ``value`` with ``digits`` significant digits."""
        with mpmath.workdps(max(digits, 1) + 5):
            return mpmath.nstr(self.to_mpf(value), max(int(digits), 1), strip_zeros=False, min_fixed=-5, max_fixed=6)

    def namespace(self):
        """Names used by generated code: unary functions, ``pow_``, ``abs_``, ``sign``, ``_q``, ``_pi``, ``_e``."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(dps={self.dps})"


def _short(state, limit=6):
    if state is None:
        return "?"
    try:
        items = list(np.ravel(np.asarray(state, dtype=object)))
    except Exception:  # noqa: BLE001 - only for a message
        return repr(state)
    text = ", ".join(mpmath.nstr(mpmath.mpf(v), 8) if _is_real_scalar(v) else repr(v) for v in items[:limit])
    return f"({text}{', ...' if len(items) > limit else ''})"


def _is_real_scalar(v):
    try:
        mpmath.mpf(v)
        return True
    except (TypeError, ValueError):
        return False


def _exact_to_mpf(value, prec):
    """An exact sympy number or expression as an mpf rounded at ``prec`` bits."""
    if isinstance(value, (int, np.integer)):
        return mpmath.mpf(int(value))
    if isinstance(value, (float, np.floating)):  # a binary float is exact as it stands
        return mpmath.mpf(float(value))
    if isinstance(value, str):
        return mpmath.mpf(value)
    value = sympy.sympify(value, strict=True)  # strings were handled above: no parsing here
    if value.is_Rational:
        return mpmath.mpf(int(value.p)) / int(value.q)
    evaluated = value.evalf(bits_to_dps(prec) + 10)
    if not evaluated.is_Float:
        raise ParameterError(f"not a real number: {value}")
    return mpmath.mpf(evaluated._mpf_)


@dataclass(frozen=True, repr=False)
class Float64(ArithmeticContext):
    """IEEE double precision on numpy arrays: vectorized over batches of states."""

    kind = "float64"
    prec = 53

    def with_prec(self, prec):
        return self

    def number(self, value):
        if isinstance(value, (float, np.floating)):
            return float(value)
        return float(_exact_to_mpf(value, 53))

    def array(self, values):
        return np.array([self.number(v) for v in values], dtype=float)

    def identity(self, n):
        return np.eye(n)

    def zeros(self, shape):
        return np.zeros(shape)

    def convert_array(self, array):
        return np.asarray(array, dtype=float)

    def is_finite_value(self, value):
        return bool(np.all(np.isfinite(value)))

    def to_mpf(self, value):
        return mpmath.mpf(float(value))

    def namespace(self):
        ns = {name: getattr(np, {"atan": "arctan", "asin": "arcsin", "acos": "arccos"}.get(name, name)) for name in _UNARY}
        ns.update(pow_=np.power, abs_=np.abs, sign=np.sign, _q=lambda p, q: p / q, _pi=lambda: math.pi, _e=lambda: math.e)
        return ns

    def __repr__(self):
        return "Float64()"


@dataclass(frozen=True, repr=False)
class MP(ArithmeticContext):
    """mpmath floating point at ``prec`` bits (give ``dps`` or ``prec``)."""

    prec_: int = None
    kind = "mp"

    def __init__(self, dps=None, prec=None):
        if (dps is None) == (prec is None):
            if dps is None:
                dps = 50
            else:
                raise ParameterError(f"give either dps or prec, not both (dps={dps}, prec={prec})")
        bits = dps_to_bits(dps) if prec is None else int(prec)
        if bits < 10:
            raise ParameterError(f"precision too small: {bits} bits (dps={dps}, prec={prec}); need at least 10 bits")
        object.__setattr__(self, "prec_", bits)

    @property
    def prec(self):
        return self.prec_

    def with_prec(self, prec):
        return MP(prec=prec)

    def scope(self):
        return _mp_scope(self.prec)

    def number(self, value):
        if isinstance(value, mpmath.mpf):
            return +value
        return _exact_to_mpf(value, self.prec)

    def is_finite_value(self, value):
        return isinstance(value, mpmath.mpf) and mpmath.isfinite(value)

    def namespace(self):
        mpf = mpmath.mpf
        ns = {name: getattr(mpmath, name) for name in _UNARY}
        ns.update(
            pow_=mpmath.power,
            abs_=abs,
            sign=mpmath.sign,
            _q=lambda p, q: mpf(p) / q,
            _pi=lambda: +mpmath.mp.pi,
            _e=lambda: +mpmath.mp.e,
        )
        return _elementwise_all(ns, _UNARY + ("sign",))


@dataclass(frozen=True, repr=False)
class MPFR(ArithmeticContext):
    """Multiple-precision floating point with gmpy2 (MPFR): the same numbers as :class:`MP`, faster.

    Use it for long loops over many points (long-period orbits); results
    convert to mpmath with :meth:`to_mpf`.  Needs the ``fast`` extra.
    """

    prec_: int = None
    kind = "mp"
    backend = "gmpy2"

    def __init__(self, dps=None, prec=None):
        if gmpy2 is None:
            raise ParameterError("the MPFR context needs gmpy2: pip install 'dynsys_eos[fast]'")
        object.__setattr__(self, "prec_", MP(dps=dps, prec=prec).prec)

    @property
    def prec(self):
        return self.prec_

    def with_prec(self, prec):
        return MPFR(prec=prec)

    @contextlib.contextmanager
    def scope(self):
        with _mp_scope(self.prec), gmpy2.context(gmpy2.get_context(), precision=self.prec):
            yield

    def number(self, value):
        if isinstance(value, gmpy2.mpfr):
            return +value
        if isinstance(value, (int, np.integer)):
            return gmpy2.mpfr(int(value))
        if isinstance(value, sympy.Rational):
            return gmpy2.mpfr(int(value.p)) / int(value.q)
        if not isinstance(value, mpmath.mpf):
            value = _exact_to_mpf(value, self.prec)
        sign, man, exp, _ = value._mpf_  # an mpf is man * 2^exp exactly
        return gmpy2.mul_2exp(gmpy2.mpfr(-int(man) if sign else int(man)), exp)

    def is_finite_value(self, value):
        return isinstance(value, gmpy2.mpfr) and gmpy2.is_finite(value)

    def to_mpf(self, value):
        return mpmath.mpf(value)

    def namespace(self):
        ns = {name: getattr(gmpy2, name) for name in _UNARY}
        mpfr = gmpy2.mpfr
        ns.update(pow_=lambda a, b: a ** b if isinstance(a, np.ndarray) else mpfr(a) ** b, abs_=abs,
                  sign=lambda a: mpfr(gmpy2.sign(a)), _q=lambda p, q: mpfr(p) / q, _pi=gmpy2.const_pi,
                  _e=lambda: gmpy2.exp(1))
        return _elementwise_all(ns, _UNARY + ("sign",))


def fast_mp(prec):
    """The fastest point (non-interval) context at ``prec`` bits: MPFR with gmpy2, else MP."""
    return MPFR(prec=prec) if HAVE_GMPY2 else MP(prec=prec)


@contextlib.contextmanager
def _mp_scope(prec):
    """Set mpmath's, mpmath.iv's and python-flint's precision together; restore all."""
    saved_iv = mpmath.iv.prec
    saved_flint = flint.ctx.prec if flint is not None else None
    try:
        with mpmath.workprec(prec):
            mpmath.iv.prec = prec
            if flint is not None:
                flint.ctx.prec = prec
            yield
    finally:
        mpmath.iv.prec = saved_iv
        if flint is not None:
            flint.ctx.prec = saved_flint


@dataclass(frozen=True, repr=False)
class Ball(ArithmeticContext):
    """Rigorous ball (interval) arithmetic: python-flint ``arb`` if installed, else ``mpmath.iv``.

    Every result encloses the exact value of the expression at the given
    (exact) inputs.  ``backend`` is ``"auto"``, ``"flint"`` or ``"iv"``.
    """

    prec_: int = None
    backend: str = None
    kind = "ball"
    rigorous = True

    def __init__(self, dps=None, prec=None, backend="auto"):
        bits = MP(dps=dps, prec=prec).prec if (dps is not None or prec is not None) else dps_to_bits(50)
        if backend == "auto":
            backend = "flint" if HAVE_FLINT else "iv"
        if backend not in ("flint", "iv"):
            raise ParameterError(f"unknown ball backend {backend!r}; valid: 'auto', 'flint', 'iv'")
        if backend == "flint" and not HAVE_FLINT:
            raise ParameterError("ball backend 'flint' needs python-flint: pip install 'dynsys_eos[fast]'")
        object.__setattr__(self, "prec_", bits)
        object.__setattr__(self, "backend", backend)

    @property
    def prec(self):
        return self.prec_

    def with_prec(self, prec):
        return Ball(prec=prec, backend=self.backend)

    def scope(self):
        return _mp_scope(self.prec)

    def number(self, value):
        if self.backend == "flint":
            if isinstance(value, flint.arb):
                return value
            if isinstance(value, (int, np.integer)):
                return flint.arb(int(value))
            if isinstance(value, str):
                return flint.arb(value)
            value = sympy.sympify(value, strict=True)  # strings were handled above
            if value.is_Rational:
                return flint.arb(int(value.p)) / int(value.q)
        else:
            if isinstance(value, mpmath.ctx_iv.ivmpf):
                return value
            if isinstance(value, (int, np.integer)):
                return mpmath.iv.mpf(int(value))
            if isinstance(value, str):
                return mpmath.iv.mpf(value)
            value = sympy.sympify(value, strict=True)  # strings were handled above
            if value.is_Rational:
                return mpmath.iv.mpf(int(value.p)) / int(value.q)
        # irrational constant: evaluate its expression in ball arithmetic (rigorous)
        from .codegen import evaluate_constant

        return evaluate_constant(value, self)

    def is_finite_value(self, value):
        if self.backend == "flint":
            return isinstance(value, flint.arb) and value.is_finite()
        return isinstance(value, mpmath.ctx_iv.ivmpf) and mpmath.isfinite(value.a) and mpmath.isfinite(value.b)

    def to_mpf(self, value):
        if self.backend == "flint":
            return mpmath.mpf(value.mid().str(bits_to_dps(self.prec) + 5, radius=False))
        return value.mid

    def radius(self, value):
        """Radius of a ball as an mpf (an upper bound)."""
        if self.backend == "flint":
            return mpmath.mpf(value.rad().str(10, radius=False))
        return value.delta / 2

    def contains(self, ball, value):
        """Whether the ball encloses the number ``value`` (an mpf, int or exact rational), decided exactly."""
        if isinstance(value, sympy.Basic) and not value.is_Rational:
            raise ParameterError(f"contains() needs an exact rational or a binary float, got {value}")
        if self.backend == "flint":
            return bool(ball.contains(_as_fmpq(value)))
        if isinstance(value, sympy.Rational) and not value.is_Integer:  # mpmath.iv: compare p/q with endpoints exactly
            p, q = int(value.p), int(value.q)
            low, high = ball._mpi_  # raw endpoint tuples (ball.a is itself an interval)
            return _mpf_fraction_le(low, p, q, True) and _mpf_fraction_le(high, p, q, False)
        return mpmath.mpf(value) in ball

    def namespace(self):
        if self.backend == "flint":
            arb = flint.arb

            def method(name):
                return lambda a: getattr(a if isinstance(a, arb) else arb(a), name)()

            ns = {name: method(name) for name in _UNARY}
            ns.update(
                pow_=lambda a, b: (a if isinstance(a, arb) else arb(a)) ** b,
                abs_=abs,
                sign=lambda a: (a if isinstance(a, arb) else arb(a)).sgn(),
                _q=lambda p, q: arb(p) / q,
                _pi=arb.pi,
                _e=lambda: arb(1).exp(),
            )
            return ns
        iv = mpmath.iv
        ns = {name: getattr(iv, name) for name in _UNARY if hasattr(iv, name)}
        ns.update(
            pow_=iv.power,
            abs_=abs,
            sign=_iv_sign,
            _q=lambda p, q: iv.mpf(p) / q,
            _pi=lambda: +iv.pi,
            _e=lambda: +iv.e,
        )
        for name in _UNARY:
            ns.setdefault(name, _iv_unsupported(name))
        return ns

    def __repr__(self):
        return f"Ball(dps={self.dps}, backend={self.backend!r})"


def _as_fmpq(value):
    """An exact flint rational for an int, a sympy Rational or an mpf (a binary float is rational)."""
    if isinstance(value, (int, np.integer)):
        return flint.fmpq(int(value))
    if isinstance(value, sympy.Rational):
        return flint.fmpq(int(value.p), int(value.q))
    sign, man, exp, _ = mpmath.mpf(value)._mpf_
    numerator = (-1) ** sign * int(man)
    return flint.fmpq(numerator * 2**exp) if exp >= 0 else flint.fmpq(numerator, 2 ** (-exp))


def _mpf_fraction_le(bound, p, q, lower):
    """Exact comparison of an endpoint (raw mpf tuple) with p/q: endpoint <= p/q (lower) or p/q <= endpoint (upper)."""
    sign, man, exp, _ = bound
    numerator, denominator = (-1) ** sign * int(man), 1
    if exp >= 0:
        numerator *= 2**exp
    else:
        denominator = 2 ** (-exp)
    left, right = numerator * q, p * denominator
    return left <= right if lower else right <= left


def _iv_sign(a):
    if a.a > 0:
        return mpmath.iv.mpf(1)
    if a.b < 0:
        return mpmath.iv.mpf(-1)
    if a.a == 0 and a.b == 0:
        return mpmath.iv.mpf(0)
    return mpmath.iv.mpf([-1, 1])


def _iv_unsupported(name):
    def fail(_):
        raise EvaluationError(f"mpmath.iv has no rigorous {name}; install python-flint for ball arithmetic")

    return fail


_CONTEXT_KINDS = {"float64": Float64, "mp": MP, "ball": Ball}


def get_context(kind, dps=None):
    """A context by name: ``"float64"``, ``"mp"`` or ``"ball"``.

    >>> get_context("mp", dps=20)
    MP(dps=20)
    >>> get_context("quad")
    Traceback (most recent call last):
    ...
    dynsys_eos.errors.ParameterError: unknown arithmetic context 'quad'; valid: float64, mp, ball
    """
    if kind not in _CONTEXT_KINDS:
        raise ParameterError(f"unknown arithmetic context {kind!r}; valid: {', '.join(_CONTEXT_KINDS)}")
    if kind == "float64":
        return Float64()
    return _CONTEXT_KINDS[kind](dps=dps or 50)
