"""Make certificates: find the object with the solvers, put boxes around it, prove, record.

Each ``certify_*`` function returns a :class:`~.certificate.Certificate`
whose outcome comes from running the checker's own tests
(:func:`~.check.verify_part`) on the boxes it chose: what the file says was
proved is exactly what the checker will prove again.  A claim that fails is
recorded as ``"not-proved"`` with the reason, never as proved.

Box radii: the enclosure box starts at 100x the solver's error estimate and
grows until Krawczyk succeeds (a few tries); the uniqueness box is as wide as
``CertifyOptions.uniqueness_radius`` allows (relative to max(1, |z|)) and
shrinks by factors of 1e-4 towards the enclosure when the test fails.
"""

import time
from dataclasses import dataclass

import mpmath
import sympy

from ..arith import dps_to_bits
from ..errors import CertificationError, ParameterError
from .certificate import Certificate
from .check import interval_setup, verify_part, verify_piece
from .balls import _round_up, get_balls
from .problem import exact_text, problem_from_map

__all__ = ["CertifyOptions", "certify_orbit", "certify_flip", "certify_cascade", "certify_threshold",
           "certify_interval"]


@dataclass(frozen=True)
class CertifyOptions:
    """Options of the ``certify_*`` functions.

    Parameters
    ----------
    dps : int
        Digits of the solutions the boxes are built around (working precision adds guard digits).
    backend : str
        Ball backend: ``"auto"`` (flint when installed), ``"flint"`` or ``"iv"``.
    uniqueness_radius : float
        Relative radius of the widest uniqueness box tried.
    max_pieces : int
        Parameter intervals: most pieces before giving up on the rest.
    """

    dps: int = 50
    backend: str = "auto"
    uniqueness_radius: float = 1e-8
    max_pieces: int = 256

    def __post_init__(self):
        if not isinstance(self.dps, int) or not 10 <= self.dps <= 20000:
            raise ParameterError(f"dps must be an integer in [10, 20000], got {self.dps!r}")
        if not 0 < self.uniqueness_radius < 1:
            raise ParameterError(f"uniqueness_radius must be in (0, 1), got {self.uniqueness_radius}")
        if not isinstance(self.max_pieces, int) or self.max_pieces < 1:
            raise ParameterError(f"max_pieces must be a positive integer, got {self.max_pieces!r}")
        get_balls(self.backend, prec=64)  # an unknown or missing backend is reported here

    @property
    def precision_bits(self):
        return dps_to_bits(self.dps + 15)


def _mid_text(value, dps):
    with mpmath.workdps(dps + 20):
        return mpmath.nstr(mpmath.mpf(value), dps + 10, strip_zeros=False, min_fixed=1, max_fixed=0).replace("e+", "e")


def _boxes(center, radius, dps):
    """[[mid, rad], ...] with rad = radius * max(1, |z_i|), as decimal strings."""
    out = []
    for z in center:
        scale = max(1, abs(z))
        out.append([_mid_text(z, dps), mpmath.nstr(radius * scale, 3, min_fixed=1, max_fixed=0).replace("e+", "e")])
    return out


def _prove(problem, claim, center, error, options, results=None):
    """Try boxes around ``center`` until the claim is proved; return (Found, boxes)."""
    dps = options.dps
    floor = mpmath.mpf(10) ** (-dps - 5)
    tight_radii = [max(error * 100, floor) * mpmath.mpf(10) ** (3 * i) for i in range(3)]
    found, boxes = None, None
    for tight in tight_radii:
        wide = mpmath.mpf(options.uniqueness_radius)
        while True:
            boxes = {"uniqueness": _boxes(center, max(wide, tight * 10), dps), "enclosure": _boxes(center, tight, dps)}
            found = verify_part(problem, claim, boxes, results or {}, options.precision_bits, options.backend)
            if found.outcome == "proved" or "enclosure box" in found.reason or wide <= tight * 10:
                break
            wide = wide * mpmath.mpf("1e-4")
        if found.outcome == "proved" or "enclosure box" not in found.reason:
            break
    return found, boxes


