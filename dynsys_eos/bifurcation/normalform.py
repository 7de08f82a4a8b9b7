"""Normal-form coefficients from exact derivatives of the k-th iterate.

For the k-th iterate f = F^k at the critical point x_0, with A = M its
Jacobian, B and C its second and third derivatives (from third-order Taylor
propagation along the orbit, :func:`~.derivatives.taylor_iterate`):

* flip (A q = -q, A^T p = -p, <p, q> = 1, |q| = 1): the coefficient of the
  normal form eta -> -eta + c eta^3 is (Kuznetsov, Elements of Applied
  Bifurcation Theory, sec. 5.4)

      c = 1/6 <p, C(q,q,q)> + 1/2 <p, B(q, (I - A)^{-1} B(q,q))>;

  the second iterate is eta -> eta - 2 c eta^3, so c > 0 means a stable
  period-2k orbit is born where the period-k orbit loses stability
  (supercritical), c < 0 an unstable one (subcritical).  For the logistic
  map at r = 3, c = 9.
* fold (A q = q, A^T p = p): a = 1/2 <p, B(q,q)>.

B(q, r) is obtained by polarization, (B(q+r, q+r) - B(q-r, q-r)) / 4.
"""

import numpy as np

from ..linalg import bordered_solve, null_vector, solve
from .derivatives import taylor_iterate

__all__ = ["critical_vectors", "flip_coefficient", "fold_coefficient"]


def critical_vectors(ctx, M, shift):
    """Right and left null vectors q, p of M - shift I with |q| = 1 and <p, q> = 1."""
    n = len(M)
    B = M - shift * ctx.identity(n)
    Bf = np.array(B, dtype=float)
    u, _, vt = np.linalg.svd(Bf)
    v_guess, w_guess = vt[-1], u[:, -1]
    q, _ = null_vector(ctx, B, v_guess, w_guess)
    p, _ = null_vector(ctx, B.T, w_guess, v_guess)
    norm = _sqrt(ctx, q @ q)
    q = q / norm
    p = p / (p @ q)
    return q, p


def _sqrt(ctx, x):
    import mpmath

    return np.sqrt(x) if ctx.kind == "float64" else mpmath.sqrt(x)


def _second(ctx, map_, values, orbit, jacobians, u):
    """B(u, u) of the k-th iterate."""
    _, c2, _ = taylor_iterate(ctx, map_, values, orbit, jacobians, u, order=2)
    return 2 * c2


def flip_coefficient(ctx, map_, values, orbit, jacobians, M, manifold_dimension=0):
    """The flip normal-form coefficient c (see the module docstring) and the eigenvector q.

    On a manifold of orbits (``manifold_dimension`` m > 0) I - A is singular
    along it; (I - A) r = B(q,q) is then solved in the section transverse to
    the manifold (bordered with its right and left null vectors), i.e. the
    coefficient of the flip within that section.
    """
    q, p = critical_vectors(ctx, M, -1)
    _, c2, c3 = taylor_iterate(ctx, map_, values, orbit, jacobians, q, order=3)
    Bqq, Cqqq = 2 * c2, 6 * c3
    r = _solve_transverse(ctx, ctx.identity(len(M)) - M, Bqq, manifold_dimension)
    Bqr = (_second(ctx, map_, values, orbit, jacobians, q + r) - _second(ctx, map_, values, orbit, jacobians, q - r)) / 4
    return (p @ Cqqq) / 6 + (p @ Bqr) / 2, q


def _solve_transverse(ctx, A, b, m):
    if not m:
        return solve(ctx, A, b)
    u, _, vt = np.linalg.svd(np.array(A, dtype=float))
    return bordered_solve(ctx, A, b, vt[len(A) - m:].T, u[:, len(A) - m:])[0]


def fold_coefficient(ctx, map_, values, orbit, jacobians, M):
    """The fold coefficient a = <p, B(q, q)>/2 and the eigenvector q."""
    q, p = critical_vectors(ctx, M, 1)
    return (p @ _second(ctx, map_, values, orbit, jacobians, q)) / 2, q
