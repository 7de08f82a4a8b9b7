"""The checker: re-run every proof of a certificate from the file alone.

:func:`check` rebuilds the map from ``certificate.problem`` (exact strings,
safe parser), derives what it needs by sympy, evaluates in ball arithmetic
with :mod:`.ballexpr`, and repeats the interval tests.  It shares no state
with the code that made the certificate: it reads nothing but the file.

A :class:`Verdict` is ``valid`` when every part the certificate states as
proved is proved again and every stated enclosure contains the re-computed
one; it ``proves`` the claim when, in addition, the outcome is ``"proved"``.
"""

import time
from dataclasses import dataclass

import sympy

from ..errors import CertificationError, DynsysError
from .ballexpr import compile_expression
from .balls import _rational, get_balls
from .cells import Jets, MapPieces, critical_cell, orbit_cell
from .certificate import Certificate
from .krawczyk import CyclicSystem, krawczyk
from .problem import map_from_problem, parse_exact, symbolic_map
from .spectrum import flip_coefficient, fold_coefficient, monodromy, multiplier_discs

__all__ = ["Verdict", "check", "check_file", "verify_part"]


@dataclass(frozen=True)
class Verdict:
    """The checker's answer.

    Attributes
    ----------
    valid : bool
        Every part stated as proved was proved again (and stated enclosures hold).
    proves : bool
        ``valid`` and the certificate's outcome is ``"proved"``: the claim holds.
    message : str
        One line for a person.
    seconds : float
    """

    valid: bool
    proves: bool
    message: str
    seconds: float = 0.0


def check_file(path, backend="auto"):
    """Check the certificate in the JSON file ``path``; an unreadable file is a CertificationError."""
    return check(Certificate.read(path), backend)


def check(certificate, backend="auto"):
    """Re-run the proofs of ``certificate`` (a :class:`Certificate` or its dict)."""
    start = time.perf_counter()
    if isinstance(certificate, dict):
        certificate = Certificate.from_dict(certificate)
    claim = certificate.claim
    if certificate.outcome == "not-proved" and not certificate.boxes and claim["kind"] != "threshold":
        return Verdict(True, False, f"VALID but NOT PROVED: no boxes - {certificate.reason}", 0.0)
    try:
        found = verify_part(certificate.problem, claim, certificate.boxes, certificate.results,
                            certificate.precision_bits, backend)
    except CertificationError as exc:
        return Verdict(False, False, f"INVALID: {exc}", time.perf_counter() - start)
    except DynsysError as exc:
        return Verdict(False, False, f"INVALID: the stated problem fails: {exc}", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if found.outcome != certificate.outcome:
        if certificate.outcome == "proved" or (certificate.outcome == "partial" and found.outcome == "not-proved"):
            return Verdict(False, False, f"INVALID: the certificate says {certificate.outcome} but "
                                         f"the checker finds {found.outcome}: {found.reason}", seconds)
        return Verdict(False, False, f"INVALID: the certificate says {certificate.outcome} but the checker "
                                     f"finds {found.outcome} ({found.reason}); the file is inconsistent", seconds)
    if found.outcome == "proved":
        return Verdict(True, True, f"VALID: {claim['kind']} proved - {found.reason}", seconds)
    return Verdict(True, False, f"VALID but NOT PROVED: {certificate.outcome} - {found.reason}", seconds)


@dataclass(frozen=True)
class Found:
    outcome: str
    reason: str
    results: dict


def verify_part(problem, claim, boxes, results, precision_bits, backend="auto"):
    """Re-prove one claim; returns Found(outcome, reason, results) with re-derived enclosures."""
    kind = claim.get("kind")
    if kind == "threshold":
        from .threshold import verify_threshold

        return Found(*verify_threshold(problem, claim, results, precision_bits, backend))
    balls = get_balls(backend, prec=precision_bits)
    with balls.scope():
        if kind == "orbit":
            return _verify_orbit(problem, claim, boxes, results, balls)
        if kind in ("flip", "fold"):
            return _verify_critical(problem, claim, boxes, results, balls)
        if kind == "cascade":
            return _verify_cascade(problem, claim, boxes, results, precision_bits, backend)
        if kind == "interval":
            return _verify_interval(problem, claim, boxes, results, balls)
    raise CertificationError(f"unknown claim kind {kind!r}")


# -- shared pieces -------------------------------------------------------------

def _setup(problem, balls, unknown=()):
    map_ = map_from_problem(problem, unknown)
    exprs, state, params = symbolic_map(map_)
    pieces = MapPieces(exprs, state, params, balls)
    given = problem.get("parameters", {})
    values = []
    for p in params:
        if p.name in unknown:
            values.append(balls.zero())
            continue
        if p.name not in given:
            raise CertificationError(f"parameter {p.name} has no value in the problem")
        values.append(_exact_ball(balls, parse_exact(given[p.name], f"parameter {p.name}")))
    return map_, pieces, values


def _exact_ball(balls, value):
    value = sympy.sympify(value, strict=True)
    if value.is_Rational:
        return balls.exact(value)
    return compile_expression(value, [], balls)([])


def _box(boxes, role, size):
    box = boxes.get(role) if isinstance(boxes, dict) else None
    if not isinstance(box, list) or len(box) != size:
        raise CertificationError(f"boxes.{role} must list {size} [mid, rad] pairs, got "
                                 f"{len(box) if isinstance(box, list) else type(box).__name__}")
    for entry in box:
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(s, str) for s in entry)):
            raise CertificationError(f"boxes.{role}: every entry must be [mid, rad] strings, got {entry!r:.60}")
        if _rational(entry[1]) <= 0:
            raise CertificationError(f"boxes.{role}: a radius must be positive, got {entry[1]!r}")
    return box


