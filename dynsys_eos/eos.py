"""Trajectories of a map with the edge-of-stability diagnostics.

:func:`trajectory` iterates any :class:`~dynsys_eos.maps.Map` (GD, normalized
GD, GD on sqrt(L - Lstar), heavy ball, or a raw map) and records, at every
``record_every``-th step: the state, the loss, the sharpness (the largest
eigenvalue of the loss Hessian), and the stability threshold of the rule.
From the record it derives phase labels, the late-time oscillation subspace,
the power spectrum of the sharpness and the largest Lyapunov exponent (the
late-time analyses live in :mod:`dynsys_eos.late_time` and are re-exported
here).

Sharpness
    ``"dense"``: the exact Hessian (the Jacobian of the exact gradient, from
    the expression DAG), evaluated for all recorded states in one vectorized
    float64 pass, then ``eigvalsh``; error ~ n eps |lambda|.
    ``"lanczos"``: Lanczos with full reorthogonalization on exact
    Hessian-vector products (forward mode through the gradient), run for all
    recorded states at once; its error is the residual bound
    |beta_k s_k| of the top Ritz pair.  ``"auto"`` is dense up to 64 state
    variables.  With ``dps`` the trajectory runs in mpmath at two precisions
    and the sharpness is a Rayleigh-quotient-refined eigenvalue; the digits
    are measured by comparing the two runs.

Threshold ("the 2/lr line")
    The sharpness above which a minimum is unstable for the rule, with the
    rule's effective learning rate: ``gd`` 2/lr; ``hb`` 2 (1 + beta)/lr;
    ``ngd`` 2 |grad L|/lr (its step is lr/|grad L|); ``sqrt``
    4 sqrt(L - Lstar)/lr (its step is lr / (2 sqrt(L - Lstar))).
    The ratio rho = sharpness/threshold is 1 at the edge of stability.

Phases (per recorded step t, over a centred window of ``window`` records)
    ``"eos"`` (edge of stability): the window's mean of rho is at least
    1 - ``eos_tolerance`` and the loss rises at least once in the window
    (L_{k+1} > L_k (1 + 1e-9) + 1e-26 max L): sharpness at (or swinging about) the 2/lr
    line with non-monotone loss (Cohen et al.'s description).
    Otherwise ``"sharpening"`` (progressive sharpening): the mean sharpness
    of the window's second half exceeds that of its first half by more than
    ``trend_tolerance`` relative; ``"reduction"`` (sharpness reduction): it
    is lower by more than that; ``"stable"``: neither (flat sharpness, e.g.
    converged below the line).  Runs shorter than half a window are merged
    into the run before them (no flicker at transitions); consecutive equal
    labels form a :class:`Phase`.

Oscillation subspace
    The deviations from their mean of the last ``tail`` fraction of the
    records, as rows (state vectors) or, for deep matrix factorization, as
    the end-to-end product W_L ... W_1 (d x d matrices placed side by side);
    its dimension is the number of singular values above ``rank_tolerance``
    times the largest (0 when the late iterates are constant to
    ``rank_tolerance`` relative to the state).  For DMF this counts the
    singular directions that oscillate (Ghosh et al.).

Largest Lyapunov exponent
    A tangent vector propagated with the exact Jacobian-vector product and
    renormalized each step; the exponent is the mean log growth after the
    first ``tail`` fraction, and its error estimate is the larger of the
    half-difference between the two halves' means and twice the standard
    error of 20 block means.  A positive exponent bounds how long float64
    iterates follow the true orbit from the given start: after
    ``horizon`` = ln(1/u)/lambda steps (u the unit roundoff) they only
    shadow some nearby true orbit.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> t = trajectory(build_model("logistic", r=4), ["0.3"], TrajectoryOptions(steps=20000, record_every=10))
>>> abs(t.lyapunov.value - math.log(2)) < 3 * t.lyapunov.error + 1e-3, t.lyapunov.horizon < 60
(True, True)
>>> m = build_model("minimalist2", lr="0.3")
>>> t = trajectory(m, ["1.5", "0.5"], TrajectoryOptions(steps=400))
>>> t.status, [p.label for p in t.phases][-1], round(float(t.threshold[-1]), 6)
('completed', 'stable', 6.666667)
>>> bool(t.sharpness[-1] < 2 / 0.3)
True
"""

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .arith import MP, Float64
from .errors import EvaluationError, ParameterError, require_integer
from .late_time import (Lyapunov, Oscillation, Spectrum, end_to_end_product, lyapunov_from_growth,
                        oscillation_subspace, power_spectrum, two_step_map)
