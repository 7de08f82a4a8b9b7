"""Late-time analyses of a recorded trajectory (used by :func:`dynsys_eos.eos.trajectory`).

The oscillation subspace of the last iterates (for deep matrix factorization
measured on the end-to-end product W_L ... W_1), the power spectrum of a
recorded series, the two-step map of an observable, and the largest
Lyapunov exponent from per-step log growths of a tangent vector.  The
definitions are in the module docstring of :mod:`dynsys_eos.eos`.
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Oscillation", "Lyapunov", "Spectrum", "end_to_end_product", "oscillation_subspace", "power_spectrum",
           "two_step_map", "lyapunov_from_growth"]


@dataclass(frozen=True)
class Oscillation:
    """Late-time oscillation subspace: dimension, singular values, basis (columns) and what was measured."""

    dimension: int
    singular_values: np.ndarray
    basis: np.ndarray
    observable: str  # "state" or "end-to-end product"
    amplitude: float  # largest singular value / sqrt(records)


@dataclass(frozen=True)
class Lyapunov:
    """Largest Lyapunov exponent (per step), its error estimate, and the float64 horizon (None if <= 0)."""

    value: float
    error: float
    horizon: float
    halves: tuple  # the means over the two halves of the averaging window


@dataclass(frozen=True)
class Spectrum:
    """Power spectrum of the recorded sharpness (frequencies in cycles per step) and its peak."""

    frequency: np.ndarray
    power: np.ndarray
    peak_frequency: float



def end_to_end_product(map_):
    """For a ``dmf`` map: a function taking T x n states to the T x d x d products W_L ... W_1; else None."""
    model = getattr(map_, "model", None)
    if model is None or model.spec.name != "dmf":
        return None
    L, d = model.structure["depth"], model.structure["dim"]

    def product(states):
        states = np.asarray(states, dtype=float)[:, : L * d * d]
        Ws = states.reshape(len(states), L, d, d)
        P = Ws[:, 0]
        for layer in range(1, L):
            P = Ws[:, layer] @ P
        return P

    return product


def oscillation_subspace(states, tail=0.25, rank_tolerance=1e-6, observable=None, name=None):
    """The subspace in which the last ``tail`` fraction of ``states`` oscillates.

    Parameters
    ----------
    states : array_like, T x n
    observable : callable or None
        Maps the T' x n late states to T' x a x b matrices; their deviations
        from the mean are placed side by side (a x (b T')) and the rank counts
        the directions (rows) that oscillate.  None: the state vectors
        themselves (rank of the T' x n deviations).

    Examples
    --------
    >>> t = np.arange(40)
    >>> states = np.stack([1 + (-1.0) ** t, 2 + 0 * t, 3 + 0.5 * (-1.0) ** t], axis=1)
    >>> o = oscillation_subspace(states, tail=0.5)
    >>> o.dimension, np.round(np.abs(o.basis[:, 0]) * np.sqrt(1.25), 6).tolist()
    (1, [1.0, 0.0, 0.5])
    """
    states = np.asarray(states, dtype=float)
    late = states[-max(2, int(round(len(states) * tail))):]
    if observable is None:
        deviations = (late - late.mean(axis=0)).T  # n x T'
        reference = float(np.max(np.abs(late.mean(axis=0)))) if late.size else 0.0
        name = name or "state"
    else:
        matrices = np.asarray(observable(late), dtype=float)
        mean = matrices.mean(axis=0)
        deviations = np.concatenate(list(matrices - mean), axis=1)  # a x (b T')
        reference = float(np.max(np.abs(mean)))
        name = name or "observable"
    U, sv, _ = np.linalg.svd(deviations, full_matrices=False)
    amplitude = float(sv[0] / math.sqrt(len(late))) if sv.size else 0.0
    if sv.size == 0 or amplitude <= rank_tolerance * max(1.0, reference):
        dimension = 0
    else:
        dimension = int(np.sum(sv > rank_tolerance * sv[0]))
    return Oscillation(dimension, sv, U[:, :dimension], name, amplitude)


def power_spectrum(values):
    """One-sided power spectrum of a series sampled every step: (frequencies in cycles per step, power).

    The mean is removed first; a period-2 oscillation puts its power at 0.5.

    >>> f, p = power_spectrum(1 + (-1.0) ** np.arange(64))
    >>> float(f[np.argmax(p)])
    0.5
    """
    values = np.asarray(values, dtype=float)
    values = values - values.mean()
    power = np.abs(np.fft.rfft(values)) ** 2 / max(len(values), 1)
    return np.fft.rfftfreq(len(values)), power


def two_step_map(series):
    """Pairs (z_t, z_{t+2}) of a recorded series: the graph of the two-step map of an observable.

    Points of a period-2 orbit are fixed points of the two-step map (for Zhu
    et al.'s parabola, the two-step iterates in reduced coordinates, see
    docs/gallery/zhu_minimalist.py).

    >>> a, b = two_step_map([1, 2, 3, 4, 5])
    >>> a.tolist(), b.tolist()
    ([1.0, 2.0, 3.0], [3.0, 4.0, 5.0])
    """
    series = np.asarray(series, dtype=float)
    return series[:-2], series[2:]


def lyapunov_from_growth(growth, tail, unit_roundoff):
    """The largest Lyapunov exponent from per-step log growths (the first ``tail`` fraction, at most half, skipped).

    None for fewer than 4 usable steps; -inf for a tangent that collapsed exactly (a superattracting point).
    """
    growth = np.asarray(growth, dtype=float)
    skip = int(len(growth) * min(tail, 0.5))
    used = growth[skip:]
    if len(used) < 4:
        return None
    if np.any(np.isneginf(used)):  # the tangent collapsed exactly: a superattracting point
        return Lyapunov(-math.inf, 0.0, None, (-math.inf, -math.inf))
    half = len(used) // 2
    first, second = float(np.mean(used[:half])), float(np.mean(used[half:]))
    value = float(np.mean(used))
    blocks = np.array_split(used, min(20, len(used) // 2))
    block_means = np.array([b.mean() for b in blocks])
    stderr = float(np.std(block_means, ddof=1) / math.sqrt(len(block_means))) if len(block_means) > 1 else 0.0
    error = max(abs(first - second) / 2, 2 * stderr)
    horizon = math.log(1 / unit_roundoff) / value if value > error else None
    return Lyapunov(value, error, horizon, (first, second))
