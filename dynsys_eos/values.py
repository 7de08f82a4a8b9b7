"""Numbers where they enter: every user-given value becomes an exact number.

Strings are read exactly by :func:`dynsys_eos.parse.parse_number` (``"0.1"``
is 1/10, ``"1 + sqrt(6) - 1/10**30"`` stays exact); floats by their shortest
decimal representation; mpmath numbers are kept (they are exact binary
numbers).  Nothing is rounded before an arithmetic context converts it at its
own precision.

Examples
--------
>>> exact_value("3 - 1/10**30")
2999999999999999999999999999999/1000000000000000000000000000000
>>> exact_value(0.1)
1/10
>>> exact_value("x")
Traceback (most recent call last):
...
dynsys_eos.errors.ParameterError: value='x': a number was expected but the name 'x' appeared
"""

import mpmath
import numpy as np
import sympy

from .errors import ParameterError

__all__ = ["exact_value"]


def exact_value(value, name="value"):
    """An exact number from an int, a float (by its repr), a sympy number, an mpf or a string."""
    from .parse import parse_number

    if isinstance(value, (sympy.Basic, mpmath.mpf)):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return sympy.Integer(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ParameterError(f"{name}: not a finite number: {value!r}")
        return sympy.Rational(repr(float(value)))
    if isinstance(value, str):
        try:
            return parse_number(value)
        except Exception as exc:  # ParseError: say which value it was
            raise ParameterError(f"{name}={value!r}: {exc}") from None
    raise ParameterError(f"{name}: expected a number, got {type(value).__name__}")


def sympy_number(value, name="value"):
    """An exact sympy number: :func:`exact_value`, with an mpf kept as a sympy Float of the same bits."""
    value = exact_value(value, name)
    return sympy.Float(value) if isinstance(value, mpmath.mpf) else value


def sympy_expression(expr, what="expression"):
    """A sympy expression from a sympy object or a number; a string is refused, never sympified.

    ``sympify`` of a string runs arbitrary code: strings go through
    :mod:`dynsys_eos.parse` (``Loss.from_strings``, ``parse_expression``).
    """
    from .errors import ModelError

    if isinstance(expr, str):
        raise ModelError(f"{what} is a string: build it with Loss.from_strings or dynsys_eos.parse.parse_expression "
                         "(strings are parsed, never sympified)")
    try:
        return sympy.sympify(expr, strict=True)  # strict: no fallback through str(expr)
    except sympy.SympifyError as exc:
        raise ModelError(f"{what} is not a sympy expression: {exc}") from None