from .linalg import top_symmetric_eigenvalue

__all__ = ["TrajectoryOptions", "Trajectory", "Phase", "Oscillation", "Lyapunov", "Spectrum", "trajectory",
           "sharpness", "hessian_vector_product", "label_phases", "oscillation_subspace", "power_spectrum",
           "two_step_map", "end_to_end_product", "PHASES", "SHARPNESS_METHODS"]

#: Phase labels, in the order of precedence used by :func:`label_phases`.
PHASES = ("eos", "sharpening", "reduction", "stable")
SHARPNESS_METHODS = ("auto", "dense", "lanczos", "none")
DENSE_MAX = 64  # "auto" uses the dense Hessian up to this many state variables
_UNIT_ROUNDOFF = 2.0 ** -53
_ESCAPE = 1e30  # a float64 state this large has escaped (a polynomial loss of it would overflow soon)


@dataclass(frozen=True)
class TrajectoryOptions:
    """Options of :func:`trajectory` (see the module docstring for the definitions).

    Parameters
    ----------
    steps : int
        Number of map steps (>= 1).
    record_every : int
        Record every k-th state (step 0 and the last step are always recorded).
    sharpness : str
        ``"auto"``, ``"dense"``, ``"lanczos"`` or ``"none"``.
    lanczos_iterations : int or None
        Krylov dimension (default min(n, 40)).
    dps : int or None
        None for float64; else decimal digits of an mpmath run (checked at a
        second, higher precision).
    window : int or None
        Records per phase window (default max(6, records // 50)).
    eos_tolerance, trend_tolerance : float
        The delta and epsilon of the phase definitions.
    tail : float
        Fraction of the records taken as late time (oscillation subspace,
        Lyapunov transient).
    rank_tolerance : float
        Relative singular-value cut-off of the oscillation dimension.
    lyapunov : bool
        Propagate a tangent vector (one extra JVP per step).
    """

    steps: int = 1000
    record_every: int = 1
    sharpness: str = "auto"
    lanczos_iterations: int = None
    dps: int = None
    window: int = None
    eos_tolerance: float = 0.05
    trend_tolerance: float = 1e-3
    tail: float = 0.25
    rank_tolerance: float = 1e-6
    lyapunov: bool = True

    def __post_init__(self):
        def integer(name, low):
            require_integer(getattr(self, name), low, f"TrajectoryOptions.{name}")

        integer("steps", 1)
        integer("record_every", 1)
        if self.sharpness not in SHARPNESS_METHODS:
            raise ParameterError(f"TrajectoryOptions: unknown sharpness method {self.sharpness!r}; "
                                 f"valid: {', '.join(SHARPNESS_METHODS)}")
        for name in ("lanczos_iterations", "dps", "window"):
            if getattr(self, name) is not None:
                integer(name, 2 if name == "window" else 1)
        if not 0 < self.tail <= 1:
            raise ParameterError(f"TrajectoryOptions: tail must be in (0, 1], got {self.tail!r}")
        for name in ("eos_tolerance", "trend_tolerance", "rank_tolerance"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ParameterError(f"TrajectoryOptions: {name} must be in [0, 1), got {value!r}")


@dataclass(frozen=True)
class Phase:
    """A run of equal phase labels: ``label`` from step ``start`` to step ``stop`` (inclusive)."""

    label: str
    start: int
    stop: int


@dataclass(frozen=True)
class Trajectory:
    """A recorded trajectory with its diagnostics (fields are None where they do not apply).

    ``status``: ``"completed"`` (all steps); ``"critical"`` (the run landed
    exactly on a critical point of the loss where the rule's step is 0/0,
    e.g. normalized GD reaching a minimum; ``success`` is True, the last
    record is that point); ``"undefined"`` (NaN from a finite state: the map
    is undefined there); ``"diverged"`` (an infinite state or |x| > 1e30).
    The last finite state is always recorded.
    ``loss``, ``sharpness``, ``threshold`` and ``phases`` need a loss (None for
    a raw map); ``oscillation``, ``lyapunov`` and ``spectrum`` are None for an
    undefined or diverged run (``spectrum`` also when records skip steps);
    ``sharpness_error`` is an error estimate per record;
    ``digits`` (mp runs only) are the significant digits of each recorded
    state measured at two precisions.
    """

    map: object = field(repr=False)
    parameters: dict
    start: tuple
    options: TrajectoryOptions
    success: bool
    status: str  # "completed", "critical", "undefined" or "diverged"
    message: str
    precision: str  # "float64" or "mp, N digits"
    steps: np.ndarray = field(repr=False)
    states: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    sharpness: np.ndarray = field(repr=False)
    sharpness_error: np.ndarray = field(repr=False)
    threshold: np.ndarray = field(repr=False)
    phases: tuple
    oscillation: Oscillation = field(repr=False)
    lyapunov: Lyapunov
    spectrum: Spectrum = field(repr=False)
    digits: np.ndarray = field(repr=False)

    @property
    def final(self):
        """The last recorded state."""
        return self.states[-1]

    @property
    def ratio(self):
        """sharpness / threshold per record (1 at the edge of stability; inf where the threshold is 0, e.g. ngd
        at a critical point, whose effective step is unbounded), or None."""
        if self.sharpness is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.sharpness, dtype=float) / np.asarray(self.threshold, dtype=float)

    def phase_labels(self):
        """The label of every record (expanded from :attr:`phases`)."""
        labels = np.empty(len(self.steps), dtype=object)
        for phase in self.phases:
            labels[(self.steps >= phase.start) & (self.steps <= phase.stop)] = phase.label
        return labels


