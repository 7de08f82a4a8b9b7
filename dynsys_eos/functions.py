"""Vector functions of a state with exact Jacobians, compiled for any context.

:class:`VectorFunction` is the one place where a vector of DAG nodes (a
map's right-hand side, a loss gradient) becomes callable code together with
its Jacobian and its parameter derivatives.  Two Jacobian strategies, both
exact and both from :meth:`dynsys_eos.dag.Graph.jvp`:

* ``"full"`` (small states): every entry of the Jacobian is a node, computed
  with the function in one straight-line program;
* ``"directional"`` (large states, e.g. deep matrix factorization with 192
  parameters): one forward-mode program whose tangent inputs are arrays over
  all ``n`` unit directions at once, so the Jacobian costs one pass of
  vectorized arithmetic instead of ``n**2`` generated expressions.

Examples
--------
>>> import sympy
>>> from dynsys_eos.arith import Float64
>>> x, y, a = sympy.symbols("x y a")
>>> f = VectorFunction.from_sympy([a * x * y, x - y], [x, y], [a])
>>> ev = f.compile(Float64()).bind({"a": 2})
>>> value, jac = ev.value_and_jacobian([1.0, 3.0])
>>> value.tolist(), jac.tolist()
([6.0, -2.0], [[6.0, 2.0], [1.0, -1.0]])
"""

import numpy as np

from .codegen import CompiledFunction
from .dag import Graph
from .errors import ParameterError

__all__ = ["VectorFunction", "CompiledVectorFunction", "BoundFunction", "FULL_JACOBIAN_MAX"]

#: Largest state dimension for which all Jacobian entries are generated symbolically.
FULL_JACOBIAN_MAX = 12


class VectorFunction:
    """A vector of graph nodes as a function of state inputs and parameter inputs.

    Parameters
    ----------
    graph : Graph
    outputs : sequence of int
        Output nodes.
    state : sequence of str
        Names of the state inputs (the Jacobian is taken with respect to these).
    parameters : sequence of str
        Names of the parameter inputs.
    """

    def __init__(self, graph, outputs, state, parameters):
        self.graph = graph
        self.outputs = tuple(outputs)
        self.state = tuple(state)
        self.parameters = tuple(parameters)
        self._state_nodes = [graph.input(s) for s in self.state]
        self._param_nodes = [graph.input(p) for p in self.parameters]
        self._jacobian = None
        self._tangent_nodes = None
        self._compiled = {}
        self._programs = {}

    @classmethod
    def from_sympy(cls, exprs, state, parameters, graph=None):
        """Build from sympy expressions in the Symbols ``state`` and ``parameters``."""
        graph = graph or Graph()
        inputs = {s: graph.input(s.name) for s in list(state) + list(parameters)}
        outputs = [graph.from_sympy(e, inputs) for e in exprs]
        return cls(graph, outputs, [s.name for s in state], [p.name for p in parameters])

    @property
    def dimension(self):
        return len(self.state)

    @property
    def jacobian_mode(self):
        return "full" if self.dimension <= FULL_JACOBIAN_MAX else "directional"

    # -- derivative nodes -------------------------------------------------------
    def jacobian_nodes(self):
        """Nodes ``J[i][j] = d outputs[i] / d state[j]`` (symbolic; builds n**2 nodes)."""
        if self._jacobian is None:
            one = self.graph.const(1)
            columns = [self.graph.jvp(self.outputs, {x: one}) for x in self._state_nodes]
            self._jacobian = [[columns[j][i] for j in range(self.dimension)] for i in range(len(self.outputs))]
        return self._jacobian

    def directional_nodes(self):
        """Tangent input nodes and the directional derivative of each output."""
        if self._tangent_nodes is None:
            tangents = [self.graph.input(f"_d{i}") for i in range(self.dimension)]
            derivative = self.graph.jvp(self.outputs, dict(zip(self._state_nodes, tangents)))
            self._tangent_nodes = (tangents, derivative)
        return self._tangent_nodes

    def parameter_derivative_nodes(self, name):
        """Nodes of ``d outputs / d name`` for a parameter."""
        if name not in self.parameters:
            raise ParameterError(f"unknown parameter {name!r}; valid: {', '.join(self.parameters) or '(none)'}")
        return self.graph.jvp(self.outputs, {self.graph.input(name): self.graph.const(1)})

    def to_sympy(self, nodes=None, symbols=None):
        """Sympy expressions of ``nodes`` (default: the outputs)."""
        nodes = self.outputs if nodes is None else nodes
        return [self.graph.to_sympy(n, symbols) for n in nodes]

    # -- programs ---------------------------------------------------------------------
    def program(self, key):
        """The compiled program named ``key`` (cached): ``"value"``, ``"full"``, ``"directional"``, ``("dp", name)``."""
        program = self._programs.get(key)
        if program is not None:
            return program
        groups = [self._state_nodes, self._param_nodes]
        if key == "value":
            program = CompiledFunction(self.graph, self.outputs, groups, "value")
        elif key == "full":
            flat = [node for row in self.jacobian_nodes() for node in row]
            program = CompiledFunction(self.graph, list(self.outputs) + flat, groups, "value_and_jacobian")
        elif key == "directional":
            tangents, derivative = self.directional_nodes()
            program = CompiledFunction(self.graph, list(self.outputs) + derivative, groups + [tangents], "jvp")
        else:
            program = CompiledFunction(self.graph, self.parameter_derivative_nodes(key[1]), groups, "d_param")
        self._programs[key] = program
        return program

    def compile(self, ctx):
        """The function compiled for the arithmetic context ``ctx``."""
        compiled = self._compiled.get(ctx)
        if compiled is None:
            compiled = self._compiled[ctx] = CompiledVectorFunction(self, ctx)
        return compiled


