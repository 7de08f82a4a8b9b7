"""Locating flip, fold and Neimark-Sacker points at any precision.

Flip and fold: Newton on the minimally augmented system (Govaerts,
Kuznetsov): unknowns z = (x_0, ..., x_{k-1}, p), equations G(z) = 0 and
g(z) = 0, where g is the last component of the solution of the bordered
system

    [ M - s I   w ] [ phi ]   [ 0 ]
    [   v^T     0 ] [  g  ] = [ 1 ],     s = -1 (flip) or +1 (fold),

and its gradient is g_z = -psi^T d(M phi)/dz with psi from the transposed
system: exact, from second derivatives of the map, so Newton stays
quadratic at 50, 200 or 1000 digits.  Neimark-Sacker: Newton on the
standard augmented system M (u + i v) = e^{i theta} (u + i v) with a
normalization, unknowns (z, u, v, theta).

On a manifold of orbits (GD on an over-parameterized loss) G's Jacobian is
singular along the manifold; slack variables (G + L mu = 0, L spanning the
left null space) and a section condition N^T (x - x_start) = 0 make the
system square and regular again.

Each point is solved in float64, refined with doubling precision, and its
digits are measured by one more step at a higher precision.
"""

import mpmath
import numpy as np

from ..arith import MP, Float64, bits_to_dps, dps_to_bits
from ..errors import ConvergenceError, EvaluationError, ParameterError
from ..linalg import matmul_chain, null_vector, solve
from ..precision import measure, refine, revealed_bits
from .derivatives import monodromy_action_derivative
from .normalform import flip_coefficient, fold_coefficient
from .point import BifurcationPoint

__all__ = ["locate", "locate_all"]

_SHIFT = {"flip": -1, "fold": 1, "branch": 1}


class _Data:
    """Everything about the branch a locating step needs."""

    def __init__(self, branch, detection):
        problem = branch.problem
        self.branch, self.detection = branch, detection
        self.map, self.k, self.n = problem.map, problem.period, problem.map.dimension
        self.parameter = problem.parameter
        self.fixed = dict(problem.parameters)
        self.kind = detection.kind

    def values(self, ctx, p):
        return {**{name: ctx.number(v) for name, v in self.fixed.items()}, self.parameter: p}


def _orbit_system(ctx, data, X, p):
    """G, dG/d(X, p) (dense), the DF(x_j), parameter values."""
    k, n = data.k, data.n
    values = data.values(ctx, p)
    bound = data.map.function.compile(ctx).bind(values)
    G = ctx.zeros(k * n)
    J = ctx.zeros((k * n, k * n + 1))
    eye = ctx.identity(n)
    jacobians = []
    for i in range(k):
        F, A = bound.value_and_jacobian(X[i])
        nxt = (i + 1) % k
        G[i * n:(i + 1) * n] = F - X[nxt]
        J[i * n:(i + 1) * n, i * n:(i + 1) * n] += A
        J[i * n:(i + 1) * n, nxt * n:(nxt + 1) * n] -= eye
        J[i * n:(i + 1) * n, -1] = bound.parameter_derivative(X[i], data.parameter)
        jacobians.append(A)
    return G, J, jacobians, values


def _step(ctx, data, z, aux):
    """One Newton step on the augmented system; returns (z_new, correction, scale)."""
    z = ctx.convert_array(z)
    k, n = data.k, data.n
    kn = k * n
    X, p = z[:kn].reshape(k, n), z[kn]
    G, J, jacobians, values = _orbit_system(ctx, data, X, p)
    M = matmul_chain(ctx, jacobians)
    if data.kind == "ns":
        u, v, theta = z[kn + 1:kn + 1 + n], z[kn + 1 + n:kn + 1 + 2 * n], z[kn + 1 + 2 * n]
        c, s = _cos(ctx, theta), _sin(ctx, theta)
        Du = monodromy_action_derivative(ctx, data.map, values, X, jacobians, u, data.parameter)
        Dv = monodromy_action_derivative(ctx, data.map, values, X, jacobians, v, data.parameter)
        eye = ctx.identity(n)
        ref = ctx.convert_array(aux["reference"])
        residual = np.concatenate([G, M @ u - c * u + s * v, M @ v - s * u - c * v,
                                   np.array([ref @ u - 1, ref @ v], dtype=object if ctx.kind != "float64" else float)])
        size = kn + 1 + 2 * n + 1
        system = ctx.zeros((len(residual), size))
        system[:kn, :kn + 1] = J
        system[kn:kn + n, :kn + 1] = Du
        system[kn:kn + n, kn + 1:kn + 1 + n] = M - c * eye
        system[kn:kn + n, kn + 1 + n:kn + 1 + 2 * n] = s * eye
        system[kn:kn + n, -1] = s * u + c * v
        system[kn + n:kn + 2 * n, :kn + 1] = Dv
        system[kn + n:kn + 2 * n, kn + 1:kn + 1 + n] = -s * eye
        system[kn + n:kn + 2 * n, kn + 1 + n:kn + 1 + 2 * n] = M - c * eye
        system[kn + n:kn + 2 * n, -1] = -c * u + s * v
        system[kn + 2 * n, kn + 1:kn + 1 + n] = ref
        system[kn + 2 * n + 1, kn + 1 + n:kn + 1 + 2 * n] = ref
    else:
        shift = _SHIFT[data.kind]
        B = M - shift * ctx.identity(n)
        v_, w_ = ctx.convert_array(aux["v"]), ctx.convert_array(aux["w"])
        phi, g = null_vector(ctx, B, v_, w_)
        psi, _ = null_vector(ctx, B.T, w_, v_)
        gradient = -(psi @ monodromy_action_derivative(ctx, data.map, values, X, jacobians, phi, data.parameter))
        residual = np.concatenate([G, np.array([g], dtype=object if ctx.kind != "float64" else float)])
        system = np.vstack([J, gradient.reshape(1, -1)])
    m = aux["slack"].shape[1] if aux.get("slack") is not None else 0
    if m:  # manifold: slack columns L mu in G's rows, section rows N^T (x - anchor)
        L, N = ctx.convert_array(aux["slack"]), ctx.convert_array(aux["section"])
        mu = z[-m:]
        residual[:kn] = residual[:kn] + L @ mu
        residual = np.concatenate([residual, N.T @ (z[:kn] - ctx.convert_array(aux["anchor"]))])
        top = np.hstack([system, ctx.zeros((system.shape[0], m))])
        top[:kn, -m:] = L
        bottom = np.hstack([N.T, ctx.zeros((m, system.shape[1] - kn + m))])
        system = np.vstack([top, bottom])
    delta = solve(ctx, system, -residual)
    new = z + delta
    scale = max(1, max(abs(x) for x in new[:kn + 1]))
    return new, max(abs(d) for d in delta[:kn + 1]), scale


