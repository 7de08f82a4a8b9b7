"""Conservation laws of gradient flow: discovery, the count, and how gradient descent breaks them.

A conservation law of the gradient flow ``theta' = -grad L(theta; p)`` for
every value of the parameters ``p`` (targets, data) is a function ``h``
with ``grad h . grad L = 0`` identically.  :func:`conservation_laws` finds

* every polynomial law up to a given degree, exactly: linear algebra over
  the rationals on the coefficients of ``h`` (the equations come from
  random integer points; the null space is then *verified* symbolically, so
  the space returned is exactly the space of polynomial laws of that degree),
  in a reduced (row-echelon) basis;
* how many independent laws exist at all (polynomial or not), as
  ``D - dim Lie(W)(theta)`` (Marcotte, Gribonval, Peyre, NeurIPS 2023), with
  the rank computed exactly at random integer points (:mod:`dynsys_eos.lie`),
  so ``complete`` says whether the polynomial laws found are all of them.

Under gradient descent a law is no longer conserved: :func:`gd_step_factor`
finds the exact per-step identity ``h(F(theta)) = q(theta) h(theta)`` when
one exists, and :func:`laws_along_gd` follows laws step by step.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> result = conservation_laws(build_model("minimalist2").model.loss)
>>> result.laws, result.count, result.complete
((x**2 - y**2,), 1, True)
>>> factor = gd_step_factor(build_model("minimalist2").model.loss, result.laws[0])
>>> factor
-lr**2*x**2*y**2*(x*y - 1)**2*(x*y + 1)**2 + 1
"""

import itertools
import math
import random
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

from .errors import ModelError, ParameterError
from .lie import Echelon, LieRank, lie_rank, model_fields, random_point, rational_nullspace

__all__ = ["LawOptions", "ConservationLaws", "conservation_laws", "polynomial_laws", "lie_derivative",
           "factorization_loss", "known_laws", "gd_step_factor", "LawsAlongGD", "laws_along_gd", "balancing_gap", "law_function_of",
           "same_span", "singular_direction_gaps"]


@dataclass(frozen=True)
class LawOptions:
    """Options of :func:`conservation_laws`.

    Parameters
    ----------
    degree : int
        Largest total degree of the polynomial laws searched (1..8).
    seed : int
        Seed of the random integer points (results are reproducible).
    rank_points : int
        Random points at which the Lie-algebra rank is computed (the largest is kept).
    max_unknowns : int
        Refuse searches with more candidate monomials than this (the count is
        still computed).
    backend : str
        Polynomial arithmetic: ``"auto"`` (python-flint if installed), ``"flint"`` or ``"sympy"``.
    """

    degree: int = 2
    seed: int = 0
    rank_points: int = 2
    max_unknowns: int = 20000
    backend: str = "auto"

    def __post_init__(self):
        if not isinstance(self.degree, int) or not 1 <= self.degree <= 8:
            raise ParameterError(f"degree must be an integer from 1 to 8, got {self.degree!r}")
        if not isinstance(self.rank_points, int) or self.rank_points < 1:
            raise ParameterError(f"rank_points must be a positive integer, got {self.rank_points!r}")
        if not isinstance(self.max_unknowns, int) or self.max_unknowns < 1:
            raise ParameterError(f"max_unknowns must be a positive integer, got {self.max_unknowns!r}")
        if self.backend not in ("auto", "flint", "sympy"):
            raise ParameterError(f"unknown backend {self.backend!r}; valid: auto, flint, sympy")


@dataclass(frozen=True)
class ConservationLaws:
    """What :func:`conservation_laws` found.

    Attributes
    ----------
    success : bool
        True when the polynomial search ran (``status`` "complete" or "incomplete").
    status : str
        ``"complete"`` (the polynomial laws reach the count), ``"incomplete"``
        (fewer independent polynomial laws of this degree than the count), or
        ``"too-large"`` (search refused by ``max_unknowns``; the count stands).
    message : str
    laws : tuple of sympy.Expr
        A basis of the polynomial laws of degree <= ``degree`` (reduced echelon form, integer coefficients).
    count : int
        Number of independent conservation laws, ``dimension - lie.rank`` (exact given generic points).
    dimension : int
        Number of state variables ``D``.
    independent : int
        Functional rank of the laws found (rank of their gradients at a random point, exact).
    complete : bool
        ``independent == count``.
    lie : LieRank
        How the count was computed.
    degree : int
    held : tuple of str
        Parameters held symbolic (the laws hold for all their values).
    fixed : dict
        Parameters fixed to values.
    constants : tuple
        Irrational constants treated as independent symbols (laws stay genuine; the count is then a lower bound).
    seconds : float
    """

    success: bool
    status: str
    message: str
    laws: tuple
    count: int
    dimension: int
    independent: int
    complete: bool
    lie: LieRank
    degree: int
    held: tuple
    fixed: dict
    constants: tuple = ()
    seconds: float = 0.0
    state: tuple = field(default=(), repr=False)


