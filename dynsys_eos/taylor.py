"""Taylor series of the solution of ``x' = s * f(x; p)`` by automatic differentiation on the expression DAG.

The coefficients ``x_n`` of ``x(t0 + h) = sum x_n h^n`` follow from
``x_{n+1} = s * f(x)_n / (n + 1)``, where ``f(x)_n``, the n-th coefficient of
the composite ``f(x(t))``, needs only ``x_0 .. x_n``.  Every DAG node
carries its own series, computed order by order with the classical
recurrences (Cauchy products for ``mul`` and ``powi``, Miller's recurrence
for real powers, the ODEs of ``exp``, ``log``, ``sqrt``, ``sin``/``cos``,
``sinh``/``cosh``, ``tanh``); nodes that do not depend on the state are
evaluated once.  An order-N series costs O(N^2) per node, in any
arithmetic context (mpmath, gmpy2 MPFR).

Examples
--------
>>> import sympy
>>> from dynsys_eos.dag import Graph
>>> from dynsys_eos.arith import MP
>>> x = sympy.Symbol("x")
>>> g = Graph()
>>> f = g.from_sympy(x**2, {x: g.input("x")})   # x' = x^2, x(0) = 1: x = 1/(1 - t) = sum t^n
>>> series = TaylorSeries(g, [f], ["x"], [], sign=1)
>>> ctx = MP(dps=20)
>>> with ctx.scope():
...     coefficients = series.coefficients(ctx, [ctx.number(1)], [], 5)
>>> [int(c) for c in coefficients[0]]
[1, 1, 1, 1, 1, 1]
"""

from .errors import ModelError

__all__ = ["TaylorSeries", "SUPPORTED_OPERATIONS"]

SUPPORTED_OPERATIONS = ("add", "mul", "powi", "pow (constant exponent)", "sqrt", "exp", "log", "sin", "cos", "sinh",
                        "cosh", "tanh", "abs", "sign")


def _cauchy(u, v, n):
    """n-th coefficient of the product of two series."""
    return sum(u[j] * v[n - j] for j in range(n + 1))


