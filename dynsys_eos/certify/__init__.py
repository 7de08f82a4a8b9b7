"""Interval certificates: Krawczyk proofs of orbits, flips, folds, cascades and parameter intervals,
exact (Sturm) proofs of critical learning rates, and an independent checker.

``certify_*`` (in :mod:`.produce`) find the object with the solvers, choose
boxes and prove; :func:`check` re-proves a :class:`Certificate` from its
file alone.  See ``docs/certificates.md`` for what is proved and what is not.
"""

from .certificate import Certificate
from .check import Verdict, check, check_file
from .produce import (CertifyOptions, certify_cascade, certify_flip, certify_interval, certify_orbit,
                      certify_threshold)

__all__ = ["Certificate", "CertifyOptions", "Verdict", "check", "check_file", "certify_orbit", "certify_flip",
           "certify_cascade", "certify_threshold", "certify_interval"]