# ------------------------------------------------------------------------------------ sharpness


def _loss_functions(map_, values, ctx):
    loss = map_.loss
    with ctx.scope():
        value = loss.value_function().compile(ctx).bind(values)
        gradient = loss.gradient_function().compile(ctx).bind(values)
    return value, gradient


def hessian_vector_product(gradient, states, vectors):
    """Gradients and exact Hessian-vector products H(x) v for batches (float64).

    ``gradient`` is a bound float64 gradient function (``Loss.gradient_function``
    compiled and bound); ``states`` and ``vectors`` are n x B arrays.
    Returns (g, Hv), both n x B.
    """
    program = gradient.function.program("directional").bind(gradient.ctx)
    states, vectors = np.asarray(states, dtype=float), np.asarray(vectors, dtype=float)
    with np.errstate(all="ignore"):
        out = program(list(states), gradient.parameters, list(vectors))
    n = gradient.n
    shape = states.shape[1:]
    g = np.array([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in out[:n]])
    hv = np.array([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in out[n:]])
    return g, hv


def _dense_sharpness(gradient, states, chunk=None):
    """Top Hessian eigenvalue, gradient, and error bound for each column of the n x T float64 ``states``."""
    n, count = states.shape
    chunk = chunk or max(1, int(4e6 // max(n * n, 1)))
    top, grads = np.empty(count), np.empty((n, count))
    for a in range(0, count, chunk):
        block = states[:, a:a + chunk]
        g, H = gradient.value_and_jacobian(list(block))
        H = np.moveaxis(np.asarray(H).reshape(n, n, -1), -1, 0)
        top[a:a + chunk] = np.linalg.eigvalsh((H + np.swapaxes(H, 1, 2)) / 2)[:, -1]
        grads[:, a:a + chunk] = np.asarray(g).reshape(n, -1)
    scale = np.maximum(np.abs(top), 1e-300)
    return top, grads, 4 * n * np.finfo(float).eps * scale


def _lanczos_sharpness(gradient, states, iterations=None, seed=0):
    """Batched Lanczos (full reorthogonalization) on exact HVPs: (top, gradients, residual bounds)."""
    n, count = states.shape
    k = min(n, iterations or 40)
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, count))
    q /= np.linalg.norm(q, axis=0)
    Q = np.zeros((k, n, count))
    alpha, beta = np.zeros((k, count)), np.zeros((k, count))
    grads = None
    for j in range(k):
        Q[j] = q
        g, w = hessian_vector_product(gradient, states, q)
        if grads is None:
            grads = g
        alpha[j] = np.einsum("ib,ib->b", q, w)
        coefficients = np.einsum("jib,ib->jb", Q[: j + 1], w)  # full reorthogonalization (twice is enough)
        w = w - np.einsum("jib,jb->ib", Q[: j + 1], coefficients)
        w = w - np.einsum("jib,jb->ib", Q[: j + 1], np.einsum("jib,ib->jb", Q[: j + 1], w))
        b = np.linalg.norm(w, axis=0)
        beta[j] = b
        if j + 1 < k:
            q = np.where(b > 0, w / np.where(b > 0, b, 1), 0.0)
    T = np.zeros((count, k, k))
    idx = np.arange(k)
    T[:, idx, idx] = alpha.T
    T[:, idx[:-1], idx[1:]] = beta[:-1].T
    T[:, idx[1:], idx[:-1]] = beta[:-1].T
    theta, S = np.linalg.eigh(T)
    top = theta[:, -1]
    residual = np.abs(beta[-1] * S[:, -1, -1]) if k < n else np.zeros(count)
    floor = 4 * n * np.finfo(float).eps * np.maximum(np.abs(top), 1e-300)
    return top, grads, np.maximum(residual, floor)


