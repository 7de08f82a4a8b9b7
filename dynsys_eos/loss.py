"""Losses: a sympy expression with declared state symbols and parameter symbols.

Examples
--------
>>> import sympy
>>> x, y, s = sympy.symbols("x y s")
>>> loss = Loss((x * y - s) ** 2 / 2, state=[x, y], parameters=[s], defaults={"s": 1})
>>> loss.gradient_sympy()
[y*(-s + x*y), x*(-s + x*y)]
>>> loss.hessian_sympy(at={"x": 1, "y": 1, "s": 1})
Matrix([
[1, 1],
[1, 1]])

A loss is safe to build from a user's string (no eval, no sympify):

>>> Loss.from_strings("(x*y - 1)**2/2", "x,y").expr
(x*y - 1)**2/2
"""

import sympy

from .errors import ModelError, ParameterError
from .functions import VectorFunction
from .values import sympy_expression, sympy_number

__all__ = ["Loss", "declare_symbols"]


def declare_symbols(names):
    """Real sympy Symbols for the given names (a sequence or one comma-separated string)."""
    if isinstance(names, str):
        from .parse import parse_names

        names = parse_names(names)
    return tuple(n if isinstance(n, sympy.Symbol) else sympy.Symbol(n, real=True) for n in names)


def _check_declared(exprs, declared, what):
    declared = set(declared)
    for e in exprs:
        extra = sorted(map(str, sympy_expression(e).free_symbols - declared))
        if extra:
            names = ", ".join(sorted(map(str, declared))) or "(none)"
            raise ModelError(f"{what} uses undeclared symbol(s) {', '.join(extra)} (declared: {names})")


def check_names(state, parameters):
    """Reject duplicated or clashing names between state and parameters."""
    names = [s.name for s in state] + [p.name for p in parameters]
    seen = set()
    for name in names:
        if name in seen:
            raise ModelError(f"name {name!r} is declared twice (state: {[s.name for s in state]}, "
                             f"parameters: {[p.name for p in parameters]})")
        if name.startswith("_"):
            raise ModelError(f"names starting with '_' are reserved: {name!r}")
        seen.add(name)


class Loss:
    """A scalar loss ``L(state; parameters)`` as an exact sympy expression.

    Parameters
    ----------
    expr : sympy.Expr
        The loss.
    state : sequence of sympy.Symbol
        The variables gradient descent updates.
    parameters : sequence of sympy.Symbol, optional
        Symbols held fixed (targets, data); values come from ``defaults`` or
        are given when the loss is evaluated.
    defaults : dict, optional
        Parameter name -> exact default value.
    name : str
        A label used in reports.
    """

    def __init__(self, expr, state, parameters=(), defaults=None, name="loss"):
        self.expr = sympy_expression(expr, f"loss {name!r}")
        self.state = declare_symbols(state)
        self.parameters = declare_symbols(parameters)
        if not self.state:
            raise ModelError("a loss needs at least one state variable")
        check_names(self.state, self.parameters)
        by_name = {s.name: s for s in self.state + self.parameters}
        # accept the caller's symbols even when their assumptions differ from ours
        self.expr = self.expr.xreplace({s: by_name[s.name] for s in self.expr.free_symbols if s.name in by_name})
        _check_declared([self.expr], self.state + self.parameters, f"loss {name!r}")
        self.defaults = dict(defaults or {})
        unknown = sorted(set(self.defaults) - {p.name for p in self.parameters})
        if unknown:
            raise ParameterError(f"defaults for undeclared parameter(s) {', '.join(unknown)}")
        self.name = name
        self._value = None
        self._gradient = None

    @classmethod
    def from_strings(cls, text, variables, parameters="", name="user loss"):
        """A loss from a user's expression string, e.g. ``"(x*y-1)**2/2"``, ``"x,y"``, ``"a=1"``.

        The string is parsed by :mod:`dynsys_eos.parse` (never evaluated).
        """
        from .parse import parse_assignments, parse_expression

        state = declare_symbols(variables)
        values = parse_assignments(parameters) if parameters else {}
        params = declare_symbols(list(values))
        symbols = {s.name: s for s in state + params}
        return cls(parse_expression(text, symbols), state, params, values, name=name)

    @property
    def dimension(self):
        return len(self.state)

    @property
    def state_names(self):
        return tuple(s.name for s in self.state)

    @property
    def parameter_names(self):
        return tuple(p.name for p in self.parameters)

    def value_function(self):
        """:class:`VectorFunction` with the loss as its single output."""
        if self._value is None:
            self._value = VectorFunction.from_sympy([self.expr], self.state, self.parameters)
        return self._value

    def gradient_function(self):
        """:class:`VectorFunction` of the gradient; its Jacobian is the Hessian.

        The gradient is taken by reverse mode on the expression DAG, so it
        shares every sub-expression with the loss (no expansion).
        """
        if self._gradient is None:
            value = self.value_function()
            graph = value.graph
            state_nodes = [graph.input(s.name) for s in self.state]
            gradient = graph.grad(value.outputs[0], state_nodes)
            self._gradient = VectorFunction(graph, gradient, self.state_names, self.parameter_names)
        return self._gradient

    def parameter_values(self, overrides=None):
        """Defaults updated with ``overrides``; every parameter must end with a value."""
        values = dict(self.defaults)
        values.update(overrides or {})
        missing = [p for p in self.parameter_names if p not in values]
        if missing:
            raise ParameterError(f"loss {self.name!r}: no value for parameter(s) {', '.join(missing)}")
        return values

    def gradient_sympy(self, at=None):
        """Exact gradient as a list of sympy expressions (optionally at a state/parameter point)."""
        gradient = self.gradient_function()
        exprs = gradient.to_sympy(symbols={s.name: s for s in self.state + self.parameters})
        return [_substitute(e, at, self) for e in exprs]

    def hessian_sympy(self, at=None):
        """Exact Hessian as a sympy Matrix (meant for small states)."""
        gradient = self.gradient_function()
        symbols = {s.name: s for s in self.state + self.parameters}
        rows = [[gradient.graph.to_sympy(n, symbols) for n in row] for row in gradient.jacobian_nodes()]
        return sympy.Matrix(rows).applyfunc(lambda e: _substitute(e, at, self))

    def __repr__(self):
        return f"Loss({self.name!r}: {self.expr}; state={list(self.state_names)}, parameters={list(self.parameter_names)})"


def _substitute(expr, at, loss):
    if not at:
        return expr
    by_name = {s.name: s for s in loss.state + loss.parameters}
    return expr.xreplace({by_name[k]: sympy_number(v, k) for k, v in at.items() if k in by_name})
