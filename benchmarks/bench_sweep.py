"""Sweep benchmark: map evaluations per second of float64 orbit diagrams and basin maps (target >= 5e7/s).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_sweep.py            # full run with pynamical (~1-2 min, more on first install)
    PYTHONPATH=. python benchmarks/bench_sweep.py --quick    # smaller sweeps, one repeat, no peer

Every figure is measured on this machine in this run; each time is the best
(minimum) of the repeats, and every repeat is printed.  Ratios are
baseline time / our time for the same number of map evaluations (> 1 means
we are faster).

What is measured
----------------
Three maps, each as a whole sweep through the public API (building the
chunks, iterating, checking divergence every 4 steps, recording the kept
iterates, detecting periods up to 32, assembling the result):

1. logistic map ``x -> r x (1 - x)``: :func:`dynsys_eos.sweep.orbit_diagram`
   over ``N`` values of r in [2.5, 4], 2000 transient + 64 kept iterates;
2. Henon map ``(x, y) -> (1 - a x^2 + y, b x)``: ``orbit_diagram`` over
   ``N`` values of a in [1.0, 1.4] (b = 0.3), 2000 + 64 iterates;
3. GD on the two-variable loss ``(x y - 1)^2 / 2`` at lr = 0.2:
   :func:`dynsys_eos.sweep.basin_map` over a square grid of ``N`` starts in
   [-3, 3]^2, 2000 + 64 iterates (a quarter to a half of the starts diverge
   and are dropped from the arrays early: their evaluations are not counted).

"Map evaluations" are counted by the sweep itself (one per cell per step
actually iterated).  Ours is run serially (one process), on a thread pool
(2 threads: numpy releases the GIL in its loops), on a local process pool
(2 workers, spawn start-up included in the time), with the default executor
(``auto``: this process, moving to the pool only past
``POOL_BREAK_EVEN`` seconds of estimated work; the row says which it
chose), and on a Dask ``LocalCluster`` (in-process, 2 threads; cluster
start-up excluded and shown apart) when dask.distributed is installed.
The start-up of a bare process pool (2 workers, spawn, two trivial tasks)
is measured too: it is what ``POOL_BREAK_EVEN`` has to pay for.

Baselines, measured in the same run on the same maps:

* a plain Python loop over floats (the same recurrence, written by hand, on
  fewer cells, scaled per evaluation);
* hand-written numpy on the whole arrays (``x = r * x * (1 - x)``, no
  divergence checks, no recording): what vectorization alone gives;
* pynamical 0.3.3 (logistic map only: it has no 2-D maps), its
  ``simulate(num_rates=N, num_discard=2000, num_gens=64)`` with numba JIT,
  installed now into a virtual environment under /tmp (it pins numpy < 2.3),
  timed inside its own interpreter after a warm-up call (JIT compile
  excluded).
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _environment import ensure_venv, environment, repeats_text, seconds_text  # noqa: E402

TARGET = 5e7
TRANSIENT, KEEP, BASIN_KEEP = 2000, 64, 64
PIP_TIMEOUT, PEER_TIMEOUT = 600, 300


def best_of(repeats, run):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


# -- the maps, ours ------------------------------------------------------------------------------------------

def xy_map():
    import sympy

    from dynsys_eos.loss import Loss
    from dynsys_eos.maps import make_map

    x, y = sympy.symbols("x y", real=True)
    return make_map(Loss((x * y - 1) ** 2 / 2, [x, y], name="xy"), "gd", lr="0.2")


def ours(case, n, executor, workers=None):
    from dynsys_eos.models import build_model
    from dynsys_eos.sweep import SweepOptions, basin_map, orbit_diagram

    if case == "logistic":
        return lambda: orbit_diagram(build_model("logistic"), "r", np.linspace(2.5, 4, n),
                                     options=SweepOptions(transient=TRANSIENT, keep=KEEP), executor=executor,
                                     workers=workers, progress=False)
    if case == "henon":
        return lambda: orbit_diagram(build_model("henon"), "a", np.linspace(1.0, 1.4, n),
                                     options=SweepOptions(transient=TRANSIENT, keep=KEEP), executor=executor,
                                     workers=workers, progress=False)
    side = int(round(np.sqrt(n)))
    m = xy_map()
    return lambda: basin_map(m, ("x", -3, 3, side), ("y", -3, 3, side), base=[0, 0],
                             options=SweepOptions(transient=TRANSIENT, keep=BASIN_KEEP), executor=executor,
                             workers=workers, progress=False)


def evaluations(result):
    return result.provenance.evaluations


# -- baselines ---------------------------------------------------------------------------------------------

def python_loop(case, cells, steps):
    """Plain Python floats: evaluations per second of the same recurrence."""
    count = 0
    t0 = time.perf_counter()
    if case == "logistic":
        for r in np.linspace(2.5, 4, cells).tolist():
            x = 0.5
            for _ in range(steps):
                x = r * x * (1 - x)
            count += steps
    elif case == "henon":
        for a in np.linspace(1.0, 1.4, cells).tolist():
            x, y = 0.6, 0.2
            for _ in range(steps):
                x, y = 1 - a * x * x + y, 0.3 * x
            count += steps
    else:
        side = int(round(np.sqrt(cells)))
        for x0 in np.linspace(-3, 3, side).tolist():
            for y0 in np.linspace(-3, 3, side).tolist():
                x, y = x0, y0
                for _ in range(steps):
                    residual = x * y - 1
                    x, y = x - 0.2 * residual * y, y - 0.2 * residual * x
                    count += 1
                    if not (abs(x) <= 1e8 and abs(y) <= 1e8):
                        break
    return count / (time.perf_counter() - t0)


def numpy_loop(case, n, steps):
    """Hand-written numpy on whole arrays, nothing but the recurrence."""
    with np.errstate(all="ignore"):
        t0 = time.perf_counter()
        if case == "logistic":
            r, x = np.linspace(2.5, 4, n), np.full(n, 0.5)
            for _ in range(steps):
                x = r * x * (1 - x)
        elif case == "henon":
            a, x, y = np.linspace(1.0, 1.4, n), np.full(n, 0.6), np.full(n, 0.2)
            for _ in range(steps):
                x, y = 1 - a * x * x + y, 0.3 * x
        else:
            side = int(round(np.sqrt(n)))
            x, y = (v.ravel() for v in np.meshgrid(np.linspace(-3, 3, side), np.linspace(-3, 3, side)))
            for _ in range(steps):
                residual = x * y - 1
                x, y = x - 0.2 * residual * y, y - 0.2 * residual * x
        return n * steps / (time.perf_counter() - t0)


_PYNAMICAL_CHILD = r"""
import json, sys, time
import pynamical, numpy
n, discard, gens, repeats = (int(v) for v in sys.argv[1:5])
pynamical.simulate(num_gens=10, rate_min=2.5, rate_max=4, num_rates=10, num_discard=10)   # JIT warm-up
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    frame = pynamical.simulate(num_gens=gens, rate_min=2.5, rate_max=4, num_rates=n, num_discard=discard)
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "shape": list(frame.shape), "version": pynamical.__version__,
                  "numpy": numpy.__version__}))
