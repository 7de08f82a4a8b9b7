"""Small dense linear algebra in every arithmetic context.

Matrices are numpy arrays (``float`` for float64, ``object`` for mp and
ball).  ``mpmath.lu_solve`` is avoided on purpose: a plain LU with row operations
vectorized over numpy object arrays avoids its per-entry overhead (measured
here on a 33 x 33 system at 50 digits: 22 ms against 51 ms; DESIGN.md,
"Where the time goes", has more).

Examples
--------
>>> from dynsys_eos.arith import MP
>>> ctx = MP(dps=30)
>>> with ctx.scope():
...     A = np.array([[ctx.number(2), ctx.number(1)], [ctx.number(1), ctx.number(3)]], dtype=object)
...     x = solve(ctx, A, np.array([ctx.number(1), ctx.number(2)], dtype=object))
>>> [ctx.format(v, 20) for v in x]
['0.20000000000000000000', '0.60000000000000000000']
"""

import mpmath
import numpy as np

from .errors import ConvergenceError

__all__ = ["solve", "bordered_solve", "null_vector", "eigvals", "matmul_chain", "singular_values_float", "top_symmetric_eigenvalue"]


def solve(ctx, A, b):
    """Solve ``A x = b`` (``b`` a vector or a matrix of columns) in ``ctx``.

    Raises
    ------
    ConvergenceError
        If ``A`` is singular to working precision.
    """
    if ctx.kind == "float64":
        try:
            return np.linalg.solve(np.asarray(A, dtype=float), np.asarray(b, dtype=float))
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError(f"singular linear system ({exc})") from None
    return _lu_solve_object(ctx, A, b)


def _lu_solve_object(ctx, A, b):
    """Gaussian elimination with partial pivoting on object arrays."""
    A = np.array(A, dtype=object, copy=True)
    vector = np.ndim(b) == 1
    B = np.array(b, dtype=object, copy=True).reshape(len(A), -1)
    n = len(A)
    magnitude = _magnitude(ctx)
    for k in range(n):
        sizes = [magnitude(A[i, k]) for i in range(k, n)]
        p = k + int(np.argmax(sizes))
        if sizes[p - k] == 0:
            raise ConvergenceError(f"singular linear system (zero pivot in column {k} of {n})")
        if p != k:
            A[[k, p]] = A[[p, k]]
            B[[k, p]] = B[[p, k]]
        if k + 1 < n:
            factors = A[k + 1:, k] / A[k, k]
            A[k + 1:, k:] -= np.outer(factors, A[k, k:])
            B[k + 1:] -= np.outer(factors, B[k])
    X = np.empty_like(B)
    for k in range(n - 1, -1, -1):
        rhs = B[k] - (A[k, k + 1:] @ X[k + 1:] if k + 1 < n else 0)
        X[k] = rhs / A[k, k]
    return X[:, 0] if vector else X


def bordered_solve(ctx, A, b, right, left, bottom=None):
    """Solve the bordered system [[A, left], [right^T, 0]] [x; y] = [b; bottom]; returns (x, y).

    ``right`` and ``left`` are n x m (or length-n vectors for m = 1), in any
    context or float64 (converted); ``bottom`` defaults to zeros.  With
    ``right``/``left`` spanning the right/left null spaces of a singular A
    the system is regular: the solution is the one orthogonal to the null
    space (a section condition) with the residual's null component in y.
    """
    n = len(A)
    right = ctx.convert_array(np.asarray(right).reshape(n, -1))
    left = ctx.convert_array(np.asarray(left).reshape(n, -1))
    m = right.shape[1]
    corner = ctx.zeros((m, m))
    system = np.block([[A, left], [right.T, corner]])
    tail = ctx.zeros(m) if bottom is None else ctx.convert_array(np.asarray(bottom).reshape(m))
    solution = solve(ctx, system, np.concatenate([np.asarray(b), tail]))
    return solution[:n], solution[n:]


