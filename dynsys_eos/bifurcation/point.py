"""A located bifurcation point, with its uncertainty kept."""

from dataclasses import dataclass, field

__all__ = ["BifurcationPoint"]


@dataclass(frozen=True)
class BifurcationPoint:
    """A bifurcation of a period-k orbit, located at high precision (or why not).

    Attributes
    ----------
    kind : str
        ``"flip"`` (multiplier -1), ``"fold"`` (+1, the parameter turns back),
        ``"ns"`` (a complex pair on the unit circle) or ``"branch"`` (+1, the
        branch goes on: transcritical or pitchfork).
    parameter : str
        The parameter varied.
    status : str
        ``"located"`` or ``"not-located"``.
    value : mpf or None
        The parameter value.
    digits : int
        Digits of (orbit, value) measured at two precisions (relative to
        max(1, |z|)); 0 when not located.
    bracket : tuple of float
        The parameter interval in which the sweep detected it.
    orbit : tuple of tuple of mpf
        The critical orbit.
    period : int
    coefficient : mpf or None
        Flip: the cubic normal-form coefficient c of eta -> -eta + c eta^3
        (c > 0: supercritical, a stable period-2k orbit is born as the
        k-orbit loses stability); fold: the quadratic coefficient a.  The
        eigenvector is normalised to |q| = 1 at the orbit's first point, so
        the magnitude depends on which point comes first; the sign does not.
    coefficient_digits : int
    angle : mpf or None
        Neimark-Sacker: the argument theta of the critical multipliers e^{+-i theta}.
    """

    kind: str
    parameter: str
    status: str
    digits: int
    bracket: tuple
    period: int
    map: object = field(repr=False)
    parameters: dict = field(repr=False)
    branch_index: int = 0
    value: object = None
    orbit: tuple = field(default=(), repr=False)
    coefficient: object = None
    coefficient_digits: int = 0
    angle: object = None
    eigenvector: tuple = field(default=(), repr=False)
    precision_bits: int = 0
    message: str = ""

    @property
    def criticality(self):
        """For a flip with a known coefficient: ``"supercritical"`` or ``"subcritical"``."""
        if self.kind != "flip" or self.coefficient is None or self.coefficient_digits == 0:
            return None
        return "supercritical" if self.coefficient > 0 else "subcritical"
