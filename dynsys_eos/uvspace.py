"""The UV model in function space: GD on (U, v) closes on (Delta f, lambda).

For the ``uv`` model (Kalra, He, Barkeshli), f = v^T U x / sqrt(n), loss
1/2 (f - y)^2, GD with learning rate lr updates

    U' = U - lr Df v x^T / sqrt(n),     v' = v - lr Df U x / sqrt(n),     Df = f - y.

Only the vectors v and a = U x enter f and the NTK
lambda = |df/dtheta|^2 = (|v|^2 |x|^2 + |a|^2) / n (the sharpness at a
minimum), and the update acts on them linearly:
v' = v - c a, a' = a - c s v with c = lr Df / sqrt(n) and s = |x|^2.  So the
Gram entries p = |v|^2, q = |a|^2, r = a.v map to polynomials in (p, q, r),
and :func:`derive` shows with sympy that f' = r'/sqrt(n) and
lambda' = (s p' + q')/n depend on (p, q, r) only through f = r/sqrt(n) and
lambda, which gives the closed two-dimensional map

    Df'     = Df (1 - lr lambda) + (lr^2 s / n) Df^2 (Df + y)
    lambda' = lambda + (lr s / n) Df (lr Df lambda - 4 (Df + y)).

Its analysis (all exact, from sympy):

* fixed points: the line Df = 0 (the minima; multipliers 1 - lr lambda and 1,
  so a minimum loses stability at lambda = 2/lr), the origin of parameter
  space (Df = -y, lambda = 0) and a pair off the line;
* nullclines: Df' = Df on Df = 0 or lambda = (lr s/n) Df (Df + y);
  lambda' = lambda on Df = 0 or lambda = 4 (Df + y)/(lr Df);
* forbidden region: n lambda = s p + q >= 2 sqrt(s p q) >= 2 sqrt(s) |r|, so
  lambda >= 2 |x| |Df + y| / sqrt(n); no parameters reach below that line;
* critical learning rate: the flattest minimum has lambda = 2 |x| |y| / sqrt(n)
  (the forbidden line at Df = 0), stable iff lr < lr_c = sqrt(n)/(|x| |y|).

Examples
--------
>>> m = derive()
>>> m.df_next
df**2*lr**2*s*(df + y)/n + df*(-lam*lr + 1)
>>> m.lam_next
-df*lr*s*(-df*lam*lr + 4*df + 4*y)/n + lam
>>> critical_learning_rate(n=4, y=2, s=1)
1
>>> fm = function_space_map(n=4, y=2, s=1, lr="1.1")
>>> fm.state_names, fm.parameter_names
(('df', 'lam'), ('lr', 'y', 'n', 's'))
"""

from dataclasses import dataclass, field

import numpy as np
import sympy

from .errors import ModelError, ParameterError
from .values import sympy_number

__all__ = ["FunctionSpaceMap", "derive", "function_space_map", "from_model", "coordinates", "fixed_points",
           "nullclines", "forbidden_boundary", "critical_learning_rate", "check_against_model", "FixedPoint"]

#: The symbols of the closed map: state (df, lam), parameters (lr, y, n, s = |x|^2).
df, lam, lr, y, n, s = sympy.symbols("df lam lr y n s", real=True)
_SYMBOLS = {"df": df, "lam": lam, "lr": lr, "y": y, "n": n, "s": s}  # for functions whose arguments shadow them


@dataclass(frozen=True)
class FunctionSpaceMap:
    """The closed map (Delta f, lambda) -> (Delta f', lambda') and how it was obtained."""

    df_next: sympy.Expr
    lam_next: sympy.Expr
    symbols: tuple = (df, lam, lr, y, n, s)
    derivation: tuple = field(default=(), repr=False)  # (step, expression) pairs of the derivation

    def evaluate(self, df_values, lam_values, lr_value, y_value, n_value, s_value):
        """The map in float64, vectorized over arrays of (Delta f, lambda)."""
        function = sympy.lambdify(self.symbols, [self.df_next, self.lam_next], "numpy")
        out = function(np.asarray(df_values, dtype=float), np.asarray(lam_values, dtype=float),
                       float(lr_value), float(y_value), float(n_value), float(s_value))
        return np.asarray(out[0], dtype=float), np.asarray(out[1], dtype=float)