def sharpness(map_, states, parameters=None, method="auto", iterations=None):
    """Largest Hessian eigenvalue of the map's loss at each state (float64).

    Parameters
    ----------
    map_ : Map
        A map made from a loss (for heavy ball only the parameter half of a
        state is used).
    states : array_like
        One state (length n) or a T x n array of states.
    method : str
        ``"dense"``, ``"lanczos"`` or ``"auto"`` (dense up to 64 variables).

    Returns
    -------
    (values, errors) : tuple of arrays of length T

    Examples
    --------
    >>> from dynsys_eos.models import build_model
    >>> m = build_model("minimalist")
    >>> values, errors = sharpness(m, [1, 1, 1, 1])
    >>> round(float(values[0]), 12), bool(errors[0] < 1e-13)
    (4.0, True)
    >>> values, errors = sharpness(m, [[1, 1, 1, 1], [2, 1, 1, 0.5]], method="lanczos")
    >>> [round(float(v), 12) for v in values]
    [4.0, 6.25]
    """
    if map_.loss is None:
        raise ParameterError(f"{map_.name}: sharpness needs a loss (this is a raw map)")
    values = map_.parameter_values(parameters)
    states = np.atleast_2d(np.asarray(states, dtype=float))[:, : map_.loss.dimension]
    _, gradient = _loss_functions(map_, values, Float64())
    top, _, errors = _sharpness_columns(gradient, states.T, _method(method, map_.loss.dimension), iterations)
    return top, errors


def _method(method, n):
    if method not in SHARPNESS_METHODS or method == "none":
        raise ParameterError(f"unknown sharpness method {method!r}; valid: dense, lanczos, auto")
    return ("dense" if n <= DENSE_MAX else "lanczos") if method == "auto" else method


def _sharpness_columns(gradient, columns, method, iterations):
    if method == "dense":
        return _dense_sharpness(gradient, columns)
    return _lanczos_sharpness(gradient, columns, iterations)


# ------------------------------------------------------------------------------------ iteration


