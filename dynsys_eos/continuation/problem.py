"""What to continue: a period-k orbit of a map, in one parameter, from a starting orbit.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.5"})
>>> problem.period, problem.parameter, round(float(problem.start[0, 0]), 12)
(1, 'r', 0.6)
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ContinuationError, ParameterError
from ..orbits import OrbitOptions, find_orbit

__all__ = ["ContinuationProblem"]


@dataclass(frozen=True)
class ContinuationProblem:
    """A starting orbit and the parameter to vary.

    Attributes
    ----------
    map : Map
    period : int
    parameter : str
        The parameter varied (``lr``, ``r``, ``sigma``, ...).
    start_value : float
        Its value at the start.
    start : ndarray, shape (period, n)
        The starting orbit (float64).
    parameters : dict
        Exact values of the other parameters (held fixed).
    direction_hint : ndarray or None
        A direction in (orbit, parameter) space to start along (used after
        branch switching); None to start along the parameter.
    origin : str
        How the problem was made, for reports.
    """

    map: object = field(repr=False)
    period: int
    parameter: str
    start_value: float
    start: np.ndarray = field(repr=False)
    parameters: dict = field(repr=False)
    direction_hint: object = field(default=None, repr=False)
    origin: str = "given orbit"

    def __post_init__(self):
        if self.parameter not in self.map.parameter_names:
            raise ParameterError(f"cannot vary {self.parameter!r}: map {self.map.name!r} has parameters "
                                 f"{', '.join(self.map.parameter_names) or '(none)'}")
        if self.start.shape != (self.period, self.map.dimension):
            raise ParameterError(f"start orbit has shape {self.start.shape}, expected ({self.period}, {self.map.dimension})")

    @classmethod
    def from_orbit(cls, orbit, parameter):
        """Continue a converged :class:`~dynsys_eos.orbits.OrbitResult` in ``parameter``."""
        if not orbit.success and orbit.digits == 0:
            raise ContinuationError(f"cannot continue from an orbit that did not converge ({orbit.message})")
        values = dict(orbit.parameters)
        if parameter not in values:
            raise ParameterError(f"cannot vary {parameter!r}: map {orbit.map.name!r} has parameters "
                                 f"{', '.join(orbit.map.parameter_names)}")
        start = np.array([[float(v) for v in p] for p in orbit.points])
        value = float(_to_float(values.pop(parameter)))
        return cls(orbit.map, orbit.period, parameter, value, start, values, origin="converged orbit")

    @classmethod
    def from_guess(cls, map_, period, parameter, guess, parameters=None):
        """Solve for the orbit near ``guess`` (float64 precision is enough to start) and continue it."""
        orbit = find_orbit(map_, period, guess, parameters, OrbitOptions(dps=15, check_precision=True))
        if not orbit.success:
            raise ContinuationError(f"no period-{period} orbit found near the guess: {orbit.message}")
        if orbit.minimal_period != period:
            raise ContinuationError(f"the orbit found near the guess has period {orbit.minimal_period}, not {period}")
        return cls.from_orbit(orbit, parameter)


def _to_float(value):
    import sympy

    from ..values import sympy_number

    return float(sympy.N(sympy_number(value), 20))