def derive():
    """Derive the function-space map from the parameter-space update (see the module docstring).

    Raises
    ------
    ModelError
        If the derived lambda' or f' still depended on the Gram entries
        beyond (f, lambda) (it does not: this is the closure being checked).
    """
    p, q, r = sympy.symbols("p q r", real=True)
    c = sympy.Symbol("c", real=True)
    # v' = v - c a, a' = a - c s v, as coefficient pairs on the basis (v, a)
    v_new, a_new = (1, -c), (-c * s, 1)
    gram = sympy.Matrix([[p, r], [r, q]])

    def inner(u, w):
        return sympy.expand((sympy.Matrix([u]) * gram * sympy.Matrix(w))[0, 0])

    p_new, q_new, r_new = inner(v_new, v_new), inner(a_new, a_new), inner(v_new, a_new)
    f_sym = r / sympy.sqrt(n)
    step = {c: lr * (f_sym - y) / sympy.sqrt(n)}
    f_next = (r_new / sympy.sqrt(n)).xreplace(step)
    lam_next = ((s * p_new + q_new) / n).xreplace(step)
    # express in (df, lam): r = sqrt(n) (df + y), q = n lam - s p; p must drop out
    back = {r: sympy.sqrt(n) * (df + y), q: n * lam - s * p}
    f_next = sympy.expand(f_next.xreplace(back))
    lam_next = sympy.expand(lam_next.xreplace(back))
    for name, expr in (("f'", f_next), ("lambda'", lam_next)):
        if expr.has(p):
            raise ModelError(f"the UV map does not close in (Delta f, lambda): {name} depends on |v|^2")
    df_next = sympy.factor_terms(sympy.collect(sympy.expand(f_next - y), [lam, lr**2]))
    df_next = df * (1 - lr * lam) + sympy.factor(sympy.expand(df_next - df * (1 - lr * lam)))
    lam_next = lam + sympy.factor(sympy.expand(lam_next - lam))
    if sympy.expand(df_next - (f_next - y)) != 0:  # pragma: no cover - algebra guard
        raise ModelError("internal: the rearranged Delta f' differs from the derived one")
    derivation = (("|v'|^2", p_new), ("|a'|^2", q_new), ("a'.v'", r_new), ("f'", f_next), ("lambda'", lam_next))
    return FunctionSpaceMap(df_next, lam_next, derivation=derivation)


_DERIVED = None


def _derived():
    global _DERIVED
    if _DERIVED is None:
        _DERIVED = derive()
    return _DERIVED


def _parameters(n_value, y_value, s_value, lr_value=None):
    values = {"n": sympy_number(n_value, "n"), "y": sympy_number(y_value, "y"), "s": sympy_number(s_value, "s")}
    if values["n"] <= 0 or values["s"] <= 0:
        raise ParameterError(f"n and s = |x|^2 must be positive, got n={n_value!r}, s={s_value!r}")
    if lr_value is not None:
        values["lr"] = sympy_number(lr_value, "lr")
        if values["lr"] <= 0:
            raise ParameterError(f"lr must be positive, got {lr_value!r}")
    return values


def function_space_map(n=4, y=2, s=1, lr="11/10"):
    """The closed map as a :class:`~dynsys_eos.maps.Map` (state df, lam; parameters lr, y, n, s).

    Every tool of the package applies to it: orbits, continuation in lr,
    cascades, trajectories, sweeps.
    """
    from .maps import raw_map

    values = _parameters(n, y, s, lr)
    m = _derived()
    S = _SYMBOLS
    return raw_map([m.df_next, m.lam_next], [S["df"], S["lam"]], [S["lr"], S["y"], S["n"], S["s"]], values,
                   name="uv function space")


def from_model(map_):
    """The function-space map with the parameters of a built ``uv`` model (n, y, lr, |x|^2)."""
    model = getattr(map_, "model", None)
    if model is None or model.spec.name != "uv" or map_.rule != "gd":
        raise ModelError(f"{map_.name}: the function-space map is derived for the uv model under GD")
    values = map_.parameter_values()
    d = model.structure["d"]
    norm2 = sum(sympy_number(values[f"x{j + 1}"]) ** 2 for j in range(d))
    return function_space_map(model.structure["n"], values["y"], norm2, values["lr"])


