"""Continuation benchmark: the logistic period-doubling cascade, period 1 -> 8, flips located at 50-1000 digits.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_continuation.py                  # full run with peers (~1-3 min)
    PYTHONPATH=. python benchmarks/bench_continuation.py --quick          # fewer repeats, 50 and 200 digits, no peers
    PYTHONPATH=. python benchmarks/bench_continuation.py --quick --peers  # the same, with the peers (1 repeat)

Every figure is measured on this machine in this run, and the peers are
installed and measured in the same run (the machine may be shared and noisy):
each time is the best (minimum) of several repeats, and every repeat is
printed.  Ratios are peer / ours (> 1 means we are faster).

What is measured
----------------
1. ``dynsys_eos``: build the logistic model, continue the fixed point from
   r = 2.8 (guess 0.6) forwards to r = 3.566, locate its flip with
   :func:`dynsys_eos.bifurcation.locate` at ``dps`` digits, switch onto the
   period-2 branch with :func:`dynsys_eos.bifurcation.switch`, continue it,
   and so on up to the flip of the period-8 orbit: 4 continuations, 4
   locations, 3 switches.  The whole chain is timed at 50, 200 and 1000
   digits (1000 is skipped with ``--quick``), so the growth of the cost with
   precision shows.
2. References, computed independently here from the mathematics (no
   package code): r1 = 3 and r2 = 1 + sqrt(6) in closed form, and each r_k as
   the parameter at which the period-2^(k-1) orbit has multiplier -1,
   solved by ``mpmath.findroot`` on the composed map, unknowns (x, r),
   equations f^p(x) - x = 0 and (f^p)'(x) + 1 = 0, analytic Jacobian by
   forward propagation through the p iterates, at max(80, dps + 30) digits,
   from a float64 point of the stable orbit at a parameter below the flip.
   The closed forms and the published digits of r3, r4 check the findroot
   values.  Check on ours: each flip located with ``digits >= dps`` and
   ``|r - r_ref| <= 10^-dps``.
3. Peers, installed at run time into virtual environments under /tmp (never
   the project's): pycont-lite (float64 pseudo-arclength continuation of
   zeros of G(u, p); it has no maps, so flip k is found as the branch point
   of G(u, r) = f^(2p)(u) - u, p = 2^(k-1), one run per flip, started from
   the stable period-p orbit at r = 2.8, 3.2, 3.5, 3.555, each run in a
   subprocess with a time limit), and PyDSTool (install and import only: it
   does not import on NumPy 2 / Python >= 3.10).  A peer that fails to
   install or run shows its error line in the table instead of numbers.

The script exits 0 even when a check or a peer fails; pass ``--strict`` to
exit 1 when a check on ``dynsys_eos`` fails.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mpmath  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _environment import ensure_venv, environment, last_error_line, repeats_text, seconds_text  # noqa: E402
from _logistic import flip_system  # noqa: E402

P_MIN, P_MAX = 2.8, 3.566
LEVELS = 4                      # flips r1..r4: periods 1, 2, 4, 8
# published digits (only to check the references computed here)
PUBLISHED = {3: "3.5440903595519228536", 4: "3.5644072660954325977"}
# parameters below each flip at which the period-2^(k-1) orbit is stable (start of the reference and peer runs)
BELOW = {1: 2.8, 2: 3.2, 3: 3.5, 4: 3.555}
PEER_TIMEOUT = 120              # seconds per pycont-lite run (one flip)
PIP_TIMEOUT = 300


# --------------------------------------------------------------------------------------
# references: written here from the mathematics
# --------------------------------------------------------------------------------------

def _stable_orbit_point(r, iterations=20000):
    x = 0.5
    for _ in range(iterations):
        x = r * x * (1 - x)
    return x


def flip_reference(period, dps):
    """The r at which the period-``period`` orbit of x -> r x (1 - x) has multiplier -1 (mpmath.findroot)."""
    r0 = BELOW[{1: 1, 2: 2, 4: 3, 8: 4}[period]]
    x0 = _stable_orbit_point(r0)
    with mpmath.workdps(dps):
        one, zero = mpmath.mpf(1), mpmath.mpf(0)

        def system(x_start, r):
            return flip_system(x_start, r, period, one, zero)

        # maxsteps: MDNewton stops after 10 steps by default, and findroot's own check (|f|^2 <= tol) then
        # accepts a root with only about half the digits; so allow more steps and check |f| itself
        root = mpmath.findroot(lambda x, r: system(x, r)[0], (mpmath.mpf(x0), mpmath.mpf(r0)),
                               J=lambda x, r: system(x, r)[1], tol=mpmath.mpf(10) ** (-dps + 5), maxsteps=60)
        residual = max(abs(v) for v in system(root[0], root[1])[0])
        if residual > mpmath.mpf(10) ** (-dps + 10):
            raise ArithmeticError(f"reference for period {period} at {dps} digits: residual {mpmath.nstr(residual, 3)}")
        return +root[1]


def references(dps):
    """{k: r_k} at ``dps`` digits, and the checks of the findroot values (closed forms, published digits)."""
    refs, checks = {}, []
    with mpmath.workdps(dps):
        for k in range(1, LEVELS + 1):
            refs[k] = flip_reference(2 ** (k - 1), dps)
        closed = {1: mpmath.mpf(3), 2: 1 + mpmath.sqrt(6)}
        for k, exact in closed.items():
            checks.append((f"r{k} findroot vs closed form", abs(refs[k] - exact), dps - 10))
        for k, digits in PUBLISHED.items():
            checks.append((f"r{k} findroot vs published {len(digits) - 2} decimals",
                           abs(refs[k] - mpmath.mpf(digits)), len(digits) - 2))
        for k in (3, 4):
            with mpmath.workdps(dps + 20):
                higher = flip_reference(2 ** (k - 1), dps + 20)
                checks.append((f"r{k} findroot at {dps} vs {dps + 20} digits", abs(refs[k] - higher), dps - 10))
        refs[1], refs[2] = closed[1], closed[2]
    return refs, checks


# --------------------------------------------------------------------------------------
# dynsys_eos: the cascade
# --------------------------------------------------------------------------------------

def cascade(dps):
    """One run of the chain period 1 -> 8; returns the stage times and the located flips."""
    from dynsys_eos.models import build_model
    from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, continue_branch
    from dynsys_eos.bifurcation import locate, switch

    out = {"continue": [], "locate": [], "switch": [], "flips": [], "error": None}
    options = ContinuationOptions(p_min=P_MIN, p_max=P_MAX, direction="forward")
    t_start = time.perf_counter()
    try:
        t0 = time.perf_counter()
        problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
        out["build"] = time.perf_counter() - t0
        for level in range(1, LEVELS + 1):
            t0 = time.perf_counter()
            branch = continue_branch(problem, options=options)
            out["continue"].append(time.perf_counter() - t0)
            flips = [d for d in branch.detections if d.kind == "flip"]
            if not flips:
                summary = branch.summary()
                out["error"] = f"no flip detected on the period-{summary['period']} branch: {summary['message']}"
                break
            t0 = time.perf_counter()
            point = locate(branch, flips[0], dps=dps)
            out["locate"].append(time.perf_counter() - t0)
            out["flips"].append(point)
            if point.status != "located":
                out["error"] = f"flip {level} not located: {point.message}"
                break
            if level < LEVELS:
                t0 = time.perf_counter()
                problem = switch(branch, point)
                out["switch"].append(time.perf_counter() - t0)
    except Exception as exc:  # report, never crash the benchmark
        out["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    out["total"] = time.perf_counter() - t_start
    return out


def per_flip_time(run, k):
    """Time of flip k inside one run: its continuation, its location and the switch after it."""
    i = k - 1
    t = run["continue"][i] + run["locate"][i]
    if i < len(run["switch"]):
        t += run["switch"][i]
    if i == 0:
        t += run.get("build", 0.0)
    return t


# --------------------------------------------------------------------------------------
# peers (installed at run time into /tmp; nothing of theirs is kept in the repository)
# --------------------------------------------------------------------------------------

_PYCONT_CHILD = r"""
import json, sys, time

