"""Shared pytest configuration: markers used by the test suite."""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes more than about 5 seconds (deselect with -m 'not slow')")
