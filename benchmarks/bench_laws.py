"""Conservation-law discovery benchmark: dmf depth 3 dim 3 (27 variables) and U V^T with (n, m, r) = (4, 4, 2).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_laws.py            # full: 3 repeats, baseline limited to 120 s each
    PYTHONPATH=. python benchmarks/bench_laws.py --quick    # 1 repeat, baseline limited to 30 s each

What is measured (every figure on this machine, in this run)
--------------------------------------------------------------
Ours: ``conservation_laws(loss, degree=2)``: the count D - dim Lie(W) (exact
rank at two random integer points) and a verified basis of the polynomial
laws of degree <= 2, from the model's loss (dmf with its diagonal target
sigma1..sigma3 held symbolic; U V^T with the 4x4 target Y held symbolic).
The time is the best of the repeats (every repeat printed) and includes
building the fields from the loss.  Checks: dmf count 12 = 2 * 3 * 4 / 2 and
the laws span the balancedness matrices W_{l+1}^T W_{l+1} - W_l W_l^T;
U V^T count 3 = r (r + 1) / 2 and the laws span U^T U - V^T V.

Baseline, written here with sympy only, the direct way:
(1) the Lie rank: every field as a sympy Matrix of expressions, brackets
    [X, Y] = J_Y X - J_X Y by ``sympy.Matrix.jacobian``, all brackets of all
    fields found so far at each level (no pruning to a basis at the point),
    rank at the same kind of random point with ``sympy.Matrix.rank``, until
    the rank stops growing;
(2) the laws: h = sum c_m m over the same monomials with symbolic c_m, the
    condition grad h . grad L expanded with the parameters symbolic, its
    coefficients (in the state and the parameters) set to zero and solved with
    ``sympy.Matrix.nullspace``.
It runs in a child process with a time limit; if it runs out, the table says
so and shows which stage it reached.

The script exits 0 even when a check fails; pass ``--strict`` to exit 1 then.
"""

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _environment import code_line, environment, repeats_text, seconds_text  # noqa: E402

CASES = {
    "dmf": {"label": "dmf depth 3 dim 3", "count": 12},
    "uvt": {"label": "U V^T (4, 4, 2)", "count": 3},
}


def build(case):
    from dynsys_eos.laws import factorization_loss, known_laws
    from dynsys_eos.models import build_model

    if case == "dmf":
        m = build_model("dmf", depth=3, dim=3)
        loss = m.model.loss
        return loss, known_laws("dmf", loss.state, m.model.structure)
    loss = factorization_loss(4, 4, 2)
    return loss, known_laws("uvt", loss.state, {"n": 4, "m": 4, "r": 2})


# --------------------------------------------------------------------------------------
# baseline: sympy only, written here
# --------------------------------------------------------------------------------------

def baseline(case, emit):
    import sympy

    loss, _ = build(case)
    state, params = list(loss.state), list(loss.parameters)
    t0 = time.perf_counter()
    gradient = [sympy.expand(sympy.diff(loss.expr, s)) for s in state]
    fields = {}
    for i, g in enumerate(gradient):
        for monom, coeff in sympy.Poly(g, *params).terms():
            fields.setdefault(monom, [0] * len(state))[i] = coeff
    fields = [sympy.Matrix(v) for v in fields.values()]
    rng = random.Random(0)
    point = {s: rng.choice((-1, 1)) * rng.randint(1, 10**6) for s in state}
    variables = sympy.Matrix(state)

    def rank(fs):
        return sympy.Matrix.hstack(*[f.xreplace(point) for f in fs]).rank()

    everything, level, ranks = list(fields), list(fields), [rank(fields)]
    while ranks[-1] < len(state):
        new = []
        for X in fields:
            for Y in level:
                Z = sympy.expand(Y.jacobian(variables) * X - X.jacobian(variables) * Y)
                if any(Z):
                    new.append(Z)
        everything += new
        level = new
        ranks.append(rank(everything))
        emit({"stage": f"Lie level {len(ranks)}", "rank": ranks[-1], "seconds": time.perf_counter() - t0})
        if ranks[-1] == ranks[-2]:
            break
    count = len(state) - ranks[-1]
    emit({"stage": "Lie rank", "count": count, "seconds": time.perf_counter() - t0})
    monomials = [sympy.Mul(*c) for c in itertools.combinations_with_replacement(state, 2)]
    coefficients = sympy.symbols(f"c0:{len(monomials)}")
    h = sum(c * m for c, m in zip(coefficients, monomials))
    condition = sympy.expand(sum(sympy.diff(h, s) * g for s, g in zip(state, gradient)))
    equations = sympy.Poly(condition, *state, *params).coeffs()
    matrix = sympy.Matrix([[sympy.diff(e, c) for c in coefficients] for e in equations])
    laws = matrix.nullspace()
    emit({"stage": "done", "count": count, "laws": len(laws), "seconds": time.perf_counter() - t0})


def run_baseline(case, timeout):
    """The baseline in a child process: (last record, finished?)."""
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--baseline-child", case],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=ROOT))
    records = []
    try:
        out, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
    for line in out.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    last = records[-1] if records else {"stage": "start", "seconds": None}
    return last, last.get("stage") == "done"


# --------------------------------------------------------------------------------------
# ours
# --------------------------------------------------------------------------------------

def ours(case, repeats):
    from dynsys_eos.laws import conservation_laws, same_span

    times, result = [], None
    for _ in range(repeats):
        loss, textbook = build(case)
        t0 = time.perf_counter()
        result = conservation_laws(loss, degree=2)
        times.append(time.perf_counter() - t0)
    ok = (result.count == CASES[case]["count"] and result.complete and same_span(result.laws, textbook, loss.state))
    return result, times, ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, baseline limited to 30 s per model")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a check fails")
    parser.add_argument("--baseline-timeout", type=float, default=None, metavar="S",
                        help="time limit of the sympy baseline per model (default 120 s, 30 s with --quick)")
    parser.add_argument("--baseline-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        baseline(args.baseline_child, lambda record: print(json.dumps(record), flush=True))
        return 0
    repeats = 1 if args.quick else 3
    timeout = args.baseline_timeout or (30 if args.quick else 120)
    print(environment(args, repeats))
    print(code_line(ROOT))
    failed = False
    print(f"{'model':22s} {'D':>3s} {'count':>5s} {'laws':>4s} {'complete':>8s} {'ours (best)':>12s} "
          f"{'baseline':>14s} {'ratio':>7s}  check")
    for case, spec in CASES.items():
        result, times, ok = ours(case, repeats)
        failed |= not ok
        record, finished = run_baseline(case, timeout)
        best = min(times)
        if finished:
            base_text, ratio = seconds_text(record["seconds"]), f"{record['seconds'] / best:.0f}x"
        else:
            base_text, ratio = f"> {timeout:.0f} s", f"> {timeout / best:.0f}x"
        print(f"{spec['label']:22s} {result.dimension:>3d} {result.count:>5d} {len(result.laws):>4d} "
              f"{str(result.complete):>8s} {seconds_text(best):>12s} {base_text:>14s} {ratio:>7s}  "
              f"{'PASS' if ok else 'FAIL'} (count {spec['count']}, laws span the textbook ones)")
        print(f"  | ours: repeats {repeats_text(times)}; {result.lie.method}")
        if finished:
            print(f"  | baseline: count {record['count']}, {record['laws']} laws of degree 2 (sympy)")
        else:
            print(f"  | baseline: stopped after {timeout:.0f} s at stage {record.get('stage')!r} "
                  f"({json.dumps({k: v for k, v in record.items() if k != 'stage'})})")
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