class TaylorSeries:
    """Taylor coefficients of ``x' = sign * outputs(x; p)`` for a vector of DAG output nodes.

    Parameters
    ----------
    graph : Graph
    outputs : sequence of int
        The right-hand side, one node per state variable.
    state : sequence of str
        Names of the state inputs, in order.
    parameters : sequence of str
        Names of the parameter inputs, in order.
    sign : int
        +1 or -1 (gradient flow: the outputs are the gradient, sign -1).
    """

    def __init__(self, graph, outputs, state, parameters, sign=1):
        if len(outputs) != len(state):
            raise ModelError(f"{len(outputs)} right-hand sides for {len(state)} state variables")
        self.graph, self.outputs, self.sign = graph, tuple(outputs), sign
        self.state, self.parameters = tuple(state), tuple(parameters)
        self._state_nodes = [graph.input(s) for s in self.state]
        self._param_nodes = {graph.input(p): i for i, p in enumerate(self.parameters)}
        self.active = graph.depends_on(self.outputs, self._state_nodes)
        self.nodes = sorted(graph.ancestors(self.outputs))
        for n in self.nodes:
            op = graph.ops[n]
            if n in self.active and op in ("tan", "atan", "asin", "acos"):
                raise ModelError(f"the Taylor integrator has no recurrence for {op}; supported: "
                                 f"{', '.join(SUPPORTED_OPERATIONS)} (use a float64 method)")
            if op == "pow" and graph.args[n][1] in self.active:
                raise ModelError("the Taylor integrator needs a constant exponent in a power x**y (use a float64 method)")

    # -- constants (nodes that do not depend on the state) -------------------------------------
    def _constants(self, ctx, params):
        ns = ctx.namespace()
        g = self.graph
        value = {}
        for n in self.nodes:
            if n in self.active:
                continue
            op, args = g.ops[n], g.args[n]
            if op == "in":
                if n not in self._param_nodes:
                    raise ModelError(f"input {args!r} is neither a state variable nor a parameter")
                value[n] = params[self._param_nodes[n]]
            elif op == "const":
                value[n] = ctx.number(args)
            elif op == "add":
                value[n] = sum((value[a] for a in args[1:]), value[args[0]])
            elif op == "mul":
                result = value[args[0]]
                for a in args[1:]:
                    result = result * value[a]
                value[n] = result
            elif op == "powi":
                value[n] = value[args[0]] ** args[1]
            elif op == "pow":
                value[n] = ns["pow_"](value[args[0]], value[args[1]])
            elif op in ("abs",):
                value[n] = ns["abs_"](value[args[0]])
            else:
                value[n] = ns[op](value[args[0]])
        return value

    # -- series ---------------------------------------------------------------------------------------
    def coefficients(self, ctx, x0, params, order):
        """Coefficients ``[[x_i0, ..., x_iN] for each i]`` at the point ``x0`` (call inside ``ctx.scope()``)."""
        g = self.graph
        const = self._constants(ctx, params)
        zero = ctx.number(0)
        series = {n: [] for n in self.nodes if n in self.active}
        hidden = {}  # companion series: cos for sin, sin for cos, ..., 1 - t^2 for tanh, 1/u for negative powers
        xs = {node: [x] for node, x in zip(self._state_nodes, x0)}
        rhs = [series.get(o) for o in self.outputs]
        for n in range(order + 1):
            for node in self.nodes:
                if node not in series:
                    continue
                s = series[node]
                op, args = g.ops[node], g.args[node]
                if op == "in":
                    s.append(xs[node][n])
                elif op == "add":
                    total = sum((series[a][n] for a in args if a in series), zero)
                    if n == 0:
                        total = sum((const[a] for a in args if a not in series), total)
                    s.append(total)
                elif op == "mul":
                    s.append(self._mul(node, args, series, const, hidden, n))
                elif op == "powi":
                    s.append(self._powi(node, args, series, hidden, n, ctx))
                else:
                    s.append(self._unary(node, op, args, series, const, hidden, n, ctx))
            if n < order:
                for node, out, i in zip(self._state_nodes, rhs, range(len(rhs))):
                    value = out[n] if out is not None else (const[self.outputs[i]] if n == 0 else zero)
                    xs[node].append(value * self.sign / (n + 1))
        return [xs[node] for node in self._state_nodes]

    def _mul(self, node, args, series, const, hidden, n):
        active = [a for a in args if a in series]
        factor = None
        for a in args:
            if a not in series:
                factor = const[a] if factor is None else factor * const[a]
        partial = series[active[0]]
        for k, a in enumerate(active[1:]):  # running products kept as hidden series
            key = (node, "mul", k)
            chain = hidden.setdefault(key, [])
            chain.append(_cauchy(partial, series[a], n))
            partial = chain
        value = partial[n]
        return value * factor if factor is not None else value

    def _powi(self, node, args, series, hidden, n, ctx):
        base, k = args
        u = series[base]
        if k < 0:  # reciprocal series r: r_n = -(sum_{j>=1} u_j r_{n-j}) / u_0
            r = hidden.setdefault((node, "inv"), [])
            r.append(1 / u[0] if n == 0 else -sum(u[j] * r[n - j] for j in range(1, n + 1)) / u[0])
            u, k = r, -k
            if k == 1:
                return r[n]
        partial = u
        for step in range(k - 1):
            chain = hidden.setdefault((node, "pow", step), [])
            chain.append(_cauchy(partial, u, n))
            partial = chain
        return partial[n]

    def _unary(self, node, op, args, series, const, hidden, n, ctx):
        ns = ctx.namespace()
        u = series[args[0]]
        s = series[node]
        if op == "sqrt":
            if n == 0:
                return ns["sqrt"](u[0])
            return (u[n] - sum(s[j] * s[n - j] for j in range(1, n))) / (2 * s[0])
        if op == "pow":
            alpha = const[args[1]]
            if n == 0:
                return ns["pow_"](u[0], alpha)
            return sum(((alpha + 1) * k - n) * u[k] * s[n - k] for k in range(1, n + 1)) / (n * u[0])
        if op == "exp":
            if n == 0:
                return ns["exp"](u[0])
            return sum(k * u[k] * s[n - k] for k in range(1, n + 1)) / n
        if op == "log":
            if n == 0:
                return ns["log"](u[0])
            return (u[n] - sum((n - k) * u[k] * s[n - k] for k in range(1, n)) / n) / u[0]
        if op in ("sin", "cos", "sinh", "cosh"):
            partner = {"sin": "cos", "cos": "sin", "sinh": "cosh", "cosh": "sinh"}[op]
            c = hidden.setdefault((node, partner), [])
            if n == 0:
                c.append(ns[partner](u[0]))
                return ns[op](u[0])
            sign_s = -1 if op == "cos" else 1  # d sin = cos du, d cos = -sin du, d sinh = cosh du, d cosh = sinh du
            sign_c = -1 if op == "sin" else 1
            value = sign_s * sum(k * u[k] * c[n - k] for k in range(1, n + 1)) / n
            c.append(sign_c * sum(k * u[k] * s[n - k] for k in range(1, n + 1)) / n)  # s[n] not needed: k >= 1
            return value
        if op == "tanh":
            w = hidden.setdefault((node, "1-t^2"), [])  # w = 1 - tanh^2, tanh' = w u'
            if n == 0:
                t0 = ns["tanh"](u[0])
                w.append(1 - t0 * t0)
                return t0
            value = sum(k * u[k] * w[n - k] for k in range(1, n + 1)) / n
            s_now = s + [value]
            w.append(-sum(s_now[j] * s_now[n - j] for j in range(n + 1)))
            return value
        if op == "abs":
            if n == 0 and u[0] == 0:
                raise ModelError("abs(.) at zero: not analytic there (the Taylor integrator cannot step through it)")
            return u[n] if (u[0] > 0) else -u[n]
        if op == "sign":
            return ns["sign"](u[0]) if n == 0 else 0 * u[0]
        raise ModelError(f"the Taylor integrator has no recurrence for {op}")  # pragma: no cover - refused in __init__