def null_vector(ctx, B, v, w):
    """(phi, g) from [[B, w], [v^T, 0]] [phi; g] = [0; 1]: phi spans ker B and g = 0 when B is singular.

    With v, w approximating the right and left null vectors, g is a smooth
    function that vanishes exactly where B is singular (minimally augmented
    systems).
    """
    phi, g = bordered_solve(ctx, B, ctx.zeros(len(B)), v, w, bottom=[1])
    return phi, g[0]


def _magnitude(ctx):
    if ctx.kind == "ball":
        return lambda v: abs(ctx.to_mpf(v))
    return abs


def matmul_chain(ctx, matrices):
    """The product ``matrices[-1] @ ... @ matrices[0]`` (later maps act last)."""
    product = matrices[0]
    for matrix in matrices[1:]:
        product = matrix @ product
    return product


def eigvals(ctx, M, symmetric=False):
    """Eigenvalues of a square matrix in ``ctx`` (mpf/mpc for mp, floats/complex for float64).

    Sorted by decreasing modulus.  Ball matrices are treated by their
    midpoints (a rigorous enclosure belongs to the certification layer).
    """
    n = len(M)
    if ctx.kind == "float64":
        M = np.asarray(M, dtype=float)
        values = np.linalg.eigvalsh(M) if symmetric else np.linalg.eigvals(M)
        values = [complex(v) if abs(complex(v).imag) > 0 else float(np.real(v)) for v in values]
    elif n == 1:
        values = [ctx.to_mpf(M[0, 0]) if ctx.kind == "ball" else M[0, 0]]
    else:
        matrix = mpmath.matrix([[ctx.to_mpf(v) if ctx.kind == "ball" else v for v in row] for row in M])
        if symmetric:
            values = list(mpmath.eigsy(matrix, eigvals_only=True))
        else:
            values = _general_eigvals(matrix)
        values = [v.real if isinstance(v, mpmath.mpc) and v.imag == 0 else v for v in values]
    return sorted(values, key=lambda v: -abs(v))


def _general_eigvals(matrix):
    """mpmath's QR, retried after a Householder similarity when it stalls.

    Matrices with exact structure (repeated multipliers 1 along a manifold of
    orbits, say) can stall the shifted QR; a reflection H M H (H = H^-1)
    keeps the eigenvalues and breaks the structure.
    """
    try:
        return list(mpmath.eig(matrix, left=False, right=False))
    except RuntimeError:
        n = matrix.rows
        v = mpmath.matrix([mpmath.mpf(1) / (i + 2) + mpmath.sqrt(i + 3) / 7 for i in range(n)])
        H = mpmath.eye(n) - (2 / (v.T * v)[0]) * (v * v.T)
        return list(mpmath.eig(H * matrix * H, left=False, right=False))


def singular_values_float(M):
    """Singular values of a matrix in any context, computed in float64 (for rank decisions)."""
    return np.linalg.svd(np.asarray(M, dtype=float), compute_uv=False)


def top_symmetric_eigenvalue(ctx, H):
    """Largest eigenvalue of a symmetric mp matrix.

    A float64 eigenvector starts a Rayleigh quotient iteration in ``ctx``
    (cubically convergent), so only O(1) solves are done at full precision.
    """
    n = len(H)
    Hf = np.array(H, dtype=float)
    w, V = np.linalg.eigh(Hf)
    v = ctx.array([repr(float(c)) for c in V[:, -1]])
    mu = (v @ (H @ v)) / (v @ v)
    target = mpmath.mpf(2) ** (-int(ctx.prec * 0.95))
    for _ in range(12):
        try:
            w_ = solve(ctx, H - mu * ctx.identity(n), v)
        except ConvergenceError:  # mu is an eigenvalue to working precision
            break
        v = w_ / mpmath.sqrt(w_ @ w_)
        new_mu = (v @ (H @ v)) / (v @ v)
        converged = abs(new_mu - mu) <= target * abs(new_mu)
        mu = new_mu
        if converged:
            break
    return mu
