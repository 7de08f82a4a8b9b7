"""Continuation of periodic orbits in one parameter: problem, algorithm and options are separate arguments.

``continue_branch(problem, PALC(), ContinuationOptions(...))`` returns a
:class:`Branch`; see :mod:`dynsys_eos.continuation.palc`.
"""

from .branch import Branch, BranchPoint, Detection
from .options import ALGORITHMS, PALC, ContinuationOptions, get_algorithm
from .palc import continue_branch
from .problem import ContinuationProblem

__all__ = ["Branch", "BranchPoint", "Detection", "PALC", "ALGORITHMS", "ContinuationOptions", "get_algorithm",
           "continue_branch", "ContinuationProblem"]
