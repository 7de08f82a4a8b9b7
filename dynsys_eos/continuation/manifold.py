"""The dimension of the manifold of orbits a branch lies on, decided from all its points.

At each point the sweep counts the null directions of the orbit equations'
Jacobian (singular values below ``manifold_tolerance``) beyond the tangent.
Along a manifold of orbits (a symmetry, a valley of minima) these directions
are null at *every* point.  Next to a bifurcation its critical direction
adds small singular values that grow with the distance from it: the start
of a branch switched at a flip lies ~1e-6 from the flip, where the uv
period-2 equations have four extra singular values ~1e-12 (and the count
would be 7 instead of 3).  One point's spectrum cannot tell the two kinds
apart, so the branch's dimension is the count its points agree on: the most
common count, ties going to the smaller (an extra null direction is the
local accident, a missing one is not).

Examples
--------
>>> branch_manifold_dimension([7, 3, 3, 3])
3
>>> branch_manifold_dimension([7, 3])
3
>>> branch_manifold_dimension([0])
0
"""

from collections import Counter

__all__ = ["branch_manifold_dimension"]


def branch_manifold_dimension(counts):
    """The most common per-point null count (ties to the smaller); 0 for no points."""
    tally = Counter(int(c) for c in counts)
    if not tally:
        return 0
    return min(tally, key=lambda c: (-tally[c], c))
