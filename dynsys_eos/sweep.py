"""Sweeps in float64: orbit diagrams (the attractor against a parameter) and basin maps.

Both iterate a map on many cells at once: the map's generated float64
program (:mod:`dynsys_eos.codegen`) runs on numpy arrays, one array entry per
parameter value or initial state, in chunks of :attr:`SweepOptions.chunk`
cells.  A chunk drops ``transient`` iterates, records the next ``keep``,
marks cells that left ``|x| <= bound`` (or became NaN) as diverged with the
step at which it was seen, and detects the period of the rest (the smallest
``p <= max_period`` with ``|x_{k+p} - x_k| <= tolerance * max(1, |x|)`` over
the last ``p + 16`` recorded steps).

Chunks run where an executor puts them (:mod:`dynsys_eos.executors`): in
this process, on a local process pool (by default only when the work left
would take more than :data:`~dynsys_eos.executors.POOL_BREAK_EVEN` seconds
here) or on a Dask cluster (``scheduler="tcp://HOST:PORT"``).  The
workers receive only the generated program (source text made from the
expression graph, never from user text) and arrays, so they need no sympy
work; the arrays do not depend on where the chunks ran.

Examples
--------
>>> import numpy as np
>>> from dynsys_eos.models import build_model
>>> d = orbit_diagram(build_model("logistic"), "r", [2.8, 3.2, 3.5, 3.9], executor="serial")
>>> d.period.tolist()
[1, 2, 4, 0]
>>> b = basin_map(build_model("henon"), ("x", -2, 2, 41), ("y", -2, 2, 41), executor="serial")
>>> int(b.label[20, 20]) == UNDETERMINED, int(b.label[0, 0]) == DIVERGED   # (0, 0): the chaotic attractor; (-2, -2) escapes
(True, True)
>>> int(b.diverged.sum()), int(b.converged.sum())
(983, 0)
"""

from dataclasses import dataclass, field
import math
import time

import numpy as np

from .errors import ParameterError, require_integer
from .executors import Progress, make_executor

__all__ = ["SweepOptions", "Axis", "Kernel", "ChunkTask", "run_chunk", "detect_periods", "OrbitDiagram",
           "BasinMap", "Attractor", "orbit_diagram", "basin_map", "float64_namespace", "check_memory", "DIVERGED",
           "UNDETERMINED", "OTHER"]

