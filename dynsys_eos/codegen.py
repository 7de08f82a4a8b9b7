"""Straight-line Python code from an expression DAG, run in any arithmetic context.

The generated function has one statement per DAG node (shared nodes are
computed once) and uses only Python operators and the function names of
:meth:`dynsys_eos.arith.ArithmeticContext.namespace`, so one code object
serves float64 (vectorized numpy), mpmath and ball arithmetic.

Why generating source is safe here: the source is built from the DAG alone:
node numbers become variable names (``t12``), integers are written with
``int.__repr__`` and operations come from a fixed table.  No text from a user
ever reaches the generated code (user strings are parsed by
:mod:`dynsys_eos.parse` into sympy objects first).

Rational constants are emitted as ``_q(p, q)``: exact integers divided in the
context at call time, so 1/3 is rounded at the working precision (never as a
binary float literal).

Examples
--------
>>> import sympy
>>> from dynsys_eos.dag import Graph
>>> from dynsys_eos.arith import MP
>>> x = sympy.Symbol("x")
>>> g = Graph()
>>> node = g.from_sympy(x / 3 + sympy.sqrt(2), {x: g.input("x")})
>>> f = CompiledFunction(g, [node], [[g.input("x")]])
>>> ctx = MP(dps=25)
>>> with ctx.scope():
...     (value,) = f.bind(ctx)([ctx.number(1)])
>>> print(ctx.format(value, 25))
1.747546895706428382135022
"""

import sympy

from .dag import UNARY_FUNCTIONS

__all__ = ["CompiledFunction", "generate_source", "evaluate_constant"]

_FUNCTION_NAMES = {name: name for name in UNARY_FUNCTIONS}
_FUNCTION_NAMES.update(abs="abs_", sign="sign", sqrt="sqrt")


def generate_source(graph, outputs, arg_groups, name="generated"):
    """Python source of ``def name(_a0, _a1, ...)`` returning a tuple of the outputs.

    Parameters
    ----------
    graph : Graph
    outputs : sequence of int
        Output nodes, returned in this order.
    arg_groups : sequence of sequences of int
        Input nodes, grouped: group ``g`` is the ``g``-th positional argument,
        a sequence indexed in the order given here.
    """
    needed = graph.ancestors(outputs)
    position = {}
    for g, group in enumerate(arg_groups):
        for i, node in enumerate(group):
            position[node] = (g, i)
    lines = [f"def {name}({', '.join(f'_a{g}' for g in range(len(arg_groups)))}):"]
    ref = {}
    body = []
    for n in sorted(needed):
        op, args = graph.ops[n], graph.args[n]
        if op == "in":
            if n not in position:
                raise KeyError(f"input {args!r} is not among the arguments")
            g, i = position[n]
            lines.append(f"    v{n} = _a{g}[{i}]")
            ref[n] = f"v{n}"
        elif op == "const":
            if args.is_Integer:
                ref[n] = f"({int(args)!r})"
            else:
                if args.is_Rational:
                    value = f"_q({int(args.p)!r}, {int(args.q)!r})"
                else:
                    value = "_pi()" if args == sympy.pi else "_e()"
                lines.append(f"    c{n} = {value}")
                ref[n] = f"c{n}"
        else:
            body.append(f"    t{n} = {_expression(op, args, ref, graph)}")
            ref[n] = f"t{n}"
    lines.extend(body)
    returned = []
    for o in outputs:
        value = graph.constant_value(o)
        returned.append(f"_q({int(value)!r}, 1)" if value is not None and value.is_Integer else ref[o])
    lines.append(f"    return ({', '.join(returned)}{',' if len(returned) == 1 else ''})")
    return "\n".join(lines) + "\n"


def _expression(op, args, ref, graph):
    if op == "add":
        return " + ".join(ref[a] for a in args)
    if op == "mul":
        minus = any(graph.constant_value(a) == -1 for a in args)
        factors = [ref[a] for a in args if not (minus and graph.constant_value(a) == -1)]
        product = " * ".join(factors)
        return f"-({product})" if minus else product
    if op == "powi":
        base, k = args
        if k == 2:
            return f"{ref[base]} * {ref[base]}"
        return f"{ref[base]} ** ({k!r})"
    if op == "pow":
        return f"pow_({ref[args[0]]}, {ref[args[1]]})"
    return f"{_FUNCTION_NAMES[op]}({ref[args[0]]})"


class CompiledFunction:
    """Generated code for some outputs of a graph, bound lazily to contexts.

    ``bind(ctx)`` gives a plain Python function of the argument groups that
    returns a tuple of outputs computed in ``ctx`` (call it inside
    ``ctx.scope()`` for mp and ball contexts).
    """

    def __init__(self, graph, outputs, arg_groups, name="generated"):
        self.outputs = tuple(outputs)
        self.source = generate_source(graph, self.outputs, arg_groups, name)
        self._name = name
        self._code = compile(self.source, f"<dynsys_eos {name}>", "exec")
        self._bound = {}

    def bind(self, ctx):
        key = (ctx.kind, getattr(ctx, "backend", None))
        function = self._bound.get(key)
        if function is None:
            namespace = dict(ctx.namespace())
            namespace["__builtins__"] = {}
            exec(self._code, namespace)  # noqa: S102 - code generated from a DAG, see module docstring
            function = self._bound[key] = namespace[self._name]
        return function


def evaluate_constant(expr, ctx):
    """Evaluate a constant sympy expression (``sqrt(2)``, ``pi/3``) in ``ctx``."""
    from .dag import Graph

    graph = Graph()
    node = graph.from_sympy(expr, {})
    (value,) = CompiledFunction(graph, [node], []).bind(ctx)()
    return value
