"""The flip system of the logistic map, written from the mathematics for the benchmarks' references and baselines.

A flip of the period-P orbit of x -> r x (1 - x) solves f^P(x) - x = 0 and (f^P)'(x) + 1 = 0 in (x, r).
The derivatives are propagated forward along the orbit (no symbolic composition of f^P), in whatever number
type ``x`` and ``r`` are (mpmath.mpf at any precision).
"""


def flip_system(x, r, period, one, zero):
    """Residual ``[f^P(x) - x, (f^P)'(x) + 1]`` and its Jacobian in (x, r), as nested lists."""
    # y = f^j(x), a = dy/dx, b = dy/dr, a_x = da/dx, a_r = da/dr
    y, a, b, a_x, a_r = x, one, zero, zero, zero
    for _ in range(period):
        f_x, f_r, f_xx, f_xr = r * (1 - 2 * y), y * (1 - y), -2 * r, 1 - 2 * y
        a_x = f_xx * a * a + f_x * a_x
        a_r = (f_xx * b + f_xr) * a + f_x * a_r
        a, b = f_x * a, f_x * b + f_r
        y = r * y * (1 - y)
    return [y - x, a + 1], [[a - 1, b], [a_x, a_r]]