def _balls_of(balls, box):
    return [balls.box(mid, rad) for mid, rad in box], [balls.box(mid, "0") for mid, _ in box]


def _inside(inner, outer):
    """Exact test: every decimal box of ``inner`` lies in the matching box of ``outer``."""
    for (m1, r1), (m2, r2) in zip(inner, outer):
        a, b, c, d = (_rational(x) for x in (m1, r1, m2, r2))
        if a - b < c - d or a + b > c + d:
            return False
    return True


def _krawczyk_pair(system, balls, boxes):
    """Existence and uniqueness in boxes.uniqueness; a zero in boxes.enclosure inside it."""
    size = system.size
    unique = _box(boxes, "uniqueness", size)
    tight = _box(boxes, "enclosure", size)
    if not _inside(tight, unique):
        return None, "the enclosure box is not inside the uniqueness box"
    for role, box in (("uniqueness", unique), ("enclosure", tight)):
        X, center = _balls_of(balls, box)
        outcome = krawczyk(system, balls, center, X, box)
        if not outcome.proved:
            return None, f"Krawczyk test failed on the {role} box: {outcome.reason}"
    return outcome.enclosure, "ok"


def _stated(results, key):
    entry = results.get(key) if isinstance(results, dict) else None
    if entry is None:
        return None
    if not (isinstance(entry, list) and len(entry) == 2):
        raise CertificationError(f"results.{key} must be a [mid, rad] pair")
    return entry


def _counts(balls, pieces, params, orbit, symmetric):
    jacobians = [_jacobian(pieces, x, params) for x in orbit]
    discs = multiplier_discs(balls, monodromy(balls, jacobians), symmetric=symmetric)
    return discs, jacobians


def _jacobian(pieces, x, params):
    n = pieces.n
    out = pieces.value_and_jacobian()(list(x) + list(params))
    return [out[n + i * n:n + (i + 1) * n] for i in range(n)]


# -- orbits ---------------------------------------------------------------------

def _verify_orbit(problem, claim, boxes, results, balls):
    k = _positive_int(claim, "period")
    map_, pieces, params = _setup(problem, balls)
    n = pieces.n
    system = CyclicSystem(orbit_cell(pieces, params), k, n)
    enclosure, why = _krawczyk_pair(system, balls, boxes)
    if enclosure is None:
        return Found("not-proved", why, {})
    points = [enclosure[i * n:(i + 1) * n] for i in range(k)]
    reasons = [f"a unique period-{k} orbit in the box (Krawczyk)"]
    if claim.get("minimal_period"):
        for d in range(1, k):
            if k % d == 0 and not _disjoint(balls, points[0], points[d]):
                return Found("not-proved", f"x_0 and x_{d} overlap: minimal period {k} not shown", {})
        reasons.append(f"minimal period {k}")
    if claim.get("unstable_count") is not None:
        discs, _ = _counts(balls, pieces, params, points, map_.symmetric and k == 1)
        if discs.undecided:
            return Found("not-proved", f"{discs.undecided} multiplier(s) not separated from the unit circle", {})
        if discs.outside != claim["unstable_count"]:
            return Found("not-proved", f"{discs.outside} multiplier(s) proved outside the unit circle, "
                                       f"the claim says {claim['unstable_count']}", {})
        reasons.append(f"{discs.outside} multiplier(s) outside and {discs.inside} inside the unit circle")
    return Found("proved", "; ".join(reasons), {})


