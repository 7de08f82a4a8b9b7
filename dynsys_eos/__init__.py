"""dynsys_eos: exact maps of gradient descent beyond the edge of stability.

A loss (or a built-in model) and an update rule give an exact map; its
fixed points, periodic orbits, multipliers and exact thresholds are computed
at any precision, with the digits achieved measured, not assumed.
"""

__version__ = "0.1.0"
