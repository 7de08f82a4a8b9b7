"""The Krawczyk test for cyclic (multiple-shooting) systems, in O(N^2 m) ball operations.

Unknowns z = (u_0, ..., u_{k-1}, g): k cells of m numbers and q global numbers
(the varied parameter of a bifurcation point).  Equations:

    r_i = u_{i+1 mod k} - D_i Phi(u_i, g) = 0      (i = 0 .. k-1)
    r_N = A u_0 - b = 0                             (q normalizations)

with D_i = I except D_{k-1} = diag(last_signs) (-1 on an eigenvector's part
closes a flip's cycle: M v = -v).  With a point z~, a box Z around it and
any matrix C (here the float64 inverse of the Jacobian at z~), the Krawczyk
operator

    K = z~ - C G(z~) + (I - C DG[Z]) (Z - z~)

lying strictly inside Z proves that G has exactly one zero in Z, and that it
lies in K (Krawczyk 1969; Moore; Rump).  The Jacobian DG[Z] is block sparse
(identity blocks, one m x m block per cell, a dense g column), so C DG[Z] is
assembled block by block in O(N^2 m) instead of O(N^3).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import CertificationError

__all__ = ["CyclicSystem", "KrawczykOutcome", "krawczyk"]


@dataclass(frozen=True)
class CyclicSystem:
    """Equations u_{i+1} = D_i Phi(u_i, g) for i = 0..k-1 (cyclic) and A u_0 = b.

    ``cell(u, g)`` returns (Phi, Phi_u, Phi_g) as lists/arrays of balls
    (m, m x m, m x q) for ball vectors u (m) and g (q).
    """

    cell: object
    period: int
    cell_size: int
    globals_count: int = 0
    last_signs: tuple = None
    normalization: tuple = ()  # q pairs (row of m exact balls, rhs ball)

    @property
    def size(self):
        return self.period * self.cell_size + self.globals_count


@dataclass(frozen=True)
class KrawczykOutcome:
    """Whether K lies strictly inside the box, the enclosure K and a reason when not."""

    proved: bool
    enclosure: tuple
    reason: str


def _signs(system):
    return np.array(system.last_signs if system.last_signs is not None else [1] * system.cell_size, dtype=object)


def krawczyk(system, balls, center, box, box_text):
    """Run the Krawczyk test.

    Parameters
    ----------
    system : CyclicSystem
    balls : Balls
        Backend; call inside ``balls.scope()``.
    center : sequence of balls
        The point z~ (exact or nearly exact balls), length N.
    box : sequence of balls
        Balls enclosing the box Z (as returned by ``balls.box``).
    box_text : sequence of (mid, rad) strings
        The box as stated, for the strict inclusion test.
    """
    k, m, q = system.period, system.cell_size, system.globals_count
    N = system.size
    if len(center) != N or len(box) != N or len(box_text) != N:
        raise CertificationError(f"a box of {len(box)} numbers for a system of {N} unknowns")
    signs = _signs(system)
    g_center, g_box = list(center[k * m:]), list(box[k * m:])
    residual = np.empty(N, dtype=object)
    blocks, gcols = [], []
    for i in range(k):
        u_center = list(center[i * m:(i + 1) * m])
        nxt = (i + 1) % k
        phi, _, _ = system.cell(u_center, g_center)
        phi = np.array(phi, dtype=object)
        if i == k - 1:
            phi = phi * signs
        residual[i * m:(i + 1) * m] = np.array(center[nxt * m:(nxt + 1) * m], dtype=object) - phi
        _, phi_u, phi_g = system.cell(list(box[i * m:(i + 1) * m]), g_box)
        phi_u = np.array(phi_u, dtype=object).reshape(m, m)
        phi_g = np.array(phi_g, dtype=object).reshape(m, q)
        if i == k - 1:
            phi_u = phi_u * signs[:, None]
            phi_g = phi_g * signs[:, None]
        blocks.append(phi_u)
        gcols.append(phi_g)
    for j, (row, rhs) in enumerate(system.normalization):
        residual[k * m + j] = sum((a * b for a, b in zip(row, center[:m])), balls.zero()) - rhs
    for v in residual:
        if not balls.is_finite(v):
            return KrawczykOutcome(False, (), "the residual is not finite at the centre of the box")

    jac_mid = _midpoint_jacobian(system, balls, blocks, gcols)
    try:
        C = np.linalg.inv(jac_mid)
    except np.linalg.LinAlgError:
        return KrawczykOutcome(False, (), "the Jacobian at the centre is singular in float64")
    if not np.all(np.isfinite(C)):
        return KrawczykOutcome(False, (), "the float64 preconditioner overflowed")
    Cb = balls.exact_matrix(C)
    # C DG[Z], block column by block column
    CM = np.empty((N, N), dtype=object)
    for j in range(k):
        prev = (j - 1) % k
        cols = slice(j * m, (j + 1) * m)
        part = -(Cb[:, j * m:(j + 1) * m] @ blocks[j])
        part = part + Cb[:, prev * m:(prev + 1) * m]
        if j == 0 and q:
            A = np.array([list(row) for row, _ in system.normalization], dtype=object)
            part = part + Cb[:, k * m:] @ A
        CM[:, cols] = part
    if q:
        gpart = None
        for i in range(k):
            term = Cb[:, i * m:(i + 1) * m] @ gcols[i]
            gpart = term if gpart is None else gpart + term
        CM[:, k * m:] = -gpart
    deviation = np.array(box, dtype=object) - np.array(center, dtype=object)
    step = Cb @ residual
    identity_minus = -CM
    for i in range(N):
        identity_minus[i, i] = identity_minus[i, i] + 1
    K = np.array(center, dtype=object) - step + identity_minus @ deviation
    for i, (value, (mid, rad)) in enumerate(zip(K, box_text)):
        if not balls.is_finite(value) or not balls.strictly_inside(value, mid, rad):
            return KrawczykOutcome(False, tuple(K), f"K is not inside the box in component {i}")
    return KrawczykOutcome(True, tuple(K), "K lies strictly inside the box")


def _midpoint_jacobian(system, balls, blocks, gcols):
    k, m, q = system.period, system.cell_size, system.globals_count
    N = system.size
    J = np.zeros((N, N))
    mid = np.vectorize(lambda b: float(balls.mid_mpf(b)), otypes=[float])
    for i in range(k):
        rows = slice(i * m, (i + 1) * m)
        nxt = (i + 1) % k
        J[rows, i * m:(i + 1) * m] -= mid(blocks[i])
        J[rows, nxt * m:(nxt + 1) * m] += np.eye(m)
        if q:
            J[rows, k * m:] = -mid(gcols[i])
    for j, (row, _) in enumerate(system.normalization):
        J[k * m + j, :m] = [float(balls.mid_mpf(a)) for a in row]
    return J
