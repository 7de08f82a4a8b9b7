"""The :class:`Certificate` result and its JSON file.

A certificate states the problem exactly (see :mod:`.problem`), what is
claimed, the boxes the proof runs on (decimal midpoint and radius strings:
the box is exactly [mid - rad, mid + rad]), the precision and method, and the
outcome: ``"proved"``, ``"not-proved"`` (with the reason) or, for a parameter
interval, ``"partial"`` (the pieces that could not be proved are listed).
Nothing in it is trusted by :func:`~dynsys_eos.certify.check.check`: the
checker rebuilds the map from ``problem`` and re-runs every interval test.
"""

import json
from dataclasses import asdict, dataclass, field

from ..errors import CertificationError

__all__ = ["Certificate", "FORMAT", "VERSION", "OUTCOMES"]

FORMAT = "dynsys-eos certificate"
VERSION = 1
OUTCOMES = ("proved", "not-proved", "partial")
KINDS = ("orbit", "flip", "fold", "threshold", "cascade", "interval")


@dataclass(frozen=True)
class Certificate:
    """A claim about a stated problem, its boxes and the outcome of the proof.

    Attributes
    ----------
    problem : dict
        The map, stated exactly (model or expressions, rule, parameters as exact strings).
    claim : dict
        What is claimed; ``claim["kind"]`` is one of orbit, flip, fold, threshold, cascade, interval.
    boxes : dict
        The boxes of the proof (lists of ``[mid, rad]`` decimal strings), by role.
    precision_bits : int
        Working precision of the ball arithmetic.
    method : str
        ``"krawczyk"`` (orbits, bifurcation points) or ``"sturm"`` (thresholds, exact arithmetic).
    outcome : str
        ``"proved"``, ``"not-proved"`` or ``"partial"``.
    reason : str
        Why, in one sentence.
    results : dict
        Enclosures a reader wants (parameter value, normal-form coefficient,
        multipliers) as ``[mid, rad]`` strings; re-derived and compared by the checker.
    backend : str
        The ball backend that produced it (the checker may use another).
    seconds : float
        Time the proof took when it was made.
    """

    problem: dict
    claim: dict
    boxes: dict
    precision_bits: int
    method: str
    outcome: str
    reason: str
    results: dict = field(default_factory=dict)
    backend: str = ""
    seconds: float = 0.0

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise CertificationError(f"unknown outcome {self.outcome!r}; valid: {', '.join(OUTCOMES)}")
        if not isinstance(self.claim, dict) or self.claim.get("kind") not in KINDS:
            raise CertificationError(f"claim.kind must be one of {', '.join(KINDS)}; got {self.claim!r:.80}")
        if not isinstance(self.precision_bits, int) or self.precision_bits < 30:
            raise CertificationError(f"precision_bits must be an integer of at least 30, got {self.precision_bits!r}")

    @property
    def proved(self):
        return self.outcome == "proved"

    def to_dict(self):
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=1)

    def write(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_json() + "\n")

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CertificationError(f"not a dynsys-eos certificate (format should be {FORMAT!r})")
        if data.get("version") != VERSION:
            raise CertificationError(f"certificate version {data.get('version')!r} is not supported (expected {VERSION})")
        names = ("problem", "claim", "boxes", "precision_bits", "method", "outcome", "reason")
        missing = [n for n in names if n not in data]
        if missing:
            raise CertificationError(f"certificate lacks {', '.join(missing)}")
        extra = {n: data[n] for n in ("results", "backend", "seconds") if n in data}
        return cls(**{n: data[n] for n in names}, **extra)

    @classmethod
    def read(cls, path):
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise CertificationError(f"cannot read {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise CertificationError(f"{path} is not JSON: {exc}") from None
        return cls.from_dict(data)

    def summary(self):
        """One line for a person."""
        kind = self.claim["kind"]
        return f"{kind} certificate ({self.method}, {self.precision_bits} bits): {self.outcome} - {self.reason}"