def _iterate_float(map_, values, start, options):
    """Float64 iteration: steps and recorded states, Lyapunov log-growths, and why it stopped early.

    The stop is None or (k, kind): step k gave an infinite or escaping state
    (kind "diverged") or NaN from a finite one (kind "undefined": 0/0 or a
    value outside the map's domain).  The last finite state is always recorded.
    """
    ctx = Float64()
    bound = map_.bind(ctx, values)
    program = map_.function.program("directional").bind(ctx)
    x = ctx.array(start)
    n = len(x)
    tangent = np.random.default_rng(1).standard_normal(n)
    tangent /= np.linalg.norm(tangent)
    recorded, steps = [x.copy()], [0]
    growth = np.full(options.steps, np.nan) if options.lyapunov else None
    stop = None
    for k in range(1, options.steps + 1):
        with np.errstate(all="ignore"):
            if options.lyapunov:
                out = program(x, bound.parameters, tangent)
                new = np.array([float(v) for v in out[:n]])
                tangent = np.array([float(np.broadcast_to(v, ())) for v in out[n:]])
                norm = float(np.linalg.norm(tangent))
                growth[k - 1] = math.log(norm) if norm > 0 else -math.inf
                if norm > 0 and math.isfinite(norm):
                    tangent /= norm
            else:
                new = np.asarray(_value(bound, x), dtype=float)
        if not np.all(np.abs(new) < _ESCAPE):  # NaN, infinity, or about to overflow the loss
            undefined = np.any(np.isnan(new)) and not np.any(np.abs(new[~np.isnan(new)]) >= _ESCAPE)
            stop = (k, "undefined" if undefined else "diverged")
            break
        x = new
        if k % options.record_every == 0 or k == options.steps:
            recorded.append(x.copy())
            steps.append(k)
    if stop is not None:
        growth = None if growth is None else growth[: stop[0] - 1]
        if steps[-1] != stop[0] - 1:
            recorded.append(x.copy())
            steps.append(stop[0] - 1)
    return np.array(steps), np.array(recorded), growth, stop


def _float_loss(value_fn, columns):
    """Loss values at the n x T float64 ``columns`` (inf where they overflow: the caller sees it)."""
    program = value_fn.function.program("value").bind(value_fn.ctx)
    with np.errstate(all="ignore"):
        (out,) = program(list(columns), value_fn.parameters)
    return np.broadcast_to(np.asarray(out, dtype=float), (columns.shape[1],)).copy()


def _value(bound, x):
    program = bound.function.program("value").bind(bound.ctx)
    with np.errstate(all="ignore"):
        return [float(v) for v in program(x, bound.parameters)]


def _iterate_mp(map_, values, start, options, dps, last=None, also=()):
    """mpmath iteration at ``dps``; returns (steps, states, stop) as :func:`_iterate_float` does.

    ``last`` caps the number of steps, ``also`` adds steps to record.  An
    evaluation error (0/0, a value outside the map's domain) is the stop kind
    "undefined"; mp numbers do not overflow, so nothing escapes here.
    """
    ctx = MP(dps=dps)
    bound = map_.bind(ctx, values)
    last = options.steps if last is None else last
    with ctx.scope():
        x = ctx.array(start)
        recorded, steps = [x.copy()], [0]
        stop = None
        for k in range(1, last + 1):
            try:
                x_new = bound.value(x)
            except EvaluationError:
                stop = (k, "undefined")
                break
            x = x_new
            if k % options.record_every == 0 or k == last or k in also:
                recorded.append(x.copy())
                steps.append(k)
        if stop is not None and steps[-1] != stop[0] - 1:
            recorded.append(x.copy())
            steps.append(stop[0] - 1)
    return np.array(steps), np.array(recorded, dtype=object), stop