config = json.loads(sys.argv[1])
out = {}
try:
    import numpy as np
    import pycont
    from pycont import arclengthContinuation
    out["version"] = pycont.__version__
    out["numpy"] = np.__version__
    p, r0 = config["period"], config["r0"]

    def G(u, r):                      # branch points of f^(2p)(u) - u are the flips of the period-p orbit
        x = u.copy()
        for _ in range(2 * p):
            x = r * x * (1 - x)
        return x - u

    x = 0.5
    for _ in range(20000):            # a point of the stable period-p orbit at r0
        x = r0 * x * (1 - x)
    # record when pycont enters its branch switching: the BP has been detected and localized by then
    import pycont.continuation as driver
    original = driver.brs.branchSwitching
    def timed_switching(*a, **kw):
        out.setdefault("to_bp", time.perf_counter() - t0)
        return original(*a, **kw)
    driver.brs.branchSwitching = timed_switching
    t0 = time.perf_counter()
    result = arclengthContinuation(G, np.array([x]), r0, ds_min=config["ds_min"], ds_max=config["ds_max"],
                                   ds_0=config["ds_0"], n_steps=config["n_steps"],
                                   solver_parameters=config["solver_parameters"], verbosity="OFF")
    out["time"] = time.perf_counter() - t0
    first = result.branches[0].termination_event
    out["first_event"] = [first.kind, repr(float(first.p))]
    out["events"] = [[e.kind, float(e.p)] for e in result.events]
    out["branches"] = [int(len(b.p_path)) for b in result.branches]
