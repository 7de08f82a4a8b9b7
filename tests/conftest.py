"""Shared pytest configuration: markers and fixtures used across test files."""

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes more than about 5 seconds (deselect with -m 'not slow')")


@pytest.fixture(scope="session")
def logistic_cascade():
    """The logistic cascade 1 -> 2 -> 4 in r on [2.8, 3.5], flips located at 30 digits: (b1, f1, b2, f2, b4)."""
    from dynsys_eos.bifurcation import locate, switch
    from dynsys_eos.continuation import ContinuationOptions, ContinuationProblem, continue_branch
    from dynsys_eos.models import build_model

    options = ContinuationOptions(p_min=2.8, p_max=3.5, direction="forward")
    problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
    b1 = continue_branch(problem, options=options)
    f1 = locate(b1, b1.detections[0], dps=30)
    b2 = continue_branch(switch(b1, f1), options=options)
    f2 = locate(b2, b2.detections[0], dps=30)
    b4 = continue_branch(switch(b2, f2), options=options)
    return b1, f1, b2, f2, b4
