"""Continuation algorithms and their options (validated, frozen).

Examples
--------
>>> ContinuationOptions(ds=0.01, p_min=2.5, p_max=3.5).direction
'both'
>>> ContinuationOptions(ds=-1)
Traceback (most recent call last):
...
dynsys_eos.errors.ParameterError: ds must be positive, got -1
>>> get_algorithm("arclength")
Traceback (most recent call last):
...
dynsys_eos.errors.ParameterError: unknown continuation algorithm 'arclength'; valid: palc
"""

from dataclasses import dataclass

from ..errors import ParameterError

__all__ = ["PALC", "ContinuationOptions", "ALGORITHMS", "get_algorithm"]


@dataclass(frozen=True)
class PALC:
    """Pseudo-arclength continuation: tangent predictor, Newton corrector on the arclength-augmented system.

    The tangent is the null vector of the Jacobian of the orbit equations
    with respect to (orbit, parameter), oriented along the previous one.  On a
    manifold of orbits (GD on an over-parameterized loss) the null space is
    larger; the tangent is then the previous tangent projected onto it, so
    the branch moves across the manifold, and the corrector takes
    minimum-norm steps.
    """

    name: str = "palc"


ALGORITHMS = {"palc": PALC}


def get_algorithm(name):
    """An algorithm by name (an unknown name lists the valid ones)."""
    if name not in ALGORITHMS:
        raise ParameterError(f"unknown continuation algorithm {name!r}; valid: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]()


@dataclass(frozen=True)
class ContinuationOptions:
    """Options of :func:`~dynsys_eos.continuation.continue_branch`.

    Parameters
    ----------
    ds, ds_min, ds_max : float
        Initial, smallest and largest arclength step (0 < ds_min <= ds <= ds_max).
    max_steps : int
        Steps allowed in each direction.
    p_min, p_max : float or None
        Bounds on the parameter; the branch stops exactly on a bound it reaches.
    direction : str
        ``"both"``, ``"forward"`` (parameter increasing at the start) or ``"backward"``.
    tolerance : float
        Newton tolerance of the float64 corrector (relative).
    max_newton : int
        Corrector iterations before the step is halved.
    max_norm : float
        A branch whose orbit grows beyond this norm stops with status ``"diverged"``.
    detect : bool
        Evaluate the test functions and record bifurcations between points.
    manifold_tolerance : float
        Relative singular value below which a direction counts as null at a
        point.  The branch's manifold dimension is the count its points agree
        on (:mod:`~dynsys_eos.continuation.manifold`).
    stop_at : tuple of str
        Stop a direction (status ``"found"``) as soon as a bifurcation of one
        of these kinds (``"flip"``, ``"fold"``, ``"ns"``, ``"branch"``) is
        detected, a few points past it.
    """

    ds: float = 0.01
    ds_min: float = 1e-7
    ds_max: float = 0.1
    max_steps: int = 500
    p_min: float = None
    p_max: float = None
    direction: str = "both"
    tolerance: float = 1e-11
    max_newton: int = 8
    max_norm: float = 1e6
    detect: bool = True
    manifold_tolerance: float = 1e-8
    stop_at: tuple = ()

    def __post_init__(self):
        for name in ("ds", "ds_min", "ds_max", "tolerance", "max_norm"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ParameterError(f"{name} must be positive, got {value!r}")
        if not self.ds_min <= self.ds <= self.ds_max:
            raise ParameterError(f"need ds_min <= ds <= ds_max, got ds_min={self.ds_min}, ds={self.ds}, ds_max={self.ds_max}")
        if self.p_min is not None and self.p_max is not None and not self.p_min < self.p_max:
            raise ParameterError(f"need p_min < p_max, got p_min={self.p_min}, p_max={self.p_max}")
        if self.direction not in ("both", "forward", "backward"):
            raise ParameterError(f"direction must be 'both', 'forward' or 'backward', got {self.direction!r}")
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise ParameterError(f"max_steps must be a positive integer, got {self.max_steps!r}")
        if not isinstance(self.max_newton, int) or self.max_newton < 1:
            raise ParameterError(f"max_newton must be a positive integer, got {self.max_newton!r}")
        if not 0 < self.manifold_tolerance < 1:
            raise ParameterError(f"manifold_tolerance must lie in (0, 1), got {self.manifold_tolerance}")
        unknown = set(self.stop_at) - {"flip", "fold", "ns", "branch"}
        if isinstance(self.stop_at, str) or unknown:
            raise ParameterError(f"stop_at must be a tuple of kinds among flip, fold, ns, branch; got {self.stop_at!r}")
