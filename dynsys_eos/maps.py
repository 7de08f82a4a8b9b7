"""Maps x -> F(x; p) with exact derivatives, and the update rules that make them from losses.

Update rules (registered by name in :data:`RULES`):

==========  ====================================================  =================
name        map                                                   parameters
==========  ====================================================  =================
``gd``      theta - lr * grad L                                   ``lr``
``ngd``     theta - lr * grad L / ||grad L||                      ``lr``
``sqrt``    GD on sqrt(L - Lstar): theta - lr grad L / (2 sqrt(L - Lstar))  ``lr``, ``Lstar``
``hb``      heavy ball: v' = beta v - lr grad L, theta' = theta + v'  ``lr``, ``beta``
==========  ====================================================  =================

Examples
--------
>>> import sympy
>>> from dynsys_eos.loss import Loss
>>> from dynsys_eos.arith import MP
>>> x, y = sympy.symbols("x y")
>>> m = make_map(Loss((x * y - 1) ** 2 / 2, [x, y]), "gd", lr=sympy.Rational(1, 4))
>>> m.sympy()
[-lr*y*(x*y - 1) + x, -lr*x*(x*y - 1) + y]
>>> ev = m.bind(MP(dps=30))
>>> with ev.ctx.scope():
...     F, DF = ev.value_and_jacobian(ev.ctx.array(["1", "1"]))
>>> [ev.ctx.format(v, 5) for v in F]
['1.0000', '1.0000']
"""

from dataclasses import dataclass

import numpy as np
import sympy

from .arith import Float64
from .errors import ModelError, ParameterError
from .functions import VectorFunction
from .loss import check_names, declare_symbols
from .values import exact_value, sympy_expression, sympy_number

__all__ = ["Map", "UpdateRule", "RULES", "make_map", "raw_map"]