def coordinates(map_, states):
    """(Delta f, lambda) of parameter states of a ``uv`` map (T x state array, float64)."""
    model = getattr(map_, "model", None)
    if model is None or model.spec.name != "uv":
        raise ModelError(f"{map_.name}: coordinates (Delta f, lambda) are defined for the uv model")
    width, d = model.structure["n"], model.structure["d"]
    values = map_.parameter_values()
    x = np.array([float(values[f"x{j + 1}"]) for j in range(d)])
    states = np.atleast_2d(np.asarray(states, dtype=float))
    U = states[:, : width * d].reshape(-1, width, d)
    v = states[:, width * d: width * d + width]
    a = U @ x
    f = np.einsum("ti,ti->t", v, a) / np.sqrt(width)
    ntk = (np.einsum("ti,ti->t", v, v) * (x @ x) + np.einsum("ti,ti->t", a, a)) / width
    return f - float(values["y"]), ntk


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point (or a line of them) of the function-space map, exact, with its multipliers."""

    df: sympy.Expr
    lam: sympy.Expr  # a symbol (lam) for the line of minima
    multipliers: tuple
    kind: str  # "minima line", "origin", "off-line"
    feasible: bool  # outside the forbidden region (reachable by some parameters)


def fixed_points(lr_value, y_value, n_value=4, s_value=1):
    """All fixed points of the closed map at given parameters, solved exactly by sympy.

    >>> [(p.kind, p.df, p.lam) for p in fixed_points(1, 2, 4, 1)][:2]
    [('minima line', 0, lam), ('origin', -2, 0)]
    """
    values = _parameters(n_value, y_value, s_value, lr_value)
    m = _derived()
    subs = {lr: values["lr"], y: values["y"], n: values["n"], s: values["s"]}
    F = sympy.Matrix([m.df_next.xreplace(subs) - df, m.lam_next.xreplace(subs) - lam])
    J = sympy.Matrix([m.df_next, m.lam_next]).xreplace(subs).jacobian([df, lam])
    points = []
    for solution in sympy.solve(list(F), [df, lam], dict=True):
        point_df = sympy.simplify(solution.get(df, df))
        point_lam = sympy.simplify(solution.get(lam, lam))
        at = J.xreplace({df: point_df, lam: point_lam})
        multipliers = tuple(sympy.simplify(e) for e in at.eigenvals(multiple=True))
        if point_df == 0 and point_lam != lam:
            continue  # a point of the line of minima, listed with the line
        if point_df == 0:
            kind = "minima line"
        elif point_lam == 0:
            kind = "origin"
        else:
            kind = "off-line"
        boundary = forbidden_boundary(point_df, values["y"], values["n"], values["s"])
        feasible = True if kind == "minima line" else bool(sympy.simplify(point_lam - boundary) >= 0)
        points.append(FixedPoint(point_df, point_lam, multipliers, kind, feasible))
    order = {"minima line": 0, "origin": 1, "off-line": 2}
    return sorted(points, key=lambda p: (order[p.kind], float(p.df) if p.df.is_number else 0))


def nullclines(lr_value=None, y_value=None, n_value=None, s_value=None):
    """The nullclines as lambda = g(Delta f) besides the line Delta f = 0: (Delta f' = Delta f, lambda' = lambda).

    >>> nullclines()
    (df*lr*s*(df + y)/n, 4*(df + y)/(df*lr))
    """
    m = _derived()
    first = [e for e in sympy.solve(sympy.cancel((m.df_next - df) / df), lam)]
    second = [e for e in sympy.solve(sympy.cancel((m.lam_next - lam) / df), lam)]
    if len(first) != 1 or len(second) != 1:  # pragma: no cover - algebra guard
        raise ModelError("internal: nullclines are not single-valued in lambda")
    subs = {k: sympy_number(v) for k, v in ((lr, lr_value), (y, y_value), (n, n_value), (s, s_value)) if v is not None}
    return sympy.factor(first[0]).xreplace(subs), sympy.factor(second[0]).xreplace(subs)


def forbidden_boundary(df_value, y_value, n_value, s_value):
    """The smallest NTK any parameters with this Delta f have: 2 |x| |Delta f + y| / sqrt(n).

    Below it (lambda < boundary) is the forbidden region.
    """
    return 2 * sympy.sqrt(sympy_number(s_value)) * abs(sympy_number(df_value) + sympy_number(y_value)) \
        / sympy.sqrt(sympy_number(n_value))


def critical_learning_rate(n=4, y=2, s=1):
    """lr_c = sqrt(n)/(|x| |y|): the flattest minimum (lambda = 2|x||y|/sqrt(n)) is stable iff lr < lr_c.

    Derived, not quoted: the smallest lambda on the line of minima is the
    forbidden boundary at Delta f = 0, and a minimum's multiplier 1 - lr lambda
    reaches -1 at lambda = 2/lr.
    """
    values = _parameters(n, y, s)
    lam_min = forbidden_boundary(0, values["y"], values["n"], values["s"])
    if lam_min == 0:
        raise ParameterError("y = 0: the minimum f = 0 includes U = v = 0 with lambda = 0; no critical lr")
    m = _derived()
    on_line = sympy.Matrix([m.df_next, m.lam_next]).jacobian([df, lam]).xreplace({df: 0})
    moving = [mu for mu in on_line.eigenvals(multiple=True) if mu != 1]  # the other multiplier is exactly 1
    at = {lam: lam_min, _SYMBOLS["y"]: values["y"], _SYMBOLS["n"]: values["n"], _SYMBOLS["s"]: values["s"]}
    flips = [r for mu in moving for r in sympy.solve(sympy.Eq(mu.xreplace(at), -1), lr) if r > 0]
    return sympy.simplify(flips[0])


def check_against_model(width=2, d=2):
    """Check the closed map symbolically against the ``uv`` model's own GD map (exact, polynomial identity).

    Builds the model with symbolic inputs, applies its parameter-space map F
    (from :mod:`dynsys_eos.maps`), and checks f(F(theta)) and lambda(F(theta))
    against the closed map at (f(theta) - y, lambda(theta)).  Returns True.

    >>> check_against_model(2, 1)
    True
    """
    from .models import build_model

    model = build_model("uv", n=width, d=d)
    names = model.state_names
    theta = {name: sympy.Symbol(name, real=True) for name in names}
    par = {name: sympy.Symbol(name, real=True) for name in model.parameter_names}
    exprs = model.sympy()
    by_name = {str(sym): sym for e in exprs for sym in e.free_symbols}
    rename = {by_name[k]: v for k, v in {**theta, **par}.items() if k in by_name}
    F = [e.xreplace(rename) for e in exprs]
    U = sympy.Matrix(width, d, [theta[f"U{i + 1}_{j + 1}"] for i in range(width) for j in range(d)])
    v = sympy.Matrix([theta[f"v{i + 1}"] for i in range(width)])
    x = sympy.Matrix([par[f"x{j + 1}"] for j in range(d)])

    def f_and_ntk(Um, vm):
        a = Um * x
        f = (vm.T * a)[0, 0] / sympy.sqrt(width)
        ntk = ((vm.T * vm)[0, 0] * (x.T * x)[0, 0] + (a.T * a)[0, 0]) / width
        return f, ntk

    f0, ntk0 = f_and_ntk(U, v)
    step = dict(zip([theta[k] for k in names], F))
    f1, ntk1 = f_and_ntk(U.xreplace(step), v.xreplace(step))
    m = _derived()
    closed = {df: f0 - par["y"], lam: ntk0, lr: par["lr"], y: par["y"], n: width, s: (x.T * x)[0, 0]}
    ok_f = sympy.expand(f1 - par["y"] - m.df_next.xreplace(closed)) == 0
    ok_lam = sympy.expand(ntk1 - m.lam_next.xreplace(closed)) == 0
    if not (ok_f and ok_lam):
        raise ModelError(f"the closed map disagrees with the uv model's GD map (f: {ok_f}, lambda: {ok_lam})")
    return True
