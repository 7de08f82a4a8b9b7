"""Expression DAG: a hash-consed computation graph with exact symbolic derivatives.

Why not differentiate with sympy?  ``sympy.diff`` walks an expression tree
once per variable and returns unshared trees: the Hessian of deep matrix
factorization with 192 parameters does not finish in minutes.  Here every
expression is a node of one directed acyclic graph in which equal
sub-expressions are stored once (hash-consing).  Forward-mode (``jvp``) and
reverse-mode (``grad``) differentiation are graph transformations that add
nodes to the same graph, so derivatives share structure with the function
and cost a small multiple of its size.  Derivatives are exact: they are
expressions, evaluated later in any arithmetic context (float64, mpmath at
any precision, interval balls) by :mod:`dynsys_eos.codegen`.

Nodes are integers, numbered in topological order (every argument has a
smaller number than its user).  Operations:

========  ==========================  ====================================
op        args                        meaning
========  ==========================  ====================================
``in``    name                        an input variable
``const`` sympy Rational, pi or E     an exact constant
``add``   sorted tuple of nodes       sum
``mul``   sorted tuple of nodes       product
``powi``  (node, int k)               integer power
``pow``   (base, exponent)            general real power
``sqrt``  (node,)                     square root
FUNC      (node,)                     exp, log, sin, cos, tan, sinh, cosh,
                                      tanh, atan, asin, acos, abs, sign
========  ==========================  ====================================

Examples
--------
>>> import sympy
>>> x, y = sympy.symbols("x y")
>>> g = Graph()
>>> f = g.from_sympy(x**2 * y + sympy.sin(x), {x: g.input("x"), y: g.input("y")})
>>> dfdx, dfdy = g.grad(f, [g.input("x"), g.input("y")])
>>> g.to_sympy(dfdx)
2*x*y + cos(x)
>>> g.to_sympy(dfdy)
x**2
"""

import sympy

from .errors import ModelError

__all__ = ["Graph", "UNARY_FUNCTIONS"]

# name in the graph -> sympy function
UNARY_FUNCTIONS = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "atan": sympy.atan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "abs": sympy.Abs,
    "sign": sympy.sign,
}
_FROM_SYMPY_FUNCTION = {cls: name for name, cls in UNARY_FUNCTIONS.items()}
_SPECIAL_CONSTANTS = (sympy.pi, sympy.E)


def _is_exact_constant(value):
    return isinstance(value, sympy.Rational) or value in _SPECIAL_CONSTANTS