def _disjoint(balls, a, b):
    return any(balls.less(x, y) or balls.less(y, x) for x, y in zip(a, b))


def _positive_int(claim, key):
    value = claim.get(key)
    if not isinstance(value, int) or value < 1:
        raise CertificationError(f"claim.{key} must be a positive integer, got {value!r}")
    return value


# -- flips and folds ----------------------------------------------------------

def _verify_critical(problem, claim, boxes, results, balls):
    kind = claim["kind"]
    k = _positive_int(claim, "period")
    varied = claim.get("parameter")
    if not isinstance(varied, str):
        raise CertificationError("claim.parameter must name the varied parameter")
    if varied in problem.get("parameters", {}):
        raise CertificationError(f"the varied parameter {varied} must not have a value in the problem")
    map_, pieces, params = _setup(problem, balls, unknown=(varied,))
    if varied not in [p.name for p in pieces.params]:
        raise CertificationError(f"the map has no parameter {varied!r}")
    n = pieces.n
    normal = claim.get("normalization")
    if not (isinstance(normal, list) and len(normal) == n):
        raise CertificationError(f"claim.normalization must list {n} exact numbers")
    row = [balls.zero()] * n + [_exact_ball(balls, parse_exact(t, "normalization")) for t in normal]
    sign = -1 if kind == "flip" else 1
    system = CyclicSystem(critical_cell(pieces, params, varied), k, 2 * n, 1, tuple([1] * n + [sign] * n),
                          ((row, balls.exact(1)),))
    enclosure, why = _krawczyk_pair(system, balls, boxes)
    if enclosure is None:
        return Found("not-proved", why, {})
    p_ball = enclosure[-1]
    cells = [enclosure[i * 2 * n:(i + 1) * 2 * n] for i in range(k)]
    orbit, v0 = [c[:n] for c in cells], cells[0][n:]
    index = pieces.parameter_index(varied)
    at = list(params)
    at[index] = p_ball
    stated = _stated(results, "parameter")
    if stated is not None and not balls.within(p_ball, *stated):
        return Found("not-proved", f"the stated {varied} enclosure does not contain the proved one", {})
    jets = Jets(pieces)
    jacobians = [_jacobian(pieces, x, at) for x in orbit]
    sqrt = balls.functions()["sqrt"]
    coefficient_of = flip_coefficient if kind == "flip" else fold_coefficient
    try:
        c = coefficient_of(balls, jets, orbit, at, jacobians, v0, sqrt)
    except CertificationError as exc:
        return Found("not-proved", f"the normal-form coefficient could not be enclosed: {exc}", {})
    zero = balls.zero()
    sign_text = "positive" if balls.less(zero, c) else "negative" if balls.less(c, zero) else None
    name = "c" if kind == "flip" else "a"
    if sign_text is None:
        return Found("not-proved", f"the enclosure of the normal-form coefficient {name} contains 0", {})
    stated_c = _stated(results, "coefficient")
    if stated_c is not None and not balls.within(c, *stated_c):
        return Found("not-proved", "the stated coefficient enclosure does not contain the proved one", {})
    reason = (f"a unique {kind} point of the period-{k} orbit in the box (Krawczyk on the extended system), "
              f"{name} {sign_text}")
    if kind == "flip":
        criticality = "supercritical" if sign_text == "positive" else "subcritical"
        if claim.get("criticality") not in (None, criticality):
            return Found("not-proved", f"the flip is {criticality}, the claim says {claim['criticality']}", {})
        reason += f" ({criticality})"
    return Found("proved", reason, {"parameter": p_ball, "coefficient": c})


# -- cascades ---------------------------------------------------------------------