def _iterate_mp_twice(map_, values, start, options):
    """The mp run at two precisions on common recorded steps: (steps, states_lo, states_hi, stop, note).

    Where the runs stop at different steps (a landing on a critical point
    that only one precision resolves), the higher precision decides and the
    note says so; both runs are recorded at its last state.
    """
    hi_dps = 2 * options.dps + 10
    steps_lo, states_lo, stop_lo = _iterate_mp(map_, values, start, options, options.dps)
    also = {stop_lo[0] - 1} if stop_lo else set()
    steps_hi, states_hi, stop_hi = _iterate_mp(map_, values, start, options, hi_dps, also=also)
    note = ""
    if stop_lo != stop_hi:
        if stop_hi and (stop_lo is None or stop_lo[0] > stop_hi[0]):  # record the low run where the high one ended
            end = stop_hi[0] - 1
            steps_lo, states_lo, _ = _iterate_mp(map_, values, start, options, options.dps, last=end, also={end})
        lo_text = f"stopped at step {stop_lo[0]}" if stop_lo else "did not stop"
        note = (f"; the {options.dps}-digit run {lo_text}, so the outcome depends on the precision (see the digits)"
                + (f"; records end at step {stop_lo[0] - 1} where it stopped" if not stop_hi or
                   (stop_lo and stop_lo[0] < stop_hi[0]) else ""))
    common = np.intersect1d(steps_lo, steps_hi)
    lo, hi = states_lo[np.searchsorted(steps_lo, common)], states_hi[np.searchsorted(steps_hi, common)]
    return common, lo, hi, stop_hi, note


def _mp_diagnostics(map_, values, states, dps):
    """Loss, sharpness and gradient norm at each mp state (dense Hessian, Rayleigh quotient refinement)."""
    ctx = MP(dps=dps)
    n = map_.loss.dimension
    value, gradient = _loss_functions(map_, values, ctx)
    losses, tops, norms = [], [], []
    with ctx.scope():
        for state in states:
            theta = state[:n]
            g, H = gradient.value_and_jacobian(theta)
            tops.append(top_symmetric_eigenvalue(ctx, (H + H.T) / 2) if n > 1 else H[0, 0])
            losses.append(value.value(theta)[0])
            norms.append(mpmath.sqrt(sum(v * v for v in g)))
    return np.array(losses, dtype=object), np.array(tops, dtype=object), np.array(norms, dtype=object)


def _relative_digits(a, b, cap):
    """Significant digits to which a agrees with b (elementwise over rows; mp numbers)."""
    out = []
    for u, v in zip(a, b):
        u, v = np.atleast_1d(u), np.atleast_1d(v)
        scale = max(max(abs(mpmath.mpf(t)) for t in v), mpmath.mpf(10) ** (-cap))
        diff = max(abs(mpmath.mpf(s) - mpmath.mpf(t)) for s, t in zip(u, v))
        out.append(cap if diff == 0 else int(max(0, min(cap, -mpmath.log10(diff / scale)))))
    return np.array(out)


# ------------------------------------------------------------------------------------ thresholds and phases


def _threshold(map_, values, losses, gradient_norms):
    """The rule's stability threshold per record (the '2/lr line' with the effective lr)."""
    lr = float(values["lr"])
    rule = map_.rule
    count = len(losses)
    if rule == "gd":
        return np.full(count, 2 / lr)
    if rule == "hb":
        return np.full(count, 2 * (1 + float(values["beta"])) / lr)
    if rule == "ngd":
        return 2 * np.asarray(gradient_norms, dtype=float) / lr
    if rule == "sqrt":
        excess = np.maximum(np.asarray(losses, dtype=float) - float(values["Lstar"]), 0.0)
        return 4 * np.sqrt(excess) / lr
    raise ParameterError(f"no stability threshold for rule {rule!r}")  # pragma: no cover - rules are closed


