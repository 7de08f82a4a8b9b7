"""Flips of long-period orbits located in O(P n^3) work: condensed Newton on the minimally augmented system.

The unknowns are the P orbit points and the parameter; the equations are the
multiple-shooting residuals r_j = F(x_j) - x_{j+1} and the flip test function
g (from the bordered system on M + I, see :mod:`.locate`).  Writing each
correction as delta_j = R_j delta_0 + s_j delta_p + c_j (R_j the partial
monodromy) eliminates the block-cyclic structure along the orbit, so a Newton
step solves one (n + 1) x (n + 1) system (plus slack/section rows on a
manifold of orbits) and never forms a dense (P n) x (P n) matrix.  The map
and its derivatives are evaluated for all P points at once: the generated
code runs on numpy arrays of context numbers (float64, or mpmath objects).

Examples
--------
The period-2 flip of the logistic map (r = 1 + sqrt(6)) from a rough guess:

>>> import mpmath
>>> from dynsys_eos.models import build_model
>>> m = build_model("logistic")
>>> flip = locate_flip(m, "r", {}, [[0.44], [0.85]], 3.45, dps=40)
>>> flip.status, flip.digits >= 40
('located', True)
>>> with mpmath.workdps(50):
...     abs(flip.value - (1 + mpmath.sqrt(6))) < mpmath.mpf(10) ** -45
True
"""

import math

import mpmath
import numpy as np

from ..arith import Float64, bits_to_dps, dps_to_bits, fast_mp
from ..errors import ConvergenceError, EvaluationError, ParameterError
from ..functions import FULL_JACOBIAN_MAX
from ..linalg import bordered_solve, null_vector, solve
from ..precision import measure, refine, revealed_bits
from .derivatives import direction_values, directional_function
from .point import BifurcationPoint

__all__ = ["locate_flip", "orbit_arrays", "polish_orbit"]


