"""The exceptions of dynsys_eos: one root, one class per kind of failure.

Every error a library call raises on purpose derives from :class:`DynsysError`,
so ``except DynsysError`` catches exactly the failures this package reports
(a user's mistake or a numerical method that gave up), and nothing else.
Expected non-convergence inside a longer computation (a continuation step
that fails, say) is reported as a ``status`` field of the result, not raised.
"""

__all__ = [
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