def label_phases(sharpness_values, threshold, loss, window=6, eos_tolerance=0.05, trend_tolerance=1e-3):
    """Phase label of every record (see the module docstring for the definitions).

    The sharpness and the ratio are averaged over the window before the
    tests, so a period-2 swing of the sharpness around 2/lr (the usual EoS
    picture) counts as being at the line; runs shorter than half a window
    are merged into the run before them.

    Examples
    --------
    >>> s = np.concatenate([np.linspace(1, 1.9, 50), 2 + 0.3 * (-1.0) ** np.arange(50)])
    >>> loss = np.concatenate([np.linspace(1, 0.5, 50), 0.5 + 0.01 * (np.arange(50) % 2)])
    >>> labels = label_phases(s, np.full(100, 2.0), loss, window=6)
    >>> str(labels[10]), str(labels[90])
    ('sharpening', 'eos')
    """
    s = np.asarray(sharpness_values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # ngd/sqrt thresholds vanish at a minimum
        ratio = s / np.asarray(threshold, dtype=float)
    loss = np.asarray(loss, dtype=float)
    count = len(s)
    half = max(1, int(window) // 2)
    rises = np.zeros(count, dtype=bool)
    if count > 1:
        floor = 1e-26 * float(np.max(loss)) + 1e-300  # below this a rise is rounding noise at a minimum
        rises[1:] = loss[1:] > loss[:-1] * (1 + 1e-9) + floor
    labels = np.empty(count, dtype=object)
    for t in range(count):
        a, b = max(0, t - half), min(count, t + half + 1)
        if np.mean(ratio[a:b]) >= 1 - eos_tolerance and rises[a + 1:b].any():
            labels[t] = "eos"
            continue
        first, second = s[a:t + 1], s[t:b]
        scale = max(float(np.mean(np.abs(s[a:b]))), 1e-300)
        change = (float(np.mean(second)) - float(np.mean(first))) / scale
        labels[t] = "sharpening" if change > trend_tolerance else "reduction" if change < -trend_tolerance else "stable"
    return _merge_short_runs(labels, max(1, half))


def _merge_short_runs(labels, shortest):
    """Relabel runs shorter than ``shortest`` (except the first) with the label before them."""
    labels = labels.copy()
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if start > 0 and i - start < shortest:
                labels[start:i] = labels[start - 1]
            start = i
    return labels


def _segments(labels, steps):
    phases, begin = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[begin]:
            phases.append(Phase(str(labels[begin]), int(steps[begin]), int(steps[i - 1])))
            begin = i
    return tuple(phases)


# ------------------------------------------------------------------------------------ the driver


def _stop_status(map_, values, last, stop, total, precision):
    """(status, message) of a run: completed, critical, undefined or diverged (see :class:`Trajectory`)."""
    if stop is None:
        return "completed", f"{total} steps in {precision}"
    step, kind = stop
    if kind == "diverged":
        return "diverged", f"diverged at step {step} (non-finite or |x| > 1e30); recorded up to step {step - 1}"
    if map_.loss is not None and _gradient_vanishes(map_, values, last):
        return "critical", (f"landed exactly on a critical point of the loss at step {step - 1} (gradient 0), where "
                            f"the {map_.rule or 'map'} step is undefined (0/0); stopped there")
    return "undefined", (f"the map is undefined at the state of step {step - 1} (0/0 or outside its domain); "
                         f"recorded up to step {step - 1}")


def _gradient_vanishes(map_, values, state):
    """True when every component of the loss gradient at ``state`` is exactly zero."""
    ctx = MP(dps=30) if isinstance(state[0], mpmath.mpf) else Float64()  # the zero test needs no more digits
    _, gradient = _loss_functions(map_, values, ctx)
    theta = ctx.array(list(state[: map_.loss.dimension]))
    with ctx.scope(), np.errstate(all="ignore"):
        return all(v == 0 for v in gradient.value(theta))


def trajectory(map_, start, options=None, parameters=None):
    """Iterate ``map_`` from ``start`` and record the EoS diagnostics.

    Parameters
    ----------
    map_ : Map
    start : sequence
        The initial state (exact numbers or floats).
    options : TrajectoryOptions, optional
    parameters : dict, optional
        Parameter overrides.

    Returns
    -------
    Trajectory
        ``status`` is ``"completed"``, ``"critical"`` (landed exactly on a
        critical point where the step is 0/0; ``success`` True),
        ``"undefined"`` or ``"diverged"`` (``success`` False); the record
        ends at the last finite state.

    Raises
    ------
    ParameterError
        For a start of the wrong length or a non-finite first step.
    """
    options = options or TrajectoryOptions()
    values = map_.parameter_values(parameters)
    start = tuple(start)
    if len(start) != map_.dimension:
        raise ParameterError(f"{map_.name}: start has {len(start)} value(s), the state has {map_.dimension} "
                             f"({', '.join(map_.state_names)})")
    has_loss = map_.loss is not None
    n_loss = map_.loss.dimension if has_loss else 0
    digits = None
    precision_note = ""
    if options.dps is None:
        steps, states, growth, stop = _iterate_float(map_, values, start, options)
        precision = "float64"
        lyapunov = lyapunov_from_growth(growth, options.tail, _UNIT_ROUNDOFF) if options.lyapunov else None
    else:
        steps, states_lo, states, stop, precision_note = _iterate_mp_twice(map_, values, start, options)
        hi_dps = 2 * options.dps + 10
        digits = _relative_digits(states_lo, states, options.dps)
        precision = f"mp, {options.dps} digits (checked at {hi_dps})"
        lyapunov = None
        if options.lyapunov:  # the tangent dynamics in float64 along the float64 run: an estimate, not digits
            _, _, growth, _ = _iterate_float(map_, values, start, options)
            lyapunov = lyapunov_from_growth(growth, options.tail, 10.0 ** (-options.dps))
    loss = sharp = sharp_err = threshold = None
    phases = ()
    if has_loss and options.sharpness != "none":
        if options.dps is None:
            value_fn, gradient = _loss_functions(map_, values, Float64())
            columns = states[:, :n_loss].T
            loss = _float_loss(value_fn, columns)
            with np.errstate(all="ignore"):  # the last states of a diverging run overflow: inf, said by the status
                sharp, grads, sharp_err = _sharpness_columns(gradient, columns, _method(options.sharpness, n_loss),
                                                             options.lanczos_iterations)
                norms = np.linalg.norm(grads, axis=0)
        else:
            loss_lo, sharp_lo, _ = _mp_diagnostics(map_, values, states_lo, options.dps)
            loss, sharp, norms = _mp_diagnostics(map_, values, states, hi_dps)
            sharp_err = np.array([abs(a - b) for a, b in zip(sharp_lo, sharp)], dtype=object)
        threshold = _threshold(map_, values, loss, norms)
        window = options.window or max(6, len(steps) // 50)
        labels = label_phases(np.asarray(sharp, dtype=float), threshold, np.asarray(loss, dtype=float), window,
                              options.eos_tolerance, options.trend_tolerance)
        phases = _segments(labels, steps)
    elif has_loss:
        value_fn, _ = _loss_functions(map_, values, Float64())
        loss = _float_loss(value_fn, np.asarray(states[:, :n_loss], dtype=float).T)
    status, message = _stop_status(map_, values, states[-1], stop, options.steps, precision)
    message += precision_note
    success = status in ("completed", "critical")
    float_states = np.asarray(states, dtype=float)
    product = end_to_end_product(map_)
    oscillation = None
    if success:  # late-time structure of an escaping orbit means nothing
        # at an exact critical point the orbit rests (the step is 0/0, read as 0): its late time is that point
        late = float_states if status == "completed" else np.repeat(float_states[-1:], 2, axis=0)
        oscillation = oscillation_subspace(late, options.tail, options.rank_tolerance, product,
                                           "end-to-end product" if product else None)
    else:
        lyapunov = None
    spectrum = None
    if sharp is not None and success and len(sharp) > 3 and options.record_every == 1:
        tail_values = np.asarray(sharp, dtype=float)[-max(4, int(len(sharp) * options.tail)):]
        frequency, power = power_spectrum(tail_values)
        spectrum = Spectrum(frequency, power, float(frequency[1 + np.argmax(power[1:])]))
    return Trajectory(map=map_, parameters=values, start=start, options=options, success=success, status=status,
                      message=message, precision=precision, steps=steps, states=states, loss=loss, sharpness=sharp,
                      sharpness_error=sharp_err, threshold=threshold, phases=phases, oscillation=oscillation,
                      lyapunov=lyapunov, spectrum=spectrum, digits=digits)
