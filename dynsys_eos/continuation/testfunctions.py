"""Test functions along a branch: which multipliers lie outside the unit circle, and where that changes.

Detection counts, at each point, the real multipliers below -1 (flip), the
real multipliers above +1 (fold or branch point) and the complex pairs
outside the unit circle (Neimark-Sacker).  A change of a count between two
consecutive points brackets a bifurcation.  A +1 crossing where the
parameter turns back is a fold; one where it does not is a branch point (transcritical or pitchfork).
The turn is read from the parameter values of the neighbouring points (the
tangent's orientation is not reliable next to a branch point, where the
null space is two-dimensional).

Examples
--------
>>> counts([-1.5, 0.5, 2.0, complex(0.2, 1.1), complex(0.2, -1.1)])
{'flip': 1, 'fold': 1, 'ns': 1}
"""

import numpy as np

from .branch import Detection

__all__ = ["counts", "transverse_multipliers", "detect_between"]

_REAL = 1e-9


def transverse_multipliers(multipliers, manifold_dimension):
    """Remove the ``manifold_dimension`` multipliers closest to 1 (those along a manifold of orbits)."""
    remaining = list(multipliers)
    for _ in range(manifold_dimension):
        if not remaining:
            break
        remaining.pop(int(np.argmin([abs(m - 1) for m in remaining])))
    return np.array(remaining, dtype=complex)


def counts(multipliers):
    """Counts of real multipliers < -1, real multipliers > 1, and complex pairs outside the unit circle."""
    flip = fold = ns = 0
    for m in multipliers:
        m = complex(m)
        if abs(m.imag) <= _REAL * max(1.0, abs(m)):
            flip += m.real < -1
            fold += m.real > 1
        elif m.imag > 0:
            ns += abs(m) > 1
    return {"flip": int(flip), "fold": int(fold), "ns": int(ns)}


def _turns(points, i):
    """Whether the parameter turns back around the segment (i, i + 1): a fold, not a branch point."""
    steps = [points[j + 1].parameter - points[j].parameter for j in range(max(i - 1, 0), min(i + 2, len(points) - 1))]
    signs = [np.sign(d) for d in steps if d != 0]
    return any(a != b for a, b in zip(signs, signs[1:]))


def detect_between(points, i):
    """Detections between points ``i`` and ``i + 1`` of a branch."""
    a, b = points[i], points[i + 1]
    ca, cb = counts(a.multipliers), counts(b.multipliers)
    bracket = (min(a.parameter, b.parameter), max(a.parameter, b.parameter))
    found = []
    if ca["flip"] != cb["flip"]:
        found.append(Detection("flip", i, bracket))
    if ca["fold"] != cb["fold"]:
        found.append(Detection("fold" if _turns(points, i) else "branch", i, bracket))
    if ca["ns"] != cb["ns"]:
        found.append(Detection("ns", i, bracket))
    return found
