"""Helpers shared by the benchmarks: the environment line every benchmark prints first (versions, CPUs and
load, so figures can be compared across runs), timing formatters, the code line, and the peers' virtual
environments under /tmp."""

import os
import platform
import subprocess
import sys
import time


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


def last_error_line(text):
    """The line of a child's output that says what went wrong (the last one naming an error, else the last)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "is ignored: it is neither" not in ln]
    errors = [ln for ln in lines if "Error" in ln or ln.startswith("ERROR")]
    return (errors or lines or ["(no output)"])[-1]


def ensure_venv(path, package, timeout=600):
    """A virtual environment at ``path`` (created if missing) with the distribution ``package`` installed.

    Peers are installed here, never into the project's environment.  pip runs only when the distribution
    is not installed yet.  Returns ``(python, note, seconds)``: the venv's interpreter (None on failure),
    ``"<package> <version>"`` or the error line, and the seconds spent creating and installing.
    """
    t0 = time.perf_counter()
    python = os.path.join(path, "bin", "python")
    # distribution names (pycont-lite) are not import names (pycont): ask the metadata, not import
    probe = f"import importlib.metadata as m; print(m.version({package!r}))"
    try:
        if not os.path.exists(python):
            subprocess.run([sys.executable, "-m", "venv", path], check=True, capture_output=True, text=True,
                           timeout=timeout)
        found = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120)
        if found.returncode != 0:
            proc = subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", package],
                                  capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0:
                return (None, f"pip install {package} failed: {last_error_line(proc.stderr + proc.stdout)}",
                        time.perf_counter() - t0)
            found = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        return None, f"{package}: venv or pip timed out after {exc.timeout:.0f} s", time.perf_counter() - t0
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"venv for {package} failed: {last_error_line(detail)}", time.perf_counter() - t0
    version = found.stdout.strip() or "?"
    return python, f"{package} {version}", time.perf_counter() - t0