def _certificate(problem, claim, boxes, found, options, method, start, results=None):
    return Certificate(problem, claim, boxes, options.precision_bits, method, found.outcome, found.reason,
                       results or {}, get_balls(options.backend, prec=64).name, round(time.perf_counter() - start, 4))


def _decimal_results(found, options):
    balls = get_balls(options.backend, prec=options.precision_bits)
    with balls.scope():
        return {key: list(balls.decimal(value, options.dps)) for key, value in found.results.items()}


def certify_orbit(map_, period, guess, parameters=None, options=None):
    """Prove a period-``period`` orbit near ``guess``: existence, uniqueness in a box, its stability.

    >>> from dynsys_eos.models import build_model
    >>> cert = certify_orbit(build_model("logistic", r="16/5"), 2, [0.5], options=CertifyOptions(dps=30))
    >>> cert.outcome, cert.claim["unstable_count"]
    ('proved', 0)
    """
    from ..orbits import OrbitOptions, find_orbit

    options = options or CertifyOptions()
    start = time.perf_counter()
    values = map_.parameter_values(parameters)
    map_.defaults.update(values)
    problem = problem_from_map(map_)
    result = find_orbit(map_, period, guess, values, OrbitOptions(dps=options.dps + 5))
    claim = {"kind": "orbit", "period": period, "minimal_period": result.minimal_period == period,
             "unstable_count": result.unstable_count if result.stable is not None else None}
    if not result.success or not result.isolated:
        why = result.message if not result.success else "the orbit lies on a manifold of orbits: it is not isolated"
        return _certificate(problem, claim, {}, _NotProved(why), options, "krawczyk", start)
    center = [v for point in result.points for v in point]
    found, boxes = _prove(problem, claim, center, result.error, options)
    return _certificate(problem, claim, boxes, found, options, "krawczyk", start)


@dataclass(frozen=True)
class _NotProved:
    reason: str
    outcome: str = "not-proved"
    results: dict = None


def _critical_center(map_, point, prec):
    """(x_0, v_0, ..., x_{k-1}, v_{k-1}, p) at a located flip/fold, normalisation l (strings) included."""
    from ..arith import MP

    ctx = MP(prec=prec)
    values = dict(map_.parameter_values())
    values[point.parameter] = point.value
    with ctx.scope():
        bound = map_.bind(ctx, values)
        orbit = [ctx.array(x) for x in point.orbit]
        jacobians = [bound.jacobian(x) for x in orbit]
        M = mpmath.eye(len(orbit[0]))
        for A in jacobians:
            M = mpmath.matrix(A.tolist()) * M
        shift = -1 if point.kind == "flip" else 1
        eigenvalues, vectors = mpmath.eig(M)
        j = min(range(len(eigenvalues)), key=lambda i: abs(eigenvalues[i] - shift))
        v = [mpmath.re(vectors[i, j]) for i in range(len(orbit[0]))]
        scale = max(abs(c) for c in v)
        normal = [mpmath.nstr(c / scale, 8) for c in v]
        dot = mpmath.fsum(mpmath.mpf(sympy.Rational(t).p) / sympy.Rational(t).q * c for t, c in zip(normal, v))
        v = [c / dot for c in v]
        center = []
        for x, A in zip(orbit, jacobians):
            center += list(x) + list(v)
            v = list(mpmath.matrix(A.tolist()) * mpmath.matrix(v))
        center.append(point.value)
    return center, normal


def certify_flip(map_, period, parameter, start, guess, options=None, stop=None):
    """Locate the first flip of the period-``period`` orbit from ``start`` in ``parameter`` and prove it."""
    return certify_cascade(map_, period, parameter, start, guess, flips=1, options=options, stop=stop, single=True)