"""


def pynamical(path, n, repeats):
    python, note, _ = ensure_venv(path, "pynamical", timeout=PIP_TIMEOUT)
    if python is None:
        return None, note
    try:
        proc = subprocess.run([python, "-c", _PYNAMICAL_CHILD, str(n), str(TRANSIENT), str(KEEP), str(repeats)],
                              capture_output=True, text=True, timeout=PEER_TIMEOUT, cwd="/tmp")
    except subprocess.TimeoutExpired:
        return None, f"timed out after {PEER_TIMEOUT} s"
    if proc.returncode != 0:
        return None, f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), "ok"


# -- table -------------------------------------------------------------------------------------------------

def rate_text(rate):
    return f"{rate / 1e6:8.1f} M/s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sweeps, one repeat, no peer")
    parser.add_argument("--peers", action="store_true", help="run pynamical also with --quick")
    parser.add_argument("--peers-venv", default="/tmp/sweep-peers-venv", help="venv for pynamical (created if missing)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    n = 40_000 if args.quick else 100_000
    print(environment(args, repeats))
    print(f"cells per sweep: {n:,}; steps: {TRANSIENT} + {KEEP} (basin: {TRANSIENT} + {BASIN_KEEP}); "
          f"target >= {TARGET:.0e} map evaluations per second\n")

    client = cluster = None
    try:
        import distributed

        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
        dask_start = time.perf_counter() - t0
    except ImportError:
        dask_start = None

    from dynsys_eos.executors import POOL_BREAK_EVEN, ProcessExecutor

    _, startup, _ = best_of(repeats, lambda: ProcessExecutor(workers=2).run(abs, [-1, -2]))
    print(f"bare process pool start-up (2 workers, spawn, 2 trivial tasks): {repeats_text(startup)}; the default "
          f"executor moves to a pool only past POOL_BREAK_EVEN = {POOL_BREAK_EVEN:g} s of estimated work\n")

    failed = False
    header = f"{'map':9s} {'how':34s} {'evaluations':>13s} {'time':>9s} {'rate':>12s}   {'ratio':>7s}  check"
    print(header)
    print("-" * len(header))
    for case in ("logistic", "henon", "xy-gd"):
        rows = []
        ours(case, 1000, "serial")()  # warm-up: compile the program, import everything
        for how, executor, workers in (("dynsys_eos, 1 process", "serial", None),
                                       ("dynsys_eos, thread pool", "threads", 2),
                                       ("dynsys_eos, process pool", "process", 2),
                                       ("dynsys_eos, default", "auto", 2),
                                       ("dynsys_eos, dask LocalCluster", "dask", None)):
            if executor == "dask":
                if client is None:
                    continue
                from dynsys_eos.executors import DaskExecutor

                executor = DaskExecutor(client, task_timeout=600)
            seconds, times, result = best_of(repeats, ours(case, n, executor, workers))
            if executor == "auto":  # say what the default chose
                how = f"{how} ({'pool' if result.provenance.executor.startswith('process') else '1 process'})"
            rate = evaluations(result) / seconds
            rows.append((how, evaluations(result), seconds, times, rate))
        best = max(r[4] for r in rows)
        single = rows[0][4]
        baselines = [("plain Python loop", python_loop(case, 2000 if args.quick else 5000, TRANSIENT + KEEP)),
                     ("hand-written numpy, 1 process", numpy_loop(case, n, TRANSIENT + KEEP))]
        if case == "logistic" and (not args.quick or args.peers):
            timing, note = pynamical(args.peers_venv, n, repeats)
            if timing is None:
                baselines.append((f"pynamical: {note}", None))
            else:
                baselines.append((f"pynamical {timing['version']} (numba, numpy {timing['numpy']})",
                                  n * (TRANSIENT + KEEP) / min(timing["times"])))
        for how, count, seconds, times, rate in rows:
            ok = rate >= TARGET
            print(f"{case:9s} {how:34s} {count:13,d} {seconds_text(seconds):>9s} {rate_text(rate)}   {'':>7s}  "
                  f"{'PASS' if ok else 'below'} (>= {TARGET:.0e})")
            print(f"{'':9s}   | repeats {repeats_text(times)}")
        for how, rate in baselines:
            if rate is None:
                print(f"{case:9s} {how}")
                continue
            print(f"{case:9s} {how:34s} {'':13s} {'':>9s} {rate_text(rate)}   {single / rate:7.2f}  "
                  f"(ratio: ours in 1 process / this)")
        failed |= best < TARGET
        print(f"{'':9s}   | best of ours: {best / 1e6:.1f} M evaluations/s: {'PASS' if best >= TARGET else 'FAIL'}")
    if client is not None:
        client.close()
        cluster.close()
        print(f"\nDask LocalCluster (in-process, 2 threads) started in {seconds_text(dask_start)} (not in the times)")
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