def _monomials(D, degree):
    """Exponent tuples of total degree ``degree`` in D variables (lexicographically largest first)."""
    out = []
    for combo in itertools.combinations_with_replacement(range(D), degree):
        e = [0] * D
        for i in combo:
            e[i] += 1
        out.append(tuple(e))
    return out


def _monomial_value(exponent, point):
    value = 1
    for x, e in zip(point, exponent):
        if e:
            value *= x**e
    return value


def _equations(fields, monomials, point, field_values):
    """Rows: for each field V, the coefficients of ``grad h . V`` at the point, one per monomial of h."""
    D = fields.dimension
    rows = [[] for _ in field_values]
    for e in monomials:
        partials = []
        for j in range(D):
            if e[j]:
                lowered = e[:j] + (e[j] - 1,) + e[j + 1:]
                partials.append((j, e[j] * _monomial_value(lowered, point)))
        for row, values in zip(rows, field_values):
            row.append(sum((c * values[j] for j, c in partials), 0))
    return rows


def _verify(fields, monomials, coefficients):
    """Whether ``h = sum c_m m`` has ``grad h . V = 0`` exactly for every field (polynomial identity)."""
    ring, D = fields.ring, fields.dimension
    pad = (0,) * (len(ring) - D)
    h = ring.from_terms({m + pad: c for m, c in zip(monomials, coefficients) if c != 0})
    gradient = [ring.derivative(h, j) for j in range(D)]
    for V in fields.fields:
        total = ring.zero()
        for g, v in zip(gradient, V):
            if not ring.is_zero(g) and not ring.is_zero(v):
                total = total + g * v
        if not ring.is_zero(total):
            return False
    return True


