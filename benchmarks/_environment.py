"""The line every benchmark prints first: versions, CPUs and load, so figures can be compared across runs."""

import os
import platform
import subprocess


def environment(args, repeats):
    import mpmath
    import numpy
    import sympy

    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on this platform
        load = "?"
    return (f"python {platform.python_version()}, numpy {numpy.__version__}, sympy {sympy.__version__}, "
            f"mpmath {mpmath.__version__} (backend {mpmath.libmp.BACKEND}); {os.cpu_count()} CPUs, "
            f"load average {load}; mode {'quick' if args.quick else 'full'}; repeats {repeats}")


def seconds_text(seconds):
    """A duration for the tables: us, ms or s."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def repeats_text(values):
    """Every repeat of a timing, so the spread is visible."""
    return "[" + ", ".join(seconds_text(v) for v in values) + "]"


def code_line(root):
    """Which code was measured: the commit of ``root`` and whether dynsys_eos/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "dynsys_eos"],
                               capture_output=True, text=True, timeout=10).stdout.strip().splitlines()
        return (f"code: commit {head or '?'}, "
                + (f"{len(dirty)} uncommitted change(s) in dynsys_eos/" if dirty else "dynsys_eos/ as committed"))
    except (OSError, subprocess.SubprocessError):
        return "code: (git not available)"
