"""Evaluate sympy expressions in ball arithmetic, independently of the compiled DAG.

The checker of a certificate rebuilds the map's exact expressions and
evaluates them (and their sympy derivatives) with this small tree walker, so a
bug in the code generator that serves the solvers cannot make a false proof
pass.  Every operation is the backend's rigorous one; rationals and constants
enter as enclosing balls.

Examples
--------
>>> import sympy
>>> from dynsys_eos.certify.balls import get_balls
>>> x = sympy.Symbol("x")
>>> balls = get_balls("iv", prec=60)
>>> f = compile_expression(sympy.Rational(7, 2) * x * (1 - x), ["x"], balls)
>>> with balls.scope():
...     value = f([balls.exact(sympy.Rational(1, 2))])
>>> balls.within(value, "0.875", "1e-15")
True
"""

import sympy

from ..errors import CertificationError

__all__ = ["compile_expression", "compile_vector"]


def compile_expression(expr, names, balls):
    """A function of a list of balls (in the order of ``names``) returning the ball of ``expr``."""
    index = {name: i for i, name in enumerate(names)}
    functions = balls.functions()
    constants = {}

    def build(e):
        if e.is_Symbol:
            if e.name not in index:
                raise CertificationError(f"expression uses {e.name!r}, which is neither a state variable nor a parameter")
            i = index[e.name]
            return lambda args: args[i]
        if e.is_Rational:
            key = (int(e.p), int(e.q))
            return lambda args: _constant(constants, key, lambda: balls.exact(e))
        if e is sympy.pi:
            return lambda args: _constant(constants, "pi", balls.pi)
        if e is sympy.E:
            return lambda args: _constant(constants, "E", lambda: functions["exp"](balls.exact(1)))
        if e.is_Add:
            parts = [build(a) for a in e.args]
            return lambda args: _sum(p(args) for p in parts)
        if e.is_Mul:
            parts = [build(a) for a in e.args]
            return lambda args: _product(p(args) for p in parts)
        if e.is_Pow:
            return _power(e, build, functions, balls)
        if isinstance(e, sympy.Function) and len(e.args) == 1:
            name = type(e).__name__
            if name not in functions:
                raise CertificationError(f"no rigorous ball version of {name}")
            inner, function = build(e.args[0]), functions[name]
            return lambda args: function(inner(args))
        raise CertificationError(f"cannot evaluate {type(e).__name__} ({e}) in ball arithmetic")

    return build(sympy.sympify(expr, strict=True))


def compile_vector(exprs, names, balls):
    """A function of a list of balls returning the list of balls of ``exprs``."""
    parts = [compile_expression(e, names, balls) for e in exprs]
    return lambda args: [p(args) for p in parts]


def _constant(cache, key, make):
    # cached per compiled expression and precision scope: constants are built inside the caller's scope
    value = cache.get(key)
    if value is None:
        value = cache[key] = make()
    return value


def _sum(values):
    total = None
    for v in values:
        total = v if total is None else total + v
    return total


def _product(values):
    total = None
    for v in values:
        total = v if total is None else total * v
    return total


def _power(e, build, functions, balls):
    base, exponent = e.args
    inner = build(base)
    if exponent.is_Integer:
        n = int(exponent)
        if n >= 0:
            return lambda args: inner(args) ** n
        return lambda args: 1 / inner(args) ** (-n)
    if exponent == sympy.Rational(1, 2):
        return lambda args: functions["sqrt"](inner(args))
    if exponent == sympy.Rational(-1, 2):
        return lambda args: 1 / functions["sqrt"](inner(args))
    power = build(exponent)
    # x**y = exp(y log x): rigorous for x > 0 (log of a ball reaching 0 is not finite, and the proof fails)
    return lambda args: functions["exp"](power(args) * functions["log"](inner(args)))