except BaseException as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""

PYCONT_SETTINGS = dict(ds_min=1e-7, ds_max=2e-3, ds_0=2e-4, n_steps=300,
                       solver_parameters={"initial_directions": "increase_p", "param_max": P_MAX,
                                          "analyze_stability": False})


def run_pycont(python, k):
    config = dict(PYCONT_SETTINGS, period=2 ** (k - 1), r0=BELOW[k])
    config["solver_parameters"] = dict(config["solver_parameters"], param_min=BELOW[k] - 0.05)
    try:
        proc = subprocess.run([python, "-c", _PYCONT_CHILD, json.dumps(config)], capture_output=True, text=True,
                              timeout=PEER_TIMEOUT, cwd="/tmp")
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {PEER_TIMEOUT} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"error": f"exit {proc.returncode}: {last_error_line(proc.stderr)}"}


def probe_pydstool(path):
    python, note, seconds = ensure_venv(path, "PyDSTool", timeout=PIP_TIMEOUT)
    if python is None:
        return note
    try:
        proc = subprocess.run([python, "-c", "import numpy, sys, PyDSTool; print('imports; numpy', numpy.__version__)"],
                              capture_output=True, text=True, timeout=120, cwd="/tmp")
    except subprocess.TimeoutExpired:
        return f"{note}: installs; import timed out after 120 s"
    versions = subprocess.run([python, "-c", "import numpy, platform; print(numpy.__version__, "
                               "platform.python_version())"], capture_output=True, text=True).stdout.split()
    where = f"(numpy {versions[0]}, Python {versions[1]})" if len(versions) == 2 else ""
    if proc.returncode == 0:
        return f"{note}: installs and imports {where}; not benchmarked further"
    return f"{note}: installs {where} (venv set up in {seconds:.0f} s); import fails: {last_error_line(proc.stderr)}"


# --------------------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------------------

_s, _repeats = seconds_text, repeats_text


