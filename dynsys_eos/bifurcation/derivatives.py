"""Exact higher derivatives of a map along an orbit, in any context.

* :func:`directional_function`: the vector function x -> DF(x) b with the
  direction b as parameters; its Jacobian is the second derivative
  D^2F(x)[., b] and its parameter derivative is d/dp (DF(x) b).
* :func:`monodromy_action_derivative`: the derivative of M u (M the
  monodromy of a period-k orbit) with respect to the orbit points and the
  parameter, in O(k n^3).
* :func:`jet_function` and :func:`taylor_iterate`: Taylor coefficients of
  the k-th iterate F^k(x_0 + t q) up to order 3, for normal forms.

All are built from the map's expression DAG by forward-mode differentiation
(:meth:`dynsys_eos.dag.Graph.jvp`), so they are exact and cached per map.
"""

import numpy as np

from ..functions import VectorFunction

__all__ = ["directional_function", "monodromy_action_derivative", "jet_function", "taylor_iterate",
           "direction_values"]


def _direction_names(prefix, n):
    return [f"{prefix}{i}" for i in range(n)]


def _derived(map_, cache, prefix, orders):
    """VectorFunction of directional derivatives of F along symbolic directions ``{prefix}i`` (cached on the map).

    ``orders`` lists which derivatives to output: 1 -> DF u, 2 -> D^2F[u, u], 3 -> D^3F[u, u, u].
    """
    cached = getattr(map_, cache, None)
    if cached is None:
        f = map_.function
        graph = f.graph
        names = _direction_names(prefix, f.dimension)
        tangents = {graph.input(x): graph.input(u) for x, u in zip(f.state, names)}
        derivatives, current = [], f.outputs
        for _ in range(max(orders)):
            current = graph.jvp(current, tangents)
            derivatives.append(current)
        outputs = [node for order in orders for node in derivatives[order - 1]]
        cached = VectorFunction(graph, outputs, f.state, f.parameters + tuple(names))
        setattr(map_, cache, cached)
    return cached


def directional_function(map_):
    """VectorFunction x -> DF(x) b, with parameters = the map's parameters + ``_b0.._b{n-1}``."""
    return _derived(map_, "_directional_function", "_b", (1,))


def jet_function(map_):
    """VectorFunction x -> (DF u, D^2F[u, u], D^3F[u, u, u]) stacked (3n outputs); u is ``_u0..``."""
    return _derived(map_, "_jet_function", "_u", (1, 2, 3))


def direction_values(prefix, vector):
    return {f"{prefix}{i}": v for i, v in enumerate(vector)}


def monodromy_action_derivative(ctx, map_, values, orbit, jacobians, u, parameter):
    """d(M u)/d(x_0, ..., x_{k-1}, p) as an n x (k n + 1) matrix, M = A_{k-1} ... A_0.

    ``jacobians`` are the A_j = DF(x_j) already evaluated; ``values`` the
    parameter values (context numbers) including the varied ``parameter``.
    """
    k, n = len(orbit), len(u)
    compiled = directional_function(map_).compile(ctx)
    # u_j = A_{j-1} ... A_0 u and the left products L_j = A_{k-1} ... A_{j+1}
    partial = [u]
    for A in jacobians[:-1]:
        partial.append(A @ partial[-1])
    lefts = [None] * k
    product = ctx.identity(n)
    for j in range(k - 1, -1, -1):
        lefts[j] = product
        product = product @ jacobians[j]
    columns = []
    d_parameter = None
    for j in range(k):
        bound = compiled.bind({**values, **direction_values("_b", partial[j])})
        _, second = bound.value_and_jacobian(orbit[j])
        columns.append(lefts[j] @ second)
        contribution = lefts[j] @ bound.parameter_derivative(orbit[j], parameter)
        d_parameter = contribution if d_parameter is None else d_parameter + contribution
    return np.concatenate(columns + [d_parameter.reshape(n, 1)], axis=1)


def taylor_iterate(ctx, map_, values, orbit, jacobians, q, order=3):
    """Taylor coefficients (c1, c2, c3) of F^k(x_0 + t q) - x_0 (c3 None for order 2)."""
    compiled = jet_function(map_).compile(ctx)
    n = len(q)
    zero = np.array([ctx.number(0)] * n, dtype=object) if ctx.kind != "float64" else np.zeros(n)
    y1, y2, y3 = q, zero, zero

    def jets(x, u):
        out = compiled.bind({**values, **direction_values("_u", u)}).value(x)
        return out[:n], out[n:2 * n], out[2 * n:]

    for x, A in zip(orbit, jacobians):
        _, d2_11, d3_111 = jets(x, y1)
        new1 = A @ y1
        new2 = A @ y2 + d2_11 / 2
        if order >= 3:
            _, d2_22, _ = jets(x, y2)
            _, d2_ss, _ = jets(x, y1 + y2)
            mixed = (d2_ss - d2_11 - d2_22) / 2
            new3 = A @ y3 + mixed + d3_111 / 6
        else:
            new3 = zero
        y1, y2, y3 = new1, new2, new3
    return y1, y2, (y3 if order >= 3 else None)