class CompiledVectorFunction:
    """A :class:`VectorFunction` for one arithmetic context; :meth:`bind` fixes parameters."""

    def __init__(self, function, ctx):
        self.function = function
        self.ctx = ctx

    def bind(self, values):
        """Fix parameter values (exact numbers or context numbers); call inside ``ctx.scope()``.

        Values for names this function does not use are ignored (a loss's
        gradient bound with a map's parameters, say); user-facing checks of
        names happen where the values enter (:meth:`Map.parameter_values`).

        Raises
        ------
        ParameterError
            If a parameter has no value.
        """
        names = self.function.parameters
        missing = [p for p in names if p not in values]
        if missing:
            raise ParameterError(f"no value for parameter(s) {', '.join(missing)}")
        converted = [self.ctx.number(values[p]) if not _is_array(values[p]) else values[p] for p in names]
        return BoundFunction(self, converted, {p: values[p] for p in names})


def _is_array(value):
    return isinstance(value, np.ndarray)


class BoundFunction:
    """A compiled vector function with its parameters fixed: call with a state."""

    def __init__(self, compiled, parameter_values, given):
        self.compiled = compiled
        self.ctx = compiled.ctx
        self.function = compiled.function
        self.parameters = parameter_values
        self.given = given
        self.n = compiled.function.dimension
        self.m = len(compiled.function.outputs)

    def _run(self, key, state, *extra):
        program = self.function.program(key).bind(self.ctx)
        try:
            if self.ctx.kind == "float64":  # overflow and NaN are checked (and reported) by the caller
                with np.errstate(all="ignore"):
                    return program(state, self.parameters, *extra)
            return program(state, self.parameters, *extra)
        except (ZeroDivisionError, OverflowError, ValueError) as exc:
            self.ctx.check_finite([float("nan")], f"evaluation ({exc})", state, self.given)
            raise  # pragma: no cover - check_finite raised

    def _stack(self, values, tail_shape=()):
        if self.ctx.kind == "float64":
            arrays = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in values])
            out = np.array(arrays, dtype=float)
            return out.reshape((len(values),) + out.shape[1:]) if out.ndim else out
        out = np.empty((len(values),) + tail_shape, dtype=object)
        for i, v in enumerate(values):
            out[i] = v
        return out

    def value(self, state):
        """The outputs at ``state`` as a context vector."""
        out = self._stack(self._run("value", state))
        self.ctx.check_finite(out, "function value", state, self.given)
        return out

    def value_and_jacobian(self, state):
        """Outputs and Jacobian (``m x n``; trailing batch axes for float64)."""
        if self.function.jacobian_mode == "full":
            flat = self._stack(self._run("full", state))
            value, jac = flat[: self.m], flat[self.m:]
            jac = jac.reshape((self.m, self.n) + jac.shape[1:])
        else:
            value, jac = self._directional(state)
        self.ctx.check_finite(value, "function value", state, self.given)
        self.ctx.check_finite(jac, "Jacobian", state, self.given)
        return value, jac

    def _directional(self, state):
        n = self.n
        if self.ctx.kind == "float64":
            batch = np.shape(state[0]) if n else ()
            eye = np.eye(n).reshape((n, n) + (1,) * len(batch))
            out = self._run("directional", state, list(eye))
            value = self._stack(out[: self.m])
            jac = np.array([np.broadcast_to(np.asarray(d, dtype=float), (n,) + tuple(np.shape(value)[1:])) for d in out[self.m:]])
            return value, jac
        eye = self.ctx.identity(n)
        jac = np.empty((self.m, n), dtype=object)
        if getattr(self.ctx, "backend", None) == "iv":
            # mpmath intervals refuse numpy operands: one direction at a time, scalar tangents
            for j in range(n):
                out = self._run("directional", state, list(eye[:, j]))
                jac[:, j] = out[self.m:]
            return self._stack(out[: self.m]), jac
        out = self._run("directional", state, [eye[i] for i in range(n)])
        value = self._stack(out[: self.m])
        for i, d in enumerate(out[self.m:]):
            jac[i, :] = d if _is_array(d) else [d] * n
        return value, jac

    def jacobian(self, state):
        return self.value_and_jacobian(state)[1]

    def parameter_derivative(self, state, name):
        """``d outputs / d name`` at ``state``."""
        out = self._stack(self._run(("dp", name), state))
        self.ctx.check_finite(out, f"derivative in {name}", state, self.given)
        return out