def _err(error, ref_dps):
    if error == 0:
        return f"< 1e-{ref_dps}"
    return mpmath.nstr(error, 2, min_fixed=1, max_fixed=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, skip 1000 digits and the peers")
    parser.add_argument("--peers", action="store_true", help="with --quick: run the peers anyway")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a check on dynsys_eos fails")
    parser.add_argument("--peers-venv", default="/tmp/peers-venv", help="venv for pycont-lite (created if missing)")
    parser.add_argument("--pydstool-venv", default="/tmp/peers-venv-pydstool", help="venv for PyDSTool")
    args = parser.parse_args(argv)

    precisions = (50, 200) if args.quick else (50, 200, 1000)
    repeats = {50: 3, 200: 3} if args.quick else {50: 7, 200: 5, 1000: 5}
    run_peers = args.peers or not args.quick
    peer_repeats = 1 if args.quick else 2
    print(environment(args, ", ".join(f"{repeats[d]} at {d} digits" for d in precisions)
                       + (f"; peers {peer_repeats}" if run_peers else "; peers skipped (--peers to run them)")))
    failed = []

    # references
    print("\nReferences: mpmath.findroot on f^p(x) = x, (f^p)'(x) = -1 (x, r unknowns), written here")
    refs = {}
    for dps in precisions:
        ref_dps = max(80, dps + 30)
        t0 = time.perf_counter()
        refs[dps], checks = references(ref_dps)
        seconds = time.perf_counter() - t0
        verdicts = []
        for what, error, digits in checks:
            ok = error <= mpmath.mpf(10) ** (-digits)
            verdicts.append(f"{what}: {_err(error, ref_dps)} {'PASS' if ok else 'FAIL'}")
            if not ok:
                failed.append(f"reference {what} at {ref_dps} digits")
        print(f"  {ref_dps:5d} digits, all four in {_s(seconds)}; " + "; ".join(verdicts))
    with mpmath.workdps(30):
        print("  " + ", ".join(f"r{k} = {mpmath.nstr(refs[precisions[0]][k], 22)}" for k in range(1, LEVELS + 1)))

    # ours
    importlib.import_module("dynsys_eos")  # import time kept out of the first repeat
    runs = {}
    print("\ndynsys_eos: period 1 -> 2 -> 4 -> 8 (4 continue_branch, 4 locate, 3 switch; whole chain timed)")
    print(f"  {'dps':>5}  {'best total':>10}  {'continue':>9}  {'switch':>9}  {'locate':>9}   repeats (total)")
    for dps in precisions:
        runs[dps] = [cascade(dps) for _ in range(repeats[dps])]
        good = [r for r in runs[dps] if r["error"] is None]
        if not good:
            print(f"  {dps:5d}  FAIL: {runs[dps][0]['error']}")
            failed.append(f"cascade at {dps} digits: {runs[dps][0]['error']}")
            continue
        best = min(good, key=lambda r: r["total"])
        print(f"  {dps:5d}  {_s(best['total']):>10}  {_s(sum(best['continue'])):>9}  {_s(sum(best['switch'])):>9}"
              f"  {_s(sum(best['locate'])):>9}   {_repeats(r['total'] for r in runs[dps])}")
    print("  (continue/switch/locate: sums within the best repeat; continuation runs in float64 at every dps)")

    print("\nLocated flips (value from the last repeat, locate time best over repeats)")
    print(f"  {'flip':>4} {'period':>6}  {'dps':>5}  {'value (22 digits)':>25}  {'digits':>6}  {'|r - r_ref|':>10}"
          f"  {'check':>5}  {'locate':>9}")
    for k in range(1, LEVELS + 1):
        for dps in precisions:
            good = [r for r in runs[dps] if len(r["flips"]) >= k and r["flips"][k - 1].status == "located"]
            if not good:
                reason = next((r["error"] for r in runs[dps] if r["error"]), "not reached")
                print(f"  r{k:<3} {2 ** (k - 1):>6}  {dps:5d}  FAIL: {reason}")
                failed.append(f"r{k} at {dps} digits")
                continue
            point = good[-1]["flips"][k - 1]
            ref_dps = max(80, dps + 30)
            with mpmath.workdps(ref_dps):
                error = abs(point.value - refs[dps][k])
            ok = point.digits >= dps and error <= mpmath.mpf(10) ** (-dps)
            if not ok:
                failed.append(f"r{k} at {dps} digits: digits {point.digits}, error {_err(error, ref_dps)}")
            with mpmath.workdps(30):
                value = mpmath.nstr(point.value, 22)
            best_locate = min(r["locate"][k - 1] for r in good)
            print(f"  r{k:<3} {point.period:>6}  {dps:5d}  {value:>25}  {point.digits:>6}  {_err(error, ref_dps):>10}"
                  f"  {'PASS' if ok else 'FAIL':>5}  {_s(best_locate):>9}")
    print("  check: status located, digits >= dps and |r - r_ref| <= 10^-dps")

    # peers
    if run_peers:
        print("\nPeers (installed now into /tmp venvs; float64 only)")
        python, note, seconds = ensure_venv(args.peers_venv, "pycont-lite", timeout=PIP_TIMEOUT)
        ok = python is not None
        print(f"  pycont-lite: {'installed' if ok else 'FAILED'} ({note}; venv set up in {seconds:.0f} s) "
              f"in {args.peers_venv}")
        ours50 = [r for r in runs.get(50, []) if r["error"] is None]
        if ok:
            s = PYCONT_SETTINGS
            print(f"  G(u, r) = f^(2p)(u) - u, branch point = flip of the period-p orbit; ds_min {s['ds_min']}, "
                  f"ds_max {s['ds_max']}, ds_0 {s['ds_0']}, n_steps {s['n_steps']}, param_max {P_MAX}, "
                  f"initial_directions increase_p, stability analysis off, other settings default")
            print(f"  {'flip':>4} {'start r':>7}  {'total':>9}  {'to BP':>9}  {'r at BP':>18}  {'|r - r_ref|':>10}  "
                  f"{'ours@50':>9}  {'ratio':>11}   repeats (total) / events")
            sums = {"peer": 0.0, "to_bp": 0.0, "complete": True}
            for k in range(1, LEVELS + 1):
                results = [run_pycont(python, k) for _ in range(peer_repeats)]
                times = [r["time"] for r in results if "time" in r]
                to_bp = [r["to_bp"] for r in results if "to_bp" in r]
                last = results[-1]
                ours = min(per_flip_time(r, k) for r in ours50) if ours50 else None
                if "error" in last or not times:
                    sums["complete"] = False
                    print(f"  r{k:<3} {BELOW[k]:>7}  {'-':>9}  {'-':>9}  {'-':>18}  {'-':>10}  {_s(ours):>9}  "
                          f"{'-':>11}   FAILED: {last.get('error', 'no time')}")
                    continue
                kind, value = last["first_event"]
                events = ", ".join(f"{e[0]} {e[1]:.4f}" for e in last["events"][1:])
                if kind != "BP" or not to_bp:
                    sums["complete"] = False
                    print(f"  r{k:<3} {BELOW[k]:>7}  {_s(min(times)):>9}  {'-':>9}  {'no BP: ' + kind:>18}  {'-':>10}  "
                          f"{_s(ours):>9}  {'-':>11}   {_repeats(times)}; events {events}")
                    continue
                sums["peer"] += min(times)
                sums["to_bp"] += min(to_bp)
                ratio = f"{min(times) / ours:.0f}x/{min(to_bp) / ours:.0f}x" if ours else "-"
                with mpmath.workdps(80):
                    error = abs(mpmath.mpf(value) - refs[precisions[0]][k])
                print(f"  r{k:<3} {BELOW[k]:>7}  {_s(min(times)):>9}  {_s(min(to_bp)):>9}  {float(value):>18.13f}  "
                      f"{_err(error, 80):>10}  {_s(ours):>9}  {ratio:>11}   {_repeats(times)}; events {events}; "
                      f"branch lengths {last['branches']}")
            if sums["complete"] and ours50:
                ours_total = min(r["total"] for r in ours50)
                print(f"  all    {'':>7}  {_s(sums['peer']):>9}  {_s(sums['to_bp']):>9}  {'':>18}  {'':>10}  "
                      f"{_s(ours_total):>9}  {sums['peer'] / ours_total:.0f}x/{sums['to_bp'] / ours_total:.0f}x"
                      f"   (ours: the whole chain at 50 digits, best total)")
            print("  total: its whole run (continuation, BP, its automatic branch switching and the new branches);"
                  " to BP: until it enters branch switching (BP detected and localized);")
            print("  ours@50: the same flip in our chain at 50 digits (its continuation to p_max + locate + switch;"
                  " r1 also the model build), best of the repeats; ratio = pycont total / ours, pycont to BP / ours")
        print(f"  PyDSTool: {probe_pydstool(args.pydstool_venv)}")

    if failed:
        print("\nFAILED checks: " + "; ".join(failed))
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
