"""Ball arithmetic for proofs: one small interface over python-flint ``arb`` and ``mpmath.iv``.

A proof needs only a few things of its numbers, and each must be rigorous:
an exact or outward-rounded conversion in (from a decimal box, an exact
rational, a binary float), the ring operations and elementary functions
(done by the backend's own types), strict comparisons that are True only when
true for every point of the balls, and outward-rounded decimal text out.
:class:`Balls` gathers them; :func:`get_balls` picks the backend by name.

Precision is scoped: ``with balls.scope(): ...`` sets the working precision of
the backend (flint's ``ctx.prec`` is global; the scope restores it).

Examples
--------
>>> balls = get_balls("iv", prec=80)
>>> with balls.scope():
...     x = balls.box("1/3", "1e-20")
...     balls.strictly_inside(balls.exact(1) / 3, "1/3", "1e-20")
True
"""

import math
from contextlib import contextmanager

import mpmath
import numpy as np
import sympy

from ..arith import HAVE_FLINT, bits_to_dps
from ..errors import CertificationError, ParameterError

try:  # optional: rigorous and fast
    import flint
except ImportError:  # pragma: no cover - depends on the installation
    flint = None

__all__ = ["Balls", "get_balls", "BACKENDS"]


def _rational(text):
    """An exact sympy Rational from a decimal or fraction string (``"1.5e-3"``, ``"-2/7"``)."""
    if not isinstance(text, str):
        raise CertificationError(f"expected a decimal string, got {text!r}")
    try:
        value = sympy.Rational(text.strip())
    except (TypeError, ValueError, SyntaxError):
        raise CertificationError(f"not a decimal number: {text!r}") from None
    return value


class Balls:
    """The operations a proof uses, for one backend at one precision (in bits)."""

    name = None

    def __init__(self, prec):
        if not isinstance(prec, int) or prec < 30:
            raise ParameterError(f"ball precision must be an integer of at least 30 bits, got {prec!r}")
        self.prec = prec

    @property
    def dps(self):
        return bits_to_dps(self.prec)

    def exact(self, value):
        """A ball enclosing an exact rational (int, sympy Rational, binary float or mpf)."""
        raise NotImplementedError

    def box(self, mid, rad):
        """A ball enclosing the box [mid - rad, mid + rad] given as exact decimal strings."""
        m, r = _rational(mid), _rational(rad)
        if r < 0:
            raise CertificationError(f"negative radius {rad!r}")
        return self.hull(self.exact(m - r), self.exact(m + r))

    def strictly_inside(self, ball, mid, rad):
        """Whether every point of ``ball`` lies strictly inside the decimal box (mid +- rad)."""
        m, r = _rational(mid), _rational(rad)
        return self.less(self.exact(m - r), ball) and self.less(ball, self.exact(m + r))

    def within(self, ball, mid, rad):
        """Whether every point of ``ball`` lies in the closed decimal box (mid +- rad)."""
        m, r = _rational(mid), _rational(rad)
        return self.less_equal(self.exact(m - r), ball) and self.less_equal(ball, self.exact(m + r))

    def decimal(self, ball, digits):
        """Decimal strings (mid, rad) of a box that contains ``ball``: mid to ``digits`` significant digits."""
        with mpmath.workprec(self.prec + 64):
            mid, rad = self.mid_mpf(ball), self.rad_mpf(ball)
            mid_text = mpmath.nstr(mid, max(int(digits), 1), strip_zeros=False, min_fixed=1, max_fixed=0)
            mid_text = mid_text.replace("e+", "e")
            error = rad + abs(mid - _rational_mpf(_rational(mid_text)))
        return mid_text, _round_up(error)

    # -- backend primitives ---------------------------------------------------
    def hull(self, a, b):
        raise NotImplementedError

    def less(self, a, b):
        """True only if every point of ``a`` is below every point of ``b``."""
        raise NotImplementedError

    def less_equal(self, a, b):
        raise NotImplementedError

    def mid_mpf(self, ball):
        raise NotImplementedError

    def rad_mpf(self, ball):
        """An upper bound of the radius as an mpf."""
        raise NotImplementedError

    def abs_upper(self, ball):
        """An upper bound of |ball| (real or complex) as an mpf."""
        raise NotImplementedError

    def complex(self, re, im):
        raise NotImplementedError

    def functions(self):
        """Elementary functions by sympy name, rigorous on balls."""
        raise NotImplementedError

    def pi(self):
        raise NotImplementedError

    def is_finite(self, ball):
        raise NotImplementedError

    @contextmanager
    def scope(self):
        raise NotImplementedError
        yield  # pragma: no cover

    def exact_matrix(self, matrix):
        """A matrix of exact balls from a float64 (or mpf) array."""
        rows, cols = np.shape(matrix)
        out = np.empty((rows, cols), dtype=object)
        for i in range(rows):
            for j in range(cols):
                out[i, j] = self.exact(matrix[i][j])
        return out

    def zero(self):
        return self.exact(0)

    def __repr__(self):
        return f"{type(self).__name__}(prec={self.prec})"