class Graph:
    """A growing, hash-consed expression DAG.

    Build nodes with :meth:`input`, :meth:`const`, :meth:`add`, :meth:`mul`,
    :meth:`powi`, :meth:`pow`, :meth:`sqrt`, :meth:`func` or
    :meth:`from_sympy`; differentiate with :meth:`jvp` and :meth:`grad`;
    read back with :meth:`to_sympy`.  Constructors simplify locally (drop
    zeros and ones, fold exact constants) so derivatives stay small.
    """

    def __init__(self):
        self.ops = []
        self.args = []
        self._index = {}
        self._inputs = {}

    def __len__(self):
        return len(self.ops)

    # -- construction -----------------------------------------------------------
    def _node(self, op, args):
        key = (op, args)
        found = self._index.get(key)
        if found is not None:
            return found
        node = len(self.ops)
        self.ops.append(op)
        self.args.append(args)
        self._index[key] = node
        return node

    def input(self, name):
        """The input node called ``name`` (created on first use)."""
        node = self._inputs.get(name)
        if node is None:
            node = self._inputs[name] = self._node("in", name)
        return node

    def input_names(self):
        """Names of the input nodes, in creation order."""
        return list(self._inputs)

    def const(self, value):
        """An exact constant node: a sympy Rational (or int), ``pi`` or ``E``."""
        value = sympy.Integer(value) if isinstance(value, int) else value
        if not _is_exact_constant(value):
            raise ModelError(f"not an exact constant: {value!r}")
        return self._node("const", value)

    def constant_value(self, node):
        """The exact value of a constant node, or None for any other node."""
        return self.args[node] if self.ops[node] == "const" else None

    def _rational(self, node):
        value = self.constant_value(node)
        return value if isinstance(value, sympy.Rational) else None

    def add(self, *nodes):
        """Sum of nodes; constants folded, zeros dropped."""
        const = sympy.Integer(0)
        terms = []
        for n in nodes:
            value = self._rational(n)
            if value is not None:
                const += value
            else:
                terms.append(n)
        if const != 0:
            terms.append(self.const(const))
        if not terms:
            return self.const(0)
        if len(terms) == 1:
            return terms[0]
        return self._node("add", tuple(sorted(terms)))

    def mul(self, *nodes):
        """Product of nodes; constants folded, ones dropped, zero absorbs."""
        const = sympy.Integer(1)
        factors = []
        for n in nodes:
            value = self._rational(n)
            if value is not None:
                const *= value
            else:
                factors.append(n)
        if const == 0:
            return self.const(0)
        if const != 1:
            factors.append(self.const(const))
        if not factors:
            return self.const(1)
        if len(factors) == 1:
            return factors[0]
        return self._node("mul", tuple(sorted(factors)))

    def neg(self, node):
        return self.mul(self.const(-1), node)

    def sub(self, a, b):
        return self.add(a, self.neg(b))

    def div(self, a, b):
        return self.mul(a, self.powi(b, -1))

    def powi(self, base, k):
        """``base**k`` for a Python integer ``k``."""
        k = int(k)
        if k == 0:
            return self.const(1)
        if k == 1:
            return base
        value = self._rational(base)
        if value is not None:
            if value == 0 and k < 0:
                raise ModelError("division by zero in a constant expression")
            return self.const(value**k)
        if self.ops[base] == "powi":  # (b**j)**k == b**(j*k) for integers
            inner, j = self.args[base]
            return self.powi(inner, j * k)
        return self._node("powi", (base, k))

    def sqrt(self, node):
        value = self._rational(node)
        if value is not None and value >= 0:
            root = sympy.sqrt(value)
            if isinstance(root, sympy.Rational):
                return self.const(root)
        return self._node("sqrt", (node,))

    def pow(self, base, exponent):
        """``base**exponent``; integer and one-half exponents get special nodes."""
        value = self._rational(exponent)
        if value is not None:
            if value.is_integer:
                return self.powi(base, int(value))
            if value == sympy.Rational(1, 2):
                return self.sqrt(base)
            if value == sympy.Rational(-1, 2):
                return self.powi(self.sqrt(base), -1)
        return self._node("pow", (base, exponent))

    def func(self, name, node):
        """A unary function node (see :data:`UNARY_FUNCTIONS`)."""
        if name not in UNARY_FUNCTIONS:
            raise ModelError(f"unknown function {name!r}; known: {', '.join(UNARY_FUNCTIONS)}")
        if self._rational(node) == 0 and name in ("sin", "tan", "sinh", "tanh", "atan", "asin", "abs", "sign"):
            return self.const(0)
        return self._node(name, (node,))

    # -- conversion to and from sympy ---------------------------------------------
    def from_sympy(self, expr, inputs):
        """Node for a sympy expression; ``inputs`` maps each Symbol to an input node."""
        memo = {}

        def convert(e):
            found = memo.get(e)
            if found is not None:
                return found
            if e.is_Symbol:
                if e not in inputs:
                    raise ModelError(f"undeclared symbol {e} (declared: {', '.join(map(str, inputs))})")
                node = inputs[e]
            elif e.is_Rational or e in _SPECIAL_CONSTANTS:
                node = self.const(e)
            elif e.is_Float:
                raise ModelError(f"inexact float {e} in an expression; use an exact Rational")
            elif e.is_Add:
                node = self.add(*map(convert, e.args))
            elif e.is_Mul:
                node = self.mul(*map(convert, e.args))
            elif e.is_Pow:
                base, exponent = e.args
                if exponent.is_Integer:
                    node = self.powi(convert(base), int(exponent))
                else:
                    node = self.pow(convert(base), convert(exponent))
            elif type(e) in _FROM_SYMPY_FUNCTION and len(e.args) == 1:
                node = self.func(_FROM_SYMPY_FUNCTION[type(e)], convert(e.args[0]))
            else:
                raise ModelError(f"unsupported expression {e} (type {type(e).__name__})")
            memo[e] = node
            return node

        from .values import sympy_expression

        return convert(sympy_expression(expr))

    def to_sympy(self, node, symbols=None):
        """The sympy expression of ``node``; ``symbols`` maps input names to Symbols."""
        symbols = dict(symbols or {})
        memo = {}
        for n in sorted(self.ancestors([node])):
            op, args = self.ops[n], self.args[n]
            if op == "in":
                memo[n] = symbols.get(args) or sympy.Symbol(args)
            elif op == "const":
                memo[n] = args
            elif op == "add":
                memo[n] = sympy.Add(*(memo[a] for a in args))
            elif op == "mul":
                memo[n] = sympy.Mul(*(memo[a] for a in args))
            elif op == "powi":
                memo[n] = sympy.Pow(memo[args[0]], args[1])
            elif op == "pow":
                memo[n] = sympy.Pow(memo[args[0]], memo[args[1]])
            elif op == "sqrt":
                memo[n] = sympy.sqrt(memo[args[0]])
            else:
                memo[n] = UNARY_FUNCTIONS[op](memo[args[0]])
        return memo[node]

    # -- structure ------------------------------------------------------------------
    def children(self, node):
        op, args = self.ops[node], self.args[node]
        if op in ("in", "const"):
            return ()
        if op == "powi":
            return (args[0],)
        return args

    def ancestors(self, nodes):
        """All nodes the given nodes depend on, themselves included."""
        seen = set()
        stack = list(nodes)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(self.children(n))
        return seen

    def depends_on(self, nodes, inputs):
        """The subset of ``ancestors(nodes)`` that depends on any of ``inputs``."""
        inputs = set(inputs)
        active = set()
        for n in sorted(self.ancestors(nodes)):
            if n in inputs or any(c in active for c in self.children(n)):
                active.add(n)
        return active

    # -- differentiation --------------------------------------------------------------
    def _local_derivatives(self, node, wanted):
        """Pairs (child, d node / d child) for argument positions whose child is in ``wanted``."""
        op, args = self.ops[node], self.args[node]
        if op == "add":
            one = self.const(1)
            return [(a, one) for a in args if a in wanted]
        if op == "mul":
            return [(a, self.mul(*(args[:i] + args[i + 1:]))) for i, a in enumerate(args) if a in wanted]
        if op == "powi":
            base, k = args
            return [(base, self.mul(self.const(k), self.powi(base, k - 1)))]
        if op == "pow":
            base, exponent = args
            pairs = []
            if base in wanted:
                pairs.append((base, self.mul(exponent, self.pow(base, self.sub(exponent, self.const(1))))))
            if exponent in wanted:
                pairs.append((exponent, self.mul(node, self.func("log", base))))
            return pairs
        (a,) = args
        one = self.const(1)
        derivative = {
            "sqrt": lambda: self.mul(self.const(sympy.Rational(1, 2)), self.powi(node, -1)),
            "exp": lambda: node,
            "log": lambda: self.powi(a, -1),
            "sin": lambda: self.func("cos", a),
            "cos": lambda: self.neg(self.func("sin", a)),
            "tan": lambda: self.add(one, self.powi(node, 2)),
            "sinh": lambda: self.func("cosh", a),
            "cosh": lambda: self.func("sinh", a),
            "tanh": lambda: self.sub(one, self.powi(node, 2)),
            "atan": lambda: self.powi(self.add(one, self.powi(a, 2)), -1),
            "asin": lambda: self.powi(self.sqrt(self.sub(one, self.powi(a, 2))), -1),
            "acos": lambda: self.neg(self.powi(self.sqrt(self.sub(one, self.powi(a, 2))), -1)),
            "abs": lambda: self.func("sign", a),
            "sign": lambda: self.const(0),
        }[op]
        return [(a, derivative())]

    def jvp(self, outputs, tangents):
        """Forward mode: directional derivatives of ``outputs``.

        Parameters
        ----------
        outputs : sequence of int
            Nodes to differentiate.
        tangents : dict
            Input node -> node holding its tangent (a constant for a partial
            derivative, an input node for a symbolic direction).

        Returns
        -------
        list of int
            The derivative node of each output (a zero constant where an
            output does not depend on the inputs).
        """
        tangents = {k: v for k, v in tangents.items() if self._rational(v) != 0}
        active = self.depends_on(outputs, tangents)
        d = dict(tangents)
        for n in sorted(active):
            if n in d:
                continue
            terms = [self.mul(local, d[child]) for child, local in self._local_derivatives(n, d)]
            d[n] = self.add(*terms)
        zero = self.const(0)
        return [d.get(o, zero) for o in outputs]

    def grad(self, output, wrt):
        """Reverse mode: the gradient of one scalar node with respect to inputs ``wrt``."""
        active = self.depends_on([output], wrt)
        contributions = {output: [self.const(1)]}
        for n in sorted(active, reverse=True):
            if n not in contributions or self.ops[n] == "in":
                continue
            adjoint = self.add(*contributions[n])
            for child, local in self._local_derivatives(n, active):
                contributions.setdefault(child, []).append(self.mul(adjoint, local))
        return [self.add(*contributions.get(w, [])) for w in wrt]