class Map:
    """An exact map ``F(x; p)`` on a state of dimension ``n``.

    Parameters
    ----------
    function : VectorFunction
        The right-hand side (outputs in state order).
    defaults : dict
        Parameter name -> exact default value.
    name : str
        A label for reports (``"uv (gd)"``, say).
    loss : Loss or None
        The loss it came from, if any.
    rule : str or None
        The update rule's name, if any.
    symmetric_jacobian_at_fixed_points : bool
        True for GD maps: DF = I - lr H is symmetric at every point, so its
        multipliers are real.
    """

    def __init__(self, function, defaults=None, name="map", loss=None, rule=None,
                 symmetric_jacobian_at_fixed_points=False):
        if len(function.outputs) != function.dimension:
            raise ModelError(f"map {name!r} has {len(function.outputs)} components for {function.dimension} state variables")
        self.function = function
        self.defaults = dict(defaults or {})
        self.name = name
        self.loss = loss
        self.rule = rule
        self.symmetric = symmetric_jacobian_at_fixed_points

    @property
    def dimension(self):
        return self.function.dimension

    @property
    def state_names(self):
        return self.function.state

    @property
    def parameter_names(self):
        return self.function.parameters

    def parameter_values(self, overrides=None):
        """Defaults updated with ``overrides``; unknown or missing names raise ParameterError."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.parameter_names))
        if unknown:
            raise ParameterError(
                f"map {self.name!r} has no parameter(s) {', '.join(unknown)}; valid: {', '.join(self.parameter_names) or '(none)'}"
            )
        values = dict(self.defaults)
        values.update({k: v if isinstance(v, np.ndarray) else exact_value(v, k) for k, v in overrides.items()})
        missing = [p for p in self.parameter_names if p not in values]
        if missing:
            raise ParameterError(f"map {self.name!r}: no value for parameter(s) {', '.join(missing)}")
        return values

    def bind(self, ctx=None, parameters=None):
        """The map compiled for ``ctx`` with parameters fixed; call it inside ``ctx.scope()``.

        ``ctx`` defaults to float64.  Parameter values are exact numbers
        (converted at the context's precision when bound) or context numbers.
        """
        ctx = ctx or Float64()
        values = self.parameter_values(parameters)
        with ctx.scope():
            return self.function.compile(ctx).bind(values)

    def sympy(self, at=None):
        """The components of F as sympy expressions (meant for small maps)."""
        symbols = _symbols_by_name(self)
        exprs = self.function.to_sympy(symbols=symbols)
        return [e.xreplace(_point(at, symbols)) for e in exprs]

    def jacobian_sympy(self, at=None):
        """DF as a sympy Matrix (n**2 entries: meant for small maps)."""
        symbols = _symbols_by_name(self)
        rows = [[self.function.graph.to_sympy(n, symbols) for n in row] for row in self.function.jacobian_nodes()]
        return sympy.Matrix(rows).xreplace(_point(at, symbols))

    def parameter_derivative_sympy(self, name, at=None):
        """dF/d(name) as a list of sympy expressions."""
        symbols = _symbols_by_name(self)
        nodes = self.function.parameter_derivative_nodes(name)
        return [self.function.graph.to_sympy(n, symbols).xreplace(_point(at, symbols)) for n in nodes]

    def check_finite_at(self, state, parameters=None):
        """Evaluate F once in float64 (a construction-time check); raise EvaluationError on NaN/overflow."""
        ev = self.bind(Float64(), parameters)
        ev.value(ev.ctx.array(state))

    def __repr__(self):
        return f"Map({self.name!r}: state={list(self.state_names)}, parameters={list(self.parameter_names)})"


def _symbols_by_name(m):
    return {name: sympy.Symbol(name, real=True) for name in m.state_names + m.parameter_names}


def _point(at, symbols):
    return {symbols[k]: sympy_number(v, k) for k, v in (at or {}).items() if k in symbols}


def raw_map(exprs, state, parameters=(), defaults=None, name="user map"):
    """A map given directly by its components, e.g. the logistic map.

    >>> x, r = sympy.symbols("x r")
    >>> raw_map([r * x * (1 - x)], [x], [r], {"r": 3}).jacobian_sympy()
    Matrix([[-r*x + r*(1 - x)]])
    """
    state, parameters = declare_symbols(state), declare_symbols(parameters)
    check_names(state, parameters)
    by_name = {s.name: s for s in state + parameters}
    exprs = [sympy_expression(e, f"{name} component") for e in exprs]
    exprs = [e.xreplace({s: by_name[s.name] for s in e.free_symbols if s.name in by_name}) for e in exprs]
    if len(exprs) != len(state):
        raise ModelError(f"{name}: {len(exprs)} component(s) for {len(state)} variable(s) ({', '.join(s.name for s in state)})")
    for e in exprs:
        extra = sorted(str(s) for s in e.free_symbols if s.name not in by_name)
        if extra:
            raise ModelError(f"{name} uses undeclared symbol(s) {', '.join(extra)} (declared: {', '.join(by_name)})")
    function = VectorFunction.from_sympy(exprs, state, parameters)
    return Map(function, defaults, name)


# -- update rules -------------------------------------------------------------------

@dataclass(frozen=True)
class UpdateRule:
    """An update rule: its name, what it does, its own parameters with defaults, and a builder."""

    name: str
    summary: str
    parameters: tuple  # ((name, exact default or None), ...)
    build: object  # callable(graph, loss, state_nodes, gradient_nodes, param_nodes) -> (state names, outputs)
    gradient_map: bool = False


def _gd(graph, loss, x, g, p):
    return loss.state_names, [graph.sub(xi, graph.mul(p["lr"], gi)) for xi, gi in zip(x, g)]


def _ngd(graph, loss, x, g, p):
    norm = graph.sqrt(graph.add(*(graph.powi(gi, 2) for gi in g)))
    step = graph.mul(p["lr"], graph.powi(norm, -1))
    return loss.state_names, [graph.sub(xi, graph.mul(step, gi)) for xi, gi in zip(x, g)]


def _sqrt_gd(graph, loss, x, g, p):
    excess = graph.sub(loss.value_function().outputs[0], p["Lstar"])
    step = graph.mul(graph.const(sympy.Rational(1, 2)), p["lr"], graph.powi(graph.sqrt(excess), -1))
    return loss.state_names, [graph.sub(xi, graph.mul(step, gi)) for xi, gi in zip(x, g)]


def _heavy_ball(graph, loss, x, g, p):
    names = [f"v_{name}" for name in loss.state_names]
    v = [graph.input(name) for name in names]
    v_new = [graph.sub(graph.mul(p["beta"], vi), graph.mul(p["lr"], gi)) for vi, gi in zip(v, g)]
    x_new = [graph.add(xi, vi) for xi, vi in zip(x, v_new)]
    return loss.state_names + tuple(names), x_new + v_new


RULES = {
    "gd": UpdateRule("gd", "gradient descent: theta - lr grad L", (("lr", None),), _gd, gradient_map=True),
    "ngd": UpdateRule("ngd", "normalized GD: theta - lr grad L / |grad L| (Arora, Li, Panigrahi)", (("lr", None),), _ngd),
    "sqrt": UpdateRule("sqrt", "GD on sqrt(L - Lstar) (Arora, Li, Panigrahi)", (("lr", None), ("Lstar", sympy.Integer(0))), _sqrt_gd,
                       gradient_map=True),
    "hb": UpdateRule("hb", "heavy-ball momentum: v' = beta v - lr grad L, theta' = theta + v'",
                     (("lr", None), ("beta", sympy.Rational(9, 10))), _heavy_ball),
}


def make_map(loss, rule="gd", **defaults):
    """The map of update rule ``rule`` applied to ``loss``.

    Parameters
    ----------
    loss : Loss
    rule : str
        One of :data:`RULES` (``gd``, ``ngd``, ``sqrt``, ``hb``).
    **defaults
        Default values of parameters (rule parameters such as ``lr`` and the
        loss's own parameters).

    Raises
    ------
    ModelError
        For an unknown rule, or when a state/parameter name of the loss
        clashes with a parameter of the rule.
    """
    if rule not in RULES:
        raise ModelError(f"unknown update rule {rule!r}; valid: {', '.join(RULES)}")
    spec = RULES[rule]
    rule_names = [name for name, _ in spec.parameters]
    clash = sorted(set(rule_names) & set(loss.state_names + loss.parameter_names))
    if clash:
        raise ModelError(f"name(s) {', '.join(clash)} of loss {loss.name!r} clash with parameters of rule {rule!r}")
    gradient = loss.gradient_function()
    graph = gradient.graph
    x = [graph.input(s) for s in loss.state_names]
    p = {name: graph.input(name) for name in rule_names}
    state, outputs = spec.build(graph, loss, x, list(gradient.outputs), p)
    parameters = tuple(loss.parameter_names) + tuple(rule_names)
    values = dict(loss.defaults)
    values.update({name: default for name, default in spec.parameters if default is not None})
    values.update(defaults)
    function = VectorFunction(graph, outputs, state, parameters)
    return Map(function, values, name=f"{loss.name} ({rule})", loss=loss, rule=rule,
               symmetric_jacobian_at_fixed_points=spec.gradient_map)