def _cos(ctx, x):
    return np.cos(x) if ctx.kind == "float64" else mpmath.cos(x)


def _sin(ctx, x):
    return np.sin(x) if ctx.kind == "float64" else mpmath.sin(x)


def _initial(data):
    """Float64 starting guess from the bracket and the auxiliary vectors of the augmented system."""
    branch, d = data.branch, data.detection
    a, b = branch.points[d.index], branch.points[d.index + 1]
    shift = {"flip": -1.0, "fold": 1.0, "branch": 1.0}.get(data.kind)
    if data.kind == "ns":
        fa, fb = (abs(_critical(pt.multipliers, "ns")) - 1 for pt in (a, b))
    else:
        fa, fb = (_critical(pt.multipliers, data.kind).real - shift for pt in (a, b))
    weight = 0.5 if fa == fb else float(np.clip(fa / (fa - fb), 0.0, 1.0))
    X = (1 - weight) * a.orbit + weight * b.orbit
    p = (1 - weight) * a.parameter + weight * b.parameter
    ctx = Float64()
    _, J, jacobians, _ = _orbit_system(ctx, data, X, p)
    M = matmul_chain(ctx, jacobians)
    aux = {}
    kn = data.k * data.n
    m = branch.manifold_dimension
    if m:
        u_, s_, vt = np.linalg.svd(J[:, :kn])
        aux.update(slack=u_[:, kn - m:], section=vt[kn - m:].T, anchor=X.ravel().copy())
    z = np.append(X.ravel(), p)
    if data.kind == "ns":
        values, vectors = np.linalg.eig(M)
        i = int(np.argmin(np.abs(np.abs(values) - 1) + (np.abs(values.imag) < 1e-12)))
        q = vectors[:, i]
        ref = q.real / (q.real @ q.real)
        q = q / (ref @ q)  # normalised so that ref . u = 1 and ref . v = 0
        aux["reference"] = ref
        z = np.concatenate([z, q.real, q.imag, [np.angle(values[i])]])
    else:
        u_, s_, vt = np.linalg.svd(M - shift * np.eye(data.n))
        aux["v"], aux["w"] = vt[-1], u_[:, -1]
    if m:
        z = np.concatenate([z, np.zeros(m)])
    return z, aux


def _critical(multipliers, kind):
    multipliers = np.asarray(multipliers, dtype=complex)
    if kind == "ns":
        complex_ones = [m for m in multipliers if abs(m.imag) > 1e-9]
        pool = complex_ones or list(multipliers)
        return min(pool, key=lambda m: abs(abs(m) - 1))
    target = -1.0 if kind == "flip" else 1.0
    return min(multipliers, key=lambda m: abs(m - target))