class FlintBalls(Balls):
    """python-flint ``arb`` / ``acb``."""

    name = "flint"

    def __init__(self, prec):
        if flint is None:
            raise ParameterError("the 'flint' ball backend needs python-flint: pip install 'dynsys_eos[fast]'")
        super().__init__(prec)

    def exact(self, value):
        if isinstance(value, flint.arb):
            return value
        if isinstance(value, (int, np.integer)):
            return flint.arb(int(value))
        if isinstance(value, (float, np.floating)):
            return flint.arb(float(value))
        if isinstance(value, mpmath.mpf):
            sign, man, exp, _ = value._mpf_
            if not man:
                return flint.arb(0)
            return flint.arb(flint.fmpz((-1) ** sign * int(man))) * flint.arb(2) ** int(exp)
        value = sympy.Rational(value)
        saved = flint.ctx.prec
        flint.ctx.prec = saved + 64  # rational endpoints enter tighter than the working precision
        try:
            return flint.arb(flint.fmpq(int(value.p), int(value.q)))
        finally:
            flint.ctx.prec = saved

    def hull(self, a, b):
        return a.union(b)

    def less(self, a, b):
        return bool(a < b)

    def less_equal(self, a, b):
        return bool(a <= b)

    def mid_mpf(self, ball):
        if isinstance(ball, flint.acb):
            return mpmath.mpc(self.mid_mpf(ball.real), self.mid_mpf(ball.imag))
        man, exp = ball.mid().man_exp()
        return mpmath.mpf((int(man), int(exp))) if man else mpmath.mpf(0)

    def rad_mpf(self, ball):
        man, exp = ball.rad().man_exp()
        return mpmath.mpf((int(man), int(exp))) if man else mpmath.mpf(0)

    def abs_upper(self, ball):
        man, exp = abs(ball).abs_upper().man_exp()
        return mpmath.mpf((int(man), int(exp))) if man else mpmath.mpf(0)

    def complex(self, re, im):
        return flint.acb(self.exact(re) if not isinstance(re, flint.arb) else re,
                         self.exact(im) if not isinstance(im, flint.arb) else im)

    def functions(self):
        names = ("exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "atan", "asin", "acos", "sqrt")
        table = {name: (lambda n: lambda a: getattr(a, n)())(name) for name in names}
        table["Abs"] = abs
        return table

    def pi(self):
        return flint.arb.pi()

    def is_finite(self, ball):
        return ball.is_finite()

    @contextmanager
    def scope(self):
        saved = flint.ctx.prec
        flint.ctx.prec = self.prec
        try:
            yield self
        finally:
            flint.ctx.prec = saved


class IvBalls(Balls):
    """mpmath's interval context ``mpmath.iv`` (no python-flint needed; slower)."""

    name = "iv"

    def exact(self, value):
        iv = mpmath.iv
        if isinstance(value, mpmath.ctx_iv.ivmpf):
            return value
        if isinstance(value, (int, np.integer, float, np.floating, mpmath.mpf)):
            return iv.mpf(value) if not isinstance(value, np.generic) else iv.mpf(value.item())
        value = sympy.Rational(value)
        saved = iv.prec
        iv.prec = saved + 64  # rational endpoints enter tighter than the working precision
        try:
            return iv.mpf(int(value.p)) / int(value.q)
        finally:
            iv.prec = saved

    def hull(self, a, b):
        return mpmath.iv.mpf([min(a.a, b.a), max(a.b, b.b)])

    def less(self, a, b):
        return (a < b) is True

    def less_equal(self, a, b):
        return (a <= b) is True

    def mid_mpf(self, ball):
        if isinstance(ball, mpmath.ctx_iv.ivmpc):
            return mpmath.mpc(self.mid_mpf(ball.real), self.mid_mpf(ball.imag))
        low, high = ball._mpi_
        return (mpmath.mpf(low) + mpmath.mpf(high)) / 2

    def rad_mpf(self, ball):
        low, high = ball._mpi_
        with mpmath.workprec(self.prec + 64):
            return (mpmath.mpf(high) - mpmath.mpf(low)) / 2 * (1 + mpmath.mpf(2) ** (-self.prec))

    def abs_upper(self, ball):
        high = abs(ball)._mpi_[1]
        return mpmath.mpf(high)

    def complex(self, re, im):
        return mpmath.iv.mpc(self.exact(re) if not isinstance(re, mpmath.ctx_iv.ivmpf) else re,
                             self.exact(im) if not isinstance(im, mpmath.ctx_iv.ivmpf) else im)

    def functions(self):
        iv = mpmath.iv
        names = ("exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "atan", "asin", "acos", "sqrt")
        table = {name: getattr(iv, name) if hasattr(iv, name) else _no_rigorous(name) for name in names}
        table["Abs"] = abs
        return table

    def pi(self):
        return +mpmath.iv.pi

    def is_finite(self, ball):
        low, high = ball._mpi_
        return mpmath.isfinite(mpmath.mpf(low)) and mpmath.isfinite(mpmath.mpf(high))

    @contextmanager
    def scope(self):
        saved = mpmath.iv.prec
        mpmath.iv.prec = self.prec
        try:
            yield self
        finally:
            mpmath.iv.prec = saved


def _no_rigorous(name):
    def fail(_):
        raise CertificationError(f"mpmath.iv has no rigorous {name}; use the flint backend (pip install python-flint)")

    return fail


def _rational_mpf(value):
    return mpmath.mpf(int(value.p)) / int(value.q)


def _round_up(error):
    """Decimal text of an upper bound of the mpf ``error`` with three significant digits."""
    if error <= 0:
        return "0"
    exponent = int(mpmath.floor(mpmath.log10(error))) - 2
    with mpmath.workprec(max(mpmath.mp.prec, 128)):
        scaled = error / mpmath.mpf(10) ** exponent * (1 + mpmath.mpf(2) ** -40)  # rounding slack, upward
    mantissa = int(mpmath.ceil(scaled))
    return f"{mantissa}e{exponent}"


BACKENDS = {"flint": FlintBalls, "iv": IvBalls}


def get_balls(backend="auto", prec=None, dps=None):
    """The ball backend ``"flint"``, ``"iv"`` or ``"auto"`` (flint when installed) at ``prec`` bits or ``dps`` digits."""
    if backend == "auto":
        backend = "flint" if HAVE_FLINT else "iv"
    if backend not in BACKENDS:
        raise ParameterError(f"unknown ball backend {backend!r}; valid: auto, {', '.join(BACKENDS)}")
    if prec is None:
        prec = int(math.ceil((dps or 50) * 3.3219280948873626)) + 8
    return BACKENDS[backend](int(prec))