def polynomial_laws(fields, monomials, seed=0):
    """A reduced basis (rows of rationals over ``monomials``) of the polynomial laws spanned by ``monomials``.

    Equations from random integer points give a space that contains every
    law; each basis vector is then verified exactly, so the space returned is
    exactly the laws' space.  If a vector fails (a point was unlucky), more
    points are added.
    """
    ring = fields.ring
    rng = random.Random(seed)
    unknowns = len(monomials)
    per_point = max(1, len(fields.fields))
    npoints = -(-(unknowns + 8) // per_point)
    rows = []
    for attempt in range(6):
        while len(rows) < npoints * per_point:
            point = random_point(fields.dimension, rng, size=50)
            native = [ring.native(v) for v in point] + [ring.native(1)] * (len(ring) - fields.dimension)
            values = [[ring.evaluate(c, native) for c in V] for V in fields.fields]
            rows.extend(_equations(fields, monomials, [ring.native(v) for v in point], values))
        basis = rational_nullspace(rows, unknowns)
        if all(_verify(fields, monomials, b) for b in basis):
            return basis
        npoints *= 2
    raise ModelError("polynomial law search: a candidate law failed the exact check after 6 rounds of points")


def _as_expression(coefficients, monomials, symbols):
    """A primitive integer polynomial (positive leading coefficient) as a sympy expression."""
    pairs = [(c, m) for c, m in zip(coefficients, monomials) if c != 0]
    scale = math.lcm(*[int(c.q) for c, _ in pairs])
    ints = [int(c * scale) for c, _ in pairs]
    g = math.gcd(*ints)
    sign = 1 if ints[0] > 0 else -1
    return sympy.Add(*[sympy.Integer(sign * i // g) * sympy.Mul(*[s**e for s, e in zip(symbols, m)])
                       for i, (_, m) in zip(ints, pairs)])


def conservation_laws(loss, degree=2, fixed=None, options=None):
    """Conservation laws of the gradient flow of ``loss`` for all values of its parameters.

    Parameters
    ----------
    loss : Loss
        Polynomial in its state and parameters.
    degree : int
        Largest degree of the polynomial laws (overridden by ``options.degree`` when options are given).
    fixed : dict, optional
        Parameter name -> value; these parameters are fixed, the others held symbolic.
    options : LawOptions, optional

    Returns
    -------
    ConservationLaws
    """
    options = options or LawOptions(degree=degree)
    start = time.perf_counter()
    fields = model_fields(loss, fixed, backend=options.backend)
    lie = lie_rank(fields, seed=options.seed, points=options.rank_points)
    D = fields.dimension
    count = D - lie.rank
    symbols = fields.state
    groups = ([_monomials(D, k) for k in range(1, options.degree + 1)] if fields.homogeneous
              else [[m for k in range(1, options.degree + 1) for m in _monomials(D, k)]])
    unknowns = sum(len(g) for g in groups)
    common = dict(count=count, dimension=D, lie=lie, degree=options.degree, held=fields.held,
                  fixed=dict(fixed or {}), constants=fields.constants, state=tuple(symbols))
    if unknowns > options.max_unknowns:
        return ConservationLaws(False, "too-large", f"{unknowns} candidate monomials exceed max_unknowns="
                                f"{options.max_unknowns}; lower the degree (the count {count} stands)", (), independent=0,
                                complete=False, seconds=time.perf_counter() - start, **common)
    laws = []
    for group in groups:
        for row in polynomial_laws(fields, group, seed=options.seed + len(group)):
            laws.append(_as_expression(row, group, symbols))
    independent = _functional_rank(laws, symbols, options.seed)
    complete = independent == count
    status = "complete" if complete else "incomplete"
    message = (f"{len(laws)} polynomial law(s) of degree <= {options.degree}, {independent} functionally independent; "
               f"{count} independent law(s) exist ({D} variables - Lie-algebra rank {lie.rank})")
    if not complete:
        message += f"; {count - independent} law(s) not found at this degree (try a higher --degree)"
    if fields.constants:
        message += ("; irrational constants " + ", ".join(map(str, fields.constants))
                    + " were treated as independent symbols (the count is then a lower bound)")
    return ConservationLaws(True, status, message, tuple(laws), independent=independent, complete=complete,
                            seconds=time.perf_counter() - start, **common)


def _functional_rank(laws, symbols, seed):
    """Rank of the gradients of ``laws`` at a random integer point (exact)."""
    if not laws:
        return 0
    rng = random.Random(seed + 7919)
    point = dict(zip(symbols, random_point(len(symbols), rng, size=10**4)))
    echelon = Echelon(len(symbols))
    for law in laws:
        echelon.add([sympy.diff(law, s).xreplace(point) for s in symbols])
    return echelon.rank


def lie_derivative(law, loss):
    """``grad h . grad L`` expanded (zero for a conservation law, for every parameter value)."""
    return sympy.expand(sum(sympy.diff(law, s) * sympy.diff(loss.expr, s) for s in loss.state))


# -- models for laws -----------------------------------------------------------------------------

def factorization_loss(n, m, r):
    """The two-layer factorization ``1/2 ||U V^T - Y||_F^2``, U (n x r), V (m x r), the target Y symbolic.

    Its conservation laws are the entries of ``U^T U - V^T V`` (r(r+1)/2 of them when r <= min(n, m)).

    >>> loss = factorization_loss(2, 2, 1)
    >>> loss.state_names, len(loss.parameter_names)
    (('U1_1', 'U2_1', 'V1_1', 'V2_1'), 4)
    """
    from .loss import Loss

    for name, value in (("n", n), ("m", m), ("r", r)):
        if not isinstance(value, int) or not 1 <= value <= 64:
            raise ParameterError(f"{name} must be an integer from 1 to 64, got {value!r}")
    U = sympy.Matrix(n, r, lambda i, j: sympy.Symbol(f"U{i + 1}_{j + 1}", real=True))
    V = sympy.Matrix(m, r, lambda i, j: sympy.Symbol(f"V{i + 1}_{j + 1}", real=True))
    Y = sympy.Matrix(n, m, lambda i, j: sympy.Symbol(f"Y{i + 1}_{j + 1}", real=True))
    residual = U * V.T - Y
    defaults = {f"Y{i + 1}_{j + 1}": sympy.Integer(int(i == j)) for i in range(n) for j in range(m)}
    return Loss(sum(e**2 for e in residual) / 2, list(U) + list(V), list(Y), defaults, name="uvt")


def _upper(matrix):
    return [matrix[i, j] for i in range(matrix.rows) for j in range(i, matrix.cols)]


def known_laws(name, state, structure):
    """The textbook conservation laws of a seed model, as sympy expressions in its state symbols.

    ``scalar-net``: w_{i+1}^2 - w_i^2; ``minimalist``: x^2 - y^2, y^2 - z^2, z^2 - w^2;
    ``minimalist2``: x^2 - y^2; ``uv``: the entries of v v^T - U U^T; ``dmf``: the entries of
    W_{l+1}^T W_{l+1} - W_l W_l^T; ``uvt``: the entries of U^T U - V^T V.
    """
    s = list(state)
    if name in ("scalar-net", "minimalist", "minimalist2"):
        return [s[i + 1] ** 2 - s[i] ** 2 for i in range(len(s) - 1)]
    if name == "uv":
        n, d = structure["n"], structure["d"]
        U, v = sympy.Matrix(n, d, s[: n * d]), sympy.Matrix(n, 1, s[n * d:])
        return _upper(sympy.expand(v * v.T - U * U.T))
    if name == "dmf":
        L, d = structure["depth"], structure["dim"]
        Ws = [sympy.Matrix(d, d, s[l * d * d:(l + 1) * d * d]) for l in range(L)]
        return [e for l in range(L - 1) for e in _upper(sympy.expand(Ws[l + 1].T * Ws[l + 1] - Ws[l] * Ws[l].T))]
    if name == "uvt":
        n, m, r = structure["n"], structure["m"], structure["r"]
        U, V = sympy.Matrix(n, r, s[: n * r]), sympy.Matrix(m, r, s[n * r:])
        return _upper(sympy.expand(U.T * U - V.T * V))
    raise ModelError(f"no textbook laws recorded for {name!r}; known: scalar-net, minimalist, minimalist2, uv, dmf, uvt")


def same_span(first, second, symbols):
    """Whether two lists of polynomials span the same linear space (exact)."""
    polys = [sympy.Poly(sympy.expand(e), *symbols) for e in list(first) + list(second)]
    monomials = sorted({m for p in polys for m in p.monoms()})
    rows = [[p.coeff_monomial(m) for m in monomials] for p in polys]

    def rank(rs):
        echelon = Echelon(len(monomials))
        for r in rs:
            echelon.add(r)
        return echelon.rank

    a, b = rank(rows[: len(first)]), rank(rows[len(first):])
    return a == b == rank(rows)


# -- gradient descent ---------------------------------------------------------------------------

def gd_step_factor(loss, law, lr=None):
    """The exact factor ``q`` with ``h(theta - lr grad L) = q(theta) h(theta)``, or None if h does not divide.

    The factor is a polynomial in the state, the parameters and ``lr``
    (returned as ``1 - factored``).  For ``minimalist2`` and ``h = x^2 - y^2`` it is
    ``1 - lr^2 (1 - x^2 y^2)^2 x^2 y^2``: the law shrinks by that factor at
    every step, so it decays whenever GD keeps oscillating away from the
    minimum (beyond the edge of stability).
    """
    lr = lr if lr is not None else sympy.Symbol("lr", real=True)
    gradient = [sympy.diff(loss.expr, s) for s in loss.state]
    image = sympy.expand(law.xreplace({s: s - lr * g for s, g in zip(loss.state, gradient)}))
    quotient, remainder = sympy.div(image, sympy.expand(law), *loss.state)
    if remainder != 0:
        return None
    return 1 - sympy.factor(1 - quotient)  # written as 1 - (what GD takes away per step)


@dataclass(frozen=True)
class LawsAlongGD:
    """Laws evaluated along a GD trajectory.

    Attributes
    ----------
    values : numpy.ndarray
        ``(steps + 1, len(laws))`` law values (float64 or mpf objects).
    gap : numpy.ndarray
        Euclidean norm of the law values at each step (the "balancing gap" for balancedness laws).
    states : numpy.ndarray
        The iterates, ``(steps + 1, D)``.
    laws : tuple
    parameters : dict
    ctx : ArithmeticContext
    """

    values: np.ndarray = field(repr=False)
    gap: np.ndarray = field(repr=False)
    states: np.ndarray = field(repr=False)
    laws: tuple
    parameters: dict
    ctx: object

    def step_factors(self):
        """``values[k + 1] / values[k]`` for each law (compare with :func:`gd_step_factor` at ``states[k]``).

        NaN where ``values[k]`` is zero.  The ratio loses the digits the law loses to cancellation: a law of
        size 1e-20 computed at 40 digits gives a ratio good to about 20.
        """
        before, after = self.values[:-1], self.values[1:]
        out = np.empty(before.shape, dtype=before.dtype)
        with self.ctx.scope():  # mp numbers divide at the working precision only inside it
            for index, value in np.ndenumerate(before):
                out[index] = after[index] / value if value != 0 else float("nan")
        return out


def laws_along_gd(map_, laws, start, steps, parameters=None, ctx=None):
    """Iterate the map ``steps`` times from ``start`` and evaluate each law at every iterate.

    Parameters
    ----------
    map_ : Map
        A GD map (any map whose state the laws are written in).
    laws : sequence of sympy.Expr
        In the map's state (and parameter) symbols.
    start : sequence
        Exact numbers or strings.
    steps : int
    parameters : dict, optional
        Overrides of the map's parameters (``lr``, targets).
    ctx : ArithmeticContext, optional
        Float64 by default; an MP context for steps where the law's change is below double precision.
    """
    from .arith import Float64
    from .values import exact_value

    if not isinstance(steps, int) or steps < 0:
        raise ParameterError(f"steps must be a non-negative integer, got {steps!r}")
    ctx = ctx or Float64()
    values_in = map_.parameter_values(parameters)
    laws, law_function = law_function_of(laws, map_.state_names, map_.parameter_names)
    evaluator = map_.bind(ctx, parameters)
    with ctx.scope():
        law_eval = law_function.compile(ctx).bind(values_in)
        x = ctx.array([exact_value(v, "start") for v in start])
        if len(x) != map_.dimension:
            raise ParameterError(f"start has {len(x)} values but the map has {map_.dimension} variables")
        states, values = [x], [law_eval.value(x)]
        for _ in range(steps):
            x = evaluator.value(x)
            states.append(x)
            values.append(law_eval.value(x))
        dtype = float if ctx.kind == "float64" else object
        values = np.array(values, dtype=dtype).reshape(steps + 1, len(laws))
        gap = np.array([balancing_gap(v, ctx) for v in values], dtype=dtype)
    return LawsAlongGD(values, gap, np.array(states, dtype=dtype), tuple(laws), dict(values_in), ctx)


def law_function_of(laws, state_names, parameter_names):
    """The laws re-written in real symbols of the given names, and a :class:`VectorFunction` of them.

    Raises ModelError when a law uses a name that is neither a state variable nor a parameter.
    """
    from .functions import VectorFunction
    from .values import sympy_expression

    symbols = {name: sympy.Symbol(name, real=True) for name in tuple(state_names) + tuple(parameter_names)}
    laws = [sympy_expression(law, "law") for law in laws]
    laws = [law.xreplace({s: symbols[s.name] for s in law.free_symbols if s.name in symbols}) for law in laws]
    extra = sorted({s.name for law in laws for s in law.free_symbols} - set(symbols))
    if extra:
        raise ModelError(f"laws use symbol(s) {', '.join(extra)} that are neither state variables nor parameters "
                         f"({', '.join(symbols)})")
    function = VectorFunction.from_sympy(laws, [symbols[n] for n in state_names], [symbols[n] for n in parameter_names])
    return laws, function


def balancing_gap(law_values, ctx=None):
    """The Euclidean norm of a vector of law values (zero exactly on the balanced set)."""
    total = sum((v * v for v in law_values), 0)
    if ctx is None or ctx.kind == "float64":
        return float(np.sqrt(float(total)))
    import mpmath

    return mpmath.sqrt(ctx.to_mpf(total))


def singular_direction_gaps(states, depth, dim):
    """Balancing gap per singular direction of deep matrix factorization states (Ghosh et al.).

    For each state (a row of ``depth * dim * dim`` entries, the factors W_1 ... W_L row-major, as in the
    ``dmf`` model) and each direction i: max over l of |sigma_i(W_{l+1})^2 - sigma_i(W_l)^2|.  Each
    factor's singular values are put on the axis nearest their right singular vector: sorting would pair
    different directions whenever two singular values of a factor cross (beyond the edge of stability the
    top direction's values swing below a lower direction's).  NaN where that assignment is not one-to-one.
    On the aligned (diagonal) set the gap of direction i is that of the scalar network of sigma_i.

    Returns
    -------
    ndarray, T x dim (float64)

    Examples
    --------
    >>> W = [2, 0, 0, 1,  1, 0, 0, 1,  1, 0, 0, 1]     # W_1 = diag(2, 1), W_2 = W_3 = I
    >>> singular_direction_gaps([W], depth=3, dim=2).tolist()
    [[3.0, 0.0]]
    """
    states = np.asarray(states, dtype=float)
    if states.ndim != 2 or states.shape[1] != depth * dim * dim:
        raise ParameterError(f"singular_direction_gaps: states must be T x {depth * dim * dim} (depth {depth}, "
                             f"dim {dim}), got shape {states.shape}")
    factors = states.reshape(len(states), depth, dim, dim)
    _, values, right = np.linalg.svd(factors)
    axis = np.argmax(np.abs(right), axis=-1)
    assigned = np.full(values.shape, np.nan)
    np.put_along_axis(assigned, axis, values, axis=-1)
    assigned[~np.all(np.sort(axis, axis=-1) == np.arange(dim), axis=-1)] = np.nan
    return np.abs(np.diff(assigned ** 2, axis=1)).max(axis=1)
