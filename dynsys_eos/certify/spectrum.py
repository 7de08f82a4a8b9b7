"""Rigorous enclosures of multipliers, linear solutions and normal-form coefficients.

* :func:`solve_linear`: x with A x = b for ball matrices, by an approximate
  inverse R and the bound |x - x~| <= ||R (b - A x~)|| / (1 - ||I - R A||)
  (max norms; valid whenever ||I - R A|| < 1, which also proves A nonsingular).
* :func:`multiplier_discs`: Gershgorin discs of Q^{-1} M Q, Q approximate
  eigenvectors of the midpoint of M and Q^{-1} enclosed as above.  A connected
  group of c discs holds exactly c eigenvalues, so a group entirely outside
  (inside) the unit circle proves c multipliers outside (inside).  For the
  symmetric Jacobians of GD fixed points Q is orthogonal and real
  (``mpmath.eigsy``), and the discs are intervals on the real line.
* :func:`flip_coefficient`, :func:`fold_coefficient`: Kuznetsov's normal-form
  coefficients evaluated in balls from Taylor jets of F^k along the orbit.
"""

from dataclasses import dataclass

import mpmath
import numpy as np

from ..errors import CertificationError

__all__ = ["solve_linear", "monodromy", "multiplier_discs", "MultiplierDiscs", "flip_coefficient",
           "fold_coefficient"]


def _mid_matrix(balls, A):
    return mpmath.matrix([[balls.mid_mpf(a) for a in row] for row in A])


def _norm_upper(balls, rows):
    """Upper bound of the max-row-sum norm of a ball matrix (an mpf)."""
    return max(mpmath.fsum(balls.abs_upper(a) for a in row) for row in rows)


def _disc(balls, radius, complex_=False):
    r = balls.hull(balls.exact(-radius), balls.exact(radius))
    return balls.complex(r, r) if complex_ else r


def _approximate_inverse(balls, A):
    with mpmath.workprec(balls.prec):
        mid = _mid_matrix(balls, A)
        try:
            return mid ** -1
        except ZeroDivisionError:
            raise CertificationError("a matrix to invert is singular at its midpoint") from None


def _as_balls(balls, matrix, complex_):
    rows, cols = matrix.rows, matrix.cols
    out = np.empty((rows, cols), dtype=object)
    for i in range(rows):
        for j in range(cols):
            z = matrix[i, j]
            if complex_:
                z = mpmath.mpc(z)
                out[i, j] = balls.complex(balls.exact(z.real), balls.exact(z.imag))
            else:
                out[i, j] = balls.exact(mpmath.mpf(z))
    return out


def enclosed_inverse(balls, A, complex_=False):
    """A ball matrix enclosing A^{-1} (A a ball or exact matrix as an object array)."""
    n = len(A)
    R = _approximate_inverse(balls, A)
    Rb = _as_balls(balls, R, complex_)
    E = -(Rb @ A)
    for i in range(n):
        E[i, i] = E[i, i] + 1
    beta = _norm_upper(balls, E)
    if not beta < 1:
        raise CertificationError(f"could not enclose an inverse: ||I - R A|| <= {mpmath.nstr(beta, 3)} is not below 1")
    with mpmath.workprec(balls.prec + 20):
        bound = beta / (1 - beta) * _norm_upper(balls, Rb) * (1 + mpmath.mpf(2) ** -30)
    return Rb + _disc(balls, bound, complex_)


def solve_linear(balls, A, b):
    """Balls enclosing the solution of A x = b (A: n x n object array of balls, b: n balls)."""
    return enclosed_inverse(balls, A) @ np.array(b, dtype=object)


def monodromy(balls, jacobians):
    """The ball product A_{k-1} ... A_0."""
    M = None
    for A in jacobians:
        A = np.array(A, dtype=object)
        M = A if M is None else A @ M
    return M


@dataclass(frozen=True)
class MultiplierDiscs:
    """Discs enclosing the multipliers, and what they prove.

    ``groups`` are lists of disc indices that overlap (a group of c discs holds
    c multipliers); ``outside``/``inside`` count multipliers proved outside/inside
    the unit circle; ``undecided`` counts those in groups that meet the circle.
    """

    centers: tuple  # balls (real or complex)
    radii: tuple  # balls
    groups: tuple
    outside: int
    inside: int
    undecided: int


