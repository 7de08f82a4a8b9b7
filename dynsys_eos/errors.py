"""The exceptions of dynsys_eos: one root, one class per kind of failure.

Every error a library call raises on purpose derives from :class:`DynsysError`,
so ``except DynsysError`` catches exactly the failures this package reports
(a user's mistake or a numerical method that gave up), and nothing else.
Expected non-convergence inside a longer computation (a continuation step
that fails, say) is reported as a ``status`` field of the result, not raised.
"""

import numbers

__all__ = [
    "require_integer",
    "DynsysError",
    "ParseError",
    "ModelError",
    "ParameterError",
    "EvaluationError",
    "ConvergenceError",
    "ThresholdError",
    "ContinuationError",
    "CertificationError",
]


class DynsysError(Exception):
    """Root of every error raised on purpose by dynsys_eos."""


class ParseError(DynsysError, ValueError):
    """A user-supplied expression is malformed, unsafe, or uses an undeclared name."""


class ModelError(DynsysError, ValueError):
    """A model, loss or map is ill-specified (unknown name, bad structure)."""


class ParameterError(ModelError):
    """A parameter is unknown, missing, or has a value outside its domain."""


class EvaluationError(DynsysError, ArithmeticError):
    """Evaluating a compiled map produced NaN, an infinity, or an overflow.

    Attributes
    ----------
    state : tuple
        The state at which the evaluation failed (as given).
    parameters : dict
        The parameter values in use.
    """

    def __init__(self, message, state=None, parameters=None):
        super().__init__(message)
        self.state = state
        self.parameters = parameters


class ConvergenceError(DynsysError, ArithmeticError):
    """An iterative method (Newton, say) did not converge."""


class ThresholdError(DynsysError):
    """An exact threshold could not be derived for the given model or point."""


class ContinuationError(DynsysError):
    """A continuation could not start (a failure during it is a status)."""


class CertificationError(DynsysError):
    """A certificate is malformed or could not be produced."""


def require_integer(value, low, label):
    """Raise ParameterError unless ``value`` is an integer (not a bool) >= ``low``; ``label`` names it.

    >>> require_integer(3, 1, "Options.steps")
    >>> require_integer(True, 0, "Options.keep")
    Traceback (most recent call last):
    ...
    dynsys_eos.errors.ParameterError: Options.keep must be an integer >= 0, got True
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ParameterError(f"{label} must be an integer >= {low}, got {value!r}")