def locate(branch, detection, dps=50, max_float_iterations=40, max_precision_steps=40):
    """Locate a detected bifurcation at ``dps`` digits; never raises for a numerical failure.

    Returns
    -------
    BifurcationPoint
        ``status`` is ``"located"`` (with the digits measured at two
        precisions) or ``"not-located"`` (with the reason in ``message``).
    """
    if detection.kind not in ("flip", "fold", "ns", "branch"):
        raise ParameterError(f"unknown bifurcation kind {detection.kind!r}")
    if not isinstance(dps, int) or dps < 1:
        raise ParameterError(f"dps must be a positive integer, got {dps!r}")
    data = _Data(branch, detection)
    common = dict(kind=detection.kind, parameter=data.parameter, bracket=detection.bracket, period=data.k,
                  map=data.map, parameters=dict(data.fixed), branch_index=detection.index)
    if detection.kind == "branch":
        return BifurcationPoint(status="not-located", digits=0, message="branch points are detected, not yet located "
                                "at high precision (their bracket is kept)", **common)
    try:
        z, aux = _initial(data)
        ctx = Float64()
        for _ in range(max_float_iterations):
            z, correction, scale = _step(ctx, data, z, aux)
            if correction <= 1e-14 * scale:
                break
        seed = revealed_bits(correction, scale) if correction > 0 else 50
        if not correction <= 1e-6 * scale:
            raise ConvergenceError(f"float64 Newton on the augmented system did not converge (correction {correction:.3g})")
        target = dps_to_bits(dps + max(10, dps // 10))
        refined, _ = refine(lambda c, x: _step(c, data, x, aux), z, min(seed - 4, 44), target, max_precision_steps)
        if refined is None:
            raise ConvergenceError(f"Newton did not reach {bits_to_dps(target)} digits")
        final, digits, check = measure(lambda c, x: _step(c, data, x, aux), refined, target)
    except (ConvergenceError, EvaluationError, np.linalg.LinAlgError, ValueError) as exc:
        return BifurcationPoint(status="not-located", digits=0, message=str(exc), **common)
    kn = data.k * data.n
    digits, slack_note = _slack_digits(final, branch.manifold_dimension, digits, check)
    coefficient, coefficient_digits, eigenvector = None, 0, ()
    if detection.kind in ("flip", "fold"):
        try:
            high, q = _coefficient(data, final, check)
            low, _ = _coefficient(data, refined, target)
            with mpmath.workprec(check):
                difference = abs(high - low) / max(1, abs(high))
                coefficient_digits = digits if difference == 0 else max(0, min(digits, int(-mpmath.log10(difference))))
            coefficient, eigenvector = high, tuple(q)
        except (ConvergenceError, EvaluationError) as exc:
            message_extra = f"; normal-form coefficient not computed ({exc})"
    with mpmath.workprec(check):
        value = +final[kn]
        orbit = tuple(tuple(+c for c in final[i * data.n:(i + 1) * data.n]) for i in range(data.k))
        angle = abs(final[kn + 1 + 2 * data.n]) if detection.kind == "ns" else None
    # at a fold the parameter turns back, so its value lies beyond both bracketing points: no check
    inside = detection.kind == "fold" or detection.bracket[0] - 1e-6 <= float(value) <= detection.bracket[1] + 1e-6
    message = f"{detection.kind} located to {digits} digits" + slack_note
    if coefficient is None and detection.kind in ("flip", "fold"):
        message += message_extra
    if not inside:
        message += f"; note: outside the detection bracket [{detection.bracket[0]:.6g}, {detection.bracket[1]:.6g}]"
    return BifurcationPoint(status="located", digits=digits, value=value, orbit=orbit, angle=angle,
                            coefficient=coefficient, coefficient_digits=coefficient_digits, eigenvector=eigenvector,
                            precision_bits=check, message=message, **common)


def _slack_digits(z, m, digits, prec):
    """Cap the digits by the size of the slack variables mu (the last m unknowns).

    At a true solution G(z) = 0, so mu = 0.  A nonzero mu means G = -L mu:
    the point solves the slackened system but is not an orbit (the branch's
    manifold dimension is too large).  Both precisions of the digit
    measurement solve that same system, so only this check can see it.
    Returns (digits, note for the message).
    """
    if not m:
        return digits, ""
    with mpmath.workprec(prec):
        slack = max(abs(v) for v in z[-m:])
        if slack == 0 or -mpmath.log10(slack) >= digits:
            return digits, ""
        capped = max(0, int(mpmath.floor(-mpmath.log10(slack))))
        return min(digits, capped), (f" (capped: the orbit equations hold only to {mpmath.nstr(slack, 3)}, the "
                                     f"slack of the {m} manifold directions; the manifold dimension may be wrong)")


def _coefficient(data, z, prec):
    """Normal-form coefficient and critical eigenvector at the point z, computed at ``prec`` bits."""
    ctx = MP(prec=prec)
    with ctx.scope():
        z = ctx.convert_array(z)
        kn = data.k * data.n
        X, p = z[:kn].reshape(data.k, data.n), z[kn]
        _, _, jacobians, values = _orbit_system(ctx, data, X, p)
        M = matmul_chain(ctx, jacobians)
        if data.kind == "flip":
            return flip_coefficient(ctx, data.map, values, X, jacobians, M, data.branch.manifold_dimension)
        return fold_coefficient(ctx, data.map, values, X, jacobians, M)


def locate_all(branch, dps=50):
    """Locate every detection of a branch (a tuple of BifurcationPoint, in branch order)."""
    return tuple(locate(branch, d, dps) for d in branch.detections)