def certify_point(map_, point, options, start=None):
    """Certificate of one located BifurcationPoint (flip or fold)."""
    start = start or time.perf_counter()
    values = dict(map_.parameter_values())
    values.pop(point.parameter)
    problem = problem_from_map(map_, unknown=(point.parameter,))
    problem["parameters"] = {k: exact_text(v) for k, v in values.items()}
    center, normal = _critical_center(map_, point, options.precision_bits)
    claim = {"kind": point.kind, "period": point.period, "parameter": point.parameter, "normalization": normal,
             "criticality": point.criticality}
    error = mpmath.mpf(10) ** (-max(point.digits, 5))
    found, boxes = _prove(problem, claim, center, error, options)
    results = _decimal_results(found, options) if found.outcome == "proved" else {}
    if point.kind == "flip" and found.outcome == "proved":  # the proved sign of c settles the criticality
        claim["criticality"] = "supercritical" if not results["coefficient"][0].startswith("-") else "subcritical"
    return _certificate(problem, claim, boxes, found, options, "krawczyk", start, results)


def certify_cascade(map_, period, parameter, start, guess, flips=8, options=None, stop=None, single=False):
    """Follow the period-doubling cascade from ``start`` and prove each located flip in turn."""
    from ..cascade import CascadeOptions, follow_period_doubling
    from ..continuation import ContinuationProblem

    options = options or CertifyOptions()
    began = time.perf_counter()
    low, high = (None, None) if stop is None else sorted([float(start), float(stop)])
    direction = "backward" if stop is not None and stop < start else "forward"
    cascade_options = CascadeOptions(flips=flips, dps=options.dps, p_min=low, p_max=high, direction=direction)
    problem = ContinuationProblem.from_guess(map_, period, parameter, guess, {parameter: start})
    cascade = follow_period_doubling(problem, cascade_options)
    located = [f.point for f in cascade.flips]
    if not located:
        raise CertificationError(f"no flip was located from {parameter} = {start}: {cascade.message}")
    certificates = [certify_point(map_, point, options) for point in located]
    if single:
        return certificates[0]
    proved = sum(c.proved for c in certificates)
    outcome = "proved" if proved == len(certificates) else "partial" if proved else "not-proved"
    first_bad = next((c for c in certificates if not c.proved), None)
    reason = (f"all {proved} flips proved" if first_bad is None else
              f"{proved} of {len(certificates)} flips proved; period {first_bad.claim['period']}: {first_bad.reason}")
    claim = {"kind": "cascade", "parameter": parameter, "flips": [c.claim for c in certificates]}
    boxes = {"flips": [c.boxes for c in certificates]}
    results = {"flips": [c.results for c in certificates]}
    return Certificate(certificates[0].problem, claim, boxes, options.precision_bits, "krawczyk", outcome, reason,
                       results, certificates[0].backend, round(time.perf_counter() - began, 4))


def certify_threshold(map_, at=None, options=None):
    """Prove the critical learning rate 2/lambda_max at an exact minimum (default: the model's flattest)."""
    from .threshold import threshold_claim

    options = options or CertifyOptions()
    began = time.perf_counter()
    if at is None:
        model = getattr(map_, "model", None)
        at = model.flattest_minimum() if model is not None else None
        if at is None:
            raise ParameterError("give the minimum (--at): this model has no known flattest minimum")
    problem = problem_from_map(map_)
    claim, method = threshold_claim(problem, list(at), options.dps)
    found = verify_part(problem, claim, {}, {}, options.precision_bits, options.backend)
    results = {}
    if found.outcome == "proved":
        results = {"threshold": _threshold_text(found.results, options)}
        found = verify_part(problem, claim, {}, results, options.precision_bits, options.backend)
    return _certificate(problem, claim, {}, found, options, method, began, results)


