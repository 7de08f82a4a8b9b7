"""Certified critical learning rates lr* = 2 / lambda_max(H) of GD at an exact minimum.

Two routes, both checked from the stated problem alone:

* ``"sturm"`` (the Hessian at the minimum is rational): lambda_max is the
  root in an isolating interval [a, b] of an irreducible factor P of the
  characteristic polynomial chi; proved by exact arithmetic: P divides chi,
  P is irreducible over Q, chi has exactly one root in [a, b] and none above b
  (Sturm sequences).  Then lr* = 2/lambda_max is an algebraic number with
  minimal polynomial P(2/t) t^deg P, enclosed by [2/b, 2/a].
* ``"gershgorin"`` (irrational algebraic entries): the Hessian in ball
  arithmetic at the exact minimum, its eigenvalues enclosed by Gershgorin
  discs after an approximate orthogonal diagonalisation; the top disc must
  be separated from the others.  lr* is then enclosed, not given exactly.

In both the minimum is checked exactly: every gradient component is 0
(sympy, with minimal polynomials for algebraic numbers).
"""

import sympy

from ..errors import CertificationError
from .balls import _rational, get_balls
from .problem import exact_text, map_from_problem, parse_exact

__all__ = ["threshold_claim", "verify_threshold"]

_LAMBDA = sympy.Symbol("lambda_")


def _exact_hessian(problem, minimum_text):
    map_ = map_from_problem(problem)
    if map_.loss is None or (map_.rule or "gd") != "gd":
        raise CertificationError("threshold certificates are for GD on a loss (rule gd)")
    loss = map_.loss
    values = {sympy.Symbol(k): v for k, v in map_.parameter_values().items() if k in {p.name for p in loss.parameters}}
    if not isinstance(minimum_text, list) or len(minimum_text) != len(loss.state):
        raise CertificationError(f"claim.minimum must list {len(loss.state)} exact numbers")
    point = [parse_exact(t, "minimum") for t in minimum_text]
    expr = loss.expr.xreplace({p: values.get(sympy.Symbol(p.name), p) for p in loss.parameters})
    expr = expr.xreplace({sympy.Symbol(p.name): v for p, v in values.items()})
    at = dict(zip(loss.state, point))
    for x in loss.state:
        g = sympy.expand(sympy.diff(expr, x).xreplace(at))
        if g != 0 and sympy.minimal_polynomial(g, sympy.Symbol("_z")) != sympy.Symbol("_z"):
            raise CertificationError(f"the stated minimum is not a critical point: dL/d{x} = {g} there")
    H = sympy.hessian(expr, loss.state).xreplace(at).applyfunc(sympy.expand)
    return H, map_


def threshold_claim(problem, minimum, digits):
    """Claim and outcome for the threshold at an exact ``minimum`` (list of sympy numbers)."""
    minimum_text = [exact_text(v) for v in minimum]
    H, _ = _exact_hessian(problem, minimum_text)
    if all(e.is_Rational for e in H):
        chi = sympy.Poly(H.charpoly(_LAMBDA).as_expr(), _LAMBDA)
        eps = sympy.Rational(1, 10 ** (digits + 3))
        best = None
        for factor, _ in chi.factor_list()[1]:
            factor = sympy.Poly(factor, _LAMBDA)
            for (a, b), _ in factor.intervals(eps=eps):
                if best is None or b > best[2]:
                    best = (factor, a, b)
        factor, a, b = best
        if a == b:  # a rational eigenvalue: widen the point to an interval (the checker counts roots in it)
            a, b = a - eps, b + eps
        claim = {"kind": "threshold", "parameter": "lr", "minimum": minimum_text,
                 "polynomial": sympy.sstr(factor.as_expr()), "interval": [exact_text(a), exact_text(b)]}
        return claim, "sturm"
    claim = {"kind": "threshold", "parameter": "lr", "minimum": minimum_text, "polynomial": None, "interval": None}
    return claim, "gershgorin"


def verify_threshold(problem, claim, results, precision_bits=200, backend="auto"):
    """(outcome, reason, results) for a threshold claim, re-derived from the problem."""
    H, map_ = _exact_hessian(problem, claim.get("minimum"))
    stated = results.get("threshold") if isinstance(results, dict) else None
    if claim.get("polynomial") is None:
        return _verify_by_discs(H, stated, get_balls(backend, prec=precision_bits))
    from ..parse import parse_expression

    P = sympy.Poly(parse_expression(claim["polynomial"], {"lambda_": _LAMBDA}), _LAMBDA)
    interval = claim.get("interval")
    if not (isinstance(interval, list) and len(interval) == 2):
        raise CertificationError("claim.interval must be [a, b] exact rationals")
    a, b = (_rational(t) for t in interval)
    if not 0 < a < b:
        return "not-proved", f"the interval [{a}, {b}] must be positive and non-empty", {}
    if not all(e.is_Rational for e in H):
        return "not-proved", "the Hessian at the minimum is not rational: the Sturm route does not apply", {}
    chi = sympy.Poly(H.charpoly(_LAMBDA).as_expr(), _LAMBDA)
    if not P.is_irreducible or P.degree() < 1:
        return "not-proved", "the stated polynomial is not irreducible over Q", {}
    if chi.rem(P) != 0:
        return "not-proved", "the stated polynomial does not divide the characteristic polynomial", {}
    if P.count_roots(a, b) != 1 or chi.count_roots(a, b) != 1:
        return "not-proved", "the interval does not isolate one eigenvalue", {}
    if chi.count_roots(b, None) != 0 or P.eval(b) == 0:
        return "not-proved", "an eigenvalue lies above the interval: it is not lambda_max", {}
    low, high = 2 / b, 2 / a
    if stated is not None:
        s_mid, s_rad = (_rational(t) for t in stated)
        if not (s_mid - s_rad <= low and high <= s_mid + s_rad):
            return "not-proved", "the stated threshold enclosure does not contain [2/b, 2/a]", {}
    return "proved", (f"lambda_max is the root of {claim['polynomial']} in the stated isolating interval "
                      f"(exact Sturm counts), so lr* = 2/lambda_max is exact and enclosed by [2/b, 2/a]"), \
        {"low": low, "high": high}


def _verify_by_discs(H, stated, balls):
    from .ballexpr import compile_expression
    from .spectrum import multiplier_discs

    with balls.scope():
        import numpy as np

        Hb = np.array([[compile_expression(e, [], balls)([]) for e in row] for row in H.tolist()], dtype=object)
        discs = multiplier_discs(balls, Hb, symmetric=True)
        order = sorted(range(len(Hb)), key=lambda i: -float(balls.mid_mpf(discs.centers[i])))
        top = order[0]
        if any(top in g and len(g) > 1 for g in discs.groups):
            return "not-proved", "the largest eigenvalue is not separated from the others", {}
        low_ball = discs.centers[top] - discs.radii[top]
        if not balls.less(balls.zero(), low_ball):
            return "not-proved", "lambda_max is not proved positive", {}
        threshold = 2 / balls.hull(low_ball, discs.centers[top] + discs.radii[top])
        if stated is not None and not balls.within(threshold, *stated):
            return "not-proved", "the stated threshold enclosure does not contain the proved one", {}
    return "proved", "lambda_max enclosed by an isolated Gershgorin disc of the exact Hessian", {"ball": threshold}