def _verify_cascade(problem, claim, boxes, results, precision_bits, backend):
    flips = claim.get("flips")
    if not isinstance(flips, list) or not flips:
        raise CertificationError("claim.flips must list the flips of the cascade")
    parts = boxes.get("flips") if isinstance(boxes, dict) else None
    stated = results.get("flips", [{}] * len(flips)) if isinstance(results, dict) else [{}] * len(flips)
    if not isinstance(parts, list) or len(parts) != len(flips) or len(stated) != len(flips):
        raise CertificationError("boxes.flips must hold one set of boxes per flip")
    proved = 0
    for i, (sub, sub_boxes, sub_results) in enumerate(zip(flips, parts, stated)):
        if not isinstance(sub, dict) or sub.get("kind") != "flip":
            raise CertificationError(f"claim.flips[{i}] must be a flip claim")
        found = verify_part(problem, sub, sub_boxes, sub_results, precision_bits, backend)
        if found.outcome != "proved":
            return Found("not-proved" if not proved else "partial",
                         f"flip {i + 1} (period {sub.get('period')}) not proved: {found.reason}", {})
        proved += 1
    return Found("proved", f"all {proved} flips proved (Krawczyk on each extended system, c enclosed away from 0)", {})


# -- parameter intervals -----------------------------------------------------------

def _verify_interval(problem, claim, boxes, results, balls):
    k = _positive_int(claim, "period")
    varied = claim.get("parameter")
    low, high = (_rational(claim.get(key)) for key in ("from", "to"))
    if not low < high:
        raise CertificationError(f"claim.from must be below claim.to, got {claim.get('from')} and {claim.get('to')}")
    if varied in problem.get("parameters", {}):
        raise CertificationError(f"the varied parameter {varied} must not have a value in the problem")
    map_, pieces, params, index = interval_setup(problem, varied, balls)
    n = pieces.n
    pieces_list = boxes.get("pieces") if isinstance(boxes, dict) else None
    if not isinstance(pieces_list, list) or not pieces_list:
        raise CertificationError("boxes.pieces must list the pieces of the interval")
    expected = claim.get("unstable_count")
    edge, unproved = low, []
    for i, piece in enumerate(pieces_list):
        a, b = _rational(piece.get("from")), _rational(piece.get("to"))
        if a != edge or not a < b:
            raise CertificationError(f"piece {i} starts at {piece.get('from')}, expected {edge}: pieces must tile the interval")
        edge = b
        if not piece.get("proved"):
            unproved.append(f"[{piece.get('from')}, {piece.get('to')}]")
            continue
        box = _box(piece, "box", k * n)
        ok, why = verify_piece(balls, map_, pieces, params, index, k, a, b, box, expected)
        if not ok:
            return Found("not-proved", f"piece {i} [{piece['from']}, {piece['to']}] stated proved fails: {why}", {})
    if edge != high:
        raise CertificationError(f"the pieces end at {edge}, not at claim.to = {claim.get('to')}")
    what = {None: "exists", 0: "exists and is stable"}.get(expected, f"exists with {expected} unstable multiplier(s)")
    if unproved:
        return Found("partial", f"the period-{k} orbit {what} on the proved pieces; not proved on "
                                f"{len(unproved)} piece(s): {', '.join(unproved[:4])}{' ...' if len(unproved) > 4 else ''}", {})
    return Found("proved", f"for every {varied} in [{claim['from']}, {claim['to']}] the period-{k} orbit {what} "
                           f"({len(pieces_list)} pieces, parametric Krawczyk)", {})


def interval_setup(problem, varied, balls):
    """(map, pieces, parameter balls, index of the varied parameter) for interval claims."""
    map_, pieces, params = _setup(problem, balls, unknown=(varied,))
    if varied not in [p.name for p in pieces.params]:
        raise CertificationError(f"the map has no parameter {varied!r}")
    return map_, pieces, params, pieces.parameter_index(varied)


def verify_piece(balls, map_, pieces, params, index, k, a, b, box, expected):
    """Parametric Krawczyk on one piece [a, b] (exact rationals) and the multiplier count over it."""
    n = pieces.n
    at = list(params)
    at[index] = balls.hull(balls.exact(a), balls.exact(b))
    system = CyclicSystem(orbit_cell(pieces, at), k, n)
    X, center = _balls_of(balls, box)
    outcome = krawczyk(system, balls, center, X, box)
    if not outcome.proved:
        return False, outcome.reason
    if expected is not None:
        points = [outcome.enclosure[j * n:(j + 1) * n] for j in range(k)]
        discs, _ = _counts(balls, pieces, at, points, map_.symmetric and k == 1)
        if discs.undecided or discs.outside != expected:
            return False, (f"multipliers not proved ({discs.outside} outside, {discs.undecided} undecided; "
                           f"expected {expected} outside)")
    return True, "ok"
