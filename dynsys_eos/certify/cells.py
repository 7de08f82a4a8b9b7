"""The ball-evaluated pieces of a map that the proofs need, derived by sympy from the stated map.

* :func:`orbit_cell`: Phi = F(x), Phi_u = DF(x) (parameters fixed, possibly as balls);
* :func:`critical_cell`: u = (x, v), Phi = (F(x, p), DF(x, p) v) with the varied
  parameter p as the global unknown, for flips (M v = -v) and folds (M v = v);
* :class:`Jets`: DF, D^2F[a, a] and D^3F[a, a, a] along an orbit, for the
  normal-form coefficients.

All derivatives are taken by sympy from the map's expressions and evaluated by
:mod:`.ballexpr`; nothing here uses the compiled DAG of the solvers.
"""

import sympy

from .ballexpr import compile_vector

__all__ = ["MapPieces", "orbit_cell", "critical_cell", "Jets"]


class MapPieces:
    """A map's expressions F(x; p) and derivatives, compiled for one ball backend on demand."""

    def __init__(self, exprs, state, params, balls):
        self.F = sympy.Matrix(exprs)
        self.state, self.params = list(state), list(params)
        self.n = len(state)
        self.balls = balls
        self.names = [s.name for s in self.state] + [p.name for p in self.params]
        self._cache = {}

    def parameter_index(self, name):
        return [p.name for p in self.params].index(name)

    def compiled(self, key, build, extra=()):
        """Compile (once) the expressions ``build()`` in the inputs state + params + ``extra``."""
        if key not in self._cache:
            self._cache[key] = compile_vector(build(), self.names + [s.name for s in extra], self.balls)
        return self._cache[key]

    def value_and_jacobian(self):
        J = self.F.jacobian(self.state)
        return self.compiled("FJ", lambda: list(self.F) + list(J))


def orbit_cell(pieces, parameter_balls):
    """The cell of the period-k orbit system: (F(x), DF(x), []) at fixed parameter balls."""
    n = pieces.n
    evaluate = pieces.value_and_jacobian()

    def cell(u, g):
        out = evaluate(list(u) + list(parameter_balls))
        return out[:n], [out[n + i * n:n + (i + 1) * n] for i in range(n)], [[] for _ in range(n)]

    return cell


def critical_cell(pieces, parameter_balls, varied):
    """The cell of the flip/fold system: u = (x, v), g = (p,) with p the parameter ``varied``."""
    n = pieces.n
    v = [sympy.Symbol(f"_v{i}") for i in range(n)]
    p = pieces.params[pieces.parameter_index(varied)]

    def build():
        J = pieces.F.jacobian(pieces.state)
        Jv = J * sympy.Matrix(v)
        d_x = Jv.jacobian(pieces.state)
        return list(pieces.F) + list(Jv) + list(J) + list(d_x) + list(pieces.F.diff(p)) + list(Jv.diff(p))

    evaluate = pieces.compiled(("critical", varied), build, v)
    index = pieces.parameter_index(varied)
    zero = pieces.balls.zero()

    def cell(u, g):
        params = list(parameter_balls)
        params[index] = g[0]
        out = evaluate(list(u[:n]) + params + list(u[n:]))
        F, Jv = out[:n], out[n:2 * n]
        J = out[2 * n:2 * n + n * n]
        d_x = out[2 * n + n * n:2 * n + 2 * n * n]
        Fp, Jvp = out[2 * n + 2 * n * n:3 * n + 2 * n * n], out[3 * n + 2 * n * n:]
        rows = [list(J[i * n:(i + 1) * n]) + [zero] * n for i in range(n)]
        rows += [list(d_x[i * n:(i + 1) * n]) + list(J[i * n:(i + 1) * n]) for i in range(n)]
        return list(F) + list(Jv), rows, [[f] for f in list(Fp) + list(Jvp)]

    return cell


class Jets:
    """DF(x), D^2F(x)[a, a], D^3F(x)[a, a, a] in balls, for Taylor coefficients of F^k."""

    def __init__(self, pieces):
        n = pieces.n
        self.n, self.pieces = n, pieces
        a = [sympy.Symbol(f"_a{i}") for i in range(n)]
        t = sympy.Symbol("_t")

        def build():
            shifted = pieces.F.xreplace({x: x + t * ai for x, ai in zip(pieces.state, a)})
            second = [sympy.diff(e, t, 2).subs(t, 0) for e in shifted]
            third = [sympy.diff(e, t, 3).subs(t, 0) for e in shifted]
            return list(pieces.F.jacobian(pieces.state)) + second + third

        self.evaluate = pieces.compiled("jets", build, a)

    def at(self, x, params, direction):
        """(DF as rows, D^2F[a, a], D^3F[a, a, a]) at ball vectors x, params, a."""
        n = self.n
        out = self.evaluate(list(x) + list(params) + list(direction))
        J = [out[i * n:(i + 1) * n] for i in range(n)]
        return J, out[n * n:n * n + n], out[n * n + n:]
