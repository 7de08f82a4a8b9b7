"""Newton with doubling precision, and the two-precision measurement of digits achieved.

Shared by every high-precision solver (orbits, bifurcation points).  A solver
supplies one Newton step, ``step(ctx, z) -> (z_new, correction, scale)``,
that converts ``z`` into the context ``ctx`` itself and returns the max-norm
of its correction and the size of the solution.

The schedule follows the pitfall recorded in DESIGN.md: the first level is at
most twice the accuracy the seed really has, each level at most doubles the
accuracy revealed by the last correction (less a margin), and the loop ends
only when, at the target precision, the last correction is below
2^(-target/2): the quadratic step that follows it then reaches the target.

Examples
--------
Newton for sqrt(2) (z -> z - (z^2 - 2)/(2z)), from a float seed to 60 digits:

>>> import mpmath
>>> def step(ctx, z):
...     z = ctx.number(z)
...     new = z - (z * z - 2) / (2 * z)
...     return new, abs(new - z), abs(new)
>>> z, steps = refine(step, 1.4142135623730951, seed_bits=50, target=dps_to_bits(60), max_steps=20)
>>> z, digits, prec = measure(step, z, dps_to_bits(60))
>>> digits
60
>>> mpmath.nstr(z, 30)
'1.41421356237309504880168872421'
"""

import math

import mpmath

from .arith import MP, bits_to_dps, dps_to_bits

__all__ = ["refine", "measure", "revealed_bits", "dps_to_bits"]


def revealed_bits(correction, scale):
    """Relative accuracy, in bits, that a Newton correction of this size shows its start point had."""
    if correction == 0:
        return math.inf
    return -float(mpmath.log(mpmath.mpf(correction) / max(mpmath.mpf(scale), 1), 2))


def refine(step, z, seed_bits, target, max_steps, context=MP):
    """Newton with precision doubled per step up to ``target`` bits.

    Returns
    -------
    (z, steps)
        ``z`` is None when the target was not reached within ``max_steps``.
    ``context`` makes the arithmetic context of a precision (MP, or MPFR).
    """
    accuracy = max(8.0, float(seed_bits))
    for count in range(1, max_steps + 1):
        prec = int(min(target, max(64, 2 * accuracy)))
        ctx = context(prec=prec)
        with ctx.scope():
            z, correction, scale = step(ctx, z)
            revealed = revealed_bits(ctx.to_mpf(correction), ctx.to_mpf(scale))
        if prec == target and revealed >= target / 2 + 8:
            return z, count
        if revealed > accuracy / 2:  # a quadratic step doubles what it started from, less a margin
            accuracy = max(accuracy, min(2 * revealed - 16, prec - 8))
    return None, max_steps


def measure(step, z, target, context=MP):
    """One more step at a higher precision: (refined z, digits of the input z, check precision in bits).

    The digits are those the input agrees with the refined value to,
    capped at the target precision: the precision asked for is never
    reported unless it was reached.
    """
    check = target + max(32, target // 4)
    ctx = context(prec=check)
    with ctx.scope():
        z_hi, correction, scale = step(ctx, z)
        correction, scale = ctx.to_mpf(correction), ctx.to_mpf(scale)
        if correction == 0:
            digits = bits_to_dps(target)
        else:
            digits = int(math.floor(-float(mpmath.log10(correction / max(scale, 1)))))
    return z_hi, max(0, min(digits, bits_to_dps(target))), check