def _threshold_text(results, options):
    if "ball" in results:
        balls = get_balls(options.backend, prec=options.precision_bits)
        with balls.scope():
            return list(balls.decimal(results["ball"], options.dps))
    low, high = results["low"], results["high"]
    mid = (low + high) / 2
    mid_text = _mid_text(mpmath.mpf(mid.p) / mid.q, options.dps)
    m = sympy.Rational(mid_text)
    radius = max(abs(high - m), abs(m - low))
    with mpmath.workprec(options.precision_bits + 64):
        return [mid_text, _round_up(mpmath.mpf(radius.p) / radius.q)]


def certify_interval(map_, period, parameter, low, high, guess, options=None):
    """Prove that the period-``period`` orbit exists for every ``parameter`` in [low, high], with a fixed stability.

    The interval is cut into pieces; a piece that fails is halved until it
    passes or ``options.max_pieces`` is reached; the pieces left unproved are
    listed (outcome ``"partial"``).
    """
    from ..orbits import OrbitOptions, find_orbit

    options = options or CertifyOptions(dps=30)
    began = time.perf_counter()
    from ..values import exact_value

    a, b = exact_value(low, "from"), exact_value(high, "to")
    if not (a.is_Rational and b.is_Rational):
        raise ParameterError(f"the ends of the interval must be rational numbers, got {a} and {b}")
    if not a < b:
        raise ParameterError(f"--from must be below --to, got {a} and {b}")
    values = dict(map_.parameter_values())
    values.pop(parameter, None)
    map_.defaults.update(values)
    problem = problem_from_map(map_, unknown=(parameter,))
    problem["parameters"] = {k: exact_text(v) for k, v in values.items()}
    orbit_options = OrbitOptions(dps=options.dps)

    def orbit_at(p, seed):
        result = find_orbit(map_, period, seed, {**values, parameter: p}, orbit_options)
        if not result.success or not result.isolated:
            return None
        return result

    first = orbit_at(a + (b - a) / 2, guess)
    if first is None:
        raise CertificationError(f"no isolated period-{period} orbit found near the guess at {parameter} = {(a + b) / 2}")
    expected = first.unstable_count if first.stable is not None else None
    balls = get_balls(options.backend, prec=options.precision_bits)
    pending = [(a + (b - a) * i / 8, a + (b - a) * (i + 1) / 8) for i in range(8)]
    done, seed = [], list(first.points[0])
    with balls.scope():
        map_check, pieces, params, index = interval_setup(problem, parameter, balls)
        while pending:
            lo, hi = pending.pop(0)
            piece = {"from": exact_text(lo), "to": exact_text(hi), "proved": False}
            mids = [orbit_at(p, seed) for p in (lo, (lo + hi) / 2, hi)]
            if all(mids):
                seed = list(mids[1].points[0])
                center = [v for point in mids[1].points for v in point]
                ends = [[v for point in m.points for v in point] for m in (mids[0], mids[2])]
                spread = max(abs(e[i] - center[i]) for e in ends for i in range(len(center)))
                box = [[_mid_text(z, options.dps), mpmath.nstr(3 * spread + mpmath.mpf(10) ** (-options.dps), 3)]
                       for z in center]
                ok, why = verify_piece(balls, map_check, pieces, params, index, period, lo, hi, box, expected)
                piece.update(box=box, proved=ok, reason=why if not ok else "")
            else:
                piece["reason"] = "no isolated orbit found in this piece"
            if not piece["proved"] and len(done) + len(pending) + 2 <= options.max_pieces and hi - lo > (b - a) / 2**9:
                middle = (lo + hi) / 2
                pending[:0] = [(lo, middle), (middle, hi)]
                continue
            if done and not piece["proved"] and not done[-1]["proved"]:  # one entry per unproved stretch
                done[-1]["to"] = piece["to"]
                continue
            done.append(piece)
    claim = {"kind": "interval", "period": period, "parameter": parameter, "from": exact_text(a), "to": exact_text(b),
             "unstable_count": expected}
    boxes = {"pieces": done}
    found = verify_part(problem, claim, boxes, {}, options.precision_bits, options.backend)
    return _certificate(problem, claim, boxes, found, options, "krawczyk", began)