#: Basin labels that are not attractor indices.
DIVERGED, UNDETERMINED, OTHER = -1, -2, -3
_WINDOW_EXTRA = 16  # comparisons beyond one period when detecting a period
# a generic linear functional picks the same point of a periodic orbit in every cell
_KEY_WEIGHT = 0.6180339887498949
_UNARY = ("exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "atan", "asin", "acos", "sqrt")


@dataclass(frozen=True)
class SweepOptions:
    """How a sweep iterates and classifies.

    Parameters
    ----------
    transient : int
        Iterates dropped before recording.
    keep : int
        Iterates recorded (all of them for an orbit diagram; the window of
        period detection for a basin map).  At least ``2 * max_period``.
    max_period : int
        Largest period detected.
    tolerance : float
        Relative tolerance of period detection.
    bound : float
        A cell with ``|x_i| > bound`` (or NaN) has diverged.
    check_every : int
        Divergence is checked every this many steps (the recorded escape
        step is the first check that saw it).
    chunk : int
        Cells per task (the same on every executor).
    cluster_tolerance : float
        Two end states closer than this (times ``max(1, |x|)``) are the same
        attractor; also the tolerance for matching given attractors.
    max_attractors : int
        Basin maps label at most this many attractors (the most frequent);
        other periodic end states get the label ``OTHER``.
    """

    transient: int = 1000
    keep: int = 128
    max_period: int = 32
    tolerance: float = 1e-7
    bound: float = 1e8
    check_every: int = 4
    chunk: int = 8192
    cluster_tolerance: float = 1e-4
    max_attractors: int = 32

    def __post_init__(self):
        for name, low in (("transient", 0), ("keep", 2), ("max_period", 1), ("check_every", 1), ("chunk", 1),
                          ("max_attractors", 1)):
            require_integer(getattr(self, name), low, f"SweepOptions.{name}")
        if self.keep < 2 * self.max_period:
            raise ParameterError(f"SweepOptions needs keep >= 2 * max_period to detect periods up to max_period "
                                 f"(keep={self.keep}, max_period={self.max_period})")
        for name in ("tolerance", "bound", "cluster_tolerance"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ParameterError(f"SweepOptions.{name} must be a positive finite number, got {value!r}")


@dataclass(frozen=True)
class Axis:
    """One axis of a basin map: a state coordinate and ``points`` values from ``start`` to ``stop``."""

    name: str
    start: float
    stop: float
    points: int

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ParameterError(f"axis name must be a state variable's name, got {self.name!r}")
        if isinstance(self.points, bool) or not isinstance(self.points, (int, np.integer)) or self.points < 1:
            raise ParameterError(f"axis {self.name}: points must be a positive integer, got {self.points!r}")
        for end in ("start", "stop"):
            object.__setattr__(self, end, _to_float(getattr(self, end), f"axis {self.name} {end}"))
        if self.points > 1 and self.start == self.stop:
            raise ParameterError(f"axis {self.name}: empty range ({self.start} to {self.stop}) for {self.points} points")

    def values(self):
        return np.linspace(self.start, self.stop, self.points)


# -- the worker side: a picklable program and one chunk ------------------------------------------------

_PROGRAMS = {}  # per process: source -> function


@dataclass(frozen=True)
class Kernel:
    """A map's float64 program as source text with the order of its inputs (picklable, small).

    The source is :func:`dynsys_eos.codegen.generate_source` of the map's
    expression graph: no user text reaches it.
    """

    source: str
    dimension: int
    state: tuple
    parameters: tuple

    @classmethod
    def from_map(cls, map_):
        program = map_.function.program("value")
        return cls(program.source, map_.dimension, tuple(map_.state_names), tuple(map_.parameter_names))

    def function(self):
        function = _PROGRAMS.get(self.source)
        if function is None:
            namespace = float64_namespace()
            namespace["__builtins__"] = {}
            exec(compile(self.source, "<dynsys_eos sweep>", "exec"), namespace)  # noqa: S102 - see docstring
            function = _PROGRAMS[self.source] = namespace["value"]
        return function


def float64_namespace():
    """The names generated float64 code uses: :meth:`dynsys_eos.arith.Float64.namespace`, built from numpy alone.

    Workers import only numpy and this module (no sympy, no mpmath): a
    process pool starts in a fraction of a second.  A test checks that both
    namespaces agree.
    """
    aliases = {"atan": "arctan", "asin": "arcsin", "acos": "arccos"}
    namespace = {name: getattr(np, aliases.get(name, name)) for name in _UNARY}
    namespace.update(pow_=np.power, abs_=np.abs, sign=np.sign, _q=lambda p, q: p / q, _pi=lambda: math.pi,
                     _e=lambda: math.e)
    return namespace


@dataclass(frozen=True)
class ChunkTask:
    """One chunk: start states ``(n, m)``, parameters (floats or ``(m,)`` arrays, program order), options."""

    kernel: Kernel
    states: np.ndarray
    parameters: tuple
    options: SweepOptions
    window: bool  # return the recorded iterates (orbit diagrams) or only end states (basin maps)


def run_chunk(task):
    """Iterate one chunk; a dict of arrays: ``period``, ``escape``, ``final``, ``canonical``, ``window``, ``evaluations``."""
    opts = task.options
    f = task.kernel.function()
    n, m = task.states.shape
    x = [np.array(row, dtype=float) for row in task.states]
    params = [p if np.ndim(p) == 0 else np.asarray(p, dtype=float) for p in task.parameters]
    active = None  # indices of the cells still iterated, once some were dropped
    escape = np.full(m, -1, dtype=np.int64)
    window = np.full((opts.keep, n, m), np.nan)
    total = opts.transient + opts.keep
    evaluations = 0
    with np.errstate(all="ignore"):
        for step in range(1, total + 1):
            size = m if active is None else len(active)
            if size == 0:
                break
            x = [v if np.ndim(v) else np.full(size, float(v)) for v in f(x, params)]
            evaluations += size
            if step % opts.check_every == 0 or step == total:
                bad = ~(np.abs(x[0]) <= opts.bound)
                for v in x[1:]:
                    bad |= ~(np.abs(v) <= opts.bound)
                if bad.any():
                    where = np.flatnonzero(bad) if active is None else active[bad]
                    fresh = where[escape[where] < 0]
                    escape[fresh] = step
                    if step <= opts.transient and bad.sum() * 4 > size:  # drop them: most work is wasted on NaN
                        keep = ~bad
                        active = np.flatnonzero(keep) if active is None else active[keep]
                        x = [v[keep] for v in x]
                        params = [p if np.ndim(p) == 0 else p[keep] for p in params]
            if step > opts.transient:
                k = step - opts.transient - 1
                for i, v in enumerate(x):
                    if active is None:
                        window[k, i] = v
                    else:
                        window[k, i, active] = v
    diverged = escape >= 0
    window[:, :, diverged] = np.nan
    period = detect_periods(window, opts.max_period, opts.tolerance)
    return {"period": period, "escape": escape, "final": window[-1].copy(), "canonical": _canonical(window, period),
            "window": window if task.window else None, "evaluations": evaluations}


def detect_periods(window, max_period, tolerance):
    """Smallest period ``p <= max_period`` of each cell of recorded iterates ``(steps, n, cells)``; 0 if none.

    Examples
    --------
    >>> t = np.arange(40.0)
    >>> cells = np.stack([np.ones(40), (-1.0) ** t, np.sin(t)])        # fixed, period 2, no period
    >>> detect_periods(cells.T[:, None, :], 8, 1e-9).tolist()
    [1, 2, 0]
    """
    steps, _, cells = window.shape
    period = np.zeros(cells, dtype=np.int64)
    with np.errstate(all="ignore"):
        magnitude = np.abs(window[-1]).max(axis=0)
        limit = tolerance * np.maximum(1.0, np.where(np.isfinite(magnitude), magnitude, np.inf))
        for p in range(1, min(max_period, steps // 2) + 1):
            pending = np.flatnonzero(period == 0)
            if not len(pending):
                break
            # cheap filter first: only the last point must return after p steps
            last = np.abs(window[-1][:, pending] - window[-1 - p][:, pending]).max(axis=0)
            candidates = pending[last <= limit[pending]]
            if not len(candidates):
                continue
            width = min(p + _WINDOW_EXTRA, steps - p)
            late = window[steps - width:][:, :, candidates]
            early = window[steps - width - p: steps - p][:, :, candidates]
            difference = np.abs(late - early).max(axis=(0, 1))
            period[candidates[difference <= limit[candidates]]] = p
    return period


def _key(points):
    """A generic linear functional of states ``(n, ...)``: picks one point of an orbit the same way everywhere."""
    weights = _KEY_WEIGHT ** np.arange(points.shape[0])
    return np.tensordot(weights, points, axes=(0, 0))


def _canonical(window, period):
    """For each periodic cell, the point of its last period with the smallest key."""
    steps = window.shape[0]
    best = window[-1].copy()
    best_key = _key(best)
    for j in range(1, min(int(period.max(initial=0)), steps)):
        candidate = window[steps - 1 - j]
        key = _key(candidate)
        use = (j < period) & (key < best_key)
        best[:, use] = candidate[:, use]
        best_key[use] = key[use]
    return best


# -- results -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attractor:
    """A periodic attractor found by a basin map: its points ``(period, n)`` and how many cells reach it."""

    label: int
    period: int
    points: np.ndarray
    cells: int


@dataclass(frozen=True)
class _Provenance:
    """What made a sweep: the map (kept, so an attractor can be refined with ``find_orbit(p.map, ...)``),
    the fixed parameters, the options, where it ran, and its cost."""

    map_name: str
    state_names: tuple
    parameters: dict  # fixed parameter values (exact)
    options: SweepOptions
    executor: str
    chunks: int
    seconds: float
    evaluations: int
    map: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class _SweepResult:
    """Fields every sweep result has (keyword-only, after each result's own)."""

    provenance: _Provenance = field(repr=False)
    success: bool = True
    status: str = "completed"
    message: str = ""

    @property
    def diverged(self):
        return self.escape_step >= 0


@dataclass(frozen=True)
class OrbitDiagram(_SweepResult):
    """The attractor against a parameter.

    Attributes
    ----------
    parameter : str
        The parameter varied.
    values : ndarray (N,)
        Its values.
    iterates : ndarray (N, keep, n)
        The recorded iterates after the transient (NaN for diverged cells).
    period : ndarray (N,) of int
        Detected period, 0 where none (chaos, a slow transient, or divergence).
    escape_step : ndarray (N,) of int
        Step at which divergence was seen, -1 for bounded cells.
    initial : ndarray (N, n)
        Start states.
    provenance
        Map, fixed parameters, options, executor, chunks, seconds, evaluations.
    success, status, message
    """

    parameter: str
    values: np.ndarray
    iterates: np.ndarray
    period: np.ndarray
    escape_step: np.ndarray
    initial: np.ndarray

    def summary(self):
        """A JSON-ready dict: counts of each period and of diverged values, and how the diagram was made."""
        return _summary(self.provenance, {"parameter": self.parameter, "range": [repr(float(self.values[0])),
                                                                                 repr(float(self.values[-1]))],
                                          "points": int(len(self.values)), "periods": _period_counts(self.period,
                                                                                                     self.diverged)},
                        self)


@dataclass(frozen=True)
class BasinMap(_SweepResult):
    """Where each initial state on a grid of two coordinates goes.

    Attributes
    ----------
    x, y : Axis
        The coordinates varied (the others are fixed at ``base``).
    base : ndarray (n,)
    label : ndarray (ny, nx) of int
        Index into ``attractors``, or ``DIVERGED`` (-1), ``UNDETERMINED``
        (-2: bounded with no period <= max_period), ``OTHER`` (-3: periodic,
        but not one of the attractors listed).
    period, escape_step : ndarray (ny, nx) of int
        As for :class:`OrbitDiagram`.
    final : ndarray (ny, nx, n)
        The last iterate (NaN for diverged cells).
    attractors : tuple of Attractor
        Given ones (in the order given) or those found by clustering end
        states (most frequent first).
    distinct_end_states : int
        Number of distinct periodic end states found (a count far above the
        attractors listed means a continuum, a manifold of minima, say).
    """

    x: Axis
    y: Axis
    base: np.ndarray
    label: np.ndarray
    period: np.ndarray
    escape_step: np.ndarray
    final: np.ndarray
    attractors: tuple
    distinct_end_states: int

    @property
    def converged(self):
        return self.period > 0

    def summary(self):
        counts = {"diverged": int(self.diverged.sum()), "undetermined": int((self.label == UNDETERMINED).sum()),
                  "other": int((self.label == OTHER).sum())}
        attractors = [{"label": a.label, "period": a.period, "cells": a.cells,
                       "points": [[repr(float(v)) for v in point] for point in a.points]} for a in self.attractors]
        grid = {"x": [self.x.name, repr(self.x.start), repr(self.x.stop), self.x.points],
                "y": [self.y.name, repr(self.y.start), repr(self.y.stop), self.y.points],
                "base": [repr(float(v)) for v in self.base]}
        return _summary(self.provenance, {"grid": grid, "counts": counts, "attractors": attractors,
                                          "distinct_end_states": self.distinct_end_states,
                                          "periods": _period_counts(self.period.ravel(), self.diverged.ravel())},
                        self)


def _period_counts(period, diverged):
    counts = {str(p): int(c) for p, c in zip(*np.unique(period[(period > 0)], return_counts=True))}
    counts["none"] = int(((period == 0) & ~diverged).sum())
    counts["diverged"] = int(diverged.sum())
    return counts


def _summary(provenance, body, result):
    return {"model": provenance.map_name, "parameters": {k: str(v) for k, v in provenance.parameters.items()},
            **body, "status": result.status, "message": result.message, "executor": provenance.executor,
            "chunks": provenance.chunks, "evaluations": provenance.evaluations,
            "seconds": round(provenance.seconds, 3),
            "options": {k: getattr(provenance.options, k) for k in provenance.options.__dataclass_fields__}}


# -- the user side ---------------------------------------------------------------------------------------

def _to_float(value, what):
    from .arith import Float64
    from .values import exact_value

    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return float(value)
    number = Float64().number(exact_value(value, what))
    if not np.isfinite(number):
        raise ParameterError(f"{what}: not a finite number: {value!r}")
    return number


def _float_vector(values, what):
    if isinstance(values, str):
        raise ParameterError(f"{what} must be a sequence of numbers, got the string {values!r}")
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        array = np.array([_to_float(v, what) for v in np.ravel(np.asarray(values, dtype=object))])
    if array.ndim != 1 or array.size == 0:
        raise ParameterError(f"{what} must be a non-empty one-dimensional sequence, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{what} contains a value that is not finite")
    return array


def _physical_memory():
    """Bytes of RAM of this machine (None where the platform does not say)."""
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def check_memory(cells, floats_per_cell, what, memory=None):
    """Refuse a sweep whose arrays would need more than half this machine's memory, before allocating them.

    ``floats_per_cell`` counts the float64 values held per cell at the peak
    (the chunks' results and the joined arrays).  A typo such as 10**5 points
    per axis of a basin map is then a clear error, not a MemoryError or a
    machine swapping.

    Examples
    --------
    >>> check_memory(10**6, 100, "an orbit diagram", memory=16 * 2**30)
    >>> check_memory(10**10, 4, "a basin map", memory=16 * 2**30)
    Traceback (most recent call last):
    ...
    dynsys_eos.errors.ParameterError: a basin map of 10,000,000,000 cells needs about 320 GB of memory (this machine has 17.2 GB): use fewer points
    """
    memory = _physical_memory() if memory is None else memory
    need = 8.0 * cells * floats_per_cell
    if memory and need > memory / 2:
        raise ParameterError(f"{what} of {cells:,} cells needs about {need / 1e9:.3g} GB of memory (this machine has "
                             f"{memory / 1e9:.3g} GB): use fewer points")


def _diagram_floats(options, dimension):
    """Floats per cell of an orbit diagram at its peak: the chunks' windows and the joined iterates."""
    return 2 * (options.keep + 2) * dimension + 4


def _fixed_parameters(map_, parameters, free=None):
    """Exact fixed values (all but ``free``) and their float64 values."""
    overrides = dict(parameters or {})
    if free is not None:
        if free in overrides:
            raise ParameterError(f"{free} is the parameter varied: do not also fix it in parameters")
        overrides[free] = 0  # a placeholder: every other parameter must have a value
    exact = map_.parameter_values(overrides)
    if free is not None:
        exact.pop(free)
    return exact, {k: _to_float(v, k) for k, v in exact.items()}


def _start_state(map_, initial, what="initial"):
    if initial is None:
        model = getattr(map_, "model", None)
        if model is None:
            raise ParameterError(f"give {what} (a state): a user-defined map has no default state")
        initial = model.default_state()
    state = _float_vector(initial, what)
    if state.size != map_.dimension:
        raise ParameterError(f"{what} has {state.size} value(s) but {map_.name!r} has {map_.dimension} state "
                             f"variable(s) ({', '.join(map_.state_names)})")
    return state


def _execute(kernel, states, parameter_arrays, options, window, executor, scheduler, workers, progress, label):
    """Cut the cells into chunks, run them, return (chunk results, executor description, chunks)."""
    cells = states.shape[1]
    tasks = []
    for start in range(0, cells, options.chunk):
        part = slice(start, min(start + options.chunk, cells))
        params = tuple(p if np.ndim(p) == 0 else p[part] for p in parameter_arrays)
        tasks.append(ChunkTask(kernel, states[:, part], params, options, window))
    chosen = make_executor(executor, scheduler, workers)
    bar = Progress(len(tasks), label, enabled=progress if progress is not None else None)
    results = chosen.run(run_chunk, tasks, bar)
    return results, chosen.describe(), len(tasks)  # after the run: the default says whether it started a pool


def _join(results, key, axis=-1):
    return np.concatenate([r[key] for r in results], axis=axis)


def orbit_diagram(map_, vary, values, initial=None, parameters=None, options=None, executor=None, scheduler=None,
                  workers=None, progress=None):
    """The attractor of ``map_`` against the parameter ``vary``: transient dropped, the last iterates kept.

    Parameters
    ----------
    map_ : Map
    vary : str
        The parameter varied.
    values : sequence of float
        Its values (``np.linspace(a, b, N)``, say).
    initial : sequence or array (N, n), optional
        The start state (one for all values, or one per value); default the
        model's default state.
    parameters : dict, optional
        Values of the other parameters (default: the map's).
    options : SweepOptions
    executor : str or Executor, optional
        ``"auto"`` (the default: this process, moving to a local process
        pool when the chunks left would take more than
        :data:`~dynsys_eos.executors.POOL_BREAK_EVEN` seconds here),
        ``"serial"``, ``"threads"``, ``"process"`` or ``"dask"``.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address: selects the Dask executor.
    workers : int, optional
        Processes of the local pool (or threads).
    progress : bool, optional
        Progress bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    OrbitDiagram
    """
    options = options or SweepOptions()
    if vary not in map_.parameter_names:
        raise ParameterError(f"cannot vary {vary!r}: {map_.name!r} has parameters "
                             f"{', '.join(map_.parameter_names) or '(none)'}")
    grid = _float_vector(values, f"values of {vary}")
    check_memory(len(grid), _diagram_floats(options, map_.dimension),
                 f"an orbit diagram ({options.keep} iterates kept)")
    exact, fixed = _fixed_parameters(map_, parameters, vary)
    start = np.asarray(initial if initial is not None else _start_state(map_, None), dtype=object)
    if start.ndim == 2:
        if start.shape != (len(grid), map_.dimension):
            raise ParameterError(f"initial states have shape {start.shape}; expected ({len(grid)}, {map_.dimension})")
        states = np.array([_start_state(map_, row) for row in start]).T
    else:
        states = np.repeat(_start_state(map_, start)[:, None], len(grid), axis=1)
    kernel = Kernel.from_map(map_)
    arrays = [grid if name == vary else fixed[name] for name in kernel.parameters]
    t0 = time.perf_counter()
    results, description, chunks = _execute(kernel, states, arrays, options, True, executor, scheduler, workers,
                                            progress, f"orbit diagram in {vary}")
    seconds = time.perf_counter() - t0
    period, escape = _join(results, "period"), _join(results, "escape")
    iterates = np.transpose(_join(results, "window"), (2, 0, 1))
    provenance = _Provenance(map_.name, tuple(map_.state_names), exact, options, description, chunks, seconds,
                             int(sum(r["evaluations"] for r in results)), map_)
    counts = _period_counts(period, escape >= 0)
    shown = ", ".join(f"period {k}: {v}" for k, v in counts.items() if k not in ("none", "diverged"))
    message = (f"{len(grid)} values of {vary}: {shown or 'no periodic attractor'}; no period <= {options.max_period}: "
               f"{counts['none']}; diverged: {counts['diverged']}")
    return OrbitDiagram(vary, grid, iterates, period, escape, states.T.copy(), provenance=provenance, message=message)


def basin_map(map_, x, y, base=None, parameters=None, attractors=None, options=None, executor=None, scheduler=None,
              workers=None, progress=None):
    """Where each start on a grid of two state coordinates goes: divergence, period, which attractor.

    Parameters
    ----------
    map_ : Map
    x, y : Axis or tuple (name, start, stop, points)
        The two state coordinates varied; the others stay at ``base``.
    base : sequence, optional
        The other coordinates (default: the model's default state).
    parameters : dict, optional
        Parameter values (default: the map's).
    attractors : sequence, optional
        Known attractors to label cells by: each an ``OrbitResult`` or a
        sequence of points (a single state is a fixed point).  Without them,
        end states are clustered (``SweepOptions.cluster_tolerance``).
    options, executor, scheduler, workers, progress
        As for :func:`orbit_diagram`.

    Returns
    -------
    BasinMap
    """
    options = options or SweepOptions()
    x, y = (a if isinstance(a, Axis) else Axis(*a) for a in (x, y))
    names = list(map_.state_names)
    for axis in (x, y):
        if axis.name not in names:
            raise ParameterError(f"{axis.name!r} is not a state variable of {map_.name!r} (state: {', '.join(names)})")
    if x.name == y.name:
        raise ParameterError(f"a basin map needs two different state coordinates, got {x.name!r} twice")
    check_memory(x.points * y.points, 8 * map_.dimension + 8, "a basin map")
    exact, fixed = _fixed_parameters(map_, parameters)
    base = _start_state(map_, base, "base")
    xs, ys = x.values(), y.values()
    X, Y = np.meshgrid(xs, ys)
    states = np.repeat(base[:, None], X.size, axis=1)
    states[names.index(x.name)] = X.ravel()
    states[names.index(y.name)] = Y.ravel()
    given = _given_attractors(attractors, map_.dimension)
    kernel = Kernel.from_map(map_)
    t0 = time.perf_counter()
    results, description, chunks = _execute(kernel, states, [fixed[name] for name in kernel.parameters], options,
                                            False, executor, scheduler, workers, progress,
                                            f"basin map {x.name} x {y.name}")
    seconds = time.perf_counter() - t0
    period, escape = _join(results, "period"), _join(results, "escape")
    final, canonical = _join(results, "final").T, _join(results, "canonical").T
    if given is not None:
        label, found, distinct = _match(period, canonical, given, options)
    else:
        label, found, distinct = _cluster(period, canonical, options, kernel, fixed)
    label[escape >= 0] = DIVERGED
    label[(escape < 0) & (period == 0)] = UNDETERMINED
    shape = (y.points, x.points)
    provenance = _Provenance(map_.name, tuple(names), exact, options, description, chunks, seconds,
                             int(sum(r["evaluations"] for r in results)), map_)
    diverged = int((escape >= 0).sum())
    head = (f"{X.size} starts: {diverged} diverged, {int((label == UNDETERMINED).sum())} bounded without a period "
            f"<= {options.max_period}, ")
    if given is None and distinct > options.max_attractors:
        message = head + (f"{int((period > 0).sum())} periodic, ending at {distinct} distinct states (at "
                          f"cluster_tolerance): a continuum, such as a manifold of minima; the {len(found)} most "
                          f"frequent are listed as attractors")
    else:
        message = head + (f"{int((label >= 0).sum())} reach the {len(found)} attractor(s) listed"
                          + (f", {int((label == OTHER).sum())} other periodic end states" if (label == OTHER).any()
                             else ""))
    return BasinMap(x, y, base, label.reshape(shape), period.reshape(shape), escape.reshape(shape),
                    final.reshape(shape + (len(names),)), tuple(found), distinct, provenance=provenance,
                    message=message)


def _given_attractors(attractors, n):
    if attractors is None:
        return None
    given = []
    for i, item in enumerate(attractors):
        points = np.asarray(getattr(item, "points", item), dtype=object)
        if points.ndim == 1:
            points = points.reshape(1, -1)  # a single state: a fixed point
        try:
            array = np.array([[float(v) for v in row] for row in points], dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"attractor {i}: not a sequence of points of numbers") from None
        if array.ndim != 2 or array.shape[1] != n or not np.all(np.isfinite(array)):
            raise ParameterError(f"attractor {i}: expected points of {n} finite coordinates, got shape {array.shape}")
        given.append(array)
    return given


def _match(period, canonical, given, options):
    label = np.full(len(period), OTHER, dtype=np.int64)
    tol = options.cluster_tolerance * np.maximum(1.0, np.abs(canonical).max(axis=1))
    found = []
    for index, points in enumerate(given):
        distance = np.min([np.abs(canonical - p).max(axis=1) for p in points], axis=0)
        hit = (period == len(points)) & (distance <= tol) & (label == OTHER)
        label[hit] = index
        found.append(Attractor(index, len(points), points, int(hit.sum())))
    distinct = len(_unique_keys(period, canonical, options)[1])
    return label, found, distinct


def _unique_keys(period, canonical, options):
    cells = np.flatnonzero(period > 0)
    scale = np.maximum(1.0, np.abs(canonical[cells]).max(axis=1, initial=0.0))
    keys = np.column_stack([period[cells], np.round(canonical[cells] / (options.cluster_tolerance * scale[:, None]))])
    if not len(cells):
        return cells, np.empty((0, keys.shape[1])), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    unique, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return cells, unique, inverse.ravel(), counts


def _cluster(period, canonical, options, kernel, fixed):
    """Group periodic end states; label the most frequent ``max_attractors`` groups 0, 1, ..."""
    label = np.full(len(period), OTHER, dtype=np.int64)
    cells, unique, inverse, counts = _unique_keys(period, canonical, options)
    groups = len(unique)
    if not groups:
        return label, [], 0
    first = np.zeros(groups, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]  # first cell of each group
    representative = canonical[cells[first]]
    merged = np.arange(groups)
    if groups <= 4096:  # rounding may split one attractor across a grid line: merge neighbours
        kept = np.empty(groups, dtype=np.int64)
        count = 0
        for g in np.argsort(-counts, kind="stable"):
            point = representative[g]
            tol = 2 * options.cluster_tolerance * max(1.0, np.abs(point).max())
            near = np.flatnonzero((unique[kept[:count], 0] == unique[g, 0])
                                  & (np.abs(representative[kept[:count]] - point).max(axis=1) <= tol))
            if len(near):
                merged[g] = kept[near[0]]
            else:
                kept[count], count = g, count + 1
    root = merged[inverse]
    roots, root_counts = np.unique(root, return_counts=True)
    ranking = roots[np.argsort(-root_counts, kind="stable")]
    function = kernel.function()
    params = [fixed[name] for name in kernel.parameters]
    found = []
    for number, g in enumerate(ranking[: options.max_attractors]):
        members = cells[root == g]
        label[members] = number
        p = int(unique[g, 0])
        orbit = [representative[g]]
        with np.errstate(all="ignore"):
            for _ in range(p - 1):
                orbit.append(np.array([float(v) for v in function(list(orbit[-1]), params)]))
        found.append(Attractor(number, p, np.array(orbit), int(len(members))))
    return label, found, int(len(roots))