def _batch(ctx, function, key, X, values):
    """Outputs of a compiled program for all P points at once: an array (outputs, P)."""
    program = function.program(key).bind(ctx)
    params = [values[name] for name in function.parameters]
    P = X.shape[0]
    if ctx.kind == "float64":
        with np.errstate(all="ignore"):
            out = program([X[:, i] for i in range(X.shape[1])], params)
        result = np.array([np.broadcast_to(np.asarray(o, dtype=float), (P,)) for o in out])
        if not np.all(np.isfinite(result)):
            raise EvaluationError("the map is not finite along the orbit (NaN, overflow or domain)")
        return result
    try:
        out = program([X[:, i] for i in range(X.shape[1])], params)
    except (ZeroDivisionError, OverflowError, ValueError) as exc:
        raise EvaluationError(f"the map cannot be evaluated along the orbit ({exc})") from None
    result = np.empty((len(out), P), dtype=object)
    for i, o in enumerate(out):
        result[i, :] = o
    if not all(ctx.is_finite_value(v) for v in result[:, :: max(1, P // 64)].ravel()):  # a sample: cheap
        raise EvaluationError("the map is not finite or not real along the orbit")
    return result


def orbit_arrays(ctx, map_, parameter, values, X):
    """F (P, n), DF (P, n, n) and dF/dp (P, n) at the P rows of X, computed together."""
    P, n = X.shape
    full = _batch(ctx, map_.function, "full", X, values)
    F = full[:n].T
    A = full[n:].T.reshape(P, n, n)
    Fp = _batch(ctx, map_.function, ("dp", parameter), X, values).T
    return F, A, Fp


def _second(ctx, map_, parameter, values, X, phis):
    """d(DF(x_j) phi_j)/dx (P, n, n) and d(DF(x_j) phi_j)/dp (P, n) for all j."""
    P, n = X.shape
    function = directional_function(map_)
    vals = dict(values)
    vals.update(direction_values("_b", [phis[:, i] for i in range(n)]))
    full = _batch(ctx, function, "full", X, vals)
    jac = full[n:].T.reshape(P, n, n)
    dp = _batch(ctx, function, ("dp", parameter), X, vals).T
    return jac, dp


def _step(ctx, data, z):
    """One condensed Newton step on (orbit, parameter) for the flip; returns (z_new, correction, scale)."""
    map_, parameter, n, aux = data["map"], data["parameter"], data["n"], data["aux"]
    X = ctx.convert_array(z[0])
    p = ctx.number(z[1]) if not isinstance(z[1], np.ndarray) else z[1]
    P = X.shape[0]
    values = {name: ctx.number(v) for name, v in data["fixed"].items()}
    values[parameter] = p
    F, A, Fp = orbit_arrays(ctx, map_, parameter, values, X)
    if n == 1 and aux.get("section") is None:
        return _step_scalar(ctx, data, X, p, values, F[:, 0], A[:, 0, 0], Fp[:, 0])
    r = F - np.roll(X, -1, axis=0)  # r_j = F(x_j) - x_{j+1}
    eye = ctx.identity(n)
    # partial monodromies R_j = A_{j-1} ... A_0 and the particular solutions s_j, c_j
    R = np.empty((P + 1, n, n), dtype=A.dtype)
    s = ctx.zeros((P + 1, n))
    c = ctx.zeros((P + 1, n))
    R[0] = eye
    for j in range(P):
        R[j + 1] = A[j] @ R[j]
        s[j + 1] = A[j] @ s[j] + Fp[j]
        c[j + 1] = A[j] @ c[j] + r[j]
    M = R[P]
    # the test function g and its gradient (exact second derivatives)
    B = M + eye
    phi, g = null_vector(ctx, B, ctx.convert_array(aux["v"]), ctx.convert_array(aux["w"]))
    psi, _ = null_vector(ctx, B.T, ctx.convert_array(aux["w"]), ctx.convert_array(aux["v"]))
    phis = np.array([R[j] @ phi for j in range(P)])
    psis = np.empty((P, n), dtype=phis.dtype)
    psis[P - 1] = psi
    for j in range(P - 2, -1, -1):
        psis[j] = A[j + 1].T @ psis[j + 1]
    jac_b, dp_b = _second(ctx, map_, parameter, values, X, phis)
    gx = -np.array([jac_b[j].T @ psis[j] for j in range(P)])  # (P, n)
    gp = -sum(psis[j] @ dp_b[j] for j in range(P))
    # condensed system in (delta_0, delta_p) [+ slack, section on a manifold]
    a = sum(gx[j] @ R[j] for j in range(P))
    b = sum(gx[j] @ s[j] for j in range(P)) + gp
    e = -g - sum(gx[j] @ c[j] for j in range(P))
    system = ctx.zeros((n + 1, n + 1))
    system[:n, :n] = eye - M
    system[:n, n] = -s[P]
    system[n, :n] = a
    system[n, n] = b
    rhs = np.concatenate([c[P], np.array([e], dtype=c.dtype)])
    if aux.get("section") is not None:
        m = aux["section"].shape[1]
        pad = lambda v: np.concatenate([np.asarray(v), np.zeros(1)])  # noqa: E731 - the p column has no section
        right = np.array([pad(col) for col in aux["section"].T]).T
        left = np.array([pad(col) for col in aux["slack"].T]).T
        solution, _ = bordered_solve(ctx, system, rhs, right, left)
        del m
    else:
        solution = solve(ctx, system, rhs)
    d0, dp = solution[:n], solution[n]
    deltas = np.array([R[j] @ d0 + s[j] * dp + c[j] for j in range(P)])
    X_new, p_new = X + deltas, p + dp
    correction = max(max(abs(v) for v in deltas.ravel()), abs(dp))
    scale = max(1, max(abs(v) for v in X_new.ravel()), abs(p_new))
    return (X_new, p_new), correction, scale


def _step_scalar(ctx, data, X, p, values, F, A, Fp):
    """The same step for a one-dimensional map, with scalar recurrences (no per-point small matrices)."""
    P = len(F)
    x = list(X[:, 0])
    F, A, Fp = list(F), list(A), list(Fp)
    r = [F[j] - x[(j + 1) % P] for j in range(P)]
    one, zero = ctx.number(1), ctx.number(0)
    R, s, c = [one] * (P + 1), [zero] * (P + 1), [zero] * (P + 1)
    for j in range(P):
        a = A[j]
        R[j + 1] = a * R[j]
        s[j + 1] = a * s[j] + Fp[j]
        c[j + 1] = a * c[j] + r[j]
    M = R[P]
    # for n = 1 the bordered vectors are +-1: phi = 1/w... take phi = 1, psi = 1 (g = M + 1 up to a factor)
    g = M + 1
    phis = np.array(R[:P], dtype=object if ctx.kind != "float64" else float).reshape(P, 1)
    psis = [zero] * P
    psis[P - 1] = one
    for j in range(P - 2, -1, -1):
        psis[j] = A[j + 1] * psis[j + 1]
    jac_b, dp_b = _second(ctx, data["map"], data["parameter"], values, X, phis)
    # g = M + 1 with M = prod A_j: dg/dx_j = psi_j * d(A_j phi_j)/dx_j, dg/dp = sum psi_j d(A_j phi_j)/dp
    gx = [psis[j] * jac_b[j, 0, 0] for j in range(P)]
    gp = sum(psis[j] * dp_b[j, 0] for j in range(P))
    a_ = sum(gx[j] * R[j] for j in range(P))
    b_ = sum(gx[j] * s[j] for j in range(P)) + gp
    e_ = -g - sum(gx[j] * c[j] for j in range(P))
    # [[1 - M, -s_P], [a, b]] [d0; dp] = [c_P; e]
    det = (one - M) * b_ + s[P] * a_
    if det == 0:
        raise ConvergenceError("singular condensed system (the orbit is degenerate at this point)")
    d0 = (c[P] * b_ + s[P] * e_) / det
    dp = ((one - M) * e_ - a_ * c[P]) / det
    deltas = [R[j] * d0 + s[j] * dp + c[j] for j in range(P)]
    X_new = np.array([x[j] + deltas[j] for j in range(P)], dtype=X.dtype).reshape(P, 1)
    p_new = p + dp
    correction = max(max(abs(d) for d in deltas), abs(dp))
    scale = max(1, max(abs(v) for v in X_new[:, 0]), abs(p_new))
    return (X_new, p_new), correction, scale


def _merit(ctx, data, z):
    """max |F(x_j) - x_{j+1}| + |mu + 1| for the multiplier nearest -1 (float64): how far from a flip."""
    X, p = z
    values = {name: ctx.number(v) for name, v in data["fixed"].items()}
    values[data["parameter"]] = float(p)
    try:
        F, A, _ = orbit_arrays(ctx, data["map"], data["parameter"], values, np.asarray(X, dtype=float))
    except EvaluationError:
        return math.inf
    M = np.eye(data["n"])
    for Aj in A:
        M = Aj @ M
    with np.errstate(all="ignore"):
        residual = float(np.max(np.abs(F - np.roll(X, -1, axis=0))))
        flip = float(np.min(np.abs(np.linalg.eigvals(M) + 1))) if np.all(np.isfinite(M)) else math.inf
    total = residual + flip
    return total if math.isfinite(total) else math.inf


def _damped_step(ctx, data, z, merit):
    """A float64 Newton step, halved while it does not decrease the merit (up to 12 times)."""
    new, correction, scale = _step(ctx, data, z)
    for _ in range(12):
        trial = _merit(ctx, data, new)
        if trial < merit or merit < 1e-12:
            return new, correction, scale, trial
        new = ((z[0] + new[0]) / 2, (z[1] + new[1]) / 2)
        correction /= 2
    return new, correction, scale, _merit(ctx, data, new)


def polish_orbit(map_, parameter, fixed, orbit, value, iterations=20):
    """Float64 Newton for the period-P orbit at a fixed parameter value (condensed, minimum-norm steps).

    Returns the polished orbit (P, n) and its residual (max norm).
    """
    ctx = Float64()
    X = np.array(orbit, dtype=float)
    P, n = X.shape
    values = {name: ctx.number(v) for name, v in fixed.items()}
    values[parameter] = float(value)
    residual = math.inf
    for _ in range(iterations):
        F, A, _ = orbit_arrays(ctx, map_, parameter, values, X)
        r = F - np.roll(X, -1, axis=0)
        residual = float(np.max(np.abs(r)))
        if residual <= 1e-14 * max(1.0, float(np.max(np.abs(X)))):
            break
        R, c = [np.eye(n)], [np.zeros(n)]
        for j in range(P):
            R.append(A[j] @ R[-1])
            c.append(A[j] @ c[-1] + r[j])
        d0 = np.linalg.lstsq(np.eye(n) - R[P], c[P], rcond=1e-10)[0]
        X = X + np.array([R[j] @ d0 + c[j] for j in range(P)])
    return X, residual


def _auxiliary(map_, parameter, fixed, X, p, manifold_tolerance=1e-9):
    """Bordering vectors v, w of M + I, and slack/section bases when the orbit is on a manifold (float64)."""
    ctx = Float64()
    values = {name: ctx.number(v) for name, v in fixed.items()}
    values[parameter] = float(p)
    _, A, _ = orbit_arrays(ctx, map_, parameter, values, np.asarray(X, dtype=float))
    n = X.shape[1]
    M = np.eye(n)
    for Aj in A:
        M = Aj @ M
    # border with the right and left eigenvectors of the multiplier nearest -1: they become the null vectors
    # at the flip, so g ~ -(mu + 1) stays smooth on the way there (singular vectors of M + I far from the
    # flip would give g a pole in between)
    values_r, vectors_r = np.linalg.eig(M)
    values_l, vectors_l = np.linalg.eig(M.T)
    i = int(np.argmin(np.abs(values_r + 1)))
    j = int(np.argmin(np.abs(values_l - values_r[i])))
    v, w = np.real(vectors_r[:, i]), np.real(vectors_l[:, j])
    aux = {"v": v / np.linalg.norm(v), "w": w / np.linalg.norm(w), "section": None, "slack": None}
    uu, sv, vvt = np.linalg.svd(np.eye(n) - M)
    m = int(np.sum(sv <= manifold_tolerance * max(1.0, sv[0])))
    if m:
        aux["section"], aux["slack"] = vvt[n - m:].T, uu[:, n - m:]
    return aux


def locate_flip(map_, parameter, fixed, orbit, value, dps=50, max_float_iterations=60, max_precision_steps=40):
    """Locate the flip of the period-P orbit near (``orbit``, ``value``) to ``dps`` digits.

    Parameters
    ----------
    map_ : Map
    parameter : str
        The parameter varied.
    fixed : dict
        Values of the other parameters (exact).
    orbit : array-like, shape (P, n)
        A guess of the orbit points (float64 is enough).
    value : float
        A guess of the parameter.

    Returns
    -------
    BifurcationPoint
        ``status`` ``"located"`` with digits measured at two precisions, or
        ``"not-located"`` with the reason.
    """
    X = np.atleast_2d(np.asarray(orbit, dtype=float))
    P, n = X.shape
    if n != map_.dimension:
        raise ParameterError(f"orbit points have {n} coordinates; the map has {map_.dimension}")
    if n > FULL_JACOBIAN_MAX:
        raise ParameterError(f"long-period location needs a state of at most {FULL_JACOBIAN_MAX} variables, got {n}")
    common = dict(kind="flip", parameter=parameter, bracket=(float(value), float(value)), period=P, map=map_,
                  parameters=dict(fixed))
    try:
        aux = _auxiliary(map_, parameter, fixed, X, value)
        data = {"map": map_, "parameter": parameter, "n": n, "fixed": fixed, "aux": aux}
        z, ctx = (X, float(value)), Float64()
        correction, scale = math.inf, 1.0
        previous = math.inf
        merit = _merit(ctx, data, z)
        for _ in range(max_float_iterations):
            z, correction, scale, merit = _damped_step(ctx, data, z, merit)
            if merit > 1e-4:  # far from the flip: re-border at the new point (near it, keep g fixed: quadratic)
                data["aux"] = aux = _auxiliary(map_, parameter, fixed, z[0], z[1])
            # converged, or stagnating at the level float64 can reach on this (long) orbit
            if correction <= 1e-13 * scale or (correction <= 1e-8 * scale and correction > previous / 4):
                break
            previous = correction
        if not correction <= 1e-7 * scale:
            raise ConvergenceError(f"float64 Newton did not converge (last correction {correction:.3g})")
        seed = revealed_bits(correction, scale) if correction > 0 else 50
        target = dps_to_bits(dps + max(10, dps // 10))
        refined, _ = refine(lambda c, x: _step(c, data, x), z, min(seed - 4, 44), target, max_precision_steps,
                            context=fast_mp)
        if refined is None:
            raise ConvergenceError(f"Newton did not reach {bits_to_dps(target)} digits")
        final, digits, check = measure(lambda c, x: _step(c, data, x), refined, target, context=fast_mp)
    except (ConvergenceError, EvaluationError, np.linalg.LinAlgError) as exc:
        return BifurcationPoint(status="not-located", digits=0, message=str(exc), **common)
    with mpmath.workprec(check):
        X_final, value_final = final
        orbit_points = tuple(tuple(mpmath.mpf(v) for v in x) for x in X_final)
        value_final = mpmath.mpf(value_final)
    return BifurcationPoint(status="located", digits=digits, value=value_final, orbit=orbit_points,
                            precision_bits=check, message=f"flip of the period-{P} orbit located to {digits} digits",
                            **common)