def multiplier_discs(balls, M, symmetric=False):
    """Gershgorin discs of the ball matrix M after an approximate diagonalisation."""
    n = len(M)
    with mpmath.workprec(balls.prec):
        mid = _mid_matrix(balls, M)
        if symmetric:
            mid = (mid + mid.T) / 2
            _, Q = mpmath.eigsy(mid)
            complex_ = False
        else:
            values, Q = mpmath.eig(mid)
            complex_ = any(abs(mpmath.im(v)) > 0 for v in values)
            if not complex_:
                Q = mpmath.matrix([[mpmath.re(Q[i, j]) for j in range(n)] for i in range(n)])
    Qb = _as_balls(balls, Q, complex_)
    Qinv = enclosed_inverse(balls, Qb, complex_)
    B = Qinv @ np.array(M, dtype=object) @ Qb
    centers, radii = [], []
    for i in range(n):
        c = B[i, i]
        center_mid = balls.mid_mpf(c)
        exact_center = (balls.complex(balls.exact(mpmath.re(center_mid)), balls.exact(mpmath.im(center_mid)))
                        if complex_ else balls.exact(center_mid))
        spread = balls.exact(balls.abs_upper(c - exact_center))
        for j in range(n):
            if j != i:
                spread = spread + balls.exact(balls.abs_upper(B[i, j]))
        centers.append(exact_center)
        radii.append(spread)
    groups = _overlap_groups(balls, centers, radii)
    one = balls.exact(1)
    outside = inside = undecided = 0
    for group in groups:
        if all(balls.less(one + radii[i], abs(centers[i])) for i in group):
            outside += len(group)
        elif all(balls.less(abs(centers[i]) + radii[i], one) for i in group):
            inside += len(group)
        else:
            undecided += len(group)
    return MultiplierDiscs(tuple(centers), tuple(radii), tuple(tuple(g) for g in groups), outside, inside, undecided)


def _overlap_groups(balls, centers, radii):
    n = len(centers)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            apart = balls.less(radii[i] + radii[j], abs(centers[i] - centers[j]))
            if not apart:
                parent[root(i)] = root(j)
    groups = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _taylor_second_third(balls, jets, orbit, params, jacobians, q, third=True):
    """Taylor coefficients (c2, c3) of F^k(x_0 + t q) - x_0 along the orbit, in balls."""
    n = len(q)
    zero = [balls.zero()] * n
    y1, y2, y3 = np.array(q, dtype=object), np.array(zero, dtype=object), np.array(zero, dtype=object)
    for x, A in zip(orbit, jacobians):
        A = np.array(A, dtype=object)
        _, d2_11, d3_111 = jets.at(x, params, list(y1))
        new2 = A @ y2 + np.array(d2_11, dtype=object) / 2
        if third:
            _, d2_22, _ = jets.at(x, params, list(y2))
            _, d2_ss, _ = jets.at(x, params, list(y1 + y2))
            mixed = (np.array(d2_ss, dtype=object) - np.array(d2_11, dtype=object) - np.array(d2_22, dtype=object)) / 2
            y3 = A @ y3 + mixed + np.array(d3_111, dtype=object) / 6
        y1, y2 = A @ y1, new2
    return y2, y3


def _left_vector(balls, M, q, shift):
    """p with M^T p = shift p and <p, q> = 1, from the bordered system [[M^T - shift I, q], [q^T, 0]]."""
    n = len(q)
    B = np.empty((n + 1, n + 1), dtype=object)
    for i in range(n):
        for j in range(n):
            B[i, j] = M[j, i] - (shift if i == j else 0)
        B[i, n] = q[i]
        B[n, i] = q[i]
    B[n, n] = balls.zero()
    rhs = [balls.zero()] * n + [balls.exact(1)]
    return solve_linear(balls, B, rhs)[:n]


def _unit(balls, v, sqrt):
    norm = sqrt(sum((a * a for a in v), balls.zero()))
    return np.array([a / norm for a in v], dtype=object)


def flip_coefficient(balls, jets, orbit, params, jacobians, v0, sqrt):
    """Ball enclosure of c = <p, C(q,q,q)>/6 + <p, B(q, (I - M)^{-1} B(q,q))>/2 (|q| = 1)."""
    n = len(v0)
    M = monodromy(balls, jacobians)
    q = _unit(balls, v0, sqrt)
    p = _left_vector(balls, M, q, -1)
    c2, c3 = _taylor_second_third(balls, jets, orbit, params, jacobians, q)
    Bqq, Cqqq = 2 * c2, 6 * c3
    I_minus_M = -M
    for i in range(n):
        I_minus_M[i, i] = I_minus_M[i, i] + 1
    r = solve_linear(balls, I_minus_M, list(Bqq))

    def B_same(u):
        second, _ = _taylor_second_third(balls, jets, orbit, params, jacobians, list(u), third=False)
        return 2 * second

    Bqr = (B_same(q + r) - B_same(q - r)) / 4
    return (p @ Cqqq) / 6 + (p @ Bqr) / 2


def fold_coefficient(balls, jets, orbit, params, jacobians, v0, sqrt):
    """Ball enclosure of a = <p, B(q, q)>/2 (|q| = 1, M q = q, M^T p = p, <p, q> = 1)."""
    M = monodromy(balls, jacobians)
    q = _unit(balls, v0, sqrt)
    p = _left_vector(balls, M, q, 1)
    c2, _ = _taylor_second_third(balls, jets, orbit, params, jacobians, q, third=False)
    return (p @ (2 * c2)) / 2
